"""ract: find mislabelled examples and train noise-robust text classifiers with rank-aware LoRA (RACT)."""

import importlib
from typing import TYPE_CHECKING

from ract.errors import RactError

__version__ = "0.1.0"
__all__ = ["RACT", "DetectConfig", "RactError", "find_label_issues", "__version__"]

# ract.detection.pipeline loads torch, transformers and peft (seconds), so its names are imported on first access
# (PEP 562): importing a light module such as ract.review, or running `ract --help`, does not pay for them.
_LAZY = {
    "RACT": "ract.detection.pipeline",
    "find_label_issues": "ract.detection.pipeline",
    "DetectConfig": "ract.detection.config",
}

if TYPE_CHECKING:
    from ract.detection.config import DetectConfig
    from ract.detection.pipeline import RACT, find_label_issues


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups find it directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
