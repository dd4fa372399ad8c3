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
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from grader.sandbox import cgroup
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

    def cpu_seconds(self) -> float | None:
        """The CPU time it and what it started have used so far (None: not known here)."""
        ...

    def end(self) -> int:
        """Kill it and everything it started; its exit status (negative: a signal)."""
        ...

    def close(self) -> None: ...


#: Told True when a call outlives its patience (the worker that waits for it is idle,
#: or nearly), and False once that call ends or its child is ended. A batch's worker sets
#: it, to let another worker grade meanwhile (classroom/batch.py); None: nobody is told.
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
    on its input, and less than its limit) keeps its limit, and its worker is told it
    waits (on_yield). If it goes on using the CPU (YIELD_CPU_SECONDS more), the child's
    CPU priority is lowered: a submission that hangs waits for its deadline on the cores
    nothing else needs, instead of taking a share of them from the class; a call that is
    only slowed down by a busy machine uses little CPU, and keeps its priority. Should a
    lowered call end in time after all, the child is not used again: the attempt ends
    there (`recycled`), and the calls left go to a new child."""
    attempt = Attempt(loaded=kept)
    pending = list(cases)
    current: str | None = None
    done = False
    problem: str | None = None
    deadline = clock.deadline(None)
    patience = _Patience(child, clock)
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
            patience.look(now, current)
            left = deadline - now
            if left <= 0:
                break
            for key, _ in selector.select(min(left, patience.at - now)):
                fd = int(key.fd)
                try:
                    chunk = os.read(fd, READ_BYTES)
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
                        if patience.lowered is not None and patience.lowered in attempt.outcomes:
                            attempt.recycled = not done and problem is None
                        if done or problem is not None or attempt.recycled:
                            break
                        if current != before:
                            patience.start(current)
                    deadline = clock.deadline(current)
                if len(buffer) > MAX_EVENT_BYTES:
                    problem = "an event line is too long"
                elif current is not None and len(chunk) < READ_BYTES:
                    # A call runs, and the next events are likely a few microseconds away:
                    # read them together, not one wake-up each (see GATHER_SECONDS).
                    time.sleep(GATHER_SECONDS)
        timed_out = not done and problem is None and bool(streams)
    if done and attempt.fault is None and patience.lowered is None:
        patience.end()
        attempt.reusable = True
        return attempt  # still running, waiting for more work: the session decides
    returncode = child.end()
    patience.end()
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


#: What one read takes from a stream.
READ_BYTES = 65536
#: After a read of events while a call runs, how long the events that follow are left to
#: gather before the next read. A run of quick calls (most of a class's: microseconds each)
#: otherwise wakes its worker once per call, and each wake-up costs both processes a
#: context switch: 39 context switches a submission instead of 15, and 0.5 ms more of its
#: worker's CPU (benchmarks/README.md). A call's limit and patience are counted from when
#: its start is read, so at most this much later: on limits of a second and more.
GATHER_SECONDS = 0.001

#: The nice value of a call that outlived its patience: the lowest priority there is.
LOWEST = 19
#: Once a call's patience has passed, the CPU it must use more before it yields (a call
#: slowed down by a busy machine uses little; a loop that never ends, all it is given),
#: and how often that is looked at.
YIELD_CPU_SECONDS = 0.01
LOOK_SECONDS = 0.005


class _Patience:
    """When the call running yields the cores (see supervise), and what was done."""

    def __init__(self, child: Child, clock: Clock) -> None:
        self.child, self.clock = child, clock
        #: When to look next.
        self.at = math.inf
        #: The call past its patience (its worker told it waits), and the child's CPU then.
        self.waiting: str | None = None
        self.mark: float | None = None
        #: The call during which the child was lowered.
        self.lowered: str | None = None

    def start(self, current: str | None) -> None:
        """A call starts (the one before ended)."""
        if self.waiting is not None and self.lowered is None:
            self.waiting = None
            _tell(False)
        self.at = self.clock.lower_at(current)

    def look(self, now: float, current: str | None) -> None:
        """Past the call's patience: tell its worker it waits; then, once the child has
        used YIELD_CPU_SECONDS more of CPU (or where its CPU cannot be read), lower it."""
        if now < self.at or current is None or self.lowered is not None:
            return
        if self.waiting != current:
            self.waiting = current
            _tell(True)
            self.mark = self.child.cpu_seconds()
            if self.mark is not None:
                self.at = now + LOOK_SECONDS
                return
        elif self.mark is not None:
            used = self.child.cpu_seconds()
            if used is not None and used - self.mark < YIELD_CPU_SECONDS:
                self.at = now + LOOK_SECONDS
                return
        self.child.lower()
        self.lowered, self.at = current, math.inf

    def end(self) -> None:
        """The child's attempt is over: its worker no longer waits for it."""
        if self.waiting is not None:
            self.waiting = None
            _tell(False)


def _tell(waiting: bool) -> None:
    if on_yield is not None:
        on_yield(waiting)


def lower_priority(pid: int, nice: int = LOWEST) -> None:
    """Best effort: the process's session to this priority (its autogroup, where the kernel
    has them: /proc/sys/kernel/sched_autogroup_enabled), and the process itself; lowered,
    also into the run's idle cpu cgroup where one can be made (cgroup.to_idle). Back to 0
    before a lowered process is killed: its exit runs at its own priority, and on busy
    cores the lowest makes it take a third of a second (a process without privilege can
    raise its autogroup's back to 0, not its own nice value)."""
    if nice == 0:
        cgroup.from_idle(pid)
    with contextlib.suppress(OSError), open(f"/proc/{pid}/autogroup", "w") as group:
        group.write(str(nice))
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    if nice > 0:
        cgroup.to_idle(pid)


def descendants(pid: int) -> list[int]:
    """Every process below pid, by its children's files in /proc (an empty list where the
    kernel keeps none, or pid is gone)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as listed:
                    children = [int(child) for child in listed.read().split()]
            except (OSError, ValueError):
                continue
            found += children
            todo += children
    return found


def cpu_seconds(pids: Iterable[int]) -> float | None:
    """The CPU time these processes have used (user and system), or None if none of them
    can be read."""
    total, read = 0.0, False
    for pid in pids:
        used = _cpu_of(pid)
        if used is not None:
            total += used
            read = True
    return total if read else None


def _cpu_of(pid: int) -> float | None:
    """In seconds, to the nanosecond where the kernel gives another process's CPU clock
    (Linux: every thread's time on a CPU, ended threads included; clock_getcpuclockid's
    encoding): a call is lowered after 10 ms more of it (YIELD_CPU_SECONDS), which stat's
    clock ticks (10 ms each, charged to whoever runs at the tick) cannot tell from a few ms
    of use."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, OverflowError):
            return time.clock_gettime((~pid << 3) | _CPUCLOCK_SCHED)
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


#: The process-wide clock of a pid (Linux's MAKE_PROCESS_CPUCLOCK with CPUCLOCK_SCHED).
_CPUCLOCK_SCHED = 2
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (same session and process group).

    Called only before the child is reaped, so its pid cannot have been reused.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
