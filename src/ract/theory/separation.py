"""Temporal separation: clean examples are fitted early, mislabelled ones late (or never) at low rank.

Every function reads logits recorded during training, shape (A, E, n, C): A adapters of increasing rank,
E epochs, n examples, C classes. An example is *fitted* at an epoch when its argmax logit is its given label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ract.errors import RactError


def _check_logits_labels(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 4:
        raise RactError(f"logits must have shape (adapters, epochs, n, classes), got {logits.shape}")
    n, c = logits.shape[2], logits.shape[3]
    if labels.shape != (n,):
        raise RactError(f"labels must have shape ({n},) to match the logits, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise RactError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= c):
        raise RactError(f"labels must be in [0, {c}), got values in [{labels.min()}, {labels.max()}]")
    return logits, labels


def fitted(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(A, E, n) bool: True where the argmax of the (A, E, n, C) logits is the given label."""
    logits, labels = _check_logits_labels(logits, labels)
    return logits.argmax(axis=-1) == labels


def first_fitted_epoch(fitted_mask: np.ndarray) -> np.ndarray:
    """(A, n) int: the first epoch (1-based) at which each example is fitted; E + 1 if never.

    This is the first time it is fitted, not the time from which it stays fitted: an example fitted at epoch 2
    and forgotten at epoch 3 gets 2.

    Args:
        fitted_mask: (A, E, n) bool, from :func:`fitted`.
    """
    mask = np.asarray(fitted_mask, dtype=bool)
    if mask.ndim != 3:
        raise RactError(f"fitted mask must have shape (adapters, epochs, n), got {mask.shape}")
    epochs = mask.shape[1]
    first = mask.argmax(axis=1) + 1
    return np.where(mask.any(axis=1), first, epochs + 1)


@dataclass
class SeparationReport:
    """How much earlier clean examples are fitted than noisy ones, per adapter.

    Attributes:
        ranks: (A,) LoRA rank of each adapter, increasing.
        clean_fitted: (A, E) fraction of clean examples fitted at each epoch, in [0, 1].
        noisy_fitted: (A, E) fraction of noisy (mislabelled) examples fitted at each epoch, in [0, 1].
        median_first_clean: (A,) median first-fitted epoch of clean examples (1-based epochs; E + 1 = never).
        median_first_noisy: (A,) same for noisy examples.
        gap: (A,) mean over epochs of clean_fitted - noisy_fitted: the signed area between the two curves
            divided by E, in [-1, 1]. Positive when clean examples are fitted earlier (the separation the
            paper predicts); 0 when both are fitted at the same pace.
    """

    ranks: list[int]
    clean_fitted: np.ndarray
    noisy_fitted: np.ndarray
    median_first_clean: np.ndarray
    median_first_noisy: np.ndarray
    gap: np.ndarray

    def to_dict(self) -> dict:
        """JSON-friendly: ``{"adapters": [{"rank", "clean_fitted", "noisy_fitted", ...}, ...]}``."""
        adapters = [
            {
                "rank": int(rank),
                "clean_fitted": [float(v) for v in self.clean_fitted[i]],
                "noisy_fitted": [float(v) for v in self.noisy_fitted[i]],
                "median_first_fitted_clean": float(self.median_first_clean[i]),
                "median_first_fitted_noisy": float(self.median_first_noisy[i]),
                "gap": float(self.gap[i]),
            }
            for i, rank in enumerate(self.ranks)
        ]
        return {"adapters": adapters}


def temporal_separation(
    logits: np.ndarray, labels: np.ndarray, is_noisy: np.ndarray, ranks: list[int]
) -> SeparationReport:
    """Fitted-fraction curves and first-fitted epochs of clean vs noisy examples for each adapter.

    Args:
        logits: (A, E, n, C) per-example class logits recorded at the end of each epoch.
        labels: (n,) given (possibly wrong) labels, integer class indices.
        is_noisy: (n,) bool, True where the given label is known to be wrong. Needs at least one of each.
        ranks: (A,) rank of each adapter, in the order of ``logits``.
    """
    mask = fitted(logits, labels)
    noisy = np.asarray(is_noisy)
    n = mask.shape[2]
    if noisy.shape != (n,) or noisy.dtype != bool:
        raise RactError(f"is_noisy must be a bool array of shape ({n},), got {noisy.dtype} {noisy.shape}")
    if len(ranks) != mask.shape[0]:
        raise RactError(f"got {len(ranks)} ranks for {mask.shape[0]} adapters in the logits")
    if noisy.all() or not noisy.any():
        raise RactError("temporal separation needs both clean and noisy examples")
    first = first_fitted_epoch(mask)
    clean_fitted = mask[:, :, ~noisy].mean(axis=2)
    noisy_fitted = mask[:, :, noisy].mean(axis=2)
    return SeparationReport(
        ranks=[int(r) for r in ranks],
        clean_fitted=clean_fitted,
        noisy_fitted=noisy_fitted,
        median_first_clean=np.median(first[:, ~noisy], axis=1),
        median_first_noisy=np.median(first[:, noisy], axis=1),
        gap=(clean_fitted - noisy_fitted).mean(axis=1),
    )
