"""The one place that composes the flow: spec -> cases -> sandbox -> compare -> results.

The sandbox child is started as soon as the exercise is known, so that its Python and numpy
load while this process builds the cases and runs the reference: numpy-heavy modules are
imported only after that (hence the imports inside `grade`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__
from grader.audience import Audience
from grader.course import Course, find_course
from grader.errors import SubmissionNotFoundError
from grader.exercise import feedback
from grader.exercise.compare import Verdict
from grader.exercise.prepare import CALL_FLOOR_SECONDS, Answers, Prepared
from grader.exercise.spec import Exercise, Visibility
from grader.exercise.submission_file import check_submission
from grader.results import (
    CaseResult,
    Diagnosis,
    MistakeFound,
    Report,
    SmallestInput,
    Status,
    SubmissionError,
)
from grader.sandbox import Backend, Job, SandboxLimits, Session, get_backend
from grader.sandbox.protocol import CallOutcome, CallStatus, Fault, RunResult, Stop, StopKind

HIDDEN = Visibility.HIDDEN

if TYPE_CHECKING:
    from grader.exercise.cases import Case
    from grader.exercise.compare import Expected


def sandbox_limits(exercise: Exercise) -> SandboxLimits:
    limits = exercise.limits
    return SandboxLimits(
        # For calls without a limit of their own: shrinking's and the plot's small inputs.
        seconds_per_case=limits.seconds_per_case or 2 * CALL_FLOOR_SECONDS,
        seconds_total=limits.seconds_total,
        memory_bytes=limits.memory_mb * 2**20,
        output_chars=limits.output_kb * 1024,
    )


def grade(
    exercise_id: str,
    submission: Path,
    *,
    course: Course | None = None,
    seed: int | None = None,
    sandbox: str | None = None,
    backend: Backend | None = None,
    plot: bool = False,
    shrink: bool = True,
    prepared: Prepared | None = None,
    audience: Audience = Audience.TERMINAL,
) -> Report:
    """Grade one submission of one exercise. Raises GraderError for faults that are not the
    student's (unknown exercise, missing file, broken exercise or reference).

    The code runs in the sandbox `sandbox` names (None: $GRADER_SANDBOX, else the
    strongest that works here), which this opens and closes; a caller that grades many
    submissions passes its own `backend` instead, and closes it itself. A batch also
    passes the exercise `prepared` once for all its submissions (cases and answers are
    then worked out once per seed) and leaves out shrinking, which only the student's own
    report shows. `audience` is who reads the feedback: what its advice may ask them to
    run."""
    options = (plot, shrink, prepared, audience)
    if backend is not None:
        return _grade(exercise_id, submission, course, seed, backend, *options)
    with contextlib.closing(get_backend(sandbox)) as opened:
        return _grade(exercise_id, submission, course, seed, opened, *options)


def _grade(
    exercise_id: str,
    submission: Path,
    course: Course | None,
    seed: int | None,
    backend: Backend,
    plot: bool,
    shrink: bool,
    prepared: Prepared | None,
    audience: Audience,
) -> Report:
    started = time.monotonic()
    if prepared is None:
        prepared = (course or find_course()).prepare(exercise_id)
    exercise = prepared.exercise
    if not (submission.exists() or submission.is_symlink()):
        raise _not_found(submission, exercise.id, audience)
    try:
        check_submission(submission, prepared.course_root, audience)
    except FileNotFoundError:  # a link to nothing
        raise _not_found(submission, exercise.id, audience) from None
    if submission.suffix.lower() == ".ipynb":
        return _grade_notebook(
            exercise_id, submission, prepared, seed=seed, backend=backend, plot=plot,
            shrink=shrink, audience=audience,
        )  # fmt: skip
    seed = prepared.seed(seed)
    job = Job(
        submission=submission.resolve(),
        entry=exercise.entry.function,
        params=exercise.entry.param_names,
        limits=sandbox_limits(exercise),
        # One child, started now: the hidden run goes to the child that ended the visible
        # run well (see _run), a new one only after a crash.
        runs=1,
        packages=exercise.packages,
    )
    with backend.start(job) as session:
        from grader.exercise.shrink import shrink as smallest_inputs
        from grader.exercise.sweep import plot_data

        cases, answers = prepared.graded(seed)
        run = _run(session, cases, answers)
        reference = prepared.reference if shrink else None
        smallest = (
            smallest_inputs(exercise, reference, session, cases, answers.expected, run.outcomes)
            if reference is not None
            else {}
        )
        picture = plot_data(exercise, prepared.curve, session) if plot and not run.fault else None
    tests, diagnosis = judge(prepared, seed, cases, answers, run, smallest)
    names = feedback.parameter_names(run.param_names, exercise.entry.param_names)
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
        error=_submission_error(exercise, submission, run.fault, audience),
        stopped=None
        if run.fault
        else feedback.stop_summary(
            run.outcomes.values(), exercise.limits.memory_mb, answers.memory
        ),
        import_output=run.import_output,
        stdout=run.stdout,
        stderr=run.stderr,
        warnings=(names,) if names else (),
        notes=(prepared.hidden_note,) if prepared.hidden_note else (),
    )


def _not_found(submission: Path, exercise_id: str, audience: Audience) -> SubmissionNotFoundError:
    if audience is Audience.UPLOAD:
        return SubmissionNotFoundError(
            f"{submission.name} was not uploaded",
            fix=f"Upload your solution as {exercise_id}.py or {exercise_id}.ipynb (or as the "
            "only .py or .ipynb file of the submission).",
        )
    return SubmissionNotFoundError(
        f"{submission} does not exist",
        fix=f"Run 'grade start {exercise_id}' to create it from a template, or pass --file PATH.",
    )


def _grade_notebook(
    exercise_id: str,
    notebook: Path,
    prepared: Prepared,
    **options: Any,
) -> Report:
    """A notebook: the module of its code that defines the function (notebook_source),
    graded as a .py file is, and its report citing the notebook's cells."""
    import tempfile

    from grader.exercise import notebook_source

    module = notebook_source.read(notebook, prepared.exercise.entry.function)
    with tempfile.TemporaryDirectory(prefix="grader-notebook-") as tmp:
        path = Path(tmp) / f"{notebook.stem}.py"
        path.write_text(module.source, encoding="utf-8")
        report = grade(exercise_id, path, prepared=prepared, **options)
    return notebook_source.relocate(report, module, notebook, path.name)


