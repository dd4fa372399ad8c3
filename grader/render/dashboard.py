"""The class dashboard (`grade batch ... --report class.html`): the gradebook, one page.

Where the other renderers take one student's Report, this one takes a class's figures
(results.ItemStats, counted once by classroom/statistics.py: the summary after a run reads
the same); it computes only where the histogram's bars go. Like the HTML report, the page
is one self-contained file (inline CSS and SVG, no script, no network), and every string
is escaped by jinja2: student names are folder names, anyone's to choose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from grader.render.templating import environment
from grader.render.untrusted import map_text, visible
from grader.results import ItemStats

#: Bins of a histogram at most: one per point up to this, wider bins beyond, so that a
#: 30-point exercise reads as 10 bars rather than 31 slivers.
MAX_BINS = 10

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


def render_dashboard(
    stats: Sequence[ItemStats], *, generated: str, unknown: Sequence[str] = ()
) -> str:
    """The class's page: a section per exercise, in the order given (statistics.class_stats
    counts them from the gradebook's latest rows); `generated` is when the page was made,
    shown as given; `unknown`, students graded whom the roster does not list. Student text
    (names, messages) is escaped by jinja2, its unseen characters first shown as escapes
    (untrusted.visible)."""
    stats = map_text(list(stats), visible)
    unknown = [visible(name) for name in unknown]
    return (
        environment(html=True)
        .get_template("class.html.j2")
        .render(
            items=stats,
            generated=visible(generated),
            unknown=unknown,
            submissions=sum(item.submissions for item in stats),
            histogram=histogram,
        )
    )
