"""A class's result of one submission (results.Outcome), built once from its Report, and
its stored form: the gradebook keeps exactly what every class output reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from grader.results import CaseRecord, Outcome, Report


def outcome(report: Report) -> Outcome:
    """The class's view of a report: scores, the mistakes named, a record per case."""
    status = "passed" if report.passed else ("error" if report.error else "failed")
    return Outcome(
        score=report.score,
        max_score=report.max_score,
        status=status,
        seconds=report.execution_time,
        mistakes=tuple(m.id for m in report.diagnosis.mistakes) if report.diagnosis else (),
        cases=tuple(
            CaseRecord(t.name, t.status.value, t.score, t.max_score, t.message, report.seed)
            for t in report.tests
        ),
    )


def refused(reason: str) -> Outcome:
    """A submission that could not be graded at all, and why."""
    return Outcome(score=0.0, max_score=0.0, status="error", seconds=0.0, error=reason)


def stored_cases(result: Outcome) -> list[dict[str, Any]]:
    return [asdict(case) for case in result.cases]


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
