"""Tokenize once, batch by length, and cache what the frozen layers compute.

Two costs dominate LoRA training on a CPU, and both are paid once here instead of every step:

* **padding**: texts are tokenized once, unpadded; each batch is padded only to its own longest text, and
  batches are built from texts of similar length (:func:`length_bucketed_batches`).
* **the frozen bottom layers**: when LoRA adapts only the top k layers, the input of the first adapted layer
  does not change during training. :func:`compute_start_states` runs the bottom layers once (inference mode,
  bf16 when available) and stores the result unpadded in one flat float16 array of shape
  (total_tokens, hidden), in RAM or in a memory-mapped file, so memory grows linearly with the data.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ract.models.backbone import Backbone, layers_replaced

PAD_MULTIPLE = 16


def padded_width(lengths: np.ndarray) -> int:
    """Batch width: the longest text, rounded up to a multiple of ``PAD_MULTIPLE`` tokens.

    Few distinct batch shapes let the allocator and oneDNN reuse buffers and kernels across steps
    (see docs/performance.md: peak memory and speed with and without the rounding).
    """
    return int(-(-int(lengths.max()) // PAD_MULTIPLE) * PAD_MULTIPLE)


def _gather_rows(flat: np.ndarray, offsets: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx`` of a flat ragged array (row i is ``flat[offsets[i]:offsets[i+1]]``) -> (flat, offsets)."""
    idx = np.asarray(idx, dtype=np.int64)
    lengths = offsets[idx + 1] - offsets[idx]
    new_offsets = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    positions = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in idx]) if len(idx) else []
    return flat[np.asarray(positions, dtype=np.int64)], new_offsets


@dataclass
class TokenizedTexts:
    """Unpadded token ids of n texts, stored flat.

    Attributes:
        ids: (total_tokens,) int32 token ids of all texts, one after the other.
        offsets: (n + 1,) int64; text i is ``ids[offsets[i]:offsets[i + 1]]``.
        pad_id: the tokenizer's padding id.
    """

    ids: np.ndarray
    offsets: np.ndarray
    pad_id: int

    @property
    def lengths(self) -> np.ndarray:
        """(n,) number of tokens of each text, special tokens included."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def subset(self, idx: np.ndarray) -> TokenizedTexts:
        """The texts ``idx`` (in that order) as a new, compact TokenizedTexts."""
        ids, offsets = _gather_rows(self.ids, self.offsets, idx)
        return TokenizedTexts(ids=ids, offsets=offsets, pad_id=self.pad_id)

    def batch(self, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad the texts ``idx`` to their longest one: (B, T) input ids and (B, T) attention mask."""
        lengths = self.lengths[idx]
        width = padded_width(lengths)
        input_ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, (i, length) in enumerate(zip(idx, lengths, strict=True)):
            input_ids[row, :length] = self.ids[self.offsets[i] : self.offsets[i + 1]]
            mask[row, :length] = 1
        return torch.from_numpy(input_ids), torch.from_numpy(mask)


def tokenize(texts: list[str], tokenizer: object, max_length: int = 128, chunk: int = 4096) -> TokenizedTexts:
    """Tokenize every text once, truncated to ``max_length`` tokens (special tokens included)."""
    pieces: list[np.ndarray] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for start in range(0, len(texts), chunk):
        enc = tokenizer(texts[start : start + chunk], truncation=True, max_length=max_length)["input_ids"]
        for j, ids in enumerate(enc):
            pieces.append(np.asarray(ids, dtype=np.int32))
            lengths[start + j] = len(ids)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return TokenizedTexts(ids=ids, offsets=offsets, pad_id=int(pad_id))


