"""An inline SVG line chart of the student's loss against the reference (HTML report).

Pure and dependency-free: a few dozen lines of SVG read better than a plotting library
would, and keep the report one self-contained file with no network resources.

The SVG holds the lines and the tick labels only. The axis label and the legend are HTML
beside it (report.html.j2), so they wrap on a phone instead of running into each other or
off the chart, and their text keeps its size however wide the chart is drawn. The tick
labels scale with the chart: the report's CSS enlarges them on narrow screens (class
"tick"), and the margins here leave room for them at that size, so they stay readable
(12 px or more) on a 375 px wide phone without overlapping.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from grader.results import PlotData

WIDTH, HEIGHT = 640, 340
RIGHT, TOP, BOTTOM = 16, 22, 48
REFERENCE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
STUDENT_COLOURS = ("#d62728", "#ff7f0e", "#e377c2", "#bcbd22")
#: The largest tick label size the report's CSS asks for (on a phone), in the chart's
#: units, and a generous width of one character of it: the margins are sized for these.
TICK_FONT_MAX = 24
CHAR_WIDTH = 0.62 * TICK_FONT_MAX
MINUS = "\u2212"


@dataclass(frozen=True)
class LegendEntry:
    """One line of the chart, for the HTML legend: its colour, its dash, what it is."""

    colour: str
    dashed: bool
    text: str


def legend(plot: PlotData) -> list[LegendEntry]:
    """The legend's entries in the order the lines are drawn: each series' reference, then
    the student's line on the same inputs; their text as written (see `minus_html`)."""
    entries = []
    for n, line in enumerate(plot.lines):
        entries.append(LegendEntry(REFERENCE_COLOURS[n % 4], False, f"reference, {line.label}"))
        entries.append(LegendEntry(STUDENT_COLOURS[n % 4], True, f"yours, {line.label}"))
    return entries


#: A hyphen that is a minus sign: before a number, not inside a word ("one-hot").
_UNARY = re.compile(r"(?<![\w)\].])-(?=\.?\d)")
#: A minus between two operands, spaced ("1 - p").
_BINARY = re.compile(r"(?<=\S) - (?=\S)")


#: What a minus sign must stay on one line with: a spaced difference ("1 - p", "a - b - c")
#: with its operands, a negative number ("-0.5") whole.
_MINUS_GROUP = re.compile(r"\S+(?: - \S+)+|(?<![\w)\].])-\.?\d\S*")


def minus_signs(text: str) -> str:
    """`text` with its minus signs as U+2212, which a line never breaks after when a
    number follows, and a spaced minus held to its operands by no-break spaces."""
    text = _BINARY.sub(f"\u00a0{MINUS}\u00a0", text)
    return _UNARY.sub(MINUS, text)


def minus_html(text: str) -> Markup:
    """`text` escaped for HTML, its minus signs as in `minus_signs`, and each difference or
    negative number in a span that does not wrap (class "nowrap"): the page lets a long
    word break anywhere (overflow-wrap: anywhere), which would otherwise split "1 - p"
    after its minus on a phone."""
    parts: list[str] = []
    last = 0
    for group in _MINUS_GROUP.finditer(text):
        parts.append(escape(text[last : group.start()]))
        parts.append(f'<span class="nowrap">{escape(minus_signs(group.group()))}</span>')
        last = group.end()
    parts.append(escape(text[last:]))
    return Markup("".join(parts))


def _number(value: float) -> str:
    return minus_signs(f"{value:.3g}")


def _finite(values: tuple[float | None, ...]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _y_range(plot: PlotData) -> tuple[float, float]:
    """From the reference's values away from the ends (where -log blows up), wide enough
    for the student's, but never so wide that the reference becomes a flat line."""
    inner = [
        y
        for line in plot.lines
        for x, y in zip(plot.xs, line.reference, strict=True)
        if 0.02 <= x <= 0.98 or not 0.0 <= x <= 1.0
    ]
    top = max(inner or [1.0]) * 1.3 or 1.0
    student = [y for line in plot.lines for y in _finite(line.student)]
    high = min(max([top, *student]), 3 * top)
    low = max(min([0.0, *student]), -3 * top)
    return low, high if high > low else low + 1.0


def render_svg(plot: PlotData) -> str:
    low, high = _y_range(plot)
    x0, x1 = plot.xs[0], plot.xs[-1]
    y_ticks = [low + (high - low) * i / 4 for i in range(5)]
    x_ticks = [x0 + (x1 - x0) * i / 5 for i in range(6)]
    y_labels = [_number(y) for y in y_ticks]
    x_labels = [_number(x) for x in x_ticks]
    # Room for the widest y label right of the edge, and for half of the first and last
    # x labels, which are centred on the chart's edges.
    left = max(56.0, 12 + CHAR_WIDTH * max(map(len, y_labels)), CHAR_WIDTH * len(x_labels[0]) / 2)
    right = max(RIGHT, 4 + CHAR_WIDTH * len(x_labels[-1]) / 2)

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * (WIDTH - left - right)

    def py(y: float) -> float:
        y = min(max(y, low), high)
        return TOP + (high - y) / (high - low) * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'role="img" aria-label="your loss against the reference" class="plot">',
        f'<rect x="{left:.1f}" y="{TOP}" width="{WIDTH - left - right:.1f}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="#fff" stroke="#999"/>',
    ]
    for y, label in zip(y_ticks, y_labels, strict=True):  # y grid and labels
        parts.append(
            f'<line x1="{left:.1f}" x2="{WIDTH - right:.1f}" y1="{py(y):.1f}" '
            f'y2="{py(y):.1f}" stroke="#eee"/>'
            f'<text x="{left - 6:.1f}" y="{py(y):.1f}" dy="0.35em" text-anchor="end" '
            f'class="tick" font-size="12">{label}</text>'
        )
    # x labels below the axis, clear of the lowest y label (centred on it) at any size.
    for x, label in zip(x_ticks, x_labels, strict=True):
        parts.append(
            f'<text x="{px(x):.1f}" y="{HEIGHT - BOTTOM}" dy="1.5em" '
            f'text-anchor="middle" class="tick" font-size="12">{label}</text>'
        )
    for n, line in enumerate(plot.lines):
        ref = " ".join(
            f"{px(x):.1f},{py(y):.1f}"
            for x, y in zip(plot.xs, line.reference, strict=True)
            if math.isfinite(y)
        )
        parts.append(
            f'<polyline points="{ref}" fill="none" stroke-width="2.5" '
            f'stroke="{REFERENCE_COLOURS[n % 4]}" class="reference"/>'
        )
        segments: list[list[str]] = [[]]
        broken = []
        for x, got in zip(plot.xs, line.student, strict=True):
            if got is None or not math.isfinite(got):
                segments.append([])
                broken.append(x)
                continue
            segments[-1].append(f"{px(x):.1f},{py(got):.1f}")
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke-width="2" '
                    f'stroke-dasharray="6 4" stroke="{STUDENT_COLOURS[n % 4]}" class="student"/>'
                )
        for x in broken:  # NaN, infinity or no number: a cross on the top edge
            cx, cy = px(x), TOP + 6
            parts.append(
                f'<path d="M{cx - 4:.1f},{cy - 4} L{cx + 4:.1f},{cy + 4} M{cx - 4:.1f},'
                f'{cy + 4} L{cx + 4:.1f},{cy - 4}" stroke="{STUDENT_COLOURS[n % 4]}" '
                'stroke-width="2" class="not-a-number"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
