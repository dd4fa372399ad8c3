"""What stopped a submission's calls (feedback.stop_summary), and how a class records it
(classroom.result.outcome): pure, from the supervisor's outcomes, no sandbox."""

from __future__ import annotations

import signal

from grader.classroom.result import outcome
from grader.exercise.feedback import stop_summary as stopped
from grader.results import CaseResult, Report, Status, SubmissionError
from grader.sandbox.protocol import CallOutcome, CallStatus, Stop, StopKind, StudentError

MEMORY_MB = 1024


def _returned(case: str) -> CallOutcome:
    return CallOutcome(case, CallStatus.RETURNED, value=1.0)


def _timed_out(case: str) -> CallOutcome:
    return CallOutcome(case, CallStatus.TIMEOUT, stop=Stop(StopKind.TIME_LIMIT, seconds=1.5))


def test_calls_that_end_by_themselves_stopped_nothing() -> None:
    assert stopped([_returned("a"), _returned("b")], MEMORY_MB) is None


def test_a_used_up_time_budget_names_the_budget_and_stops_the_submission() -> None:
    budget = Stop(StopKind.BUDGET, seconds=20.0)
    found = stopped(
        [
            _returned("a"),
            CallOutcome("b", CallStatus.TIMEOUT, stop=budget),
            CallOutcome("c", CallStatus.NOT_RUN, stop=budget),
        ],
        MEMORY_MB,
    )
    assert found is not None
    assert (found.kind, found.calls, found.seconds, found.whole) == ("budget", 2, 20.0, True)
    assert found.message.startswith("it ran out of time: its time budget of 20 s was used up")


def test_calls_in_a_row_out_of_time_name_the_limit_of_one_call() -> None:
    hanging = Stop(StopKind.HANGING)
    found = stopped(
        [_timed_out("a"), _timed_out("b"), CallOutcome("c", CallStatus.NOT_RUN, stop=hanging)],
        MEMORY_MB,
    )
    assert found is not None
    assert (found.kind, found.calls, found.seconds, found.whole) == ("hanging", 3, 1.5, True)
    assert "longer than 1.5 s each, so 1 of 3 calls was not made" in found.message


def test_one_slow_call_or_memory_is_kept_but_the_submission_is_still_graded() -> None:
    slow = stopped([_returned("a"), _timed_out("b")], MEMORY_MB)
    assert slow is not None
    assert (slow.kind, slow.whole) == ("time_limit", False)
    assert slow.message == "1 call ran out of time (longer than 1.5 s)"
    raised = CallOutcome("a", CallStatus.RAISED, error=StudentError("MemoryError", "", "", None))
    killed = CallOutcome("b", CallStatus.CRASHED, stop=Stop(StopKind.SIGNAL, signal=signal.SIGKILL))
    memory = stopped([raised, killed, _timed_out("c")], MEMORY_MB)
    assert memory is not None
    assert (memory.kind, memory.calls, memory.memory_mb) == ("memory", 2, MEMORY_MB)
    assert memory.message.startswith("2 calls used more than 1 GiB of memory")


def _report(**fields: object) -> Report:
    case = CaseResult("one", "fixed", "visible", Status.ERROR, 0.0, 1.0, "not run")
    base: dict[str, object] = {
        "exercise": "ex01",
        "title": "BCE",
        "submission": "/tmp/grader-batch-x/hal.py",
        "seed": 1,
        "score": 0.0,
        "max_score": 1.0,
        "execution_time": 2.0,
        "tests": (case,),
        "backend": "process",
        "grader_version": "0",
    }
    return Report(**(base | fields))  # type: ignore[arg-type]


def test_a_submission_stopped_by_its_time_budget_is_an_error_that_says_so() -> None:
    budget = stopped(
        [CallOutcome("a", CallStatus.NOT_RUN, stop=Stop(StopKind.BUDGET, seconds=3.0))],
        MEMORY_MB,
    )
    result = outcome(_report(stopped=budget))
    assert result.status == "error"
    assert result.stopped == budget
    assert result.error is not None
    assert result.error.startswith(
        "could not be graded: it ran out of time: its time budget of 3 s"
    )


def test_a_load_error_keeps_its_kind_line_and_the_name_of_the_file_as_submitted() -> None:
    error = SubmissionError("syntax", "SyntaxError: invalid syntax", "/tmp/w/dee.py", line=4)
    result = outcome(_report(error=error))
    assert result.status == "error"
    assert result.load_error is not None
    assert (result.load_error.file, result.load_error.line) == ("dee.py", 4)
    assert result.error == "could not be loaded: SyntaxError: invalid syntax (dee.py, line 4)"
