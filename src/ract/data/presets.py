"""Built-in data set presets: where each one lives in a local data dir and on the Hugging Face Hub.

A preset is resolved by :func:`ract.data.load_data` against a data directory (see
:func:`ract.data.find_data_dir`); when no local copy exists it falls back to the Hub id.

Class ids are defined by ``Preset.label_names`` for both the local files and the Hub copy, so a model
trained on one can be evaluated on the other. (The Hub copy of TREC orders its classes differently,
``ABBR, ENTY, DESC, ...``; its integer labels are turned into names and then mapped to these ids.)
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ract.errors import RactError

#: Alternative split names accepted everywhere, mapped to the canonical split name.
SPLIT_ALIASES: Mapping[str, str] = {"dev": "validation", "val": "validation", "valid": "validation"}


@dataclass(frozen=True)
class Preset:
    """One named data set: its local files, its columns and its class names.

    Attributes:
        name: preset name as typed by the user (``"ag_news"``).
        files: canonical split (``"train"``, ``"validation"``, ``"test"``) -> file path relative to the
            data dir.
        text_column: text column of the local files.
        label_column: default label column of the local files.
        label_names: class names in class-id order; class id ``i`` is ``label_names[i]``.
        hub_id: Hugging Face ``datasets`` id used when no local copy exists.
        hub_label_column: default label column of the Hub copy.
        hub_text_column: text column of the Hub copy.
        label_names_file: optional file (relative to the data dir) with one class name per line; when it
            exists it overrides ``label_names``.
        hub_splits: canonical split -> Hub split name, for splits that are named differently on the Hub.
    """

    name: str
    files: Mapping[str, str]
    text_column: str
    label_column: str
    label_names: tuple[str, ...]
    hub_id: str
    hub_label_column: str
    hub_text_column: str = "text"
    label_names_file: str | None = None
    hub_splits: Mapping[str, str] = field(default_factory=dict)

    @property
    def splits(self) -> tuple[str, ...]:
        """Canonical split names that have a local file."""
        return tuple(self.files)

    def resolve_split(self, split: str) -> str:
        """Canonical split name for ``split`` (``"dev"`` -> ``"validation"``); RactError if unknown."""
        canonical = SPLIT_ALIASES.get(split.lower(), split.lower())
        if canonical not in self.files:
            raise RactError(f"preset {self.name!r} has no split {split!r}; available splits: {', '.join(self.splits)}")
        return canonical

    def hub_split(self, split: str) -> str:
        """Hub split name for a canonical split name."""
        return self.hub_splits.get(split, split)

    def local_file(self, data_dir: Path, split: str) -> Path:
        """Path of the local file for a canonical split under ``data_dir`` (it may not exist)."""
        return data_dir / self.files[split]

    def read_label_names(self, data_dir: Path | None) -> tuple[str, ...]:
        """Class names, from ``label_names_file`` under ``data_dir`` if present, else ``label_names``."""
        if data_dir is None or self.label_names_file is None:
            return self.label_names
        path = data_dir / self.label_names_file
        if not path.is_file():
            return self.label_names
        try:
            names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError) as err:
            raise RactError(f"could not read class names of preset {self.name!r} from {path}: {err}") from err
        names = tuple(name for name in names if name)
        if len(names) < 2:
            raise RactError(f"{path} lists {len(names)} class names; expected one name per line, at least 2")
        return names


PRESETS: Mapping[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="ag_news",
            files={"train": "ag_news/train.csv.gz", "test": "ag_news/test.csv.gz"},
            text_column="text",
            label_column="label",
            label_names=("World", "Sports", "Business", "Sci/Tech"),
            label_names_file="ag_news/classes.txt",
            hub_id="fancyzhx/ag_news",
            hub_label_column="label",
        ),
        Preset(
            name="trec",
            files={"train": "trec/train.csv", "test": "trec/test.csv"},
            text_column="text",
            label_column="label_coarse",
            label_names=("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"),
            hub_id="CogComp/trec",
            hub_label_column="coarse_label",
        ),
        Preset(
            name="sst2",
            files={"train": "sst2/train.csv", "validation": "sst2/dev.csv", "test": "sst2/test.csv"},
            text_column="text",
            label_column="label",
            label_names=("negative", "positive"),
            hub_id="SetFit/sst2",
            hub_label_column="label",
        ),
    )
}


def get_preset(name: str) -> Preset | None:
    """The preset called ``name`` (case-insensitive), or None if there is none."""
    return PRESETS.get(name.strip().lower())
