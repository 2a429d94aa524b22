"""Peer detectors: the pure threshold / fold / cartography rules on synthetic numbers, and every baseline end to end
on the tiny toy set (64 texts, 2 epochs, one adapted layer; set RACT_SKIP_TRAINING_TESTS=1 to skip those)."""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pytest

from ract.detection import BASELINE_NAMES
from ract.detection.baselines import (
    BASELINES,
    DetectorOutput,
    _Context,
    aum_threshold,
    combine_aum_runs,
    data_map_coordinates,
    out_of_fold_pred_probs,
    run_baseline,
    run_baselines,
    stratified_folds,
    threshold_sample_groups,
)
from ract.detection.pipeline import DetectConfig
from ract.errors import RactError
from tests.conftest import training

CONFIG = DetectConfig(epochs=2, adapted_layers=1, lr=3e-3, batch_size=16)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def noisy_toy(toy_texts) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The toy texts with 8 labels flipped (seeded): texts, noisy labels, flip mask."""
    texts, clean = toy_texts
    flipped = np.zeros(len(clean), dtype=bool)
    flipped[np.random.default_rng(0).choice(len(clean), 8, replace=False)] = True
    return texts, np.where(flipped, 1 - clean, clean), flipped


@pytest.fixture(scope="module")
def all_outputs(noisy_toy, backbone) -> dict[str, DetectorOutput]:
    texts, labels, _ = noisy_toy
    return run_baselines(list(BASELINES), texts, labels, 2, CONFIG, backbone)


# --- AUM ---------------------------------------------------------------------------------------------------------


def test_the_command_line_names_every_baseline_in_order() -> None:
    """``ract.detection.BASELINE_NAMES`` (torch-free, for ``--method``/``--methods``) must match ``BASELINES``."""
    assert tuple(BASELINES) == BASELINE_NAMES


def test_threshold_sample_groups_are_disjoint_and_sized() -> None:
    groups = threshold_sample_groups(100, num_classes=3, seed=1)
    assert (groups == 0).sum() == (groups == 1).sum() == 100 // 4
    assert (groups == -1).sum() == 100 - 2 * 25
    np.testing.assert_array_equal(groups, threshold_sample_groups(100, 3, seed=1))
    with pytest.raises(RactError, match="disjoint"):
        threshold_sample_groups(1, num_classes=2, seed=0)


def test_aum_threshold_is_the_99th_percentile_and_flags_below_it() -> None:
    rng = np.random.default_rng(0)
    fake = rng.normal(-2.0, 0.5, 300)  # threshold samples: forced into a class they do not belong to
    assert aum_threshold(fake) == pytest.approx(np.percentile(fake, 99))
    assert aum_threshold(np.arange(101.0), percentile=99) == pytest.approx(99.0)
    assert aum_threshold(np.arange(101.0), percentile=50) == pytest.approx(50.0)
    with pytest.raises(RactError):
        aum_threshold(np.array([]))

    clean, noisy = rng.normal(3.0, 0.5, 500), rng.normal(-3.0, 0.5, 100)
    aum = np.concatenate([clean, noisy])[None, :]
    mean_aum, flagged = combine_aum_runs(aum, np.array([aum_threshold(fake)]), np.ones_like(aum, dtype=bool))
    np.testing.assert_allclose(mean_aum, aum[0])
    assert flagged[500:].all() and not flagged[:500].any()


def test_combine_aum_runs_uses_only_runs_where_the_example_is_not_a_threshold_sample() -> None:
    aum = np.array([[1.0, -100.0, 2.0], [-100.0, 0.5, 4.0]])
    eligible = np.array([[True, False, True], [False, True, True]])
    mean_aum, flagged = combine_aum_runs(aum, np.array([0.0, 1.0]), eligible)
    np.testing.assert_allclose(mean_aum, [1.0, 0.5, 3.0])
    # example 0: 1.0 vs run-0 threshold 0.0; example 1: 0.5 vs run-1 threshold 1.0; example 2: 3.0 vs 0.5
    assert flagged.tolist() == [False, True, False]
    with pytest.raises(RactError, match="every run"):
        combine_aum_runs(aum, np.zeros(2), np.zeros_like(eligible))


# --- Dataset cartography ------------------------------------------------------------------------------------------


def test_data_map_coordinates() -> None:
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(0, 3, size=(4, 50, 3)), rng.integers(0, 3, 50)
    confidence, variability = data_map_coordinates(logits, labels)
    assert confidence.shape == variability.shape == (50,)
    assert ((confidence >= 0) & (confidence <= 1)).all() and (variability >= 0).all()

    constant = np.tile(np.array([[0.0, np.log(3.0)]]), (3, 1, 1))  # p(class 1) = 0.75 every epoch
    confidence, variability = data_map_coordinates(constant, np.array([1]))
    np.testing.assert_allclose(confidence, [0.75])
    np.testing.assert_allclose(variability, [0.0], atol=1e-12)
    swinging = np.array([[[0.0, 0.0]], [[0.0, 50.0]]])  # p(class 1): 0.5 then ~1
    confidence, variability = data_map_coordinates(swinging, np.array([1]))
    np.testing.assert_allclose(confidence, [0.75])
    np.testing.assert_allclose(variability, [0.25])


# --- Cross-validation folds -------------------------------------------------------------------------------------


def test_stratified_folds_cover_every_example_and_class() -> None:
    labels = np.repeat([0, 1, 2], [20, 30, 13])
    folds = stratified_folds(labels, k=5, seed=0)
    assert folds.shape == labels.shape and set(folds.tolist()) == set(range(5))
    for f in range(5):
        assert set(labels[folds == f].tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(folds, stratified_folds(labels, k=5, seed=0))
    assert stratified_folds(np.repeat([0, 1], [3, 10]), k=5).max() == 2  # capped at the smallest class
    with pytest.raises(RactError, match="at least 2"):
        stratified_folds(np.array([0, 1, 1, 1]), k=5)


def test_out_of_fold_pred_probs_predict_every_example_once_never_from_its_own_fold() -> None:
    labels = np.repeat([0, 1, 2], [12, 15, 9])
    folds = stratified_folds(labels, k=3, seed=0)
    predicted = np.zeros(len(labels), dtype=int)
    rng = np.random.default_rng(0)

    def fit_predict(train: np.ndarray, held: np.ndarray) -> np.ndarray:
        assert not set(train.tolist()) & set(held.tolist())
        assert len(train) + len(held) == len(labels)
        predicted[held] += 1
        raw = rng.random((len(held), 3))
        return raw / raw.sum(1, keepdims=True)

    probs = out_of_fold_pred_probs(folds, 3, fit_predict)
    assert (predicted == 1).all()
    assert probs.shape == (len(labels), 3) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(1), 1.0)


# --- User errors (no training) ----------------------------------------------------------------------------------


def test_unknown_baseline_or_option_is_a_user_error(noisy_toy, backbone) -> None:
    texts, labels, _ = noisy_toy
    with pytest.raises(RactError, match="unknown baseline"):
        run_baseline("nope", texts, labels, 2, CONFIG, backbone)
    with pytest.raises(RactError, match="unknown option"):
        run_baseline("coteaching", texts, labels, 2, CONFIG, backbone, forget=0.2)


@pytest.mark.parametrize("name", ["cleanlab_cv", "cleanlab_embeddings"])
def test_missing_cleanlab_is_a_user_error(noisy_toy, backbone, monkeypatch, name) -> None:
    for module in ("cleanlab", "cleanlab.filter", "cleanlab.rank"):
        monkeypatch.setitem(sys.modules, module, None)  # makes `import cleanlab...` raise ImportError
    texts, labels, _ = noisy_toy
    with pytest.raises(RactError, match=r"pip install 'ract\[baselines\]'"):
        run_baseline(name, texts, labels, 2, CONFIG, backbone)


# --- Every baseline end to end on the toy set ---------------------------------------------------------------------


@training
def test_every_baseline_returns_finite_scores_flags_and_time(all_outputs, noisy_toy) -> None:
    _, labels, _ = noisy_toy
    assert set(all_outputs) == set(BASELINES)
    for name, out in all_outputs.items():
        assert out.name == name
        assert out.scores.shape == labels.shape and np.isfinite(out.scores).all(), name
        assert out.flagged.shape == labels.shape and out.flagged.dtype == bool, name
        assert out.seconds > 0 and out.rule, name
        json.dumps(out.extra)  # JSON-serialisable


def test_context_charges_a_reused_piece_to_every_later_method() -> None:
    ctx = _Context(["a", "b"], np.array([0, 1]), 2, CONFIG, backbone=None, show_progress=False)
    calls = []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.05)
        return "value"

    assert ctx.shared("piece", slow) == "value" and ctx.reused_seconds == 0.0  # computed: in the method's wall time
    assert ctx.shared("piece", slow) == "value" and ctx.reused_seconds == 0.0  # same method again: not charged twice
    cost = ctx.used["piece"]
    assert cost >= 0.05
    ctx.start_method()
    assert ctx.used == {} and ctx.reused_seconds == 0.0
    ctx.shared("piece", slow)
    ctx.shared("piece", slow)
    assert calls == [1] and ctx.reused_seconds == cost and ctx.used == {"piece": cost}
    with pytest.raises(AssertionError, match="while computing"):
        ctx.shared("outer", lambda: ctx.shared("inner", slow))  # nested pieces would be charged twice


@training
def test_shared_work_is_charged_to_every_method_that_uses_it(all_outputs) -> None:
    # small_loss, small_loss_final and data_map share one training run; each time includes it in full.
    runs = {name: out.shared.get("single_adapter") for name, out in all_outputs.items()}
    users = {name for name, seconds in runs.items() if seconds is not None}
    assert users == {"small_loss", "small_loss_final", "data_map"}
    assert len({runs[name] for name in users}) == 1  # the same run, the same cost
    for name, out in all_outputs.items():
        assert out.seconds >= sum(out.shared.values()), name
        expected = set() if name == "cleanlab_embeddings" else {"tokens", "start_states"}
        assert expected <= set(out.shared), name
    assert all_outputs["small_loss_final"].seconds >= runs["small_loss"]


@training
def test_adapter_passes(all_outputs) -> None:
    epochs = CONFIG.epochs
    passes = {name: out.adapter_passes for name, out in all_outputs.items()}
    assert passes["small_loss"] == passes["small_loss_final"] == passes["data_map"] == epochs
    assert passes["aum"] == passes["coteaching"] == 2 * epochs
    assert passes["cleanlab_cv"] == pytest.approx(4 * epochs)  # 5 folds, each trained on 4/5 of the data
    assert passes["cleanlab_embeddings"] == 0


@training
def test_baseline_specifics(all_outputs, noisy_toy) -> None:
    _, labels, _ = noisy_toy
    aum = all_outputs["aum"].extra
    assert aum["runs"] == 2 and aum["percentile"] == 99.0 and aum["threshold_samples_per_run"] == 64 // 3
    assert np.isfinite([aum["threshold_run_0"], aum["threshold_run_1"]]).all()
    data_map = all_outputs["data_map"].scores
    assert ((data_map >= -1) & (data_map <= 0)).all()  # -confidence
    for name in ("cleanlab_cv", "cleanlab_embeddings"):
        out = all_outputs[name]
        assert out.pred_probs.shape == (len(labels), 2) and out.extra["folds"] == 5
        np.testing.assert_allclose(out.pred_probs.sum(1), 1.0, rtol=1e-6)
        assert ((out.scores >= 0) & (out.scores <= 1)).all()
    assert all_outputs["coteaching"].extra["forget_rate"] == 0.3


@training
def test_run_baseline_alone_and_with_options(noisy_toy, backbone) -> None:
    texts, labels, _ = noisy_toy
    out = run_baseline("coteaching", texts, labels, 2, CONFIG, backbone, forget_rate=0.2)
    assert out.extra["forget_rate"] == 0.2 and out.seconds > 0 and out.scores.shape == labels.shape
