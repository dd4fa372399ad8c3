"""The child's events as a pure state machine (grader/sandbox/events.py), table-tested.

A child's events may be forged by the submission: only the order a well-behaved child
keeps is applied, and anything else is a ProtocolError, whatever the bytes.
"""

from __future__ import annotations

import json

import pytest

from grader.sandbox.events import Attempt, apply_event, hung_after
from grader.sandbox.protocol import CallOutcome, CallStatus, ProtocolError, Stop, StopKind

READY = {"ev": "ready", "names": ["y_true", "y_pred"]}
FAULT = {"ev": "fault", "kind": "syntax", "message": "invalid syntax", "line": 3}


def start(case: str) -> dict[str, object]:
    return {"ev": "start", "case": case}


def end(case: str, value: str = "0.25") -> dict[str, object]:
    return {"ev": "end", "case": case, "value": value, "seconds": 0.001}


DONE = {"ev": "done"}


def run(events: list[object], cases: tuple[str, ...] = ("a", "b")) -> tuple[Attempt, bool]:
    """Apply each event (a dict, or raw bytes) in turn, as the supervisor does."""
    attempt, pending, current, done = Attempt(), list(cases), None, False
    for event in events:
        line = event if isinstance(event, bytes) else json.dumps(event).encode()
        current, done = apply_event(line, attempt, pending, current)
    return attempt, done


def test_a_well_behaved_child_runs_every_call_and_is_done() -> None:
    attempt, done = run([READY, start("a"), end("a"), end("b", "0.5"), DONE])
    assert done
    assert attempt.loaded
    assert attempt.started_any
    assert attempt.param_names == ("y_true", "y_pred")
    assert {k: o.value for k, o in attempt.outcomes.items()} == {"a": 0.25, "b": 0.5}


def test_a_fault_ends_the_child_before_any_call() -> None:
    attempt, done = run([FAULT])
    assert done
    assert attempt.fault is not None
    assert attempt.fault.kind == "syntax"
    assert attempt.fault.line == 3


@pytest.mark.parametrize(
    ("events", "why"),
    [
        ([start("a")], "before the submission was loaded"),
        ([end("a")], "before the submission was loaded"),
        ([DONE], "before the submission was loaded"),
        ([READY, READY], "unexpected 'ready'"),
        ([READY, FAULT], "unexpected 'fault'"),
        ([READY, start("b")], "out of order"),
        ([READY, start("a"), start("a")], "out of order"),
        ([READY, end("a")], "not running"),
        ([READY, start("a"), end("b")], "not running"),
        ([READY, start("a"), DONE], "'done' before every call ended"),
        ([READY, start("a"), end("a"), DONE], "'done' before every call ended"),
        ([READY, start("a"), end("a"), end("b"), end("b")], "not running"),
        ([b"not json"], "not a JSON line"),
        ([b"\xff\xfe"], "not a JSON line"),
        ([b"[1, 2]"], "not an event"),
        ([{"ev": "launch"}], "not an event"),
        ([READY, {"ev": "start"}], "case is missing"),
        ([READY, {"ev": "end", "case": None}], "case is missing"),
        ([READY, {"ev": "start", "case": 7}], "case is not a bounded string"),
        ([READY, start("a"), {"ev": "end", "case": "a", "seconds": 0.1}], "value is missing"),
        ([READY, start("a"), end("a", "1e999999x")], "not a number"),
        ([READY, start("a"), {"ev": "end", "case": "a", "value": "1"}], "seconds"),
        ([READY, start("a"), {**end("a"), "seconds": True}], "seconds"),
        ([READY, start("a"), {**end("a"), "mutated": "y_true"}], "mutated"),
        ([READY, start("a"), {**end("a"), "error": "boom"}], "error is not an object"),
        ([READY, start("a"), {**end("a"), "problem": {"kind": "?"}}], "unknown kind"),
    ],
)
def test_malformed_or_out_of_order_events_are_refused(events: list[object], why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        run(events)


def _timeout(case: str) -> CallOutcome:
    return CallOutcome(case, CallStatus.TIMEOUT, stop=Stop(StopKind.TIME_LIMIT, seconds=1.0))


@pytest.mark.parametrize(
    ("outcomes", "before", "after"),
    [
        ({}, 1, 1),  # nothing ran: the count stands
        ({"a": CallOutcome("a", CallStatus.RETURNED, value=1.0)}, 1, 0),
        ({"a": _timeout("a")}, 1, 2),  # the first call of an attempt timed out: in a row
        ({"a": CallOutcome("a", CallStatus.RETURNED, value=1.0), "b": _timeout("b")}, 1, 1),
    ],
)
def test_calls_that_run_out_of_time_in_a_row_are_counted(
    outcomes: dict[str, CallOutcome], before: int, after: int
) -> None:
    assert hung_after(Attempt(outcomes=outcomes), before) == after
