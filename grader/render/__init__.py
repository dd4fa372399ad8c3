"""Last step of the flow: one pure function per format, Report -> str.

Renderers only read the result model; they compute nothing about grading.
"""

from __future__ import annotations

from grader.render.json import render_json
from grader.render.text import render_text

FORMATS = ("text", "json")

__all__ = ["FORMATS", "render_json", "render_text"]
