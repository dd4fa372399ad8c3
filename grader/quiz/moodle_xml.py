"""Moodle XML's building blocks, shared by the export (grader.quiz.moodle) and each question
type's own question (grader.quiz.types): grades Moodle accepts, numbers as it reads them,
the parts every question has, and Markdown as HTML elements, never pasted strings."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from xml.etree.ElementTree import Element, SubElement, tostring

#: Moodle's default penalty per extra try (interactive behaviours only); ours has no tries.
PENALTY = 0.3333333
#: Moodle's positive grades (question_bank::fraction_options), as fractions of 1.
_GRADES = (
    1.0,
    0.9,
    0.8333333,
    0.8,
    0.75,
    0.7,
    0.6666667,
    0.6,
    0.5,
    0.4,
    0.3333333,
    0.3,
    0.25,
    0.2,
    0.1666667,
    0.1428571,
    0.125,
    0.1111111,
    0.1,
    0.05,
)
#: Every grade Moodle accepts on import (fraction_options_full), -1 to 1.
FRACTIONS = (0.0, *_GRADES, *(-g for g in _GRADES))
#: Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- grades and numbers ---------------------------------------------------------------------


def moodle_fraction(value: float) -> float:
    """The grade Moodle accepts nearest to `value` (a fraction of the points, -1 to 1):
    its import refuses any other."""
    return min(FRACTIONS, key=lambda f: (abs(f - value), -f))


def percent(fraction: float) -> str:
    """A grade as Moodle writes it: a percentage with at most 5 decimals (83.33333)."""
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text


def number(value: float) -> str:
    """Every digit of a float, as Moodle's number parser reads it (1e-05 included)."""
    return repr(float(value))


def decimal(value: float) -> str:
    """A mark or penalty with Moodle's 7 decimals at most, without trailing zeros."""
    return f"{value:.7f}".rstrip("0").rstrip(".") or "0"


# --- XML building blocks --------------------------------------------------------------------


def category(root: Element, path: str, info: str) -> None:
    """Moodle's pseudo-question that puts the questions after it into `path`."""
    element = SubElement(root, "question", type="category")
    SubElement(SubElement(element, "category"), "text").text = path
    rich(element, "info", html(info))


def head(
    root: Element,
    kind: str,
    name: str,
    text: str,
    points: float,
    penalty: float,
    general: str = "",
) -> Element:
    """The parts every question has, in the order Moodle's own export writes them."""
    element = SubElement(root, "question", type=kind)
    title = SubElement(element, "name")
    SubElement(title, "text").text = clean(name)
    rich(element, "questiontext", text)
    rich(element, "generalfeedback", general)
    SubElement(element, "defaultgrade").text = decimal(points)
    SubElement(element, "penalty").text = decimal(penalty)
    SubElement(element, "hidden").text = "0"
    return element


def rich(parent: Element, tag: str, markup: str) -> None:
    """<tag format="html"><text>markup</text></tag>: the HTML is XML-escaped as text."""
    element = SubElement(parent, tag, format="html")
    SubElement(element, "text").text = markup


def segment(name: str) -> str:
    """One level of a category path: Moodle reads '//' as a '/' inside a name."""
    return clean(name).replace("/", "//")


def clean(text: str) -> str:
    """`text` without the characters that would make the file ill-formed XML."""
    return _NOT_XML.sub("", text)


# --- Markdown -> HTML, as elements -----------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+")
_INLINE = re.compile(r"`([^`\n]+)`|\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


def html(markdown: str) -> str:
    """The HTML of a Markdown text; every character of the text is escaped."""
    return serialise(blocks_html(markdown))


def serialise(blocks: Sequence[Element]) -> str:
    return "".join(tostring(b, encoding="unicode", method="html") for b in blocks)


def blocks_html(markdown: str) -> list[Element]:
    out = []
    for kind, lines in _blocks(clean(markdown).expandtabs(4).splitlines()):
        if kind == "code":
            pre = Element("pre")
            SubElement(pre, "code").text = "\n".join(lines)
            out.append(pre)
        elif kind == "list":
            ul = Element("ul")
            for item in lines:
                _inline(SubElement(ul, "li"), item)
            out.append(ul)
        else:
            p = Element("p")
            _inline(p, "\n".join(lines))
            out.append(p)
    return out


def _blocks(lines: list[str]) -> Iterator[tuple[str, list[str]]]:
    """('p' | 'code' | 'list', lines or items) for each block of a Markdown text."""
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


def _inline(parent: Element, text: str) -> None:
    """`code` and **strong** as elements; the rest as text (escaped when serialised)."""
    last: Element | None = None
    pos = 0
    for match in _INLINE.finditer(text):
        before = text[pos : match.start()]
        if last is None:
            parent.text = (parent.text or "") + before
        else:
            last.tail = (last.tail or "") + before
        code = match.group(1)
        last = SubElement(parent, "code" if code is not None else "strong")
        last.text = code if code is not None else match.group(2)
        pos = match.end()
    rest = text[pos:]
    if last is None:
        parent.text = (parent.text or "") + rest
    else:
        last.tail = (last.tail or "") + rest
