"""Where a training step's time goes: ract's loop under the torch profiler, grouped by kind of operation.

Trains the two default adapters (ranks 4 and 16, top 2 layers over the cached stem, bf16) for one epoch on
``--rows`` AG News rows with the real loop (:func:`ract.training.loop.train_adapters`), once per dropout setting,
and reports per kind of operator (matmuls, attention, elementwise, casts and copies, dropout's random numbers,
optimiser, ...) the share of self CPU time, the rate each matmul operator reaches (FLOPs counted by the
profiler), and the bf16 ceiling measured in the same run. The profiler itself slows small operators down, so the
epoch is also timed without it (``epoch_seconds``): shares are read as proportions, speeds from the plain run.

    .venv/bin/python -m benchmarks.step_profile --rows 1024

Saves benchmarks/results/step_profile.json.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from torch.profiler import ProfilerActivity, profile

from benchmarks.common import noisy_ag_news, save_result
from benchmarks.speed import ceilings
from ract.detection.config import DetectConfig
from ract.models.backbone import load_backbone
from ract.models.classifier import LoraClassifier
from ract.training.features import compute_start_states, tokenize
from ract.training.loop import TrainConfig, train_adapters

KINDS = {
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"),
    "attention (fused kernels)": ("scaled_dot_product",),
    "dropout random numbers": ("aten::bernoulli", "aten::uniform", "aten::rand"),
    "casts and copies": ("aten::copy_", "aten::_to_copy", "aten::clone", "aten::contiguous"),
    "softmax, GELU, LayerNorm": ("softmax", "gelu", "layer_norm"),
    "optimiser": ("Optimizer", "_foreach", "aten::addcdiv", "aten::lerp", "aten::sqrt"),
}


def kind_of(name: str) -> str:
    for kind, patterns in KINDS.items():
        if any(p in name for p in patterns):
            return kind
    return "other (elementwise, indexing, masks)"


def profile_epoch(backbone, tokens, labels, states, dropout: float | None) -> dict:
    models = [LoraClassifier(backbone, r, 4, 2, seed=0, dropout=dropout) for r in (4, 16)]
    for model in models:
        model.set_layer_output_is_tuple(states.layer_output_is_tuple)
    config = TrainConfig(epochs=1, precision="bf16")
    warm = np.arange(min(256, len(labels)))  # warm-up: allocator, oneDNN kernels
    train_adapters(models, tokens.subset(warm), labels[warm], config, states.subset(warm), False)
    plain = train_adapters(models, tokens, labels, config, states, show_progress=False).seconds_per_epoch[0]
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        dynamics = train_adapters(models, tokens, labels, config, states, show_progress=False)
    seconds = dynamics.seconds_per_epoch[0]
    self_us: dict[str, float] = defaultdict(float)
    matmul_flops = 0.0
    per_matmul: dict[str, dict] = {}
    for event in prof.key_averages():
        self_us[kind_of(event.key)] += event.self_cpu_time_total
        if kind_of(event.key) == "matmul":
            matmul_flops += event.flops or 0.0
            per_matmul[event.key] = {
                "calls": event.count,
                "self_seconds": event.self_cpu_time_total / 1e6,
                "gflop": (event.flops or 0.0) / 1e9,
                "gflops_achieved": (event.flops or 0.0) / max(event.self_cpu_time_total, 1) / 1e3,
            }
    total_us = sum(self_us.values())
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]
    top = {e.key: {"share": e.self_cpu_time_total / total_us, "calls": e.count} for e in events}
    matmul_seconds = self_us["matmul"] / 1e6
    return {
        "dropout": dropout,
        "epoch_seconds": plain,
        "epoch_seconds_under_profiler": seconds,
        "adapter_examples_per_second": 2 * len(labels) / plain,
        "per_matmul_operator": per_matmul,
        "top_operators": top,
        "share_of_self_cpu_time": {k: v / total_us for k, v in sorted(self_us.items(), key=lambda kv: -kv[1])},
        "matmul_gflop": matmul_flops / 1e9,
        "matmul_gflops_achieved": matmul_flops / matmul_seconds / 1e9 if matmul_seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1024)
    args = parser.parse_args()
    backbone = load_backbone()
    texts, labels, _ = noisy_ag_news(args.rows)
    tokens = tokenize(texts, backbone.tokenizer, DetectConfig().max_length)
    states = compute_start_states(backbone, tokens, backbone.num_layers - 2, precision="bf16")
    rows_per_step = int(32 * tokens.lengths.mean())
    cfg = backbone.model.config
    result = {
        "config": vars(args),
        "mean_tokens_per_text": float(tokens.lengths.mean()),
        "ceiling_start": ceilings(rows_per_step, cfg.hidden_size, cfg.intermediate_size),
        "runs": [profile_epoch(backbone, tokens, labels, states, d) for d in (0.0, None)],
    }
    result["ceiling_end"] = ceilings(rows_per_step, cfg.hidden_size, cfg.intermediate_size)
    for run in result["runs"]:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in run["share_of_self_cpu_time"].items())
        print(f"dropout {run['dropout']}: {run['adapter_examples_per_second']:.0f} adapter-ex/s; {shares}; "
              f"matmuls at {run['matmul_gflops_achieved']:.0f} GFLOP/s")  # fmt: skip
    save_result("step_profile", result)


if __name__ == "__main__":
    main()
