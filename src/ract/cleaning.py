"""Apply per-row changes (relabel, drop) to a data table and say what changed in each row.

``ract clean`` (changes from the detector's flags) and ``ract review --export`` (changes from a person's decisions)
both write their cleaned table through :func:`apply_row_changes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ract.errors import RactError

#: Column of the cleaned table that says what happened to each row.
CHANGE_COLUMN = "ract_change"


def label_codec(column: pd.Series, label_names: Sequence[str] | None) -> tuple[Callable, Callable]:
    """How class names map to the values of a label ``column`` and back: ``(encode, decode)``.

    Most files hold the names themselves (``"World"``, or ``3`` for a class named ``"3"``, which is written back as
    an integer). Preset files hold class ids ``0..C-1`` instead, named by ``label_names``; then a name is written as
    its id. Without ``label_names`` the values are taken as the names.

    Returns:
        ``encode(name) -> value to store`` and ``decode(value) -> name``.
    """
    integer = pd.api.types.is_integer_dtype(column)
    names = [str(name) for name in label_names or []]
    values = {str(v) for v in column.dropna().unique()}
    holds_ids = bool(names) and integer and not values <= set(names) and values <= {str(i) for i in range(len(names))}
    if holds_ids:
        index = {name: i for i, name in enumerate(names)}
        return (lambda name: index[str(name)]), (lambda value: names[int(value)])

    def encode(name: object) -> object:
        if integer:
            try:
                return int(str(name))
            except ValueError:
                return name
        return name

    return encode, str


def apply_row_changes(
    frame: pd.DataFrame,
    label_column: str,
    status: Sequence[str] | np.ndarray,
    relabel: Mapping[int, str] | None = None,
    drop: Iterable[int] = (),
    label_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The table with rows relabelled or dropped, plus :data:`CHANGE_COLUMN` saying what happened.

    Args:
        frame: the data as read by :func:`ract.data.read_table`; row ``i`` is 0-based data row ``i``.
        label_column: the column holding the labels.
        status: ``(len(frame),)`` what to write in :data:`CHANGE_COLUMN` for rows left as they are
            (e.g. ``"kept"``, ``"not scored"``).
        relabel: data row -> new class name. Written as ``relabelled: OLD -> NEW`` unless the label is the same.
        drop: data rows to leave out of the result.
        label_names: class names by id, when known (lets a file of class ids take names; see :func:`label_codec`).

    Returns:
        A new table (``frame`` is not modified), dropped rows removed, index reset.
    """
    if label_column not in frame.columns:
        raise RactError(f"no column {label_column!r} in the data; columns are {list(frame.columns)}")
    if len(status) != len(frame):
        raise ValueError(f"status has {len(status)} entries for {len(frame)} rows")
    out = frame.copy()
    change = np.asarray(status, dtype=object).copy()
    if relabel:
        encode, decode = label_codec(frame[label_column], label_names)
        labels = out[label_column].astype(object).to_numpy().copy()
        for row, name in relabel.items():
            old = decode(labels[row])
            if old != str(name):
                labels[row] = encode(name)
                change[row] = f"relabelled: {old} -> {name}"
        out[label_column] = _tidy(labels)
    out[CHANGE_COLUMN] = change
    keep = np.ones(len(out), dtype=bool)
    keep[np.fromiter(drop, dtype=np.int64)] = False
    return out[keep].reset_index(drop=True)


def set_labels(
    frame: pd.DataFrame, label_column: str, labels: Mapping[int, str], label_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """A copy of ``frame`` whose rows ``labels`` (data row -> class name) carry those labels; no change recorded.

    Used when the labels a run saw differ from the file's (noise injected by ``ract detect --inject-noise``).
    """
    encode, _ = label_codec(frame[label_column], label_names)
    out = frame.copy()
    values = out[label_column].astype(object).to_numpy().copy()
    for row, name in labels.items():
        values[row] = encode(name)
    out[label_column] = _tidy(values)
    return out


def _tidy(values: np.ndarray) -> pd.Series | np.ndarray:
    """An object column back to integers when every value is an integer (so a CSV keeps writing ``3``, not ``3.0``)."""
    if len(values) and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values):
        return values.astype(np.int64)
    return values
