"""The peer comparison grid: methods x settings ``dataset:kind:rate`` x seeds, one record per cell.

A *cell* is one method on one noisy draw. For a setting and a seed: the data set's rows (loaded once per data set
by the caller's ``load``, the same rows for every seed), ``kind`` noise at ``rate`` injected with noise seed =
seed (instance noise is driven by the frozen backbone's sentence embeddings), and the detector config with
``seed`` = seed. RACT runs first, then the baselines one after the other on one shared context
(:func:`~ract.detection.baselines.iter_baselines`: tokens, frozen-layer cache and the single-adapter run are
computed once and charged in full to every method that uses them). After every cell ``on_cell(results)`` is
called, so the caller can save; a cell already in ``results`` is skipped (resume). Used by ``ract bench`` and
``benchmarks/peers.py``; rendered by :mod:`ract.reporting.bench_report`.

Results (JSON-serialisable)::

    {"grid": {"settings": [key, ...], "methods": [...], "seeds": [...]},   # everything asked for so far
     "config": {"detector": {DetectConfig without seed}, **meta},
     "settings": {key: {"dataset", "kind", "rate", "num_examples", "num_classes",
                        "runs": {"<seed>": {"realised_noise_rate", "num_noisy", "precision", "cpu",
                                            "methods": {method: CELL}}}}}}

A run's ``precision`` (what ``auto`` resolved to) and ``cpu`` are those of the machine that ran its cells: the
methods of one run are timed on one machine, so their time ratios hold; different runs may come from different
machines. A run is only continued where the precision resolves the same.

CELL: ``precision``, ``recall``, ``f1`` (of the method's own flags), ``f1_at_true_count`` (flag as many as are
truly noisy), ``auroc``, ``auprc`` (fractions in [0, 1], None when undefined), ``num_flagged``, ``wall_seconds``
(stand-alone, backbone loading excluded), ``adapter_passes`` (one adapter, one epoch over all n examples = 1),
``rule``, ``shared_seconds`` (shared pieces included in ``wall_seconds``), ``extra``, ``finished_utc``; or
``error`` (a message) when the method refused the data (retried on resume).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace

import numpy as np

from ract.data import LabelledData, load_data
from ract.detection import DEFAULT_METHODS, METHODS  # noqa: F401 (DEFAULT_METHODS re-exported for callers)
from ract.detection.baselines import DetectorOutput, iter_baselines
from ract.detection.metrics import detection_metrics
from ract.detection.pipeline import RACT, DetectConfig, resolve_precision
from ract.errors import RactError
from ract.models.backbone import Backbone
from ract.noise import NOISE_KINDS, inject_noise
from ract.reporting.outputs import machine_info
from ract.training.features import sentence_embeddings

METRIC_KEYS: tuple[str, ...] = ("precision", "recall", "f1", "f1_at_true_count", "auroc", "auprc")


@dataclass(frozen=True)
class Setting:
    """One noisy-data setting: a data set (preset name, file or label), a noise kind and a rate in [0, 1)."""

    dataset: str
    kind: str
    rate: float

    @property
    def key(self) -> str:
        return f"{self.dataset}:{self.kind}:{self.rate:g}"


def parse_settings(text: str) -> list[Setting]:
    """``"ag_news:symmetric:0.3,trec:asymmetric:0.2"`` -> settings; RactError on a malformed item."""
    settings = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        parts = item.split(":")
        if len(parts) != 3:
            raise RactError(f"setting {item!r}: expected dataset:kind:rate, e.g. ag_news:symmetric:0.3")
        settings.append(make_setting(parts[0], parts[1], parts[2]))
    if not settings:
        raise RactError("give at least one setting dataset:kind:rate")
    return settings


def make_setting(dataset: str, kind: str, rate: str | float) -> Setting:
    """A checked :class:`Setting` (known noise kind, rate a number in [0, 1))."""
    if kind not in NOISE_KINDS:
        raise RactError(f"noise kind {kind!r}: choose one of {', '.join(NOISE_KINDS)}")
    try:
        value = float(rate)
    except ValueError:
        raise RactError(f"noise rate {rate!r}: give a number in [0, 1)") from None
    if not 0.0 <= value < 1.0:
        raise RactError(f"noise rate {rate!r}: give a number in [0, 1)")
    return Setting(dataset, kind, value)


def parse_methods(text: str) -> list[str]:
    """``"small_loss,ract"`` -> ``["ract", "small_loss"]``: checked, duplicates dropped, RACT first."""
    names = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise RactError(f"unknown method(s) {', '.join(map(repr, unknown))}; valid methods: {', '.join(METHODS)}")
    if not names:
        raise RactError(f"give at least one method of: {', '.join(METHODS)}")
    return sorted(names, key=lambda m: m != "ract")  # stable: the others keep the given order


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``."""
    try:
        seeds = list(dict.fromkeys(int(s) for s in text.split(",") if s.strip()))
    except ValueError:
        raise RactError(f"seeds {text!r}: give comma-separated integers, e.g. 0,1,2") from None
    if not seeds:
        raise RactError("give at least one seed")
    return seeds


