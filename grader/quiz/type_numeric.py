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
        for name, spec in question.params.items():
            if "uniform" in spec and "digits" not in spec:
                yield Flaw(
                    "params",
                    f"parameter {name!r} is drawn from a range without 'digits': students "
                    "would read every digit of a float (0.4878441320948962) and compute by "
                    "hand from it",
                    "Add digits: the decimals shown, and computed with (digits: 2 shows 0.20).",
                )

    @classmethod
    def judge(cls, posed: Posed, raw: Any, *, practice: bool) -> Judged:
        """The number as written: its value, and its significant figures (0.5500 has 4,
        0.55 has 2), which a `sigfigs` question requires and any question may fall short of.
        A number refused for its figures carries no `actual`: a report would show it beside
        the expected value, equal at the digits it prints, as if it were right."""
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
        short = required is not None and given is not None and given < required and right != 0
        if short and given is not None and _close_at(actual, right, given):
            return _too_few(text, given, figures_required(question, right))
        if not short and matches(actual, right, question):
            return Judged(question.points, "correct", question.feedback.get("correct"), actual)
        for m in question.misconceptions:
            wrong = variant.wrong.get(m.id)
            if wrong is not None and matches(actual, wrong, question):
                message = f"this is what {m.title} gives ({shown(wrong, question)})"
                return Judged(question.points * m.credit, message, m.hint, actual)
        if given is not None and _close_at(actual, right, given):
            return _too_few(text, given, figures_required(question, right))
        where = f" (the answer is {shown(right, question)})" if practice else ""
        return Judged(0.0, f"wrong value{where}", question.feedback.get("wrong"), actual)

    @classmethod
    def key(cls, posed: Posed, *, practice: bool) -> Key:
        """With `sigfigs`, the interval is half a unit of the last required figure (rtol 0):
        the rule's other half, the figures written, is in the verdict and its hint."""
        question = posed.question
        right = posed.variant.answer if practice else None
        answer = posed.variant.answer
        if question.sigfigs is not None:
            half = None if answer is None else half_unit(answer, question.sigfigs)
            return Key(right, 0.0, half)
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
        general = f"The answer is {shown(right, question)}." if quiz.practice else ""
        element = head(
            root, "numerical", name, html(posed.text), question.points, PENALTY, html(general)
        )
        correct = html(question.feedback.get("correct", ""))
        _answer(element, 1.0, number(right), correct, right, question)
        for m in question.misconceptions:
            value = variant.wrong[m.id]
            feedback = _misconception_feedback(m, shown(value, question))
            _answer(element, moodle_fraction(m.credit), number(value), feedback, value, question)
        wrong = question.feedback.get("wrong", "")
        if wrong:  # Moodle's "any other response"; last, so that it never hides an answer
            _answer(element, 0.0, "*", html(wrong), None, question)
        SubElement(element, "unitgradingtype").text = "0"
        SubElement(element, "unitpenalty").text = "0.1000000"
        SubElement(element, "showunits").text = "3"  # qtype_numerical::UNITNONE
        SubElement(element, "unitsleft").text = "0"


# --- judging --------------------------------------------------------------------------------


def figures_rule(figures: int) -> str:
    """The significant-figure rule, in the one wording every reader meets: a question's
    hint, the quiz intros and docs/quizzes.md say "give at least N significant figures"."""
    return f"give at least {figures} significant figure{'s' if figures != 1 else ''}"


def figures_required(question: Question, value: float) -> int:
    """The significant figures a student is asked for: `sigfigs`, else the fewest whose
    rounding any value's tolerance takes (rounding to N figures errs by at most
    0.5 * 10^(1-N) of the value, so N with that <= rtol: 4 for rtol 1e-3 or 2e-3), the
    same for every student, so that an intro can state it once; with rtol 0, the fewest
    this value's atol takes."""
    if question.sigfigs is not None:
        return question.sigfigs
    rtol, atol = question.tolerance.rtol, question.tolerance.atol
    for figures in range(1, 17):
        if rtol > 0 and 0.5 * 10.0 ** (1 - figures) <= rtol * (1 + 1e-9):
            return figures
        if rtol == 0 and value != 0 and half_unit(value, figures) <= atol:
            return figures
    return 17


def written(value: float, figures: int) -> str:
    """`value` as a student writes it to `figures` significant figures, trailing zeros
    kept: 0.55 to 4 is 0.5500, 1234.5 to 4 is 1235, 2.5e-05 to 3 is 2.50e-05."""
    mantissa, mark, exponent = f"{value:#.{figures}g}".partition("e")
    return mantissa.rstrip(".") + mark + exponent


def shown(value: float, question: Question) -> str:
    """A value in feedback: as the rule asks it written with `sigfigs`, else 6 figures."""
    if question.sigfigs is not None:
        return written(value, question.sigfigs)
    return f"{value:.6g}"


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


def half_unit(value: float, figures: int) -> float:
    """Half a unit of the `figures`-th significant figure of `value` (0 for 0)."""
    if value == 0:
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - figures + 1)


def matches(actual: float, target: float, question: Question) -> bool:
    """Whether `actual` is `target` by the question's rule: sigfigs or its tolerance."""
    if question.sigfigs is not None:
        if target == 0:
            return actual == 0
        return abs(actual - target) <= half_unit(target, question.sigfigs) * (1 + 1e-9)
    return within(actual, target, question.tolerance)


def _too_few(text: str, given: int, needed: int) -> Judged:
    """Refused for its figures: the message says why beside the number as written (no
    `actual`: see judge), the hint states the rule."""
    return Judged(
        0.0,
        f"too few significant figures: {text} has {given}",
        figures_rule(needed).capitalize() + ".",
    )


def _close_at(actual: float, right: float, figures: int) -> bool:
    """Whether `right`, rounded to the figures the student wrote, is what they wrote."""
    if right == 0 or actual == 0:
        return False
    return abs(actual - right) <= half_unit(right, figures) * (1 + 1e-9)


# --- the terminal ---------------------------------------------------------------------------


def _check_number(text: str) -> bool | str:
    """Numbers only, as written: '0,22' and '1/3' are told how to write one."""
    if _NUMBER.fullmatch(text.strip()):
        return True
    return "Write a number, e.g. 0.2231 or 2.5e-3 (with a decimal point, not a comma)."


# --- Moodle ---------------------------------------------------------------------------------


def tolerance(value: float, question: Question) -> float:
    """Our engine's rule (`matches`) around `value`, as the absolute error Moodle's
    numerical type takes: half a unit of the last significant figure with `sigfigs`, else
    atol + rtol * |value|. Moodle widens every interval by its own 1e-14 or so
    (qtype_numerical_answer::get_tolerance_interval), which takes the place of the
    engine's 1e-9 slack, so the file says 5e-05, not 5.0000000050000005e-05."""
    if question.sigfigs is not None:
        return half_unit(value, question.sigfigs)
    return question.tolerance.atol + question.tolerance.rtol * abs(value)


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
