"""A quiz -> Moodle XML, for Moodle's question bank (Question bank > Import > Moodle XML).

Why the file looks as it does:

- **Categories.** The file opens with the category ``$course$/grader/<quiz id>`` (Moodle
  3.5+ puts it under the course's "top"), whose info is the quiz's title. A numeric
  question with parameters becomes one Moodle question per variant, "<id> v<k>" with the
  numbers of the synthetic student ``variant-<k>`` (``grade QUIZ --template --student
  variant-<k>`` shows the same numbers), in a sub-category ``.../<quiz id>/<question id>``
  of its own: Moodle gives each student different numbers when the Moodle quiz draws
  "a random question" from that sub-category. Variants whose shown numbers coincide (a
  parameter with a single value) are written once. The quiz's intro becomes a
  "description" item (no grade) at the start.
- **Numbers as our engine judges them.** Each answer's absolute tolerance is our rule
  for that value: ``atol + rtol * |value|`` (numpy.isclose), or with ``sigfigs`` half a
  unit of the last significant figure of the value. Moodle grades a numerical response
  with the FIRST answer, in the file's order, whose interval holds it (qtype_numerical
  ``get_matching_answer``; MoodleDocs: "the first matching answer is used to determine
  the score and the feedback"), not the best-graded one. The right answer comes first and
  the misconceptions follow in the quiz's order, which is exactly our engine's order
  (right, then the first matching misconception): where two intervals overlap, both give
  the same verdict, so no tolerance is narrowed. Overlaps with the right answer do not
  occur in a drawn variant anyway: the engine skips draws where any two of the answer and
  the misconceptions are within the question's tolerance (grader.quiz.variants), so the
  right value lies in no misconception's interval and no misconception's value in the
  right answer's. A last ``*`` answer (Moodle's "any other response") carries the
  question's ``wrong`` feedback; a practice quiz's general feedback gives the answer, as
  its report does.
- **Misconceptions as graded wrong answers.** Each has ``fraction = credit * 100`` and
  feedback naming it (title, hint, and what the formula gives for these numbers). Moodle
  refuses grades outside its list (``question_bank::fraction_options_full``: 0, +-100,
  +-p/q for q <= 6, +-p/10, +-1/q for q <= 10, +-5%), so a credit is rounded to the
  nearest grade of that list (0.35 -> 33.33333%).
- **Text.** Question texts are Markdown; they are written as HTML (``format="html"``),
  built as elements, never by pasting strings, so every ``<`` or ``&`` of the text is
  shown as written: paragraphs, indented or fenced code blocks, "- " lists, `code` and
  **strong** become HTML, any other Markdown is shown literally. ElementTree escapes the
  HTML again as XML text, which any XML parser (Moodle's too) reads back exactly as a
  CDATA section would. Characters XML 1.0 cannot carry are dropped.

What Moodle's format cannot express (the closest is written instead):

- ``partial: off`` (all or nothing) on a multiple-choice question: core Moodle adds the
  grades of the ticked options. Each correct option gets 100/k and each wrong one -100%,
  so a wrong tick still gives 0, but a correct subset gets partial credit (ours: 0).
- ``partial: each-answer``: Moodle cannot credit an option left unticked. Exported as
  net-correct (correct +100/k, wrong -100/k): full marks coincide, partial ones differ.
- ``partial: net-correct`` (correct +100/k, wrong -100/k, sum clipped at 0) and
  ``coverage`` (correct +100/k, wrong -100%) are exact. More than 10 correct options
  cannot be weighed equally with Moodle's grades: the export refuses them.
- ``sigfigs``: Moodle compares values, not the digits written: "too few significant
  figures" cannot be told. 0.223 for an answer of 0.22304 required to 4 figures is
  within half a unit of the 4th figure: Moodle accepts it, our engine does not.
- A credit that is not one of Moodle's grades (see above) is rounded to the nearest.
- The per-student seed: Moodle picks a variant at random among the exported ones, so a
  student's Moodle numbers are those of some ``variant-<k>``, not of their own id.
- Answers are not hidden from Moodle: a ``graded`` quiz's key is in the file (Moodle's
  review options decide when students see it).
- Markdown beyond paragraphs, code, "- " lists, `code` and **strong** is shown as typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from grader.errors import GraderError
from grader.quiz.grading import Posed, pose, show
from grader.quiz.spec import Misconception, Partial, Question, QuestionType, Quiz
from grader.quiz.variants import Loader

#: Where the questions go in the course's question bank.
CATEGORY_ROOT = "$course$/grader"
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


def export_moodle(quiz: Quiz, load: Loader, *, variants: int = 20) -> str:
    """The quiz as a Moodle XML document (UTF-8, with its declaration). `variants`: how
    many synthetic students' versions of each numeric question with parameters."""
    root = Element("quiz")
    home = f"{CATEGORY_ROOT}/{_segment(quiz.id)}"
    current = home
    _category(root, home, quiz.title)
    if quiz.intro.strip():
        _head(root, "description", f"{quiz.id} intro", _html(quiz.intro), 0.0, 0.0)
    for question in quiz.questions:
        if question.type is QuestionType.NUMERIC:
            posed = _variants(quiz, question, load, variants)
            if len(posed) > 1:
                current = f"{home}/{_segment(question.id)}"
                info = (
                    f"{len(posed)} variants of question {question.id!r} of {quiz.title!r}: "
                    "add one random question from this category to the Moodle quiz."
                )
                _category(root, current, info)
            elif current != home:
                current = home
                _category(root, home, quiz.title)
            for k, one in posed:
                name = f"{question.id} v{k}" if len(posed) > 1 else question.id
                _numerical(root, quiz, one, name)
            continue
        if current != home:
            current = home
            _category(root, home, quiz.title)
        if question.type is QuestionType.TRUEFALSE:
            _truefalse(root, question)
        else:
            _multichoice(root, question)
    indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"


