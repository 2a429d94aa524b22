"""The reference pipeline: RACT detection as a user would script it by hand with transformers + peft.

No ract engine code is used for training: every text is padded to ``--max-length`` (128), the model runs in fp32,
and each LoRA adapter (rank 4, then rank 16, on query/value of every layer) is trained on its own, with a full
forward and backward pass through all layers per step. The per-example training losses of every epoch give the
same score ract uses by default (mean loss over adapters and epochs), so quality is compared like for like.

    .venv/bin/python benchmarks/reference_peft.py --rows 2000 --out benchmarks/results/reference.json
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import AutoModel, AutoTokenizer

from benchmarks.common import noisy_ag_news
from ract.detection.metrics import detection_metrics
from ract.detection.scores import compute_score
from ract.detection.threshold import apply_threshold
from ract.models.backbone import resolve_model_path


def train_one_adapter(
    encoder: torch.nn.Module, input_ids, mask, labels, rank: int, num_classes: int, args
) -> tuple[np.ndarray, float]:
    """Train one LoRA adapter + mean-pool linear head; return (E, n, C) training-pass logits and seconds."""
    torch.manual_seed(args.seed)
    model = get_peft_model(
        copy.deepcopy(encoder),
        LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=["query", "value"]),
    )
    head = torch.nn.Linear(encoder.config.hidden_size, num_classes)
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    n = len(labels)
    steps = args.epochs * ((n + args.batch_size - 1) // args.batch_size)
    warmup = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup))
    )
    logits_record = np.zeros((args.epochs, n, num_classes), dtype=np.float32)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    model.train()
    for epoch in range(args.epochs):
        order = rng.permutation(n)
        for i in range(0, n, args.batch_size):
            idx = order[i : i + args.batch_size]
            hidden = model(input_ids=input_ids[idx], attention_mask=mask[idx]).last_hidden_state
            m = mask[idx].unsqueeze(-1).float()
            logits = head((hidden * m).sum(1) / m.sum(1))
            loss = F.cross_entropy(logits, labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            logits_record[epoch, idx] = logits.detach().numpy()
        print(f"reference rank {rank} epoch {epoch + 1}: {time.perf_counter() - start:.0f}s", flush=True)
    return logits_record, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--ranks", default="4,16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    texts, noisy, clean = noisy_ag_news(args.rows, seed=args.seed)
    path = resolve_model_path("minilm")
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path, use_safetensors=True)
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=args.max_length, return_tensors="pt")
    labels = torch.from_numpy(noisy)
    ranks = [int(r) for r in args.ranks.split(",")]
    records, seconds = [], []
    for rank in ranks:
        rec, sec = train_one_adapter(encoder, enc["input_ids"], enc["attention_mask"], labels, rank, 4, args)
        records.append(rec)
        seconds.append(sec)
    logits = np.stack(records)  # (A, E, n, C)
    scores = compute_score("mean_loss", logits, noisy)
    flags = apply_threshold(scores, "auto").flagged
    result = {
        "pipeline": "reference (transformers + peft by hand, pad to max length, fp32, separate adapters)",
        "config": vars(args),
        "train_seconds": float(sum(seconds)),
        "seconds_per_adapter": seconds,
        "adapter_examples_per_second": float(len(ranks) * args.epochs * args.rows / sum(seconds)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "metrics": detection_metrics(noisy != clean, scores, flags),
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
