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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.classroom.result import cases_from, reasons_from, stored_cases, stored_reasons
from grader.results import NOT_GRADED, Outcome

if TYPE_CHECKING:
    from grader.course import Course

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
#: What each run found, for every student of each item it graded: the submission's hash,
#: or NULL when the student's file is gone; and the class folder it read (NULL in a
#: gradebook of an older version). The grade a class hands in is that of the file present
#: at the latest run of the folder the student was found in (a reverted file gets its own,
#: older, grade back; a run of another folder, such as one of late submissions, leaves the
#: students it does not hold as they were).
FOUND_SCHEMA = """
CREATE TABLE IF NOT EXISTS found (
    run INTEGER NOT NULL,
    student TEXT NOT NULL,
    item TEXT NOT NULL,
    submission_hash TEXT,
    exercise_hash TEXT NOT NULL,
    folder TEXT,
    PRIMARY KEY (run, student, item)
)
"""
#: A row's reason when the latest run found no file of the student's.
NO_SUBMISSION = "no submission: the file was gone at the latest run"


def file_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()


def exercise_hash(course: Course, exercise_id: str) -> str:
    """The exercise's YAML and every solutions/ module it names (a mistake's other ways of
    being written too: the diagnosis recognises each): a change to any of them grades the
    class again."""
    modules = course.load(exercise_id).graded_with()
    paths = [course.root.joinpath(*m.split(".")).with_suffix(".py") for m in modules]
    return file_hash(course.exercise_path(exercise_id), *paths)


def graded_key(ex_hash: str, seed: int | None) -> str:
    """What an attempt is recorded as graded against: the exercise's hash, and the seed
    when one was asked for (`--seed`): other cases, so a run with another seed grades
    again rather than skipping what the exercise's own seed graded."""
    if seed is None or seed == default_seed(ex_hash):
        return ex_hash
    return hashlib.sha256(f"{ex_hash}\0seed {seed}".encode()).hexdigest()


def default_seed(ex_hash: str) -> int:
    """One seed for the whole class, the same on every run while the exercise is unchanged:
    every student gets the same cases, and a re-run grades as the first run did."""
    return int(ex_hash[:8], 16) % 10**6


def is_current(row: Mapping[str, Any], ex_hash: str) -> bool:
    """Whether a graded row was graded against the exercise as it is now (`ex_hash`), with
    its own seed or the one its cases record."""
    seeds = {case.get("seed") for case in row.get("cases") or []}
    return row["exercise_hash"] == ex_hash or any(
        type(seed) is int and row["exercise_hash"] == graded_key(ex_hash, seed) for seed in seeds
    )


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


#: The columns of the attempts table that every version of the gradebook has had.
_OWN_COLUMNS = {
    "id", "student", "item", "submission_hash", "exercise_hash", "score", "max_score",
    "status", "mistakes", "grader_version", "graded_at", "seconds", "cases",
}  # fmt: skip


class NotAGradebookError(Exception):
    """A SQLite file of something else: nothing is written to it."""


