"""The class dashboard (`grade batch ... --report class.html`): the gradebook, one page.

Where the other renderers take one student's Report, this one takes the gradebook's
latest rows (plain dicts, `Gradebook.latest().values()`), so the figures an instructor
reads (mean, median, pass rates, histogram bins, most frequent mistakes) are counted
here: they are facts about a class, which no Report holds. They are counted in small pure
functions into frozen dataclasses, and the template only lays them out. Like the HTML
report, the page is one self-contained file (inline CSS and SVG, no script, no network),
and every string is escaped by jinja2: student names are folder names, anyone's to choose.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grader.render.templating import environment
from grader.render.untrusted import map_text, visible

#: Bins of a histogram at most: one per point up to this, wider bins beyond, so that a
#: 30-point exercise reads as 10 bars rather than 31 slivers.
MAX_BINS = 10
#: Mistakes listed per exercise: the ones worth a word in the next lecture.
MOST_MISTAKES = 10
#: Slowest submissions listed per exercise: where a timeout or a loop over 50,000 rows hides.
SLOWEST = 5

# Histogram geometry, in SVG user units (the SVG scales to the page's width).
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 24, 52


@dataclass(frozen=True)
class Bar:
    """One bin of scores, [low, high) (the last one includes high), and where it is drawn."""

    low: float
    high: float
    count: int
    last: bool
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    label: str
    at: float


@dataclass(frozen=True)
class Histogram:
    bars: tuple[Bar, ...]
    #: Along the x axis (the bins' edges, in points) and the y axis (submissions).
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


@dataclass(frozen=True)
class CaseRate:
    """How many of an exercise's submissions passed one case."""

    name: str
    passed: int
    submissions: int

    @property
    def rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass(frozen=True)
class Slow:
    student: str
    seconds: float
    score: float
    max_score: float
    status: str


@dataclass(frozen=True)
class Erroring:
    student: str
    #: The grader's own message when it could not grade at all (cases[0]["error"]); None
    #: when the submission was graded and every case errored (it did not load, it raised).
    message: str | None


@dataclass(frozen=True)
class ItemSummary:
    """One exercise of the class: what the dashboard shows in its section."""

    item: str
    title: str
    submissions: int
    max_score: float
    mean: float
    median: float
    passed: int
    errors: int
    histogram: Histogram
    cases: tuple[CaseRate, ...]
    mistakes: tuple[tuple[str, int], ...]
    slowest: tuple[Slow, ...]
    erroring: tuple[Erroring, ...]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


def histogram(scores: Sequence[float], max_score: float) -> Histogram:
    """Scores in at most MAX_BINS equal bins over 0..max_score, laid out for the SVG."""
    bins = min(MAX_BINS, max(1, math.ceil(max_score)))
    counts = [0] * bins
    for score in scores:
        # score * bins / max rather than score / width: exact for whole-point bins.
        index = math.floor(score * bins / max_score) if max_score > 0 else 0
        counts[min(max(index, 0), bins - 1)] += 1
    step = max(1, math.ceil(max(counts, default=0) / 5))
    top_count = max(step, step * math.ceil(max(counts, default=0) / step))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / bins
    gap = min(6.0, slot * 0.15)
    edge = max_score / bins if max_score > 0 else 0.0
    bars = []
    for i, count in enumerate(counts):
        height = count / top_count * plot_height
        bars.append(
            Bar(
                low=edge * i,
                high=edge * (i + 1),
                count=count,
                last=i == bins - 1,
                x=round(LEFT + slot * i + gap / 2, 1),
                y=round(TOP + plot_height - height, 1),
                width=round(slot - gap, 1),
                height=round(height, 1),
            )
        )
    x_ticks = tuple(Tick(f"{edge * i:.3g}", round(LEFT + slot * i, 1)) for i in range(bins + 1))
    y_ticks = tuple(
        Tick(str(n), round(TOP + plot_height - n / top_count * plot_height, 1))
        for n in range(0, top_count + 1, step)
    )
    return Histogram(tuple(bars), x_ticks, y_ticks)


def case_rates(rows: Sequence[Mapping[str, Any]]) -> tuple[CaseRate, ...]:
    """Each case, in the exercise's order, passed by how many of all the submissions.

    The denominator is every submission, also those the grader could not run at all
    (their case list holds only the error): a submission that never ran passed nothing.
    """
    order: dict[str, int] = {}
    for row in rows:
        for case in row["cases"]:
            if "name" in case:
                order.setdefault(case["name"], 0)
                order[case["name"]] += case.get("status") == "passed"
    return tuple(CaseRate(name, passed, len(rows)) for name, passed in order.items())


def summarise(item: str, title: str, rows: Sequence[Mapping[str, Any]]) -> ItemSummary:
    """One exercise's rows (one per student), counted for its section of the page."""
    scores = [float(row["score"]) for row in rows]
    max_score = max(float(row["max_score"]) for row in rows)
    mistakes = Counter(m for row in rows for m in row["mistakes"])
    slow = sorted(rows, key=lambda row: (-float(row["seconds"]), row["student"]))[:SLOWEST]
    erroring = sorted(
        (row for row in rows if row["status"] == "error"), key=lambda row: row["student"]
    )
    return ItemSummary(
        item=item,
        title=title,
        submissions=len(rows),
        max_score=max_score,
        mean=statistics.mean(scores),
        median=statistics.median(scores),
        passed=sum(row["status"] == "passed" for row in rows),
        errors=len(erroring),
        histogram=histogram(scores, max_score),
        cases=case_rates(rows),
        # Most frequent first; a tie in the order of their ids, so the page is stable.
        mistakes=tuple(sorted(mistakes.items(), key=lambda m: (-m[1], m[0]))[:MOST_MISTAKES]),
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
        erroring=tuple(Erroring(row["student"], _error_message(row)) for row in erroring),
    )


def _error_message(row: Mapping[str, Any]) -> str | None:
    cases = row["cases"]
    if cases and isinstance(cases[0], Mapping) and "error" in cases[0]:
        return str(cases[0]["error"])
    return None


def render_dashboard(
    rows: Sequence[Mapping[str, Any]], titles: Mapping[str, str], *, generated: str
) -> str:
    """The class's page: a section per exercise found in `rows`, in the order of their ids.

    `titles` names the exercises (an id without one is shown by its id alone);
    `generated` is when the page was made, shown as given. Student text (names, messages)
    is escaped by jinja2, its unseen characters first shown as escapes (untrusted.visible).
    """
    rows, titles = map_text(list(rows), visible), map_text(dict(titles), visible)
    by_item: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_item.setdefault(row["item"], []).append(row)
    items = [
        summarise(item, titles.get(item, item), sorted(found, key=lambda r: r["student"]))
        for item, found in sorted(by_item.items())
    ]
    return (
        environment(html=True)
        .get_template("class.html.j2")
        .render(items=items, generated=generated, submissions=len(rows))
    )
