"""Per-student variants of a quiz question: the numbers a student sees, and their answers.

The seed comes from the course, the quiz, the question and the student id, so a student
gets the same numbers on every machine and an instructor can regenerate them. Values are
rounded to the digits shown, and the answer is computed on the shown values. A draw where
a misconception lands within tolerance of the right answer, or of another misconception,
(or where any of them is not finite) is skipped: the next draw of the same seed is used,
and the variant records how many were skipped. Each value is also kept apart as a student
writes it, rounded to the significant figures the question asks for.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GraderError, ReferenceSolutionError, raised
from grader.exercise.compare import Expected, apart
from grader.exercise.spec import Tolerance
from grader.quiz.spec import Question, Quiz
from grader.quiz.type_numeric import figures_required, written

#: Draws tried before a question is declared unable to avoid collisions.
MAX_DRAWS = 200

#: What a failing quiz function tells its reader: the student that it is not their doing.
COURSE_FAULT = (
    "A fault of the course, not of the student (nothing was graded): fix the function or "
    "the parameters' ranges; 'grade validate' draws many students' variants to find such "
    "draws."
)


def variant_seed(course: str, quiz: str, question: str, student: str) -> int:
    """A stable 63-bit seed: the same inputs give the same numbers everywhere."""
    text = "\x1f".join((course, quiz, question, student)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


@dataclass(frozen=True)
class Variant:
    """One student's version of a question."""

    seed: int
    #: The parameters as shown (rounded), by name.
    params: Mapping[str, Any]
    answer: float | None
    #: Misconception id -> what that wrong formula gives on these parameters.
    wrong: Mapping[str, float]
    #: Draws skipped because two answers were too close to tell apart.
    skipped: int = 0


def _round(value: float, digits: int | None) -> float:
    return round(value, digits) if digits is not None else value


def digits_of(spec: Mapping[str, Any]) -> int | None:
    """The decimals a parameter's numbers are drawn to, and so shown with (0.20, not 0.2);
    None: as drawn or written (labels, integers, a choice without `digits`)."""
    for key in ("probabilities", "distribution", "distributions"):
        if key in spec:
            return int(spec[key].get("digits", 2))
    digits = spec.get("digits")
    return None if digits is None else int(digits)


def draw(spec: Mapping[str, Any], rng: random.Random) -> Any:
    """One parameter's value from its generator spec (see the quiz format in docs/quizzes.md)."""
    digits = spec.get("digits")
    if "uniform" in spec:
        low, high = spec["uniform"]
        return _round(rng.uniform(low, high), digits)
    if "choice" in spec:
        picked = rng.choice(list(spec["choice"]))
        return _round(picked, digits) if isinstance(picked, float) else picked
    if "integer" in spec:
        low, high = spec["integer"]
        return rng.randint(int(low), int(high))
    if "probabilities" in spec:
        opts = spec["probabilities"]
        places = opts.get("digits", 2)
        return [round(rng.uniform(0.05, 0.95), places) for _ in range(opts["n"])]
    if "labels" in spec:
        opts = spec["labels"]
        return [rng.randrange(opts["classes"]) for _ in range(opts["n"])]
    if "distribution" in spec:
        opts = spec["distribution"]
        return _distribution(rng, opts["classes"], opts.get("digits", 2))
    if "distributions" in spec:
        opts = spec["distributions"]
        return [
            _distribution(rng, opts["classes"], opts.get("digits", 2)) for _ in range(opts["n"])
        ]
    raise ValueError(f"no generator in {dict(spec)}")


def _distribution(rng: random.Random, classes: int, digits: int) -> list[float]:
    """Probabilities with `digits` decimals, each at least one unit, summing to exactly 1."""
    unit = 10**digits
    if unit < classes:
        raise ValueError(f"{classes} classes cannot each get 1/{unit}")
    cuts = sorted(rng.sample(range(1, unit), classes - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, unit], strict=True)]
    return [p / unit for p in parts]


