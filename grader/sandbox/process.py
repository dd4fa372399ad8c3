"""The 'process' sandbox backend: one child Python per submission, restarted after a crash.

The child runs in a new session (its whole process group is killed at the end), in a fresh
temporary directory, with a scrubbed environment, isolated interpreter flags (-I -S -B),
rlimits on memory, CPU time, file size and core dumps, and a wall clock per call kept by
the grader. A call that hangs or kills the process fails that case; the child is started
again for the cases after it.

The child's import path holds exactly the packages the job allows (each a link in the
session's directory), and numpy, which the child needs itself, apart from them when the job
does not allow it: the child drops that directory from its path before loading the
submission (see child.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader import ONE_THREAD_ENV
from grader.errors import SandboxError
from grader.sandbox import cgroup
from grader.sandbox.cgroup import PidsCgroup
from grader.sandbox.events import HANGING_CALLS, Attempt, Capped, hung_after
from grader.sandbox.layout import CHILD_SOURCE, Layout, pack_inputs, package_entries
from grader.sandbox.protocol import (
    CallOutcome,
    CallStatus,
    Fault,
    Inputs,
    Job,
    RunResult,
    Stop,
    StopKind,
)
from grader.sandbox.supervisor import (
    Child,
    Clock,
    cpu_seconds,
    descendants,
    kill_group,
    lower_priority,
    supervise,
)

if TYPE_CHECKING:
    pass


@dataclass
class _Child:
    """A started child process, the read end of its event pipe, and its working directory."""

    proc: subprocess.Popen[bytes]
    events: int
    work: Path | None
    cgroup: PidsCgroup | None
    exit_status: Callable[[int], int]
    #: Its priority was lowered (see lower): raised back before it is killed.
    lowered: bool = False

    @property
    def stdout(self) -> int:
        assert self.proc.stdout is not None
        return self.proc.stdout.fileno()

    @property
    def stderr(self) -> int:
        assert self.proc.stderr is not None
        return self.proc.stderr.fileno()

    def send_work(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            # One short line: it fits the pipe buffer, so this never blocks.
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child is already gone; supervising it finds out why

    def lower(self) -> None:
        """Every process of the child (its cgroup's, or the child alone) to the lowest CPU
        priority, its session's autogroup included (where the kernel groups each session,
        a process's own nice value only orders it within its session)."""
        self.lowered = True
        for pid in self._pids():
            lower_priority(pid)

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self._pids())

    def _pids(self) -> list[int]:
        if self.cgroup is not None:
            return self.cgroup.pids()
        return [self.proc.pid, *descendants(self.proc.pid)]

    def end(self) -> int:
        if self.lowered:  # dying would take long at the lowest priority (lower_priority)
            for pid in self._pids():
                lower_priority(pid, 0)
        kill_group(self.proc)
        return self.exit_status(self.proc.wait())

    def close(self) -> None:
        if self.proc.returncode is None:
            kill_group(self.proc)
            self.proc.wait()
        if self.cgroup is not None:  # whatever left the process group, before the next child
            self.cgroup.remove()
        os.close(self.events)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(BrokenPipeError):
                    stream.close()
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)


#: When the grader runs as root, the process backend runs each session's submission as a
#: uid of its own from this range: it cannot write what root owns or raise its limits, and
#: RLIMIT_NPROC counts only its processes.
UID_RANGE = (61000, 64999)


