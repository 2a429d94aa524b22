"""RACT detection end to end: the ``RACT`` estimator and the functional ``find_label_issues``.

Pipeline (each step is one module): tokenize once -> run the frozen bottom layers once and cache their output
-> train a low-rank and a high-rank LoRA adapter side by side on the given labels, recording every example's
logits each epoch -> noise score from those dynamics -> threshold -> flags and suggested labels.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import pandas as pd

from ract.detection.config import DetectConfig, resolve_precision  # torch-free there; importable from here too
from ract.detection.scores import LOSS_SCORES, all_adapter_probabilities, class_probabilities, compute_score
from ract.detection.threshold import (
    EVEN_ODDS_LOSS,
    ThresholdResult,
    apply_threshold,
    confident_learning,
    disagreement_floors,
    learned_transition,
    pair_floors,
    parse_threshold,
)
from ract.errors import RactError
from ract.models.backbone import Backbone, load_backbone
from ract.models.classifier import LoraClassifier
from ract.training.features import StartStates, compute_start_states, tokenize
from ract.training.loop import TrainConfig, TrainingDynamics, per_example_loss, train_adapters


def validate_inputs(texts: list[str], labels: np.ndarray, num_classes: int | None) -> tuple[np.ndarray, int]:
    """Check texts (n non-empty strings) and labels ((n,) ints in 0..C-1, two classes at least); return (labels, C)."""
    labels = np.asarray(labels)
    if len(texts) != len(labels):
        raise RactError(f"got {len(texts)} texts but {len(labels)} labels")
    if len(texts) == 0:
        raise RactError("the data set is empty")
    if not np.issubdtype(labels.dtype, np.integer):
        raise RactError("labels must be integer class ids 0..C-1 (map string labels first, e.g. with ract.data)")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise RactError(f"{len(bad)} empty or non-text entries, at positions {bad[:10]}")
    num_classes = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    out_of_range = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(out_of_range):
        raise RactError(
            f"{len(out_of_range)} labels outside 0..{num_classes - 1}, at positions {out_of_range[:10].tolist()}"
        )
    if len(np.unique(labels)) < 2:
        raise RactError("all examples have the same label: there is nothing to learn or to flag")
    return labels.astype(np.int64), num_classes


class RACT:
    """Rank-aware label-noise detector (scikit-learn style: settings in ``__init__``, results after ``fit``).

    Learned attributes (after ``fit``):
        backbone_: the loaded :class:`~ract.models.backbone.Backbone`.
        adapters_: list of trained :class:`LoraClassifier`, one per rank, lowest first.
        dynamics_: :class:`TrainingDynamics`, per-example logits per adapter and epoch.
        noise_scores_: (n,) float, higher = more likely mislabelled.
        threshold_: :class:`ThresholdResult` (flags, threshold value, estimated noise rate).
        label_issues_: (n,) bool, the flags.
        pred_probs_: (n, C) class probabilities of the low-rank adapter, averaged over epochs.
        suggested_labels_: (n,) int, argmax of ``pred_probs_``.
        learned_transition_: (C, C) float, row k: mean of ``pred_probs_`` over the rows predicted as k, the
            class-to-class noise the adapter has learned (NaN rows for classes never predicted).
        label_quality_: (n,) float in [0, 1], ``pred_probs_`` of the given label (cleanlab's self-confidence).
        adapter_losses_: (A, n) float, each adapter's cross-entropy (nats) averaged over epochs.
        estimated_noise_rate_: float, from the threshold rule.
        timings_: dict of seconds per phase.
    """

    def __init__(self, config: DetectConfig | None = None, show_progress: bool = False, **settings: object) -> None:
        config = config or DetectConfig()
        unknown = set(settings) - set(asdict(config))
        if unknown:
            raise RactError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        self.config = DetectConfig(**{**asdict(config), **settings})
        self.show_progress = show_progress

    def fit(
        self,
        texts: list[str],
        labels: np.ndarray,
        num_classes: int | None = None,
        backbone: Backbone | None = None,
    ) -> RACT:
        """Train the adapters on (texts, labels) and score every example. Labels: (n,) ints in 0..C-1."""
        cfg = self.config
        cfg.validate()
        labels, num_classes = validate_inputs(list(texts), labels, num_classes)
        precision = resolve_precision(cfg.precision)
        timings: dict[str, float] = {}

        start = time.perf_counter()
        self.backbone_ = backbone if backbone is not None else load_backbone(cfg.model)
        timings["load_model"] = time.perf_counter() - start

        start = time.perf_counter()
        self.tokens_ = tokenize(list(texts), self.backbone_.tokenizer, cfg.max_length)
        timings["tokenize"] = time.perf_counter() - start

        self.adapters_ = [
            LoraClassifier(self.backbone_, int(r), num_classes, cfg.adapted_layers, seed=cfg.seed, dropout=cfg.dropout)
            for r in cfg.ranks
        ]
        start = time.perf_counter()
        self.start_states_ = self._cache_start_states(precision)
        timings["cache_frozen_layers"] = time.perf_counter() - start

        start = time.perf_counter()
        train_config = TrainConfig(
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            precision=precision,
            seed=cfg.seed,
            eval_every_epoch=cfg.eval_every_epoch,
        )
        self.dynamics_ = train_adapters(
            self.adapters_, self.tokens_, labels, train_config, self.start_states_, self.show_progress, "detect"
        )
        timings["train"] = time.perf_counter() - start

        start = time.perf_counter()
        self._score(self.dynamics_, labels)
        timings["score"] = time.perf_counter() - start
        self.timings_ = timings
        self.num_classes_ = num_classes
        self.precision_ = precision
        return self

    def _cache_start_states(self, precision: str) -> StartStates | None:
        first = self.adapters_[0].first_adapted_layer
        if first == 0:
            return None
        states = compute_start_states(
            self.backbone_, self.tokens_, first, precision=precision, memmap_dir=self.config.memmap_dir
        )
        for adapter in self.adapters_:
            adapter.set_layer_output_is_tuple(states.layer_output_is_tuple)
        return states

    def _score(self, dynamics: TrainingDynamics, labels: np.ndarray) -> None:
        logits = dynamics.logits
        self.noise_scores_ = compute_score(self.config.score, logits, labels)
        self.pred_probs_ = class_probabilities(logits)
        self.suggested_labels_ = self.pred_probs_.argmax(1)
        self.learned_transition_ = learned_transition(self.pred_probs_)
        if parse_threshold(self.config.threshold)[0] == "confident":
            self.threshold_: ThresholdResult = confident_learning(labels, all_adapter_probabilities(logits))
        else:
            # Guards against flagging clean data (docs/detection.md, section 2), used by ``auto`` only: no flag on a
            # row the adapter predicts as its given label; for loss scores an even-odds floor and per-row floors
            # from the class-to-class noise the adapter has learned.
            if self.config.score in LOSS_SCORES:
                floor, row_floors = EVEN_ODDS_LOSS, pair_floors(labels, self.pred_probs_, self.learned_transition_)
            else:
                floor, row_floors = None, disagreement_floors(self.suggested_labels_ != labels)
            self.threshold_ = apply_threshold(
                self.noise_scores_,
                self.config.threshold,
                self.config.seed,
                min_noisy_score=floor,
                row_floors=row_floors,
            )
        self.label_issues_ = self.threshold_.flagged
        self.estimated_noise_rate_ = self.threshold_.estimated_noise_rate
        self.label_quality_ = self.pred_probs_[np.arange(len(labels)), labels]
        self.adapter_losses_ = per_example_loss(logits, labels).mean(axis=1)

    def label_issues_table(self, labels: np.ndarray) -> pd.DataFrame:
        """One row per example in input order, with cleanlab's column names plus the adapters' losses."""
        table = pd.DataFrame(
            {
                "is_label_issue": self.label_issues_,
                "label_quality": self.label_quality_,
                "noise_score": self.noise_scores_,
                "given_label": np.asarray(labels, dtype=np.int64),
                "predicted_label": self.suggested_labels_,
            }
        )
        for rank, losses in zip(self.config.ranks, self.adapter_losses_, strict=True):
            table[f"loss_rank_{rank}"] = losses
        return table


def find_label_issues(
    texts: list[str], labels: np.ndarray, num_classes: int | None = None, **settings: object
) -> pd.DataFrame:
    """Find probably-mislabelled examples with RACT; one call, cleanlab-style output.

    Args:
        texts: n strings.
        labels: (n,) integer class ids.
        num_classes: C (default: max label + 1).
        **settings: any :class:`DetectConfig` field (``ranks=(4, 16)``, ``epochs=4``, ``threshold="rate:0.3"``).
    Returns:
        DataFrame with n rows in input order and columns ``is_label_issue``, ``label_quality``, ``noise_score``,
        ``given_label``, ``predicted_label``, ``loss_rank_<r>`` per adapter.
    """
    detector = RACT(**settings).fit(texts, labels, num_classes)
    return detector.label_issues_table(labels)
