"""Saving and loading a trained :class:`LoraClassifier` in a layout ``peft`` users already know.

A model folder holds:

* ``adapter_config.json`` + ``adapter_model.safetensors``: the LoRA adapter, written by peft's
  ``save_pretrained``; ``PeftModel.from_pretrained(AutoModel.from_pretrained(base), folder)`` loads it;
* ``head.safetensors``: the linear head (``weight`` (C, H), ``bias`` (C,)) applied to mean-pooled tokens;
* ``ract_model.json``: base model, rank, adapted layers, max length, label names;
* ``README.md``: a short model card (written by the caller, see :func:`write_model_card`).
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from ract.atomic import atomic_path, write_text_atomic
from ract.errors import RactError
from ract.models.backbone import Backbone, load_backbone
from ract.models.classifier import LoraClassifier

META_FILE = "ract_model.json"
HEAD_FILE = "head.safetensors"
ADAPTER_FILE = "adapter_model.safetensors"


def save_classifier(model: LoraClassifier, folder: str | Path, backbone: Backbone, meta: dict) -> dict:
    """Write ``model`` to ``folder`` (created if needed); return the metadata written to ``ract_model.json``.

    ``meta`` must hold ``label_names`` and ``max_length``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(folder))
    with atomic_path(folder / HEAD_FILE) as tmp:
        save_file({k: v.detach().contiguous() for k, v in model.head.state_dict().items()}, str(tmp))
    info = {
        "base_model": backbone.name,
        "base_model_path": backbone.path,
        "rank": model.rank,
        "num_classes": model.num_classes,
        "num_adapted_layers": backbone.num_layers - model.first_adapted_layer,
        "pooling": "mean",
        **meta,
    }
    write_text_atomic(folder / META_FILE, json.dumps(info, indent=2) + "\n")
    return info


def load_classifier(folder: str | Path, backbone: Backbone | None = None) -> tuple[LoraClassifier, Backbone, dict]:
    """Load a folder written by :func:`save_classifier`: (model in eval mode, its backbone, the metadata)."""
    from peft import set_peft_model_state_dict

    folder = Path(folder)
    for name in (META_FILE, HEAD_FILE, ADAPTER_FILE):
        if not (folder / name).exists():
            raise RactError(f"{folder} is not a ract model folder: {name} is missing (write one with `ract train`)")
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    backbone = backbone or load_backbone(meta["base_model"])
    model = LoraClassifier(backbone, int(meta["rank"]), int(meta["num_classes"]), int(meta["num_adapted_layers"]))
    result = set_peft_model_state_dict(model.encoder, load_file(str(folder / ADAPTER_FILE)))
    if getattr(result, "unexpected_keys", None):
        raise RactError(f"{folder / ADAPTER_FILE} does not match the model: unexpected {result.unexpected_keys[:3]}")
    model.head.load_state_dict(load_file(str(folder / HEAD_FILE)))
    model.eval()
    return model, backbone, meta


def write_model_card(folder: str | Path, meta: dict, figures: dict) -> None:
    """A short README.md: what the model is, what it was trained on, and the figures measured."""
    lines = [
        "# ract LoRA text classifier",
        "",
        f"- base model: `{meta['base_model']}`; LoRA rank {meta['rank']} on the top {meta['num_adapted_layers']} "
        "layers (query/value projections), mean pooling, linear head",
        f"- classes: {', '.join(map(str, meta['label_names']))}",
        f"- training data: {meta.get('training_data', 'unknown')}",
        "",
        "## Measured",
        "",
        *[f"- {key}: {value}" for key, value in figures.items()],
        "",
        "## Loading",
        "",
        "```python",
        "from ract.models.persistence import load_classifier",
        "model, backbone, meta = load_classifier('THIS_FOLDER')",
        "# or with peft alone (the head is head.safetensors, applied to mean-pooled tokens):",
        "from peft import PeftModel; from transformers import AutoModel",
        "encoder = PeftModel.from_pretrained(AutoModel.from_pretrained(meta['base_model_path']), 'THIS_FOLDER')",
        "```",
        "",
    ]
    write_text_atomic(Path(folder) / "README.md", "\n".join(lines))
