"""Peer label-noise detectors behind one interface, for same-backbone, same-budget comparisons with RACT.

Every method that trains reuses ract's engine exactly as :class:`~ract.detection.pipeline.RACT` does: the texts
are tokenized once, the frozen bottom layers run once (:func:`compute_start_states`), and each model is a
:class:`LoraClassifier` of rank ``config.ranks[0]`` trained with the same epochs, learning rate, batch size,
adapted layers and precision. Scores are always "higher = more likely mislabelled"; ``flagged`` follows each
method's own published threshold rule (or ract's ``auto`` mixture rule where the method has none).

Methods (``BASELINES``):

* ``small_loss`` / ``small_loss_final``: one adapter; per-example training loss averaged over epochs / at the
  last epoch. Flags: ``apply_threshold(score, "auto")``.
* ``aum``: Area Under the Margin (Pleiss et al. 2020). Two runs, each with a disjoint random ``n // (C + 1)``
  subset of *threshold samples* relabelled to a fake class C; the threshold of a run is the 99th percentile of
  its threshold samples' AUM. An example's AUM is averaged over the runs where it is not a threshold sample
  (examples in neither subset get both runs); it is flagged when that average sits below the matching
  average threshold. Score = -AUM.
* ``data_map``: Dataset Cartography (Swayamdipta et al. 2020). Confidence = mean over epochs of the
  probability of the given label, variability = its std. Score = -confidence, flags by ``auto``.
* ``cleanlab_cv``: K-fold (stratified, seeded) out-of-sample probabilities from fresh LoRA adapters, then
  ``cleanlab.filter.find_label_issues`` (flags) and ``cleanlab.rank.get_label_quality_scores`` (score =
  1 - quality).
* ``cleanlab_embeddings``: cleanlab's cheap text recipe: frozen mean-pooled embeddings + logistic regression,
  ``cross_val_predict`` on the same folds, then the same cleanlab calls.
* ``coteaching``: Co-teaching (Han et al. 2018). Two adapters (seeds ``seed`` and ``seed + 1``) see the same
  batches; each picks its ``1 - forget_rate(t)`` smallest-loss examples and its peer is updated on them.
  ``forget_rate`` ramps linearly (per step) from 0 to ``tau`` over the first ``ramp_epochs`` epochs. The
  original assumes the noise rate tau is known; we use ``forget_rate=0.3`` unless given. Score = mean loss of
  both networks over epochs, flags by ``auto``.

The dynamics-based methods read the *training-pass* logits (those of each example's own training step, before
that step's update), as the AUM, cartography and small-loss papers do; ``config.eval_every_epoch`` is ignored.

``seconds`` is the wall time of everything the method does (tokenize, cache the frozen layers, train, score),
backbone loading excluded. :func:`run_baselines` does work that several methods need once: the tokens, the cache
of the frozen layers (every trained method) and one single-adapter run (``small_loss``, ``small_loss_final`` and
``data_map``). Each method is charged that shared work in full, so its ``seconds`` is its stand-alone cost, and
``DetectorOutput.shared`` names the shared pieces it used and what each cost.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ract.detection.pipeline import DetectConfig, resolve_precision, validate_inputs
from ract.detection.scores import mean_loss, negative_margin
from ract.detection.threshold import ThresholdResult, apply_threshold, import_cleanlab
from ract.errors import RactError
from ract.models.backbone import Backbone, load_backbone
from ract.models.classifier import LoraClassifier, first_adapted_layer
from ract.training.features import (
    StartStates,
    TokenizedTexts,
    autocast_context,
    compute_start_states,
    length_bucketed_batches,
    sentence_embeddings,
    tokenize,
)
from ract.training.loop import (
    TrainConfig,
    TrainingDynamics,
    make_optimizers,
    per_example_loss,
    predict_logits,
    softmax,
    train_adapters,
)


@dataclass
class DetectorOutput:
    """What one detector produced.

    Attributes:
        name: the method (a key of ``BASELINES``).
        scores: (n,) float64, higher = more likely mislabelled.
        flagged: (n,) bool, decided by the method's own threshold rule.
        rule: how ``flagged`` was decided, one line.
        seconds: stand-alone wall time of the method (tokenize + cache + training + scoring), backbone loading
            excluded; shared work is included in full (see ``shared``).
        extra: method-specific numbers and strings (JSON-serialisable).
        pred_probs: (n, C) out-of-sample class probabilities (the cleanlab methods), else None.
        adapter_passes: training passes of adapters over the data: one adapter trained one epoch on all n
            examples = 1 (forward + backward; inference-only passes are not counted).
        shared: the pieces of work this method used that :func:`run_baselines` does once for all its methods
            (``tokens``, ``start_states``, ``single_adapter``) -> their wall seconds, each included in ``seconds``.
            Methods of one call listing the same piece used the same computation (e.g. one training run).
    """

    name: str
    scores: np.ndarray
    flagged: np.ndarray
    rule: str
    seconds: float
    extra: dict
    pred_probs: np.ndarray | None = field(default=None, repr=False)
    adapter_passes: float = 0.0
    shared: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# Shared work: tokens, cached frozen layers and the single-adapter run are computed once per context.


class _Context:
    """The data and settings of one :func:`run_baselines` call, and the work its methods share.

    :meth:`shared` computes a piece of work once and remembers its wall time. A method that uses a piece an
    earlier method computed is charged that time (``reused_seconds``), so each method's ``seconds`` is its
    stand-alone cost; ``used`` lists every piece the current method used (piece -> seconds). Pieces do not nest
    (a piece's ``compute`` never asks for another piece: it gets its inputs first), so nothing is charged twice.
    """

    def __init__(
        self,
        texts: list[str],
        labels: np.ndarray,
        num_classes: int,
        config: DetectConfig,
        backbone: Backbone,
        show_progress: bool,
    ) -> None:
        self.texts, self.labels, self.num_classes = texts, labels, num_classes
        self.config, self.backbone, self.show_progress = config, backbone, show_progress
        self.precision = resolve_precision(config.precision)
        self._pieces: dict[str, tuple[object, float]] = {}  # key -> (value, wall seconds of computing it)
        self._computing = False
        self.start_method()

    def start_method(self) -> None:
        """Reset the per-method accounting."""
        self.used: dict[str, float] = {}
        self.reused_seconds = 0.0

    def shared(self, key: str, compute: Callable[[], object]) -> object:
        """The value of piece ``key``, computed by ``compute()`` the first time it is asked for."""
        if key not in self._pieces:
            assert not self._computing, f"shared piece {key!r} asked for while computing another"
            self._computing = True
            try:
                start = time.perf_counter()
                self._pieces[key] = (compute(), time.perf_counter() - start)
            finally:
                self._computing = False
        elif key not in self.used:
            self.reused_seconds += self._pieces[key][1]  # computed by an earlier method
        value, seconds = self._pieces[key]
        self.used[key] = seconds
        return value

    def train_config(self) -> TrainConfig:
        cfg = self.config
        return TrainConfig(
            epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, precision=self.precision, seed=cfg.seed
        )

    def engine(self) -> tuple[TokenizedTexts, StartStates | None]:
        """Tokens of every text and the cached output of the frozen layers below the adapted ones (None if none)."""
        tokens = self.shared("tokens", lambda: tokenize(self.texts, self.backbone.tokenizer, self.config.max_length))
        first = first_adapted_layer(self.backbone.num_layers, self.config.adapted_layers)
        if first == 0:
            return tokens, None
        states = self.shared(
            "start_states",
            lambda: compute_start_states(
                self.backbone, tokens, first, precision=self.precision, memmap_dir=self.config.memmap_dir
            ),
        )
        return tokens, states

    def new_model(self, num_classes: int, seed: int, states: StartStates | None) -> LoraClassifier:
        """A fresh LoRA classifier of the lowest configured rank, reading ``states`` (from :meth:`engine`)."""
        cfg = self.config
        model = LoraClassifier(
            self.backbone, int(cfg.ranks[0]), num_classes, cfg.adapted_layers, seed=seed, dropout=cfg.dropout
        )
        if states is not None:
            model.set_layer_output_is_tuple(states.layer_output_is_tuple)
        return model


def _single_adapter_dynamics(ctx: _Context) -> TrainingDynamics:
    """One rank-``ranks[0]`` adapter trained on the given labels (shared by small_loss*, data_map)."""
    tokens, states = ctx.engine()

    def run() -> TrainingDynamics:
        model = ctx.new_model(ctx.num_classes, ctx.config.seed, states)
        return train_adapters([model], tokens, ctx.labels, ctx.train_config(), states, ctx.show_progress, "single")

    return ctx.shared("single_adapter", run)


def _auto_flags(scores: np.ndarray, seed: int) -> tuple[np.ndarray, dict]:
    result = apply_threshold(scores, "auto", seed)
    return result.flagged, {"threshold": result.threshold, "estimated_noise_rate": result.estimated_noise_rate}


# ---------------------------------------------------------------------------------------------------------------
# Small loss


def _small_loss(ctx: _Context) -> DetectorOutput:
    losses = per_example_loss(_single_adapter_dynamics(ctx).train_logits[0], ctx.labels)  # (E, n)
    scores = losses.mean(axis=0).astype(np.float64)
    flagged, extra = _auto_flags(scores, ctx.config.seed)
    rule = "auto mixture on mean training loss"
    return DetectorOutput("small_loss", scores, flagged, rule, 0.0, extra, adapter_passes=ctx.config.epochs)


def _small_loss_final(ctx: _Context) -> DetectorOutput:
    losses = per_example_loss(_single_adapter_dynamics(ctx).train_logits[0], ctx.labels)
    scores = losses[-1].astype(np.float64)
    flagged, extra = _auto_flags(scores, ctx.config.seed)
    rule = "auto mixture on final-epoch loss"
    return DetectorOutput("small_loss_final", scores, flagged, rule, 0.0, extra, adapter_passes=ctx.config.epochs)


# ---------------------------------------------------------------------------------------------------------------
# Area under the margin


def threshold_sample_groups(n: int, num_classes: int, seed: int, runs: int = 2) -> np.ndarray:
    """(n,) int: ``r`` if the example is a threshold sample in run ``r``, -1 if in none.

    Each run gets a disjoint random subset of ``n // (num_classes + 1)`` examples (at least one).
    """
    size = max(1, n // (num_classes + 1))
    if size * runs > n:
        raise RactError(f"AUM needs {runs} disjoint threshold subsets of {size} examples but there are only {n}")
    groups = np.full(n, -1, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(n)
    for r in range(runs):
        groups[order[r * size : (r + 1) * size]] = r
    return groups


def aum_threshold(threshold_sample_aum: np.ndarray, percentile: float = 99.0) -> float:
    """The AUM threshold: the ``percentile``-th percentile of the threshold samples' AUM (Pleiss et al.: 99)."""
    values = np.asarray(threshold_sample_aum, dtype=np.float64)
    if values.size == 0:
        raise RactError("AUM threshold: no threshold samples")
    return float(np.percentile(values, percentile))


def combine_aum_runs(aum: np.ndarray, thresholds: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-example AUM and flags from several threshold-sample runs.

    Args:
        aum: (R, n) AUM of every example in every run.
        thresholds: (R,) each run's threshold (:func:`aum_threshold`).
        eligible: (R, n) bool, True where the example is *not* a threshold sample of that run.
    Returns:
        (n,) AUM averaged over the eligible runs, and (n,) bool flags: that average lies below the average of the
        same runs' thresholds (with one eligible run: AUM < that run's threshold).
    """
    aum, eligible = np.asarray(aum, dtype=np.float64), np.asarray(eligible, dtype=bool)
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1, 1)
    counts = eligible.sum(axis=0)
    if (counts == 0).any():
        raise RactError("AUM: some examples are threshold samples in every run")
    mean_aum = (aum * eligible).sum(axis=0) / counts
    mean_threshold = (thresholds * eligible).sum(axis=0) / counts
    return mean_aum, mean_aum < mean_threshold


def _aum(ctx: _Context, percentile: float = 99.0) -> DetectorOutput:
    n, c = len(ctx.labels), ctx.num_classes
    groups = threshold_sample_groups(n, c, ctx.config.seed, runs=2)
    aums, thresholds = np.zeros((2, n)), np.zeros(2)
    tokens, states = ctx.engine()
    for r in range(2):
        run_labels = np.where(groups == r, c, ctx.labels)  # threshold samples -> the fake class C
        model = ctx.new_model(c + 1, ctx.config.seed, states)
        dyn = train_adapters([model], tokens, run_labels, ctx.train_config(), states, ctx.show_progress, f"aum {r}")
        aums[r] = -negative_margin(dyn.train_logits, run_labels)  # margin over all C + 1 logits, mean over epochs
        thresholds[r] = aum_threshold(aums[r, groups == r], percentile)
    aum, flagged = combine_aum_runs(aums, thresholds, groups[None, :] != np.arange(2)[:, None])
    extra = {
        "runs": 2,
        "percentile": float(percentile),
        "threshold_run_0": float(thresholds[0]),
        "threshold_run_1": float(thresholds[1]),
        "threshold_samples_per_run": int((groups == 0).sum()),
        "examples_in_neither_subset": int((groups < 0).sum()),
    }
    rule = f"AUM below the {percentile:g}th percentile of fake-class threshold samples' AUM (2 runs)"
    return DetectorOutput("aum", -aum, flagged, rule, 0.0, extra, adapter_passes=2 * ctx.config.epochs)


# ---------------------------------------------------------------------------------------------------------------
# Dataset cartography


def data_map_coordinates(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cartography coordinates from (E, n, C) logits: confidence (mean over epochs of p(given label)) and
    variability (its population std over epochs), both (n,)."""
    probs = softmax(np.asarray(logits, dtype=np.float64))
    given = np.take_along_axis(probs, np.asarray(labels).reshape(1, -1, 1), -1)[..., 0]  # (E, n)
    return given.mean(axis=0), given.std(axis=0)


def _data_map(ctx: _Context) -> DetectorOutput:
    confidence, variability = data_map_coordinates(_single_adapter_dynamics(ctx).train_logits[0], ctx.labels)
    scores = -confidence
    flagged, extra = _auto_flags(scores, ctx.config.seed)
    extra.update(
        mean_confidence=float(confidence.mean()),
        mean_variability_flagged=float(variability[flagged].mean()) if flagged.any() else None,
        mean_variability_kept=float(variability[~flagged].mean()) if (~flagged).any() else None,
    )
    rule = "auto mixture on -confidence"
    return DetectorOutput("data_map", scores, flagged, rule, 0.0, extra, adapter_passes=ctx.config.epochs)


# ---------------------------------------------------------------------------------------------------------------
# cleanlab


def stratified_folds(labels: np.ndarray, k: int = 5, seed: int = 0) -> np.ndarray:
    """(n,) fold id in 0..k'-1 of every example, stratified by label and seeded.

    ``k' = min(k, size of the smallest class)`` so every fold can hold every class; at least 2.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    k = min(int(k), int(np.unique(labels, return_counts=True)[1].min()))
    if k < 2:
        raise RactError("cross-validation needs at least 2 examples of every class")
    folds = np.zeros(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, held) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        folds[held] = f
    return folds


def out_of_fold_pred_probs(
    folds: np.ndarray, num_classes: int, fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """(n, C) probabilities where row i comes from ``fit_predict(train_idx, held_idx)`` with i in ``held_idx``
    and never in ``train_idx``: every example is predicted exactly once, out of fold."""
    folds = np.asarray(folds)
    out = np.full((len(folds), num_classes), np.nan)
    for f in np.unique(folds):
        held, train = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
        out[held] = fit_predict(train, held)
    return out


def _cleanlab_output(
    name: str, labels: np.ndarray, pred_probs: np.ndarray, extra: dict, find_issues: Callable, quality: Callable
) -> DetectorOutput:
    flagged = np.asarray(find_issues(labels, pred_probs, n_jobs=1), dtype=bool)
    scores = 1.0 - np.asarray(quality(labels, pred_probs), dtype=np.float64)
    rule = "cleanlab.filter.find_label_issues (confident learning, prune_by_noise_rate) on out-of-fold pred_probs"
    return DetectorOutput(name, scores, flagged, rule, 0.0, extra, pred_probs)


def _cleanlab_cv(ctx: _Context, folds: int = 5) -> DetectorOutput:
    find_issues, quality = import_cleanlab()
    fold_ids = stratified_folds(ctx.labels, folds, ctx.config.seed)
    tokens, states = ctx.engine()

    def fit_predict(train: np.ndarray, held: np.ndarray) -> np.ndarray:
        model = ctx.new_model(ctx.num_classes, ctx.config.seed, states)
        train_states = states.subset(train) if states is not None else None
        held_states = states.subset(held) if states is not None else None
        train_adapters(
            [model], tokens.subset(train), ctx.labels[train], ctx.train_config(), train_states, ctx.show_progress, "cv"
        )
        return softmax(predict_logits(model, tokens.subset(held), held_states, ctx.precision).astype(np.float64))

    pred_probs = out_of_fold_pred_probs(fold_ids, ctx.num_classes, fit_predict)
    k = int(fold_ids.max()) + 1
    extra = {"folds": k, "model": f"LoRA rank {ctx.config.ranks[0]}"}
    out = _cleanlab_output("cleanlab_cv", ctx.labels, pred_probs, extra, find_issues, quality)
    out.adapter_passes = ctx.config.epochs * float((fold_ids[None, :] != np.arange(k)[:, None]).sum()) / len(fold_ids)
    return out


def _cleanlab_embeddings(ctx: _Context, folds: int = 5) -> DetectorOutput:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    find_issues, quality = import_cleanlab()
    fold_ids = stratified_folds(ctx.labels, folds, ctx.config.seed)
    splits = [(np.flatnonzero(fold_ids != f), np.flatnonzero(fold_ids == f)) for f in np.unique(fold_ids)]
    embeddings = sentence_embeddings(ctx.backbone, ctx.texts, ctx.config.max_length, precision=ctx.precision)
    probs = cross_val_predict(
        LogisticRegression(max_iter=1000), embeddings, ctx.labels, cv=splits, method="predict_proba"
    )
    pred_probs = np.zeros((len(ctx.labels), ctx.num_classes))
    pred_probs[:, np.unique(ctx.labels)] = probs  # columns of classes without examples stay 0
    extra = {"folds": len(splits), "model": "LogisticRegression(max_iter=1000) on frozen mean-pooled embeddings"}
    return _cleanlab_output("cleanlab_embeddings", ctx.labels, pred_probs, extra, find_issues, quality)


# ---------------------------------------------------------------------------------------------------------------
# Co-teaching


def train_coteaching(
    models: list[LoraClassifier],
    tokens: TokenizedTexts,
    labels: np.ndarray,
    config: TrainConfig,
    start_states: StartStates | None = None,
    forget_rate: float = 0.3,
    ramp_epochs: float = 1.0,
    show_progress: bool = False,
) -> TrainingDynamics:
    """Co-teaching (Han et al. 2018) of two models on the same batches, recording their training-pass logits.

    Per step each model computes every example's loss; each keeps the ``1 - r(t)`` fraction with the smallest
    loss and its PEER takes its gradient step on those examples only. ``r(t)`` rises linearly per step from 0
    to ``forget_rate`` over the first ``ramp_epochs`` epochs, then stays. Optimiser and learning-rate schedule
    as in :func:`~ract.training.loop.train_adapters` (AdamW, linear warm-up and decay).
    """
    if len(models) != 2:
        raise RactError("co-teaching trains exactly two models")
    if not 0.0 <= forget_rate < 1.0:
        raise RactError(f"co-teaching forget_rate {forget_rate}: must be in [0, 1)")
    n, epochs, num_classes = len(tokens), config.epochs, models[0].num_classes
    targets = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    rng = np.random.default_rng(config.seed)
    steps_per_epoch = math.ceil(n / config.batch_size)
    optimizers, schedulers = make_optimizers(models, config, steps_per_epoch * epochs)
    ramp_steps = max(1, round(ramp_epochs * steps_per_epoch))
    dynamics = TrainingDynamics(
        train_logits=np.zeros((2, epochs, n, num_classes), dtype=np.float32),
        labels=np.asarray(labels, dtype=np.int64),
    )
    step = 0
    for epoch in range(epochs):
        start = time.perf_counter()
        for model in models:
            model.train()
        bar = tqdm(total=n, desc=f"co-teaching epoch {epoch + 1}/{epochs}", unit="ex", disable=not show_progress)
        for idx in length_bucketed_batches(tokens.lengths, config.batch_size, rng):
            input_ids, mask = tokens.batch(idx)
            states = start_states.batch(idx) if start_states is not None else None
            target = targets[idx]
            logits = []
            for model in models:
                with autocast_context(config.precision):
                    logits.append(model(input_ids, mask, states).float())
            losses = [F.cross_entropy(lg, target, reduction="none") for lg in logits]
            rate = forget_rate * min(1.0, step / ramp_steps)
            keep = max(1, int((1.0 - rate) * len(idx)))
            small_loss = [torch.argsort(loss.detach())[:keep] for loss in losses]
            for a, (opt, sched) in enumerate(zip(optimizers, schedulers, strict=True)):
                loss = losses[a][small_loss[1 - a]].mean()  # updated on the examples its peer selected
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                dynamics.train_logits[a, epoch, idx] = logits[a].detach().numpy()
            step += 1
            bar.update(len(idx))
        bar.close()
        dynamics.seconds_per_epoch.append(time.perf_counter() - start)
    for model in models:
        model.eval()
    return dynamics


def _coteaching(ctx: _Context, forget_rate: float = 0.3, ramp_epochs: float = 1.0) -> DetectorOutput:
    tokens, states = ctx.engine()
    models = [ctx.new_model(ctx.num_classes, ctx.config.seed + s, states) for s in (0, 1)]
    dyn = train_coteaching(
        models, tokens, ctx.labels, ctx.train_config(), states, forget_rate, ramp_epochs, ctx.show_progress
    )
    scores = mean_loss(dyn.train_logits, ctx.labels).astype(np.float64)
    flagged, extra = _auto_flags(scores, ctx.config.seed)
    extra.update(forget_rate=float(forget_rate), ramp_epochs=float(ramp_epochs), forget_rate_assumed_known=True)
    rule = "auto mixture on mean loss of both co-taught nets"
    return DetectorOutput("coteaching", scores, flagged, rule, 0.0, extra, adapter_passes=2 * ctx.config.epochs)


# ---------------------------------------------------------------------------------------------------------------
# Entry points

BASELINES: dict[str, Callable[..., DetectorOutput]] = {
    "small_loss": _small_loss,
    "small_loss_final": _small_loss_final,
    "aum": _aum,
    "data_map": _data_map,
    "cleanlab_cv": _cleanlab_cv,
    "cleanlab_embeddings": _cleanlab_embeddings,
    "coteaching": _coteaching,
}


def _check_names_and_options(names: list[str], options: dict[str, dict]) -> None:
    for name in names:
        if name not in BASELINES:
            raise RactError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
    for name, opts in options.items():
        if name not in BASELINES:
            raise RactError(f"options for unknown baseline {name!r}")
        allowed = [p for p in inspect.signature(BASELINES[name]).parameters if p != "ctx"]
        unknown = set(opts) - set(allowed)
        if unknown:
            raise RactError(
                f"baseline {name!r}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"it accepts {', '.join(allowed) or 'none'}"
            )


def iter_baselines(
    names: list[str],
    texts: list[str],
    labels: np.ndarray,
    num_classes: int,
    config: DetectConfig,
    backbone: Backbone,
    show_progress: bool = False,
    options: dict[str, dict] | None = None,
) -> Iterator[DetectorOutput]:
    """Run several baselines on the same data one after the other, yielding each output as soon as it is done.

    Arguments as in :func:`run_baselines`; they are checked before anything runs. Work shared between the
    methods is done once (see :class:`DetectorOutput` ``seconds`` and ``shared``). The caller's time between
    two outputs is not charged to any method.
    """
    names, options = list(names), options or {}
    _check_names_and_options(names, options)
    config.validate()
    labels, num_classes = validate_inputs(list(texts), labels, num_classes)
    ctx = _Context(list(texts), labels, num_classes, config, backbone, show_progress)

    def outputs() -> Iterator[DetectorOutput]:
        for name in names:
            ctx.start_method()
            start = time.perf_counter()
            out = BASELINES[name](ctx, **options.get(name, {}))
            out.seconds = time.perf_counter() - start + ctx.reused_seconds
            out.shared = dict(ctx.used)
            out.scores = np.asarray(out.scores, dtype=np.float64)
            out.flagged = np.asarray(out.flagged, dtype=bool)
            yield out

    return outputs()


def run_baselines(
    names: list[str],
    texts: list[str],
    labels: np.ndarray,
    num_classes: int,
    config: DetectConfig,
    backbone: Backbone,
    show_progress: bool = False,
    options: dict[str, dict] | None = None,
) -> dict[str, DetectorOutput]:
    """Run several baselines on the same data, sharing tokenization, the frozen-layer cache and the
    single-adapter run; each ``seconds`` still includes the shared work it used (stand-alone cost).

    ``options`` maps a baseline name to its keyword options, e.g. ``{"coteaching": {"forget_rate": 0.2}}``
    (aum: ``percentile``; cleanlab_*: ``folds``; coteaching: ``forget_rate``, ``ramp_epochs``).
    """
    outputs = iter_baselines(names, texts, labels, num_classes, config, backbone, show_progress, options)
    return {out.name: out for out in outputs}


def run_baseline(
    name: str,
    texts: list[str],
    labels: np.ndarray,
    num_classes: int,
    config: DetectConfig,
    backbone: Backbone,
    show_progress: bool = False,
    **options: object,
) -> DetectorOutput:
    """Run one baseline (a key of ``BASELINES``) with its own threshold rule; ``options`` as in
    :func:`run_baselines`, e.g. ``run_baseline("coteaching", ..., forget_rate=0.2)``."""
    if name not in BASELINES:
        raise RactError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
    opts = {name: dict(options)} if options else None
    return run_baselines([name], texts, labels, num_classes, config, backbone, show_progress, opts)[name]


class BaselineDetector:
    """A peer method behind the same estimator interface as :class:`~ract.detection.pipeline.RACT`.

    ``fit`` runs the baseline; the learned attributes carry the same names as RACT's, so ``ract detect
    --method NAME`` writes the same files for every method. Methods without class probabilities suggest the
    given label and leave ``label_quality_`` as NaN.
    """

    def __init__(self, method: str, config: DetectConfig, show_progress: bool = False) -> None:
        if method not in BASELINES:
            raise RactError(f"unknown method {method!r}; choose ract or one of {', '.join(BASELINES)}")
        self.method = method
        self.config = config
        self.show_progress = show_progress

    def fit(
        self, texts: list[str], labels: np.ndarray, num_classes: int, backbone: Backbone | None = None
    ) -> BaselineDetector:
        start = time.perf_counter()
        backbone = backbone if backbone is not None else load_backbone(self.config.model)
        load_seconds = time.perf_counter() - start
        labels = np.asarray(labels, dtype=np.int64)
        out = run_baseline(self.method, texts, labels, num_classes, self.config, backbone, self.show_progress)
        n = len(labels)
        self.output_ = out
        self.noise_scores_ = out.scores
        self.label_issues_ = out.flagged
        self.estimated_noise_rate_ = float(out.flagged.mean())
        self.threshold_ = ThresholdResult(out.flagged, float("nan"), self.estimated_noise_rate_, out.rule)
        if out.pred_probs is not None:
            self.suggested_labels_ = out.pred_probs.argmax(1)
            self.label_quality_ = out.pred_probs[np.arange(n), labels]
        else:
            self.suggested_labels_ = labels.copy()
            self.label_quality_ = np.full(n, np.nan)
        self.timings_ = {"load_model": load_seconds, "train": out.seconds}
        self.dynamics_ = None
        self.precision_ = resolve_precision(self.config.precision)
        self.num_classes_ = num_classes
        return self

    def label_issues_table(self, labels: np.ndarray) -> pd.DataFrame:
        """Same columns as RACT's table, without per-adapter losses."""
        return pd.DataFrame(
            {
                "is_label_issue": self.label_issues_,
                "label_quality": self.label_quality_,
                "noise_score": self.noise_scores_,
                "given_label": np.asarray(labels, dtype=np.int64),
                "predicted_label": self.suggested_labels_,
            }
        )
