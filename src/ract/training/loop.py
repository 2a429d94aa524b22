"""The training loop: several LoRA classifiers trained side by side on the same batches.

One readable function, in the spirit of nanoGPT's train.py: per step it builds one padded batch (and its cached
start states), then for each adapter runs forward, loss, backward and an AdamW step, and writes the logits that
adapter gave every example of the batch into the training-dynamics record. Nothing is hidden in callbacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from tqdm.auto import tqdm

from ract.models.classifier import LoraClassifier
from ract.training.features import StartStates, TokenizedTexts, autocast_context, length_bucketed_batches
from ract.training.logits import per_example_loss, softmax  # noqa: F401 (importable from here, as before)


@dataclass
class TrainConfig:
    """Optimisation settings shared by every adapter.

    Attributes:
        epochs: passes over the data.
        batch_size: examples per step.
        lr: peak AdamW learning rate (LoRA matrices and head).
        weight_decay: AdamW weight decay.
        warmup_fraction: fraction of all steps with a linear warm-up; then linear decay to 0.
        precision: "bf16" (autocast, CPUs with AVX-512 BF16 or AMX) or "fp32".
        seed: batch order.
        eval_every_epoch: after each epoch, also score every example in eval mode (one extra forward pass);
            otherwise only the logits seen during the training pass are recorded.
    """

    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    precision: str = "bf16"
    seed: int = 0
    eval_every_epoch: bool = False


@dataclass
class TrainingDynamics:
    """Per-example logits recorded while training A adapters for E epochs on n examples with C classes.

    Attributes:
        train_logits: (A, E, n, C) float32, the logits each adapter gave each example in its training step
            of each epoch (train mode, before that step's update).
        eval_logits: (A, E, n, C) float32 logits from an eval-mode pass after each epoch, or None.
        labels: (n,) int64 the (noisy) labels trained on.
        seconds_per_epoch: wall time of each epoch (training + optional eval pass).
    """

    train_logits: np.ndarray
    labels: np.ndarray
    eval_logits: np.ndarray | None = None
    seconds_per_epoch: list[float] = field(default_factory=list)

    @property
    def logits(self) -> np.ndarray:
        """The record scores are computed from: eval-mode logits when present, else training-pass logits."""
        return self.eval_logits if self.eval_logits is not None else self.train_logits


def _linear_schedule(total_steps: int, warmup_fraction: float):
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def make_optimizers(
    models: list[LoraClassifier], config: TrainConfig, total_steps: int
) -> tuple[list[torch.optim.Optimizer], list[torch.optim.lr_scheduler.LRScheduler]]:
    """One AdamW per model over its trainable parameters, each with linear warm-up then linear decay to 0."""
    schedule = _linear_schedule(total_steps, config.warmup_fraction)
    optimizers = [
        torch.optim.AdamW(m.trainable_parameters(), lr=config.lr, weight_decay=config.weight_decay) for m in models
    ]
    return optimizers, [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in optimizers]


@torch.inference_mode()
def predict_logits(
    model: LoraClassifier,
    tokens: TokenizedTexts,
    start_states: StartStates | None = None,
    precision: str = "bf16",
    batch_size: int = 256,
) -> np.ndarray:
    """(n, C) logits of ``model`` in eval mode for every text, batched by length."""
    model.eval()
    out = np.zeros((len(tokens), model.num_classes), dtype=np.float32)
    for idx in length_bucketed_batches(tokens.lengths, batch_size, rng=None):
        input_ids, mask = tokens.batch(idx)
        states = start_states.batch(idx) if start_states is not None else None
        with autocast_context(precision):
            out[idx] = model(input_ids, mask, states).float().numpy()
    return out


def train_adapters(
    models: list[LoraClassifier],
    tokens: TokenizedTexts,
    labels: np.ndarray,
    config: TrainConfig,
    start_states: StartStates | None = None,
    show_progress: bool = True,
    desc: str = "train",
    epoch_subsets: list[np.ndarray] | None = None,
) -> TrainingDynamics:
    """Train every model in ``models`` on (tokens, labels), side by side, and record their dynamics.

    All adapters see the same batches in the same order, so their per-example records are comparable;
    each has its own AdamW optimiser and the same learning-rate schedule. ``epoch_subsets`` (one index array
    per epoch) restricts each epoch to those examples (a pacing curriculum); their training logits in the
    epochs that skip them are NaN.
    """
    n, num_models, epochs = len(tokens), len(models), config.epochs
    num_classes = models[0].num_classes
    targets = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    rng = np.random.default_rng(config.seed)
    if epoch_subsets is not None and len(epoch_subsets) != epochs:
        raise ValueError(f"epoch_subsets has {len(epoch_subsets)} entries for {epochs} epochs")
    subsets = epoch_subsets or [np.arange(n)] * epochs
    total_steps = sum(math.ceil(len(subset) / config.batch_size) for subset in subsets)
    optimizers, schedulers = make_optimizers(models, config, total_steps)
    dynamics = TrainingDynamics(
        train_logits=np.full(
            (num_models, epochs, n, num_classes), 0.0 if epoch_subsets is None else np.nan, np.float32
        ),
        labels=np.asarray(labels, dtype=np.int64),
        eval_logits=(
            np.zeros((num_models, epochs, n, num_classes), dtype=np.float32) if config.eval_every_epoch else None
        ),
    )
    for epoch in range(epochs):
        start = time.perf_counter()
        for model in models:
            model.train()
        subset = subsets[epoch]
        batches = [subset[b] for b in length_bucketed_batches(tokens.lengths[subset], config.batch_size, rng)]
        bar = tqdm(total=len(subset), desc=f"{desc} epoch {epoch + 1}/{epochs}", unit="ex", disable=not show_progress)
        for idx in batches:
            input_ids, mask = tokens.batch(idx)
            states = start_states.batch(idx) if start_states is not None else None
            target = targets[idx]
            for a, (model, opt, sched) in enumerate(zip(models, optimizers, schedulers, strict=True)):
                # The math attention kernel: on CPU the fused one's backward was slower in profiling
                # (docs/performance.md); with dropout > 0 torch picks the math kernel anyway.
                with autocast_context(config.precision), sdpa_kernel(SDPBackend.MATH):
                    logits = model(input_ids, mask, states)
                loss = F.cross_entropy(logits.float(), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                dynamics.train_logits[a, epoch, idx] = logits.detach().float().numpy()
            bar.update(len(idx))
        bar.close()
        if dynamics.eval_logits is not None:
            for a, model in enumerate(models):
                dynamics.eval_logits[a, epoch] = predict_logits(model, tokens, start_states, config.precision)
        dynamics.seconds_per_epoch.append(time.perf_counter() - start)
    for model in models:
        model.eval()
    return dynamics
