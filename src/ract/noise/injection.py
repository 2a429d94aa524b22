"""Synthetic label noise: flip a controlled fraction of labels, to benchmark noise detection.

Three standard noise models are provided by :func:`inject_noise`:

``"symmetric"``
    Exactly ``round(rate * n)`` examples, chosen uniformly at random, get a label drawn uniformly from
    the *other* ``C - 1`` classes.
``"asymmetric"``
    Class-conditional "pair" flipping (Han et al., 2018, *Co-teaching*, NeurIPS): in each class ``c``,
    exactly ``round(rate * n_c)`` examples are flipped to one fixed confusable class, by default
    ``(c + 1) % C``.
``"instance"``
    Instance-dependent noise (IDN) of Xia et al., 2020, *Part-dependent Label Noise: Towards
    Instance-dependent Label Noise*, NeurIPS: how likely an example is flipped, and to which class,
    depends on its features. See :func:`_instance_noise` for the model.

All kinds are deterministic given ``seed`` and never modify their input.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ract.errors import RactError

#: Noise kinds accepted by :func:`inject_noise`.
NOISE_KINDS: tuple[str, ...] = ("symmetric", "asymmetric", "instance")

#: Standard deviation of the per-example flip rate of instance-dependent noise (Xia et al., 2020).
IDN_RATE_STD = 0.1


@dataclass
class NoiseResult:
    """Labels after noise injection, and what was flipped.

    Attributes:
        noisy_labels: ``(n,)`` int64 labels after injection.
        flip_mask: ``(n,)`` bool, True where ``noisy_labels`` differs from the original label.
        kind: the noise model, one of :data:`NOISE_KINDS`.
        requested_rate: the requested fraction of flipped labels, in ``[0, 1)``.
        realised_rate: the fraction actually flipped, ``flip_mask.mean()`` (0.0 for no examples).
        transition: ``(C, C)`` int64 counts; ``transition[i, j]`` is the number of examples whose
            original label ``i`` became ``j`` (row sums are the class sizes).
    """

    noisy_labels: np.ndarray
    flip_mask: np.ndarray
    kind: str
    requested_rate: float
    realised_rate: float
    transition: np.ndarray


def inject_noise(
    labels: np.ndarray,
    num_classes: int,
    kind: str,
    rate: float,
    seed: int = 0,
    *,
    features: np.ndarray | None = None,
    mapping: Mapping[int, int] | None = None,
) -> NoiseResult:
    """Flip a fraction ``rate`` of ``labels`` according to the noise model ``kind``.

    Args:
        labels: ``(n,)`` integer class ids in ``0..num_classes-1`` (the clean labels). Not modified.
        num_classes: number of classes ``C`` (at least 2).
        kind: ``"symmetric"``, ``"asymmetric"`` or ``"instance"`` (see the module docstring).
        rate: fraction of labels to flip, in ``[0, 1)``. For ``"instance"`` it is the mean per-example
            flip probability, so the realised rate is only close to it.
        seed: seed of all random choices; the same inputs and seed give the same result.
        features: ``(n, d)`` float features (e.g. sentence embeddings); required for ``"instance"``,
            ignored otherwise.
        mapping: for ``"asymmetric"`` only: class -> the class it is flipped to. Classes not in the
            mapping are never flipped. Default: ``c -> (c + 1) % C`` for every class.

    Returns:
        The noisy labels, the flip mask, the realised rate and the empirical transition counts.

    Raises:
        RactError: invalid labels, ``num_classes``, ``kind``, ``rate``, ``features`` or ``mapping``.
    """
    num_classes = _check_num_classes(num_classes)
    original = _check_labels(labels, num_classes)
    rate = _check_rate(rate)
    rng = np.random.default_rng(_check_seed(seed))
    if kind == "symmetric":
        noisy = _symmetric_noise(original, num_classes, rate, rng)
    elif kind == "asymmetric":
        noisy = _asymmetric_noise(original, _check_mapping(mapping, num_classes), rate, rng)
    elif kind == "instance":
        noisy = _instance_noise(original, num_classes, rate, _check_features(features, len(original)), rng)
    else:
        raise RactError(f"unknown noise kind {kind!r}; choose one of {', '.join(NOISE_KINDS)}")
    return _result(original, noisy, num_classes, kind, rate)


def _symmetric_noise(labels: np.ndarray, num_classes: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Flip exactly ``round(rate * n)`` random examples, each to a uniformly chosen other class."""
    noisy = labels.copy()
    chosen = rng.choice(labels.size, size=round(rate * labels.size), replace=False)
    offsets = rng.integers(1, num_classes, size=chosen.size)  # 1..C-1: never the same class
    noisy[chosen] = (labels[chosen] + offsets) % num_classes
    return noisy


def _asymmetric_noise(labels: np.ndarray, mapping: dict[int, int], rate: float, rng: np.random.Generator) -> np.ndarray:
    """In each mapped class ``c``, flip exactly ``round(rate * n_c)`` random examples to ``mapping[c]``."""
    noisy = labels.copy()
    for source in sorted(mapping):
        members = np.flatnonzero(labels == source)
        chosen = rng.choice(members, size=round(rate * members.size), replace=False)
        noisy[chosen] = mapping[source]
    return noisy


