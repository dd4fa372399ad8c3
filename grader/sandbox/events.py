"""The child's events, applied one by one: a pure state machine, no process, no clock.

Everything a child sends may be forged by the submission, so each event is parsed strictly
(protocol.py) and applied here only in the order a well-behaved child sends them; anything
else is a ProtocolError, and the call it concerns a crash. Table-tested against malformed
and out-of-order events (tests/test_events.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.sandbox.protocol import (
    CallOutcome,
    CallStatus,
    Fault,
    ProtocolError,
    StopKind,
    parse_end,
    parse_event,
    parse_fault,
    parse_ready,
)

#: Longest event line accepted from the child; more is a hostile or broken child.
MAX_EVENT_BYTES = 4 * 1024 * 1024


class Capped:
    """Keeps the first `cap` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = max(0, self.cap - len(self.data))
        self.data += chunk[:room]
        self.dropped += len(chunk) - min(room, len(chunk))

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        return text + (f"\n[... {self.dropped} more bytes not shown]" if self.dropped else "")


@dataclass
class Attempt:
    """What one child process did before it ended."""

    outcomes: dict[str, CallOutcome] = field(default_factory=dict)
    fault: Fault | None = None
    loaded: bool = False
    import_output: str = ""
    started_any: bool = False
    param_names: tuple[str, ...] | None = None
    #: It ended its work well and still runs: it may take the session's next run.
    reusable: bool = False
    #: A child kept from the run before that died before doing anything of this one:
    #: nothing to blame on the submission, a new child runs the cases.
    lost: bool = False
    #: Its priority was lowered during a call that then ended in time: it was ended, and
    #: a new child runs the calls left (see supervisor.supervise).
    recycled: bool = False


#: After this many calls in a row ran out of time, a session runs no more calls: the
#: submission hangs (every call would take its whole limit, up to the session's budget),
#: and a class's batch should not wait for it. A single slow case does not stop the rest.
HANGING_CALLS = 2


def hung_after(attempt: Attempt, hung: int) -> int:
    """The count of calls in a row that ran out of time, after this attempt."""
    timed_out = [
        o
        for o in attempt.outcomes.values()
        if o.status is CallStatus.TIMEOUT
        and o.stop is not None
        and o.stop.kind is StopKind.TIME_LIMIT
    ]
    if not timed_out:
        return 0 if attempt.outcomes else hung
    # An attempt ends at its first timeout: in a row with the last one only if no call
    # returned before it in this attempt.
    return hung + 1 if len(attempt.outcomes) == 1 else 1


def apply_event(
    line: bytes, attempt: Attempt, pending: list[str], current: str | None
) -> tuple[str | None, bool]:
    """Apply one event; returns the call now running and whether the child is done."""
    event = parse_event(line)
    kind = event["ev"]
    if kind == "ready" or kind == "fault":
        if attempt.loaded:
            raise ProtocolError(f"unexpected {kind!r} event")
        attempt.loaded = True
        output = event.get("output", "")
        attempt.import_output = output if isinstance(output, str) else ""
        if kind == "fault":
            attempt.fault = parse_fault(event)
            return None, True
        attempt.param_names = parse_ready(event)
        return None, False
    if not attempt.loaded:
        raise ProtocolError(f"{kind!r} before the submission was loaded")
    if kind == "start":
        # Only a run's first call starts with an event: each later one starts when the
        # call before it ends (half the events to send and parse).
        if current is not None or not pending or event["case"] != pending[0]:
            raise ProtocolError("a call started out of order")
        attempt.started_any = True
        return pending[0], False
    if kind == "end":
        if current is None or event["case"] != current:
            raise ProtocolError("a call ended that was not running")
        attempt.outcomes[current] = parse_end(event, current)
        pending.pop(0)
        return (pending[0] if pending else None), False
    # done
    if current is not None or pending:
        raise ProtocolError("'done' before every call ended")
    return None, True
