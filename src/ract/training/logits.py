"""NumPy functions of recorded logits: per-example cross-entropy and class probabilities.

Free of torch, so that :mod:`ract.detection.scores` (whose names the command line offers) loads fast. Also
available from :mod:`ract.training.loop`.
"""

from __future__ import annotations

import numpy as np


def per_example_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each example. logits: (..., n, C); labels: (n,). Returns (..., n) in nats."""
    shifted = logits - logits.max(-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(-1))
    picked = np.take_along_axis(shifted, labels.reshape((1,) * (logits.ndim - 2) + (-1, 1)), -1)[..., 0]
    return log_norm - picked


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities along the last axis."""
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)
