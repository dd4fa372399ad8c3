"""Watching one child: its events and output until its work is done, it dies, or a
deadline passes; what stopped it, in the result model's words.
"""

from __future__ import annotations

import contextlib
import math
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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

    def lower(self) -> None:
        """Lower its CPU priority (best effort): it keeps running, on the cores nothing
        else needs."""
        ...

    def end(self) -> int:
        """Kill it and everything it started; its exit status (negative: a signal)."""
        ...

    def close(self) -> None: ...


#: Told True when a child is lowered (a call outlived its patience: the worker that waits
#: for it is idle), and False once that child is ended. A batch's worker sets it, to let
#: another worker grade meanwhile (classroom/batch.py); None: nobody is told.
on_yield: Callable[[bool], None] | None = None


@dataclass(frozen=True)
class Clock:
    """The deadlines of one child: loading, each call, and the session's budget; and when
    a call still running yields the cores (`patience`, by case: see supervise)."""

    import_seconds: float
    per_case: Mapping[str, float]
    budget_end: float
    budget_seconds: float
    patience: Mapping[str, float] = field(default_factory=dict)

    def deadline(self, current: str | None) -> float:
        now = time.monotonic()
        if current is None:
            return now + self.import_seconds
        return min(now + self.per_case[current], self.budget_end)

    def lower_at(self, current: str | None) -> float:
        """When the call now starting has outlived its patience (infinity: never)."""
        if current is None or current not in self.patience:
            return math.inf
        return time.monotonic() + self.patience[current]


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
    passes. A kept child (see ProcessSession._live) has loaded the submission already.

    A call that outlives its patience (clock.patience: far more than a correct call needs
    on its input, and less than its limit) keeps its limit, but the child's CPU priority
    is lowered: a submission that hangs waits for its deadline on the cores nothing else
    needs, instead of taking a share of them from the class. Should the call end in time
    after all, the child is not used again (its priority cannot be raised back): the
    attempt ends there (`recycled`), and the calls left go to a new child."""
    attempt = Attempt(loaded=kept)
    pending = list(cases)
    current: str | None = None
    done = False
    problem: str | None = None
    deadline = clock.deadline(None)
    lower_at = math.inf
    lowered: str | None = None  # the call that was running when the child was lowered
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
        while streams and not done and problem is None and not attempt.recycled:
            now = time.monotonic()
            if now >= lower_at:
                child.lower()
                lowered, lower_at = current, math.inf
                if on_yield is not None:
                    on_yield(True)
            left = deadline - now
            if left <= 0:
                break
            for key, _ in selector.select(min(left, lower_at - now)):
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
                        before = current
                        try:
                            current, done = apply_event(line, attempt, pending, current)
                        except ProtocolError as exc:
                            problem = str(exc)
                        if lowered is not None and lowered in attempt.outcomes:
                            attempt.recycled = not done and problem is None
                        if done or problem is not None or attempt.recycled:
                            break
                        if current != before:
                            lower_at = clock.lower_at(current)
                    deadline = clock.deadline(current)
                if len(buffer) > MAX_EVENT_BYTES:
                    problem = "an event line is too long"
        timed_out = not done and problem is None and bool(streams)
    if done and attempt.fault is None and lowered is None:
        attempt.reusable = True
        return attempt  # still running, waiting for more work: the session decides
    returncode = child.end()
    if lowered is not None and on_yield is not None:
        on_yield(False)
    if done or attempt.fault is not None or attempt.recycled:
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


#: The nice value of a call that outlived its patience: the lowest priority there is.
LOWEST = 19


def lower_priority(pid: int, nice: int = LOWEST) -> None:
    """Best effort: the process's session to this priority (its autogroup, where the kernel
    has them: /proc/sys/kernel/sched_autogroup_enabled), and the process itself. Back to 0
    before a lowered process is killed: its exit runs at its own priority, and on busy
    cores the lowest makes it take a third of a second (a process without privilege can
    raise its autogroup's back to 0, not its own nice value)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/autogroup", "w") as group:
        group.write(str(nice))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, nice)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (same session and process group).

    Called only before the child is reaped, so its pid cannot have been reused.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