def _open_to_others(path: Path) -> bool:
    """Whether any user can reach path (x on every ancestor) and read it."""
    try:
        target = path.resolve()
        for directory in (target, *target.parents):
            if not directory.stat().st_mode & stat.S_IXOTH and directory != target:
                return False
        return bool(target.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


class ProcessBackend:
    """Runs a submission in a child process with rlimits; see the module docstring."""

    name = "process"
    #: Whether the child is this process's own child in its PID namespace, and so can
    #: die with it (see child.py); a sandbox's child dies with the sandbox instead.
    direct_child = True

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        #: The child always needs numpy itself, whatever the submission may import.
        self.numpy = package_entries(("numpy",))

    def limitations(self) -> tuple[str, ...]:
        """What this backend cannot guarantee: reports show it."""
        notes = []
        if os.geteuid() == 0 and not self.drops_privileges:
            notes.append(
                "runs as root: Python's standard library is not readable by other users, "
                "so the submission cannot be given a uid of its own"
            )
        notes += [
            "no network isolation: the submission can open network connections",
            "no file-system isolation: the submission can read any file "
            + ("every user can read" if self.drops_privileges else "your user can read"),
            "no disk quota: the working directory is on the machine's disk",
        ]
        if not cgroup.available():
            notes += [
                "no process isolation: a process that leaves its process group can outlive the run",
                "no process count limit: a fork bomb is stopped only by the time limit",
            ]
        return tuple(notes)

    def close(self) -> None:
        """Nothing outlives a session of this backend; the run's idle cpu cgroup goes."""
        cgroup.remove_idle()

    def start(self, job: Job) -> ProcessSession:
        """Start the child now, so Python and numpy load while the caller builds inputs."""
        return ProcessSession(self, job)

    def run(self, job: Job, inputs: Inputs) -> RunResult:
        with self.start(job) as session:
            return session.run(inputs)

    # --- what a stronger backend changes -----------------------------------------------------

    def inside(self, layout: Layout, host: Path) -> str:
        """A path of the session as the child sees it."""
        return str(host)

    def sys_path(self, layout: Layout) -> list[str]:
        """The child runs with -S, so it sees no site-packages: hand it the job's packages
        alone, through a directory of the session's holding links to them, so that
        scikit-learn, torch or grader beside them in site-packages are not importable (as
        under bwrap); and numpy for the child's own use, when not among them, in another."""
        path = []
        for name, entries in (("site", layout.site), ("own", layout.own)):
            directory = layout.root / name
            if not directory.is_dir():
                directory.mkdir(mode=0o755)
                for link, target in entries:
                    (directory / link).symlink_to(target)
            if name == "site" or entries:
                path.append(str(directory))
        return path

    def make_work(self, layout: Layout) -> tuple[Path | None, str]:
        """A fresh working directory: (host path to remove afterwards, path in the child)."""
        work = Path(tempfile.mkdtemp(prefix="work-", dir=layout.root))
        if layout.uid is not None:
            os.chown(work, layout.uid, layout.uid)
        return work, str(work)

    @functools.cached_property
    def drops_privileges(self) -> bool:
        """Whether the child gives up root before importing the submission: only when
        another uid could still read Python's standard library and numpy (it cannot when
        Python lives in root's private home, as with pyenv under /root)."""
        if os.geteuid() != 0:
            return False
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        return all(_open_to_others(p) for p in (stdlib, *(path for _, path in self.numpy)))

    def command(self, layout: Layout, work: str, argv: list[str]) -> list[str]:
        return argv

    def status(self, returncode: int) -> int:
        """The child's exit status as Python reports it: negative for a signal."""
        return returncode

    def environment(self, work: str) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": work,
            "TMPDIR": work,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # One thread: predictable timing, and BLAS buffers that fit the memory limit.
            **ONE_THREAD_ENV,
        }

    # -----------------------------------------------------------------------------------------

    #: Whether a session starts its children ahead of its runs (see ProcessSession).
    prestarts = True

    def place_inputs(self, path: Path, data: bytes) -> None:
        """Put an inputs file where the session's child reads it."""
        path.write_bytes(data)
        path.chmod(0o644)

    def session_parent(self, job: Job) -> str | None:
        """Where a session's private directory is made (None: the system's temporary one)."""
        return None

    def remove_session(self, root: Path) -> None:
        """Remove a session's directory when it ends. A child of this backend may write
        in it (its work directory is there): shutil.rmtree's descriptor-based walk, safe
        against links swapped in while it removes."""
        shutil.rmtree(root, ignore_errors=True)

    def settle(self) -> None:
        """Before a run's inputs are written: every child ended so far is gone (a backend
        that ends children without waiting waits here)."""

    def manifest(self, job: Job, layout: Layout, event_fd: int) -> dict[str, object]:
        """What the child is told about the submission (never anything of the answers)."""
        limits = job.limits
        return {
            "event_fd": event_fd,
            "submission": self.inside(layout, layout.submission),
            "display_name": job.submission.name,
            "entry": job.entry,
            "params": list(job.params),
            "packages": list(job.packages),
            "sys_path": self.sys_path(layout),
            "uid": layout.uid,
            "parent": os.getpid() if self.direct_child else None,
            "limits": {
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "output_chars": limits.output_chars,
                "open_files": 256,
                "processes": cgroup.MAX_PIDS,
            },
        }

    def spawn(self, job: Job, layout: Layout) -> Child:
        host_work, work = self.make_work(layout)
        read_fd, write_fd = os.pipe()
        manifest = json.dumps(self.manifest(job, layout, write_fd))
        argv = [self.python, "-I", "-S", "-B", "-c", CHILD_SOURCE, manifest]
        group = PidsCgroup.create() if layout.cgroups else None
        try:
            command = self.command(layout, work, argv)
            if group is not None:
                command = group.wrap(command)
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                cwd=host_work or layout.root,
                env=self.environment(work),
                start_new_session=True,
            )
        except OSError as exc:
            os.close(read_fd)
            if group is not None:
                group.remove()
            if host_work is not None:
                shutil.rmtree(host_work, ignore_errors=True)
            raise SandboxError(
                f"cannot start the {self.name} sandbox: {exc}",
                fix="Run 'grade doctor' to see what this machine supports.",
            ) from None
        finally:
            os.close(write_fd)
        return _Child(proc, read_fd, host_work, group, self.status)


