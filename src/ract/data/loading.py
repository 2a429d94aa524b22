"""Load labelled text-classification data from a file, a preset or the Hugging Face Hub.

The entry point is :func:`load_data`, which returns a :class:`LabelledData`. Files are read with
:func:`ract.data.tables.read_table`.

Row numbers in messages, notes and :attr:`LabelledData.row_ids` are 0-based *data* rows: the first row
after the header is row 0 (for JSON lines, the first object is row 0).
"""

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ract.data.presets import PRESETS, Preset, get_preset
from ract.data.tables import _check_is_file, _formats_text, read_table
from ract.errors import RactError

#: Accepted values of ``load_data(on_empty_text=...)``.
EMPTY_TEXT_POLICIES: tuple[str, ...] = ("drop", "error")
#: Environment variable naming the directory that holds the preset data sets.
DATA_DIR_ENV = "RACT_DATA_DIR"

_MAX_LISTED = 10
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
_INT_STRING = re.compile(r"\s*[+-]?\d+\s*")


# --------------------------------------------------------------------------------------------------
# The data container
# --------------------------------------------------------------------------------------------------


@dataclass
class LabelledData:
    """Texts with their given (possibly noisy) labels.

    Attributes:
        texts: the ``n`` texts.
        labels: ``(n,)`` int64 class ids in ``0..C-1``; the labels as given in the source.
        label_names: the ``C`` class names; ``label_names[i]`` is the original label value of class id
            ``i``, as a string.
        clean_labels: ``(n,)`` int64 ground-truth class ids in the same id space, or None if unknown.
        row_ids: ``(n,)`` int64 0-based data-row numbers in the source, kept through dropping and
            subsampling, so results can be traced back to the file.
        source: what was loaded: a file path, a preset name or a Hub id.
        notes: human-readable notes on what loading did (rows dropped, subsampling, ...).
    """

    texts: list[str]
    labels: np.ndarray
    label_names: list[str]
    clean_labels: np.ndarray | None
    row_ids: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.texts)
        self.labels = _as_int64_vector(self.labels, "labels", n)
        self.row_ids = _as_int64_vector(self.row_ids, "row_ids", n)
        if self.clean_labels is not None:
            self.clean_labels = _as_int64_vector(self.clean_labels, "clean_labels", n)
        num_classes = len(self.label_names)
        for name, ids in (("labels", self.labels), ("clean_labels", self.clean_labels)):
            if ids is not None and ids.size and (ids.min() < 0 or ids.max() >= num_classes):
                raise ValueError(f"{name} must lie in [0, {num_classes}) (one id per label name)")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_classes(self) -> int:
        """Number of classes ``C`` (``len(label_names)``); some may have no examples."""
        return len(self.label_names)

    def subset(self, idx: np.ndarray | Sequence[int]) -> "LabelledData":
        """The examples at positions ``idx``, in that order.

        Args:
            idx: ``(k,)`` integer positions in ``0..n-1``, or an ``(n,)`` boolean mask.

        Returns:
            A new :class:`LabelledData` with ``k`` examples; ``row_ids`` still point into the source and
            ``notes`` is a copy.
        """
        positions = _as_positions(idx, len(self))
        clean = None if self.clean_labels is None else self.clean_labels[positions]
        return LabelledData(
            texts=[self.texts[i] for i in positions],
            labels=self.labels[positions],
            label_names=list(self.label_names),
            clean_labels=clean,
            row_ids=self.row_ids[positions],
            source=self.source,
            notes=list(self.notes),
        )


def _as_int64_vector(values: Any, name: str, n: int) -> np.ndarray:
    array = np.asarray(values)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) to match the texts, got {array.shape}")
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _as_positions(idx: np.ndarray | Sequence[int], n: int) -> np.ndarray:
    positions = np.asarray(idx)
    if positions.dtype == bool:
        if positions.shape != (n,):
            raise ValueError(f"a boolean mask must have shape ({n},), got {positions.shape}")
        return np.flatnonzero(positions)
    if positions.size == 0:
        return np.zeros(0, dtype=np.int64)
    if positions.ndim != 1 or positions.dtype.kind not in "iu":
        raise ValueError(f"idx must be 1-D integer positions, got {positions.dtype} {positions.shape}")
    if positions.min() < -n or positions.max() >= n:
        raise IndexError(f"idx has positions outside 0..{n - 1}")
    return positions.astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------------------
