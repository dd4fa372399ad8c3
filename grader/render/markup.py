"""The small Markdown of a course's texts (a quiz's intro, questions and feedback), read
once and shown by each reader in its own way: HTML elements in the Moodle export
(grader.quiz.moodle_xml), styled lines wrapped to the width in a terminal (here).

The subset, and nothing more: paragraphs, fenced or indented code blocks, "- " lists, and
inside them `code` and **strong**. Anything else is shown as typed, by every reader alike,
so that a text reads the same in the terminal and in Moodle. The course's texts are the
course's own (trusted); student text never passes through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["p", "code", "list"]
SpanKind = Literal["text", "code", "strong"]

_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+")
_INLINE = re.compile(r"`([^`\n]+)`|\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A paragraph (its lines), a code block (its lines, as written) or a list (its items)."""

    kind: BlockKind
    lines: tuple[str, ...]


def blocks(markdown: str) -> list[Block]:
    """The blocks of a Markdown text, in order."""
    return [Block(kind, tuple(lines)) for kind, lines in _blocks(markdown.splitlines())]


def _blocks(lines: list[str]) -> Iterator[tuple[BlockKind, list[str]]]:
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif _FENCE.match(line):
            end = i + 1
            while end < len(lines) and not _FENCE.match(lines[end]):
                end += 1
            yield "code", lines[i + 1 : end]
            i = end + 1
        elif line.startswith("    "):
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while not body[-1].strip():
                body.pop()
            yield "code", body
        elif _BULLET.match(line):
            items: list[str] = []
            while i < len(lines) and lines[i].strip() and not _FENCE.match(lines[i]):
                if _BULLET.match(lines[i]):
                    items.append(_BULLET.sub("", lines[i], count=1))
                else:
                    items[-1] += "\n" + lines[i].strip()
                i += 1
            yield "list", items
        else:
            para = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not _FENCE.match(lines[i])
                and not _BULLET.match(lines[i])
            ):
                para.append(lines[i].strip())
                i += 1
            yield "p", para


def spans(text: str) -> list[tuple[SpanKind, str]]:
    """A paragraph's or an item's text as runs of plain text, `code` and **strong**."""
    out: list[tuple[SpanKind, str]] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.start() > pos:
            out.append(("text", text[pos : match.start()]))
        code = match.group(1)
        out.append(("code", code) if code is not None else ("strong", match.group(2)))
        pos = match.end()
    if pos < len(text):
        out.append(("text", text[pos:]))
    return out


#: How a terminal shows a span: (its text, its kind) -> the text with any styling.
Style = Callable[[str, SpanKind], str]


def plain(text: str, kind: SpanKind) -> str:
    """No styling: what a terminal without colour, or a file, shows."""
    return text


def terminal_lines(markdown: str, width: int, style: Style = plain, indent: int = 0) -> list[str]:
    """A Markdown text as terminal lines of at most `width` characters (styling aside):
    paragraphs and list items wrapped at spaces, code blocks kept line for line (indented
    by 4, never wrapped: a formula or an array reads only as written), a blank line
    between blocks; `code` and **strong** shown by `style`, their marks gone."""
    pad = " " * indent
    out: list[str] = []
    for block in blocks(markdown.expandtabs(4)):
        if out:
            out.append("")
        if block.kind == "code":
            out += [f"{pad}    {line}".rstrip() for line in block.lines]
        elif block.kind == "list":
            for item in block.lines:
                rows = _wrap(spans(" ".join(item.split("\n"))), width - indent - 2, style)
                out += [f"{pad}{'- ' if n == 0 else '  '}{row}" for n, row in enumerate(rows)]
        else:
            rows = _wrap(spans(" ".join(block.lines)), width - indent, style)
            out += [pad + row for row in rows]
    return out


def _wrap(runs: list[tuple[SpanKind, str]], width: int, style: Style) -> list[str]:
    """Words filled into lines of at most `width` visible characters; a word longer than a
    line is cut. A styled run is styled word by word, so a line break never leaves a style
    open across the margin."""
    width = max(width, 20)
    words: list[list[tuple[str, SpanKind]]] = [[]]  # each word: its pieces, by kind
    for kind, text in runs:
        for n, piece in enumerate(re.split(r"\s+", text)):
            if n > 0:
                words.append([])  # whitespace inside a run: a new word
            if piece:
                words[-1].append((piece, kind))
    lines: list[str] = []
    shown, length = "", 0
    for word in _glued([w for w in words if w]):
        size = sum(len(piece) for piece, _ in word)
        while size > width:  # longer than a line: its first `width` characters alone
            if length:
                lines.append(shown)
                shown, length = "", 0
            head, word = _cut(word, width)
            lines.append("".join(style(p, k) for p, k in head))
            size -= width
        text = "".join(style(p, k) for p, k in word)
        if length and length + 1 + size > width:
            lines.append(shown)
            shown, length = "", 0
        shown, length = (f"{shown} {text}", length + 1 + size) if length else (text, size)
    if length or not lines:
        lines.append(shown)
    return lines


#: Words that never start or end a line: "p = 0.48" stays whole, as a reader parses it.
_GLUE = frozenset({"=", "<", ">", "<=", ">=", "+", "-", "x", "*", "/"})


def _glued(words: list[list[tuple[str, SpanKind]]]) -> list[list[tuple[str, SpanKind]]]:
    """An operator standing alone (`=`, `+`, `-`...) joined with the words on either
    side of it, by spaces that do not break."""
    out: list[list[tuple[str, SpanKind]]] = []
    join = False
    for word in words:
        alone = len(word) == 1 and word[0][1] == "text" and word[0][0] in _GLUE
        if out and (alone or join):
            out[-1] = [*out[-1], (" ", "text"), *word]
        else:
            out.append(list(word))
        join = alone
    return out


def _cut(
    word: list[tuple[str, SpanKind]], width: int
) -> tuple[list[tuple[str, SpanKind]], list[tuple[str, SpanKind]]]:
    """A word's first `width` characters, and the rest, with their kinds."""
    head: list[tuple[str, SpanKind]] = []
    rest: list[tuple[str, SpanKind]] = []
    room = width
    for piece, kind in word:
        if room >= len(piece):
            head.append((piece, kind))
            room -= len(piece)
        elif room > 0:
            head.append((piece[:room], kind))
            rest.append((piece[room:], kind))
            room = 0
        else:
            rest.append((piece, kind))
    return head, rest
