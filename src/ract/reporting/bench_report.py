"""Markdown of the peer comparison grid (results of :mod:`ract.detection.bench`): one table per setting, methods
as rows, mean ± std over seeds, and a line per setting saying whether the targets hold.

Every number comes from the results dict; a method or setting missing from it reads "not run".

Targets, compared on the means over the seeds where both RACT and cleanlab_cv finished:

* F1 (own threshold rule) and AUPRC of RACT at least 2 points above cleanlab_cv on AG News with symmetric noise
  at 20, 30 and 40 %; not below cleanlab_cv on AG News with asymmetric noise; no quality target elsewhere;
* RACT's wall time at most 1/5 of cleanlab_cv's, in every setting: the mean over those seeds of the per-seed ratio
  (both cells of a seed ran on one machine; different seeds may have run on different machines).
"""

from __future__ import annotations

import numpy as np

REFERENCE = "cleanlab_cv"
TIME_RATIO = 0.2  # RACT wall seconds / cleanlab_cv wall seconds, at most
NOT_RUN = "not run"

#: (cell key, column title, scale, decimals): detection quality in %, time in seconds, passes as counted.
COLUMNS: tuple[tuple[str, str, float, int], ...] = (
    ("precision", "Precision", 100, 1),
    ("recall", "Recall", 100, 1),
    ("f1", "F1", 100, 1),
    ("f1_at_true_count", "F1 @ true count", 100, 1),
    ("auroc", "AUROC", 100, 1),
    ("auprc", "AUPRC", 100, 1),
    ("wall_seconds", "Wall (s)", 1, 1),
    ("adapter_passes", "Adapter passes", 1, 1),
)


def mean_std(values: list) -> dict | None:
    """``{"mean", "std" (population), "n"}`` of the values that are not None, or None when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}


def quality_margin(dataset: str, kind: str, rate: float) -> float | None:
    """How far RACT's F1 and AUPRC must lie above cleanlab_cv's (fractions), or None: no quality target."""
    if dataset == "ag_news" and kind == "symmetric" and any(abs(rate - r) < 1e-9 for r in (0.2, 0.3, 0.4)):
        return 0.02
    if dataset == "ag_news" and kind == "asymmetric":
        return 0.0
    return None


def split_key(key: str) -> tuple[str, str, float]:
    """``"ag_news:symmetric:0.3"`` -> ``("ag_news", "symmetric", 0.3)``."""
    dataset, kind, rate = key.rsplit(":", 2)
    return dataset, kind, float(rate)


def finished_cells(entry: dict | None, method: str) -> dict[int, dict]:
    """seed -> cell of every seed where ``method`` finished without error in a setting's entry."""
    runs = (entry or {}).get("runs", {})
    cells = {int(seed): run.get("methods", {}).get(method) for seed, run in runs.items()}
    return {seed: cell for seed, cell in sorted(cells.items()) if cell is not None and "error" not in cell}


def _stat_text(stat: dict | None, scale: float, digits: int) -> str:
    if stat is None:
        return "–"
    text = f"{stat['mean'] * scale:.{digits}f}"
    if stat["n"] > 1:
        text += f" ± {stat['std'] * scale:.{digits}f}"
    return text


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def target_line(key: str, entry: dict | None) -> str:
    """One markdown line: whether RACT meets the targets against cleanlab_cv in this setting."""
    ours, theirs = finished_cells(entry, "ract"), finished_cells(entry, REFERENCE)
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        return f"Targets vs {REFERENCE}: {NOT_RUN} (RACT and {REFERENCE} have no finished seed in common)."

    def mean(cells: dict[int, dict], field: str) -> float | None:
        stat = mean_std([cells[s][field] for s in seeds])
        return None if stat is None else stat["mean"]

    parts, verdicts = [], []
    margin = quality_margin(*split_key(key))
    for field, name in (("f1", "F1"), ("auprc", "AUPRC")):
        a, b = mean(ours, field), mean(theirs, field)
        if margin is None:
            continue
        if a is None or b is None:
            parts.append(f"{name}: undefined (no noisy or no clean examples)")
            verdicts.append(False)
            continue
        ok = a - b >= margin - 1e-12
        verdicts.append(ok)
        need = f"≥ +{margin * 100:.0f}" if margin > 0 else "≥ 0"
        parts.append(f"{name} {(a - b) * 100:+.1f} points (needs {need}): {_verdict(ok)}")
    if margin is None:
        parts.append("F1/AUPRC: no target for this setting")
    ratio = float(np.mean([ours[s]["wall_seconds"] / theirs[s]["wall_seconds"] for s in seeds]))
    ok = ratio <= TIME_RATIO + 1e-12
    verdicts.append(ok)
    parts.append(f"wall time {ratio:.2f}× {REFERENCE}'s (needs ≤ {TIME_RATIO:.2f}×): {_verdict(ok)}")
    seeds_text = ", ".join(map(str, seeds))
    overall = "all targets met" if all(verdicts) else "**targets not met**"
    return f"Targets vs {REFERENCE} (means over seeds {seeds_text}): " + "; ".join(parts) + f". Overall: {overall}."