# --- grades and numbers ---------------------------------------------------------------------


def moodle_fraction(value: float) -> float:
    """The grade Moodle accepts nearest to `value` (a fraction of the points, -1 to 1):
    its import refuses any other."""
    return min(FRACTIONS, key=lambda f: (abs(f - value), -f))


def _percent(fraction: float) -> str:
    """A grade as Moodle writes it: a percentage with at most 5 decimals (83.33333)."""
    text = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text


def _number(value: float) -> str:
    """Every digit of a float, as Moodle's number parser reads it (1e-05 included)."""
    return repr(float(value))


def _decimal(value: float) -> str:
    """A mark or penalty with Moodle's 7 decimals at most, without trailing zeros."""
    return f"{value:.7f}".rstrip("0").rstrip(".") or "0"


def tolerance(value: float, question: Question) -> float:
    """Our engine's rule (grader.quiz.grading._matches) around `value`, as the absolute
    error Moodle's numerical type takes: half a unit of the last significant figure with
    `sigfigs` (and the engine's 1e-9 slack), else atol + rtol * |value|."""
    if question.sigfigs is not None:
        if value == 0:
            return 0.0
        unit = 10.0 ** (math.floor(math.log10(abs(value))) - question.sigfigs + 1)
        return 0.5 * unit * (1 + 1e-9)
    return question.tolerance.atol + question.tolerance.rtol * abs(value)


def _shown(value: float, question: Question) -> str:
    """A value in feedback: 6 significant figures, more if the question asks for more."""
    return f"{value:.{max(6, question.sigfigs or 0)}g}"


# --- the questions --------------------------------------------------------------------------


def _variants(quiz: Quiz, question: Question, load: Loader, count: int) -> list[tuple[int, Posed]]:
    """(k, the question as student variant-k sees it), one per distinct set of numbers."""
    if not question.params:
        return [(1, pose(quiz, question, "variant-1", load))]
    seen: set[tuple[tuple[str, str], ...]] = set()
    out = []
    for k in range(1, count + 1):
        posed = pose(quiz, question, f"variant-{k}", load)
        key = tuple(sorted((name, show(v)) for name, v in posed.variant.params.items()))
        if key not in seen:
            seen.add(key)
            out.append((k, posed))
    return out


def _numerical(root: Element, quiz: Quiz, posed: Posed, name: str) -> None:
    """One variant: its own numbers in the text, its answer, then its misconceptions'
    values in the quiz's order, which is the order Moodle tries them in."""
    question, variant = posed.question, posed.variant
    right = variant.answer
    if right is None:  # only without solutions, which an export always has
        raise GraderError(f"question {question.id!r} has no answer to export", where=question.where)
    # A practice quiz's report shows the answer, right or wrong; a graded one's does not.
    general = f"The answer is {_shown(right, question)}." if quiz.practice else ""
    element = _head(
        root, "numerical", name, _html(posed.text), question.points, PENALTY, _html(general)
    )
    _answer(
        element, 1.0, _number(right), _html(question.feedback.get("correct", "")), right, question
    )
    for m in question.misconceptions:
        value = variant.wrong[m.id]
        feedback = _misconception_feedback(m, _shown(value, question))
        _answer(element, moodle_fraction(m.credit), _number(value), feedback, value, question)
    wrong = question.feedback.get("wrong", "")
    if wrong:  # Moodle's "any other response"; last, so that it never hides an answer
        _answer(element, 0.0, "*", _html(wrong), None, question)
    SubElement(element, "unitgradingtype").text = "0"
    SubElement(element, "unitpenalty").text = "0.1000000"
    SubElement(element, "showunits").text = "3"  # qtype_numerical::UNITNONE
    SubElement(element, "unitsleft").text = "0"


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
        question_element, "answer", fraction=_percent(fraction), format="moodle_auto_format"
    )
    SubElement(answer, "text").text = text
    SubElement(answer, "tolerance").text = (
        _number(tolerance(value, question)) if value is not None else "0"
    )
    _rich(answer, "feedback", feedback)


