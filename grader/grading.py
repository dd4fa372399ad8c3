"""The one place that composes the flow: spec -> cases -> sandbox -> compare -> results.

The sandbox child is started as soon as the exercise is known, so that its Python and numpy
load while this process builds the cases and runs the reference: numpy-heavy modules are
imported only after that (hence the imports inside `grade`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__
from grader.course import Course, find_course
from grader.errors import ReferenceSolutionError, SubmissionNotFoundError
from grader.results import (
    CaseResult,
    Diagnosis,
    MistakeFound,
    Report,
    Status,
    SubmissionError,
)
from grader.sandbox import Backend, Job, SandboxLimits, default_backend
from grader.sandbox.protocol import CallOutcome, CallStatus, Fault
from grader.spec import Exercise, Visibility

if TYPE_CHECKING:
    from grader.cases import Case
    from grader.compare import Expected


def new_seed() -> int:
    """A seed for the random cases, reported so a run can be repeated with --seed."""
    return secrets.randbelow(10**6)


def sandbox_limits(exercise: Exercise) -> SandboxLimits:
    limits = exercise.limits
    return SandboxLimits(
        seconds_per_case=limits.seconds_per_case,
        memory_bytes=limits.memory_mb * 2**20,
        output_chars=limits.output_kb * 1024,
    )


def grade(
    exercise_id: str,
    submission: Path,
    *,
    course: Course | None = None,
    seed: int | None = None,
    backend: Backend | None = None,
    plot: bool = False,
) -> Report:
    """Grade one submission of one exercise. Raises GraderError for faults that are not the
    student's (unknown exercise, missing file, broken exercise or reference)."""
    started = time.monotonic()
    course = course or find_course()
    exercise = course.load(exercise_id)
    if not submission.is_file():
        raise SubmissionNotFoundError(
            f"{submission} does not exist",
            fix=f"Run 'grade start {exercise.id}' to create it from a template, "
            "or pass --file PATH.",
        )
    seed = new_seed() if seed is None else seed
    backend = backend or default_backend()
    job = Job(
        submission=submission.resolve(),
        entry=exercise.entry.function,
        params=exercise.entry.param_names,
        limits=sandbox_limits(exercise),
    )
    with backend.start(job) as session:
        from grader.cases import build_cases
        from grader.reference import expected_for, load_reference
        from grader.shrink import shrink
        from grader.sweep import plot_data

        cases = build_cases(exercise, seed)
        reference = load_reference(exercise, course.root)
        expected = {case.id: expected_for(exercise, reference, case) for case in cases}
        _check_promises(exercise, cases, expected)
        run = session.run({case.id: tuple(case.args.values()) for case in cases})
        smallest = shrink(exercise, reference, session, cases, expected, run.outcomes)
        picture = plot_data(exercise, reference, session) if plot and not run.fault else None
    tests = tuple(
        replace(
            _case_result(exercise, case, expected[case.id], run.outcomes[case.id]),
            smallest=smallest.get(case.id),
        )
        for case in cases
    )
    # A submission that did not load has no values to explain: its error says it all.
    diagnosis = None if run.fault else _diagnosis(exercise, course, cases, expected, run.outcomes)
    return Report(
        exercise=exercise.id,
        title=exercise.title,
        submission=str(submission),
        seed=seed,
        score=sum(t.score for t in tests),
        max_score=sum(t.max_score for t in tests),
        execution_time=time.monotonic() - started,
        tests=tests,
        backend=run.backend,
        grader_version=__version__,
        sandbox_limitations=backend.limitations(),
        diagnosis=diagnosis,
        plot=picture,
        statement=exercise.statement,
        error=_submission_error(exercise, submission, run.fault),
        import_output=run.import_output,
        stdout=run.stdout,
        stderr=run.stderr,
    )


def _diagnosis(
    exercise: Exercise,
    course: Course,
    cases: list[Case],
    expected: dict[str, Expected],
    outcomes: Mapping[str, CallOutcome],
) -> Diagnosis | None:
    """Which declared mistake explains the wrong values, computed in the grader."""
    from grader.compare import compare
    from grader.diagnose import Evidence, diagnose
    from grader.reference import load_mistakes, mistake_answer

    if not exercise.mistakes:
        return None
    evidence = []
    any_failed = False
    for case in cases:
        outcome = outcomes[case.id]
        if outcome.status is not CallStatus.RETURNED or outcome.value is None:
            any_failed = True
            continue
        passed = compare(outcome.value, expected[case.id], case.spec.tolerance).passed
        any_failed = any_failed or not passed or bool(outcome.mutated)
        evidence.append(Evidence(case.id, outcome.value, case.spec.tolerance, passed))
    if not any_failed:
        return None
    by_id = {case.id: case for case in cases}
    answers = [
        (mistake, {e.case_id: mistake_answer(exercise, fn, by_id[e.case_id]) for e in evidence})
        for mistake, fn in load_mistakes(exercise, course.root)
    ]
    found = diagnose(evidence, answers)
    return Diagnosis(
        checked=found.failing,
        mistakes=tuple(
            MistakeFound(m.mistake.id, m.mistake.title, m.mistake.hint, m.cases)
            for m in found.matches
        ),
    )


