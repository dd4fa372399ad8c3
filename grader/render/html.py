"""The HTML report: one self-contained file (inline CSS and SVG, no network), phone-sized."""

from __future__ import annotations

from markupsafe import Markup

from grader.render.svg import render_svg
from grader.render.templating import environment
from grader.results import Report, Status


def render_html(report: Report) -> str:
    plot = Markup(render_svg(report.plot)) if report.plot is not None else None
    return (
        environment(html=True)
        .get_template("report.html.j2")
        .render(report=report, plot=plot, Status=Status)
    )
