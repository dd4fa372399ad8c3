"""Last step of the flow: one pure function per format, Report -> str.

Renderers only read the result model; they compute nothing about grading. The CLI picks
them by name (`--format`) from the registry below; each is imported only when used, so
that naming the formats costs the CLI nothing at start.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.results import Report

#: --format name -> "module:function" of a renderer. "text" also takes the terminal's
#: width and colours (grader.render.text.render_text); the others are `Report -> str`.
FORMATS = {
    "text": "grader.render.text:render_text",
    "json": "grader.render.json:render_json",
    "gradescope": "grader.render.json:render_gradescope",
    "junit": "grader.render.junit:render_junit",
    "github": "grader.render.github:render_github",
}
#: Report files by suffix (`--report feedback.html`); imported when used, jinja2 is slow.
REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def renderer(name: str) -> Callable[..., str]:
    """The renderer a --format names."""
    module, function = FORMATS[name].split(":")
    found: Callable[..., str] = getattr(importlib.import_module(module), function)
    return found


def render_text(report: Report, **options: object) -> str:
    return renderer("text")(report, **options)


__all__ = ["FORMATS", "REPORT_SUFFIXES", "render_text", "renderer"]