def judge(
    prepared: Prepared,
    seed: int,
    cases: list[Case],
    answers: Answers,
    run: RunResult,
    smallest: Mapping[str, SmallestInput] | None = None,
) -> tuple[tuple[CaseResult, ...], Diagnosis | None]:
    """Each case's verdict and words, and the diagnosis: the same for a sandbox run and for
    selftest's run of a known mistake."""
    exercise = prepared.exercise
    verdicts = _verdicts(cases, answers.expected, run.outcomes)
    # A submission that did not load has no values to explain: its error says it all.
    diagnosis = (
        None
        if run.fault
        else _diagnosis(prepared, seed, cases, answers.expected, run.outcomes, verdicts)
    )
    explained = set(diagnosis.explained) if diagnosis is not None else set()
    tests = tuple(
        _case_result(
            exercise,
            case,
            answers.expected[case.id],
            run.outcomes[case.id],
            verdicts.get(case.id),
            explained=case.id in explained,
            smallest=(smallest or {}).get(case.id),
            call_memory=answers.memory.get(case.id),
        )
        for case in cases
    )
    return tests, diagnosis.found if diagnosis is not None else None


def _run(session: Session, cases: list[Case], answers: Answers) -> RunResult:
    """Visible cases, then hidden ones, each call held to its time and memory limits. The
    hidden inputs exist only once every visible call has ended and its results are taken,
    so no visible case can print them; the hidden run may go to the same process, which is
    never used again after it. The hidden run is quiet (what reaches the process's own
    stdout and stderr is dropped), and the report keeps only the visible run's streams and
    import output."""
    visible = {c.id: tuple(c.args.values()) for c in cases if c.spec.visibility is not HIDDEN}
    hidden = {c.id: tuple(c.args.values()) for c in cases if c.spec.visibility is HIDDEN}
    seconds, memory, patience = answers.seconds, answers.memory, answers.patience
    runs = [session.run(visible, seconds, memory=memory, patience=patience)] if visible else []
    if hidden and not (runs and runs[0].fault):
        quiet = session.run(hidden, seconds, quiet=True, memory=memory, patience=patience)
        runs.append(quiet if runs else replace(quiet, import_output=""))
    outcomes: dict[str, CallOutcome] = {}
    for run in runs:
        outcomes.update(run.outcomes)
    not_run = Stop(StopKind.NOT_LOADED)
    for case in cases:
        outcomes.setdefault(case.id, CallOutcome(case.id, CallStatus.NOT_RUN, stop=not_run))
    return replace(runs[0], outcomes=outcomes)


def _verdicts(
    cases: list[Case], expected: dict[str, Expected], outcomes: Mapping[str, CallOutcome]
) -> dict[str, Verdict]:
    """Each returned number judged once; the diagnosis and the case results both read it."""
    from grader.exercise.compare import compare

    return {
        case.id: compare(outcome.value, expected[case.id], case.spec.tolerance)
        for case in cases
        if (outcome := outcomes[case.id]).status is CallStatus.RETURNED
        and outcome.value is not None
    }


@dataclass(frozen=True)
class _Diagnosed:
    found: Diagnosis
    #: Failing cases the named mistakes explain: their static hints would contradict it.
    explained: tuple[str, ...]


