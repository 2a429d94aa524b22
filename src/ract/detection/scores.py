"""Per-example noise scores computed from recorded training dynamics. Higher = more likely mislabelled.

Every score reads the logits of A adapters (index 0 = lowest rank) over E epochs, shape (A, E, n, C), and the
given labels. ``SCORES`` maps the names accepted by ``--score`` to their functions; ``DEFAULT_SCORE`` is the one
the measurements in ``docs/detection.md`` support.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ract.errors import RactError
from ract.training.logits import per_example_loss, softmax


def mean_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of the given label, averaged over every adapter and epoch (n,), in nats."""
    return per_example_loss(logits, labels).mean(axis=(0, 1))


def low_rank_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of the lowest-rank adapter averaged over epochs (small-loss criterion), in nats."""
    return per_example_loss(logits[0], labels).mean(axis=0)


def discrepancy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The paper's bare rank discrepancy at the last epoch: loss_low - loss_high (nats).

    Large when the high-rank adapter fits the given label and the low-rank one cannot.
    """
    losses = per_example_loss(logits[:, -1], labels)
    return losses[0] - losses[-1]


def discrepancy_mean(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """loss_low - loss_high averaged over all epochs (nats)."""
    losses = per_example_loss(logits, labels)
    return (losses[0] - losses[-1]).mean(axis=0)


def negative_margin(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Minus the area under the margin (Pleiss et al. 2020) averaged over adapters: logit gap to the given label."""
    given = np.take_along_axis(logits, labels.reshape(1, 1, -1, 1), -1)[..., 0]
    others = logits.copy()
    np.put_along_axis(others, labels.reshape(1, 1, -1, 1), -np.inf, -1)
    return -(given - others.max(-1)).mean(axis=(0, 1))


SCORES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mean_loss": mean_loss,
    "low_rank_loss": low_rank_loss,
    "discrepancy": discrepancy,
    "discrepancy_mean": discrepancy_mean,
    "margin": negative_margin,
}
DEFAULT_SCORE = "mean_loss"
# Scores that are a cross-entropy of the given label in nats: the threshold floors (log(2), per-row) apply to them.
LOSS_SCORES = frozenset({"mean_loss", "low_rank_loss"})


def compute_score(name: str, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Score ``name`` (a key of ``SCORES``) for every example: (n,) float64."""
    if name not in SCORES:
        raise RactError(f"unknown score {name!r}; choose one of {', '.join(SCORES)}")
    return np.asarray(SCORES[name](logits, np.asarray(labels, dtype=np.int64)), dtype=np.float64)


def class_probabilities(logits: np.ndarray) -> np.ndarray:
    """(n, C) probabilities of the trusted model: the lowest-rank adapter, softmax averaged over epochs."""
    return softmax(logits[0]).mean(axis=0)


def all_adapter_probabilities(logits: np.ndarray) -> np.ndarray:
    """(n, C) softmax of ``logits`` (adapters, epochs, n, C) averaged over adapters and epochs: what the
    ``confident`` threshold rule reads."""
    return softmax(logits).mean(axis=(0, 1))
