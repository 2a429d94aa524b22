"""The LoRA engine: backbone parts, cached frozen layers, batching, the training loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ract.errors import RactError
from ract.models.backbone import find_target_modules, resolve_model_path
from ract.models.classifier import LoraClassifier, mean_pool
from ract.training.features import compute_start_states, length_bucketed_batches, tokenize
from ract.training.loop import TrainConfig, per_example_loss, predict_logits, softmax, train_adapters


def test_backbone_parts(backbone) -> None:
    assert backbone.layer_stack_name == "encoder.layer"
    assert backbone.num_layers == 6
    assert backbone.target_modules == ["query", "value"]
    assert backbone.hidden_size == 384
    assert not any(p.requires_grad for p in backbone.model.parameters())


def test_target_modules_for_other_architectures() -> None:
    class Attn(torch.nn.Module):
        def __init__(self, names):
            super().__init__()
            for n in names:
                setattr(self, n, torch.nn.Linear(2, 2))

    assert find_target_modules(Attn(["q_lin", "k_lin", "v_lin"])) == ["q_lin", "v_lin"]
    assert find_target_modules(Attn(["q", "k", "v", "o"])) == ["q", "v"]
    assert find_target_modules(Attn(["q_proj", "v_proj"])) == ["q_proj", "v_proj"]
    with pytest.raises(RactError, match="attention projections"):
        find_target_modules(Attn(["dense"]))


def test_missing_model_folder_is_a_user_error(tmp_path) -> None:
    with pytest.raises(RactError, match="not found"):
        resolve_model_path("./no/such/model")
    with pytest.raises(RactError, match="config.json"):
        resolve_model_path(str(tmp_path))


def test_lora_trains_only_adapters_and_head(backbone) -> None:
    model = LoraClassifier(backbone, rank=4, num_classes=3, num_adapted_layers=2)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all(("lora_" in n) or n.startswith("head.") for n in names)
    lora = sum(p.numel() for n, p in model.named_parameters() if p.requires_grad and "lora_" in n)
    # 2 layers x (query, value) x r (d + k) with d = k = 384
    assert lora == 2 * 2 * 4 * (384 + 384)
    adapted = {int(n.split(".layer.")[1].split(".")[0]) for n in names if "lora_" in n}
    assert adapted == {4, 5}
    assert not any(p.requires_grad for p in backbone.model.parameters()), "the shared backbone was modified"
    frozen = {id(p) for p in backbone.model.parameters()}
    assert sum(id(p) in frozen for p in model.parameters()) > 0, "frozen weights should be shared, not copied"
    assert not any(type(m).__name__.startswith("Lora") for m in backbone.model.modules())


def test_tokenize_and_batches(backbone, toy_texts) -> None:
    texts, _ = toy_texts
    tokens = tokenize(texts, backbone.tokenizer, max_length=8)
    assert len(tokens) == len(texts)
    assert tokens.lengths.max() <= 8
    ids, mask = tokens.batch(np.array([0, 5, 9]))
    assert ids.shape == mask.shape and ids.shape[1] % 16 == 0 and ids.shape[1] >= tokens.lengths[[0, 5, 9]].max()
    assert mask.sum(1).tolist() == tokens.lengths[[0, 5, 9]].tolist()
    lengths = np.array([5, 1, 9, 3, 7, 2, 8])
    for rng in (None, np.random.default_rng(0)):
        batches = length_bucketed_batches(lengths, 3, rng)
        assert sorted(np.concatenate(batches).tolist()) == list(range(7))
    sorted_batches = length_bucketed_batches(lengths, 3, None)
    assert lengths[sorted_batches[0]].max() <= lengths[sorted_batches[1]].min()


@pytest.mark.parametrize("memmap", [False, True])
def test_cached_states_give_the_same_logits_as_the_full_model(backbone, toy_texts, tmp_path, memmap) -> None:
    texts, _ = toy_texts
    tokens = tokenize(texts[:12], backbone.tokenizer)
    model = LoraClassifier(backbone, rank=4, num_classes=2, num_adapted_layers=2, seed=1)
    with torch.no_grad():  # make the adapters matter: peft initialises B to zero
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    states = compute_start_states(
        backbone, tokens, model.first_adapted_layer, precision="fp32", memmap_dir=tmp_path if memmap else None
    )
    assert states.states.shape == (tokens.offsets[-1], 384)
    model.set_layer_output_is_tuple(states.layer_output_is_tuple)
    cached = predict_logits(model, tokens, states, precision="fp32")
    full = predict_logits(model, tokens, None, precision="fp32")
    np.testing.assert_allclose(cached, full, atol=2e-3)
    assert list(tmp_path.iterdir()) == [], "the memory-mapped cache must not leave files behind"


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert mean_pool(hidden, mask).tolist() == [[2.0, 2.0]]


def test_training_learns_and_records_dynamics(backbone, toy_texts) -> None:
    texts, labels = toy_texts
    tokens = tokenize(texts, backbone.tokenizer)
    models = [LoraClassifier(backbone, r, 2, num_adapted_layers=1, seed=0) for r in (2, 8)]
    states = compute_start_states(backbone, tokens, models[0].first_adapted_layer)
    for m in models:
        m.set_layer_output_is_tuple(states.layer_output_is_tuple)
    config = TrainConfig(epochs=3, batch_size=16, lr=3e-3, eval_every_epoch=True)
    dyn = train_adapters(models, tokens, labels, config, states, show_progress=False)
    assert dyn.train_logits.shape == (2, 3, 64, 2) and dyn.eval_logits.shape == (2, 3, 64, 2)
    loss = per_example_loss(dyn.eval_logits, labels).mean(-1)  # (A, E)
    assert (loss[:, -1] < loss[:, 0]).all() and (loss[:, -1] < 0.5).all()
    assert (softmax(dyn.eval_logits[0, -1]).argmax(1) == labels).mean() > 0.9
    assert len(dyn.seconds_per_epoch) == 3


def test_pacing_subsets_grow_from_the_easiest_half_to_all() -> None:
    from ract.training.robust import pacing_subsets

    scores = np.array([5.0, 0.1, 3.0, 0.2, 4.0, 0.3, 2.0, 1.0])
    subsets = pacing_subsets(scores, epochs=3)
    assert [len(s) for s in subsets] == [4, 6, 8]
    assert subsets[0].tolist() == [1, 3, 5, 7]  # the four lowest scores, in index order
    assert subsets[-1].tolist() == list(range(8))
    assert pacing_subsets(scores, epochs=1)[0].tolist() == np.argsort(scores).tolist()


def test_training_on_epoch_subsets_skips_the_other_rows(backbone, toy_texts) -> None:
    texts, labels = toy_texts
    tokens = tokenize(texts, backbone.tokenizer)
    model = LoraClassifier(backbone, 2, 2, num_adapted_layers=1, seed=0)
    first = np.arange(0, 64, 2)
    config = TrainConfig(epochs=2, batch_size=16)
    dyn = train_adapters([model], tokens, labels, config, None, False, epoch_subsets=[first, np.arange(64)])
    seen = ~np.isnan(dyn.train_logits[0, :, :, 0])  # (E, n)
    assert seen[0].tolist() == [i % 2 == 0 for i in range(64)] and seen[1].all()
    with pytest.raises(ValueError, match="epoch_subsets"):
        train_adapters([model], tokens, labels, config, None, False, epoch_subsets=[first])


def test_per_example_loss_matches_torch() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0])
    expected = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits).reshape(-1, 3), torch.from_numpy(np.tile(labels, 2)), reduction="none"
    ).reshape(2, 5)
    np.testing.assert_allclose(per_example_loss(logits, labels), expected.numpy(), rtol=1e-5)
