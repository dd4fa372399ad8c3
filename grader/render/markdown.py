"""The Markdown report: for pull-request comments and CI step summaries.

This module is Markdown's boundary for student text. The template's every `{{ ... }}` is
escaped as inline text unless a filter here made it Markdown on purpose, so nothing a
submission says can become markup: HTML, comments, images, links, emphasis, table cells or
a heading. Inline text has its Markdown punctuation backslash-escaped, `&`, `<` and `>` as
entities, line breaks as spaces, and the forms GitHub links by itself (`https://`, `www.`,
`a@b`) broken. Code goes in a span (`code`) or a fence (`fence`) longer than any run of
backticks it holds, so it cannot close early. Control characters are shown as escapes.
"""

from __future__ import annotations

import functools
import re

import jinja2

from grader.render.templating import environment
from grader.render.untrusted import map_text, visible
from grader.results import Report, Status


class Markdown(str):
    """Text that is Markdown already: the template's escaping leaves it as it is."""


#: Backslash-escaped (CommonMark 2.4: escaped ASCII punctuation means itself): what opens
#: emphasis, code, links and images, a table cell, strikethrough or math, the backslash
#: itself, and the characters that make GitHub link a bare `https://...`, `www.x` or
#: `a@b` (its autolinker never sees an escaped one). `_` between two letters or digits
#: (y_true) opens and closes nothing, and is left as written. Block syntax needs no escape: inline
#: text never starts a line (its line breaks become spaces).
_PUNCTUATION = re.compile(r"[\\`*\[\]|~$@&<>]|:(?=//)|(?<=[wW]{3})\.|(?<![^\W_])_|_(?![^\W_])")
_ENTITY = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKTICKS = re.compile(r"`+")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _ENTITY.get(char) or "\\" + char


def inline(text: str) -> str:
    """Student text as Markdown inline text: read exactly as written, never as markup."""
    return _PUNCTUATION.sub(_escape, " ".join(visible(text).splitlines()))


def _longest_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def code(text: object) -> Markdown:
    """A code span that holds `text` whole: delimited by more backticks than its longest
    run, padded where it starts or ends with a backtick, on one line (a line break in a
    span could start a block of its own)."""
    body = " ".join(visible(str(text)).splitlines()) or " "
    ticks = "`" * (_longest_run(body) + 1)
    if body.startswith(("`", " ")) or body.endswith(("`", " ")):
        body = f" {body} "
    return Markdown(f"{ticks}{body}{ticks}")


def fence(text: object) -> Markdown:
    """A fenced code block that holds `text` whole: its fence is longer than any run of
    backticks inside, so no line of the text can close it."""
    body = visible(str(text)).rstrip("\n")
    ticks = "`" * max(3, _longest_run(body) + 1)
    return Markdown(f"{ticks}\n{body}\n{ticks}")


def cell(text: object) -> Markdown:
    """Text in a table cell: inline text, whose `|` is escaped too."""
    return Markdown(inline(str(text)))


def _finalize(value: object) -> object:
    """Every expression the template prints: Markdown passes, anything else is text."""
    if isinstance(value, Markdown) or value is None:
        return value
    return inline(str(value))


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    return environment(html=False, finalize=_finalize).get_template("report.md.j2")


def render_markdown(report: Report) -> str:
    report = map_text(report, visible)
    return _template().render(report=report, Status=Status, cell=cell, code=code, fence=fence)
