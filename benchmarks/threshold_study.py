"""The automatic threshold on clean and noisy data: the two-component rule against two loss floors.

Reads the ``scores.csv`` of finished ``ract detect`` runs on the same data, one on the clean labels and any number
with injected noise (those have the ``is_noisy`` column), and re-thresholds their ``noise_score`` (mean loss in
nats) with the rules of :func:`ract.detection.threshold.apply_threshold`:

- ``two_component``: the plain two-Gaussian mixture on log scores;
- ``chance_floor``: three components, the noisy group being those whose median loss reaches log(C) (the given
  label gets at most a uniform guess's probability; the default until 2026-12-05);
- ``even_odds_floor``: the same with the floor log(2) (the given label gets at most even odds; the default).

Each is followed by the pipeline's disagreement rule (a row predicted as its given label is never flagged).
Each real run is also thresholded by the ``confident`` rule (``--threshold confident``: cleanlab's
``find_label_issues`` on the run's in-sample probabilities from ``dynamics.npz``, softmax of both adapters averaged
over adapters and epochs; needs the ``cleanlab`` extra).
To see lower noise rates without a training run per rate, it also mixes rows: clean-run scores for the clean
part and the first noisy run's scores of its mislabelled rows for the noisy part, at 1-30% (an approximation: in
a real run the clean rows' losses come from a model trained on noisy labels).

    .venv/bin/ract detect ag_news --output-dir out/ag_news_clean --quiet
    .venv/bin/ract detect ag_news --inject-noise symmetric --noise-rate 0.3 --output-dir out/ag_news_sym30 --quiet
    # ... and the same with symmetric 0.1, asymmetric 0.2 and 0.4, instance 0.4 (out/ag_news_sym10, ...)
    .venv/bin/python -m benchmarks.threshold_study out/ag_news_clean out/ag_news_sym30 out/ag_news_sym10 \
        out/ag_news_asym20 out/ag_news_asym40 out/ag_news_inst40

Saves benchmarks/results/threshold_study.json.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import save_result
from ract.detection.metrics import detection_metrics
from ract.detection.scores import all_adapter_probabilities
from ract.detection.threshold import apply_threshold, confident_learning

RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


# rule name -> its floor in nats, from the number of classes C (None: no floor, two components)
RULES = {"two_component": lambda c: None, "chance_floor": math.log, "even_odds_floor": lambda c: math.log(2)}


def flags(scores: np.ndarray, disagrees: np.ndarray, rule: str, num_classes: int) -> tuple[np.ndarray, float]:
    """(flags, estimated rate) of ``rule`` with the disagreement rule, as the pipeline applies them."""
    result = apply_threshold(scores, "auto", 0, min_noisy_score=RULES[rule](num_classes), eligible=disagrees)
    return result.flagged, result.estimated_noise_rate


def summarise(truth: np.ndarray | None, scores: np.ndarray, flagged: np.ndarray, rate: float | None) -> dict:
    out = {"num_flagged": int(flagged.sum()), "estimated_noise_rate": rate}
    if truth is not None:
        m = detection_metrics(truth, scores, flagged)
        out.update({k: m[k] for k in ("precision", "recall", "f1", "f1_at_true_count")})
    return out


def confident_flags(folder: Path, table: pd.DataFrame) -> np.ndarray:
    """(n,) flags of the ``confident`` rule for the rows of ``table`` (scores.csv, any order), from the run's
    dynamics.npz, as ``ract detect --threshold confident`` would flag them."""
    dynamics = np.load(folder / "dynamics.npz")
    probs = all_adapter_probabilities(dynamics["logits"].astype(np.float32))  # (n, C), rows in input order
    position = table["index"].rank(method="first").to_numpy(int) - 1  # input order = ascending data index
    return confident_learning(dynamics["labels"][position], probs[position]).flagged


def run_setting(folder: Path) -> str:
    """How the run's labels were made, from its summary.json: ``clean`` or e.g. ``asymmetric 0.4``."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    noise = summary.get("noise_injection")
    return f"{noise['kind']} {noise['requested_rate']}" if noise else "clean"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clean_run", type=Path, help="output folder of `ract detect` on the clean labels")
    parser.add_argument("noisy_runs", type=Path, nargs="+", help="output folders of `ract detect --inject-noise`")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tables = {folder: pd.read_csv(folder / "scores.csv") for folder in [args.clean_run, *args.noisy_runs]}
    for folder in args.noisy_runs:
        if "is_noisy" not in tables[folder]:
            parser.error(f"{folder / 'scores.csv'} has no is_noisy column: run it with --inject-noise")
    clean, noisy = tables[args.clean_run], tables[args.noisy_runs[0]]
    num_classes = int(pd.concat([t.given_label for t in tables.values()]).nunique())
    config = {"clean_run": str(args.clean_run), "noisy_runs": [str(f) for f in args.noisy_runs], "seed": args.seed}
    result: dict = {"config": {**config, "num_classes": num_classes}, "runs": {}, "mixed": []}
    for folder, table in tables.items():
        truth = table.is_noisy.to_numpy(bool) if "is_noisy" in table else None
        scores = table.noise_score.to_numpy(float)
        disagrees = (table.given_label != table.predicted_label).to_numpy()
        result["runs"][str(folder)] = {
            "setting": run_setting(folder),
            **{rule: summarise(truth, scores, *flags(scores, disagrees, rule, num_classes)) for rule in RULES},
            "confident": summarise(truth, scores, confident_flags(folder, table), None),
        }
        print(folder, result["runs"][str(folder)])
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
            **{rule: summarise(truth, scores, *flags(scores, disagrees, rule, num_classes)) for rule in RULES},
        }
        result["mixed"].append(row)
        print(row)
    save_result("threshold_study", result)


if __name__ == "__main__":
    main()
