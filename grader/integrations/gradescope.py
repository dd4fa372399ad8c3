"""Gradescope's autograder: the submission it uploaded, graded into results.json.

Gradescope shows the student whatever results.json says, and nothing when there is none,
so a document is always produced: the report, or a score of 0 that says why there is no
report. A fault of the course (a reference that raises, a broken exercise file, no
sandbox) is said to be the autograder's, never the student's.

The student uploaded a file and runs nothing: everything they read is worded for that
audience (Audience.UPLOAD, decided here and passed to grading and to the renderer), so no
advice names a command or an option. The instructor's advice about a fault of the course
goes to the autograder's log. The seed is drawn from the exercise and the uploaded file,
so a regrade of the same upload draws the same cases and gives the same score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.audience import Audience
from grader.course import Course
from grader.errors import GraderError, SpecError, SubmissionFileError

if TYPE_CHECKING:
    from grader.exercise.prepare import Prepared

SUFFIXES = (".py", ".ipynb")
#: Who reads results.json: a student who uploaded a file.
AUDIENCE = Audience.UPLOAD


@dataclass(frozen=True)
class Results:
    #: results.json's text.
    document: str
    #: For the autograder's log (the instructor): what went wrong, when the course did.
    fault: str | None = None


#: How deep an upload's folders are looked into (a zip of a folder, a repository).
UPLOAD_DEPTH = 3


def find_submission(submission_dir: Path, exercise_id: str) -> tuple[Path, list[Path]]:
    """EXERCISE.py, else EXERCISE.ipynb, else the one .py or .ipynb uploaded; the top of
    the upload first, then its folders (a zip of a folder, a repository: a few levels,
    hidden ones and macOS's __MACOSX left out); and what was uploaded."""
    candidates = [submission_dir / f"{exercise_id}{suffix}" for suffix in SUFFIXES]
    uploaded = _uploaded(submission_dir)
    top = [p for p in uploaded if p.parent == submission_dir]
    named = [p for p in uploaded if p.name in {c.name for c in candidates}]
    for found in (top if len(top) == 1 else [], named[:1], uploaded if len(uploaded) == 1 else []):
        candidates += found
    return next((c for c in candidates if c.is_file() or c.is_symlink()), candidates[0]), uploaded


def _uploaded(folder: Path, depth: int = 0) -> list[Path]:
    """The .py and .ipynb files of an upload, shallowest first, each level sorted."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found = [p for p in entries if p.suffix in SUFFIXES and not p.is_dir()]
    if depth < UPLOAD_DEPTH:
        for sub in entries:
            if sub.is_dir() and not sub.is_symlink() and not sub.name.startswith((".", "__")):
                found += _uploaded(sub, depth + 1)
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def _failed(output: str) -> str:
    from grader.render.json import dumps

    document = {
        "score": 0,
        "output": output,
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
    }
    return dumps(document) + "\n"


def _what(exc: GraderError) -> str:
    """A fault without its advice: what and where, which a student can pass on, while the
    advice (commands the instructor runs) goes to the log."""
    if isinstance(exc, SpecError):
        return "\n".join(f"{p.where}: {p.what}" if p.where else p.what for p in exc.problems)
    return f"{exc.where}: {exc.what}" if exc.where else exc.what


def _seed(prepared: Prepared, submission: Path) -> int | None:
    """The upload's own seed; None when there is no file to read (grading then says why)."""
    try:
        # Only a regular file of the upload's own: the seed reads it before grading checks it.
        return (
            prepared.seed_of(submission)
            if submission.is_file() and not submission.is_symlink()
            else None
        )
    except OSError:
        return None


def results(exercise_id: str, submission_dir: Path, course: Callable[[], Course]) -> Results:
    """results.json for what Gradescope uploaded; never raises a GraderError."""
    from grader.exercise.grading import grade
    from grader.render.json import render_gradescope

    submission, uploaded = find_submission(submission_dir, exercise_id)
    try:
        prepared = course().prepare(exercise_id)
        seed = _seed(prepared, submission)
        report = grade(exercise_id, submission, prepared=prepared, seed=seed, audience=AUDIENCE)
        return Results(render_gradescope(report, AUDIENCE))
    except SubmissionFileError as exc:  # the student's to fix: what was uploaded, and why
        names = ", ".join(p.name for p in uploaded) or "no .py or .ipynb file"
        expected = f"{exercise_id}.py or {exercise_id}.ipynb"
        return Results(_failed(f"{exc}\n(uploaded: {names}; expected {expected})"))
    except GraderError as exc:  # anything else: the course's, the bundle's or the machine's
        message = (
            "The autograder is misconfigured: this is not your fault, and your submission "
            "was not graded (the score 0 only holds the place). Please tell your instructor, "
            "who can fix it and regrade your submission; the autograder's log says how.\n\n"
            f"For the instructor:\n{_what(exc)}"
        )
        return Results(_failed(message), fault=str(exc))


def write(path: Path, document: str) -> None:
    """Write results.json where Gradescope reads it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None