# Resolving the source: file, preset, or Hub
# --------------------------------------------------------------------------------------------------


@dataclass
class _RawTable:
    """A loaded table before column selection and cleaning."""

    frame: pd.DataFrame
    source: str
    where: str  # how messages name it: a path, or "hub dataset X (split Y)"
    text_column: str = "text"
    label_column: str = "label"
    names_by_column: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def find_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """The directory that holds the preset data sets, or None if there is none.

    Looked up in this order: ``data_dir``; the ``RACT_DATA_DIR`` environment variable; the first
    ``shared/data`` folder found next to the current working directory or one of its parents, then
    next to this module's file or one of its parents (for a checkout at ``/work/main`` that is
    ``/work/shared/data``).

    Raises:
        RactError: ``data_dir`` or ``RACT_DATA_DIR`` is given but is not a directory.
    """
    return _explicit_data_dir(data_dir) or _discover_data_dir()


def _explicit_data_dir(data_dir: str | Path | None) -> Path | None:
    if data_dir is not None:
        path, origin = Path(data_dir).expanduser(), "data dir"
    elif os.environ.get(DATA_DIR_ENV):
        path, origin = Path(os.environ[DATA_DIR_ENV]).expanduser(), f"data dir from ${DATA_DIR_ENV}"
    else:
        return None
    if not path.is_dir():
        raise RactError(f"{origin} {path} is not a directory")
    return path


def _discover_data_dir() -> Path | None:
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "data"
            if candidate.is_dir():
                return candidate
    return None


def _resolve_source(source: str, split: str, data_dir: str | Path | None) -> _RawTable:
    path = Path(source).expanduser()
    if path.is_file():
        return _RawTable(frame=read_table(path), source=source, where=str(path))
    preset = get_preset(source)
    if preset is not None:
        return _load_preset(preset, split, data_dir)
    if path.is_dir():
        _check_is_file(path)
    if _looks_like_path(source):
        raise RactError(f"file not found: {source}")
    return _load_hub(source, split)


def source_file(source: str, split: str = "train", data_dir: str | Path | None = None) -> Path | None:
    """The local file that :func:`load_data` reads for ``source``, or None (a Hub data set, or nothing found).

    That is ``source`` itself when it is a file, else a preset's local copy of ``split`` in the data dir (see
    :func:`find_data_dir`). Commands that write the data back (``ract review --export``) use it.
    """
    path = Path(source).expanduser()
    if path.is_file():
        return path
    preset = get_preset(source)
    if preset is None:
        return None
    root = find_data_dir(data_dir)
    if root is None:
        return None
    local = preset.local_file(root, preset.resolve_split(split))
    return local if local.is_file() else None


def _looks_like_path(source: str) -> bool:
    """A file suffix, or anything a Hub id (``name`` or ``owner/name``) cannot be, means a path."""
    return bool(Path(source).suffix) or _HUB_ID.fullmatch(source) is None


def _load_preset(preset: Preset, split: str, data_dir: str | Path | None) -> _RawTable:
    canonical = preset.resolve_split(split)
    explicit = _explicit_data_dir(data_dir)
    root = explicit or _discover_data_dir()
    if root is not None:
        path = preset.local_file(root, canonical)
        if path.is_file():
            return _RawTable(
                frame=read_table(path),
                source=preset.name,
                where=str(path),
                text_column=preset.text_column,
                label_column=preset.label_column,
                names_by_column={preset.label_column: preset.read_label_names(root)},
                notes=[f"loaded preset {preset.name} ({canonical} split) from {path}"],
            )
        if explicit is not None:
            raise RactError(f"preset {preset.name!r}: {path} not found in data dir {root}")
    table = _load_hub(preset.hub_id, preset.hub_split(canonical), source=preset.name)
    table.text_column, table.label_column = preset.hub_text_column, preset.hub_label_column
    table.names_by_column[preset.hub_label_column] = preset.label_names
    looked = f"no local copy in {root}" if root is not None else "no local data dir found"
    table.notes.append(f"preset {preset.name}: {looked}; loaded {preset.hub_id} from the Hugging Face Hub")
    return table


