"""ract: find mislabelled examples and train noise-robust text classifiers with rank-aware LoRA (RACT)."""

from ract.detection.pipeline import RACT, DetectConfig, find_label_issues
from ract.errors import RactError

__version__ = "0.1.0"
__all__ = ["RACT", "DetectConfig", "RactError", "find_label_issues", "__version__"]
