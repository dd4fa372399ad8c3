"""A class's result of one submission (results.Outcome), built once from its Report, and
its stored form: the gradebook keeps exactly what every class output reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import PurePath
from typing import Any

from grader.results import CaseRecord, LoadError, Outcome, Report, Stopped


def outcome(report: Report) -> Outcome:
    """The class's view of a report: scores, the mistakes named, a record per case, and
    why it could not be graded (it did not load, it ran out of time) or what stopped some
    of its calls. A submission stopped by its time budget is an error, not a failure: the
    cases it never ran say nothing about its answers."""
    found = report.diagnosis.mistakes if report.diagnosis else ()
    load_error = None
    if report.error is not None:
        load_error = LoadError(
            kind=report.error.kind,
            message=report.error.message,
            # The name as submitted: the worker's path is a temporary one.
            file=PurePath(report.error.file).name,
            line=report.error.line,
        )
    stopped = report.stopped
    status = "passed" if report.passed else "failed"
    if load_error is not None or (stopped is not None and stopped.whole):
        status = "error"
    return Outcome(
        score=report.score,
        max_score=report.max_score,
        status=status,
        seconds=report.execution_time,
        mistakes=tuple(m.id for m in found),
        mistake_titles=tuple(m.title for m in found),
        cases=tuple(
            CaseRecord(t.name, t.status.value, t.score, t.max_score, t.message, report.seed)
            for t in report.tests
        ),
        error=why(load_error, stopped),
        load_error=load_error,
        stopped=stopped,
    )


def why(load_error: LoadError | None, stopped: Stopped | None) -> str | None:
    """The one sentence every class output gives for a submission that could not be
    graded (Outcome.error); None when it was graded."""
    if load_error is not None:
        where = f" ({load_error.file}, line {load_error.line})" if load_error.line else ""
        return f"could not be loaded: {load_error.message}{where}"
    if stopped is not None and stopped.whole:
        return f"could not be graded: {stopped.message}"
    return None


def refused(
    reason: str, max_score: float, *, file: str | None = None, kind: str = "unreadable"
) -> Outcome:
    """A submission that could not be graded at all, and why, out of the exercise's points.
    With `file` (the name as submitted) it is the student's to fix, a load error of
    `kind` as a sandbox's would be (a link, a named pipe, a file too large, a notebook
    that is not one); without, the grader's own fault with that file."""
    if file is None:
        return Outcome(score=0.0, max_score=max_score, status="error", seconds=0.0, error=reason)
    load_error = LoadError(kind=kind, message=reason, file=file)
    return Outcome(
        score=0.0,
        max_score=max_score,
        status="error",
        seconds=0.0,
        error=why(load_error, None),
        load_error=load_error,
    )


def stored_cases(result: Outcome) -> list[dict[str, Any]]:
    """Each case as the gradebook keeps it. Its fields read directly: dataclasses.asdict
    deep-copies every value, and a class of 1,000 has 30,000 cases (0.6 s of the batch
    process's time)."""
    return [
        {
            "name": c.name,
            "status": c.status,
            "score": c.score,
            "max_score": c.max_score,
            "message": c.message,
            "seed": c.seed,
        }
        for c in result.cases
    ]


def stored_reasons(result: Outcome) -> dict[str, Any]:
    """The gradebook's `reasons` column: the load error, what stopped calls, and the
    titles of the mistakes named (JSON; NULL in a gradebook written before it existed)."""
    return {
        "load_error": asdict(result.load_error) if result.load_error else None,
        "stopped": asdict(result.stopped) if result.stopped else None,
        "mistake_titles": list(result.mistake_titles),
    }


def reasons_from(stored: Mapping[str, Any] | None, mistakes: list[str]) -> dict[str, Any]:
    """A row's reasons in the one shape, also for a gradebook written before they were
    kept: no load error or stop known, and each mistake titled by its id."""
    stored = stored if isinstance(stored, Mapping) else {}
    titles = stored.get("mistake_titles")
    if not isinstance(titles, list) or len(titles) != len(mistakes):
        titles = list(mistakes)
    return {
        "load_error": stored.get("load_error"),
        "stopped": stored.get("stopped"),
        "mistake_titles": titles,
    }


def cases_from(stored: list[Any], error: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The stored cases in the one shape, and the error: a gradebook written before the
    error had a column of its own kept it as a case [{"error": ...}]."""
    cases = []
    for case in stored:
        if not isinstance(case, Mapping):
            continue
        if "name" not in case:
            error = error or (str(case["error"]) if "error" in case else None)
            continue
        cases.append(
            {
                "name": case["name"],
                "status": case.get("status", "error"),
                "score": case.get("score", 0.0),
                "max_score": case.get("max_score"),
                "message": case.get("message", ""),
                "seed": case.get("seed"),
            }
        )
    return cases, error
