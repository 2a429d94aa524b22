"""Throughput of each engine option, one at a time, on the same AG News rows (docs/performance.md).

For every combination of precision (fp32, bf16), adapted layers (1, 2, 3, all 6, i.e. how much of the network is
cached as frozen) and padding (dynamic length buckets vs. padding every text to 128 tokens), trains the two
default adapters (ranks 4 and 16) for one epoch and reports adapter-examples per second (one example through one
adapter, forward + backward + step), plus the one-off cache time. Quality is not measured here (see
benchmarks/score_study.py and benchmarks/speed.py).

    .venv/bin/python -m benchmarks.engine_options --rows 1024

Saves benchmarks/results/engine_options.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import noisy_ag_news, save_result
from ract.models.backbone import load_backbone
from ract.models.classifier import LoraClassifier
from ract.training import features
from ract.training.features import compute_start_states, tokenize
from ract.training.loop import TrainConfig, train_adapters


def measure(backbone, tokens, labels, precision: str, adapted: int, batch_size: int) -> dict:
    models = [LoraClassifier(backbone, r, 4, adapted, seed=0) for r in (4, 16)]
    start = time.perf_counter()
    states = None
    if models[0].first_adapted_layer > 0:
        states = compute_start_states(backbone, tokens, models[0].first_adapted_layer, precision=precision)
        for m in models:
            m.set_layer_output_is_tuple(states.layer_output_is_tuple)
    cache_seconds = time.perf_counter() - start
    config = TrainConfig(epochs=1, batch_size=batch_size, precision=precision)
    start = time.perf_counter()
    train_adapters(models, tokens, labels, config, states, show_progress=False)
    seconds = time.perf_counter() - start
    return {
        "cache_seconds": cache_seconds,
        "train_seconds": seconds,
        "adapter_examples_per_second": 2 * len(labels) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1024)
    parser.add_argument("--batch-sizes", default="32", help="comma-separated")
    args = parser.parse_args()

    backbone = load_backbone()
    texts, noisy, _ = noisy_ag_news(args.rows)
    tokens = tokenize(texts, backbone.tokenizer, 128)
    results = []
    for pad in ("dynamic", "max_length"):
        features.PAD_MULTIPLE = 16 if pad == "dynamic" else 128  # every batch padded to 128 tokens
        for precision in ("fp32", "bf16"):
            for adapted in (1, 2, 3, 6):
                for batch_size in (int(b) for b in args.batch_sizes.split(",")):
                    if pad == "max_length" and (adapted, batch_size) != (6, 32):
                        continue  # the hand-written setting only, to see what padding alone costs
                    point = {
                        "padding": pad,
                        "precision": precision,
                        "adapted_layers": adapted,
                        "batch_size": batch_size,
                    }
                    point.update(measure(backbone, tokens, noisy, precision, adapted, batch_size))
                    results.append(point)
                    print(point, flush=True)
    features.PAD_MULTIPLE = 16
    best = max(results, key=lambda r: r["adapter_examples_per_second"])
    result = {
        "config": vars(args),
        "mean_tokens_per_text": float(np.mean(tokens.lengths)),
        "points": results,
        "fastest": best,
    }
    save_result("engine_options", result)


if __name__ == "__main__":
    main()
