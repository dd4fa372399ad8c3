"""A quiz -> Moodle XML, for Moodle's question bank (Question bank > Import > Moodle XML).

This module lays out the file (categories, variants); each question type writes its own
questions (grader.quiz.types, their `moodle`) from the building blocks in
grader.quiz.moodle_xml.

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
  holds only the grades of its list (``question_bank::fraction_options_full``: 0, +-100,
  +-p/q for q <= 6, +-p/10, +-1/q for q <= 10, +-5%; its import takes a grade within
  1e-5 of one, and otherwise refuses it or, with "nearest grade", changes it). A credit
  outside the list is refused with its file:line (``credit_problems``), never changed
  silently; ``--round-credits`` writes the nearest grade (0.37 -> 40%), with a warning.
- **Numbers without float noise.** Values and tolerances are written to 15 significant
  figures (1.885, not 1.8850000000000002; 5e-05, not 5.0000000050000005e-05): far finer
  than any tolerance, and Moodle adds its own 1e-14 or so to every interval.
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
- A credit that is not one of Moodle's grades (see above): refused, or with
  ``--round-credits`` rounded to the nearest.
- The per-student seed: Moodle picks a variant at random among the exported ones, so a
  student's Moodle numbers are those of some ``variant-<k>``, not of their own id.
- Answers are not hidden from Moodle: a ``graded`` quiz's key is in the file (Moodle's
  review options decide when students see it).
- Markdown beyond paragraphs, code, "- " lists, `code` and **strong** is shown as typed.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, indent, tostring

from grader.errors import Problem, SpecError
from grader.quiz.grading import Posed, pose
from grader.quiz.moodle_xml import (
    category,
    head,
    holds,
    html,
    moodle_fraction,
    neighbours,
    percent,
    segment,
)
from grader.quiz.spec import Question, Quiz
from grader.quiz.type_choice import Choice
from grader.quiz.types import type_of
from grader.quiz.variants import Loader

#: Where the questions go in the course's question bank.
CATEGORY_ROOT = "$course$/grader"


def credit_problems(quiz: Quiz) -> list[Problem]:
    """Each misconception credit Moodle cannot hold as a grade, at its place in the quiz
    file: Moodle's import refuses it, or (with "nearest grade") changes it silently."""
    found = []
    for question in quiz.questions:
        for m in question.misconceptions:
            if holds(m.credit):
                continue
            nearest = moodle_fraction(m.credit)
            found.append(
                Problem(
                    m.where,
                    f"question {question.id!r}: misconception {m.id!r} has credit "
                    f"{m.credit:g}, which Moodle cannot hold as a grade (its grades are "
                    f"fixed: 1/q, p/10, p/q for q <= 6, 1/20); the nearest is "
                    f"{nearest:.7g} ({percent(nearest)}%)",
                    f"Give it a credit Moodle has ({neighbours(m.credit)}), or export with "
                    "--round-credits to write the nearest.",
                )
            )
    return found


def export_moodle(
    quiz: Quiz, load: Loader, *, variants: int = 20, round_credits: bool = False
) -> str:
    """The quiz as a Moodle XML document (UTF-8, with its declaration). `variants`: how
    many synthetic students' versions of each question with parameters. A credit Moodle
    cannot hold (credit_problems) is refused with its place in the file, unless
    `round_credits`: then the nearest of Moodle's grades is written."""
    problems = credit_problems(quiz)
    if problems and not round_credits:
        raise SpecError(problems=problems)
    root = Element("quiz")
    home = f"{CATEGORY_ROOT}/{segment(quiz.id)}"
    current = home
    category(root, home, quiz.title)
    if quiz.intro.strip():
        head(root, "description", f"{quiz.id} intro", html(quiz.intro), 0.0, 0.0)
    for question in quiz.questions:
        posed = _variants(quiz, question, load, variants)
        if len(posed) > 1:
            current = f"{home}/{segment(question.id)}"
            info = (
                f"{len(posed)} variants of question {question.id!r} of {quiz.title!r}: "
                "add one random question from this category to the Moodle quiz."
            )
            category(root, current, info)
        elif current != home:
            current = home
            category(root, home, quiz.title)
        for k, one in posed:
            name = f"{question.id} v{k}" if len(posed) > 1 else question.id
            type_of(question).moodle(root, quiz, one, name)
    indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"


def _variants(quiz: Quiz, question: Question, load: Loader, count: int) -> list[tuple[int, Posed]]:
    """(k, the question as student variant-k sees it), one per distinct set of numbers:
    a question without parameters has one."""
    if not question.params:
        return [(1, pose(quiz, question, "variant-1", load))]
    seen: set[tuple[tuple[str, str], ...]] = set()
    out = []
    for k in range(1, count + 1):
        posed = pose(quiz, question, f"variant-{k}", load)
        key = tuple(sorted(posed.shown.items()))
        if key not in seen:
            seen.add(key)
            out.append((k, posed))
    return out


def option_fractions(question: Question) -> list[float]:
    """Each option's Moodle grade, in the question's order, for a choice question. Moodle
    adds the grades of the ticked options and clips the sum to [0, 1]; see the module
    docstring for how each `partial` rule maps onto that."""
    kind = type_of(question)
    if not issubclass(kind, Choice):
        raise TypeError(f"question {question.id!r} is not a choice question")
    return kind.fractions(question)
