"""`grade selftest`: proof that an exercise's cases do their job, over several seeds.

The reference and the declared correct variants must score full marks; every declared
mistake must lose points on a visible case (so a student can see why) and be diagnosed as
itself; every case must catch some mistake or say in `purpose` why it exists; and no two
mistakes may give the same answers on every case (the diagnosis could not tell them apart).

The functions are the course's own trusted code, so they run here, in the grader, called
as a student's function is (by position, with their defaults), and judged by the same
`grading.judge` that judges a submission.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError, ReferenceSolutionError, raised
from grader.exercise.compare import Expected, apart
from grader.exercise.prepare import Answers, Prepared
from grader.exercise.spec import Tolerance, Visibility
from grader.results import Status
from grader.sandbox.protocol import CallOutcome, CallStatus, RunResult, Stop, StopKind

if TYPE_CHECKING:
    from grader.course import Course

SEEDS = (0, 1, 2)


@dataclass
class ExerciseProof:
    """What selftest found for one exercise; `failures` empty means proven."""

    exercise: str
    title: str
    seeds: tuple[int, ...]
    cases: int = 0
    hidden: int = 0
    mistakes: int = 0
    caught: set[str] = field(default_factory=set)
    variants: int = 0
    variants_passed: int = 0
    #: Case name -> ids of the mistakes it catches (on any seed).
    catches: dict[str, set[str]] = field(default_factory=dict)
    alike: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: The reference failed (raised, not finite, did not load): the counts above are those
    #: of an unfinished proof, so the table leaves them out.
    broken: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


def _call(fn: Callable[..., Any], args: Sequence[Any]) -> tuple[float | None, str | None]:
    """A function's number on fresh copies of the inputs, or what it raised instead."""
    import numpy as np

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(fn(*[np.array(a) for a in args])), None
    except Exception as exc:
        return None, raised(exc)


def _run_in_process(fn: Callable[..., Any], cases: list[Any]) -> RunResult:
    outcomes = {}
    for case in cases:
        value, error = _call(fn, list(case.args.values()))
        outcomes[case.id] = (
            CallOutcome(case.id, CallStatus.RETURNED, value=value, value_type="float")
            if error is None
            else CallOutcome(case.id, CallStatus.CRASHED, stop=Stop(StopKind.EXIT))
        )
    return RunResult(
        outcomes=outcomes,
        fault=None,
        import_output="",
        stdout="",
        stderr="",
        backend="in-process",
        seconds=0.0,
    )


def _score(
    prepared: Prepared, seed: int, cases: list[Any], answers: Answers, fn: Callable[..., Any]
) -> tuple[Any, Any]:
    """A function's case results and diagnosis, judged as a submission's are."""
    from grader.exercise.grading import judge

    return judge(prepared, seed, cases, answers, _run_in_process(fn, cases))


def same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """Whether a is b, or runs b's code under another name (a copy, docstring aside)."""
    if a is b:
        return True
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    if code_a is None or code_b is None:
        return False

    def body(fn: Callable[..., Any], code: Any) -> tuple[Any, ...]:
        doc = fn.__doc__
        consts = tuple(c for c in code.co_consts if doc is None or c is not doc)
        return (code.co_code, consts, code.co_names, code.co_argcount)

    return body(a, code_a) == body(b, code_b)


def reference_copy(dotted: str | None, reference: str | None) -> str:
    """How a function that is the reference itself came to be: named, or copied."""
    if dotted == reference:
        return f"its implementation {dotted} is the reference's"
    return f"{dotted} runs the code of the reference {reference}"


def full_marks(prepared: Prepared, fn: Callable[..., Any], seed: int) -> bool:
    """Whether fn passes every case, hidden ones too, of one seed, judged as a submission:
    on these inputs it cannot be told from the reference."""
    cases, answers = prepared.graded(seed)
    tests, _ = _score(prepared, seed, cases, answers, fn)
    return all(t.status is Status.PASSED for t in tests)


def selftest(prepared: Prepared, seeds: Sequence[int] = SEEDS) -> ExerciseProof:
    exercise = prepared.exercise
    proof = ExerciseProof(exercise.id, exercise.title, tuple(seeds))
    if prepared.released is not None:
        raise GraderError(
            f"{exercise.id} is a released exercise: selftest needs the course's solutions/",
            where=str(exercise.source),
            fix="Run grade selftest in the course the bundle was released from.",
        )
    try:
        _prove(prepared, proof)
    except ReferenceSolutionError as exc:
        # The reference fails on some seed (or does not load): nothing of this exercise can
        # be proven, and the other exercises still are.
        where = f"{exc.where}: " if exc.where else ""
        proof.failures.append(where + exc.what)
        proof.broken = True
    return proof


