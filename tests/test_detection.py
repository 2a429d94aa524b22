"""Noise scores, threshold rules and detection metrics, on synthetic numbers with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from ract.detection.metrics import detection_metrics
from ract.detection.scores import SCORES, class_probabilities, compute_score
from ract.detection.threshold import EVEN_ODDS_LOSS, apply_threshold, pair_floors, parse_threshold
from ract.errors import RactError


def _dynamics(n: int = 200, noisy_every: int = 4, seed: int = 0):
    """Logits (A=2, E=3, n, C=3) where clean examples favour their label and noisy ones favour another class,
    and the high-rank adapter (index 1) fits the noisy labels by the last epoch."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    is_noisy = np.arange(n) % noisy_every == 0
    true = np.where(is_noisy, (labels + 1) % 3, labels)
    logits = rng.normal(0, 0.3, size=(2, 3, n, 3))
    for a in range(2):
        for e in range(3):
            logits[a, e, np.arange(n), true] += 2.0
            if a == 1 and e == 2:
                logits[a, e, np.arange(n)[is_noisy], labels[is_noisy]] += 4.0
    return logits, labels, is_noisy


def test_every_score_ranks_noisy_examples_higher() -> None:
    logits, labels, is_noisy = _dynamics()
    for name in ("mean_loss", "low_rank_loss", "margin", "discrepancy", "discrepancy_mean"):
        scores = compute_score(name, logits, labels)
        assert scores.shape == labels.shape
        assert detection_metrics(is_noisy, scores)["auroc"] > 0.95, name


def test_discrepancy_is_low_minus_high_at_last_epoch() -> None:
    logits, labels, _ = _dynamics()
    scores = compute_score("discrepancy", logits, labels)
    low = -np.log(np.exp(logits[0, -1]) / np.exp(logits[0, -1]).sum(-1, keepdims=True))[np.arange(200), labels]
    high = -np.log(np.exp(logits[1, -1]) / np.exp(logits[1, -1]).sum(-1, keepdims=True))[np.arange(200), labels]
    np.testing.assert_allclose(scores, low - high, rtol=1e-6)


def test_unknown_score_is_a_user_error() -> None:
    logits, labels, _ = _dynamics()
    with pytest.raises(RactError, match="unknown score"):
        compute_score("nope", logits, labels)
    assert "mean_loss" in SCORES


def test_class_probabilities_use_low_rank_adapter() -> None:
    logits, labels, is_noisy = _dynamics()
    probs = class_probabilities(logits)
    assert probs.shape == (200, 3)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    true = np.where(is_noisy, (labels + 1) % 3, labels)
    assert (probs.argmax(1) == true).mean() > 0.95


def test_auto_threshold_estimates_the_noise_rate() -> None:
    rng = np.random.default_rng(0)
    clean = rng.lognormal(mean=-3.0, sigma=0.6, size=7000)
    noisy = rng.lognormal(mean=0.5, sigma=0.3, size=3000)
    scores = np.concatenate([clean, noisy])
    truth = np.r_[np.zeros(7000, bool), np.ones(3000, bool)]
    result = apply_threshold(scores, "auto")
    assert abs(result.estimated_noise_rate - 0.3) < 0.02
    assert detection_metrics(truth, scores, result.flagged)["f1"] > 0.98
    # monotone: everything above the threshold is flagged
    assert result.flagged[scores >= result.threshold].all() and not result.flagged[scores < result.threshold].any()


def test_rate_and_value_thresholds() -> None:
    scores = np.arange(10, dtype=float)
    result = apply_threshold(scores, "rate:0.3")
    assert result.flagged.tolist() == [False] * 7 + [True] * 3
    assert apply_threshold(scores, 6.5).flagged.sum() == 3
    assert apply_threshold(scores, "6.5").flagged.sum() == 3
    assert apply_threshold(scores, "rate:0").flagged.sum() == 0


@pytest.mark.parametrize("bad", ["rate:1.5", "rate:x", "sometimes", "rate:-0.1"])
def test_bad_threshold_rules(bad: str) -> None:
    with pytest.raises(RactError, match="--threshold"):
        parse_threshold(bad)


def test_metrics_known_values() -> None:
    truth = np.array([1, 1, 0, 0, 0, 0], bool)
    scores = np.array([0.9, 0.2, 0.8, 0.1, 0.0, 0.05])
    flagged = np.array([1, 0, 1, 0, 0, 0], bool)
    m = detection_metrics(truth, scores, flagged)
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert m["f1_at_true_count"] == 0.5
    assert m["auroc"] == pytest.approx(7 / 8)
    assert detection_metrics(np.zeros(3, bool), np.arange(3.0))["auroc"] is None