def load_train_sample(name: str, rows: int | None, data_dir: str | None = None) -> LabelledData:
    """The train split of preset or file ``name``: ``rows`` seeded rows (sample seed 0, so the same rows for
    every run seed), all rows when None. TREC uses its coarse labels and SST-2 its preset (see ract.data)."""
    return load_data(name, split="train", limit=rows, seed=0, data_dir=data_dir)


def start_results(
    previous: dict | None,
    settings: list[Setting],
    methods: list[str],
    seeds: list[int],
    config: DetectConfig,
    meta: dict | None = None,
) -> dict:
    """Fresh results for this grid, or ``previous`` (to resume) with its grid widened by this one.

    ``meta`` (JSON values, e.g. ``{"rows": 2000}``) is stored in ``config``. Resuming needs the same detector
    config (the seed aside) and meta, else the old cells are not comparable: RactError.
    """
    identity = {"detector": {k: v for k, v in asdict(config).items() if k != "seed"}, **(meta or {})}
    identity["detector"]["ranks"] = list(config.ranks)
    if previous is None:
        results: dict = {"grid": {"settings": [], "methods": [], "seeds": []}, "config": identity, "settings": {}}
    else:
        results = {k: v for k, v in previous.items() if k != "provenance"}
        _move_precision_into_runs(results, previous.get("provenance", {}).get("machine", {}).get("cpu"))
        if results.get("config") != identity:
            saved, now = _flat(results.get("config", {})), _flat(identity)
            diff = ", ".join(
                f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}"
                for k in sorted(set(saved) | set(now))
                if saved.get(k) != now.get(k)
            )
            raise RactError(f"cannot resume: the saved results were made with other settings ({diff})")
    grid = results["grid"]
    grid["settings"] = list(dict.fromkeys([*grid["settings"], *(s.key for s in settings)]))
    grid["methods"] = list(dict.fromkeys([*grid["methods"], *methods]))
    grid["seeds"] = list(dict.fromkeys([*grid["seeds"], *seeds]))
    return results


def _move_precision_into_runs(results: dict, cpu: str | None) -> None:
    """Results saved before runs recorded their precision and CPU kept one precision in ``config``: give it (and
    the CPU of the file's last save) to every run."""
    precision = results.get("config", {}).pop("precision", None)
    if precision is None:
        return
    for entry in results.get("settings", {}).values():
        for run in entry.get("runs", {}).values():
            run.setdefault("precision", precision)
            run.setdefault("cpu", cpu)


def _flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def forget_cells(results: dict, settings: list[Setting], seeds: list[int], methods: list[str]) -> int:
    """Drop the saved cells of ``methods`` in these settings and seeds, so that a resumed run computes them again
    (after a change to a method, its old cells are not comparable). Returns the number of cells dropped."""
    dropped = 0
    for setting in settings:
        runs = results["settings"].get(setting.key, {}).get("runs", {})
        for seed in seeds:
            cells = runs.get(str(seed), {}).get("methods", {})
            for method in methods:
                dropped += cells.pop(method, None) is not None
    return dropped


def is_done(results: dict, key: str, seed: int, method: str) -> bool:
    """True when the cell (setting ``key``, ``seed``, ``method``) finished without error."""
    cell = results["settings"].get(key, {}).get("runs", {}).get(str(seed), {}).get("methods", {}).get(method)
    return cell is not None and "error" not in cell


