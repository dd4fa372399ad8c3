"""`type: numeric`: a number, judged with the exercises' rule (numpy.isclose semantics) or by
significant figures. A wrong number is checked against the question's misconceptions in
order, and the first that matches names itself, gives its hint and the value it gives for
this variant. In Moodle, a numerical question per variant (the why in grader.quiz.moodle).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, SubElement

from grader.errors import GraderError
from grader.exercise.compare import within
from grader.quiz.moodle_xml import (
    PENALTY,
    blocks_html,
    clean,
    head,
    html,
    moodle_fraction,
    number,
    percent,
    rich,
    serialise,
)
from grader.quiz.type_base import BaseType, Flaw, Judged, Key

if TYPE_CHECKING:
    import questionary

    from grader.quiz.grading import Posed
    from grader.quiz.spec import Misconception, Question, Quiz

#: A number as a student writes it: digits, an optional point and exponent. Stricter than
#: float(), which also takes 'nan', 'inf' and '1_000': none of them is an answer.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class Numeric(BaseType):
    name = "numeric"
    keys = frozenset({"params", "answer", "value", "tolerance", "sigfigs", "misconceptions"})
    how = "a number"
    ask = "Your answer (a number):"

    @classmethod
    def check(cls, question: Question, raw: Mapping[str, Any]) -> Iterator[Flaw]:
        answer = raw.get("answer")
        if (answer is None) == ("value" not in raw):
            yield Flaw("type", "a numeric question needs exactly one of 'answer' and 'value'")
        if answer is not None and not isinstance(answer, str):
            yield Flaw("answer", "a numeric answer is a dotted path: solutions.<module>.<function>")
        if "params" in raw and answer is None:
            yield Flaw("params", "params need an 'answer' function to compute the answer from")
        if "tolerance" in raw and "sigfigs" in raw:
            yield Flaw("sigfigs", "give 'tolerance' or 'sigfigs', not both")
        for name in sorted(set(question.names) - set(question.params)):
            what = f"the text shows {{{name}}}, which is not a parameter"
            yield Flaw("text", what, "Declare it.")

    @classmethod
    def judge(cls, posed: Posed, raw: Any, *, practice: bool) -> Judged:
        question, variant = posed.question, posed.variant
        text = str(raw).strip()
        try:
            actual = float(text)
        except ValueError:
            return Judged(0.0, f"{text!r} is not a number", "Write a number, e.g. 0.2231.")
        if not math.isfinite(actual):
            return Judged(0.0, f"{text} is not a finite number", None)
        right = variant.answer
        if right is None:
            return Judged(
                0.0, "no key for this question here: it is graded in the course's CI", None
            )
        given = significant(text)
        required = question.sigfigs
        if required is not None and given is not None and given < required:
            if _close_at(actual, right, given):
                return _too_few(given, required, actual)
        elif matches(actual, right, question):
            return Judged(question.points, "correct", question.feedback.get("correct"), actual)
        for m in question.misconceptions:
            wrong = variant.wrong.get(m.id)
            if wrong is not None and matches(actual, wrong, question):
                message = f"this is what {m.title} gives ({wrong:.6g})"
                return Judged(question.points * m.credit, message, m.hint, actual)
        if given is not None and _close_at(actual, right, given):
            return _too_few(given, required or _figures_needed(right, question), actual)
        where = f" (the answer is {right:.6g})" if practice else ""
        return Judged(0.0, f"wrong value{where}", question.feedback.get("wrong"), actual)

    @classmethod
    def key(cls, posed: Posed, *, practice: bool) -> Key:
        question = posed.question
        right = posed.variant.answer if practice else None
        if question.sigfigs:  # the rule is rounding, which the message and hint state
            return Key(right)
        return Key(right, question.tolerance.rtol, question.tolerance.atol)

    @classmethod
    def prompt(cls, posed: Posed, pointer: str) -> questionary.Question:
        import questionary

        return questionary.text(cls.ask, validate=_check_number)

    @classmethod
    def given(cls, answer: Any) -> object:
        return str(answer).strip()  # the text as typed: its significant figures count

    @classmethod
    def moodle(cls, root: Element, quiz: Quiz, posed: Posed, name: str) -> None:
        """One variant: its own numbers in the text, its answer, then its misconceptions'
        values in the quiz's order, which is the order Moodle tries them in."""
        question, variant = posed.question, posed.variant
        right = variant.answer
        if right is None:  # only without solutions, which an export always has
            raise GraderError(
                f"question {question.id!r} has no answer to export", where=question.where
            )
        # A practice quiz's report shows the answer, right or wrong; a graded one's does not.
        general = f"The answer is {_shown(right, question)}." if quiz.practice else ""
        element = head(
            root, "numerical", name, html(posed.text), question.points, PENALTY, html(general)
        )
        correct = html(question.feedback.get("correct", ""))
        _answer(element, 1.0, number(right), correct, right, question)
        for m in question.misconceptions:
            value = variant.wrong[m.id]
            feedback = _misconception_feedback(m, _shown(value, question))
            _answer(element, moodle_fraction(m.credit), number(value), feedback, value, question)
        wrong = question.feedback.get("wrong", "")
        if wrong:  # Moodle's "any other response"; last, so that it never hides an answer
            _answer(element, 0.0, "*", html(wrong), None, question)
        SubElement(element, "unitgradingtype").text = "0"
        SubElement(element, "unitpenalty").text = "0.1000000"
        SubElement(element, "showunits").text = "3"  # qtype_numerical::UNITNONE
        SubElement(element, "unitsleft").text = "0"


