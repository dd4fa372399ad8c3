"""The 'process' sandbox backend: one child Python per submission, restarted after a crash.

The child runs in a new session (its whole process group is killed at the end), in a fresh
temporary directory, with a scrubbed environment, isolated interpreter flags (-I -S -B),
rlimits on memory, CPU time, file size and core dumps, and a wall clock per call kept by
the grader. A call that hangs or kills the process fails that case; the child is started
again for the cases after it.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
import numpy as np

from grader.errors import SandboxError
from grader.sandbox.protocol import (
    CallOutcome,
    CallStatus,
    Fault,
    ProtocolError,
    RunRequest,
    RunResult,
    parse_end,
    parse_event,
    parse_fault,
)

#: Longest event line accepted from the child; more is a hostile or broken child.
MAX_EVENT_BYTES = 4 * 1024 * 1024
_CHILD_SOURCE = resources.files("grader.sandbox").joinpath("child.py").read_text("utf-8")


class _Capped:
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
class _Attempt:
    """What one child process did before it ended."""

    outcomes: dict[str, CallOutcome] = field(default_factory=dict)
    fault: Fault | None = None
    loaded: bool = False
    import_output: str = ""
    started_any: bool = False


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _death_reason(returncode: int, memory_bytes: int) -> str:
    if returncode < 0:
        sig = -returncode
        if sig == signal.SIGSEGV:
            return "the Python process crashed (segmentation fault)"
        if sig == signal.SIGXCPU:
            return "the process used more CPU time than allowed"
        if sig == signal.SIGKILL:
            return (
                "the process was killed (it may have used more than "
                f"{memory_bytes // 2**20} MiB of memory)"
            )
        return f"the process was ended by {_signal_name(sig)}"
    return (
        f"the process exited with code {returncode} before the call returned "
        "(sys.exit(), os._exit() or exit() in your code?)"
    )


class ProcessBackend:
    """Runs a submission in a child process with rlimits; see the module docstring."""

    name = "process"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        # The child runs with -S, so it sees no site-packages: hand it numpy's alone.
        self.sys_path = [str(Path(np.__file__).resolve().parent.parent)]

    def run(self, request: RunRequest) -> RunResult:
        started = time.monotonic()
        cap = request.limits.output_chars
        stdout, stderr = _Capped(cap), _Capped(cap)
        outcomes: dict[str, CallOutcome] = {}
        fault: Fault | None = None
        import_output = ""
        with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
            inputs = Path(tmp) / "inputs.npz"
            arrays = {
                f"{case}/{param}": array
                for case, args in request.inputs.items()
                for param, array in zip(request.params, args)
            }
            np.savez(inputs, allow_pickle=False, **arrays)  # type: ignore[arg-type]
            work = Path(tmp) / "work"
            remaining = list(request.inputs)
            first = True
            while remaining:
                work.mkdir()
                attempt = self._attempt(request, remaining, inputs, work, stdout, stderr)
                shutil.rmtree(work, ignore_errors=True)
                outcomes.update(attempt.outcomes)
                if first:
                    import_output = attempt.import_output
                first = False
                if attempt.fault is not None:
                    fault = attempt.fault
                    break
                remaining = [c for c in remaining if c not in outcomes]
                if remaining and not attempt.started_any:
                    fault = Fault("crashed", "the process ended before any call was made")
                    break
        for case in request.inputs:
            if case not in outcomes:
                reason = fault.message if fault else "not run"
                outcomes[case] = CallOutcome(case, CallStatus.NOT_RUN, reason=reason)
        return RunResult(
            outcomes=outcomes,
            fault=fault,
            import_output=import_output,
            stdout=stdout.text(),
            stderr=stderr.text(),
            backend=self.name,
            seconds=time.monotonic() - started,
        )

    def _environment(self, work: Path) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(work),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # One thread: predictable timing, and BLAS buffers that fit the memory limit.
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }

    def _manifest(self, request: RunRequest, cases: list[str], event_fd: int) -> str:
        limits = request.limits
        cpu = int(limits.import_seconds + limits.seconds_per_case * len(cases)) + 1
        return json.dumps(
            {
                "event_fd": event_fd,
                "submission": str(request.submission),
                "display_name": request.submission.name,
                "entry": request.entry,
                "params": list(request.params),
                "cases": cases,
                "sys_path": self.sys_path,
                "limits": {
                    "memory_bytes": limits.memory_bytes,
                    "cpu_seconds": cpu,
                    "file_bytes": limits.file_bytes,
                    "output_chars": limits.output_chars,
                },
            }
        )

    def _attempt(
        self,
        request: RunRequest,
        cases: list[str],
        inputs: Path,
        work: Path,
        stdout: _Capped,
        stderr: _Capped,
    ) -> _Attempt:
        read_fd, write_fd = os.pipe()
        command = [self.python, "-I", "-S", "-B", "-c", _CHILD_SOURCE]
        try:
            with open(inputs, "rb") as stdin:
                proc = subprocess.Popen(
                    [*command, self._manifest(request, cases, write_fd)],
                    stdin=stdin,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    pass_fds=(write_fd,),
                    cwd=work,
                    env=self._environment(work),
                    start_new_session=True,
                )
        except OSError as exc:
            os.close(read_fd)
            raise SandboxError(
                f"cannot start {self.python}: {exc}", fix="Check the Python installation."
            ) from None
        finally:
            os.close(write_fd)
        try:
            return self._supervise(proc, request, cases, read_fd, stdout, stderr)
        finally:
            if proc.returncode is None:  # we are leaving on an exception of our own
                _kill_group(proc)
                proc.wait()
            os.close(read_fd)
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()
            proc.stderr.close()

    def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        request: RunRequest,
        cases: list[str],
        events_fd: int,
        stdout: _Capped,
        stderr: _Capped,
    ) -> _Attempt:
        limits = request.limits
        attempt = _Attempt()
        pending = list(cases)
        current: str | None = None
        done = False
        problem: str | None = None
        deadline = time.monotonic() + limits.import_seconds
        buffer = bytearray()
        assert proc.stdout is not None and proc.stderr is not None
        streams: dict[int, _Capped | None] = {
            events_fd: None,
            proc.stdout.fileno(): stdout,
            proc.stderr.fileno(): stderr,
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
                    while b"\n" in buffer and not done and problem is None:
                        line, _, rest = bytes(buffer).partition(b"\n")
                        buffer = bytearray(rest)
                        try:
                            current, done = self._on_event(line, attempt, pending, current)
                        except ProtocolError as exc:
                            problem = str(exc)
                        deadline = time.monotonic() + (
                            limits.seconds_per_case if current else limits.import_seconds
                        )
                    if len(buffer) > MAX_EVENT_BYTES:
                        problem = "an event line is too long"
            timed_out = not done and problem is None and bool(streams)
        _kill_group(proc)
        returncode = proc.wait()
        if done or attempt.fault is not None:
            return attempt
        if problem is not None:
            reason = f"the submission interfered with the grader's channel ({problem})"
            status = CallStatus.CRASHED
        elif timed_out:
            reason = (
                f"ran longer than {limits.seconds_per_case:g} s"
                if current
                else f"took longer than {limits.import_seconds:g} s to load"
            )
            status = CallStatus.TIMEOUT
        else:
            reason = _death_reason(returncode, limits.memory_bytes)
            status = CallStatus.CRASHED
        if current is not None:
            attempt.outcomes[current] = CallOutcome(current, status, reason=reason)
        elif not attempt.started_any:
            kind = "timeout" if status is CallStatus.TIMEOUT else "crashed"
            attempt.fault = Fault(kind, f"the submission could not be loaded: {reason}")
        else:
            # Died between calls: blame the next call, so that the run makes progress.
            nxt = pending[0] if pending else None
            if nxt is not None:
                attempt.outcomes[nxt] = CallOutcome(nxt, status, reason=reason)
        return attempt

    @staticmethod
    def _on_event(
        line: bytes, attempt: _Attempt, pending: list[str], current: str | None
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
            return None, False
        if not attempt.loaded:
            raise ProtocolError(f"{kind!r} before the submission was loaded")
        if kind == "start":
            if current is not None or not pending or event["case"] != pending[0]:
                raise ProtocolError("a call started out of order")
            attempt.started_any = True
            return pending[0], False
        if kind == "end":
            if current is None or event["case"] != current:
                raise ProtocolError("a call ended that was not running")
            attempt.outcomes[current] = parse_end(event, current)
            pending.pop(0)
            return None, False
        # done
        if current is not None or pending:
            raise ProtocolError("'done' before every call ended")
        return None, True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (same session and process group).

    Called only before the child is reaped, so its pid cannot have been reused.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

