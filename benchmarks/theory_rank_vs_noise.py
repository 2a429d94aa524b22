"""Optimal rank vs label noise: measured best LoRA rank per noise rate against r* = c (n / (d (1 + eta)))^(1/(2a+1)).

Grid: one LoRA adapter per rank in ``--ranks`` (default 1..64) and per symmetric noise rate in ``--noise``
(default 0..50%), each trained on the AG News train sample (``--rows`` seeded rows, all 10,000 by default; noise
from ``ract.noise.inject_noise`` with noise seed ``--seed``) and scored by test accuracy on the clean AG News test
split (``--test-rows`` seeded rows, all 7,600 by default). Same recipe as the detector's adapters: LoRA on the top
``--adapted-layers`` (2) layers of MiniLM, AdamW lr 1e-3, batch 32, ``--epochs`` (4), init and batch-order seed
``--seed``. The text is tokenized and the frozen layers are run ONCE, for the train and for the test texts; each
cell only trains a fresh ``LoraClassifier`` with ``train_adapters([model], ...)`` and scores the test set with
``predict_logits`` from the cached test states.

The theory (``ract.theory.optimal_rank``), per noise rate eta:

* measured best rank: the rank of highest test accuracy (ties: the smaller rank); ``ranks_within_1se`` lists
  every rank within one binomial standard error (sqrt(p(1 - p) / n_test)) of the best, as a reading of how
  sharp the optimum is;
* alpha: spectral decay of the trained highest-rank adapter (rank 64) at the lowest noise rate (0%),
  ``estimate_alpha_from_model(model.encoder)`` (mean over its LoRA modules of the log-log slope);
* c: ``calibrate_c(best_rank_at_0, n, d=384, eta=0, alpha)``, so the formula is exact at 0% by construction;
* predicted r*(eta) = ``optimal_rank(n, d, eta, alpha, c)``, the nearest rank in the grid on a log scale
  (``recommend_rank``), and the ratio measured best rank / predicted r*.

The JSON (and the figure) are rewritten after every noise rate, so a stopped run keeps what finished.

    .venv/bin/python -m benchmarks.theory_rank_vs_noise
    .venv/bin/python -m benchmarks.theory_rank_vs_noise --ranks 1,2,4,8,16,32,64 --noise 0,0.1,0.2,0.3,0.4,0.5

Saves benchmarks/results/theory_rank_vs_noise.json and theory_rank_vs_noise.png (``--out-dir``,
``--name-suffix`` to write elsewhere, e.g. smoke runs to /tmp).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmarks.common import RESULTS, save_result_with_figure
from ract.cli.train import align_labels
from ract.data import load_data
from ract.detection.pipeline import resolve_precision
from ract.errors import RactError
from ract.models.backbone import load_backbone
from ract.models.classifier import LoraClassifier
from ract.noise import inject_noise
from ract.reporting.outputs import peak_rss_mb
from ract.theory import (
    calibrate_c,
    estimate_alpha_from_model,
    lora_singular_values,
    optimal_rank,
    recommend_rank,
)
from ract.training.features import compute_start_states, tokenize
from ract.training.loop import TrainConfig, predict_logits, train_adapters


def best_rank(accuracies: dict[int, float], n_test: int) -> tuple[int, list[int]]:
    """(rank of highest accuracy, smallest on ties; every rank within one binomial standard error of it)."""
    top = max(accuracies.values())
    best = min(r for r, a in accuracies.items() if a == top)
    se = math.sqrt(top * (1 - top) / n_test)
    return best, sorted(r for r, a in accuracies.items() if a >= top - se)


def theory(rows: list[dict], ranks: list[int], n: int, d: int, alpha: float | None) -> dict:
    """c calibrated at the lowest noise rate, and predicted r* / ratio for every finished noise rate."""
    if alpha is None or not rows:
        return {"c": None, "reference_noise": None}
    ref = rows[0]
    c = calibrate_c(ref["best_rank"], n, d, ref["noise"], alpha)
    for row in rows:
        predicted = optimal_rank(n, d, row["noise"], alpha, c)
        row["predicted_r_star"] = predicted
        row["predicted_rank_in_grid"] = recommend_rank(n, d, row["noise"], alpha, c, choices=ranks)
        row["measured_over_predicted"] = row["best_rank"] / predicted
    return {"c": c, "reference_noise": ref["noise"], "reference_best_rank": ref["best_rank"]}


def plot(rows: list[dict], ranks: list[int], noise: list[float], title_extra: str) -> Figure:
    acc = np.full((len(ranks), len(noise)), np.nan)
    for row in rows:
        j = noise.index(row["noise"])
        for i, r in enumerate(ranks):
            acc[i, j] = 100 * row["test_accuracy"][r]
    fig = Figure(figsize=(max(8.5, 1.3 * len(noise) + 3.5), 0.55 * len(ranks) + 3))
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(acc), origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label="test accuracy (%)")
    finite = acc[np.isfinite(acc)]
    middle = float(finite.mean()) if finite.size else 0.0
    for i in range(len(ranks)):
        for j in range(len(noise)):
            if np.isfinite(acc[i, j]):
                colour = "black" if acc[i, j] > middle else "white"
                ax.text(j, i - 0.3, f"{acc[i, j]:.1f}", ha="center", va="center", fontsize=8, color=colour)
    xs = [noise.index(row["noise"]) for row in rows]
    ax.scatter(xs, [ranks.index(row["best_rank"]) for row in rows], s=500, facecolors="none", edgecolors="red",
               linewidths=2)  # fmt: skip
    handles = [
        Line2D([], [], marker="o", markersize=12, markerfacecolor="none", markeredgecolor="red", linestyle="none")
    ]
    labels = ["measured best rank (max test accuracy)"]
    predicted = [row.get("predicted_r_star") for row in rows]
    if all(p is not None for p in predicted) and predicted:
        # ranks sit at row indices 0..R-1; place r* between them by log-rank interpolation
        ys = np.interp(np.log(predicted), np.log(ranks), np.arange(len(ranks)), left=-0.5, right=len(ranks) - 0.5)
        (line,) = ax.plot(xs, ys, "--", color="magenta", marker="s", linewidth=2, markersize=5)
        handles.append(line)
        labels.append("predicted r* (c calibrated at the lowest noise)")
    ax.set_xticks(range(len(noise)), [f"{100 * x:g}%" for x in noise])
    ax.set_yticks(range(len(ranks)), [str(r) for r in ranks])
    ax.set_xlabel("symmetric label noise in the training labels (% of labels flipped)")
    ax.set_ylabel("LoRA rank r (log2 spacing)")
    ax.set_title(f"Test accuracy by LoRA rank and label noise, AG News\n{title_extra}", fontsize=10)
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=None, help="train rows; default: all 10,000")
    parser.add_argument("--test-rows", type=int, default=None, help="test rows; default: the whole test split")
    parser.add_argument("--ranks", default="1,2,4,8,16,32,64")
    parser.add_argument("--noise", default="0,0.1,0.2,0.3,0.4,0.5", help="symmetric noise rates; lowest = reference")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--adapted-layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0, help="noise, init and batch order")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--name-suffix", default="", help="e.g. 'smoke' -> theory_rank_vs_noise_smoke.json")
    args = parser.parse_args()

    ranks = sorted(int(r) for r in args.ranks.split(","))
    noise = sorted(float(x) for x in args.noise.split(","))
    precision = resolve_precision(args.precision)
    name = "theory_rank_vs_noise" + (f"_{args.name_suffix}" if args.name_suffix else "")
    backbone = load_backbone()
    d = backbone.hidden_size

    train = load_data("ag_news", split="train", limit=args.rows, seed=0)
    test = align_labels(load_data("ag_news", split="test", limit=args.test_rows, seed=0), train.label_names)
    n, n_test, num_classes = len(train.texts), len(test.texts), train.num_classes

    start = time.perf_counter()
    tokens = tokenize(train.texts, backbone.tokenizer, args.max_length)
    test_tokens = tokenize(test.texts, backbone.tokenizer, args.max_length)
    first = backbone.num_layers - max(1, min(args.adapted_layers, backbone.num_layers))
    states = compute_start_states(backbone, tokens, first, precision) if first > 0 else None
    test_states = compute_start_states(backbone, test_tokens, first, precision) if first > 0 else None
    cache_seconds = time.perf_counter() - start
    print(f"cached frozen layers 0..{first - 1} for {n} train + {n_test} test texts in {cache_seconds:.0f}s")

    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, precision=precision, seed=args.seed
    )
    rows: list[dict] = []
    alpha: dict | None = None
    for rate in noise:
        noisy = inject_noise(train.labels, num_classes, "symmetric", rate, args.seed)
        accuracies: dict[int, float] = {}
        seconds: dict[int, float] = {}
        for rank in ranks:
            model = LoraClassifier(backbone, rank, num_classes, args.adapted_layers, seed=args.seed)
            if states is not None:
                model.set_layer_output_is_tuple(states.layer_output_is_tuple)
            t0 = time.perf_counter()
            train_adapters([model], tokens, noisy.noisy_labels, config, states, False)
            seconds[rank] = time.perf_counter() - t0
            pred = predict_logits(model, test_tokens, test_states, precision).argmax(1)
            accuracies[rank] = float((pred == test.labels).mean())
            print(f"noise {100 * rate:>4.0f}%  rank {rank:>2}  test accuracy {100 * accuracies[rank]:.2f}%"
                  f"  ({seconds[rank]:.0f}s)", flush=True)  # fmt: skip
            if rate == noise[0] and rank == ranks[-1]:
                try:
                    a, r2 = estimate_alpha_from_model(model.encoder)
                    spectra = lora_singular_values(model.encoder)
                    alpha = {
                        "alpha": a,
                        "r_squared": r2,
                        "from_rank": rank,
                        "from_noise": rate,
                        "singular_values": {k: [float(v) for v in s] for k, s in spectra.items()},
                    }
                    print(f"alpha = {a:.3f} (R^2 {r2:.3f}) from the rank-{rank} adapter at {100 * rate:g}% noise")
                except RactError as err:
                    alpha = {"alpha": None, "error": str(err), "from_rank": rank, "from_noise": rate}
        best, near = best_rank(accuracies, n_test)
        rows.append(
            {
                "noise": rate,
                "realised_noise_rate": noisy.realised_rate,
                "test_accuracy": accuracies,
                "train_seconds": seconds,
                "best_rank": best,
                "best_test_accuracy": accuracies[best],
                "ranks_within_1se": near,
            }
        )
        fit = theory(rows, ranks, n, d, None if alpha is None else alpha["alpha"])
        for row in rows:
            if "predicted_r_star" in row:
                print(
                    f"noise {100 * row['noise']:>4.0f}%: best rank {row['best_rank']}, predicted r* "
                    f"{row['predicted_r_star']:.2f}, measured/predicted {row['measured_over_predicted']:.2f}"
                )
        result = {
            "config": {
                **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                "precision_resolved": precision,
                "n_train": n,
                "n_test": n_test,
                "d": d,
                "first_adapted_layer": first,
                "finished_noise_rates": [row["noise"] for row in rows],
            },
            "alpha": alpha,
            "calibration": fit,
            "per_noise": rows,
            "cache_frozen_layers_seconds": cache_seconds,
            "peak_rss_mb": peak_rss_mb(),
        }
        layers = args.adapted_layers
        extra = f"n = {n:,} train, {n_test:,} test, {args.epochs} epoch(s), LoRA on the top {layers} layers"
        if fit["c"] is not None:
            extra += f"; alpha = {alpha['alpha']:.2f}, c = {fit['c']:.2f}"
        save_result_with_figure(name, result, plot(rows, ranks, noise, extra), args.out_dir)


if __name__ == "__main__":
    main()
