"""Temporal separation: clean labels are fitted early, flipped labels late, and more so at low rank.

RACT's two adapters (ranks ``--ranks``, default 4 and 16, trained side by side on the same batches; detector
defaults otherwise: LoRA on the top 2 layers, AdamW lr 1e-3, batch 32) are trained for ``--epochs`` (10) on the
AG News train sample (``--rows`` seeded rows, all 10,000 by default) with ``--rate`` (30%) symmetric noise (noise
seed ``--seed``), scoring every example in eval mode after each epoch (``eval_every_epoch=True``). Then
``ract.theory.temporal_separation(eval_logits, noisy, noisy != clean, ranks)`` gives, per rank:

* the fraction of clean and of noisy (flipped) examples fitted (eval-mode argmax == the GIVEN label) per epoch;
* the median first-fitted epoch of clean and of noisy examples (1-based; epochs + 1 = never fitted);
* the gap: the mean over epochs of (clean fitted - noisy fitted), in [-1, 1]; also its largest value and epoch.

The theory predicts a larger gap at low rank (less capacity left to memorise the flipped labels):
``low_rank_gap_larger`` is gap(lowest rank) > gap(highest rank). The detector's AUROC/F1 are listed for context.

    .venv/bin/python -m benchmarks.theory_separation
    .venv/bin/python -m benchmarks.theory_separation --ranks 4,16 --rate 0.3 --epochs 10

Saves benchmarks/results/theory_separation.json and theory_separation.png (``--out-dir``, ``--name-suffix`` to
write elsewhere, e.g. smoke runs to /tmp).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from benchmarks.common import RESULTS, noisy_ag_news, save_result_with_figure
from ract.detection.metrics import detection_metrics
from ract.detection.pipeline import RACT
from ract.models.backbone import load_backbone
from ract.reporting.outputs import peak_rss_mb
from ract.theory import SeparationReport, temporal_separation


def plot(report: SeparationReport, title_extra: str) -> Figure:
    fig = Figure(figsize=(8.5, 5.5))
    ax = fig.subplots()
    epochs = np.arange(1, report.clean_fitted.shape[1] + 1)
    for i, rank in enumerate(report.ranks):
        colour = f"C{i}"
        ax.plot(epochs, 100 * report.clean_fitted[i], "o-", color=colour, label=f"rank {rank}: clean examples")
        ax.plot(epochs, 100 * report.noisy_fitted[i], "s--", color=colour,
                label=f"rank {rank}: noisy examples (gap {report.gap[i]:.3f})")  # fmt: skip
    ax.set_xlabel("epoch (eval-mode pass after each epoch)")
    ax.set_ylabel("examples fitted: eval-mode argmax == given label (%)")
    ax.set_xticks(epochs)
    ax.set_ylim(-2, 102)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"Temporal separation of clean and mislabelled examples, AG News\n{title_extra}", fontsize=10)
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="default: all 10,000")
    parser.add_argument("--rate", type=float, default=0.3, help="symmetric noise rate")
    parser.add_argument("--ranks", default="4,16", help="lowest first")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--adapted-layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="noise, init and batch order")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--name-suffix", default="", help="e.g. 'smoke' -> theory_separation_smoke.json")
    args = parser.parse_args()

    ranks = [int(r) for r in args.ranks.split(",")]
    name = "theory_separation" + (f"_{args.name_suffix}" if args.name_suffix else "")
    backbone = load_backbone()
    texts, noisy, clean = noisy_ag_news(args.rows, args.rate, "symmetric", seed=0, noise_seed=args.seed)
    is_noisy = noisy != clean

    start = time.perf_counter()
    detector = RACT(
        ranks=tuple(ranks),
        epochs=args.epochs,
        eval_every_epoch=True,
        adapted_layers=args.adapted_layers,
        seed=args.seed,
    ).fit(texts, noisy, 4, backbone=backbone)
    wall = time.perf_counter() - start
    report = temporal_separation(detector.dynamics_.eval_logits, noisy, is_noisy, ranks)

    adapters = report.to_dict()["adapters"]
    for i, row in enumerate(adapters):
        diff = report.clean_fitted[i] - report.noisy_fitted[i]
        row["max_gap"] = float(diff.max())
        row["max_gap_epoch"] = int(diff.argmax()) + 1
        print(
            f"rank {row['rank']:>2}: gap {row['gap']:.3f} (max {row['max_gap']:.3f} at epoch {row['max_gap_epoch']}), "
            f"median first-fitted epoch clean {row['median_first_fitted_clean']:g} / noisy "
            f"{row['median_first_fitted_noisy']:g}; last epoch fitted clean "
            f"{100 * row['clean_fitted'][-1]:.1f}% / noisy {100 * row['noisy_fitted'][-1]:.1f}%"
        )
    low_gt_high = bool(report.gap[0] > report.gap[-1])
    print(f"gap(rank {ranks[0]}) > gap(rank {ranks[-1]}): {low_gt_high}")
    metrics = detection_metrics(is_noisy, detector.noise_scores_, detector.label_issues_)
    result = {
        "config": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "detector": vars(detector.config),
        },
        "n": len(texts),
        "num_noisy": int(is_noisy.sum()),
        "realised_noise_rate": float(is_noisy.mean()),
        "never_fitted_epoch_value": args.epochs + 1,
        "adapters": adapters,
        "gap_low_rank": float(report.gap[0]),
        "gap_high_rank": float(report.gap[-1]),
        "low_rank_gap_larger": low_gt_high,
        "detection": {k: metrics[k] for k in ("auroc", "auprc", "f1", "f1_at_true_count", "num_flagged")},
        "seconds_per_epoch": detector.dynamics_.seconds_per_epoch,
        "wall_seconds": wall,
        "peak_rss_mb": peak_rss_mb(),
    }
    extra = (
        f"n = {len(texts):,}, {100 * args.rate:g}% symmetric noise, LoRA on the top {args.adapted_layers} layers\n"
        f"clean solid, noisy dashed; gap = mean over epochs of clean - noisy; "
        f"gap(r{ranks[0]}) > gap(r{ranks[-1]}): {low_gt_high}"
    )
    save_result_with_figure(name, result, plot(report, extra), args.out_dir)


if __name__ == "__main__":
    main()