def render_setting(key: str, entry: dict | None, methods: list[str], seeds: list[int]) -> str:
    """The section of one setting: heading, table (methods as rows), notes and the target line."""
    dataset, kind, rate = split_key(key)
    head = f"### {dataset}, {kind} noise {rate * 100:g} %"
    if entry:
        realised = mean_std([run.get("realised_noise_rate") for run in entry.get("runs", {}).values()])
        head += f"\n\n{entry['num_examples']} examples, {entry['num_classes']} classes"
        if realised is not None:
            head += f", realised noise rate {_stat_text(realised, 100, 1)} %"
        head += "."
        machines = [
            f"seed {seed} in {run.get('precision', '?')} on {run.get('cpu') or '?'}"
            for seed, run in sorted(entry.get("runs", {}).items())
        ]
        if machines:
            head += f" Run: {'; '.join(machines)}."
    header = ["Method", "Seeds", *(title for _, title, _, _ in COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|" + "---:|" * len(COLUMNS)]
    notes = []
    for method in methods:
        cells = finished_cells(entry, method)
        if not cells:
            lines.append(f"| {method} | 0 of {len(seeds)} | " + " | ".join([NOT_RUN] * len(COLUMNS)) + " |")
        else:
            stats = [mean_std([c.get(field) for c in cells.values()]) for field, _, _, _ in COLUMNS]
            values = [
                _stat_text(stat, scale, digits) for stat, (_, _, scale, digits) in zip(stats, COLUMNS, strict=True)
            ]
            lines.append(f"| {method} | {len(cells)} of {len(seeds)} | " + " | ".join(values) + " |")
        for seed, run in sorted((entry or {}).get("runs", {}).items()):
            cell = run.get("methods", {}).get(method)
            if cell is not None and "error" in cell:
                notes.append(f"{method} failed on seed {seed}: {cell['error']}")
    sharing = [
        m
        for m in methods
        if any("single_adapter" in c.get("shared_seconds", {}) for c in finished_cells(entry, m).values())
    ]
    if len(sharing) > 1:
        notes.append(
            f"{', '.join(sharing)} read one shared single-adapter training run per seed; "
            "each row's wall time includes that run in full (stand-alone cost)."
        )
    body = "\n".join(lines)
    notes_text = "".join(f"\n\n- {note}" for note in notes) if notes else ""
    return f"{head}\n\n{body}{notes_text}\n\n{target_line(key, entry)}\n"


def _dropout_text(detector: dict) -> str:
    """The dropout setting as run; results saved before the setting existed ran with the model's own (0.1)."""
    if "dropout" not in detector:
        return "the model's own (0.1; these results predate the `--dropout` setting, whose default is now 0)"
    return "the model's own" if detector["dropout"] is None else f"{detector['dropout']:g}"


def render_markdown(
    results: dict,
    settings: list[str] | None = None,
    methods: list[str] | None = None,
    title: str = "Peer comparison",
    intro: str = "",
    commands: list[str] | None = None,
) -> str:
    """The whole markdown document.

    Args:
        results: the dict of :mod:`ract.detection.bench` (with ``provenance`` when saved by a script).
        settings / methods: what to show (default: the results' grid); those without results read "not run".
        intro: a paragraph placed under the title. commands: shell lines that reproduce the document.
    """
    grid = results.get("grid", {})
    settings = settings if settings is not None else grid.get("settings", [])
    methods = methods if methods is not None else grid.get("methods", [])
    seeds = grid.get("seeds", [])
    parts = [f"# {title}\n"]
    if intro:
        parts.append(intro.strip() + "\n")
    if commands:
        parts.append("Reproduce:\n\n```bash\n" + "\n".join(commands) + "\n```\n")
    parts.append(_describe_run(results, seeds))
    summary = [f"- {key}: {target_line(key, results.get('settings', {}).get(key))}" for key in settings]
    parts.append("## Targets per setting\n\n" + "\n".join(summary) + "\n")
    parts.append("## Results per setting\n")
    for key in settings:
        parts.append(render_setting(key, results.get("settings", {}).get(key), methods, seeds))
    return "\n".join(parts)


def _describe_run(results: dict, seeds: list[int]) -> str:
    config = results.get("config", {})
    detector = config.get("detector", {})
    rows = config.get("rows")
    lines = [
        "Cells: precision, recall and F1 of each method's own flags, F1 when flagging exactly as many examples as "
        "are truly noisy, AUROC and AUPRC of its scores, all in %; mean ± std (population) over the seeds that "
        "finished, with their count. Wall time is each method's stand-alone cost in seconds, backbone loading "
        "excluded. Adapter passes: training passes of LoRA adapters over the data (one adapter, one epoch over "
        "every example = 1).",
        "",
        f"- Rows per data set: {rows if rows else 'all'}; seeds asked for: {', '.join(map(str, seeds)) or 'none'}",
    ]
    if detector:
        lines.append(
            f"- Detector settings: epochs {detector.get('epochs')}, ranks {detector.get('ranks')} (peers use the "
            f"lowest), adapted layers {detector.get('adapted_layers')}, batch size {detector.get('batch_size')}, "
            f"lr {detector.get('lr')}, max length {detector.get('max_length')}, precision {detector.get('precision')} "
            "(resolved per run, see each setting), "
            f"dropout {_dropout_text(detector)}"
        )
    provenance = results.get("provenance")
    if provenance:
        machine = provenance.get("machine", {})
        lines.append(
            f"- Last saved {provenance.get('date_utc', '?')} at commit {str(provenance.get('commit'))[:10]} on "
            f"{machine.get('cpu', '?')} ({machine.get('cores', '?')} cores, {machine.get('torch_threads', '?')} "
            "torch threads)"
        )
    return "\n".join(lines) + "\n"
