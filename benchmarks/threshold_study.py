"""The automatic threshold on clean and noisy data: the two-component rule against loss floors.

Reads the ``scores.csv`` and ``dynamics.npz`` of finished ``ract detect`` runs on the same data, one on the clean
labels and any number with injected noise (those have the ``is_noisy`` column), and re-thresholds their
``noise_score`` (mean loss in nats) with the rules of :func:`ract.detection.threshold.apply_threshold`:

- ``two_component``: the plain two-Gaussian mixture on log scores;
- ``chance_floor``: three components, the noisy group being those whose median loss reaches log(C) (the given
  label gets at most a uniform guess's probability; the default until 2026-12-05);
- ``even_odds_floor``: the same with the floor log(2) (the given label gets at most even odds; the default until
  ``pair_floors`` on 2026-12-05);
- ``pair_floors``: ``even_odds_floor`` plus each row's own floor from the class-to-class noise the model has
  learned (:func:`ract.detection.threshold.pair_floors`; the default).

The first three are followed by the pipeline's disagreement rule (a row predicted as its given label is never
flagged; ``pair_floors`` includes it). The predictions and ``pair_floors`` read the rank-4 adapter's softmax
averaged over epochs, as the pipeline does. Each real run is also thresholded by the ``confident`` rule
(``--threshold confident``: cleanlab's ``find_label_issues`` on both adapters' softmax averaged over adapters and
epochs; needs the ``cleanlab`` extra).
To see lower noise rates without a training run per rate, it also mixes rows: clean-run scores for the clean
part and the first noisy run's scores of its mislabelled rows for the noisy part, at 1-30%, each row keeping the
predictions and floors of its own run (an approximation: in a real run the clean rows' losses come from a model
trained on noisy labels).

    .venv/bin/ract detect ag_news --output-dir out/ag_news_clean --quiet
    .venv/bin/ract detect ag_news --inject-noise symmetric --noise-rate 0.3 --output-dir out/ag_news_sym30 --quiet
    # ... and the same with symmetric 0.1, asymmetric 0.2 and 0.4 (out/ag_news_sym10, ...)
    .venv/bin/python -m benchmarks.threshold_study out/ag_news_clean out/ag_news_sym30 out/ag_news_sym10 \
        out/ag_news_asym20 out/ag_news_asym40
    # TREC (6 classes) and SST-2 (2 classes), the same way, e.g.
    .venv/bin/ract detect trec --inject-noise symmetric --noise-rate 0.3 --output-dir out/trec_sym30 --quiet
    .venv/bin/python -m benchmarks.threshold_study out/trec_clean out/trec_sym30 out/trec_sym10 out/trec_asym30 \
        --name threshold_study_trec

Saves <out-dir>/<name>.json (default benchmarks/results/threshold_study.json).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import RESULTS, save_result
from ract.detection.metrics import detection_metrics
from ract.detection.scores import all_adapter_probabilities, class_probabilities
from ract.detection.threshold import (
    apply_threshold,
    confident_learning,
    disagreement_floors,
    learned_transition,
    pair_floors,
)

RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


# rule name -> its floor in nats, from the number of classes C (None: no floor, two components)
FLOORS = {
    "two_component": lambda c: None,
    "chance_floor": math.log,
    "even_odds_floor": lambda c: math.log(2),
    "pair_floors": lambda c: math.log(2),
}


@dataclass
class Rows:
    """What the rules read about each row of a run (or of a mix of runs), all (n,) in one order."""

    scores: np.ndarray  # mean loss, nats
    pair_floors: np.ndarray  # nats, +inf where the row is predicted as its given label
    truth: np.ndarray | None  # bool is_noisy, None for the clean run

    @property
    def disagrees(self) -> np.ndarray:
        """bool: the predicted class is not the given label (where the pair floor is finite)."""
        return np.isfinite(self.pair_floors)

    def take(self, index: np.ndarray) -> Rows:
        truth = None if self.truth is None else self.truth[index]
        return Rows(self.scores[index], self.pair_floors[index], truth)


def flags(rows: Rows, rule: str, num_classes: int) -> tuple[np.ndarray, float]:
    """(flags, estimated rate) of ``rule`` with the disagreement rule, as the pipeline applies them."""
    floors = rows.pair_floors if rule == "pair_floors" else disagreement_floors(rows.disagrees)
    result = apply_threshold(rows.scores, "auto", 0, min_noisy_score=FLOORS[rule](num_classes), row_floors=floors)
    return result.flagged, result.estimated_noise_rate


def summarise(truth: np.ndarray | None, scores: np.ndarray, flagged: np.ndarray, rate: float | None) -> dict:
    out = {"num_flagged": int(flagged.sum()), "estimated_noise_rate": rate}
    if truth is not None:
        m = detection_metrics(truth, scores, flagged)
        out.update({k: m[k] for k in ("precision", "recall", "f1", "f1_at_true_count")})
    return out


def median_losses(rows: Rows) -> dict:
    """Median score (nats) of the clean and of the mislabelled rows (all rows count as clean in a clean run)."""
    truth = np.zeros(len(rows.scores), bool) if rows.truth is None else rows.truth
    mislabelled = float(np.median(rows.scores[truth])) if truth.any() else None
    return {"clean": float(np.median(rows.scores[~truth])), "mislabelled": mislabelled}


def load_run(folder: Path) -> tuple[Rows, np.ndarray, np.ndarray]:
    """The run's rows in input order, its confident-rule flags and the class-to-class noise its rank-4 adapter
    learned ((C, C), :func:`ract.detection.threshold.learned_transition`), from scores.csv and dynamics.npz."""
    table = pd.read_csv(folder / "scores.csv")
    table = table.iloc[np.argsort(table["index"].to_numpy(), kind="stable")]  # input order = ascending data index
    dynamics = np.load(folder / "dynamics.npz")
    logits, labels = dynamics["logits"].astype(np.float32), dynamics["labels"]
    probs = class_probabilities(logits)  # (n, C), what the pipeline predicts from
    truth = table.is_noisy.to_numpy(bool) if "is_noisy" in table else None
    transition = learned_transition(probs)
    rows = Rows(table.noise_score.to_numpy(float), pair_floors(labels, probs, transition), truth)
    confident = confident_learning(labels, all_adapter_probabilities(logits)).flagged
    return rows, confident, transition


def run_setting(folder: Path) -> str:
    """How the run's labels were made, from its summary.json: ``clean`` or e.g. ``asymmetric 0.4``."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    noise = summary.get("noise_injection")
    return f"{noise['kind']} {noise['requested_rate']}" if noise else "clean"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clean_run", type=Path, help="output folder of `ract detect` on the clean labels")
    parser.add_argument("noisy_runs", type=Path, nargs="+", help="output folders of `ract detect --inject-noise`")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="threshold_study", help="result file: <out-dir>/NAME.json")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="default benchmarks/results")
    args = parser.parse_args(argv)
    runs = {folder: load_run(folder) for folder in [args.clean_run, *args.noisy_runs]}
    for folder in args.noisy_runs:
        if runs[folder][0].truth is None:
            parser.error(f"{folder / 'scores.csv'} has no is_noisy column: run it with --inject-noise")
    num_classes = runs[args.clean_run][2].shape[0]  # the learned transition is (C, C)
    config = {"clean_run": str(args.clean_run), "noisy_runs": [str(f) for f in args.noisy_runs], "seed": args.seed}
    result: dict = {"config": {**config, "num_classes": num_classes}, "runs": {}, "mixed": []}
    for folder, (rows, confident, transition) in runs.items():
        result["runs"][str(folder)] = {
            "setting": run_setting(folder),
            "learned_transition": np.round(transition, 3).tolist(),
            "median_loss": median_losses(rows),
            **{rule: summarise(rows.truth, rows.scores, *flags(rows, rule, num_classes)) for rule in FLOORS},
            "confident": summarise(rows.truth, rows.scores, confident, None),
        }
        print(folder, result["runs"][str(folder)])
    rng = np.random.default_rng(args.seed)
    clean = runs[args.clean_run][0]
    noisy = runs[args.noisy_runs[0]][0]
    mislabelled = noisy.take(np.flatnonzero(noisy.truth))
    n = len(clean.scores)
    for rate in RATES:
        k = min(int(round(rate * n)), len(mislabelled.scores))
        part_clean = clean.take(rng.choice(n, n - k, replace=False))
        part_noisy = mislabelled.take(rng.choice(len(mislabelled.scores), k, replace=False))
        rows = Rows(
            np.r_[part_clean.scores, part_noisy.scores],
            np.r_[part_clean.pair_floors, part_noisy.pair_floors],
            np.r_[np.zeros(n - k, bool), np.ones(k, bool)],
        )
        row = {
            "noise_rate": rate,
            **{rule: summarise(rows.truth, rows.scores, *flags(rows, rule, num_classes)) for rule in FLOORS},
        }
        result["mixed"].append(row)
        print(row)
    save_result(args.name, result, args.out_dir, echo=False)


if __name__ == "__main__":
    main()
