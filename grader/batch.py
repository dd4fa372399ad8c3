"""`grade batch`: a class's submissions of one exercise, graded in parallel into the gradebook.

Submissions are DIR/<student>/<ID>.py or DIR/<student>.py. Each is graded as `grade ID`
grades it (its own sandbox), in a pool of worker processes of the grader; the results come
back to this process, the gradebook's one writer, which records each attempt as soon as
it is done. An attempt whose submission and exercise hashes are already in the gradebook
is skipped, so a run killed at any moment and started again finishes the class with
every submission graded exactly once.
"""

from __future__ import annotations

import datetime
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import __version__
from grader.course import Course
from grader.errors import GraderError
from grader.gradebook import Attempt, Gradebook, file_hash


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def find_submissions(directory: Path, exercise_id: str) -> list[Submission]:
    """DIR/<student>/<ID>.py and DIR/<student>.py (the student's name from the path)."""
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a directory", fix="Pass the class's folder.")
    found = {}
    for path in sorted(directory.glob(f"*/{exercise_id}.py")):
        found[path.parent.name] = Submission(path.parent.name, path)
    for path in sorted(directory.glob("*.py")):
        found.setdefault(path.stem, Submission(path.stem, path))
    return sorted(found.values(), key=lambda s: s.student)


def exercise_hash(course: Course, exercise_id: str) -> str:
    """The exercise's YAML and every solutions/ module it names: a change to any of them
    grades the class again."""
    exercise = course.load(exercise_id)
    dotted = [exercise.reference, *(m.implementation for m in exercise.mistakes)]
    modules = sorted({d.rsplit(".", 1)[0] for d in dotted if d})
    paths = [course.root.joinpath(*m.split(".")).with_suffix(".py") for m in modules]
    return file_hash(course.exercise_path(exercise_id), *paths)


def _grade_one(course_root: str, exercise_id: str, path: str) -> dict[str, Any]:
    """In a worker process: one submission, graded as `grade ID` grades it; plain data back."""
    from grader.grading import grade

    try:
        report = grade(exercise_id, Path(path), course=Course(Path(course_root)))
    except GraderError as exc:
        return {"error": str(exc)}
    status = "passed" if report.passed else ("error" if report.error else "failed")
    return {
        "score": report.score,
        "max_score": report.max_score,
        "status": status,
        "mistakes": [m.id for m in report.diagnosis.mistakes] if report.diagnosis else [],
        "seconds": report.execution_time,
        "cases": [
            {"name": t.name, "status": t.status.value, "score": t.score, "seed": report.seed}
            for t in report.tests
        ],
    }


@dataclass
class Summary:
    graded: int = 0
    skipped: int = 0
    errors: int = 0
    scores: list[float] = field(default_factory=list)
    max_score: float = 0.0
    passed: int = 0
    mistakes: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        n = len(self.scores)
        out = [f"graded {self.graded}, skipped {self.skipped} (already in the gradebook)"]
        if n:
            out.append(
                f"mean {statistics.mean(self.scores):.2f}, median "
                f"{statistics.median(self.scores):g} of {self.max_score:g}; pass rate "
                f"{self.passed / n:.0%}; errors {self.errors}"
            )
        if self.mistakes:
            common = ", ".join(f"{m} ({k})" for m, k in self.mistakes.most_common(5))
            out.append(f"most frequent mistakes: {common}")
        if self.slowest:
            slow = ", ".join(f"{s} {t:.1f} s" for t, s in sorted(self.slowest)[-3:][::-1])
            out.append(f"slowest: {slow}")
        return out


def run_batch(
    course: Course,
    exercise_id: str,
    directory: Path,
    book: Gradebook,
    *,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    course.load(exercise_id)  # an unknown or broken exercise stops here, before any work
    subs = find_submissions(directory, exercise_id)
    ex_hash = exercise_hash(course, exercise_id)
    summary = Summary()
    todo: list[tuple[Submission, str]] = []
    for sub in subs:
        sub_hash = file_hash(sub.path)
        if book.has(sub.student, exercise_id, sub_hash, ex_hash):
            summary.skipped += 1
        else:
            todo.append((sub, sub_hash))
    workers = jobs or os.cpu_count() or 1
    done = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[dict[str, Any]], tuple[Submission, str]] = {}
        queue: Iterator[tuple[Submission, str]] = iter(todo)
        for item in queue:
            pending[pool.submit(_grade_one, str(course.root), exercise_id, str(item[0].path))] = (
                item
            )
            if len(pending) >= workers * 2:
                break
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                sub, sub_hash = pending.pop(future)
                _record(book, summary, exercise_id, sub, sub_hash, ex_hash, future.result())
                done += 1
                if progress is not None:
                    progress(done, len(todo))
                nxt = next(queue, None)
                if nxt is not None:
                    future = pool.submit(
                        _grade_one, str(course.root), exercise_id, str(nxt[0].path)
                    )
                    pending[future] = nxt
    return summary


def _record(
    book: Gradebook,
    summary: Summary,
    exercise_id: str,
    sub: Submission,
    sub_hash: str,
    ex_hash: str,
    result: dict[str, Any],
) -> None:
    if "error" in result:
        result = {"score": 0.0, "max_score": 0.0, "status": "error", "mistakes": [],
                  "seconds": 0.0, "cases": [{"error": result["error"]}]}  # fmt: skip
    attempt = Attempt(
        student=sub.student,
        item=exercise_id,
        submission_hash=sub_hash,
        exercise_hash=ex_hash,
        score=float(result["score"]),
        max_score=float(result["max_score"]),
        status=result["status"],
        mistakes=result["mistakes"],
        grader_version=__version__,
        graded_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        seconds=float(result["seconds"]),
        cases=result["cases"],
    )
    book.record(attempt)
    summary.graded += 1
    summary.scores.append(attempt.score)
    summary.max_score = max(summary.max_score, attempt.max_score)
    summary.passed += attempt.status == "passed"
    summary.errors += attempt.status == "error"
    summary.mistakes.update(attempt.mistakes)
    summary.slowest.append((attempt.seconds, sub.student))
