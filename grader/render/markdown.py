"""The Markdown report: for pull-request comments and CI step summaries."""

from __future__ import annotations

from grader.render.templating import environment
from grader.results import Report, Status


def _cell(text: str) -> str:
    """Text that cannot break a Markdown table row."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    template = environment(html=False).get_template("report.md.j2")
    return template.render(report=report, Status=Status, cell=_cell)
