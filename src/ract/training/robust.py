"""The curriculum stage of RACT: retrain the low-rank adapter on the examples detection trusts.

``remove`` (the paper's stage 2) drops every flagged example; ``relabel`` replaces a flagged example's label by the
suggested one when the detector is confident (probability >= ``relabel_confidence``) and drops the rest;
``easy_first`` drops the flagged examples like ``remove`` and paces the rest from easy to hard (lowest noise score
first): the first epoch sees the easiest half, each later epoch a larger share, the last epoch all of them
(:func:`pacing_subsets`); ``none`` trains on all examples as given (plain LoRA, a baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ract.detection.pipeline import RACT
from ract.errors import RactError
from ract.models.classifier import LoraClassifier
from ract.training import CURRICULA
from ract.training.loop import TrainConfig, TrainingDynamics, train_adapters


@dataclass
class CurriculumResult:
    """The retrained model and what it was trained on.

    Attributes:
        model: the low-rank LoraClassifier trained on the retained examples.
        kept: (m,) int indices (into the detection data) of the examples trained on.
        train_labels: (m,) int labels used for them (suggested labels where relabelled).
        relabelled: (n,) bool, True where the label was replaced.
        removed: (n,) bool, True where the example was left out.
        dynamics: the training record of the retrained model.
    """

    model: LoraClassifier
    kept: np.ndarray
    train_labels: np.ndarray
    relabelled: np.ndarray
    removed: np.ndarray
    dynamics: TrainingDynamics


def pacing_subsets(scores: np.ndarray, epochs: int, start_fraction: float = 0.5) -> list[np.ndarray]:
    """Per-epoch index arrays into ``scores`` (n,): the easiest (lowest-score) share, growing linearly from
    ``start_fraction`` in the first epoch to all examples in the last."""
    order = np.argsort(scores, kind="stable")
    n = len(order)
    if epochs == 1:
        return [order]
    fractions = [start_fraction + (1.0 - start_fraction) * e / (epochs - 1) for e in range(epochs)]
    return [np.sort(order[: max(1, round(f * n))]) for f in fractions]


def retrain(
    detector: RACT,
    labels: np.ndarray,
    curriculum: str = "remove",
    relabel_confidence: float = 0.9,
    show_progress: bool = False,
) -> CurriculumResult:
    """Train a fresh adapter of the lowest rank on the examples ``detector`` (already fitted) trusts."""
    if curriculum not in CURRICULA:
        raise RactError(f"--curriculum {curriculum!r}: choose one of {', '.join(CURRICULA)}")
    labels = np.asarray(labels, dtype=np.int64)
    flags = detector.label_issues_ if curriculum != "none" else np.zeros(len(labels), dtype=bool)
    new_labels = labels.copy()
    relabelled = np.zeros(len(labels), dtype=bool)
    if curriculum == "relabel":
        confident = detector.pred_probs_.max(1) >= relabel_confidence
        relabelled = flags & confident & (detector.suggested_labels_ != labels)
        new_labels[relabelled] = detector.suggested_labels_[relabelled]
    removed = flags & ~relabelled
    kept = np.flatnonzero(~removed)
    if len(np.unique(new_labels[kept])) < 2:
        raise RactError("after removing the flagged examples fewer than two classes remain; nothing to train")
    cfg = detector.config
    model = LoraClassifier(
        detector.backbone_,
        int(cfg.ranks[0]),
        detector.num_classes_,
        cfg.adapted_layers,
        seed=cfg.seed + 1,
        dropout=cfg.dropout,
    )
    states = detector.start_states_.subset(kept) if detector.start_states_ is not None else None
    if states is not None:
        model.set_layer_output_is_tuple(states.layer_output_is_tuple)
    train_config = TrainConfig(
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, precision=detector.precision_, seed=cfg.seed + 1
    )
    subsets = pacing_subsets(detector.noise_scores_[kept], cfg.epochs) if curriculum == "easy_first" else None
    dynamics = train_adapters(
        [model],
        detector.tokens_.subset(kept),
        new_labels[kept],
        train_config,
        states,
        show_progress,
        "retrain",
        epoch_subsets=subsets,
    )
    return CurriculumResult(model, kept, new_labels[kept], relabelled, removed, dynamics)