def _cell(is_noisy: np.ndarray, scores: np.ndarray, flagged: np.ndarray, **fields: object) -> dict:
    metrics = detection_metrics(is_noisy, scores, flagged)
    return {
        **{k: metrics[k] for k in METRIC_KEYS},
        "num_flagged": metrics["num_flagged"],
        **fields,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _run_ract(
    texts: list[str], noisy: np.ndarray, is_noisy: np.ndarray, num_classes: int, config: DetectConfig, backbone
) -> dict:
    start = time.perf_counter()
    detector = RACT(config).fit(texts, noisy, num_classes, backbone=backbone)
    seconds = time.perf_counter() - start - detector.timings_["load_model"]
    return _cell(
        is_noisy,
        detector.noise_scores_,
        detector.label_issues_,
        wall_seconds=seconds,
        adapter_passes=float(len(config.ranks) * config.epochs),
        rule=detector.threshold_.rule,
        shared_seconds={},
        extra={"estimated_noise_rate": detector.estimated_noise_rate_, "timings": detector.timings_},
    )


def _baseline_cell(out: DetectorOutput, is_noisy: np.ndarray) -> dict:
    return _cell(
        is_noisy,
        out.scores,
        out.flagged,
        wall_seconds=out.seconds,
        adapter_passes=out.adapter_passes,
        rule=out.rule,
        shared_seconds=out.shared,
        extra=out.extra,
    )


def run_methods(
    methods: list[str],
    texts: list[str],
    noisy: np.ndarray,
    is_noisy: np.ndarray,
    num_classes: int,
    config: DetectConfig,
    backbone: Backbone,
    show_progress: bool = False,
) -> Iterator[tuple[str, dict]]:
    """Run ``methods`` (RACT first) on one noisy draw; yield ``(method, cell)`` as each finishes.

    Args:
        texts: the n texts; noisy: (n,) the labels to train on; is_noisy: (n,) bool ground truth.
    A method that refuses the data (RactError) yields ``{"error": message}`` and the rest still run.
    """
    if "ract" in methods:
        try:
            cell = _run_ract(texts, noisy, is_noisy, num_classes, config, backbone)
        except RactError as err:
            cell = {"error": str(err)}
        yield "ract", cell
    remaining = [m for m in methods if m != "ract"]
    while remaining:
        try:
            for out in iter_baselines(list(remaining), texts, noisy, num_classes, config, backbone, show_progress):
                remaining.remove(out.name)
                yield out.name, _baseline_cell(out, is_noisy)
        except RactError as err:  # the first remaining method failed; the next ones start a new context
            yield remaining.pop(0), {"error": str(err)}


def run_grid(
    results: dict,
    settings: list[Setting],
    seeds: list[int],
    methods: list[str],
    load: Callable[[str], LabelledData],
    config: DetectConfig,
    backbone: Backbone,
    on_cell: Callable[[dict], None] | None = None,
    say: Callable[[str], None] = print,
    show_progress: bool = False,
) -> dict:
    """Run every missing cell of settings x seeds x methods into ``results`` (from :func:`start_results`).

    ``load(dataset)`` gives a data set's rows (called once per data set; its labels are the truth). Calls
    ``on_cell(results)`` after every cell. Returns ``results``.
    """
    methods = sorted(methods, key=lambda m: m != "ract")
    precision, cpu = resolve_precision(config.precision), machine_info()["cpu"]
    loaded: dict[str, LabelledData] = {}
    embeddings: dict[str, np.ndarray] = {}  # (n, hidden) per data set, for instance noise
    for setting in settings:
        for seed in seeds:
            todo = [m for m in methods if not is_done(results, setting.key, seed, m)]
            if not todo:
                continue
            if setting.dataset not in loaded:
                loaded[setting.dataset] = load(setting.dataset)
            data = loaded[setting.dataset]
            if setting.kind == "instance" and setting.dataset not in embeddings:
                embeddings[setting.dataset] = sentence_embeddings(backbone, data.texts, config.max_length, precision)
            features = embeddings.get(setting.dataset)
            noise = inject_noise(data.labels, data.num_classes, setting.kind, setting.rate, seed, features=features)
            entry = results["settings"].setdefault(
                setting.key,
                {**asdict(setting), "num_examples": len(data.texts), "num_classes": data.num_classes, "runs": {}},
            )
            run = entry["runs"].setdefault(str(seed), {"methods": {}})
            if run["methods"] and run.get("precision", precision) != precision:
                raise RactError(
                    f"{setting.key} seed {seed} was started in {run['precision']} and would continue in {precision}: "
                    "its cells would not be comparable; finish it on a machine where precision 'auto' resolves "
                    f"to {run['precision']}, or run all its methods again (--redo)"
                )
            run.update(
                realised_noise_rate=noise.realised_rate,
                num_noisy=int(noise.flip_mask.sum()),
                precision=precision,
                cpu=cpu,
            )
            cells = run_methods(
                todo,
                data.texts,
                noise.noisy_labels,
                noise.flip_mask,
                data.num_classes,
                replace(config, seed=seed),
                backbone,
                show_progress,
            )
            for method, cell in cells:
                run["methods"][method] = cell
                say(f"{setting.key} seed {seed} {method}: {describe(cell)}")
                if on_cell is not None:
                    on_cell(results)
    return results


def describe(cell: dict) -> str:
    """One line for the log."""
    if "error" in cell:
        return f"failed: {cell['error']}"

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return (
        f"F1 {fmt(cell['f1'])} F1@count {fmt(cell['f1_at_true_count'])} AUROC {fmt(cell['auroc'])} "
        f"AUPRC {fmt(cell['auprc'])} in {cell['wall_seconds']:.1f}s"
    )
