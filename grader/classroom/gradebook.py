"""The gradebook: every attempt of a class, once, in SQLite (stdlib sqlite3, WAL).

One row per attempt: who, what, the content hashes of the submission and of the exercise
(its YAML and the solutions it names), the result, the grader version, the time and the
per-case results. The key (student, item, submission hash, exercise hash) is unique and
each row is written in its own transaction, so a batch killed at any moment and started
again grades what is missing and nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.classroom.result import cases_from, reasons_from, stored_cases, stored_reasons
from grader.results import Outcome

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    item TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    exercise_hash TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,
    mistakes TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    graded_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    cases TEXT NOT NULL,
    error TEXT,
    reasons TEXT,
    UNIQUE (student, item, submission_hash, exercise_hash)
)
"""


def file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Attempt:
    """One submission of one student, graded once: who, what, and its class result."""

    student: str
    item: str
    submission_hash: str
    exercise_hash: str
    outcome: Outcome
    grader_version: str
    graded_at: str


class Gradebook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(attempts)")}
        # A gradebook of an older version: its rows stay readable (rows() fills the gaps).
        for column in ("error", "reasons"):
            if column not in columns:
                self.db.execute(f"ALTER TABLE attempts ADD COLUMN {column} TEXT")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def has(self, student: str, item: str, submission_hash: str, exercise_hash: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM attempts WHERE student=? AND item=? AND submission_hash=? "
            "AND exercise_hash=?",
            (student, item, submission_hash, exercise_hash),
        ).fetchone()
        return row is not None

    def record(self, attempt: Attempt) -> bool:
        """Write one attempt; False when it was already there (graded twice, kept once)."""
        result = attempt.outcome
        with self._transaction():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO attempts (student, item, submission_hash, "
                "exercise_hash, score, max_score, status, mistakes, grader_version, "
                "graded_at, seconds, cases, error, reasons) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.student,
                    attempt.item,
                    attempt.submission_hash,
                    attempt.exercise_hash,
                    result.score,
                    result.max_score,
                    result.status,
                    json.dumps(list(result.mistakes)),
                    attempt.grader_version,
                    attempt.graded_at,
                    result.seconds,
                    json.dumps(stored_cases(result)),
                    result.error,
                    json.dumps(stored_reasons(result)),
                ),
            )
        return cursor.rowcount == 1

    def last_id(self) -> int:
        """The newest attempt's id: rows(after=...) of it gives what a run added."""
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0])

    def rows(self, after: int = 0) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT * FROM attempts WHERE id > ? ORDER BY student, item, id", (after,)
        )
        names = [d[0] for d in cursor.description]
        out = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            row["mistakes"] = json.loads(row["mistakes"])
            row["cases"], row["error"] = cases_from(json.loads(row["cases"]), row.get("error"))
            stored = row.pop("reasons", None)
            row |= reasons_from(json.loads(stored) if stored else None, row["mistakes"])
            out.append(row)
        return out

    def latest(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Each student's most recent attempt at each item."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.rows():
            latest[row["student"], row["item"]] = row  # rows come in id order per pair
        return latest


def open_gradebook(path: Path, *, create: bool = True) -> Gradebook:
    """The gradebook at `path` (made if missing and `create`), or a GraderError saying why
    it cannot be opened."""
    from grader.errors import GraderError

    if not create and not path.is_file():
        raise GraderError(f"{path} does not exist", fix="Run grade batch first.")
    try:
        return Gradebook(path)
    except Exception as exc:  # sqlite3.Error: not a database, a read-only place
        raise GraderError(
            f"cannot open the gradebook {path}: {exc}",
            fix="Pass --gradebook PATH to a writable SQLite file (created if missing).",
        ) from None
