"""The review's progress file, ``OUTPUT_DIR/review_decisions.csv``: one row per decided example.

Columns: ``row_id`` (the ``index`` of ``scores.csv``, a 0-based data row), ``given_label``, ``decision``
(``accept``, ``keep``, ``relabel`` or ``drop``), ``new_label`` (the label the row ends up with; empty for
``drop``) and ``decided_at`` (UTC, ISO 8601). Rows are in the order they were decided, so the last row is the
one ``undo`` takes back. The file is rewritten atomically after every decision: killing the server loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import pandas as pd

from ract.atomic import atomic_path
from ract.errors import RactError

DECISIONS_FILE = "review_decisions.csv"
DECISIONS = ("accept", "keep", "relabel", "drop")


@dataclass(frozen=True)
class Decision:
    """What a reviewer decided for one flagged row."""

    row_id: int
    given_label: str
    decision: str
    new_label: str
    decided_at: str


COLUMNS = tuple(field.name for field in fields(Decision))


def now_utc() -> str:
    """The time now, UTC, to the second: ``2025-01-31T12:00:00Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def save_decisions(path: Path, decisions: Iterable[Decision]) -> None:
    """Write ``decisions`` (in decision order) to ``path`` atomically."""
    frame = pd.DataFrame([astuple(d) for d in decisions], columns=list(COLUMNS))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def load_decisions(path: Path) -> list[Decision]:
    """Read a decisions file written by :func:`save_decisions`; [] when there is none.

    Raises:
        RactError: naming ``path`` when it cannot be parsed or holds a value that cannot be right.
    """
    if not path.exists():
        return []
    hint = "fix it, or move it away to start the review over"
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise RactError(f"cannot read the review decisions {path}: {err}; {hint}") from None
    missing = [col for col in COLUMNS if col not in frame.columns]
    if missing:
        raise RactError(f"the review decisions {path} lack the column(s) {', '.join(missing)}; {hint}")
    decisions = []
    for line, record in enumerate(frame[list(COLUMNS)].itertuples(index=False), start=2):
        decisions.append(_parse(record, f"{path}, line {line}", hint))
    return decisions


def _parse(record: tuple, where: str, hint: str) -> Decision:
    row_id, given, decision, new_label, decided_at = (str(value) for value in record)
    try:
        number = int(row_id)
    except ValueError:
        raise RactError(f"{where}: row_id {row_id!r} is not a whole number; {hint}") from None
    if decision not in DECISIONS:
        raise RactError(f"{where}: decision {decision!r} is not one of {', '.join(DECISIONS)}; {hint}")
    if (decision == "drop") != (new_label == ""):
        raise RactError(f"{where}: a {decision!r} decision {'has' if new_label else 'needs'} a new_label; {hint}")
    return Decision(number, given, decision, new_label, decided_at)
