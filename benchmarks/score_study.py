"""Which noise score, over which epochs? The measurement behind ract's default score (docs/detection.md).

Trains the two adapters (ranks 4 and 16) once for ``--epochs`` epochs on the AG News sample with 30% symmetric
noise, recording every example's logits both in the training pass and in an eval-mode pass after each epoch, then
evaluates candidate scores on that one record: each adapter's loss per epoch, the paper's bare discrepancy
loss_low - loss_high per epoch, the mean loss over the first e epochs, margins, and mixtures.

    .venv/bin/python -m benchmarks.score_study --epochs 10 --adapted-layers 2

Saves benchmarks/results/score_study_<...>.json.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.common import noisy_ag_news, save_result
from ract.detection.metrics import detection_metrics
from ract.detection.pipeline import RACT
from ract.detection.scores import SCORES
from ract.detection.threshold import apply_threshold
from ract.training.loop import per_example_loss


def evaluate(is_noisy: np.ndarray, scores: np.ndarray, with_auto: bool = False) -> dict:
    flagged = apply_threshold(scores, "auto").flagged if with_auto else None
    m = detection_metrics(is_noisy, scores, flagged)
    keys = ["auroc", "auprc", "f1_at_true_count"] + (["precision", "recall", "f1", "num_flagged"] if with_auto else [])
    return {k: m[k] for k in keys}


def study(logits: np.ndarray, noisy: np.ndarray, is_noisy: np.ndarray) -> dict:
    """Every candidate score computed from one (A, E, n, C) record."""
    losses = per_example_loss(logits, noisy)  # (A, E, n)
    epochs = logits.shape[1]
    out: dict = {"per_epoch": [], "first_e_epochs": [], "named_scores": {}}
    for e in range(epochs):
        out["per_epoch"].append(
            {
                "epoch": e + 1,
                "loss_rank_low": evaluate(is_noisy, losses[0, e]),
                "loss_rank_high": evaluate(is_noisy, losses[-1, e]),
                "discrepancy_low_minus_high": evaluate(is_noisy, losses[0, e] - losses[-1, e]),
            }
        )
        out["first_e_epochs"].append(
            {
                "epochs": e + 1,
                "mean_loss_both": evaluate(is_noisy, losses[:, : e + 1].mean((0, 1)), with_auto=True),
                "mean_loss_low": evaluate(is_noisy, losses[0, : e + 1].mean(0)),
                "mean_loss_high": evaluate(is_noisy, losses[-1, : e + 1].mean(0)),
            }
        )
    for name, fn in SCORES.items():
        out["named_scores"][name] = evaluate(is_noisy, fn(logits, noisy), with_auto=True)
    mean_loss, disc = losses.mean((0, 1)), (losses[0] - losses[-1]).mean(0)
    out["mixtures"] = {
        f"mean_loss + {lam} * discrepancy_mean": evaluate(is_noisy, mean_loss + lam * disc) for lam in (0.25, 0.5, 1.0)
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="default: all 10,000")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--adapted-layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts, noisy, clean = noisy_ag_news(args.rows, seed=args.seed)
    is_noisy = noisy != clean
    detector = RACT(epochs=args.epochs, adapted_layers=args.adapted_layers, seed=args.seed, eval_every_epoch=True)
    detector.fit(texts, noisy, 4)
    dyn = detector.dynamics_
    acc = [
        {"epoch": e + 1, "low_rank_accuracy_vs_clean": float((dyn.eval_logits[0, e].argmax(1) == clean).mean())}
        for e in range(args.epochs)
    ]
    result = {
        "config": {**vars(args), "detector": vars(detector.config)},
        "timings_seconds": detector.timings_,
        "seconds_per_epoch": dyn.seconds_per_epoch,
        "train_pass_logits": study(dyn.train_logits, noisy, is_noisy),
        "eval_pass_logits": study(dyn.eval_logits, noisy, is_noisy),
        "train_accuracy_vs_clean_labels": acc,
    }
    save_result(f"score_study_rows{args.rows or 10000}_e{args.epochs}_k{args.adapted_layers}", result)


if __name__ == "__main__":
    main()
