"""Loading labelled text data: files, presets and Hugging Face Hub data sets."""

from ract.data.loading import (
    DATA_DIR_ENV,
    EMPTY_TEXT_POLICIES,
    SUPPORTED_FORMATS,
    LabelledData,
    find_data_dir,
    load_data,
    read_table,
    write_table,
)
from ract.data.presets import PRESETS, SPLIT_ALIASES, Preset, get_preset

__all__ = [
    "DATA_DIR_ENV",
    "EMPTY_TEXT_POLICIES",
    "PRESETS",
    "SPLIT_ALIASES",
    "SUPPORTED_FORMATS",
    "LabelledData",
    "Preset",
    "find_data_dir",
    "get_preset",
    "load_data",
    "read_table",
    "write_table",
]
