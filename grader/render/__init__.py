"""Last step of the flow: one pure function per format, Report -> str.

Renderers only read the result model; they compute nothing about grading. Every format
is one entry of FORMATS, which drives the CLI: `--format NAME` offers the entries printed
on stdout, `--report FILE` picks the entry its suffix names, `grade batch --format` offers
the entries with a class renderer, and a configuration error under a format that
programs read is that entry's error document. A renderer's module is imported only when
it is used, so that naming the formats costs the CLI nothing at start.

Adding a format: a module here with its renderer (and its escaping of student text, see
untrusted.py), plus one entry below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.results import Report


@dataclass(frozen=True)
class Format:
    """One output format and where the CLI offers it."""

    name: str
    #: For the CLI's help: who reads it.
    help: str
    #: "module:function", Report -> str ("text" also takes the terminal's width and colours).
    report: str
    #: Offered by `--format` (printed on stdout); False: a report file only.
    stdout: bool = True
    #: `--report FILE` suffixes that pick this format.
    suffixes: tuple[str, ...] = ()
    #: "module:function" of a class's output (`grade batch --format`): results.ClassRun
    #: -> str.
    batch: str | None = None
    #: Whether that output lists the class's rows and the run's attempts: the CLI reads
    #: them from the gradebook only then (decoding a class's thousand attempts is 0.1 s,
    #: at the end of the run).
    batch_attempts: bool = True
    #: "module:function" of the document a program gets when there is no report (a
    #: configuration error): message -> str. None: the error goes to stderr alone.
    error: str | None = None


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "text",
            "for people, in a terminal",
            "grader.render.text:render_text",
            batch="grader.render.text:render_class_summary",
            batch_attempts=False,
        ),
        Format(
            "json",
            "ours, documented in the manual",
            "grader.render.json:render_json",
            batch="grader.render.json:render_class",
            error="grader.render.json:render_error",
        ),
        Format(
            "gradescope",
            "Gradescope's results.json",
            "grader.render.json:render_gradescope",
            error="grader.render.json:render_error",
        ),
        Format(
            "junit",
            "JUnit XML for CI test viewers",
            "grader.render.junit:render_junit",
            batch="grader.render.junit:render_class",
        ),
        Format(
            "github",
            "GitHub Actions annotations and step summary",
            "grader.render.github:render_github",
        ),
        Format(
            "html",
            "a self-contained page",
            "grader.render.html:render_html",
            stdout=False,
            suffixes=(".html", ".htm"),
        ),
        Format(
            "markdown",
            "for pull requests and CI summaries",
            "grader.render.markdown:render_markdown",
            stdout=False,
            suffixes=(".md", ".markdown"),
        ),
    )
}
#: Report files by suffix (`--report feedback.html`).
REPORT_SUFFIXES = {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}
#: What `--format` offers, and `grade batch --format`.
STDOUT_FORMATS = [f.name for f in FORMATS.values() if f.stdout]
BATCH_FORMATS = [f.name for f in FORMATS.values() if f.batch]


def _load(path: str) -> Callable[..., str]:
    module, function = path.split(":")
    found: Callable[..., str] = getattr(importlib.import_module(module), function)
    return found


def renderer(name: str) -> Callable[..., str]:
    """The renderer of a report a format names."""
    return _load(FORMATS[name].report)


def batch_renderer(name: str) -> Callable[..., str]:
    """The renderer of a class run a format names."""
    path = FORMATS[name].batch
    if path is None:
        raise KeyError(f"{name} renders no class")
    return _load(path)


def error_document(name: str, message: str) -> str | None:
    """The document a program reading this format gets instead of a report; None: none."""
    path = FORMATS[name].error if name in FORMATS else None
    return None if path is None else _load(path)(message)


def format_help(names: list[str]) -> str:
    """One phrase per format, for an option's help."""
    return "; ".join(f"{name}: {FORMATS[name].help}" for name in names) + "."


def render_text(report: Report, **options: object) -> str:
    return renderer("text")(report, **options)


__all__ = [
    "BATCH_FORMATS",
    "FORMATS",
    "REPORT_SUFFIXES",
    "STDOUT_FORMATS",
    "Format",
    "batch_renderer",
    "error_document",
    "format_help",
    "render_text",
    "renderer",
]
