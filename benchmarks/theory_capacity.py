"""Capacity: how many RANDOM labels a rank-r LoRA adapter can memorise, against the predicted n* = P.

The theory (``ract.theory.capacity``): a rank-r update of a d x k weight has r(d + k - r) effective free
parameters; summed over the adapted projections plus the linear head that is P, and the predicted memorisation
size is n* = P (``lora_capacity(...).memorization_n()``). Beyond n*, not every labelling can be fitted, so the
fraction of random labels fitted should leave 100% around n ~ n* (up to the convention-level constant).

Cheap setting (not the detector's): LoRA (query and value) on the TOP transformer layer of MiniLM only
(``num_adapted_layers=1``, layer 5 of 0..5), a linear head on mean-pooled tokens; the five frozen layers are run
once for all texts and cached (``compute_start_states``). n* is counted for exactly that: the layer-5 query/value
projections and a 2-class head (``lora_capacity(backbone.model, r, backbone.target_modules, layers=[5],
num_classes=2)``). Texts: the AG News train sample (``noisy_ag_news``, seeded rows); each n uses the first n
texts of one seeded permutation (nested subsets), labels: one fair coin per text (C = 2, seed ``--seed``),
independent of the text.

For every (n, rank): a fresh ``LoraClassifier(backbone, rank, 2, num_adapted_layers=1, seed)`` trained with AdamW
(lr ``--lr`` = 3e-3, weight decay 0.01, batch 32, 6% linear warm-up then linear decay to 0 over ``--max-epochs``),
bf16 autocast when the CPU has it. After each epoch the fraction of the n random labels fitted (eval-mode argmax
== random label) is measured; training stops when it reaches 100%, when it has not improved on its best for
``--patience`` epochs, or at ``--max-epochs``. Reported: the fraction at the end (``fraction_fitted``) and the
best seen (``best_fraction_fitted``); per rank, the smallest n whose final fraction is < 99% ("leaves 100%") and
its ratio to n* (the theory with constant 1 predicts a ratio near 1; None when no n in the grid leaves 100%).
Chance level is the majority-label fraction (about 50%), listed per n.

    .venv/bin/python -m benchmarks.theory_capacity
    .venv/bin/python -m benchmarks.theory_capacity --ranks 1,2,4,8,16 --ns 250,500,1000,2000,4000,8000

Saves benchmarks/results/theory_capacity.json and theory_capacity.png (``--out-dir``, ``--name-suffix`` to
write elsewhere, e.g. smoke runs to /tmp).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from benchmarks.common import RESULTS, noisy_ag_news, save_result_with_figure
from ract.detection.pipeline import resolve_precision
from ract.models.backbone import Backbone, load_backbone
from ract.models.classifier import LoraClassifier
from ract.reporting.outputs import peak_rss_mb
from ract.theory import lora_capacity
from ract.training.features import (
    StartStates,
    TokenizedTexts,
    autocast_context,
    compute_start_states,
    length_bucketed_batches,
    tokenize,
)
from ract.training.loop import TrainConfig, make_optimizers, predict_logits

NUM_CLASSES = 2
LEAVES_100 = 0.99  # a final fraction below this "leaves 100%"


def fit_random_labels(
    backbone: Backbone,
    rank: int,
    tokens: TokenizedTexts,
    states: StartStates,
    labels: np.ndarray,
    config: TrainConfig,
    patience: int,
) -> dict:
    """Train one top-layer LoRA classifier on ``labels`` until its training accuracy stops improving."""
    model = LoraClassifier(backbone, rank, NUM_CLASSES, num_adapted_layers=1, seed=config.seed)
    model.set_layer_output_is_tuple(states.layer_output_is_tuple)
    steps = math.ceil(len(tokens) / config.batch_size) * config.epochs
    (optimizer,), (scheduler,) = make_optimizers([model], config, steps)
    targets = torch.from_numpy(labels.astype(np.int64))
    rng = np.random.default_rng(config.seed)
    history: list[float] = []
    best, stale = -1.0, 0
    start = time.perf_counter()
    for _ in range(config.epochs):
        model.train()
        for idx in length_bucketed_batches(tokens.lengths, config.batch_size, rng):
            input_ids, mask = tokens.batch(idx)
            with autocast_context(config.precision):
                logits = model(input_ids, mask, states.batch(idx))
            loss = F.cross_entropy(logits.float(), targets[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        fraction = float((predict_logits(model, tokens, states, config.precision).argmax(1) == labels).mean())
        history.append(fraction)
        if fraction > best:
            best, stale = fraction, 0
        else:
            stale += 1
        if fraction >= 1.0 or stale >= patience:
            break
    return {
        "fraction_fitted": history[-1],
        "best_fraction_fitted": max(history),
        "epochs_run": len(history),
        "fraction_per_epoch": history,
        "train_seconds": time.perf_counter() - start,
    }


def summarise(cells: list[dict], ranks: list[int], n_star: dict[int, int]) -> list[dict]:
    """Per rank: the smallest n whose final fraction is < LEAVES_100, and its ratio to n*."""
    out = []
    for rank in ranks:
        mine = sorted((c for c in cells if c["rank"] == rank), key=lambda c: c["n"])
        below = [c["n"] for c in mine if c["fraction_fitted"] < LEAVES_100]
        first = below[0] if below else None
        out.append(
            {
                "rank": rank,
                "n_star": n_star[rank],
                "leaves_100_n": first,
                "leaves_100_ratio_to_n_star": None if first is None else first / n_star[rank],
                "largest_n_fitted_100": max((c["n"] for c in mine if c["fraction_fitted"] >= LEAVES_100), default=None),
                "fraction_at_largest_n": mine[-1]["fraction_fitted"] if mine else None,
            }
        )
    return out


def plot(cells: list[dict], ranks: list[int], n_star: dict[int, int], chance: dict[int, float]) -> Figure:
    fig = Figure(figsize=(12, 4.8))
    left, right = fig.subplots(1, 2)
    colours = [f"C{i}" for i in range(len(ranks))]
    for rank, colour in zip(ranks, colours, strict=True):
        mine = sorted((c for c in cells if c["rank"] == rank), key=lambda c: c["n"])
        ns = np.array([c["n"] for c in mine], dtype=float)
        frac = np.array([100 * c["fraction_fitted"] for c in mine])
        label = f"rank {rank} (n* = {n_star[rank]:,})"
        left.plot(ns / n_star[rank], frac, "o-", color=colour, label=label)
        right.plot(ns, frac, "o-", color=colour, label=label)
        right.axvline(n_star[rank], color=colour, linestyle=":", linewidth=1)
    chance_ns = sorted(chance)
    right.plot(chance_ns, [100 * chance[n] for n in chance_ns], "k--", linewidth=1, label="chance (majority label)")
    left.axvline(1.0, color="grey", linestyle=":", label="n = n* (predicted)")
    for ax in (left, right):
        ax.axhline(100 * LEAVES_100, color="grey", linestyle="--", linewidth=1, label="99% (leaves 100%)")
        ax.set_xscale("log")
        ax.set_ylabel("random labels fitted at the end (%)")
        ax.set_ylim(40, 101)
        ax.grid(True, which="both", alpha=0.3)
    left.set_xlabel("n / n*  (training examples / predicted memorisation size, log scale)")
    left.set_title("Fitted fraction vs n / n*")
    left.legend(fontsize=8, loc="lower left")
    right.set_xlabel("n, training examples (log scale); dotted: each rank's n*")
    right.set_title("Fitted fraction vs n")
    right.legend(fontsize=8, loc="lower left")
    fig.suptitle("LoRA capacity: random binary labels on AG News texts, LoRA on MiniLM's top layer only")
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", default="1,2,4,8,16")
    parser.add_argument("--ns", default="250,500,1000,2000,4000,8000", help="training-set sizes n")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=3, help="stop after this many epochs without improvement")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seed", type=int, default=0, help="random labels, subset order, init, batch order")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--name-suffix", default="", help="e.g. 'smoke' -> theory_capacity_smoke.json")
    args = parser.parse_args()

    ranks = [int(r) for r in args.ranks.split(",")]
    ns = sorted(int(n) for n in args.ns.split(","))
    precision = resolve_precision(args.precision)
    name = "theory_capacity" + (f"_{args.name_suffix}" if args.name_suffix else "")
    backbone = load_backbone()
    top = backbone.num_layers - 1

    texts, _, _ = noisy_ag_news(max(ns))
    if len(texts) < max(ns):
        raise SystemExit(f"--ns: the AG News sample has {len(texts)} texts, fewer than n = {max(ns)}")
    rng = np.random.default_rng(args.seed)
    random_labels = rng.integers(0, NUM_CLASSES, size=len(texts))
    order = rng.permutation(len(texts))

    start = time.perf_counter()
    tokens = tokenize(texts, backbone.tokenizer, args.max_length)
    states = compute_start_states(backbone, tokens, top, precision=precision)
    cache_seconds = time.perf_counter() - start

    capacities = {
        r: lora_capacity(backbone.model, r, backbone.target_modules, layers=[top], num_classes=NUM_CLASSES)
        for r in ranks
    }
    n_star = {r: capacities[r].memorization_n() for r in ranks}
    config = TrainConfig(
        epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr, precision=precision, seed=args.seed
    )
    cells: list[dict] = []
    chance: dict[int, float] = {}
    for n in ns:
        idx = np.sort(order[:n])
        sub_tokens, sub_states, labels = tokens.subset(idx), states.subset(idx), random_labels[idx]
        chance[n] = float(max(labels.mean(), 1 - labels.mean()))
        for rank in ranks:
            cell = {"n": n, "rank": rank, "n_star": n_star[rank], "n_over_n_star": n / n_star[rank]}
            cell.update(fit_random_labels(backbone, rank, sub_tokens, sub_states, labels, config, args.patience))
            cells.append(cell)
            print(
                f"n {n:>5}  rank {rank:>2}  n/n* {cell['n_over_n_star']:.3f}  "
                f"fitted {100 * cell['fraction_fitted']:.1f}%  "
                f"({cell['epochs_run']} epochs, {cell['train_seconds']:.0f}s)",
                flush=True,
            )

    summary = summarise(cells, ranks, n_star)
    for row in summary:
        ratio = row["leaves_100_ratio_to_n_star"]
        print(
            f"rank {row['rank']:>2}: n* = {row['n_star']:,}; leaves 100% at n = {row['leaves_100_n']}"
            + ("" if ratio is None else f" (= {ratio:.3f} n*)")
        )
    result = {
        "config": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "precision_resolved": precision,
            "adapted_layer": top,
            "target_modules": backbone.target_modules,
            "num_classes": NUM_CLASSES,
            "leaves_100_threshold": LEAVES_100,
        },
        "capacity": {
            r: {
                "n_star": n_star[r],
                "P": capacities[r].total,
                "lora_dof": capacities[r].total_lora_dof,
                "head_params": capacities[r].head_params,
                "modules": [list(m) for m in capacities[r].modules],
            }
            for r in ranks
        },
        "chance_fraction": chance,
        "cells": cells,
        "summary": summary,
        "cache_frozen_layers_seconds": cache_seconds,
        "peak_rss_mb": peak_rss_mb(),
    }
    save_result_with_figure(name, result, plot(cells, ranks, n_star, chance), args.out_dir)


if __name__ == "__main__":
    main()
