"""benchmarks/theory_capacity.py without the embeddings: parameter counts, fitting, nested credit, the summary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import theory_capacity as tc
from ract.theory import lora_capacity, lora_degrees_of_freedom


@pytest.mark.parametrize("rank", [1, 4, 16])
def test_peft_counts_and_dof(rank):
    model = tc.lora_model(64, 64, rank, seed=0, init_seed=0)
    trainable, _ = model.get_nb_trainable_parameters()
    assert trainable == rank * (64 + 64)  # peft's A (r x d) and B (k x r)
    cap = lora_capacity(model, rank, [tc.TARGET], None, num_classes=2)
    assert [m[1:3] for m in cap.modules] == [(64, 64)]
    assert cap.total_lora_dof == lora_degrees_of_freedom(64, 64, rank) == rank * (64 + 64 - rank)


def test_whitening_gives_identity_covariance():
    emb = np.random.default_rng(0).standard_normal((500, 40)) @ np.diag(np.linspace(0.1, 3, 40))
    x = tc.project_and_whiten(emb, 8, seed=0)
    assert x.shape == (500, 8)
    np.testing.assert_allclose(np.cov(x, rowvar=False), np.eye(8), atol=1e-4)


def test_fits_random_labels_far_below_capacity():
    x = torch.randn(30, 16)
    labels = torch.randint(0, 2, (30,), generator=torch.Generator().manual_seed(0))
    out = tc.fit_random_labels(x, labels, 4, tc.FitConfig(lr=1e-2, max_steps=2000, attempts=2), seed=0)
    assert out["fraction_fitted"] == 1.0  # n = 30 << P = 4 (16 + 16 - 4) = 112
    assert len(out["fraction_per_attempt"]) == 1


def test_nested_credit_and_summary():
    fractions = {10: 1.0, 20: 0.95, 40: 1.0, 80: 0.98, 160: 0.9}
    cells = [{"rank": 2, "seed": 0, "n": n, "fraction_fitted": f} for n, f in fractions.items()]
    tc.credit_nested_fits(cells)
    by_n = {c["n"]: c for c in cells}
    assert by_n[20]["fraction_fitted_nested"] == 1.0 and by_n[20]["fitted_by_larger_n"]
    assert by_n[80]["fraction_fitted_nested"] == 0.98 and not by_n[80]["fitted_by_larger_n"]
    (row,) = tc.summarise(cells, [2], [0], {2: 50})
    assert row["leaves_100_n"] == 80 and row["last_grid_n_before_leaving"] == 40
    assert row["leaves_100_ratio_to_P"] == pytest.approx(1.6) and row["within_factor_2"]
