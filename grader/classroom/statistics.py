"""A class's figures, counted once from the gradebook's rows: the summary after a run and
the dashboard both read them (results.ItemStats)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from grader.results import CaseRate, Erroring, ItemStats, Slow, StoppedCalls

#: Mistakes listed per exercise: the ones worth a word in the next lecture.
MOST_MISTAKES = 10
#: Slowest submissions listed per exercise: where a timeout or a loop over 50,000 rows hides.
SLOWEST = 5


def case_rates(rows: Sequence[Mapping[str, Any]]) -> tuple[CaseRate, ...]:
    """Each case, in the exercise's order, passed by how many of all the submissions.

    The denominator is every submission, also those the grader could not run at all
    (they have no cases): a submission that never ran passed nothing.
    """
    order: dict[str, int] = {}
    for row in rows:
        for case in row["cases"]:
            order.setdefault(case["name"], 0)
            order[case["name"]] += case.get("status") == "passed"
    return tuple(CaseRate(name, passed, len(rows)) for name, passed in order.items())


def item_stats(item: str, title: str, rows: Sequence[Mapping[str, Any]]) -> ItemStats:
    """One exercise's rows (one per student), counted; a student with no submission (status
    "missing") or a file not graded yet ("pending") is listed apart, outside the
    submissions and their figures."""
    rows = sorted(rows, key=lambda row: row["student"])
    missing = tuple(row["student"] for row in rows if row["status"] == "missing")
    pending = tuple(row["student"] for row in rows if row["status"] == "pending")
    points = max((float(row["max_score"]) for row in rows), default=0.0)
    rows = [row for row in rows if row["status"] not in ("missing", "pending")]
    scores = tuple(float(row["score"]) for row in rows)
    mistakes = Counter(m for row in rows for m in row["mistakes"])
    titles = {
        m: title
        for row in rows
        for m, title in zip(row["mistakes"], row.get("mistake_titles") or [], strict=False)
    }
    listed = sorted(mistakes.items(), key=lambda m: (-m[1], m[0]))[:MOST_MISTAKES]
    # A submission refused before it ran (0 s) is no slow one.
    timed = [row for row in rows if float(row["seconds"]) > 0]
    slow = sorted(timed, key=lambda row: (-float(row["seconds"]), row["student"]))[:SLOWEST]
    erroring = [row for row in rows if row["status"] == "error"]
    return ItemStats(
        item=item,
        title=title,
        submissions=len(rows),
        max_score=points,
        scores=scores,
        mean=statistics.mean(scores) if scores else 0.0,
        median=statistics.median(scores) if scores else 0.0,
        passed=sum(row["status"] == "passed" for row in rows),
        errors=len(erroring),
        cases=case_rates(rows),
        mistakes=tuple(listed),
        mistake_titles=tuple(titles.get(m, m) for m, _ in listed),
        slowest=tuple(
            Slow(
                student=row["student"],
                seconds=float(row["seconds"]),
                score=float(row["score"]),
                max_score=float(row["max_score"]),
                status=row["status"],
            )
            for row in slow
        ),
        erroring=tuple(
            Erroring(row["student"], row.get("error"), (row.get("load_error") or {}).get("line"))
            for row in erroring
        ),
        missing=missing,
        pending=pending,
        stopped=tuple(
            StoppedCalls(
                row["student"],
                str(stop.get("kind", "")),
                str(stop.get("message", "")),
                int(stop.get("calls") or 0),
            )
            for row in rows
            if row["status"] != "error" and isinstance(stop := row.get("stopped"), Mapping)
        ),
    )


def class_stats(rows: Sequence[Mapping[str, Any]], titles: Mapping[str, str]) -> list[ItemStats]:
    """Each exercise found in `rows`, in the order of their ids."""
    by_item: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_item.setdefault(row["item"], []).append(row)
    return [
        item_stats(item, titles.get(item, item), found) for item, found in sorted(by_item.items())
    ]
