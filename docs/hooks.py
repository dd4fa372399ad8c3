"""MkDocs hook: the CLI reference shows each command's help as click prints it.

mkdocs-click copies a command's docstring into the page as Markdown. Two things click
means there do not survive that: `<student>` in `DIRECTORY/<student>/EXERCISE.py` is read as
an HTML tag and vanishes, and a paragraph that starts with click's `\\b` line (keep these
lines as written) loses its `\\b` line to mkdocs-click and is run together into one.
Between the lines `<!-- click-help -->` and `<!-- /click-help -->` of a page, once
mkdocs-click has written its Markdown, this shows each of those paragraphs (found in the
commands' own help) as a text block and escapes `<` outside code, so the page says what
`grade --help` says. mkdocs.yml loads it (`hooks:`) and leaves it out of the site.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import click
from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

START, END = "<!-- click-help -->", "<!-- /click-help -->"
# mkdocs-click's preprocessor has priority 141 and Markdown's HTML-block one 20:
# run after the first has written the help and before the second reads tags.
PRIORITY = 100


def _commands(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _commands(sub)


def _kept_paragraphs() -> set[tuple[str, ...]]:
    """Each paragraph of a command's help that starts with `\\b`, as mkdocs-click writes it."""
    from grader.cli import cli  # the command docs/cli.md documents

    kept = set()
    for command in _commands(cli):
        for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
            first, *rest = paragraph.split("\n")
            if first.strip() == "\b" and rest:
                kept.add(tuple(rest))
    return kept


def _escape(line: str) -> str:
    """`<` as `&lt;` outside inline code spans (odd-numbered pieces between backticks)."""
    pieces = line.split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;") for i, p in enumerate(pieces))


class ClickHelp(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        kept = _kept_paragraphs()
        out: list[str] = []
        inside = fenced = False
        paragraph: list[str] = []

        def flush() -> None:
            if tuple(paragraph) in kept:
                out.extend(["```text", *paragraph, "```"])
            else:
                out.extend(_escape(line) for line in paragraph)
            paragraph.clear()

        for line in lines:
            if line.strip() == START:
                inside = True
            elif line.strip() == END:
                flush()
                inside = False
            elif not inside:
                out.append(line)
            elif fenced or line.startswith("```"):
                fenced = fenced != line.startswith("```")
                out.append(line)
            elif line.strip():
                paragraph.append(line)
            else:
                flush()
                out.append(line)
        flush()
        return out


class ClickHelpExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's name)
        md.preprocessors.register(ClickHelp(md), "click_help", PRIORITY)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(ClickHelpExtension())
    return config