def test_auto_threshold_warns_when_most_examples_look_noisy() -> None:
    rng = np.random.default_rng(1)
    scores = np.concatenate([rng.lognormal(0.5, 0.2, 800), rng.lognormal(-2.0, 0.5, 200)])
    result = apply_threshold(scores, "auto")
    assert result.estimated_noise_rate > 0.5 and result.warning and "rate:R" in result.warning
    assert apply_threshold(np.r_[rng.lognormal(-3, 0.5, 900), rng.lognormal(0.5, 0.3, 100)], "auto").warning is None
    # rows that cannot be flagged (e.g. predicted as their given label) do not count towards the warning
    floors = np.where(np.arange(len(scores)) % 5 == 0, -np.inf, np.inf)
    limited = apply_threshold(scores, "auto", row_floors=floors)
    assert limited.warning is None and limited.estimated_noise_rate == pytest.approx(0.2)


def _clean_losses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Losses of correctly labelled rows: a confident majority and a hesitant minority, nearly all below log(2)."""
    return np.r_[rng.lognormal(-3.5, 0.8, n - n // 3), rng.lognormal(-1.2, 0.5, n // 3)]


def test_loss_floor_flags_nothing_when_no_group_reaches_it() -> None:
    scores = _clean_losses(np.random.default_rng(2), 6000)
    assert apply_threshold(scores, "auto").flagged.sum() > 500  # the plain two-component rule splits clean data
    result = apply_threshold(scores, "auto", min_noisy_score=EVEN_ODDS_LOSS)
    assert result.flagged.sum() == 0 and result.estimated_noise_rate == 0.0
    assert "no group of suspicious labels" in result.warning


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_loss_floor_still_finds_a_group_of_mislabelled_rows(rate: float) -> None:
    rng = np.random.default_rng(3)
    n, k = 8000, int(8000 * rate)
    scores = np.r_[_clean_losses(rng, n - k), rng.lognormal(0.8, 0.3, k)]
    truth = np.r_[np.zeros(n - k, bool), np.ones(k, bool)]
    result = apply_threshold(scores, "auto", min_noisy_score=EVEN_ODDS_LOSS)
    assert detection_metrics(truth, scores, result.flagged)["f1"] > 0.95
    assert abs(result.estimated_noise_rate - rate) < 0.03
    assert not result.flagged[scores < EVEN_ODDS_LOSS].any()


def test_even_odds_floor_finds_pair_noise_that_a_chance_floor_misses() -> None:
    # 40% pair noise: the model learns the swap, so a flipped row's given label gets ~0.4, a loss of ~0.9 nats,
    # above log(2) but below log(4), the uniform-guess floor used before
    rng = np.random.default_rng(4)
    n, k = 8000, 3200
    scores = np.r_[_clean_losses(rng, n - k), rng.lognormal(np.log(-np.log(0.4)), 0.15, k)]
    truth = np.r_[np.zeros(n - k, bool), np.ones(k, bool)]
    even_odds = apply_threshold(scores, "auto", min_noisy_score=EVEN_ODDS_LOSS)
    assert detection_metrics(truth, scores, even_odds.flagged)["f1"] > 0.9
    assert apply_threshold(scores, "auto", min_noisy_score=np.log(4)).flagged.sum() < k // 10


def test_pair_floors_sit_between_a_kept_and_a_flipped_label() -> None:
    # a model that learned T = [[0.7, 0.3], [0.2, 0.8]]: class-0 rows get label 1 with probability 0.3
    probs = np.array([[0.7, 0.3]] * 4 + [[0.2, 0.8]] * 4)
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    floors = pair_floors(labels, probs)
    assert np.isinf(floors[[0, 1, 2, 4, 5, 6]]).all()  # predicted as given: never flagged
    assert floors[3] == pytest.approx((-np.log(0.7) - np.log(0.3)) / 2)  # predicted 0, given 1
    assert floors[7] == pytest.approx((-np.log(0.8) - np.log(0.2)) / 2)
    # symmetric noise over 4 classes spreads the flips thin: a higher floor than a pair swap at the same rate
    spread = np.full((4, 4), 0.1) + np.eye(4) * 0.6
    swap = np.eye(4) * 0.7 + np.roll(np.eye(4), 1, axis=1) * 0.3
    rows = np.arange(4)
    assert pair_floors((rows + 1) % 4, spread)[0] > pair_floors((rows + 1) % 4, swap)[0] > EVEN_ODDS_LOSS


def test_pair_floors_keep_hesitant_clean_rows_and_find_pair_noise() -> None:
    # 3 classes; 40% of class 0 carries label 1, and the adapters learned that swap: every class-0 row gets
    # label 1 at ~0.4 (a flipped row's loss ~0.9 nats). 10% of classes 1 and 2 are clean but hard: the adapters
    # lean to the other of the two, giving the (right) label ~0.3 (loss ~1.2, above a flipped row's)
    rng = np.random.default_rng(6)
    n = 3000
    true = np.repeat(np.arange(3), n // 3)
    given = true.copy()
    swapped = (true == 0) & (rng.random(n) < 0.4)
    given[swapped] = 1
    hard = (true > 0) & (rng.random(n) < 0.1)
    probs = np.full((n, 3), 0.05)
    probs[np.arange(n), true] = 0.9
    probs[true == 0] = [0.55, 0.4, 0.05]
    probs[hard] = 0.05
    probs[hard, 3 - true[hard]], probs[hard, true[hard]] = 0.65, 0.3
    logits = np.log(probs) + rng.normal(0, 0.05, size=(2, 3, n, 3))
    detector = _score_with(logits, given)
    metrics = detection_metrics(swapped, detector.noise_scores_, detector.label_issues_)
    assert metrics["precision"] > 0.95 and metrics["recall"] > 0.9
    assert not detector.label_issues_[hard].any()
    # the disagreement rule alone (before per-row floors) flags the hard rows too
    disagrees = np.where(detector.suggested_labels_ != given, -np.inf, np.inf)
    plain = apply_threshold(detector.noise_scores_, "auto", min_noisy_score=EVEN_ODDS_LOSS, row_floors=disagrees)
    assert plain.flagged[hard].mean() > 0.9


def _score_with(logits: np.ndarray, labels: np.ndarray, threshold: str = "auto"):
    """RACT._score on hand-made dynamics (no training)."""
    from types import SimpleNamespace

    from ract.detection.pipeline import RACT

    detector = RACT(threshold=threshold)
    detector._score(SimpleNamespace(logits=logits), labels)
    return detector


def test_auto_threshold_never_flags_rows_predicted_as_given() -> None:
    # clean data (0% noise) whose losses still form two groups: confident rows and hesitant-but-right rows
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.integers(0, 3, n)
    logits = rng.normal(0, 0.05, size=(2, 3, n, 3))
    margin = np.where(np.arange(n) % 2 == 0, 6.0, 0.4)  # half the rows are barely right
    logits[:, :, np.arange(n), labels] += margin
    raw = apply_threshold(compute_score("mean_loss", logits, labels), "auto", 0).flagged
    assert raw.sum() > 50  # the mixture alone would flag many clean rows
    detector = _score_with(logits, labels)
    assert detector.label_issues_.sum() == 0
    assert detector.estimated_noise_rate_ == 0.0


def test_confident_rule_finds_pair_noise_from_the_adapters_probabilities() -> None:
    # 3 classes; a third of class 0 carries label 1 (a class swap); the adapters predict the true class
    rng = np.random.default_rng(5)
    n = 900
    true = np.repeat(np.arange(3), n // 3)
    given = true.copy()
    swapped = (true == 0) & (rng.random(n) < 1 / 3)
    given[swapped] = 1
    logits = rng.normal(0, 0.3, size=(2, 3, n, 3))
    logits[:, :, np.arange(n), true] += 3.0
    detector = _score_with(logits, given, threshold="confident")
    assert detector.threshold_.rule == "confident" and np.isnan(detector.threshold_.threshold)
    metrics = detection_metrics(swapped, detector.noise_scores_, detector.label_issues_)
    # every flag is a swapped row; confident learning counts a row when its other-class probability reaches that
    # class's mean self-confidence, so with identically confident rows it finds about half of them
    assert metrics["precision"] > 0.95 and metrics["recall"] > 0.4
    assert detector.estimated_noise_rate_ == pytest.approx(detector.label_issues_.mean())
    assert parse_threshold("Confident") == ("confident", None)
    with pytest.raises(RactError, match="needs class probabilities"):
        apply_threshold(np.ones(20), "confident")


def test_confident_rule_without_cleanlab_fails_before_training(monkeypatch) -> None:
    import sys

    from ract.detection.config import DetectConfig

    DetectConfig(threshold="confident").validate()  # cleanlab is a test dependency
    monkeypatch.setitem(sys.modules, "cleanlab.filter", None)  # as if not installed
    with pytest.raises(RactError, match=r"cleanlab is not installed: pip install 'ract\[baselines\]'"):
        DetectConfig(threshold="confident").validate()


def test_auto_threshold_keeps_flags_that_disagree_and_rate_rules_are_untouched() -> None:
    logits, labels, is_noisy = _dynamics()
    detector = _score_with(logits, labels)
    assert detector.label_issues_[is_noisy].mean() > 0.9
    assert not detector.label_issues_[~is_noisy].any()
    by_rate = _score_with(logits, labels, threshold="rate:0.5")
    assert by_rate.label_issues_.sum() == 100  # the user's rate is honoured as asked
