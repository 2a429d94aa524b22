"""Write the reviewed data set: the original data file with the review's decisions applied.

The data file is the one ``ract detect`` read (``summary.json`` records it, see :func:`find_data_file`). Accepted
and relabelled rows get their new label, dropped rows are left out, every other row is written unchanged; the
column ``ract_change`` says what happened to each row (the same table ``ract clean`` writes, through
:func:`ract.cleaning.apply_row_changes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ract.cleaning import CHANGE_COLUMN, apply_row_changes, set_labels
from ract.data import get_preset, read_table, write_table
from ract.data.loading import source_file
from ract.errors import RactError
from ract.review.session import ReviewSession

#: ``ract_change`` of a flagged row nobody decided on yet (it is written unchanged).
NOT_REVIEWED = "flagged, not reviewed"


@dataclass
class ExportResult:
    """Where the reviewed data went and what changed."""

    path: Path
    data_path: Path
    rows_written: int
    relabelled: int
    dropped: int
    not_reviewed: int
    notes: list[str]

    def message(self) -> str:
        """One line for the user."""
        return (
            f"wrote {self.rows_written} rows to {self.path} ({self.relabelled} relabelled, {self.dropped} dropped, "
            f"{self.not_reviewed} flagged rows not reviewed yet, kept as they were)"
        )


def find_data_file(session: ReviewSession, data: str | Path | None = None) -> Path:
    """The data file of the run: ``data`` if given, else the one ``summary.json`` records.

    ``summary.json`` holds the absolute ``path`` (newer runs) and the ``source`` as typed (a file, or a preset whose
    local copy is looked up again). RactError when none of these is a file.
    """
    if data is not None:
        path = Path(data).expanduser()
        if not path.is_file():
            raise RactError(f"--data {data}: file not found")
        return path
    record = session.summary.get("data") or {}
    recorded = record.get("path")
    if recorded and Path(recorded).is_file():
        return Path(recorded)
    source = record.get("source")
    found = source_file(str(source), str(record.get("split") or "train")) if source else None
    if found is None:
        said = f"summary.json names the data {source!r}" if source else "summary.json names no data"
        raise RactError(f"cannot find the data file of the run in {session.output_dir}: {said}; pass --data FILE")
    return found


def label_column_of(session: ReviewSession, label_column: str | None = None) -> str:
    """``label_column`` if given, else the one recorded in ``summary.json``, else the preset's, else ``label``."""
    if label_column:
        return label_column
    record = session.summary.get("data") or {}
    if record.get("label_column"):
        return str(record["label_column"])
    preset = get_preset(str(record.get("source") or ""))
    return preset.label_column if preset is not None else "label"


def default_export_path(session: ReviewSession, data_path: Path) -> Path:
    """``OUTPUT_DIR/reviewed`` + the data file's ending (``.csv``, ``.jsonl.gz``, ...): the input's format."""
    name = data_path.name.lower()
    suffix = "".join(data_path.suffixes[-2:]) if name.endswith(".gz") else data_path.suffix
    return session.output_dir / f"reviewed{suffix}"


def export_reviewed(
    session: ReviewSession,
    path: str | Path | None = None,
    data: str | Path | None = None,
    label_column: str | None = None,
) -> ExportResult:
    """Apply ``session``'s decisions to the run's data file and write it (format from the name of ``path``).

    Args:
        session: the review (its decisions as saved so far).
        path: where to write; default :func:`default_export_path`.
        data: the data file, when ``summary.json`` does not lead to it.
        label_column: the label column, when ``summary.json`` does not record it.
    """
    data_path = find_data_file(session, data)
    column = label_column_of(session, label_column)
    frame = read_table(data_path)
    if column not in frame.columns:
        raise RactError(f"{data_path} has no label column {column!r} (columns: {list(frame.columns)}); "
                        "pass --label-column")  # fmt: skip
    scored = session.scores["index"].to_numpy(np.int64)
    if len(scored) and (scored.min() < 0 or scored.max() >= len(frame)):
        raise RactError(f"{session.output_dir}: scores.csv refers to row {int(scored.max())} but {data_path} has "
                        f"{len(frame)} rows: is it the same data?")  # fmt: skip
    notes = []
    if (session.summary or {}).get("noise_injection"):
        given = dict(zip(scored.tolist(), session.scores["given_label"].astype(str), strict=True))
        frame = set_labels(frame, column, given, session.labels)
        notes.append("the run injected label noise: scored rows start from the labels the run saw, not the file's")
    status = np.full(len(frame), "not scored", dtype=object)
    status[scored] = "kept"
    status[session.flagged["index"].to_numpy(np.int64)] = NOT_REVIEWED
    relabel, drop = {}, []
    for decision in session.decided():
        if decision.decision == "drop":
            drop.append(decision.row_id)
        else:
            status[decision.row_id] = "kept (reviewed)"
            relabel[decision.row_id] = decision.new_label
    cleaned = apply_row_changes(frame, column, status, relabel=relabel, drop=drop, label_names=session.labels)
    destination = Path(path) if path is not None else default_export_path(session, data_path)
    write_table(cleaned, destination)
    changes = cleaned[CHANGE_COLUMN].astype(str)
    return ExportResult(
        path=destination,
        data_path=data_path,
        rows_written=len(cleaned),
        relabelled=int(changes.str.startswith("relabelled").sum()),
        dropped=len(drop),
        not_reviewed=int((changes == NOT_REVIEWED).sum()),
        notes=notes,
    )