class Gradebook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        _check_own(self.db)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.db.execute(FOUND_SCHEMA)
        #: After latest(): the class folder whose run each graded row was found by (None:
        #: a run of a version that did not record folders).
        self.sources: dict[tuple[str, str], str | None] = {}
        # A gradebook of an older version: its rows stay readable (rows() fills the gaps,
        # latest() takes a run without a folder for one of every folder).
        for table, column in (("attempts", "error"), ("attempts", "reasons"), ("found", "folder")):
            columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction; a write the disk refuses (full, read-only) is a GraderError that
        says so, with everything committed before it kept."""
        from grader.errors import GraderError

        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise GraderError(
                f"cannot write the gradebook {self.path}: {exc}",
                fix="Free space on its disk (or pass --gradebook PATH on another), then run "
                "the same command again: what was recorded before stays, and only what is "
                "missing is graded.",
            ) from None

    def has(self, student: str, item: str, submission_hash: str, exercise_hash: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM attempts WHERE student=? AND item=? AND submission_hash=? "
            "AND exercise_hash=?",
            (student, item, submission_hash, exercise_hash),
        ).fetchone()
        return row is not None

    def record(self, *attempts: Attempt) -> int:
        """Write attempts in one transaction (a chunk of a batch: all of it or none, and one
        commit instead of one per submission); how many were new (one graded twice is kept
        once)."""
        rows = [
            (
                a.student,
                a.item,
                a.submission_hash,
                a.exercise_hash,
                a.outcome.score,
                a.outcome.max_score,
                a.outcome.status,
                json.dumps(list(a.outcome.mistakes)),
                a.grader_version,
                a.graded_at,
                a.outcome.seconds,
                json.dumps(stored_cases(a.outcome)),
                a.outcome.error,
                json.dumps(stored_reasons(a.outcome)),
            )
            for a in attempts
        ]
        before = self.db.total_changes
        with self._transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO attempts (student, item, submission_hash, "
                "exercise_hash, score, max_score, status, mistakes, grader_version, "
                "graded_at, seconds, cases, error, reasons) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return self.db.total_changes - before

    def last_id(self) -> int:
        """The newest attempt's id: rows(after=...) of it gives what a run added."""
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0])

    def rows(self, after: int = 0) -> list[dict[str, Any]]:
        cursor = self.db.execute(
            "SELECT * FROM attempts WHERE id > ? ORDER BY student, item, id", (after,)
        )
        return [_decoded(row) for row in self._raw(cursor)]

    @staticmethod
    def _raw(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
        """Rows as stored: their JSON columns still text (see _decoded)."""
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def next_run(self) -> int:
        """A new run's number: one more than any run recorded."""
        row = self.db.execute("SELECT COALESCE(MAX(run), 0) FROM found").fetchone()
        return int(row[0]) + 1

    def record_found(
        self,
        run: int,
        item: str,
        found: Sequence[tuple[str, str | None]],
        exercise_hash: str,
        folder: str,
    ) -> None:
        """What a run of the class folder `folder` found for `item`: (student, submission
        hash or None), and None for every student an earlier run of the same folder found
        whose file is gone; one transaction. A student only another folder held is not this
        run's to judge, nor one a version that did not record folders found: wrongly gone,
        a student would be exported with 0."""
        present = {student for student, _ in found}
        known = {
            row[0]
            for row in self.db.execute(
                "SELECT DISTINCT student FROM found WHERE item=? AND folder=?", (item, folder)
            )
        }
        rows = [*found, *((student, None) for student in sorted(known - present))]
        with self._transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO found (run, student, item, submission_hash, "
                "exercise_hash, folder) VALUES (?, ?, ?, ?, ?, ?)",
                [(run, student, item, digest, exercise_hash, folder) for student, digest in rows],
            )

    def latest(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Each student's grade at each item: the attempt at the file the latest run of
        their class folder found (not the newest attempt: a student who went back to an
        older file has its grade), a "no submission" row when that run found none; the
        newest attempt where no run recorded what it found (a gradebook of an older
        version). Where the latest runs of two folders both hold a student, the newer
        one's word stands."""
        # Decoded only once chosen: a class's gradebook holds every attempt ever made, and
        # its cases are most of what it stores.
        rows = self._raw(self.db.execute("SELECT * FROM attempts ORDER BY student, item, id"))
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        by_file: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for row in rows:  # in id order per pair: the newest last
            latest[row["student"], row["item"]] = row
            file = (row["student"], row["item"], row["submission_hash"], row["exercise_hash"])
            by_file[file] = row
        runs = self.db.execute(
            "SELECT item, MAX(run) AS last, folder FROM found GROUP BY item, folder ORDER BY last"
        ).fetchall()
        for item in {item for item, _, _ in runs}:
            for pair in [k for k in latest if k[1] == item]:
                del latest[pair]
        held: set[tuple[str, str]] = set()
        self.sources = {}
        for item, run, folder in runs:
            found = self.db.execute(
                "SELECT student, submission_hash, exercise_hash FROM found WHERE run=? AND item=?",
                (run, item),
            ).fetchall()
            points = max((float(r["max_score"]) for r in rows if r["item"] == item), default=0.0)
            for student, digest, ex_hash in found:
                if digest is None:
                    # Gone from this folder; held by another folder's latest run (moved
                    # there), the student keeps that file's grade.
                    if (student, item) not in held:
                        latest[student, item] = no_submission(student, item, points)
                    continue
                held.add((student, item))
                self.sources[student, item] = folder
                graded = by_file.get((student, item, digest, ex_hash))
                latest[student, item] = (
                    graded
                    if graded is not None
                    # The run was stopped first: the file there has no grade yet (an older
                    # file's would not be this file's, nor is "no submission").
                    else {**no_submission(student, item, points, NOT_GRADED), "status": "pending"}
                )
        return {
            key: row if row["id"] is None else _decoded(row) for key, row in sorted(latest.items())
        }

    def previous_seconds(self, item: str) -> dict[str, float]:
        """How long each student's newest attempt at `item` took to grade (a batch starts
        the slowest first, so that they do not form the run's tail)."""
        rows = self.db.execute(
            "SELECT student, seconds FROM attempts WHERE item=? ORDER BY id", (item,)
        )
        return {student: float(seconds) for student, seconds in rows}


def _check_own(db: sqlite3.Connection) -> None:
    """Refuse, before anything is written, a database that holds tables but no gradebook's
    (an attempts table of the grader's columns): `--gradebook other.db` must not add
    tables to someone else's file."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return
    columns = {row[1] for row in db.execute("PRAGMA table_info(attempts)")}
    if not columns >= _OWN_COLUMNS:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise NotAGradebookError(f"a SQLite database of something else (its tables: {shown})")


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row with its JSON columns read, in the one shape every reader takes."""
    row = dict(row)
    row["mistakes"] = json.loads(row["mistakes"])
    row["cases"], row["error"] = cases_from(json.loads(row["cases"]), row.get("error"))
    stored = row.pop("reasons", None)
    row |= reasons_from(json.loads(stored) if stored else None, row["mistakes"])
    return row


def no_submission(
    student: str, item: str, max_score: float, reason: str = NO_SUBMISSION
) -> dict[str, Any]:
    """The row of a student with no file to grade: 0 points, status "missing", and why."""
    return {
        "id": None,
        "student": student,
        "item": item,
        "submission_hash": None,
        "exercise_hash": None,
        "score": 0.0,
        "max_score": max_score,
        "status": "missing",
        "mistakes": [],
        "grader_version": "",
        "graded_at": "",
        "seconds": 0.0,
        "cases": [],
        "error": reason,
        "load_error": None,
        "stopped": None,
        "mistake_titles": [],
    }


def open_gradebook(path: Path, *, create: bool = True) -> Gradebook:
    """The gradebook at `path` (made if missing and `create`), or a GraderError saying why
    it cannot be opened."""
    from grader.errors import GraderError

    if not create and not path.is_file():
        raise GraderError(f"{path} does not exist", fix="Run grade batch first.")
    if not path.parent.is_dir():
        raise GraderError(
            f"cannot make the gradebook {path}: the folder {path.parent} does not exist",
            fix="Create the folder first, or pass --gradebook PATH in a folder that exists.",
        )
    try:
        return Gradebook(path)
    except NotAGradebookError as exc:
        raise GraderError(
            f"{path} is not a gradebook: {exc}; it was left as it was",
            fix="Pass --gradebook PATH to the gradebook grade batch wrote (or to a new file).",
        ) from None
    except Exception as exc:  # sqlite3.Error: not a database, a read-only place
        raise GraderError(
            f"cannot open the gradebook {path}: {exc}",
            fix="Pass --gradebook PATH to a writable SQLite file (created if missing).",
        ) from None