def _check_promises(exercise: Exercise, cases: list[Case], expected: dict[str, Expected]) -> None:
    """A fixed case's 'expect' is a number the statement prints: the reference must agree."""
    from grader.compare import within

    for case in cases:
        promised = case.spec.expect
        if promised is None:
            continue
        got = expected[case.id]
        if not (within(promised, got.low, case.spec.tolerance) and got.is_exact):
            raise ReferenceSolutionError(
                f"case {case.name!r} promises {promised!r} but the reference gives {got.low!r}",
                where=case.spec.where,
                fix="Fix 'expect' (and the statement, if it prints this number) or the reference.",
            )


def _case_result(
    exercise: Exercise, case: Case, expected: Expected, outcome: CallOutcome
) -> CaseResult:
    from grader.cases import describe

    spec = case.spec
    hidden = spec.visibility is Visibility.HIDDEN
    base: dict[str, Any] = {
        "name": case.name,
        "kind": spec.kind.value,
        "visibility": spec.visibility.value,
        "max_score": spec.points,
        "output": outcome.output,
        "seconds": outcome.seconds,
    }
    details: dict[str, Any] = {
        "inputs": {p: describe(a) for p, a in case.args.items()},
        "expected_low": expected.low,
        "expected_high": expected.high,
        "rtol": spec.tolerance.rtol,
        "atol": spec.tolerance.atol,
    }
    status, message, hint = Status.ERROR, "", None
    if outcome.status is CallStatus.RETURNED:
        from grader.compare import compare

        assert outcome.value is not None
        verdict = compare(outcome.value, expected, spec.tolerance)
        details |= {
            "actual": outcome.value,
            "actual_type": outcome.value_type,
            "abs_error": verdict.abs_error,
            "rel_error": verdict.rel_error,
        }
        status = Status.PASSED if verdict.passed else Status.FAILED
        message, hint = verdict.reason, verdict.hint or (None if verdict.passed else spec.hint)
        if outcome.mutated:
            status = Status.FAILED
            message = f"changed its input {', '.join(outcome.mutated)} in place"
            hint = (
                "Never modify the arrays you are given: the caller still needs them. "
                "np.clip(p, eps, 1 - eps) returns a new array; avoid out=, -=, *= and "
                "assigning into the inputs."
            )
    elif outcome.status is CallStatus.BAD_RETURN:
        status = Status.FAILED
        message = f"returned {outcome.problem}, not one real number"
        hint = _bad_return_hint(outcome.problem or "")
        details["actual_type"] = outcome.value_type
    elif outcome.status is CallStatus.RAISED:
        assert outcome.error is not None
        message = f"raised {outcome.error.type}: {outcome.error.message}".rstrip(": ")
        if outcome.error.type == "MemoryError":
            message = f"used more than {_memory(exercise)} of memory (MemoryError)"
            hint = "Avoid building large intermediate arrays (an N x N table, for instance)."
        details["traceback"] = outcome.error.traceback
    else:
        message = outcome.reason or outcome.status.value
        if outcome.status is CallStatus.TIMEOUT:
            hint = "Look for a loop that never ends, or use numpy operations instead of loops."
    if hidden:
        # The student learns that a hidden case failed and why, never its inputs or answer.
        details = {}
        if status is not Status.ERROR:
            message = message.split(" (")[0]
    return CaseResult(
        status=status,
        score=spec.points if status is Status.PASSED else 0.0,
        message=message,
        hint=hint,
        **base,
        **details,
    )


def _memory(exercise: Exercise) -> str:
    mb = exercise.limits.memory_mb
    return f"{mb // 1024} GiB" if mb % 1024 == 0 else f"{mb} MiB"


def _bad_return_hint(problem: str) -> str:
    if problem.startswith("an array of shape (1,)") or "of 1 item" in problem:
        return "Return a single number: float(loss) or loss.item(), not a 1-element container."
    if problem.startswith("an array") or problem.startswith("a list"):
        return "You returned one value per example: take the mean over the examples."
    if problem.startswith("None"):
        return "The function must end with 'return loss'."
    return "Return one float, e.g. float(np.mean(...))."


_FAULT_HINTS = {
    "syntax": "Fix the line shown; Python stops reading the file at the first syntax error.",
    "import": "The file fails while it loads, before any test runs: fix the error shown.",
    "unreadable": "Save the file as UTF-8 text.",
    "timeout": "Code at the top level of your file runs when it is loaded: move slow code "
    "into functions, or remove it.",
    "crashed": "Code at the top level of your file runs when it is loaded: remove test code "
    "that ends the program.",
}


def _submission_error(
    exercise: Exercise, submission: Path, fault: Fault | None
) -> SubmissionError | None:
    if fault is None:
        return None
    signature = exercise.entry.signature
    hint: str | None
    if fault.kind in ("missing", "signature"):
        hint = (
            f"Define exactly:  {signature}  "
            f"('grade start {exercise.id}' writes a starter file with it)."
        )
    else:
        hint = _FAULT_HINTS.get(fault.kind)
    return SubmissionError(
        kind=fault.kind,
        message=fault.message,
        file=str(submission),
        line=fault.line,
        column=fault.column,
        text=fault.text,
        traceback=fault.traceback,
        hint=hint,
    )
