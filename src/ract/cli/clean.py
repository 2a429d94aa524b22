"""``ract clean``: write the data set with flagged rows removed or relabelled, saying what changed per row."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ract.errors import RactError

if TYPE_CHECKING:
    import pandas as pd

ACTIONS = ("remove", "relabel")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("clean", help="write the data set with flagged rows removed or relabelled")
    parser.add_argument("data", help="the data file that `ract detect` read (csv/tsv/jsonl/parquet)")
    parser.add_argument("--scores", required=True, help="scores.csv written by `ract detect`")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--action", choices=ACTIONS, default="remove", help="what to do with flagged rows")
    parser.add_argument("--output", required=True, help="the cleaned file (format from the extension)")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def clean_table(frame: pd.DataFrame, scores: pd.DataFrame, label_column: str, action: str) -> pd.DataFrame:
    """Apply the flags in ``scores`` (rows matched by its ``index`` column = 0-based data row) to ``frame``.

    Returns the cleaned table with a column ``ract_change``: ``kept``, ``relabelled: A -> B`` or (for
    ``--action remove``) without the removed rows. Rows of ``frame`` not scored (e.g. dropped empty texts, or
    outside a ``--limit`` subsample) are kept unchanged and marked ``not scored``.
    """
    from ract.cleaning import apply_row_changes

    missing = {"index", "is_label_issue", "predicted_label"} - set(scores.columns)
    if missing:
        raise RactError(f"the scores file lacks columns {sorted(missing)}: pass the scores.csv of `ract detect`")
    if label_column not in frame.columns:
        raise RactError(f"no column {label_column!r} in the data; columns are {list(frame.columns)}")
    rows = scores["index"].to_numpy()
    if len(rows) and (rows.min() < 0 or rows.max() >= len(frame)):
        raise RactError(f"the scores file refers to row {int(rows.max())} but the data has {len(frame)} rows")
    status = np.full(len(frame), "not scored", dtype=object)
    status[rows] = "kept"
    flagged_rows = rows[scores["is_label_issue"].astype(bool).to_numpy()]
    if action == "relabel":
        suggested = scores.set_index("index")["predicted_label"].loc[flagged_rows].astype(str)
        relabel = dict(zip(flagged_rows.tolist(), suggested.tolist(), strict=True))
        return apply_row_changes(frame, label_column, status, relabel=relabel)
    return apply_row_changes(frame, label_column, status, drop=flagged_rows.tolist())


def run(args: argparse.Namespace, say) -> int:
    from ract.cleaning import CHANGE_COLUMN
    from ract.data import read_table, write_table

    frame = read_table(args.data)
    scores = read_table(args.scores)
    cleaned = clean_table(frame, scores, args.label_column, args.action)
    write_table(cleaned, Path(args.output))
    removed = len(frame) - len(cleaned)
    relabelled = int(cleaned[CHANGE_COLUMN].astype(str).str.startswith("relabelled").sum())
    say(f"wrote {len(cleaned)} rows to {args.output} ({removed} removed, {relabelled} relabelled)")
    return 0
