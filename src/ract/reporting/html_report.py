"""One self-contained HTML page about a detection run: ``OUTPUT_DIR/report.html``.

Reads the files ``ract detect`` leaves in its output folder (see :mod:`ract.reporting.outputs`):

- ``summary.json`` (required): data, settings, timings, counts and, with ground truth, detection metrics;
- ``scores.csv`` (required): one row per example, most suspicious first;
- ``dynamics.npz`` (optional): per-epoch logits ``(A, E, n, C)`` in input order. Without it the loss-curve and
  data-map sections are left out and the page says why.

Input order of the examples is ``scores.csv`` sorted by its ``index`` column ascending (row ids are kept in file
order), so row ``i`` of that ordering is example ``i`` of ``dynamics.npz``.

The page makes no network request: plots are base64 PNGs, CSS and JS are inline, and a Content-Security-Policy
allows only the page's own script (by hash) and ``data:`` images. Every string from the data or the summary is
HTML-escaped, and label names are escaped for matplotlib's mathtext too (a ``$`` in a label stays a ``$``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ract.atomic import write_text_atomic
from ract.errors import RactError
from ract.reporting.outputs import DYNAMICS_FILE, SCORES_FILE, SUMMARY_FILE

REPORT_FILE = "report.html"
DPI = 90
MAX_MAP_POINTS = 3000
MAX_TEXT_CHARS = 500
MAX_ANNOTATED_CLASSES = 25
REQUIRED_COLUMNS = ("index", "text", "is_label_issue", "label_quality", "noise_score", "given_label", "predicted_label")
TEXT_COLUMNS = ("text", "given_label", "predicted_label", "true_label")
SCORE_UNITS = {"margin": "logit units"}  # every other score is a cross-entropy (difference) in nats
FLAG_COLOURS = {"kept": "#4c72b0", "flagged": "#dd8452"}
TRUTH_COLOURS = {"clean": "#55a868", "noisy": "#c44e52"}


# ----------------------------------------------------------------------------------------------- loading


@dataclass
class Dynamics:
    """Recorded training dynamics of one run.

    Attributes:
        logits: ``(A, E, n, C)`` float32, adapters lowest rank first, examples in input order.
        labels: ``(n,)`` int64 given labels (class ids).
        ranks: ``(A,)`` int LoRA rank of each adapter.
    """

    logits: np.ndarray
    labels: np.ndarray
    ranks: np.ndarray


@dataclass
class Run:
    """Everything the report shows.

    Attributes:
        folder: the output folder.
        summary: parsed ``summary.json``.
        scores: ``scores.csv``, ``n`` rows sorted by noise score descending.
        order: ``(n,)`` positions into ``scores`` that give input order (``scores.iloc[order]`` = example 0..n-1).
        dynamics: the dynamics, or None when ``dynamics.npz`` is missing.
        dynamics_note: why the dynamics sections are missing, or None.
    """

    folder: Path
    summary: dict
    scores: pd.DataFrame
    order: np.ndarray
    dynamics: Dynamics | None
    dynamics_note: str | None

    @property
    def ground_truth(self) -> bool:
        """True when ``scores.csv`` has ``is_noisy`` (ground truth was known)."""
        return "is_noisy" in self.scores.columns

    @property
    def label_names(self) -> list[str]:
        """Class names by class id, from the summary (as strings)."""
        return [str(name) for name in (self.summary.get("data") or {}).get("label_names") or []]


def _run_hint(folder: Path) -> str:
    return f"run `ract detect DATA --output-dir {folder}` first"


def load_summary(folder: Path) -> dict:
    """Parse ``folder/summary.json``; RactError naming the file when it is missing or not a JSON object."""
    path = folder / SUMMARY_FILE
    if not path.is_file():
        raise RactError(f"no {SUMMARY_FILE} in {folder}: {_run_hint(folder)}")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RactError(f"{path} is not valid JSON ({err}); {_run_hint(folder)} again") from None
    if not isinstance(summary, dict):
        raise RactError(f"{path} should hold a JSON object, found {type(summary).__name__}")
    return summary


def load_scores(folder: Path) -> pd.DataFrame:
    """Read ``folder/scores.csv`` with text columns kept as strings, sorted by noise score descending.

    Returns:
        ``(n, k)`` frame; ``is_label_issue`` (and ``is_noisy``) as bool, scores as float.
    """
    path = folder / SCORES_FILE
    if not path.is_file():
        raise RactError(f"no {SCORES_FILE} in {folder}: {_run_hint(folder)}")
    try:
        header = pd.read_csv(path, nrows=0).columns
        dtypes = {col: str for col in TEXT_COLUMNS if col in header}
        table = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values={"noise_score": [""]})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise RactError(f"cannot read {path}: {err}") from None
    missing = [col for col in REQUIRED_COLUMNS if col not in table.columns]
    if missing:
        raise RactError(f"{path} lacks the column(s) {', '.join(missing)}; {_run_hint(folder)} again")
    if table.empty:
        raise RactError(f"{path} has no rows")
    try:
        for col in ("index", "noise_score", "label_quality"):
            table[col] = pd.to_numeric(table[col])
        for col in ("is_label_issue", "is_noisy"):
            if col in table.columns:
                table[col] = _as_bool(table[col])
    except (ValueError, TypeError) as err:
        raise RactError(f"{path}: bad value in a numeric or true/false column ({err})") from None
    return table.sort_values("noise_score", ascending=False, kind="stable").reset_index(drop=True)


def _as_bool(column: pd.Series) -> pd.Series:
    """A True/False column read from CSV -> bool; ValueError on anything else."""
    if column.dtype == bool:
        return column
    words = column.astype(str).str.strip().str.lower()
    known = {"true": True, "false": False, "1": True, "0": False}
    if not words.isin(list(known)).all():
        raise ValueError(f"column {column.name!r} holds values other than True/False")
    return words.map(known).astype(bool)


def input_order(scores: pd.DataFrame, folder: Path) -> np.ndarray:
    """``(n,)`` positions into ``scores`` in input order (row ids ascending); RactError if ids repeat."""
    ids = scores["index"].to_numpy()
    order = np.argsort(ids, kind="stable")
    if np.any(np.diff(ids[order]) <= 0):
        raise RactError(f"{folder / SCORES_FILE}: the `index` column repeats row ids; cannot restore input order")
    return order


def load_dynamics(folder: Path, run_labels: np.ndarray, num_classes: int) -> tuple[Dynamics | None, str | None]:
    """Read ``folder/dynamics.npz`` and check it belongs to the same run as ``scores.csv``.

    Args:
        folder: the output folder.
        run_labels: ``(n,)`` given class ids from ``scores.csv`` in input order (-1 where the name is unknown).
        num_classes: C from the summary.

    Returns:
        ``(dynamics, None)``, or ``(None, note)`` when the file is missing. RactError when it is invalid.
    """
    path = folder / DYNAMICS_FILE
    if not path.is_file():
        note = (
            f"no {DYNAMICS_FILE} in {folder} (written by newer versions of `ract detect`), "
            "so the loss curves and the data map are left out."
        )
        return None, note
    try:
        with np.load(path, allow_pickle=False) as npz:
            logits = np.asarray(npz["logits"], dtype=np.float32)
            labels = np.asarray(npz["labels"], dtype=np.int64)
            ranks = np.asarray(npz["ranks"]).astype(np.int64).reshape(-1)
    except (OSError, ValueError, KeyError) as err:
        raise RactError(f"cannot read {path}: {err}") from None
    n = len(run_labels)
    expected = f"(A, E, {n}, {num_classes}) logits and ({n},) labels"
    shapes_ok = logits.ndim == 4 and logits.shape[2:] == (n, num_classes) and len(ranks) == len(logits)
    if not shapes_ok or labels.shape != (n,) or logits.shape[1] == 0:
        raise RactError(
            f"{path} holds {logits.shape} logits, {labels.shape} labels, {ranks.shape} ranks; "
            f"expected {expected}: is it from another run?"
        )
    if not np.array_equal(labels, run_labels):
        raise RactError(f"{path}: its labels differ from the given labels in {SCORES_FILE}: is it from another run?")
    return Dynamics(logits=logits, labels=labels, ranks=ranks), None


def load_run(folder: Path) -> Run:
    """Read and cross-check the three files of an output folder."""
    if not folder.is_dir():
        raise RactError(f"no such folder {folder}: {_run_hint(folder)}")
    summary = load_summary(folder)
    scores = load_scores(folder)
    order = input_order(scores, folder)
    names = [str(name) for name in (summary.get("data") or {}).get("label_names") or []]
    given_ids = class_ids(scores["given_label"].to_numpy()[order], names)
    dynamics, note = load_dynamics(folder, given_ids, len(names))
    return Run(folder=folder, summary=summary, scores=scores, order=order, dynamics=dynamics, dynamics_note=note)


def class_ids(values: np.ndarray, names: list[str]) -> np.ndarray:
    """``(n,)`` int64 class id of each label name in ``values``; -1 for names not in ``names``."""
    lookup = {name: i for i, name in enumerate(names)}
    return np.asarray([lookup.get(str(v), -1) for v in values], dtype=np.int64)


# ----------------------------------------------------------------------------------------------- numbers


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of the given label. logits: ``(..., n, C)``; labels: ``(n,)``. Returns ``(..., n)`` nats."""
    shifted = logits - logits.max(-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(-1))
    picked = np.take_along_axis(shifted, labels.reshape((1,) * (logits.ndim - 2) + (-1, 1)), -1)[..., 0]
    return log_norm - picked