def _prove(prepared: Prepared, proof: ExerciseProof) -> None:
    from grader.exercise.reference import load_variants

    exercise = prepared.exercise
    seeds = proof.seeds
    reference = prepared.reference
    assert reference is not None
    mistakes = prepared.mistake_functions
    variants = load_variants(exercise, prepared.course_root)
    proof.mistakes, proof.variants = len(mistakes), len(variants)
    variant_failed: set[str] = set()
    slipped: set[str] = set()
    apart: set[tuple[str, str]] = set()
    for seed in seeds:
        cases, answers = prepared.graded(seed)
        proof.cases = len(cases)
        proof.hidden = sum(c.spec.visibility is Visibility.HIDDEN for c in cases)
        for case in cases:
            proof.catches.setdefault(case.spec.name, set())

        score = functools.partial(_score, prepared, seed, cases, answers)
        tests, _ = score(reference)
        wrong = [t.name for t in tests if t.status is not Status.PASSED]
        if wrong:
            proof.failures.append(
                f"the reference itself fails {len(wrong)} case(s) with seed {seed}, "
                f"first {wrong[0]!r}: its default clipping constant or the case is wrong"
            )
        for variant, fn in variants:
            tests, _ = score(fn)
            wrong = [c for c, t in zip(cases, tests, strict=True) if t.status is not Status.PASSED]
            if wrong and variant.id not in variant_failed:
                variant_failed.add(variant.id)
                proof.failures.append(
                    f"correct variant {variant.id!r} fails case {wrong[0].name!r} with seed "
                    f"{seed}: {_why_variant_fails(fn, wrong[0])}"
                )
        _mistakes(proof, prepared, seed, cases, slipped, score)
        _pairs(prepared, seed, cases, apart)
    proof.caught = {m.id for m, _ in mistakes} - slipped
    proof.variants_passed = proof.variants - len(variant_failed)
    ids = [m.id for m, _ in mistakes]
    proof.alike = [(a, b) for a, b in itertools.combinations(ids, 2) if (a, b) not in apart]
    if proof.alike:
        pairs = ", ".join(f"{a} = {b}" for a, b in proof.alike[:6])
        more = f" and {len(proof.alike) - 6} more" if len(proof.alike) > 6 else ""
        proof.failures.append(
            f"{len(proof.alike)} pair(s) of mistakes give the same answers on every visible "
            f"case ({pairs}{more}): the diagnosis cannot tell them apart; add a case where "
            "they differ"
        )
    for spec in exercise.cases:
        if not proof.catches.get(spec.name) and spec.purpose is None:
            proof.failures.append(
                f"case {spec.name!r} ({spec.where}) catches no declared mistake: declare the "
                "mistake it is for, or say why it exists in 'purpose:'"
            )


def _why_variant_fails(fn: Callable[..., Any], case: Any) -> str:
    """A variant that raises or is not finite is wrong on that input (the course's code);
    one that returns a number the case rejects may be a correct style the case is too
    strict for."""
    value, error = _call(fn, list(case.args.values()))
    if error is not None:
        return f"it raised {error} (fix the variant, or remove it)"
    if value is not None and not math.isfinite(value):
        return f"it gave {value} (fix the variant, or remove it)"
    return "the case rejects a correct style (or the variant is wrong)"


def _mistakes(
    proof: ExerciseProof,
    prepared: Prepared,
    seed: int,
    cases: list[Any],
    slipped: set[str],
    score: Callable[..., tuple[Any, Any]],
) -> None:
    """Each mistake, graded as a submission: it must lose visible points and be named."""
    for mistake, fn in prepared.mistake_functions:
        tests, diagnosis = score(fn)
        reported = mistake.id in slipped  # one line per mistake, at the first seed it slips
        failing = [
            (case, t) for case, t in zip(cases, tests, strict=True) if t.status is not Status.PASSED
        ]
        for case, _ in failing:
            proof.catches.setdefault(case.spec.name, set()).add(mistake.id)
        seen = [c for c, _ in failing if c.spec.visibility is Visibility.VISIBLE]
        if not seen:
            slipped.add(mistake.id)
            if reported:
                continue
            if failing:
                names = ", ".join(repr(c.name) for c, _ in failing[:3])
                why = f"it fails hidden cases only ({names}), so a student cannot see why"
            elif prepared.reference is not None and same_function(fn, prepared.reference):
                copy = reference_copy(mistake.implementation, prepared.exercise.reference)
                why = f"it is the reference itself ({copy}), so it scores full marks"
            else:
                why = (
                    "it equals the reference on every case, so it scores full marks: make it "
                    "the wrong code its title names, or add a case where the two differ"
                )
            proof.failures.append(
                f"mistake {mistake.id!r} ({mistake.where}) slips through with seed {seed}: {why}"
            )
            continue
        named = [m.id for m in diagnosis.mistakes] if diagnosis is not None else []
        if mistake.id not in named and not reported:
            slipped.add(mistake.id)
            proof.failures.append(
                f"mistake {mistake.id!r} ({mistake.where}) is diagnosed as {named or 'nothing'} "
                f"with seed {seed}"
            )


