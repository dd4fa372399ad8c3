"""The HTML report: one self-contained file (inline CSS and SVG, no network), phone-sized.

Student text is escaped by jinja2 (autoescape), and before that its control characters,
bidirectional overrides and lone surrogates are shown as escapes (untrusted.visible): a
lone surrogate cannot be written as UTF-8, and an override would make text read in another
order than it is.
"""

from __future__ import annotations

from markupsafe import Markup

from grader.render.svg import legend, minus_html, render_svg
from grader.render.templating import environment
from grader.render.untrusted import map_text, visible
from grader.results import Report, Status


def render_html(report: Report) -> str:
    report = map_text(report, visible)
    plot = Markup(render_svg(report.plot)) if report.plot is not None else None
    return (
        environment(html=True)
        .get_template("report.html.j2")
        .render(
            report=report,
            plot=plot,
            legend=legend(report.plot) if report.plot is not None else [],
            x_label=report.plot.x_label if report.plot is not None else "",
            minus=minus_html,
            Status=Status,
        )
    )
