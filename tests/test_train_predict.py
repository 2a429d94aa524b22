"""``ract train`` saves a peft-loadable model that ``ract predict`` and plain peft both load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ract.cli.main import main
from ract.models.persistence import load_classifier

FAST = ["--epochs", "3", "--adapted-layers", "1", "--lr", "3e-3", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, toy_texts) -> tuple[Path, Path, list[str], np.ndarray]:
    texts, labels = toy_texts
    folder = tmp_path_factory.mktemp("train")
    names = np.array(["sport", "money"])
    train = folder / "train.csv"
    pd.DataFrame({"text": texts, "label": names[labels]}).to_csv(train, index=False)
    test = folder / "test.csv"
    pd.DataFrame({"text": texts[:16], "label": names[labels[:16]]}).to_csv(test, index=False)
    out = folder / "out"
    code = main(["train", str(train), "--test", str(test), "--output-dir", str(out), "--threshold", "rate:0.05", *FAST])
    assert code == 0
    return out, folder, texts, labels


def test_train_writes_a_peft_model_and_summary(trained) -> None:
    out, _, _, _ = trained
    model_dir = out / "model"
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "head.safetensors",
        "ract_model.json",
        "README.md",
    ):
        assert (model_dir / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "train"
    assert summary["training"]["num_removed"] == summary["counts"]["num_flagged"] == 3
    assert summary["training"]["test_accuracy"] > 0.9
    assert json.loads((model_dir / "adapter_config.json").read_text())["r"] == 4


def test_saved_model_reloads_with_identical_predictions(trained, backbone) -> None:
    from peft import PeftModel
    from transformers import AutoModel

    out, _, texts, _ = trained
    model, _, meta = load_classifier(out / "model", backbone)
    assert meta["label_names"] == ["money", "sport"]
    enc = backbone.tokenizer(texts[:4], padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = model(enc["input_ids"], enc["attention_mask"])
        # plain peft + the head file give the same logits
        encoder = PeftModel.from_pretrained(AutoModel.from_pretrained(meta["base_model_path"]), str(out / "model"))
        hidden = encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        from safetensors.torch import load_file

        head = load_file(str(out / "model" / "head.safetensors"))
        theirs = pooled @ head["weight"].T + head["bias"]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-4)


def test_predict_writes_labels_and_probabilities(trained, tmp_path) -> None:
    out, folder, _, labels = trained
    target = tmp_path / "pred.csv"
    assert main(["predict", str(folder / "test.csv"), "--model-dir", str(out / "model"), "--output", str(target)]) == 0
    pred = pd.read_csv(target)
    assert {"predicted_label", "confidence", "prob_money", "prob_sport"} <= set(pred.columns)
    np.testing.assert_allclose(pred[["prob_money", "prob_sport"]].sum(axis=1), 1.0, rtol=1e-5)
    assert (pred["predicted_label"] == pred["label"]).mean() > 0.9


def test_predict_errors(tmp_path, trained) -> None:
    out, folder, _, _ = trained
    assert main(["predict", str(folder / "test.csv"), "--model-dir", str(tmp_path), "--output", "x.csv"]) == 2
    assert main(["predict", str(folder / "test.csv"), "--model-dir", str(out / "model"), "--text-column", "nope",
                 "--output", str(tmp_path / "x.csv")]) == 2  # fmt: skip
