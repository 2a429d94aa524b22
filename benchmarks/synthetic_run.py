"""A realistic ``ract detect`` output folder without training: simulated dynamics on real (or made-up) texts.

Writes the three files of a run with exactly the schema ``ract detect`` writes (``scores.csv``, ``summary.json``,
``dynamics.npz``), so ``ract report`` and ``ract review`` read it as they would a real run. Used to measure the
report of a 10,000-row run (open time, file size) and to take screenshots, on a machine where training is not an
option. What is simulated:

- texts: the AG News sample in ``$RACT_DATA_DIR`` (10,000 rows) when present, else made-up sentences;
- labels: the real labels, then 30% symmetric noise (``ract.noise.inject_noise``), so ground truth is known;
- dynamics ``(A=2, E=4, n, C)``: each example's learned class gains logit over the epochs at its own pace, a few
  ambiguous examples learn the wrong class, and the higher-rank adapter slowly memorises noisy labels (see
  :func:`simulate_logits`). The noise score, threshold, suggested labels and metrics are then computed by ract's
  own functions from these logits.

    .venv/bin/python -m benchmarks.synthetic_run out/synthetic_10000 --rows 10000

``summary.json`` says ``"command": "synthetic"`` and carries a note, which the report shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ract.data import load_data, write_table
from ract.data.loading import source_file
from ract.detection.metrics import detection_metrics
from ract.detection.scores import DEFAULT_SCORE, class_probabilities, compute_score
from ract.detection.threshold import apply_threshold
from ract.errors import RactError
from ract.noise import inject_noise
from ract.reporting.outputs import (
    DYNAMICS_FILE,
    SCORES_FILE,
    SUMMARY_FILE,
    write_dynamics,
    write_json,
    write_scores_csv,
)
from ract.training.loop import per_example_loss

RANKS = (4, 16)
EPOCHS = 4
NOTE = "SYNTHETIC: scores and dynamics are simulated by benchmarks/synthetic_run.py, not produced by training"
TOPICS = ("World", "Sports", "Business", "Sci/Tech")


def real_or_made_up_texts(rows: int, seed: int) -> tuple[list[str], np.ndarray, list[str], np.ndarray, str, Path]:
    """(texts, labels (n,), label names, row ids (n,), source, data file), AG News if present.

    Without the AG News copy, writes made-up sentences to a CSV beside the output (``data.csv`` in its parent).
    """
    try:
        data = load_data("ag_news", limit=rows, seed=seed)
        path = source_file("ag_news")
        if path is not None and len(data.texts) == rows:
            return data.texts, data.labels, list(data.label_names), data.row_ids, "ag_news", path
    except RactError:
        pass
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(TOPICS), size=rows)
    texts = [f"made-up news item {i} about {TOPICS[label].lower()}" for i, label in enumerate(labels)]
    path = Path("out") / f"synthetic_texts_{rows}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(pd.DataFrame({"text": texts, "label": np.asarray(TOPICS)[labels]}), path)
    return texts, labels, list(TOPICS), np.arange(rows), str(path), path


def simulate_logits(given: np.ndarray, clean: np.ndarray, num_classes: int, rng) -> np.ndarray:
    """``(A, E, n, C)`` logits.

    Each example's learned class (its true class, except for 4% ambiguous clean examples that look like another
    class and 4% noisy ones learned as given) gains logit over the epochs at an example-specific pace; on top,
    the higher-rank adapter slowly memorises the noisy labels. Tuned so that detection quality resembles the
    measured runs (docs/detection.md: AUROC about 0.95-0.98, F1 about 0.9 at 30% noise).
    """
    n = len(given)
    noisy = given != clean
    learned = clean.copy()
    ambiguous = ~noisy & (rng.random(n) < 0.04)
    learned[ambiguous] = (clean[ambiguous] + rng.integers(1, num_classes, ambiguous.sum())) % num_classes
    memorised = noisy & (rng.random(n) < 0.04)
    learned[memorised] = given[memorised]
    logits = rng.normal(0.0, 0.6, size=(len(RANKS), EPOCHS, n, num_classes))
    pace = rng.gamma(shape=4.0, scale=1.5, size=n)
    for adapter in range(len(RANKS)):
        memorise = 0.6 + 1.2 * adapter / max(len(RANKS) - 1, 1)
        for epoch in range(EPOCHS):
            progress = (epoch + 1) / EPOCHS
            logits[adapter, epoch, np.arange(n), learned] += pace * progress
            logits[adapter, epoch, np.arange(n), given] += noisy * memorise * progress**2 * rng.random(n)
    return logits


def synthesise_run(folder: str | Path, rows: int = 10_000, noise_rate: float = 0.3, seed: int = 0) -> Path:
    """Write ``scores.csv``, ``summary.json`` and ``dynamics.npz`` of a simulated run into ``folder``."""
    folder = Path(folder)
    texts, clean, names, row_ids, source, data_path = real_or_made_up_texts(rows, seed)
    noise = inject_noise(clean, len(names), "symmetric", noise_rate, seed)
    given = noise.noisy_labels
    rng = np.random.default_rng(seed + 1)
    logits = simulate_logits(given, clean, len(names), rng)
    score = compute_score(DEFAULT_SCORE, logits, given)
    threshold = apply_threshold(score, "auto", seed=seed)
    probs = class_probabilities(logits)
    suggested = probs.argmax(1)
    is_noisy = given != clean
    names_arr = np.asarray(names, dtype=object)
    table = pd.DataFrame(
        {"index": row_ids, "text": texts, "is_label_issue": threshold.flagged,
         "label_quality": probs[np.arange(len(given)), given], "noise_score": score,
         "given_label": names_arr[given], "predicted_label": names_arr[suggested]}
    )  # fmt: skip
    for rank, losses in zip(RANKS, per_example_loss(logits, given).mean(axis=1), strict=True):
        table[f"loss_rank_{rank}"] = losses
    table["true_label"] = names_arr[clean]
    table["is_noisy"] = is_noisy
    write_scores_csv(folder / SCORES_FILE, table)
    write_dynamics(folder / DYNAMICS_FILE, logits, given, list(RANKS))
    changed = int((suggested != given).sum())
    payload = summary(names, source, data_path, noise, threshold, score, is_noisy, changed, seed)
    write_json(folder / SUMMARY_FILE, payload)
    return folder


def summary(names, source, data_path, noise, threshold, score, is_noisy, changed: int, seed: int) -> dict:
    """A ``summary.json`` with the fields ``ract detect`` writes (timings left empty: nothing was trained)."""
    n = len(score)
    return {
        "command": "synthetic",
        "method": "ract",
        "data": {"source": source, "path": str(Path(data_path).resolve()), "text_column": None, "label_column": None,
                 "split": "train", "num_examples": n, "num_classes": len(names), "label_names": names,
                 "notes": [NOTE], "ground_truth_known": True},
        "noise_injection": {"kind": noise.kind, "requested_rate": noise.requested_rate,
                            "realised_rate": noise.realised_rate, "num_flipped": int(noise.flip_mask.sum()),
                            "seed": seed},
        "config": {"model": "minilm", "ranks": list(RANKS), "epochs": EPOCHS, "adapted_layers": 2,
                   "score": DEFAULT_SCORE, "threshold": "auto", "seed": seed},
        "timings_seconds": {},
        "counts": {"num_flagged": int(threshold.flagged.sum()), "num_changed_suggestion": changed},
        "threshold": {"rule": threshold.rule, "value": threshold.threshold,
                      "estimated_noise_rate": threshold.estimated_noise_rate, "warning": threshold.warning},
        "estimated_noise_rate": threshold.estimated_noise_rate,
        "metrics": detection_metrics(is_noisy, score, threshold.flagged),
        "files": {"scores": SCORES_FILE, "dynamics": DYNAMICS_FILE},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", nargs="?", default="out/synthetic_10000")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"wrote {synthesise_run(args.output_dir, args.rows, seed=args.seed)}")


if __name__ == "__main__":
    main()
