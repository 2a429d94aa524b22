"""The state of one review: the flagged rows of a ``ract detect`` run, most suspicious first, and the decisions.

Every decision is saved at once (see :mod:`ract.review.decisions`); a new session on the same folder resumes at
the first undecided row. The session is shared by the web server's threads, so changes hold a lock.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pandas as pd

from ract.errors import RactError
from ract.reporting.html_report import load_scores, load_summary
from ract.reporting.outputs import SCORES_FILE, SUMMARY_FILE
from ract.review.decisions import DECISIONS, DECISIONS_FILE, Decision, load_decisions, now_utc, save_decisions


class ReviewSession:
    """The flagged rows of ``output_dir/scores.csv`` and the decisions taken on them.

    Attributes:
        output_dir: the ``--output-dir`` of a ``ract detect`` run.
        summary: parsed ``summary.json`` ({} when the folder has none).
        scores: every scored row, most suspicious first.
        flagged: the rows with ``is_label_issue``, most suspicious first; position ``p`` is the p-th to review.
        labels: the known label names; a typed label must be one of them.
        decisions: row id -> decision, in the order the decisions were taken.
    """

    def __init__(self, output_dir: str | Path) -> None:
        self.output_dir = Path(output_dir)
        if not self.output_dir.is_dir():
            raise RactError(f"no such folder {self.output_dir}: run `ract detect DATA --output-dir {output_dir}` first")
        if not (self.output_dir / SCORES_FILE).is_file():
            raise RactError(f"no {SCORES_FILE} in {self.output_dir}: run `ract detect DATA --output-dir {output_dir}`")
        self.summary = load_summary(self.output_dir) if (self.output_dir / SUMMARY_FILE).is_file() else {}
        self.scores = load_scores(self.output_dir)
        self.flagged = self.scores[self.scores["is_label_issue"]].reset_index(drop=True)
        self.labels = _label_names(self.summary, self.scores)
        self._position = {int(row_id): pos for pos, row_id in enumerate(self.flagged["index"])}
        self._lock = threading.RLock()
        self.decisions: dict[int, Decision] = {}
        for decision in load_decisions(self.decisions_path):
            self._check_known(decision)
            self.decisions.pop(decision.row_id, None)
            self.decisions[decision.row_id] = decision

    @property
    def decisions_path(self) -> Path:
        """``output_dir/review_decisions.csv``."""
        return self.output_dir / DECISIONS_FILE

    @property
    def total(self) -> int:
        """Number of flagged rows to review."""
        return len(self.flagged)

    def _check_known(self, decision: Decision) -> None:
        pos = self._position.get(decision.row_id)
        hint = "is it from another run? Move it away to start the review over"
        if pos is None:
            raise RactError(f"{self.decisions_path}: row_id {decision.row_id} is not a flagged row of {SCORES_FILE}; "
                            f"{hint}")  # fmt: skip
        given = str(self.flagged.at[pos, "given_label"])
        if decision.given_label != given:
            raise RactError(f"{self.decisions_path}: row_id {decision.row_id} has given_label {decision.given_label!r}"
                            f" but {SCORES_FILE} says {given!r}; {hint}")  # fmt: skip

    # ------------------------------------------------------------------------------------------ reading

    def resume_position(self, start: int = 0) -> int:
        """The first undecided position at or after ``start`` (wrapping round); ``total`` when all are decided."""
        order = list(range(start, self.total)) + list(range(min(start, self.total)))
        return next((pos for pos in order if self._row_id(pos) not in self.decisions), self.total)

    def _row_id(self, pos: int) -> int:
        return int(self.flagged.at[pos, "index"])

    def item(self, pos: int) -> dict | None:
        """The row at position ``pos`` and its decision as plain JSON types; None past the last row."""
        if not 0 <= pos < self.total:
            return None
        row = self.flagged.iloc[pos]
        decision = self.decisions.get(int(row["index"]))
        return {
            "row_id": int(row["index"]),
            "text": str(row["text"]),
            "given_label": str(row["given_label"]),
            "suggested_label": str(row["predicted_label"]),
            "noise_score": _number(row["noise_score"]),
            "label_quality": _number(row["label_quality"]),
            "decision": decision.decision if decision else None,
            "new_label": decision.new_label if decision else None,
        }

    def state(self, pos: int | None = None) -> dict:
        """What the page shows: the row at ``pos`` (default: where to resume) and the progress."""
        with self._lock:
            pos = self.resume_position() if pos is None else min(max(int(pos), 0), self.total)
            return {"pos": pos, "total": self.total, "decided": len(self.decisions), "item": self.item(pos)}

    def decided(self) -> list[Decision]:
        """A snapshot of the decisions, in the order they were taken."""
        with self._lock:
            return list(self.decisions.values())

    def counts(self) -> dict[str, int]:
        """Number of decisions of each kind, and of flagged rows not decided yet."""
        out = {kind: 0 for kind in DECISIONS}
        with self._lock:
            for decision in self.decisions.values():
                out[decision.decision] += 1
        out["undecided"] = self.total - len(self.decisions)
        return out

    # ------------------------------------------------------------------------------------------ changing

    def resolve_label(self, text: str) -> str:
        """The known label named by ``text`` (exact, else the one case-insensitive match); RactError otherwise."""
        text = str(text).strip()
        if text in self.labels:
            return text
        matches = [name for name in self.labels if name.casefold() == text.casefold()]
        if len(matches) == 1:
            return matches[0]
        shown = ", ".join(self.labels)
        raise RactError(f"unknown label {text!r}: type one of {shown}" if text else f"type a label: one of {shown}")

    def decide(self, row_id: int, decision: str, label: str | None = None) -> int:
        """Record and save a decision on flagged row ``row_id``; returns the position to show next.

        Args:
            row_id: the row's ``index`` in ``scores.csv``.
            decision: ``accept`` (the suggested label), ``keep`` (the given label), ``relabel`` (to ``label``,
                which must be a known label name) or ``drop``.
            label: the new label of ``relabel``.
        """
        pos = self._position.get(int(row_id))
        if pos is None:
            raise RactError(f"row {row_id} is not a flagged row of this run")
        if decision not in DECISIONS:
            raise RactError(f"unknown decision {decision!r}: one of {', '.join(DECISIONS)}")
        row = self.flagged.iloc[pos]
        new_label = {
            "accept": lambda: str(row["predicted_label"]),
            "keep": lambda: str(row["given_label"]),
            "relabel": lambda: self.resolve_label(label or ""),
            "drop": lambda: "",
        }[decision]()
        record = Decision(int(row_id), str(row["given_label"]), decision, new_label, now_utc())
        with self._lock:
            self.decisions.pop(record.row_id, None)
            self.decisions[record.row_id] = record
            save_decisions(self.decisions_path, self.decisions.values())
            return self.resume_position(pos + 1)

    def undo(self) -> int | None:
        """Take back the latest decision (and save); returns its row's position, or None if there was none."""
        with self._lock:
            if not self.decisions:
                return None
            row_id = next(reversed(self.decisions))
            del self.decisions[row_id]
            save_decisions(self.decisions_path, self.decisions.values())
        return self._position[row_id]


def _label_names(summary: dict, scores: pd.DataFrame) -> list[str]:
    """Class names from the summary, then any other label that ``scores.csv`` mentions."""
    names = [str(name) for name in (summary.get("data") or {}).get("label_names") or []]
    seen = set(names)
    for column in ("given_label", "predicted_label"):
        for value in scores[column].astype(str).unique():
            if value not in seen:
                names.append(value)
                seen.add(value)
    return names


def _number(value: object) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
