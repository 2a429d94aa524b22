"""A LoRA text classifier: a peft-adapted copy of the backbone, mean pooling, and a linear head.

Only the top ``num_adapted_layers`` transformer layers carry LoRA (``LoraConfig.layers_to_transform``);
the layers below are frozen and identical for every adapter, so their output can be computed once and
cached (see :mod:`ract.training.features`). :meth:`LoraClassifier.forward` accepts those cached states and
then runs only the adapted layers.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from ract.models.backbone import Backbone, layers_replaced


class _InjectStates(nn.Module):
    """Stands in for the frozen bottom layers: returns hidden states that were computed earlier."""

    def __init__(self, returns_tuple: bool) -> None:
        super().__init__()
        self.returns_tuple = returns_tuple
        self.states: torch.Tensor | None = None

    def forward(self, hidden_states: torch.Tensor, *args: object, **kwargs: object) -> object:
        assert self.states is not None and self.states.shape[:2] == hidden_states.shape[:2]
        return (self.states,) if self.returns_tuple else self.states


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each text over its real (unpadded) tokens.

    Args:
        hidden: (B, T, H) token representations.
        attention_mask: (B, T), 1 for real tokens, 0 for padding.
    Returns:
        (B, H) one vector per text.
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def first_adapted_layer(num_layers: int, num_adapted_layers: int | None) -> int:
    """Index of the lowest layer that gets LoRA when the top ``num_adapted_layers`` are adapted (None = all).

    The layers below it are frozen and can be computed once (:func:`~ract.training.features.compute_start_states`).
    ``num_adapted_layers`` is clipped to 1..num_layers.
    """
    k = num_layers if num_adapted_layers is None else max(1, min(num_adapted_layers, num_layers))
    return num_layers - k


class LoraClassifier(nn.Module):
    """Backbone copy with rank-``rank`` LoRA on its top layers + a linear head on mean-pooled tokens.

    Args:
        backbone: the frozen pretrained encoder (it is copied, never modified).
        rank: LoRA rank r of every adapted projection (delta W = B A with B: d x r, A: r x k).
        num_classes: C, the width of the head.
        num_adapted_layers: how many of the top transformer layers get LoRA (all of them when None).
        lora_alpha: LoRA scaling numerator; the update is scaled by ``lora_alpha / rank``.
            Default ``2 * rank`` keeps the scale the same for every rank.
        seed: seeds the LoRA and head initialisation, so two adapters of different rank differ only in rank.
        dropout: probability of every dropout module of the encoder copy (hidden and attention dropout) while
            training; None keeps the pretrained model's (0.1 for BERT). 0 also lets training use the
            faster attention path (docs/performance.md).
    """

    def __init__(
        self,
        backbone: Backbone,
        rank: int,
        num_classes: int,
        num_adapted_layers: int | None = None,
        lora_alpha: float | None = None,
        seed: int = 0,
        dropout: float | None = None,
    ) -> None:
        super().__init__()
        num_layers = backbone.num_layers
        self.rank = rank
        self.num_classes = num_classes
        self.first_adapted_layer = first_adapted_layer(num_layers, num_adapted_layers)
        # A structural copy whose frozen weights are the backbone's own tensors (shared, not duplicated):
        # peft then wraps the copy's projections, and the backbone itself stays untouched.
        encoder = copy.deepcopy(backbone.model, memo={id(p): p for p in backbone.model.parameters()})
        if dropout is not None:
            for module in encoder.modules():
                if isinstance(module, nn.Dropout):
                    module.p = float(dropout)
        # Kept outside nn.Module registration (a plain list) so parameters are not listed twice.
        self._stack: list[nn.ModuleList] = [encoder.get_submodule(backbone.layer_stack_name)]
        self.lora_config = LoraConfig(
            r=rank,
            lora_alpha=lora_alpha if lora_alpha is not None else 2 * rank,
            lora_dropout=0.0,
            target_modules=backbone.target_modules,
            layers_to_transform=list(range(self.first_adapted_layer, num_layers)),
            layers_pattern=backbone.layer_stack_name.rsplit(".", 1)[-1],
            bias="none",
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.encoder = get_peft_model(encoder, self.lora_config)
            self.head = nn.Linear(backbone.hidden_size, num_classes)
        self._inject = _InjectStates(returns_tuple=False)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def set_layer_output_is_tuple(self, returns_tuple: bool) -> None:
        """Tell the state injector what a transformer layer of this architecture returns."""
        self._inject.returns_tuple = returns_tuple

    @contextlib.contextmanager
    def _bottom_layers_replaced(self, states: torch.Tensor) -> Iterator[None]:
        """Swap the frozen bottom layers for one module that returns ``states``; restore them afterwards."""
        layers = self._stack[0]
        self._inject.states = states
        try:
            with layers_replaced(layers, [self._inject, *list(layers)[self.first_adapted_layer :]]):
                yield
        finally:
            self._inject.states = None

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        start_states: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Class logits.

        Args:
            input_ids: (B, T) token ids (padded).
            attention_mask: (B, T) 1 for real tokens.
            start_states: (B, T, H) cached input of the first adapted layer, or None to run every layer.
        Returns:
            (B, C) logits.
        """
        if start_states is None or self.first_adapted_layer == 0:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        else:
            with self._bottom_layers_replaced(start_states):
                hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(mean_pool(hidden, attention_mask))