def _apart(a: Expected | None, b: Expected | None, tol: Tolerance) -> bool:
    """None (the mistake cannot run on that input) tells nothing apart."""
    return a is not None and b is not None and apart(a, b, tol)


def _pairs(prepared: Prepared, seed: int, cases: list[Any], apart: set[tuple[str, str]]) -> None:
    """Pairs of mistakes some visible case of this seed tells apart: a student's report,
    and a bundle's, must be able to name either."""
    from grader.exercise.prepare import visible

    cases = visible(cases)
    answers = prepared.mistake_answers(cases, seed)
    for (a, a_answers), (b, b_answers) in itertools.combinations(answers, 2):
        if any(_apart(a_answers[c.id], b_answers[c.id], c.spec.tolerance) for c in cases):
            apart.add((a.id, b.id))


def table(proof: ExerciseProof) -> list[str]:
    """The report of one exercise, for a terminal."""
    caught = f"{len(proof.caught)} / {proof.mistakes}"
    alike = ", ".join(f"{a} = {b}" for a, b in proof.alike[:3]) or "none"
    if len(proof.alike) > 3:
        alike += f" and {len(proof.alike) - 3} more"
    silent = [name for name, caught in proof.catches.items() if not caught]
    shown = ", ".join(repr(name) for name in silent[:3])
    if len(silent) > 3:
        shown += f" and {len(silent) - 3} more"
    rows = [
        ("cases", f"{proof.cases} ({proof.cases - proof.hidden} visible, {proof.hidden} hidden)"),
        ("mistakes caught / declared", caught),
        ("correct variants passed / kept", f"{proof.variants_passed} / {proof.variants}"),
        ("cases that catch no mistake", f"{len(silent)} ({shown})" if silent else "0"),
        ("mistakes no case tells apart", alike),
    ]
    seeds = ", ".join(map(str, proof.seeds))
    lines = [f"{proof.exercise}: {proof.title}  (seeds {seeds})"]
    lines += [f"  {name:<32} {value}" for name, value in rows if not proof.broken]
    lines += [f"  FAIL: {failure}" for failure in proof.failures]
    lines.append(f"  {'proven' if proof.ok else 'NOT proven'}")
    return lines


@dataclass(frozen=True)
class ItemProof:
    """One item's proof as `grade selftest` prints it and `grade release` reads it."""

    id: str
    #: The table, for a terminal.
    lines: tuple[str, ...]
    #: Why it is not proven, one sentence each; empty: proven.
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def _prove_exercise(course: Course, item_id: str, seeds: int) -> ItemProof:
    proof = selftest(course.prepare(item_id), seeds=range(seeds))
    return ItemProof(item_id, tuple(table(proof)), tuple(proof.failures))


def _prove_quiz(course: Course, item_id: str, seeds: int) -> ItemProof:
    from grader.quiz.check import prove_quiz, quiz_table

    quiz = course.load_quiz(item_id)
    proofs = prove_quiz(quiz, course.root)
    failures = tuple(f"question {p.id}: {p.failures[0]}" for p in proofs if p.failures)
    return ItemProof(item_id, tuple(quiz_table(quiz, proofs)), failures)


#: How each kind of item (course.ITEM_KINDS) is proven.
PROVERS: dict[str, Callable[[Course, str, int], ItemProof]] = {
    "exercise": _prove_exercise,
    "quiz": _prove_quiz,
}


def prove_items(course: Course, ids: list[str], seeds: int) -> Iterator[ItemProof]:
    """`grade selftest`: each item's proof, in the order given."""
    for item_id in ids:
        yield PROVERS[course.kind_of(item_id)](course, item_id, seeds)
