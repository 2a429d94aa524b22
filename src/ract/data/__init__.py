"""Loading labelled text data: files, presets and Hugging Face Hub data sets."""

from ract.data.loading import DATA_DIR_ENV, EMPTY_TEXT_POLICIES, LabelledData, find_data_dir, load_data
from ract.data.presets import PRESETS, SPLIT_ALIASES, Preset, get_preset
from ract.data.tables import SUPPORTED_FORMATS, read_table, write_table

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
