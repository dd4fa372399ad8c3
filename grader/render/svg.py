"""An inline SVG line chart of the student's loss against the reference (HTML report).

Pure and dependency-free: a few dozen lines of SVG read better than a plotting library
would, and keep the report one self-contained file with no network resources.
"""

from __future__ import annotations

import math
from html import escape

from grader.results import PlotData

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48
LEGEND_ROW = 20
REFERENCE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
STUDENT_COLOURS = ("#d62728", "#ff7f0e", "#e377c2", "#bcbd22")


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
    height = HEIGHT + LEGEND_ROW * len(plot.lines)
    low, high = _y_range(plot)
    x0, x1 = plot.xs[0], plot.xs[-1]

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1.0) * (WIDTH - LEFT - RIGHT)

    def py(y: float) -> float:
        y = min(max(y, low), high)
        return TOP + (high - y) / (high - low) * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        'role="img" aria-label="your loss against the reference" class="plot">',
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}" fill="#fff" stroke="#999"/>',
    ]
    for i in range(5):  # y grid and labels
        y = low + (high - low) * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            'stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{y:.3g}</text>'
        )
    for i in range(6):  # x labels
        x = x0 + (x1 - x0) * i / 5
        parts.append(
            f'<text x="{px(x):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11">{x:.3g}</text>'
        )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 10}" text-anchor="middle" '
        f'font-size="12">{escape(plot.x_label)}</text>'
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
    for n, line in enumerate(plot.lines):  # legend rows under the chart
        y = HEIGHT + LEGEND_ROW * n + 4
        ref, mine = REFERENCE_COLOURS[n % 4], STUDENT_COLOURS[n % 4]
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + 28}" y1="{y}" y2="{y}" stroke="{ref}" '
            f'stroke-width="2.5"/><text x="{LEFT + 34}" y="{y + 4}" font-size="12">'
            f"reference, {escape(line.label)}</text>"
            f'<line x1="{LEFT + 300}" x2="{LEFT + 328}" y1="{y}" y2="{y}" stroke="{mine}" '
            f'stroke-width="2" stroke-dasharray="6 4"/><text x="{LEFT + 334}" y="{y + 4}" '
            f'font-size="12">yours, {escape(line.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
