"""The automatic threshold on clean and noisy data: the two-component rule against the chance-loss floor.

Reads the ``scores.csv`` of two finished ``ract detect`` runs on the same data, one on the clean labels and one
with injected noise (which has the ``is_noisy`` column), and re-thresholds their ``noise_score`` (mean loss in
nats) with both rules of :func:`ract.detection.threshold.apply_threshold`:

- ``two_component``: the plain two-Gaussian mixture on log scores;
- ``chance_floor``: three components, the noisy group being those whose median loss reaches log(C).

Both are followed by the pipeline's disagreement rule (a row predicted as its given label is never flagged).
To see lower noise rates without a training run per rate, it also mixes rows: clean-run scores for the clean
part and the noisy run's scores of its mislabelled rows for the noisy part, at 1-30% (an approximation: in a
real run the clean rows' losses come from a model trained on noisy labels).

    .venv/bin/ract detect ag_news --output-dir out/ag_news_clean --quiet
    .venv/bin/ract detect ag_news --inject-noise symmetric --noise-rate 0.3 --output-dir out/ag_news_sym30 --quiet
    .venv/bin/python -m benchmarks.threshold_study out/ag_news_clean out/ag_news_sym30

Saves benchmarks/results/threshold_study.json.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import save_result
from ract.detection.metrics import detection_metrics
from ract.detection.threshold import apply_threshold

RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


def flags(scores: np.ndarray, disagrees: np.ndarray, rule: str, num_classes: int) -> tuple[np.ndarray, float]:
    """(flags, estimated rate) of ``rule`` with the disagreement rule, as the pipeline applies them."""
    floor = math.log(num_classes) if rule == "chance_floor" else None
    result = apply_threshold(scores, "auto", 0, min_noisy_score=floor, eligible=disagrees)
    return result.flagged, result.estimated_noise_rate


def summarise(truth: np.ndarray | None, scores: np.ndarray, flagged: np.ndarray, rate: float) -> dict:
    out = {"num_flagged": int(flagged.sum()), "estimated_noise_rate": rate}
    if truth is not None:
        m = detection_metrics(truth, scores, flagged)
        out.update({k: m[k] for k in ("precision", "recall", "f1", "f1_at_true_count")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clean_run", type=Path, help="output folder of `ract detect` on the clean labels")
    parser.add_argument("noisy_run", type=Path, help="output folder of `ract detect` with --inject-noise")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    clean = pd.read_csv(args.clean_run / "scores.csv")
    noisy = pd.read_csv(args.noisy_run / "scores.csv")
    if "is_noisy" not in noisy:
        parser.error(f"{args.noisy_run / 'scores.csv'} has no is_noisy column: run it with --inject-noise")
    num_classes = int(pd.concat([clean.given_label, noisy.given_label]).nunique())
    rules = ("two_component", "chance_floor")
    result: dict = {"config": {**vars(args), "num_classes": num_classes}, "runs": {}, "mixed": []}
    for name, table in (("clean", clean), ("noisy", noisy)):
        truth = table.is_noisy.to_numpy(bool) if "is_noisy" in table else None
        scores = table.noise_score.to_numpy(float)
        disagrees = (table.given_label != table.predicted_label).to_numpy()
        result["runs"][name] = {
            rule: summarise(truth, scores, *flags(scores, disagrees, rule, num_classes)) for rule in rules
        }
        print(name, result["runs"][name])
    rng = np.random.default_rng(args.seed)
    mislabelled = noisy[noisy.is_noisy.to_numpy(bool)]
    n = len(clean)
    for rate in RATES:
        k = min(int(round(rate * n)), len(mislabelled))
        part_clean = clean.iloc[rng.choice(n, n - k, replace=False)]
        part_noisy = mislabelled.iloc[rng.choice(len(mislabelled), k, replace=False)]
        scores = np.r_[part_clean.noise_score.to_numpy(float), part_noisy.noise_score.to_numpy(float)]
        disagrees = np.r_[
            (part_clean.given_label != part_clean.predicted_label).to_numpy(),
            (part_noisy.given_label != part_noisy.predicted_label).to_numpy(),
        ]
        truth = np.r_[np.zeros(n - k, bool), np.ones(k, bool)]
        row = {
            "noise_rate": rate,
            **{rule: summarise(truth, scores, *flags(scores, disagrees, rule, num_classes)) for rule in rules},
        }
        result["mixed"].append(row)
        print(row)
    save_result("threshold_study", result)


if __name__ == "__main__":
    main()
