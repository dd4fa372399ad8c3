"""Moodle XML's building blocks, shared by the export (grader.quiz.moodle) and each question
type's own question (grader.quiz.types): grades Moodle accepts, numbers as it reads them,
the parts every question has, and Markdown as HTML elements, never pasted strings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.etree.ElementTree import Element, SubElement, tostring

from grader.render import markup

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
    its import refuses any other, or with "nearest grade" rounds to this one."""
    return min(FRACTIONS, key=lambda f: (abs(f - value), -f))


def holds(value: float) -> bool:
    """Whether Moodle holds `value` as a grade: within 1e-5 of one of its list, the test
    its import makes (question_bank::match_grade_options, 'error')."""
    return abs(moodle_fraction(value) - value) < 1e-5


def neighbours(value: float) -> str:
    """The grades Moodle has on either side of `value`, for a message: '0.3333333 (1/3)
    or 0.4'."""
    below = max((f for f in FRACTIONS if f < value), default=None)
    above = min((f for f in FRACTIONS if f > value), default=None)
    return " or ".join(f"{f:.7g}" for f in (below, above) if f is not None)


def percent(fraction: float) -> str:
    """A grade as Moodle writes it: a percentage with at most 5 decimals (83.33333)."""
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text


def number(value: float) -> str:
    """A number as Moodle's parser reads it (1e-05 included), without a float's noise:
    1.8850000000000002 is written 1.885. 15 significant figures are more than any
    tolerance can tell apart, and fewer than a float carries (17), whose last ones are
    the noise of the arithmetic."""
    return repr(float(f"{float(value):.15g}"))


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


def html(markdown: str) -> str:
    """The HTML of a Markdown text; every character of the text is escaped."""
    return serialise(blocks_html(markdown))


def serialise(blocks: Sequence[Element]) -> str:
    return "".join(tostring(b, encoding="unicode", method="html") for b in blocks)


def blocks_html(markdown: str) -> list[Element]:
    """The subset of grader.render.markup, which the terminal shows too, as elements."""
    out = []
    for block in markup.blocks(clean(markdown).expandtabs(4)):
        if block.kind == "code":
            pre = Element("pre")
            SubElement(pre, "code").text = "\n".join(block.lines)
            out.append(pre)
        elif block.kind == "list":
            ul = Element("ul")
            for item in block.lines:
                _inline(SubElement(ul, "li"), item)
            out.append(ul)
        else:
            p = Element("p")
            _inline(p, "\n".join(block.lines))
            out.append(p)
    return out


def _inline(parent: Element, text: str) -> None:
    """`code` and **strong** as elements; the rest as text (escaped when serialised)."""
    last: Element | None = None
    for kind, run in markup.spans(text):
        if kind == "text":
            if last is None:
                parent.text = (parent.text or "") + run
            else:
                last.tail = (last.tail or "") + run
            continue
        last = SubElement(parent, "code" if kind == "code" else "strong")
        last.text = run