def _load_hub(hub_id: str, split: str, source: str | None = None) -> _RawTable:
    """Load a Hub data set; class-label columns become their names (with their names recorded)."""
    what = f"{hub_id!r} is not a local file or a preset ({', '.join(PRESETS)})"
    if source is not None:
        what = f"preset {source!r} has no local copy (see RACT_DATA_DIR)"
    try:
        import datasets
    except ImportError as err:
        raise RactError(
            f"{what}, and loading {hub_id!r} from the Hugging Face Hub needs the `datasets` package "
            f"(pip install 'ract[hub]'). Or pass a local file ({_formats_text()})."
        ) from err
    try:
        dataset = datasets.load_dataset(hub_id, split=split)
        frame = dataset.to_pandas()
    except Exception as err:  # datasets raises many unrelated types: network, missing split, format, ...
        detail = f"{type(err).__name__}: {err}"
        raise RactError(
            f"{what}, and loading it from the Hugging Face Hub (split {split!r}) failed ({detail[:300]}). "
            f"If you are offline, pass a local file instead ({_formats_text()})."
        ) from err
    names_by_column = _class_label_names(dataset.features, frame)
    where = f"Hub data set {hub_id} (split {split})"
    return _RawTable(frame=frame, source=source or hub_id, where=where, names_by_column=names_by_column)


