"""The theory behind RACT: LoRA capacity, the noise-aware optimal rank, and temporal separation."""

from ract.theory.capacity import (
    LoraCapacity,
    head_parameter_count,
    layer_index,
    lora_capacity,
    lora_degrees_of_freedom,
)
from ract.theory.optimal_rank import (
    DEFAULT_RANK_CHOICES,
    calibrate_c,
    estimate_alpha,
    estimate_alpha_from_model,
    lora_singular_values,
    optimal_rank,
    recommend_rank,
)
from ract.theory.separation import SeparationReport, first_fitted_epoch, fitted, temporal_separation

__all__ = [
    "DEFAULT_RANK_CHOICES",
    "LoraCapacity",
    "SeparationReport",
    "calibrate_c",
    "estimate_alpha",
    "estimate_alpha_from_model",
    "first_fitted_epoch",
    "fitted",
    "head_parameter_count",
    "layer_index",
    "lora_capacity",
    "lora_degrees_of_freedom",
    "lora_singular_values",
    "optimal_rank",
    "recommend_rank",
    "temporal_separation",
]