def length_bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None, bucket_batches: int = 50
) -> list[np.ndarray]:
    """Split example indices into batches of similar length.

    With ``rng``: shuffle, cut into pools of ``bucket_batches * batch_size`` examples, sort each pool by
    length, cut it into batches, and shuffle the batch order (so every epoch sees a different order but
    little padding). Without ``rng``: one global sort by length (for inference).
    """
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    perm = rng.permutation(n)
    pool = batch_size * bucket_batches
    batches: list[np.ndarray] = []
    for start in range(0, n, pool):
        chunk = perm[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


@dataclass
class StartStates:
    """Cached input of the first adapted layer for every text, unpadded.

    Attributes:
        states: (total_tokens, hidden) float16, aligned with ``TokenizedTexts.ids`` (RAM or np.memmap).
        offsets: (n + 1,) the same offsets as the tokenized texts.
        layer: index of the first adapted layer (the states are the output of layer ``layer - 1``).
        layer_output_is_tuple: whether a transformer layer of this architecture returns a tuple.
    """

    states: np.ndarray
    offsets: np.ndarray
    layer: int
    layer_output_is_tuple: bool

    @property
    def nbytes(self) -> int:
        return int(self.states.nbytes)

    def subset(self, idx: np.ndarray) -> StartStates:
        """The states of texts ``idx`` (in that order), copied into RAM."""
        states, offsets = _gather_rows(self.states, self.offsets, idx)
        return StartStates(states, offsets, self.layer, self.layer_output_is_tuple)

    def batch(self, idx: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(B, T, H) states of texts ``idx``, zero-padded to the longest one."""
        lengths = np.diff(self.offsets)[idx]
        out = np.zeros((len(idx), padded_width(lengths), self.states.shape[1]), dtype=np.float16)
        for row, i in enumerate(idx):
            out[row, : lengths[row]] = self.states[self.offsets[i] : self.offsets[i + 1]]
        return torch.from_numpy(out).to(dtype)


class _StopForward(Exception):
    pass


class _Capture(nn.Module):
    """Placed after the frozen layers: records its input and stops the forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.captured: torch.Tensor | None = None

    def forward(self, hidden_states: torch.Tensor, *args: object, **kwargs: object) -> object:
        self.captured = hidden_states
        raise _StopForward


def autocast_context(precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on the CPU for ``precision="bf16"``, nothing for ``"fp32"``."""
    if precision == "bf16":
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def compute_start_states(
    backbone: Backbone,
    tokens: TokenizedTexts,
    first_adapted_layer: int,
    precision: str = "bf16",
    batch_size: int = 128,
    memmap_dir: str | Path | None = None,
) -> StartStates:
    """Run the frozen layers ``0 .. first_adapted_layer - 1`` once over every text and keep their output.

    Memory: ``total_tokens * hidden * 2`` bytes (float16); pass ``memmap_dir`` to keep it on disk instead.
    """
    layers: nn.ModuleList = backbone.model.get_submodule(backbone.layer_stack_name)
    total, hidden = int(tokens.offsets[-1]), backbone.hidden_size
    if memmap_dir is not None:
        # An already-unlinked file: the mapping keeps it alive, and nothing is left on disk afterwards.
        with tempfile.TemporaryFile(dir=memmap_dir, prefix="ract-states-") as handle:
            states = np.memmap(handle, dtype=np.float16, mode="w+", shape=(max(total, 1), hidden))
    else:
        states = np.zeros((max(total, 1), hidden), dtype=np.float16)
    is_tuple = {"value": False}

    def record_type(_module: nn.Module, _inp: object, out: object) -> None:
        is_tuple["value"] = isinstance(out, tuple)

    capture = _Capture()
    hook = layers[first_adapted_layer - 1].register_forward_hook(record_type) if first_adapted_layer > 0 else None
    try:
        bottom = [*list(layers)[:first_adapted_layer], capture]
        with layers_replaced(layers, bottom), torch.inference_mode():
            for idx in length_bucketed_batches(tokens.lengths, batch_size, rng=None):
                input_ids, mask = tokens.batch(idx)
                with autocast_context(precision), contextlib.suppress(_StopForward):
                    backbone.model(input_ids=input_ids, attention_mask=mask)
                out = capture.captured.float().numpy()
                for row, i in enumerate(idx):
                    n_tok = tokens.offsets[i + 1] - tokens.offsets[i]
                    states[tokens.offsets[i] : tokens.offsets[i + 1]] = out[row, :n_tok]
    finally:
        if hook is not None:
            hook.remove()
    return StartStates(
        states=states, offsets=tokens.offsets, layer=first_adapted_layer, layer_output_is_tuple=is_tuple["value"]
    )


def sentence_embeddings(
    backbone: Backbone, texts: list[str], max_length: int = 128, precision: str = "bf16", batch_size: int = 128
) -> np.ndarray:
    """(n, hidden) float32 mean-pooled last-layer embeddings of the frozen backbone (no adapter)."""
    from ract.models.classifier import mean_pool

    tokens = tokenize(texts, backbone.tokenizer, max_length)
    out = np.zeros((len(tokens), backbone.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for idx in length_bucketed_batches(tokens.lengths, batch_size, rng=None):
            input_ids, mask = tokens.batch(idx)
            with autocast_context(precision):
                hidden = backbone.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            out[idx] = mean_pool(hidden.float(), mask).numpy()
    return out