# --- judging --------------------------------------------------------------------------------


def significant(text: str) -> int | None:
    """Significant figures written in a number's text (0.0450 -> 3); None: not a number."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    digits = value.as_tuple().digits
    stripped = list(digits)
    while stripped and stripped[0] == 0:
        stripped.pop(0)
    return max(1, len(stripped))


def matches(actual: float, target: float, question: Question) -> bool:
    """Whether `actual` is `target` by the question's rule: sigfigs or its tolerance."""
    if question.sigfigs is not None:
        if target == 0:
            return actual == 0
        unit = 10.0 ** (math.floor(math.log10(abs(target))) - question.sigfigs + 1)
        return abs(actual - target) <= 0.5 * unit * (1 + 1e-9)
    return within(actual, target, question.tolerance)


def _too_few(given: int, needed: int, actual: float) -> Judged:
    figures = f"{given} significant figure{'s' if given != 1 else ''}"
    return Judged(
        0.0,
        f"close, but {figures} {'are' if given != 1 else 'is'} too few",
        f"Give at least {needed} significant figures.",
        actual,
    )


def _close_at(actual: float, right: float, figures: int) -> bool:
    """Whether `right`, rounded to the figures the student wrote, is what they wrote."""
    if right == 0 or actual == 0:
        return False
    unit = 10.0 ** (math.floor(math.log10(abs(right))) - figures + 1)
    return abs(actual - right) <= 0.5 * unit * (1 + 1e-9)


def _figures_needed(right: float, question: Question) -> int:
    """Significant figures that bring rounding within the question's tolerance."""
    for figures in range(1, 16):
        unit = 10.0 ** (math.floor(math.log10(abs(right))) - figures + 1) if right else 0.0
        if 0.5 * unit <= question.tolerance.atol + question.tolerance.rtol * abs(right):
            return figures
    return 16


# --- the terminal ---------------------------------------------------------------------------


def _check_number(text: str) -> bool | str:
    """Numbers only, as written: '0,22' and '1/3' are told how to write one."""
    if _NUMBER.fullmatch(text.strip()):
        return True
    return "Write a number, e.g. 0.2231 or 2.5e-3 (with a decimal point, not a comma)."


# --- Moodle ---------------------------------------------------------------------------------


def tolerance(value: float, question: Question) -> float:
    """Our engine's rule (`matches`) around `value`, as the absolute error Moodle's
    numerical type takes: half a unit of the last significant figure with `sigfigs` (and
    the engine's 1e-9 slack), else atol + rtol * |value|."""
    if question.sigfigs is not None:
        if value == 0:
            return 0.0
        unit = 10.0 ** (math.floor(math.log10(abs(value))) - question.sigfigs + 1)
        return 0.5 * unit * (1 + 1e-9)
    return question.tolerance.atol + question.tolerance.rtol * abs(value)


def _shown(value: float, question: Question) -> str:
    """A value in feedback: 6 significant figures, more if the question asks for more."""
    return f"{value:.{max(6, question.sigfigs or 0)}g}"


def _answer(
    question_element: Element,
    fraction: float,
    text: str,
    feedback: str,
    value: float | None,
    question: Question,
) -> None:
    # A number is plain text: "moodle_auto_format", as Moodle's own export writes it.
    answer = SubElement(
        question_element, "answer", fraction=percent(fraction), format="moodle_auto_format"
    )
    SubElement(answer, "text").text = text
    SubElement(answer, "tolerance").text = (
        number(tolerance(value, question)) if value is not None else "0"
    )
    rich(answer, "feedback", feedback)


def _misconception_feedback(m: Misconception, value: str) -> str:
    """What our engine tells a student whose number matches `m`: its name, its hint and
    what that formula gives, so that the student can check their working."""
    blocks: list[Element] = []
    title = Element("p")
    SubElement(title, "strong").text = clean(m.title)
    blocks.append(title)
    blocks += blocks_html(m.hint)
    note = Element("p")
    note.text = clean(f"(this formula gives {value} for your numbers)")
    blocks.append(note)
    return serialise(blocks)
