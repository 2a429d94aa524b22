"""ract's engine against the hand-written transformers + peft reference, side by side in one run.

Both run on the same AG News rows with the same 30% symmetric noise, ranks, epochs, learning rate and batch size,
each in its own process (so peak memory is per pipeline), alternating ract / reference ``--repeats`` times.
The script also measures this machine's matmul ceiling (fp32 and bf16) and reports ract's achieved training
FLOP/s as a fraction of it.

    .venv/bin/python -m benchmarks.speed --rows 2000 --repeats 1

Saves benchmarks/results/speed_rows<rows>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import noisy_ag_news, save_result
from ract.detection.config import DetectConfig
from ract.models.backbone import load_backbone
from ract.training.features import tokenize


def matmul_ceiling(dtype: torch.dtype, size: int = 2048, repeats: int = 10, m: int = 0, k: int = 0) -> float:
    """GFLOP/s of an (m x k) @ (k x size) matmul in ``dtype``, best of ``repeats``; m = k = size by default."""
    m, k = m or size, k or size
    a = torch.randn(m, k).to(dtype)
    b = torch.randn(k, size).to(dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * m * k * size / best / 1e9


def ceilings(rows_per_step: int, hidden: int, ffn: int) -> dict[str, float]:
    """The square 2048^3 ceiling (fp32, bf16) and the bf16 rate at the shapes of ract's training step.

    ``rows_per_step`` is tokens per batch (batch size x mean text length): the dense matmuls of one adapted
    layer are (rows x hidden) @ (hidden x hidden) for attention and (rows x hidden) @ (hidden x ffn) for the FFN.
    """
    return {
        "fp32_gflops": matmul_ceiling(torch.float32),
        "bf16_gflops": matmul_ceiling(torch.bfloat16),
        "bf16_step_shape_attention_gflops": matmul_ceiling(torch.bfloat16, size=hidden, m=rows_per_step, k=hidden),
        "bf16_step_shape_ffn_gflops": matmul_ceiling(torch.bfloat16, size=ffn, m=rows_per_step, k=hidden),
    }


def training_flops(num_tokens: int, mean_len: float, layers: int, hidden: int, ffn: int) -> float:
    """Useful FLOPs of one training pass (forward + backward to the inputs) over ``layers`` transformer layers.

    Per real token and layer, the forward pass does 2 * (4 h^2 + 2 h f) FLOPs in the dense matmuls and about
    4 * T * h in attention (T = tokens in the text); the backward pass to the activations costs the same again
    (frozen weights need no weight gradient; the LoRA matrices add < 1%). Padding is not counted as useful.
    """
    per_token = 2 * (4 * hidden**2 + 2 * hidden * ffn) + 4 * mean_len * hidden
    return 2.0 * per_token * layers * num_tokens


def run_ract(rows: int, epochs: int, work: Path) -> dict:
    out = work / "ract"
    cmd = [sys.executable, "-m", "ract.cli.main", "detect", "ag_news", "--limit", str(rows), "--epochs", str(epochs),
           "--inject-noise", "symmetric", "--noise-rate", "0.3", "--output-dir", str(out), "--quiet"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    return {"wall_seconds": wall, "summary": summary}


def run_reference(rows: int, epochs: int, work: Path) -> dict:
    out = work / "reference.json"
    cmd = [sys.executable, "-m", "benchmarks.reference_peft", "--rows", str(rows), "--epochs", str(epochs),
           "--out", str(out)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return {"wall_seconds": wall, "result": json.loads(out.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-reference", action="store_true", help="only time ract (and the ceiling)")
    args = parser.parse_args()

    # The shapes of ract's training step: batch size x mean tokens per text rows, the model's widths.
    defaults = DetectConfig()
    backbone = load_backbone(defaults.model)
    texts, _, _ = noisy_ag_news(args.rows)
    tokens = tokenize(texts, backbone.tokenizer, defaults.max_length)
    cfg = backbone.model.config
    step_rows = int(defaults.batch_size * tokens.lengths.mean())
    hidden, ffn = cfg.hidden_size, cfg.intermediate_size
    ceiling = ceilings(step_rows, hidden, ffn)
    print(f"matmul ceiling (start): {ceiling}", flush=True)
    runs: dict[str, list[dict]] = {"ract": [], "reference": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            runs["ract"].append(run_ract(args.rows, args.epochs, Path(tmp)))
            print(f"ract: {runs['ract'][-1]['wall_seconds']:.0f}s", flush=True)
            if not args.skip_reference:
                runs["reference"].append(run_reference(args.rows, args.epochs, Path(tmp)))
                print(f"reference: {runs['reference'][-1]['wall_seconds']:.0f}s", flush=True)

    ceiling_end = ceilings(step_rows, hidden, ffn)
    print(f"matmul ceiling (end): {ceiling_end}", flush=True)
    last = runs["ract"][-1]["summary"]
    adapted = last["config"]["adapted_layers"] or cfg.num_hidden_layers
    flops = training_flops(int(tokens.offsets[-1]), float(tokens.lengths.mean()), adapted, hidden, ffn)
    flops *= len(last["config"]["ranks"]) * args.epochs
    ract_wall = float(np.median([r["wall_seconds"] for r in runs["ract"]]))
    ract_train = float(np.median([r["summary"]["timings_seconds"]["train"] for r in runs["ract"]]))
    result: dict = {
        "config": vars(args),
        "matmul_ceiling": ceiling,
        "matmul_ceiling_end": ceiling_end,
        "ract": {
            "wall_seconds": ract_wall,
            "train_seconds": ract_train,
            "timings_seconds": last["timings_seconds"],
            "examples_per_second_wall": args.rows * args.epochs / ract_wall,
            "peak_rss_mb": last["peak_rss_mb"],
            "metrics": last["metrics"],
            "train_gflops_achieved": flops / ract_train / 1e9,
            "fraction_of_bf16_ceiling": flops / ract_train / 1e9 / ceiling["bf16_gflops"],
            "fraction_of_bf16_ceiling_end": flops / ract_train / 1e9 / ceiling_end["bf16_gflops"],
            "mean_tokens_per_text": float(tokens.lengths.mean()),
        },
    }
    if runs["reference"]:
        ref_wall = float(np.median([r["wall_seconds"] for r in runs["reference"]]))
        ref = runs["reference"][-1]["result"]
        ref_rate = ref["adapter_examples_per_second"]
        paper_recipe_seconds_10k = 10_000 * 10 * 2 / ref_rate
        result["reference"] = {
            "wall_seconds": ref_wall,
            "train_seconds": ref["train_seconds"],
            "adapter_examples_per_second": ref_rate,
            "peak_rss_mb": ref["peak_rss_mb"],
            "metrics": ref["metrics"],
        }
        result["speedup_wall"] = ref_wall / ract_wall
        result["paper_recipe_10k_rows_10_epochs_seconds_estimate"] = paper_recipe_seconds_10k
        ract_10k_estimate = ract_wall * 10_000 / args.rows
        result["speedup_vs_paper_recipe_at_10k_estimate"] = paper_recipe_seconds_10k / ract_10k_estimate
    save_result(f"speed_rows{args.rows}", result)


if __name__ == "__main__":
    main()