def _class_label_names(features: Any, frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Replace integer class-label columns of ``frame`` by names, in place; return the names."""
    names_by_column: dict[str, tuple[str, ...]] = {}
    for column, feature in dict(features).items():
        names = getattr(feature, "names", None)
        if type(feature).__name__ != "ClassLabel" or not names or column not in frame.columns:
            continue
        names_by_column[column] = tuple(str(name) for name in names)
        frame[column] = [
            names[int(v)] if not _is_missing(v) and 0 <= int(v) < len(names) else None for v in frame[column]
        ]
    return names_by_column


# --------------------------------------------------------------------------------------------------
# load_data
# --------------------------------------------------------------------------------------------------


def load_data(
    source: str,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    clean_label_column: str | None = None,
    split: str = "train",
    limit: int | None = None,
    seed: int = 0,
    num_labels: int | None = None,
    data_dir: str | Path | None = None,
    on_empty_text: str = "drop",
) -> LabelledData:
    """Load labelled texts from a file, a preset or a Hugging Face Hub data set.

    ``source`` is tried, in order, as: an existing file (see :data:`~ract.data.tables.SUPPORTED_FORMATS`); a preset name
    (``ag_news``, ``trec``, ``sst2``; see :mod:`ract.data.presets` and :func:`find_data_dir`); a path
    (it has a file suffix or is not shaped like ``name`` / ``owner/name``), which then does not exist;
    otherwise a Hub id loaded with ``datasets.load_dataset(source, split=split)``.

    Labels may be integers or strings. Integer labels keep their value as class id when they look like
    ``0..C-1`` (smallest 0, at most half the ids unused) or when ``num_labels`` is given; other
    integers (e.g. star ratings 1..5) and string labels (stripped) get ids in sorted order.
    A preset, or a Hub class-label column, fixes the class names and ids instead. Class ids of
    different files agree only if their label sets are the same, or ``num_labels`` / a preset fixes them.

    Args:
        source: file path, preset name or Hub id.
        text_column: column with the texts; default ``"text"`` (or the preset's).
        label_column: column with the given labels; default ``"label"`` (or the preset's).
        clean_label_column: optional column with ground-truth labels, mapped through the same class ids.
            A value absent from the given labels gets a new id (appended to ``label_names``), unless the
            classes are fixed by ``num_labels`` or a preset, in which case it is an error.
        split: split of a preset or Hub data set (``train``, ``validation``/``dev``, ``test``); ignored
            for files.
        limit: keep a random sample of this many rows (seeded by ``seed``, kept in file order);
            ``limit >= n`` keeps all rows.
        seed: seed of the ``limit`` sample.
        num_labels: number of classes ``C``; integer labels must then lie in ``[0, C)``.
        data_dir: directory holding the preset data sets (overrides ``RACT_DATA_DIR``).
        on_empty_text: what to do with missing, empty or whitespace-only texts: ``"drop"`` them (and
            say so in ``notes``) or raise (``"error"``).

    Returns:
        The data, with one note per thing loading did.

    Raises:
        RactError: for any problem with the source, its columns or its values; the message names the
            file, column and (first) offending rows.
    """
    _validate_options(limit, seed, num_labels, on_empty_text)
    table = _resolve_source(source, split, data_dir)
    if len(table.frame) == 0:
        raise RactError(f"{table.where} has no data rows")
    text_col, label_col, clean_col = _resolve_columns(table, text_column, label_column, clean_label_column)
    notes = list(table.notes)
    frame = table.frame

    texts, keep = _prepare_texts(frame[text_col].tolist(), table.where, text_col, on_empty_text, notes)
    row_ids = np.flatnonzero(keep).astype(np.int64)
    if row_ids.size == 0:
        raise RactError(f"{table.where}: no rows left: every text in column {text_col!r} is empty")

    label_values = _column_values(frame, label_col, row_ids, table.where)
    label_map = _build_label_map(
        label_values, row_ids, table.names_by_column.get(label_col), num_labels, table.where, label_col
    )
    labels = label_map.encode(label_values, row_ids, table.where, label_col)
    clean = None
    if clean_col is not None:
        clean_values = _column_values(frame, clean_col, row_ids, table.where)
        clean = label_map.encode(clean_values, row_ids, table.where, clean_col, extend=True, notes=notes)

    data = LabelledData(
        texts=texts,
        labels=labels,
        label_names=list(label_map.names),
        clean_labels=clean,
        row_ids=row_ids,
        source=table.source,
        notes=notes,
    )
    if limit is not None:
        data = _apply_limit(data, limit, seed)
    _check_several_classes(data, table.where, label_col, limit)
    return data


def _validate_options(limit: int | None, seed: int, num_labels: int | None, on_empty_text: str) -> None:
    if limit is not None and (not _is_int(limit) or limit <= 0):
        raise RactError(f"limit must be a positive integer, got {limit!r}")
    if not _is_int(seed):
        raise RactError(f"seed must be an integer, got {seed!r}")
    if num_labels is not None and (not _is_int(num_labels) or num_labels < 2):
        raise RactError(f"num_labels must be an integer >= 2, got {num_labels!r}")
    if on_empty_text not in EMPTY_TEXT_POLICIES:
        choices = ", ".join(EMPTY_TEXT_POLICIES)
        raise RactError(f"on_empty_text must be one of {choices}, got {on_empty_text!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _resolve_columns(
    table: _RawTable, text_column: str | None, label_column: str | None, clean_label_column: str | None
) -> tuple[str, str, str | None]:
    text_col = _pick_column(table, text_column, table.text_column, "text")
    label_col = _pick_column(table, label_column, table.label_column, "label")
    clean_col = None
    if clean_label_column is not None:
        clean_col = _pick_column(table, clean_label_column, None, "clean label")
    if text_col == label_col:
        raise RactError(f"{table.where}: column {text_col!r} cannot be both the text and the label column")
    return text_col, label_col, clean_col


def _pick_column(table: _RawTable, requested: str | None, default: str | None, role: str) -> str:
    columns = [str(c) for c in table.frame.columns]
    listing = ", ".join(repr(c) for c in columns) or "(none)"
    if requested is not None:
        if requested not in columns:
            raise RactError(f"{role} column {requested!r} not found in {table.where}; columns are: {listing}")
        return requested
    if default in columns:
        return default
    option = "text_column" if role == "text" else "label_column"
    raise RactError(f"{table.where} has no {role} column {default!r}; name it with {option}. Columns are: {listing}")


def _column_values(frame: pd.DataFrame, column: str, row_ids: np.ndarray, where: str) -> np.ndarray:
    """``(k,)`` object array of the column at ``row_ids``; RactError if any value is missing."""
    values = frame[column].to_numpy(dtype=object)[row_ids]
    missing = np.array([_is_missing(v) or (isinstance(v, str) and not v.strip()) for v in values], bool)
    if missing.any():
        bad = row_ids[missing]
        raise RactError(
            f"{where}: {bad.size} row{_plural(bad.size)} with a missing label in column {column!r}, at "
            f"{_format_rows(bad)} (0-based data rows). Fill them in or remove those rows."
        )
    return values


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _format_rows(rows: np.ndarray | Sequence[int], limit: int = _MAX_LISTED) -> str:
    """``"row 4"``, ``"rows 4, 9, 12"``, or the first ``limit`` rows and how many more."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    extra = len(rows) - limit
    word = "row" if len(rows) == 1 else "rows"
    return f"{word} {shown}, ... ({extra} more)" if extra > 0 else f"{word} {shown}"


def _prepare_texts(
    values: list[Any], where: str, column: str, on_empty_text: str, notes: list[str]
) -> tuple[list[str], np.ndarray]:
    """Texts as strings, and the ``(n,)`` bool mask of the rows kept (non-empty texts)."""
    texts: list[str] = []
    keep = np.ones(len(values), dtype=bool)
    converted = 0
    for i, value in enumerate(values):
        if _is_missing(value):
            keep[i] = False
            continue
        if not isinstance(value, str):
            value, converted = str(value), converted + 1
        if value.strip():
            texts.append(value)
        else:
            keep[i] = False
    empty = np.flatnonzero(~keep)
    if empty.size:
        what = f"{empty.size} empty text{_plural(empty.size)} in column {column!r}"
        what += f" at {_format_rows(empty)}"
        if on_empty_text == "error":
            raise RactError(
                f"{where}: {what} (0-based data rows). Fill or remove them, or drop them with on_empty_text='drop'."
            )
        notes.append(f"dropped {what} (0-based data rows)")
    if converted:
        what = f"{converted} non-string value{_plural(converted)}"
        notes.append(f"converted {what} in column {column!r} to text")
    return texts, keep


@dataclass
class _LabelMap:
    """Original label value -> class id, for one label column.

    ``integer`` means values are read as integers (``"3"``, ``3.0`` and ``3`` are the same label);
    ``fixed`` means the class set is fixed (by a preset, a Hub class-label column or ``num_labels``).
    """

    ids: dict[int | str, int]
    names: list[str]
    integer: bool
    fixed: bool

    def key(self, value: Any) -> int | str:
        """Lookup key of one label value: an int in integer mode when possible, else the stripped string."""
        if self.integer:
            as_int = _as_int(value)
            if as_int is not None:
                return as_int
        return str(value).strip()

    def encode(
        self,
        values: np.ndarray,
        row_ids: np.ndarray,
        where: str,
        column: str,
        *,
        extend: bool = False,
        notes: list[str] | None = None,
    ) -> np.ndarray:
        """``(k,)`` int64 class ids of ``values``; unknown values are appended if ``extend`` allows."""
        keys = [self.key(v) for v in values]
        unknown = np.array([k not in self.ids for k in keys], dtype=bool)
        if unknown.any():
            if not extend or self.fixed:
                raise RactError(self._unknown_message(values, row_ids, unknown, where, column))
            self._append(keys, unknown, column, notes)
        return np.array([self.ids[k] for k in keys], dtype=np.int64)

    def _append(self, keys: list[Any], unknown: np.ndarray, column: str, notes: list[str] | None) -> None:
        new = list(dict.fromkeys(k for k, u in zip(keys, unknown, strict=True) if u))
        for k in new:
            self.ids[k] = len(self.names)
            self.names.append(str(k))
        if notes is not None:
            added = ", ".join(repr(str(k)) for k in new)
            notes.append(f"column {column!r} has labels absent from the given labels: {added} (new classes)")

    def _unknown_message(
        self, values: np.ndarray, row_ids: np.ndarray, unknown: np.ndarray, where: str, column: str
    ) -> str:
        bad_rows = row_ids[unknown]
        bad_values = values[unknown]
        shown = zip(bad_rows[:_MAX_LISTED], bad_values, strict=False)
        pairs = ", ".join(f"row {int(r)} -> {_show(v)}" for r, v in shown)
        if len(bad_rows) > _MAX_LISTED:
            pairs += f", ... ({len(bad_rows) - _MAX_LISTED} more)"
        if self.integer:
            expected = f"outside 0..{len(self.names) - 1} ({len(self.names)} classes)"
        else:
            expected = f"not among the {len(self.names)} classes ({', '.join(self.names)})"
        rows = f"{bad_rows.size} row{_plural(bad_rows.size)}"
        verb = "has" if bad_rows.size == 1 else "have"
        return f"{where}: {rows} in column {column!r} {verb} a label {expected}: {pairs}"


def _as_int(value: Any) -> int | None:
    """``value`` as an int if it is an integer (``3``, ``3.0``, ``"3"``), else None. Booleans are not."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if np.isfinite(value) and float(value).is_integer() else None
    if isinstance(value, str) and _INT_STRING.fullmatch(value):
        return int(value)
    return None


def _build_label_map(
    values: np.ndarray,
    row_ids: np.ndarray,
    known_names: Sequence[str] | None,
    num_labels: int | None,
    where: str,
    column: str,
) -> _LabelMap:
    """Decide the class ids of the given labels (see :func:`load_data` for the rules)."""
    ints = [_as_int(v) for v in values]
    integer = all(i is not None for i in ints)
    if known_names is not None:
        if num_labels is not None and num_labels != len(known_names):
            raise RactError(
                f"num_labels={num_labels} but {where} has {len(known_names)} classes ({', '.join(known_names)})"
            )
        return _names_map(list(known_names), integer)
    if integer:
        return _integer_map(sorted(set(ints)), num_labels)
    names = sorted({str(v).strip() for v in values})
    if num_labels is not None and len(names) != num_labels:
        raise RactError(
            f"num_labels={num_labels} but column {column!r} of {where} has {len(names)} distinct string "
            f"labels ({_format_values(names)}); string labels define the classes, so leave num_labels out"
        )
    return _LabelMap(ids={n: i for i, n in enumerate(names)}, names=names, integer=False, fixed=False)


def _names_map(names: list[str], integer: bool) -> _LabelMap:
    if integer:
        return _LabelMap(ids={i: i for i in range(len(names))}, names=names, integer=True, fixed=True)
    return _LabelMap(ids={n: i for i, n in enumerate(names)}, names=names, integer=False, fixed=True)


def _integer_map(distinct: list[int], num_labels: int | None) -> _LabelMap:
    """Identity ids for ``num_labels`` or ``0..C-1``-like labels, else ids in sorted order of value."""
    if num_labels is not None:
        return _identity_map(num_labels, fixed=True)
    if distinct[0] == 0 and distinct[-1] + 1 <= 2 * len(distinct):
        return _identity_map(distinct[-1] + 1, fixed=False)
    ids: dict[int | str, int] = {v: i for i, v in enumerate(distinct)}
    return _LabelMap(ids=ids, names=[str(v) for v in distinct], integer=True, fixed=False)


def _identity_map(size: int, *, fixed: bool) -> _LabelMap:
    ids: dict[int | str, int] = {i: i for i in range(size)}
    return _LabelMap(ids=ids, names=[str(i) for i in range(size)], integer=True, fixed=fixed)


def _show(value: Any) -> str:
    """A label value as a user sees it: strings quoted, numbers plain (no ``np.int64(...)``)."""
    return repr(value) if isinstance(value, str) else str(value)


def _format_values(values: Sequence[Any], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(_show(v) for v in values[:limit])
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")


def _apply_limit(data: LabelledData, limit: int, seed: int) -> LabelledData:
    """A seeded random sample of ``limit`` examples, kept in file order (all of them if fewer)."""
    n = len(data)
    if limit >= n:
        return data
    keep = np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
    sample = data.subset(keep)
    sample.notes.append(f"kept a random sample of {limit} of {n} rows (limit={limit}, seed={seed})")
    return sample


def _check_several_classes(data: LabelledData, where: str, column: str, limit: int | None) -> None:
    present = np.unique(data.labels)
    if present.size >= 2:
        return
    after = f" after limit={limit}" if limit is not None else ""
    raise RactError(
        f"{where}: all {len(data)} rows{after} have the same label {data.label_names[present[0]]!r} in "
        f"column {column!r}; finding label noise needs at least two classes"
    )
