"""Default RACT detection on the full AG News train sample (10,000 rows), 30% symmetric noise, several seeds.

Each seed draws its own noise and its own initialisation / batch order. Reports precision, recall, F1 (auto
threshold), F1 at the true noisy count, AUROC, AUPRC, estimated noise rate and wall time, per seed and as
mean and standard deviation.

    .venv/bin/python -m benchmarks.detect_ag_news --seeds 0,1,2

Saves benchmarks/results/detect_ag_news_<kind><rate>.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import noisy_ag_news, save_result
from ract.detection.metrics import detection_metrics
from ract.detection.pipeline import RACT
from ract.models.backbone import load_backbone
from ract.reporting.outputs import peak_rss_mb

KEYS = ("precision", "recall", "f1", "f1_at_true_count", "auroc", "auprc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="default: all 10,000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--kind", default="symmetric")
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--adapted-layers", default="2", help="a number or 'all'")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()

    adapted = None if args.adapted_layers == "all" else int(args.adapted_layers)
    backbone = load_backbone()
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        texts, noisy, clean = noisy_ag_news(args.rows, args.rate, args.kind, seed=0, noise_seed=seed)
        start = time.perf_counter()
        detector = RACT(seed=seed, adapted_layers=adapted, epochs=args.epochs).fit(texts, noisy, 4, backbone=backbone)
        wall = time.perf_counter() - start
        metrics = detection_metrics(noisy != clean, detector.noise_scores_, detector.label_issues_)
        runs.append(
            {
                "seed": seed,
                "wall_seconds": wall,
                "timings_seconds": detector.timings_,
                "estimated_noise_rate": detector.estimated_noise_rate_,
                "realised_noise_rate": float((noisy != clean).mean()),
                **{k: metrics[k] for k in (*KEYS, "num_flagged")},
            }
        )
        print(f"seed {seed}: " + ", ".join(f"{k} {runs[-1][k]:.4f}" for k in KEYS) + f", {wall:.0f}s", flush=True)
    summary = {k: {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs]))}
               for k in (*KEYS, "wall_seconds", "estimated_noise_rate")}  # fmt: skip
    result = {
        "config": {**vars(args), "detector": vars(detector.config)},
        "runs": runs,
        "summary": summary,
        "peak_rss_mb": peak_rss_mb(),
    }
    save_result(f"detect_ag_news_{args.kind}{int(args.rate * 100)}_k{args.adapted_layers}", result)


if __name__ == "__main__":
    main()
