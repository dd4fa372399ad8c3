"""Watching one child: its events and output until its work is done, it dies, or a
deadline passes; what stopped it, in the result model's words.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from grader.sandbox.events import MAX_EVENT_BYTES, Attempt, Capped, apply_event
from grader.sandbox.protocol import (
    CallOutcome,
    CallStatus,
    Fault,
    ProtocolError,
    Stop,
    StopKind,
)


def death(returncode: int) -> Stop:
    """How the child ended, as Python reports its status (negative: a signal)."""
    if returncode < 0:
        return Stop(StopKind.SIGNAL, signal=-returncode)
    return Stop(StopKind.EXIT, exit_code=returncode)


class Child(Protocol):
    """A started child, as a session drives it: its work line in, events and output out."""

    #: The read ends of its event pipe, stdout and stderr.
    @property
    def events(self) -> int: ...

    @property
    def stdout(self) -> int: ...

    @property
    def stderr(self) -> int: ...

    def send_work(self, line: bytes) -> None: ...

    def end(self) -> int:
        """Kill it and everything it started; its exit status (negative: a signal)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Clock:
    """The deadlines of one child: loading, each call, and the session's budget."""

    import_seconds: float
    per_case: Mapping[str, float]
    budget_end: float
    budget_seconds: float

    def deadline(self, current: str | None) -> float:
        now = time.monotonic()
        if current is None:
            return now + self.import_seconds
        return min(now + self.per_case[current], self.budget_end)


def supervise(
    child: Child,
    clock: Clock,
    cases: list[str],
    stdout: Capped,
    stderr: Capped,
    *,
    kept: bool = False,
) -> Attempt:
    """Read the child's events and output until its work is done, it dies, or a deadline
    passes. A kept child (see ProcessSession._live) has loaded the submission already."""
    attempt = Attempt(loaded=kept)
    pending = list(cases)
    current: str | None = None
    done = False
    problem: str | None = None
    deadline = clock.deadline(None)
    buffer = bytearray()
    streams: dict[int, Capped | None] = {
        child.events: None,
        child.stdout: stdout,
        child.stderr: stderr,
    }
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        while streams and not done and problem is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in selector.select(left):
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    selector.unregister(fd)
                    del streams[fd]
                    continue
                sink = streams[fd]
                if sink is not None:
                    sink.add(chunk)
                    continue
                buffer += chunk
                if b"\n" in chunk:
                    *lines, rest = bytes(buffer).split(b"\n")
                    buffer = bytearray(rest)
                    for line in lines:
                        try:
                            current, done = apply_event(line, attempt, pending, current)
                        except ProtocolError as exc:
                            problem = str(exc)
                        if done or problem is not None:
                            break
                    deadline = clock.deadline(current)
                if len(buffer) > MAX_EVENT_BYTES:
                    problem = "an event line is too long"
        timed_out = not done and problem is None and bool(streams)
    if done and attempt.fault is None:
        attempt.reusable = True
        return attempt  # still running, waiting for more work: the session decides
    returncode = child.end()
    if done or attempt.fault is not None:
        return attempt
    if kept and not attempt.started_any and problem is None:
        attempt.lost = True  # it died or stalled between runs, before this one started
        return attempt
    stop: Stop
    if problem is not None:
        stop, status = Stop(StopKind.CHANNEL, detail=problem), CallStatus.CRASHED
    elif timed_out and current is None:
        stop, status = Stop(StopKind.TIME_LIMIT, seconds=clock.import_seconds), CallStatus.TIMEOUT
    elif timed_out and deadline >= clock.budget_end:
        stop = Stop(StopKind.BUDGET, seconds=clock.budget_seconds)
        status = CallStatus.TIMEOUT
    elif timed_out:
        assert current is not None
        stop = Stop(StopKind.TIME_LIMIT, seconds=clock.per_case[current])
        status = CallStatus.TIMEOUT
    else:
        stop, status = death(returncode), CallStatus.CRASHED
    if current is not None:
        attempt.outcomes[current] = CallOutcome(current, status, stop=stop)
    elif not attempt.started_any:
        kind = "timeout" if status is CallStatus.TIMEOUT else "crashed"
        attempt.fault = Fault(kind, "", stop=stop)
    else:
        # Died between calls: blame the next call, so that the run makes progress.
        nxt = pending[0] if pending else None
        if nxt is not None:
            attempt.outcomes[nxt] = CallOutcome(nxt, status, stop=stop)
    return attempt


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (same session and process group).

    Called only before the child is reaped, so its pid cannot have been reused.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
