"""benchmarks/theory_capacity.py without the embeddings: parameter counts, fitting, nested credit, the summary."""

from __future__ import annotations

import json
import sys

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


def test_multiclass_labels_model_and_fit():
    x = torch.randn(40, 16)
    order, labels = tc.nested_task(x, seed=3, num_classes=4)
    assert sorted(order.tolist()) == list(range(40)) and set(labels.tolist()) <= {0, 1, 2, 3}
    rng = np.random.default_rng(3)  # C = 2 keeps the coins of the C = 2 run
    rng.permutation(40)
    assert tc.nested_task(x, seed=3)[1].tolist() == rng.integers(0, 2, size=40).tolist()
    assert tc.lora_model(16, 16, 2, seed=0, init_seed=0, num_classes=4)(x).shape == (40, 4)
    fit = tc.FitConfig(lr=3e-2, max_steps=2000, attempts=2, num_classes=4)
    cell = tc.run_cell(x, (order, labels), 20, 60, 2, fit, seed=0)  # n = 20 << P = 2 (16 + 16 - 2) = 60
    assert cell["fraction_fitted"] == 1.0
    assert cell["chance_fraction"] == max(np.bincount(labels[order[:20]].numpy(), minlength=4)) / 20


def test_bits_reading_fields():
    assert tc.n_star_bits(100, 2) == 200 and tc.n_star_bits(100, 4) == 100 and tc.n_star_bits(100, 8) == 200 / 3
    cells = [{"rank": 2, "seed": 0, "n": n, "fraction_fitted": f} for n, f in {40: 1.0, 80: 0.9, 160: 0.5}.items()]
    tc.credit_nested_fits(cells)
    (row,) = tc.summarise(cells, [2], [0], {2: 100}, num_classes=4)
    assert row["n_star_bits"] == 100 and row["leaves_100_ratio_to_n_star_bits"] == pytest.approx(0.8)
    assert row["within_factor_2_bits"] and row["within_factor_2"] and row["num_classes"] == 4
    (row2,) = tc.summarise(cells, [2], [0], {2: 100})  # C = 2: n*_bits = 2P, window [P, 4P]
    assert row2["n_star_bits"] == 200 and not row2["within_factor_2_bits"] and row2["within_factor_2"]
    assert tc.targets([row, row2]) == {
        "target_within_factor_2_every_rank_and_seed": True,
        "target_within_factor_2_bits_every_rank_and_seed": False,
    }


def test_add_bits_fields_to_a_saved_c2_run(tmp_path, monkeypatch):
    old_rows = [
        {"rank": 1, "seed": 0, "P": 127, "leaves_100_n": 127, "leaves_100_ratio_to_P": 1.0, "within_factor_2": True},
        {"rank": 4, "seed": 0, "P": 496, "leaves_100_n": 2100, "leaves_100_ratio_to_P": 4.23, "within_factor_2": False},
        {"rank": 8, "seed": 0, "P": 960, "leaves_100_n": None, "leaves_100_ratio_to_P": None, "within_factor_2": None},
    ]
    saved = {
        "config": {"num_classes": 2},
        "summary": old_rows,
        "target_within_factor_2_every_rank_and_seed": False,
        "total_seconds": 1.0,
        "provenance": {"commit": "abc"},
    }
    path = tmp_path / "theory_capacity.json"
    path.write_text(json.dumps(saved))
    monkeypatch.setattr(sys, "argv", ["theory_capacity", "--add-bits-fields", str(path)])
    tc.main()  # no training: only the fields are added
    out = json.loads(path.read_text())
    assert list(out)[-1] == "provenance" and out["provenance"] == {"commit": "abc"}
    assert {k: v for k, v in out.items() if k in saved and k != "summary"} == {
        k: v for k, v in saved.items() if k != "summary"
    }
    for new, old in zip(out["summary"], old_rows, strict=True):
        assert {k: new[k] for k in old} == old and new["n_star_bits"] == 2 * old["P"]
    assert [r["within_factor_2_bits"] for r in out["summary"]] == [True, False, None]
    assert out["summary"][0]["leaves_100_ratio_to_n_star_bits"] == pytest.approx(0.5)
    assert out["target_within_factor_2_bits_every_rank_and_seed"] is False
    assert "no training" in out["bits_fields_added_after_the_run"]["how"]
    assert tc.add_bits_fields(out)["summary"] == out["summary"]  # idempotent


def test_plot_names_c_and_draws_the_bits_line():
    cells = [
        {"rank": 1, "seed": 0, "n": n, "n_over_P": n / 10, "fraction_fitted": f, "width": 8}
        for n, f in {5: 1.0, 10: 1.0, 20: 0.6}.items()
    ]
    tc.credit_nested_fits(cells)
    summary = tc.summarise(cells, [1], [0], {1: 10}, num_classes=4)
    fig = tc.plot(cells, summary, [1], [0], {1: 10}, num_classes=4)
    left, right = fig.axes
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert any("n*_bits" in t for t in labels) and any("C = 4" in t and "25%" in t for t in labels)
    assert "C = 4" in fig._suptitle.get_text() and "n*_bits" not in " ".join(
        t.get_text() for t in tc.plot(cells, summary, [1], [0], {1: 10}).axes[0].get_legend().get_texts()
    )