def _misconception_feedback(m: Misconception, value: str) -> str:
    """What our engine tells a student whose number matches `m`: its name, its hint and
    what that formula gives, so that the student can check their working."""
    blocks: list[Element] = []
    title = Element("p")
    SubElement(title, "strong").text = _clean(m.title)
    blocks.append(title)
    blocks += _blocks_html(m.hint)
    note = Element("p")
    note.text = _clean(f"(this formula gives {value} for your numbers)")
    blocks.append(note)
    return _serialise(blocks)


def _multichoice(root: Element, question: Question) -> None:
    """A single- or multiple-choice question: options in the file's order (Moodle
    shuffles them per attempt when the question does), each with its feedback."""
    element = _head(
        root, "multichoice", question.id, _html(question.text), question.points, PENALTY
    )
    single = question.type is QuestionType.SINGLE
    SubElement(element, "single").text = "true" if single else "false"
    SubElement(element, "shuffleanswers").text = "true" if question.shuffle else "false"
    SubElement(element, "answernumbering").text = "abc"
    for option, fraction in zip(question.options, option_fractions(question), strict=True):
        answer = SubElement(element, "answer", fraction=_percent(fraction), format="html")
        SubElement(answer, "text").text = _html(option.text)
        _rich(answer, "feedback", _html(option.feedback or ""))
    _rich(element, "correctfeedback", _html(question.feedback.get("correct", "")))
    _rich(element, "partiallycorrectfeedback", "")
    _rich(element, "incorrectfeedback", _html(question.feedback.get("wrong", "")))
    if not single:
        SubElement(element, "shownumcorrect")


def option_fractions(question: Question) -> list[float]:
    """Each option's Moodle grade, in the question's order. Moodle adds the grades of the
    ticked options and clips the sum to [0, 1]; see the module docstring for how each
    `partial` rule maps onto that."""
    if question.type is QuestionType.SINGLE:
        return [1.0 if o.correct else 0.0 for o in question.options]
    k = sum(o.correct for o in question.options)
    share = moodle_fraction(1 / k)
    if abs(share * k - 1) > 5e-3:  # Moodle's own check: positive grades add up to 100%
        raise GraderError(
            f"question {question.id!r}: Moodle cannot give each of {k} correct options "
            "an equal share of the grade",
            where=question.where,
            fix="Keep at most 10 correct options.",
        )
    exact = question.partial in (Partial.NET_CORRECT, Partial.EACH_ANSWER)
    wrong = -share if exact else -1.0
    return [share if o.correct else wrong for o in question.options]


def _truefalse(root: Element, question: Question) -> None:
    """Moodle's true/false type: feedback keyed by the student's answer, as ours is."""
    # Moodle fixes a true/false question's penalty at 100%: a second try tells nothing.
    element = _head(root, "truefalse", question.id, _html(question.text), question.points, 1.0)
    for word, value in (("true", True), ("false", False)):
        fraction = 1.0 if question.truth is value else 0.0
        answer = SubElement(
            element, "answer", fraction=_percent(fraction), format="moodle_auto_format"
        )
        SubElement(answer, "text").text = word
        _rich(answer, "feedback", _html(question.feedback.get(word, "")))


# --- XML building blocks --------------------------------------------------------------------


def _category(root: Element, path: str, info: str) -> None:
    """Moodle's pseudo-question that puts the questions after it into `path`."""
    element = SubElement(root, "question", type="category")
    category = SubElement(element, "category")
    SubElement(category, "text").text = path
    _rich(element, "info", _html(info))


def _head(
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
    SubElement(title, "text").text = _clean(name)
    _rich(element, "questiontext", text)
    _rich(element, "generalfeedback", general)
    SubElement(element, "defaultgrade").text = _decimal(points)
    SubElement(element, "penalty").text = _decimal(penalty)
    SubElement(element, "hidden").text = "0"
    return element


def _rich(parent: Element, tag: str, html: str) -> None:
    """<tag format="html"><text>html</text></tag>: the HTML is XML-escaped as text."""
    element = SubElement(parent, tag, format="html")
    SubElement(element, "text").text = html


def _segment(name: str) -> str:
    """One level of a category path: Moodle reads '//' as a '/' inside a name."""
    return _clean(name).replace("/", "//")


def _clean(text: str) -> str:
    """`text` without the characters that would make the file ill-formed XML."""
    return _NOT_XML.sub("", text)


# --- Markdown -> HTML, as elements -----------------------------------------------------------

_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+")
_INLINE = re.compile(r"`([^`\n]+)`|\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


def _html(markdown: str) -> str:
    """The HTML of a Markdown text; every character of the text is escaped."""
    return _serialise(_blocks_html(markdown))


def _serialise(blocks: Sequence[Element]) -> str:
    return "".join(tostring(b, encoding="unicode", method="html") for b in blocks)


def _blocks_html(markdown: str) -> list[Element]:
    out = []
    for kind, lines in _blocks(_clean(markdown).expandtabs(4).splitlines()):
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
