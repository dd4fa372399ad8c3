"""A pids cgroup per session, where the grader may create one (as root, cgroup v1 or v2).

It bounds how many processes and threads a submission can have at once (a fork bomb
stops at the limit instead of filling the machine), and it knows every process the
submission started, even one that left its process group or session, so that all of them
are killed when the run ends. Where no cgroup can be made, sessions run without one and
the backend says what that costs (see ProcessBackend.limitations).
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


#: Names this process's cgroups: grader-<run>-<random>. A batch sets one run for all its
#: workers, so that it can remove what a worker killed mid-run left (remove_run).
_run = str(os.getpid())


def set_run(token: str) -> None:
    global _run
    _run = token


def remove_run(token: str) -> None:
    """Remove every cgroup of the run `token` (and nothing of any other run)."""
    for root in _ROOTS:
        for path in root.glob(f"grader-{token}-*"):
            PidsCgroup(path).remove()


def remove_dead_runs(alive: Callable[[int], bool]) -> None:
    """Remove the cgroups of runs whose process is gone (killed before it could)."""
    for root in _ROOTS:
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
