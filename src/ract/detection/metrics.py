"""Detection quality against a known flip mask: precision, recall and F1 on the noisy class, AUROC, AUPRC."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def detection_metrics(is_noisy: np.ndarray, scores: np.ndarray, flagged: np.ndarray | None = None) -> dict:
    """Score a detector.

    Args:
        is_noisy: (n,) bool ground truth (given label differs from the true label).
        scores: (n,) float, higher = more likely mislabelled.
        flagged: (n,) bool the detector's decisions; precision/recall/F1 are computed on them when given.
    Returns:
        dict with ``auroc``, ``auprc``, ``f1_at_true_count`` (flag exactly as many as are truly noisy, the
        oracle-count F1 used in the literature) and, with ``flagged``, ``precision``, ``recall``, ``f1``,
        ``num_flagged``. AUROC/AUPRC are None when only one class is present.
    """
    is_noisy = np.asarray(is_noisy, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    out: dict = {"num_noisy": int(is_noisy.sum()), "num_examples": int(len(is_noisy))}
    both = 0 < is_noisy.sum() < len(is_noisy)
    out["auroc"] = float(roc_auc_score(is_noisy, scores)) if both else None
    out["auprc"] = float(average_precision_score(is_noisy, scores)) if both else None
    k = int(is_noisy.sum())
    top = np.zeros(len(scores), dtype=bool)
    if k:
        top[np.argsort(-scores, kind="stable")[:k]] = True
    out["f1_at_true_count"] = _prf(is_noisy, top)[2] if k else None
    if flagged is not None:
        precision, recall, f1 = _prf(is_noisy, np.asarray(flagged, dtype=bool))
        out.update(precision=precision, recall=recall, f1=f1, num_flagged=int(np.sum(flagged)))
    return out


def _prf(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(truth & pred))
    precision = tp / max(1, int(pred.sum()))
    recall = tp / max(1, int(truth.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