def _instance_noise(
    labels: np.ndarray, num_classes: int, rate: float, features: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Instance-dependent noise of Xia et al. (2020), Algorithm 1 ("part-dependent label noise").

    For example ``i`` with features ``x_i`` (``(d,)``) and clean label ``y_i``:

    1. its flip rate ``q_i`` is drawn from the normal ``N(rate, 0.1^2)`` truncated to ``[0, 1]``;
    2. with one random projection per class, ``W`` of shape ``(C, d, C)`` with standard-normal
       entries, the scores are ``s = x_i @ W[y_i]`` (``(C,)``) and ``s[y_i] = -inf``;
    3. the label distribution is ``p = q_i * softmax(s)`` with ``p[y_i] = 1 - q_i``, so the other
       classes share ``q_i`` according to the features and the clean label keeps ``1 - q_i``;
    4. the noisy label is drawn from ``p``.

    The expected flip rate is ``mean(q_i)``: close to ``rate``, a little higher for small rates, where
    the truncation at 0 raises the mean (``rate = 0.1`` gives about 0.13); ``rate = 0`` flips nothing.
    The scale of the features sets how concentrated the flips of one example are on a single class
    (large feature norms give a near one-hot ``softmax(s)``).
    """
    n, d = features.shape
    if rate == 0.0:
        return labels.copy()  # the truncated normal would still give a mean flip rate of about 0.08
    flip_rates = _truncated_normal(rate, IDN_RATE_STD, n, rng)
    projections = rng.standard_normal((num_classes, d, num_classes))
    scores = np.empty((n, num_classes))
    for c in range(num_classes):
        members = labels == c
        scores[members] = features[members] @ projections[c]
    rows = np.arange(n)
    scores[rows, labels] = -np.inf
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs *= (flip_rates / probs.sum(axis=1))[:, None]
    probs[rows, labels] = 1.0 - flip_rates
    return _sample_rows(probs, rng)


def _truncated_normal(mean: float, std: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """``(size,)`` draws from ``N(mean, std^2)`` truncated to ``[0, 1]``, by rejection sampling."""
    draws = rng.normal(mean, std, size)
    outside = (draws < 0.0) | (draws > 1.0)
    while outside.any():
        draws[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (draws < 0.0) | (draws > 1.0)
    return draws


def _sample_rows(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One class per row of the ``(n, C)`` row-stochastic ``probs``: ``(n,)`` int64."""
    cumulative = np.cumsum(probs, axis=1)
    cumulative[:, -1] = np.inf  # absorb rounding: every uniform draw falls in some class
    draws = rng.random(probs.shape[0])
    return np.argmax(cumulative > draws[:, None], axis=1).astype(np.int64)


def _result(original: np.ndarray, noisy: np.ndarray, num_classes: int, kind: str, rate: float) -> NoiseResult:
    flip_mask = noisy != original
    transition = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(transition, (original, noisy), 1)
    return NoiseResult(
        noisy_labels=noisy,
        flip_mask=flip_mask,
        kind=kind,
        requested_rate=rate,
        realised_rate=float(flip_mask.mean()) if flip_mask.size else 0.0,
        transition=transition,
    )


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_num_classes(num_classes: int) -> int:
    if not _is_int(num_classes) or num_classes < 2:
        raise RactError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return int(num_classes)


def _check_labels(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """A new ``(n,)`` int64 copy of ``labels``, checked to lie in ``0..num_classes-1``."""
    array = np.array(labels, copy=True)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.ndim != 1:
        raise RactError(f"labels must be a 1-D array of class ids, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise RactError(f"labels must be integer class ids, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        bad = np.flatnonzero((array < 0) | (array >= num_classes))
        raise RactError(
            f"labels must lie in 0..{num_classes - 1} (num_classes={num_classes}); {bad.size} do not, "
            f"e.g. position {bad[0]} has {array[bad[0]]}"
        )
    return array.astype(np.int64, copy=False)


def _check_rate(rate: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise RactError(f"noise rate must be a number in [0, 1), got {rate!r}")
    if not 0.0 <= float(rate) < 1.0:
        raise RactError(f"noise rate must be in [0, 1), got {rate!r}")
    return float(rate)


def _check_seed(seed: int) -> int:
    if not _is_int(seed):
        raise RactError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _check_mapping(mapping: Mapping[int, int] | None, num_classes: int) -> dict[int, int]:
    """The asymmetric flip map (default ``c -> (c + 1) % C``), checked."""
    if mapping is None:
        return {c: (c + 1) % num_classes for c in range(num_classes)}
    checked: dict[int, int] = {}
    for source, target in dict(mapping).items():
        for value in (source, target):
            if not _is_int(value) or not 0 <= value < num_classes:
                raise RactError(f"noise mapping entry {source!r} -> {target!r}: classes must be 0..{num_classes - 1}")
        if source == target:
            raise RactError(f"noise mapping sends class {source} to itself; leave it out to keep it clean")
        checked[int(source)] = int(target)
    return checked


def _check_features(features: np.ndarray | None, n: int) -> np.ndarray:
    """``(n, d)`` float64 features; RactError if absent, misshapen or not finite."""
    if features is None:
        raise RactError(
            "instance-dependent noise needs features (an (n, d) array, e.g. sentence embeddings of the texts)"
        )
    try:
        array = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise RactError(f"features must be a numeric (n, d) array: {err}") from err
    if array.ndim != 2 or array.shape[0] != n or array.shape[1] == 0:
        raise RactError(f"features must have shape ({n}, d) with d >= 1 (one row per label), got {array.shape}")
    if not np.isfinite(array).all():
        raise RactError("features contain NaN or infinite values")
    return array
