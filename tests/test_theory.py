"""Tests for ract.theory: LoRA capacity, optimal rank, spectral decay and temporal separation."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from ract.errors import RactError
from ract.theory import (
    SeparationReport,
    calibrate_c,
    estimate_alpha,
    estimate_alpha_from_model,
    first_fitted_epoch,
    fitted,
    layer_index,
    lora_capacity,
    lora_degrees_of_freedom,
    lora_singular_values,
    optimal_rank,
    recommend_rank,
    temporal_separation,
)

MINILM_RANK4_ALL_LAYERS = 12 * 4 * (384 + 384 - 4)  # 36672


@pytest.fixture(scope="module")
def backbone():
    from ract.models.backbone import load_backbone

    return load_backbone()


# ---------------------------------------------------------------- capacity


def test_dof_formula_values():
    assert lora_degrees_of_freedom(384, 384, 4) == 4 * 764
    assert lora_degrees_of_freedom(10, 3, 3) == 30  # full rank: every d x k matrix
    assert lora_degrees_of_freedom(5, 7, 0) == 0
    assert lora_degrees_of_freedom(100, 50, 2) == 2 * (100 + 50) - 4  # parameter count minus r^2


@pytest.mark.parametrize(("d", "k", "r"), [(10, 3, 4), (0, 5, 1), (5, 5, -1)])
def test_dof_rejects_bad_shapes(d, k, r):
    with pytest.raises(RactError):
        lora_degrees_of_freedom(d, k, r)


def test_layer_index():
    assert layer_index("encoder.layer.4.attention.self.query") == 4
    assert layer_index("base_model.model.encoder.layer.11.attention.self.value") == 11
    assert layer_index("pooler.dense") is None


def test_capacity_on_minilm(backbone):
    assert backbone.target_modules == ["query", "value"]
    cap = lora_capacity(backbone.model, 4, backbone.target_modules, None, num_classes=3)
    assert len(cap.modules) == 12
    assert all((d, k, dof) == (384, 384, 4 * 764) for _, d, k, dof in cap.modules)
    assert cap.total_lora_dof == MINILM_RANK4_ALL_LAYERS == 36672
    assert cap.hidden_size == 384
    assert cap.head_params == 384 * 3 + 3
    assert cap.total == 36672 + 1155
    assert cap.memorization_n() == cap.total
    assert cap.memorization_n(2) == 36672 + 384 * 2 + 2


def test_capacity_on_top_layers(backbone):
    cap = lora_capacity(backbone.model, 4, backbone.target_modules, [4, 5], num_classes=2)
    assert len(cap.modules) == 4
    assert {layer_index(name) for name, *_ in cap.modules} == {4, 5}
    assert cap.total_lora_dof * 3 == MINILM_RANK4_ALL_LAYERS


def test_capacity_errors(backbone):
    with pytest.raises(RactError, match="no nn.Linear"):
        lora_capacity(backbone.model, 4, ["query"], [17], num_classes=2)
    with pytest.raises(RactError):
        lora_capacity(backbone.model, 500, ["query"], None, num_classes=2)
    with pytest.raises(RactError):
        lora_capacity(backbone.model, 4, ["query"], None, num_classes=1)


def test_capacity_reads_through_peft_wrapper(backbone):
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"])
    peft_model = get_peft_model(copy.deepcopy(backbone.model), config)
    cap = lora_capacity(peft_model, 4, ["query", "value"], None, num_classes=2)
    assert cap.total_lora_dof == MINILM_RANK4_ALL_LAYERS


# ---------------------------------------------------------------- optimal rank


def test_optimal_rank_value():
    assert optimal_rank(1000, 10, 0.0, 1.0) == pytest.approx(100 ** (1 / 3))
    assert optimal_rank(1000, 10, 0.0, 1.0, c=2.0) == pytest.approx(2 * 100 ** (1 / 3))


def test_optimal_rank_monotone():
    etas = [0.0, 0.1, 0.2, 0.4, 0.6]
    by_eta = [optimal_rank(10_000, 384, e, 1.5) for e in etas]
    assert all(a > b for a, b in zip(by_eta, by_eta[1:], strict=False))
    ns = [100, 1000, 10_000, 100_000]
    by_n = [optimal_rank(n, 384, 0.2, 1.5) for n in ns]
    assert all(a < b for a, b in zip(by_n, by_n[1:], strict=False))


@pytest.mark.parametrize(
    ("n", "d", "eta", "alpha"),
    [(0, 10, 0.1, 1.0), (10, 0, 0.1, 1.0), (10, 10, 1.0, 1.0), (10, 10, -0.1, 1.0), (10, 10, 0.1, 0.0)],
)
def test_optimal_rank_rejects_bad_inputs(n, d, eta, alpha):
    with pytest.raises(RactError):
        optimal_rank(n, d, eta, alpha)


def test_calibrate_c_round_trip():
    c = calibrate_c(8.0, 5000, 384, 0.0, 1.2)
    assert optimal_rank(5000, 384, 0.0, 1.2, c) == pytest.approx(8.0)
    assert optimal_rank(5000, 384, 0.4, 1.2, c) < 8.0
    with pytest.raises(RactError):
        calibrate_c(0.0, 5000, 384, 0.0, 1.2)


def test_recommend_rank_log_scale():
    # c chosen so that r* is exactly 5.5: log-nearest of 4 and 8 is 4 (log2 5.5 = 2.46 < 2.5).
    c = calibrate_c(5.5, 1000, 10, 0.0, 1.0)
    assert recommend_rank(1000, 10, 0.0, 1.0, c) == 4
    c = calibrate_c(5.7, 1000, 10, 0.0, 1.0)  # log2 5.7 = 2.51 > 2.5
    assert recommend_rank(1000, 10, 0.0, 1.0, c) == 8
    c = calibrate_c(1000.0, 1000, 10, 0.0, 1.0)
    assert recommend_rank(1000, 10, 0.0, 1.0, c) == 64
    assert recommend_rank(1000, 10, 0.0, 1.0, c, choices=(2, 16)) == 16
    with pytest.raises(RactError):
        recommend_rank(1000, 10, 0.0, 1.0, choices=())


def test_estimate_alpha_exact_power_law():
    sigma = np.arange(1, 21, dtype=float) ** -1.5
    alpha, r2 = estimate_alpha(sigma[::-1])  # order of the input does not matter
    assert alpha == pytest.approx(1.5, abs=1e-10)
    assert r2 == pytest.approx(1.0)


def test_estimate_alpha_with_noise():
    rng = np.random.default_rng(0)
    i = np.arange(1, 65, dtype=float)
    sigma = 3.0 * i**-1.5 * np.exp(rng.normal(0, 0.1, i.size))
    alpha, r2 = estimate_alpha(sigma)
    assert alpha == pytest.approx(1.5, abs=0.1)
    assert 0.9 < r2 <= 1.0


def test_estimate_alpha_needs_three_positive_values():
    with pytest.raises(RactError):
        estimate_alpha(np.array([1.0, 0.5, 0.0, 0.0]))
    with pytest.raises(RactError):
        estimate_alpha(np.zeros(5))


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(12, 10)
        self.other = nn.Linear(10, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.other(self.query(x))


def _tiny_peft(rank: int, alpha: float) -> nn.Module:
    torch.manual_seed(0)
    model = get_peft_model(_Tiny(), LoraConfig(r=rank, lora_alpha=alpha, target_modules=["query"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            with torch.no_grad():
                p.normal_()
    return model


def test_lora_singular_values_match_dense_svd():
    model = _tiny_peft(rank=4, alpha=8)
    values = lora_singular_values(model)
    assert len(values) == 1
    ((name, sv),) = values.items()
    assert name.endswith("query")
    assert sv.shape == (4,)
    assert np.all(np.diff(sv) <= 0)
    layer = model.get_submodule(name)
    delta = 2.0 * layer.lora_B["default"].weight @ layer.lora_A["default"].weight  # scaling = 8 / 4
    dense = torch.linalg.svdvals(delta.detach()).numpy()
    assert np.count_nonzero(dense > 1e-5 * dense[0]) <= 4
    np.testing.assert_allclose(sv, dense[:4], rtol=1e-4)


def test_lora_singular_values_on_minilm(backbone):
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], layers_to_transform=[5])
    peft_model = get_peft_model(copy.deepcopy(backbone.model), config)
    values = lora_singular_values(peft_model)
    assert len(values) == 2
    for sv in values.values():
        assert sv.shape == (4,)
        assert np.all(sv == 0)  # peft initialises B = 0


def test_lora_singular_values_without_lora():
    with pytest.raises(RactError):
        lora_singular_values(_Tiny())


def test_estimate_alpha_from_model():
    model = _tiny_peft(rank=6, alpha=6)
    layer = model.get_submodule(next(iter(lora_singular_values(model))))
    # Set B @ A = diag(i^-1.2) in the top-left 6 x 6 block.
    with torch.no_grad():
        layer.lora_A["default"].weight.zero_()
        layer.lora_B["default"].weight.zero_()
        for i in range(6):
            layer.lora_A["default"].weight[i, i] = 1.0
            layer.lora_B["default"].weight[i, i] = (i + 1) ** -1.2
    alpha, r2 = estimate_alpha_from_model(model)
    assert alpha == pytest.approx(1.2, abs=1e-4)
    assert r2 == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(RactError):
        estimate_alpha_from_model(_tiny_peft(rank=2, alpha=2))


# ---------------------------------------------------------------- temporal separation


def _one_hot_logits(predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(A, E, n) predicted classes -> (A, E, n, C) logits whose argmax is that class."""
    return np.eye(num_classes)[predictions]


