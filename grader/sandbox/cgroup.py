"""A pids cgroup per session, where the grader may create one (as root, cgroup v1 or v2).

It bounds how many processes and threads a submission can have at once (a fork bomb
stops at the limit instead of filling the machine), and it knows every process the
submission started, even one that left its process group or session, so that all of them
are killed when the run ends. Where no cgroup can be made, sessions run without one and
the backend says what that costs (see ProcessBackend.limitations).

Also an idle cpu cgroup per run (cgroup v1's cpu hierarchy, as root): a call that yields
the cores (supervisor.lower_priority) runs there only when nothing else wants a core.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path

#: Processes and threads a submission may have at once, the Python child included.
MAX_PIDS = 64
_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
#: cgroup v1's cpu hierarchy. (Under v2 a process has one cgroup for every controller:
#: moving it would take it out of its pids cgroup, so v2 keeps to autogroup priorities.)
_CPU_ROOT = Path("/sys/fs/cgroup/cpu")


#: Names this process's cgroups: grader-<run>-<random>. A batch sets one run for all its
#: workers, so that it can remove what a worker killed mid-run left (remove_run).
_run = str(os.getpid())


def set_run(token: str) -> None:
    global _run
    _run = token


def remove_run(token: str) -> None:
    """Remove every cgroup of the run `token` (and nothing of any other run)."""
    for root in (*_ROOTS, _cpu_home()):
        for path in root.glob(f"grader-{token}-*"):
            PidsCgroup(path).remove()


def remove_dead_runs(alive: Callable[[int], bool]) -> None:
    """Remove the cgroups of runs whose process is gone (killed before it could)."""
    for root in (*_ROOTS, _cpu_home()):
        for path in root.glob("grader-*-*"):
            run = path.name.split("-")[1]
            if run.isdigit() and not alive(int(run)):
                PidsCgroup(path).remove()


class PidsCgroup:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_pids: int = MAX_PIDS) -> PidsCgroup | None:
        """A new cgroup limited to max_pids tasks, or None where the machine forbids it."""
        for root in _ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            path = root / f"grader-{_run}-{secrets.token_hex(4)}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_pids))
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
                continue
            return cls(path)
        return None

    def wrap(self, argv: list[str]) -> list[str]:
        """argv, started inside the cgroup: a shell joins it, then becomes argv by exec."""
        procs = self.path / "cgroup.procs"
        script = f'echo $$ > "{procs}" && exec "$@"'
        return ["/bin/sh", "-c", script, "grader-sandbox", *argv]

    def pids(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroup until none is left (a fork bomb may still be
        forking between rounds; the pids limit keeps each round small)."""
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(100):  # killed processes leave the cgroup once reaped
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.01)


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether this process can give sessions a pids cgroup (tried once, then remembered)."""
    group = PidsCgroup.create()
    if group is None:
        return False
    group.remove()
    return True


#: Processes moved to the idle group, and the cpu cgroup each came from.
_moved: dict[int, Path] = {}


def _idle_group() -> Path | None:
    """This run's idle cpu cgroup (made on first use, shared by a batch's workers), or
    None where none can be made. An idle group's processes run only on cores that nothing
    else wants, and anything that wakes takes a core from them at once: a call that hangs
    in a class waits out its limit without slowing anyone (the lowest nice value, alone,
    still gave such calls 10-20 % of a busy core: the moments between other processes'
    work)."""
    path = _cpu_home() / f"grader-{_run}-idle"
    if path.is_dir():
        return path
    try:
        path.mkdir()
    except FileExistsError:
        return path
    except OSError:
        return None
    # cpu.idle since Linux 5.15; before it, the smallest weight there is.
    for name, value in (("cpu.idle", "1"), ("cpu.shares", "2")):
        with contextlib.suppress(OSError):
            (path / name).write_text(value)
            return path
    with contextlib.suppress(OSError):
        path.rmdir()
    return None


def _cpu_home() -> Path:
    """The cpu cgroup this process is in: its runs' idle groups go inside it, so that the
    CPU limits of a container the grader runs in still hold for what it lowers."""
    return _cpu_group(os.getpid()) or _CPU_ROOT


def _cpu_group(pid: int) -> Path | None:
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, where = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return _CPU_ROOT / where.strip().lstrip("/")
    return None


def to_idle(pid: int) -> None:
    """Best effort: pid into this run's idle cpu cgroup (see _idle_group)."""
    group = _idle_group()
    before = _cpu_group(pid) if group is not None else None
    if group is None or before is None or before == group:
        return
    try:
        (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        return
    _moved[pid] = before


def from_idle(pid: int) -> None:
    """pid back where it was before to_idle: a process's exit runs at its own priority."""
    before = _moved.pop(pid, None)
    if before is not None:
        with contextlib.suppress(OSError):
            (before / "cgroup.procs").write_text(str(pid))


def remove_idle() -> None:
    """Remove this run's idle group if no process is left in it (a batch's other workers
    may still use it: the batch removes it at the end, with the run's other cgroups)."""
    with contextlib.suppress(OSError):
        (_cpu_home() / f"grader-{_run}-idle").rmdir()
