"""Render benchmarks/results/main_table.json as the markdown main table and put it into docs/results.md.

Prints the table and writes it between ``<!-- main-table:start -->`` and ``<!-- main-table:end -->`` in
docs/results.md; only that block is replaced (the file is created, with a description, when it is missing; the
markers are appended when the file has none).

    .venv/bin/python -m benchmarks.render_results
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "main_table.json"
DOC = ROOT / "docs" / "results.md"
START, END = "<!-- main-table:start -->", "<!-- main-table:end -->"

DETECTION_COLUMNS = (
    ("precision", "P"),
    ("recall", "R"),
    ("f1", "F1"),
    ("f1_at_true_count", "F1@k"),
    ("auroc", "AUROC"),
    ("auprc", "AUPRC"),
)
ACCURACY_COLUMNS = (
    ("ract_remove", "RACT remove"),
    ("ract_relabel", "RACT relabel"),
    ("ract_easy_first", "RACT easy-first"),
    ("lora_r4", "LoRA r4"),
    ("lora_r16", "LoRA r16"),
    ("clean_ceiling", "Clean ceiling"),
    ("full_finetune", "Full FT"),
)

INTRO = """# Results

The main table: label-noise detection and test accuracy on AG News (symmetric, asymmetric and instance-dependent
noise), TREC and SST-2. For each setting, noise is injected into the training labels (noise seed = run seed);
RACT detects the noisy labels (precision, recall, F1, AUROC, AUPRC against the true flip mask) and retrains a
rank-4 LoRA adapter on the trusted examples, removing the flagged ones (*RACT remove*) or relabelling the
confident ones (*RACT relabel*). The baselines are plain LoRA of rank 4 and 16 trained on the noisy labels and
a rank-4 LoRA trained on the clean labels (the ceiling). Accuracies are on the clean test split; cells are
mean ± std over seeds. Produced by `benchmarks/main_table.py` (see its docstring for every detail) and
rendered by `benchmarks/render_results.py`; the raw numbers with provenance are in
`benchmarks/results/main_table.json`.

```bash
.venv/bin/python -m benchmarks.main_table              # all settings, seeds 0,1,2 (add --full-finetune)
.venv/bin/python -m benchmarks.render_results          # rewrites the table below
```

"""


def cell(stat: dict | None, scale: float = 1.0, digits: int = 1, show_std: bool = True) -> str:
    """``mean ± std`` (std only with more than one value), or an en dash when there is no value."""
    if stat is None or stat.get("mean") is None:
        return "–"
    text = f"{stat['mean'] * scale:.{digits}f}"
    if show_std and stat.get("n", 1) > 1:
        text += f" ± {stat['std'] * scale:.{digits}f}"
    return text


def render(results: dict) -> str:
    """The markdown table of every setting in ``results`` (the JSON written by benchmarks.main_table)."""
    settings = results.get("settings", {})
    present = {m for entry in settings.values() for m in entry.get("summary", {})}
    accuracy = [(key, name) for key, name in ACCURACY_COLUMNS if key in present]
    header = (
        ["Setting", "Seeds"]
        + [f"Det. {name}" for _, name in DETECTION_COLUMNS]
        + [f"{name} acc." for _, name in accuracy]
        + ["2nd-round F1@k", "RACT time (s)"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for entry in settings.values():
        summary = entry.get("summary")
        if not summary:
            continue
        row = [f"{entry['dataset']} {entry['kind']} {entry['rate']:g}", str(len(entry.get("runs", [])))]
        row += [cell(summary["detection"].get(k), digits=3) for k, _ in DETECTION_COLUMNS]
        row += [cell(summary.get(k, {}).get("test_accuracy"), scale=100) for k, _ in accuracy]
        row.append(cell(summary.get("second_round", {}).get("f1_at_true_count"), digits=3))
        row.append(cell(summary.get("ract_remove", {}).get("wall_seconds"), digits=0))
        lines.append("| " + " | ".join(row) + " |")
    config = results.get("config", {})
    rows = config.get("rows") or "all"
    epochs = config.get("epochs", "?")
    notes = [
        "",
        "Detection P/R/F1 use RACT's automatic threshold; F1@k flags exactly as many rows as are truly noisy; "
        "2nd-round F1@k scores every training row by the loss of the retrained (remove) adapter (a diagnostic); "
        f"accuracies in %; {rows} training rows per data set, "
        f"epochs {epochs}. RACT time = detection + removal retraining, wall seconds"
        + (f" on {results['provenance']['machine'].get('cpu', 'this machine')}." if "provenance" in results else "."),
    ]
    not_run = results.get("not_run") or {}
    if not_run:
        for method, what in not_run.items():
            if isinstance(what, list):  # one "<setting>: <reason>" per setting it did not run on
                where = ", ".join(item.split(": ", 1)[0] for item in what)
                notes.append(f"Not run: {method} on {where} (expensive; name the settings in --full-finetune).")
            else:
                notes.append(f"Not run: {method} ({what}).")
    return "\n".join(lines + notes) + "\n"


def write_block(doc: Path, table: str) -> None:
    """Put ``table`` between the markers of ``doc``, leaving everything else as it is."""
    block = f"{START}\n{table}{END}"
    if not doc.exists():
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(INTRO + block + "\n", encoding="utf-8")
        return
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--doc", type=Path, default=DOC)
    args = parser.parse_args()
    table = render(json.loads(args.results.read_text(encoding="utf-8")))
    print(table)
    write_block(args.doc, table)
    print(f"wrote the table into {args.doc}")


if __name__ == "__main__":
    main()
