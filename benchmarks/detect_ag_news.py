"""Default RACT detection on the full AG News train sample (10,000 rows), 30% symmetric noise, several seeds.

Each seed draws its own noise and its own initialisation / batch order. Reports precision, recall, F1 (auto
threshold), F1 at the true noisy count, AUROC, AUPRC, estimated noise rate and wall time, per seed and as
mean and standard deviation.

    .venv/bin/python -m benchmarks.detect_ag_news --seeds 0,1,2
    .venv/bin/python -m benchmarks.detect_ag_news --seeds 0 --dropouts 0,model   # side by side, alternating
    .venv/bin/python -m benchmarks.detect_ag_news --seeds 0 --model mpnet        # the base-size encoder

Saves benchmarks/results/detect_ag_news_<kind><rate>_k<layers>[_dropout<list>][_<model>].json.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from benchmarks.common import noisy_ag_news, save_result
from ract.cli.arguments import parse_dropout
from ract.detection.config import DetectConfig
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
    parser.add_argument("--model", default=DetectConfig().model, help="'minilm', 'mpnet', a hub id or a folder")
    parser.add_argument(
        "--dropouts", default=None, help="comma-separated dropout settings run in turn per seed (a number or 'model')"
    )
    args = parser.parse_args()

    adapted = None if args.adapted_layers == "all" else int(args.adapted_layers)
    backbone = load_backbone(args.model)
    runs = []
    dropouts = [parse_dropout(d) for d in args.dropouts.split(",")] if args.dropouts else [DetectConfig().dropout]
    for seed, dropout in itertools.product((int(s) for s in args.seeds.split(",")), dropouts):
        texts, noisy, clean = noisy_ag_news(args.rows, args.rate, args.kind, seed=0, noise_seed=seed)
        start = time.perf_counter()
        detector = RACT(seed=seed, adapted_layers=adapted, epochs=args.epochs, dropout=dropout, model=args.model)
        detector.fit(texts, noisy, 4, backbone=backbone)
        wall = time.perf_counter() - start
        metrics = detection_metrics(noisy != clean, detector.noise_scores_, detector.label_issues_)
        runs.append(
            {
                "seed": seed,
                "dropout": dropout,
                "wall_seconds": wall,
                "timings_seconds": detector.timings_,
                "estimated_noise_rate": detector.estimated_noise_rate_,
                "realised_noise_rate": float((noisy != clean).mean()),
                **{k: metrics[k] for k in (*KEYS, "num_flagged")},
            }
        )
        print(
            f"seed {seed}, dropout {dropout}: " + ", ".join(f"{k} {runs[-1][k]:.4f}" for k in KEYS) + f", {wall:.0f}s",
            flush=True,
        )
    summary = {
        str(d): {
            k: {"mean": float(np.mean([r[k] for r in runs if r["dropout"] == d])),
                "std": float(np.std([r[k] for r in runs if r["dropout"] == d]))}
            for k in (*KEYS, "wall_seconds", "estimated_noise_rate")
        }
        for d in dropouts
    }  # fmt: skip
    result = {
        "config": {**vars(args), "detector": vars(detector.config)},
        "runs": runs,
        "summary": summary,
        "peak_rss_mb": peak_rss_mb(),
    }
    suffix = f"_dropout{args.dropouts.replace(',', '-')}" if args.dropouts else ""
    if args.model != DetectConfig().model:
        suffix += "_" + "".join(c if c.isalnum() else "-" for c in args.model)
    save_result(f"detect_ag_news_{args.kind}{int(args.rate * 100)}_k{args.adapted_layers}{suffix}", result)


if __name__ == "__main__":
    main()