class ProcessSession:
    """One submission's run: a child started early, and restarted after a crash."""

    def __init__(self, backend: ProcessBackend, job: Job) -> None:
        self.backend = backend
        self.job = job
        self.started = time.monotonic()
        site = package_entries(job.packages)
        own = () if "numpy" in job.packages else backend.numpy
        root = Path(tempfile.mkdtemp(prefix="grader-", dir=backend.session_parent(job)))
        self._root: Path | None = root
        io = root / "io"
        io.mkdir()
        # The child reads a copy: it never learns where the student's file lives.
        submission = io / job.submission.name
        try:
            shutil.copyfile(job.submission, submission)
        except OSError as exc:
            self._remove()
            raise SandboxError(f"cannot copy {job.submission}: {exc}") from None
        for path, mode in ((root, 0o711), (io, 0o755), (submission, 0o644)):
            path.chmod(mode)
        uid = None
        if backend.drops_privileges:
            uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
        self.layout = Layout(
            root=root,
            io=io,
            submission=submission,
            cgroups=cgroup.available(),
            uid=uid,
            site=site,
            own=own,
        )
        self.root = root
        self._runs = 0
        self._budget_end: float | None = None
        #: Calls in a row, over all the session's runs, that ran out of time.
        self._hung = 0
        #: The child that ended the last run well, and the parameter names it reported:
        #: the next run goes to it (no new process) unless that run was quiet.
        self._live: tuple[Child, tuple[str, ...] | None] | None = None
        #: Children started ahead, loading Python and numpy while the caller prepares inputs:
        #: one for each run the job announces (job.runs).
        self._ready: list[Child] = []
        try:
            for _ in range(job.runs if backend.prestarts else 0):
                self._ready.append(backend.spawn(job, self.layout))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ProcessSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """End every child and remove every file of the run; safe to call twice."""
        if self._live is not None:
            self._live[0].close()
            self._live = None
        while self._ready:
            self._ready.pop().close()
        self._remove()

    def _remove(self) -> None:
        if self._root is not None:
            self.backend.remove_session(self._root)
            self._root = None

    def run(
        self,
        inputs: Inputs,
        seconds: Mapping[str, float] | None = None,
        *,
        quiet: bool = False,
        memory: Mapping[str, int] | None = None,
        patience: Mapping[str, float] | None = None,
    ) -> RunResult:
        """Call the submission on every input; `seconds` gives cases a wall limit of their
        own (default: the job's seconds_per_case), `memory` the bytes a call may add to
        the process's memory (default: only the job's memory_bytes, for the whole process),
        `patience` the seconds after which a call still running yields the cores to other
        work, its limit unchanged (default: never; see supervisor.supervise). Every run of
        a session draws on one time budget, limits.seconds_total: once it is spent, the
        calls left are not run.

        `quiet` throws away what the submission writes to the process's own stdout and
        stderr (os.write, C extensions): the caller cannot tell which call wrote it, and
        some inputs may be secret. print() output is captured per call either way."""
        job = self.job
        if self._budget_end is None:
            self._budget_end = time.monotonic() + job.limits.seconds_total
        budget_end = self._budget_end
        limit = {case: (seconds or {}).get(case, job.limits.seconds_per_case) for case in inputs}
        cap = job.limits.output_chars
        stdout, stderr = Capped(cap), Capped(cap)
        outcomes: dict[str, CallOutcome] = {}
        fault: Fault | None = None
        import_output = ""
        names: tuple[str, ...] | None = None
        if self._live is None:
            self.backend.settle()
        path = self.layout.io / f"inputs-{self._runs}.bin"
        self._runs += 1
        arrays = {
            f"{case}/{param}": array
            for case, args in inputs.items()
            for param, array in zip(job.params, args, strict=True)
        }
        self.backend.place_inputs(path, pack_inputs(arrays))
        inside = self.backend.inside(self.layout, path)
        remaining = list(inputs)
        first = True
        while remaining and time.monotonic() < budget_end and self._hung < HANGING_CALLS:
            kept, self._live = self._live, None
            if kept is not None:
                child, known = kept
            else:
                known = None
                child = self._ready.pop(0) if self._ready else self.backend.spawn(job, self.layout)
            try:
                attempt = self._attempt(
                    child,
                    remaining,
                    inside,
                    stdout,
                    stderr,
                    (limit, patience or {}),
                    budget_end,
                    quiet,
                    kept,
                    memory,
                )
            except BaseException:
                child.close()
                raise
            if attempt.lost:
                child.close()
                continue
            # A child that ran a quiet run may hold its (hidden) inputs: never reused.
            if attempt.reusable and not quiet:
                self._live = (child, attempt.param_names if kept is None else known)
            else:
                child.close()
            if kept is not None:
                attempt.param_names = known
            outcomes.update(attempt.outcomes)
            if first:
                import_output = attempt.import_output
                names = attempt.param_names
            first = False
            if attempt.fault is not None:
                fault = attempt.fault
                break
            remaining = [c for c in remaining if c not in outcomes]
            self._hung = hung_after(attempt, self._hung)
            if remaining and not attempt.started_any and time.monotonic() < budget_end:
                fault = Fault("crashed", "", stop=Stop(StopKind.EXIT))
                break
        # The inputs go as soon as the run is over: no later child (shrinking, the plot, the
        # next run) may read the inputs of this one.
        path.unlink(missing_ok=True)
        budget = Stop(StopKind.BUDGET, seconds=job.limits.seconds_total)
        if self._hung >= HANGING_CALLS:
            budget = Stop(StopKind.HANGING)
        for case in inputs:
            if case not in outcomes:
                stop = Stop(StopKind.NOT_LOADED) if fault else budget
                outcomes[case] = CallOutcome(case, CallStatus.NOT_RUN, stop=stop)
        return RunResult(
            outcomes=outcomes,
            fault=fault,
            import_output=import_output,
            stdout=stdout.text(),
            stderr=stderr.text(),
            backend=self.backend.name,
            seconds=time.monotonic() - self.started,
            param_names=names,
        )

    def _attempt(
        self,
        child: Child,
        cases: list[str],
        inputs: str,
        stdout: Capped,
        stderr: Capped,
        seconds: tuple[Mapping[str, float], Mapping[str, float]],
        budget_end: float,
        quiet: bool,
        kept: tuple[Child, tuple[str, ...] | None] | None,
        memory: Mapping[str, int] | None,
    ) -> Attempt:
        """One child's part of a run; `seconds`: each call's limit, and its patience."""
        limit, patience = seconds
        limits = self.job.limits
        # A safety net under the wall clocks, for every run the child may serve.
        cpu = int(limits.import_seconds + limits.seconds_total) + 1
        work: dict[str, object] = {
            "cases": cases,
            "inputs": inputs,
            "cpu_seconds": cpu,
            "quiet": quiet,
        }
        if memory:
            work["memory"] = {case: int(memory[case]) for case in cases if case in memory}
        child.send_work(json.dumps(work).encode() + b"\n")
        return supervise(
            child,
            Clock(limits.import_seconds, limit, budget_end, limits.seconds_total, patience),
            cases,
            stdout,
            stderr,
            kept=kept is not None,
        )
