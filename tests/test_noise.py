"""Tests of ract.noise: synthetic label noise is exact, seeded and never touches its input."""

import numpy as np
import pytest

from ract.errors import RactError
from ract.noise import NOISE_KINDS, inject_noise


def _labels(n: int = 1000, num_classes: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, num_classes, size=n)


def _features(n: int, d: int = 8, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.25, 0.333, 0.9])
@pytest.mark.parametrize("num_classes", [2, 3, 10])
def test_symmetric_rate_is_exact(rate: float, num_classes: int) -> None:
    labels = _labels(997, num_classes)
    result = inject_noise(labels, num_classes, "symmetric", rate, seed=5)
    assert result.flip_mask.sum() == round(rate * labels.size)
    assert result.realised_rate == round(rate * labels.size) / labels.size
    assert np.array_equal(result.flip_mask, result.noisy_labels != labels)
    assert result.noisy_labels.dtype == np.int64
    assert result.noisy_labels.min() >= 0 and result.noisy_labels.max() < num_classes


def test_symmetric_flips_to_all_other_classes() -> None:
    labels = np.zeros(3000, dtype=np.int64)
    result = inject_noise(labels, 4, "symmetric", 0.6, seed=0)
    targets = result.noisy_labels[result.flip_mask]
    assert 0 not in targets
    counts = np.bincount(targets, minlength=4)[1:]
    assert counts.min() > 0.25 * counts.sum()  # roughly uniform over the 3 other classes


def test_asymmetric_flips_to_the_mapped_class() -> None:
    labels = _labels(1200, 5)
    result = inject_noise(labels, 5, "asymmetric", 0.3, seed=2)
    for c in range(5):
        members = labels == c
        flipped = result.flip_mask & members
        assert flipped.sum() == round(0.3 * members.sum())
        assert np.all(result.noisy_labels[flipped] == (c + 1) % 5)
        assert result.transition[c, (c + 1) % 5] == flipped.sum()


def test_asymmetric_custom_mapping_leaves_other_classes_clean() -> None:
    labels = _labels(600, 3)
    result = inject_noise(labels, 3, "asymmetric", 0.5, seed=0, mapping={2: 0})
    assert not result.flip_mask[labels != 2].any()
    assert np.all(result.noisy_labels[result.flip_mask] == 0)


@pytest.mark.parametrize("mapping", [{0: 0}, {0: 3}, {-1: 1}])
def test_asymmetric_bad_mapping(mapping: dict[int, int]) -> None:
    with pytest.raises(RactError, match="mapping"):
        inject_noise(_labels(10, 3), 3, "asymmetric", 0.2, mapping=mapping)


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.4])
def test_instance_rate_is_close(rate: float) -> None:
    labels = _labels(2000, 4)
    result = inject_noise(labels, 4, "instance", rate, seed=0, features=_features(2000))
    assert abs(result.realised_rate - rate) < 0.05
    assert result.kind == "instance"
    assert result.requested_rate == rate


def test_instance_noise_depends_on_features() -> None:
    labels = _labels(500, 3)
    first = inject_noise(labels, 3, "instance", 0.3, seed=0, features=_features(500, seed=1))
    second = inject_noise(labels, 3, "instance", 0.3, seed=0, features=_features(500, seed=2))
    assert not np.array_equal(first.noisy_labels, second.noisy_labels)


def test_instance_zero_rate_flips_nothing() -> None:
    labels = _labels(300, 3)
    result = inject_noise(labels, 3, "instance", 0.0, features=_features(300))
    assert not result.flip_mask.any()


def test_instance_needs_features() -> None:
    with pytest.raises(RactError, match="needs features"):
        inject_noise(_labels(10), 4, "instance", 0.2)
    with pytest.raises(RactError, match=r"shape \(10, d\)"):
        inject_noise(_labels(10), 4, "instance", 0.2, features=np.ones((9, 3)))
    with pytest.raises(RactError, match="NaN"):
        inject_noise(_labels(10), 4, "instance", 0.2, features=np.full((10, 3), np.nan))


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_deterministic_by_seed_and_input_untouched(kind: str) -> None:
    labels = _labels(800, 4)
    before = labels.copy()
    features = _features(800)
    features_before = features.copy()
    first = inject_noise(labels, 4, kind, 0.3, seed=11, features=features)
    again = inject_noise(labels, 4, kind, 0.3, seed=11, features=features)
    other = inject_noise(labels, 4, kind, 0.3, seed=12, features=features)
    assert np.array_equal(first.noisy_labels, again.noisy_labels)
    assert not np.array_equal(first.noisy_labels, other.noisy_labels)
    assert np.array_equal(labels, before)
    assert np.array_equal(features, features_before)
    assert first.noisy_labels is not labels


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_transition_counts(kind: str) -> None:
    labels = _labels(400, 3)
    result = inject_noise(labels, 3, kind, 0.3, seed=0, features=_features(400))
    assert result.transition.shape == (3, 3)
    assert np.array_equal(result.transition.sum(axis=1), np.bincount(labels, minlength=3))
    assert np.array_equal(result.transition.sum(axis=0), np.bincount(result.noisy_labels, minlength=3))
    assert result.transition.sum() - np.trace(result.transition) == result.flip_mask.sum()


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan")])
def test_bad_rate(rate: float) -> None:
    with pytest.raises(RactError, match=r"\[0, 1\)"):
        inject_noise(_labels(10), 4, "symmetric", rate)


def test_bad_arguments() -> None:
    with pytest.raises(RactError, match="symmetric, asymmetric, instance"):
        inject_noise(_labels(10), 4, "uniform", 0.2)
    with pytest.raises(RactError, match="num_classes"):
        inject_noise(np.zeros(10, dtype=int), 1, "symmetric", 0.2)
    with pytest.raises(RactError, match="0..3"):
        inject_noise(np.array([0, 1, 4]), 4, "symmetric", 0.2)
    with pytest.raises(RactError, match="integer"):
        inject_noise(np.array([0.0, 1.0]), 4, "symmetric", 0.2)


def test_empty_labels() -> None:
    result = inject_noise(np.array([], dtype=np.int64), 3, "symmetric", 0.2)
    assert result.noisy_labels.size == 0 and result.realised_rate == 0.0