def _distinct(values: list[float], question: Question) -> bool:
    """Every value finite, and every two told apart by the question's rule, both as they
    are and as a student who follows the significant-figure rule writes them: 2.0078
    written 2.008 must not land on another misconception's 2.0042."""
    if not all(math.isfinite(v) for v in values):
        return False
    tolerance = _decisive(question)
    typed = [float(written(v, figures_required(question, v))) for v in values]
    return all(
        apart(Expected.exact(a), Expected.exact(values[j]), tolerance)
        for i in range(len(values))
        for j in range(len(values))
        if i != j
        for a in (values[i], typed[i])
    )


Loader = Callable[[str], Callable[..., Any]]


def make_variant(quiz: Quiz, question: Question, student: str, load: Loader | None) -> Variant:
    """The question as `student` sees it. `load` turns a dotted path into the function
    (None in a bundle that ships no solutions: numeric answers are then unknown)."""
    seed = variant_seed(quiz.course, quiz.id, question.id, student)
    if load is None:
        return Variant(seed, {}, question.value, {})
    if question.answer is None:  # a fixed value: its misconceptions are fixed values too
        try:
            fixed = {
                m.id: _value(question, m.formula, load(m.formula), {}, student, seed)
                for m in question.misconceptions
            }
        except _UndefinedError as exc:  # no other draw to take
            raise ReferenceSolutionError(
                f"question {question.id!r}: {exc}", where=question.where, fix=COURSE_FAULT
            ) from exc
        return Variant(seed, {}, question.value, fixed)
    answer_fn = load(question.answer)
    formulas = [(m.formula, load(m.formula)) for m in question.misconceptions]
    rng = random.Random(seed)
    last: str | None = None
    for attempt in range(MAX_DRAWS):
        params = {name: draw(spec, rng) for name, spec in question.params.items()}
        try:
            answer = _value(question, question.answer, answer_fn, params, student, seed)
            wrong = {
                m.id: _value(question, dotted, fn, params, student, seed)
                for m, (dotted, fn) in zip(question.misconceptions, formulas, strict=True)
            }
        except _UndefinedError as exc:
            last = str(exc)
            continue
        if _distinct([answer, *wrong.values()], question):
            return Variant(seed, params, answer, wrong, skipped=attempt)
    raise GraderError(
        f"question {question.id!r}: no draw of {MAX_DRAWS} keeps the answer and every "
        "misconception apart" + (f" (the last draw skipped: {last})" if last else ""),
        where=question.where,
        fix="Widen the parameters' ranges, or remove a misconception that equals the answer.",
    )


class _UndefinedError(Exception):
    """A formula undefined on a draw (a domain or arithmetic error): the draw is skipped,
    as one with a non-finite value is, and the student gets the next."""


def _value(
    question: Question,
    dotted: str,
    fn: Callable[..., Any],
    params: Mapping[str, Any],
    student: str,
    seed: int,
) -> float:
    """A course function's number on a draw. A domain error skips the draw; anything else
    it raises is a fault of the course, never charged to the student whose draw met it."""
    try:
        return float(fn(**params))
    except (ArithmeticError, ValueError) as exc:
        raise _UndefinedError(f"{dotted} raised {raised(exc)}") from exc
    except Exception as exc:  # trusted code, but it fails on an input it was given
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        if len(shown) > 200:
            shown = shown[:197] + "..."
        raise ReferenceSolutionError(
            f"question {question.id!r}: {dotted} raised {raised(exc)} on the draw for student "
            f"{student!r} (seed {seed}{'; ' + shown if shown else ''})",
            where=question.where,
            fix=COURSE_FAULT,
        ) from exc


def _decisive(question: Question) -> Tolerance:
    """The tolerance an answer is judged with: two values closer than it cannot be told
    apart by a student's answer."""
    if question.sigfigs is not None:
        return Tolerance(rtol=10.0 ** (1 - question.sigfigs), atol=0.0)
    return question.tolerance


def solution_loader(course_root: Path) -> Loader:
    """Dotted paths into the course's solutions/, loaded by file as references are."""
    from grader.exercise.reference import load_function

    cache: dict[str, Callable[..., Any]] = {}

    def load(dotted: str) -> Callable[..., Any]:
        if dotted not in cache:
            cache[dotted] = load_function(course_root, dotted, where=dotted)
        return cache[dotted]

    return load