def _diagnosis(
    prepared: Prepared,
    seed: int,
    cases: list[Case],
    expected: dict[str, Expected],
    outcomes: Mapping[str, CallOutcome],
    verdicts: Mapping[str, Verdict],
) -> _Diagnosed | None:
    """Which declared mistake explains the wrong values, computed in the grader."""
    from grader.exercise.diagnose import Evidence, diagnose

    if not prepared.exercise.mistakes:
        return None
    evidence = []
    any_failed = False
    for case in cases:
        outcome = outcomes[case.id]
        verdict = verdicts.get(case.id)
        if verdict is None or outcome.value is None:
            any_failed = True
            continue
        passed = verdict.passed
        any_failed = any_failed or not passed or bool(outcome.mutated)
        evidence.append(
            Evidence(case.id, outcome.value, case.spec.tolerance, passed, expected[case.id])
        )
    if not any_failed:
        return None
    judged = {e.case_id for e in evidence}
    answers = prepared.mistake_forms((c for c in cases if c.id in judged), seed)
    found = diagnose(evidence, answers)
    return _Diagnosed(
        Diagnosis(
            checked=found.failing,
            mistakes=tuple(
                MistakeFound(m.mistake.id, m.mistake.title, m.mistake.hint, m.cases)
                for m in found.matches
            ),
        ),
        found.explained,
    )


def _case_result(
    exercise: Exercise,
    case: Case,
    expected: Expected,
    outcome: CallOutcome,
    verdict: Verdict | None,
    *,
    explained: bool,
    smallest: SmallestInput | None,
    call_memory: int | None = None,
) -> CaseResult:
    """One case's verdict and words. A hidden case is judged the same way; only the fields
    that carry its data (inputs, values, printed output, exception text) are left out."""
    spec = case.spec
    hidden = spec.visibility is Visibility.HIDDEN
    memory_mb = exercise.limits.memory_mb
    data: dict[str, Any] = {
        "inputs": case.described,
        "expected_low": expected.low,
        "expected_high": expected.high,
        "rtol": spec.tolerance.rtol,
        "atol": spec.tolerance.atol,
        "output": outcome.output,
        "smallest": smallest,
        # Reported by the child, which the submission may forge: data like the rest.
        "seconds": outcome.seconds,
    }
    traceback = None
    status = Status.ERROR
    mutated: tuple[str, ...] = ()
    if outcome.status is CallStatus.RETURNED:
        assert outcome.value is not None
        assert verdict is not None
        data |= {
            "actual": outcome.value,
            "actual_type": outcome.value_type,
            "abs_error": verdict.abs_error,
            "rel_error": verdict.rel_error,
        }
        status = Status.PASSED if verdict.passed else Status.FAILED
        words = feedback.finding(verdict.finding, outcome.value, exercise.hints)
        if not verdict.passed and words.hint is None:
            words = feedback.Words(words.message, spec.hint)
        # Only the statement's names: the list comes from the child, which may be forged.
        if outcome.mutated:
            mutated = tuple(p for p in exercise.entry.param_names if p in outcome.mutated)
        if mutated:
            status = Status.FAILED
            words = feedback.mutated(mutated)
    elif outcome.status is CallStatus.BAD_RETURN:
        status = Status.FAILED
        words = feedback.bad_return(outcome.problem, hidden=hidden)
        data["actual_type"] = outcome.value_type
    elif outcome.status is CallStatus.RAISED:
        assert outcome.error is not None
        words = feedback.raised(
            outcome.error,
            hidden=hidden,
            memory_mb=memory_mb,
            packages=exercise.packages,
            call_memory_mb=-(-call_memory // 2**20) if call_memory is not None else None,
        )
        traceback = outcome.error.traceback
    else:
        words = feedback.no_answer(outcome, memory_mb=memory_mb)
    hint = words.hint
    if explained and status is Status.FAILED and not mutated:
        # The diagnosis explains this case: a static hint here would be a second voice,
        # often saying something else ("clip the probabilities" for a log base 2).
        hint = None
    if hidden:
        data = {}
    return CaseResult(
        name=case.name,
        kind=spec.kind.value,
        visibility=spec.visibility.value,
        status=status,
        score=spec.points if status is Status.PASSED else 0.0,
        max_score=spec.points,
        message=words.message,
        hint=hint,
        traceback=traceback,
        **data,
    )


def _submission_error(
    exercise: Exercise, submission: Path, fault: Fault | None, audience: Audience
) -> SubmissionError | None:
    if fault is None:
        return None
    words = feedback.fault(
        fault,
        signature=exercise.entry.signature,
        exercise_id=exercise.id,
        memory_mb=exercise.limits.memory_mb,
        packages=exercise.packages,
        audience=audience,
    )
    return SubmissionError(
        kind=fault.kind,
        message=words.message,
        file=str(submission),
        line=fault.line,
        column=fault.column,
        text=fault.text,
        traceback=fault.traceback,
        hint=words.hint,
    )