def given_label_probability(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax probability of the given label. logits: ``(E, n, C)``. Returns ``(E, n)`` in 0..1."""
    return np.exp(-cross_entropy(logits, labels))


def data_map_coordinates(dynamics: Dynamics) -> tuple[np.ndarray, np.ndarray]:
    """Swayamdipta et al. (2020) data map of the lowest-rank adapter.

    Returns:
        ``(confidence, variability)``, each ``(n,)``: mean and (population) std over epochs of the probability of
        the given label.
    """
    probs = given_label_probability(dynamics.logits[0], dynamics.labels)
    return probs.mean(axis=0), probs.std(axis=0)


def _fmt(value: object, spec: str = ".3f") -> str:
    """Format a number from the summary; 'n/a' for missing or non-numeric values."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format(value, spec) if math.isfinite(value) else "n/a"


def _mpl(text: str) -> str:
    """``text`` safe for matplotlib: ``$`` would start mathtext."""
    return str(text).replace("$", r"\$")


# ----------------------------------------------------------------------------------------------- plots


def _new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, outside pyplot: no global backend switch and nothing to close."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at ``DPI`` dots per inch (no metadata)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    fig.clear()
    return buffer.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _histogram_panel(ax, scores: np.ndarray, groups: dict[str, np.ndarray], colours: dict, bins, title: str) -> None:
    """Overlaid histograms of ``scores`` (n,) per boolean mask in ``groups``."""
    for (name, mask), colour in zip(groups.items(), colours.values(), strict=True):
        ax.hist(scores[mask], bins=bins, color=colour, alpha=0.6, label=f"{name} (n={int(mask.sum())})")
    ax.set_title(title)
    ax.set_ylabel("examples")
    ax.legend()


def plot_score_histograms(
    scores: np.ndarray, flagged: np.ndarray, is_noisy: np.ndarray | None, threshold: float | None, unit: str
) -> bytes:
    """Histogram of noise scores ``(n,)`` split by flag, and by ground truth when ``is_noisy`` ``(n,)`` is given."""
    finite = np.isfinite(scores)
    scores, flagged = scores[finite], flagged[finite]
    panels = 1 if is_noisy is None else 2
    fig = _new_figure(7.5, 2.9 * panels)
    axes = fig.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    bins = np.histogram_bin_edges(scores, bins=60)
    groups = {"kept": ~flagged, "flagged": flagged}
    _histogram_panel(axes[0], scores, groups, FLAG_COLOURS, bins, "Noise score by detector decision")
    if is_noisy is not None:
        noisy = is_noisy[finite]
        truth = {"clean (given = true label)": ~noisy, "noisy (given != true label)": noisy}
        _histogram_panel(axes[1], scores, truth, TRUTH_COLOURS, bins, "Noise score by ground truth")
    if threshold is not None and math.isfinite(threshold):
        for ax in axes:
            ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
        axes[0].text(threshold, axes[0].get_ylim()[1] * 0.95, " threshold", va="top", fontsize=8)
    axes[-1].set_xlabel(f"noise score ({unit})")
    return figure_png(fig)


def label_matrix(given: np.ndarray, suggested: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Counts of (given, suggested) label-name pairs.

    Returns:
        ``(K, K)`` int counts (rows given, columns suggested) and the K names: ``names`` then any unknown names.
    """
    extra = sorted({str(v) for v in np.concatenate([given, suggested])} - set(names))
    all_names = list(names) + extra
    lookup = {name: i for i, name in enumerate(all_names)}
    counts = np.zeros((len(all_names), len(all_names)), dtype=np.int64)
    for g, s in zip(given, suggested, strict=True):
        counts[lookup[str(g)], lookup[str(s)]] += 1
    return counts, all_names


def plot_label_matrix(counts: np.ndarray, names: list[str]) -> bytes:
    """Heatmap of the ``(K, K)`` given x suggested counts of the flagged rows, counts written in the cells."""
    k = len(names)
    side = min(max(4.2, 0.45 * k + 2.0), 14.0)
    fig = _new_figure(side + 1.0, side)
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", aspect="auto")
    fig.colorbar(image, ax=ax, label="flagged examples")
    labels = [_mpl(name) for name in names]
    fontsize = 9 if k <= 12 else 6
    ax.set_xticks(range(k), labels, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center", fontsize=fontsize)
    ax.set_yticks(range(k), labels, fontsize=fontsize)
    ax.set_xlabel("suggested label")
    ax.set_ylabel("given label")
    ax.set_title(f"Flagged examples (n={int(counts.sum())}):\ngiven vs suggested label")
    if k <= MAX_ANNOTATED_CLASSES:
        _annotate_counts(ax, counts)
    return figure_png(fig)


def _annotate_counts(ax, counts: np.ndarray) -> None:
    """Write each count in its cell, white on dark cells."""
    top = max(int(counts.max()), 1)
    for (row, col), value in np.ndenumerate(counts):
        colour = "white" if value > top / 2 else "black"
        ax.text(col, row, str(value), ha="center", va="center", color=colour, fontsize=8)


def plot_loss_curves(losses: np.ndarray, ranks: np.ndarray, is_noisy: np.ndarray | None) -> bytes:
    """Mean cross-entropy per epoch of each adapter.

    Args:
        losses: ``(A, E, n)`` per-example cross-entropy of the given label, nats.
        ranks: ``(A,)`` adapter ranks.
        is_noisy: ``(n,)`` bool ground truth in input order, or None (then one curve per adapter).
    """
    fig = _new_figure(7.0, 3.8)
    ax = fig.subplots()
    epochs = np.arange(1, losses.shape[1] + 1)
    groups = {"all examples": None} if is_noisy is None else {"clean": ~is_noisy, "noisy": is_noisy}
    styles = {"all examples": "-", "clean": "-", "noisy": "--"}
    colours = [f"C{i}" for i in range(len(ranks))]
    for rank, per_epoch, colour in zip(ranks, losses, colours, strict=True):
        for name, mask in groups.items():
            if mask is not None and not mask.any():
                continue
            curve = per_epoch.mean(axis=1) if mask is None else per_epoch[:, mask].mean(axis=1)
            ax.plot(epochs, curve, styles[name], color=colour, marker="o", label=f"rank {int(rank)}, {name}")
    ax.set_xticks(epochs)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean cross-entropy (nats)")
    ax.set_title("Loss of the given label per epoch")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def subsample(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of a seeded random sample of at most ``limit`` of ``n`` items."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def plot_data_map(
    confidence: np.ndarray, variability: np.ndarray, flagged: np.ndarray, is_noisy: np.ndarray | None, rank: int
) -> bytes:
    """Data map: variability (x) vs confidence (y), each ``(n,)``; colour = flag, marker x = noisy (if known)."""
    keep = subsample(len(confidence), MAX_MAP_POINTS)
    conf, var, flag = confidence[keep], variability[keep], flagged[keep]
    noisy = np.zeros_like(flag) if is_noisy is None else is_noisy[keep]
    fig = _new_figure(6.5, 5.0)
    ax = fig.subplots()
    for name, flag_mask in (("kept", ~flag), ("flagged", flag)):
        for truth, truth_mask, marker in (("clean", ~noisy, "o"), ("noisy", noisy, "x")):
            mask = flag_mask & truth_mask
            if not mask.any():
                continue
            label = name if is_noisy is None else f"{name}, {truth}"
            ax.scatter(var[mask], conf[mask], s=9, marker=marker, color=FLAG_COLOURS[name], alpha=0.55, label=label)
    ax.set_xlabel(f"variability (std over epochs of p(given label), rank {rank})")
    ax.set_ylabel(f"confidence (mean over epochs of p(given label), rank {rank})")
    shown = f"{len(keep)} of {len(confidence)} examples" if len(keep) < len(confidence) else f"{len(keep)} examples"
    ax.set_title(f"Data map ({shown})")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, markerscale=1.5)
    ax.grid(alpha=0.3)
    return figure_png(fig)


# ----------------------------------------------------------------------------------------------- HTML parts

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:0 16px 40px;color:#222}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
nav a{margin-right:12px}table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}.kv th{font-weight:600;color:#555;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums}.note{background:#fff7e0;border-left:4px solid #e0a800;
padding:6px 10px}img{max-width:100%;height:auto}#top-table th{cursor:pointer;background:#f4f4f4;position:sticky;
top:0;user-select:none}#top-table th[data-dir=asc]::after{content:" \\25B2"}
#top-table th[data-dir=desc]::after{content:" \\25BC"}#top-table td.text{max-width:520px;overflow-wrap:anywhere}
tr.flagged td:first-child{border-left:3px solid #dd8452}#top-filter{width:320px;padding:4px;margin:6px 0}
.muted{color:#777}
"""

JS = """
(function () {
  var table = document.getElementById("top-table");
  if (!table) return;
  var body = table.tBodies[0], heads = table.tHead.rows[0].cells, rows = Array.prototype.slice.call(body.rows);
  document.getElementById("top-filter").addEventListener("input", function () {
    var q = this.value.toLowerCase();
    rows.forEach(function (r) { r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0; });
  });
  Array.prototype.forEach.call(heads, function (th, i) {
    th.addEventListener("click", function () {
      var dir = th.dataset.dir === "asc" ? -1 : 1, num = th.dataset.type === "num";
      Array.prototype.forEach.call(heads, function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      var key = function (r) {
        var c = r.cells[i];
        return num ? parseFloat(c.dataset.v) : c.textContent.toLowerCase();
      };
      rows.sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * dir; });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _kv_table(rows: list[tuple[str, str]]) -> str:
    """Two-column table; keys are escaped here, values must already be HTML."""
    body = "".join(f"<tr><th>{_esc(key)}</th><td>{value}</td></tr>" for key, value in rows)
    return f'<table class="kv">{body}</table>'


def summary_section(run: Run) -> str:
    """Run summary: data, model settings, counts, timings and (with ground truth) metrics."""
    s, data, config = run.summary, run.summary.get("data") or {}, run.summary.get("config") or {}
    counts, n = s.get("counts") or {}, len(run.scores)
    flagged = int(counts.get("num_flagged", int(run.scores["is_label_issue"].sum())))
    layers = config.get("adapted_layers")
    threshold = s.get("threshold") or {}
    rule = f"{threshold.get('rule', config.get('threshold', 'n/a'))} = {_fmt(threshold.get('value'))}"
    rows = [
        ("data", _esc(f"{data.get('source', 'n/a')} (split {data.get('split', 'n/a')})")),
        ("examples", f'<span id="num-examples">{n}</span>'),
        ("classes", _esc(f"{data.get('num_classes', len(run.label_names))}: {', '.join(run.label_names)}")),
        ("model", _esc(config.get("model", "n/a"))),
        ("LoRA ranks", _esc(", ".join(str(r) for r in config.get("ranks") or []))),
        ("epochs", _esc(config.get("epochs", "n/a"))),
        ("adapted layers", _esc("all" if layers is None else layers)),
        ("noise score", _esc(config.get("score", "n/a"))),
        ("threshold", _esc(rule)),
        ("estimated noise rate", f'<span id="estimated-noise-rate">{_fmt(s.get("estimated_noise_rate"))}</span>'),
        ("flagged", f'<span id="num-flagged">{flagged}</span> of {n} ({100 * flagged / n:.1f}%)'),
        ("suggestion differs from given label", _esc(counts.get("num_changed_suggestion", "n/a"))),
    ]
    rows += _noise_rows(s.get("noise_injection"))
    notes = "".join(f'<p class="note">{_esc(note)}</p>' for note in data.get("notes") or [])
    parts = ['<h2 id="summary">Run summary</h2>', _kv_table(rows), notes, _timings_table(s)]
    parts.append(_metrics_table(s.get("metrics")))
    return "\n".join(parts)


def _noise_rows(noise: dict | None) -> list[tuple[str, str]]:
    if not noise:
        return []
    text = (
        f"{noise.get('kind', '?')}: {noise.get('num_flipped', '?')} labels flipped "
        f"(requested rate {_fmt(noise.get('requested_rate'))}, realised {_fmt(noise.get('realised_rate'))}, "
        f"seed {noise.get('seed', '?')})"
    )
    return [("injected noise", _esc(text))]


def _timings_table(summary: dict) -> str:
    """Seconds per phase, examples per second and peak memory."""
    timings = summary.get("timings_seconds") or {}
    rows = [(phase, f'<span class="num">{_fmt(sec, ".1f")} s</span>') for phase, sec in timings.items()]
    rows.append(("training throughput", f"{_fmt(summary.get('examples_per_second'), '.1f')} examples/s"))
    rows.append(("peak memory", f"{_fmt(summary.get('peak_rss_mb'), '.0f')} MiB"))
    return "<h3>Timings</h3>" + _kv_table(rows)


def _metrics_table(metrics: dict | None) -> str:
    """Detection quality against ground truth, numbers to 3 decimals; a line saying why when unknown."""
    if not metrics:
        return '<h3>Detection quality</h3><p class="muted">No ground truth: precision, recall and AUROC unknown.</p>'
    names = {"precision": "precision", "recall": "recall", "f1": "F1", "auroc": "AUROC", "auprc": "AUPRC"}
    names["f1_at_true_count"] = "F1 when flagging the true number of noisy examples"
    rows = [(label, f'<span id="metric-{key}">{_fmt(metrics.get(key))}</span>') for key, label in names.items()]
    rows.append(("noisy examples (ground truth)", _esc(metrics.get("num_noisy", "n/a"))))
    return "<h3>Detection quality (vs ground truth)</h3>" + _kv_table(rows)


def _figure_block(png: bytes, alt: str, caption: str) -> str:
    return f"<figure>{_img(png, alt)}<figcaption class='muted'>{_esc(caption)}</figcaption></figure>"


def plots_sections(run: Run) -> str:
    """Score histograms, label matrix, loss curves and data map (the last two need ``dynamics.npz``)."""
    scores = run.scores
    flagged = scores["is_label_issue"].to_numpy(bool)
    is_noisy = scores["is_noisy"].to_numpy(bool) if run.ground_truth else None
    config = run.summary.get("config") or {}
    unit = SCORE_UNITS.get(str(config.get("score")), "nats")
    threshold = (run.summary.get("threshold") or {}).get("value")
    threshold = threshold if isinstance(threshold, int | float) else None
    hist = plot_score_histograms(scores["noise_score"].to_numpy(float), flagged, is_noisy, threshold, unit)
    parts = ['<h2 id="scores">Noise scores</h2>', _figure_block(hist, "noise score histogram", "dashed: threshold")]
    parts.append('<h2 id="matrix">Given vs suggested label (flagged rows)</h2>')
    if flagged.any():
        counts, names = label_matrix(
            scores.loc[flagged, "given_label"].to_numpy(), scores.loc[flagged, "predicted_label"].to_numpy(),
            run.label_names,
        )  # fmt: skip
        caption = "rows: the label in the data; columns: the label the low-rank adapter suggests"
        parts.append(_figure_block(plot_label_matrix(counts, names), "given x suggested label matrix", caption))
    else:
        parts.append('<p class="note">No example was flagged.</p>')
    parts.append(dynamics_sections(run))
    return "\n".join(parts)


def dynamics_sections(run: Run) -> str:
    """Loss curves and the data map from ``dynamics.npz``, or a note saying why they are missing."""
    if run.dynamics is None:
        return f'<h2 id="dynamics">Training dynamics</h2><p class="note">{_esc(run.dynamics_note)}</p>'
    dyn, in_order = run.dynamics, run.scores.iloc[run.order]
    is_noisy = in_order["is_noisy"].to_numpy(bool) if run.ground_truth else None
    flagged = in_order["is_label_issue"].to_numpy(bool)
    losses = cross_entropy(dyn.logits, dyn.labels)
    curves = plot_loss_curves(losses, dyn.ranks, is_noisy)
    split = "solid: clean, dashed: noisy examples" if is_noisy is not None else "all examples (no ground truth)"
    confidence, variability = data_map_coordinates(dyn)
    data_map = plot_data_map(confidence, variability, flagged, is_noisy, int(dyn.ranks[0]))
    map_caption = (
        "Swayamdipta et al. (2020): low confidence and low variability = hard-to-learn, often mislabelled; "
        "high confidence = easy to learn"
    )
    return "\n".join(
        [
            '<h2 id="dynamics">Training dynamics</h2>',
            _figure_block(curves, "mean loss per epoch", f"one colour per adapter; {split}"),
            '<h2 id="datamap">Data map</h2>',
            _figure_block(data_map, "data map", map_caption),
        ]
    )


def table_section(run: Run, top: int) -> str:
    """The ``top`` most suspicious rows as a sortable, filterable table; all data escaped."""
    rows = run.scores.head(top)
    columns = [("#", "num"), ("row", "num"), ("text", "text"), ("given label", "text"), ("suggested label", "text")]
    if "true_label" in rows.columns:
        columns.append(("true label", "text"))
    columns += [("noise score", "num"), ("label quality", "num"), ("flagged", "text")]
    head = "".join(f'<th data-type="{kind}">{_esc(name)}</th>' for name, kind in columns)
    body = "\n".join(_table_row(rank, row) for rank, row in enumerate(rows.to_dict("records"), start=1))
    return (
        f'<h2 id="table">Top {len(rows)} most suspicious examples</h2>'
        '<p class="muted">Click a header to sort; type to filter.</p>'
        '<input id="top-filter" type="search" placeholder="filter rows (any column)" aria-label="filter rows">'
        f'<table id="top-table"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'
    )


def _num_cell(value: object, spec: str) -> str:
    number = float(value) if isinstance(value, int | float) else float("nan")
    return f'<td class="num" data-v="{number!r}">{_fmt(number, spec)}</td>'


def _table_row(rank: int, row: dict) -> str:
    text = str(row["text"])
    shown = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "…"
    cells = [_num_cell(rank, ".0f"), _num_cell(row["index"], ".0f"), f'<td class="text">{_esc(shown)}</td>']
    cells += [f"<td>{_esc(row['given_label'])}</td>", f"<td>{_esc(row['predicted_label'])}</td>"]
    if "true_label" in row:
        cells.append(f"<td>{_esc(row['true_label'])}</td>")
    cells += [_num_cell(row["noise_score"], ".4f"), _num_cell(row["label_quality"], ".3f")]
    cells.append(f"<td>{'yes' if row['is_label_issue'] else 'no'}</td>")
    css = ' class="flagged"' if row["is_label_issue"] else ""
    return f"<tr{css}>{''.join(cells)}</tr>"


def render_page(run: Run, top: int) -> str:
    """The whole HTML document."""
    script_hash = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'"
    source = (run.summary.get("data") or {}).get("source", str(run.folder))
    nav = " ".join(
        f'<a href="#{anchor}">{name}</a>'
        for anchor, name in [("summary", "summary"), ("scores", "scores"), ("matrix", "label matrix"),
                             ("dynamics", "dynamics"), ("table", "top examples")]
    )  # fmt: skip
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>ract report: {_esc(source)}</title>",
            f"<style>{CSS}</style></head><body>",
            f"<h1>Label-noise report: {_esc(source)}</h1>",
            f'<p class="muted">{_esc(run.folder)}</p><nav>{nav}</nav>',
            summary_section(run),
            plots_sections(run),
            table_section(run, top),
            f"<script>{JS}</script>",
            "</body></html>",
        ]
    )


def build_report(output_dir: Path, top: int = 200) -> Path:
    """Write ``output_dir/report.html``, one self-contained page about a ``ract detect`` run.

    Args:
        output_dir: folder holding ``summary.json``, ``scores.csv`` and (optionally) ``dynamics.npz``.
        top: number of most suspicious rows listed in the table (>= 1).

    Returns:
        The path of the report. RactError when a required file is missing or invalid.
    """
    if top < 1:
        raise RactError(f"--top must be at least 1, got {top}")
    output_dir = Path(output_dir)
    run = load_run(output_dir)
    path = output_dir / REPORT_FILE
    write_text_atomic(path, render_page(run, top))
    return path
