"""Last step of the flow: one pure function per format, Report -> str.

Renderers only read the result model; they compute nothing about grading.
"""

from __future__ import annotations

from grader.render.json import render_json
from grader.render.text import render_text

FORMATS = ("text", "json")
#: Report files by suffix (`--report feedback.html`); imported when used, jinja2 is slow.
REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}

__all__ = ["FORMATS", "REPORT_SUFFIXES", "render_json", "render_text"]