def test_fitted_and_first_epoch_by_hand():
    labels = np.array([0, 1, 1, 0])
    # One adapter, three epochs, four examples.
    preds = np.array([[[0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 1, 1]]])
    mask = fitted(_one_hot_logits(preds, 2), labels)
    expected = np.array([[[1, 0, 1, 0], [1, 1, 0, 0], [1, 1, 1, 0]]], dtype=bool)
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(first_fitted_epoch(mask), [[1, 2, 1, 4]])  # 4 = E + 1: never fitted


def test_separation_exact_fractions():
    labels = np.array([0, 1, 1, 0])
    is_noisy = np.array([False, False, True, True])
    preds = np.array(
        [
            [[0, 0, 0, 1], [0, 1, 0, 1], [0, 1, 1, 1]],  # rank 1: noisy ex. 2 fitted at epoch 3, ex. 3 never
            [[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]],  # rank 8: everything fitted from epoch 1
        ]
    )
    report = temporal_separation(_one_hot_logits(preds, 2), labels, is_noisy, [1, 8])
    assert isinstance(report, SeparationReport)
    np.testing.assert_allclose(report.clean_fitted, [[0.5, 1.0, 1.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(report.noisy_fitted, [[0.0, 0.0, 0.5], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(report.median_first_clean, [1.5, 1.0])
    np.testing.assert_allclose(report.median_first_noisy, [3.5, 1.0])
    np.testing.assert_allclose(report.gap, [(0.5 + 1.0 + 0.5) / 3, 0.0])
    d = report.to_dict()
    assert [a["rank"] for a in d["adapters"]] == [1, 8]
    assert d["adapters"][0]["noisy_fitted"] == [0.0, 0.0, 0.5]
    assert d["adapters"][0]["gap"] == pytest.approx(2 / 3)


def test_separation_synthetic_noisy_fitted_later():
    rng = np.random.default_rng(1)
    n, epochs, classes = 400, 10, 3
    labels = rng.integers(0, classes, n)
    is_noisy = rng.random(n) < 0.3
    # Epoch at which each example becomes fitted: clean early (1-3), noisy late (5-11, 11 = never).
    fit_at = np.where(is_noisy, rng.integers(5, 12, n), rng.integers(1, 4, n))
    logits = rng.normal(0, 0.1, (1, epochs, n, classes))
    for e in range(epochs):
        wrong = (labels + 1) % classes
        target = np.where(e + 1 >= fit_at, labels, wrong)
        logits[0, e, np.arange(n), target] += 5.0
    report = temporal_separation(logits, labels, is_noisy, [4])
    assert report.gap[0] > 0.3
    assert report.median_first_noisy[0] > report.median_first_clean[0]
    assert np.all(np.diff(report.clean_fitted[0]) >= 0)
    np.testing.assert_array_equal(first_fitted_epoch(fitted(logits, labels))[0], fit_at)


def test_separation_input_errors():
    logits = np.zeros((1, 2, 3, 2))
    labels = np.array([0, 1, 1])
    with pytest.raises(RactError, match="both clean and noisy"):
        temporal_separation(logits, labels, np.zeros(3, dtype=bool), [1])
    with pytest.raises(RactError, match="ranks"):
        temporal_separation(logits, labels, np.array([True, False, False]), [1, 2])
    with pytest.raises(RactError, match="labels"):
        fitted(logits, np.array([0, 1, 2]))
    with pytest.raises(RactError, match="shape"):
        fitted(np.zeros((2, 3, 2)), labels)
