"""Nothing outlives a batch: its forkserver, workers and sandboxes end with it, and a
later run ends what an older one left (see the note below).

Imported by the batch module, which the forkserver preloads first: a forkserver learns
here, at import, whose death must end it.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#
# A batch killed with SIGKILL cannot end what it started, and its processes would not end
# by themselves: every worker holds the write end of the forkserver's "alive" pipe (so the
# forkserver never sees its batch go), a busy worker never reads its empty task queue, and
# the resource tracker waits for all of them. So each ends with its parent, by Linux's
# parent-death signal, down the chain: the forkserver with the batch process, each worker
# with the forkserver, each sandbox with its worker (bwrap's --die-with-parent; the process
# backend's child sets it itself), and the resource tracker once none of them holds its
# pipe. The signal follows the thread that started a process: the batch's thread that runs
# run_batch, the forkserver's only thread, a worker's main thread; each lives as long as
# what it started must. What an older version left, or anything the signal missed, the
# next run ends (end_orphans).

#: In the environment of the batch's forkserver only: the batch process's pid, read (and
#: dropped) when the forkserver imports this module, the first it preloads.
PARENT_ENV = "GRADER_BATCH_PARENT"
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None) -> None:
    """SIGKILL this process when its parent dies, and end it now if the parent `parent`
    died before this could be set (it has been reparented). Linux only; elsewhere the
    next run's sweep is what ends a killed run's processes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def sweep_dead_runs() -> None:
    """Remove what runs killed with SIGKILL left (their directory; cgroups named after
    them; processes): only those whose process is gone, so never anything of a run going
    on beside."""
    from grader.sandbox import cgroup

    end_orphans()
    for path in Path(tempfile.gettempdir()).glob("grader-run-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            remove_run(path, pid)
    cgroup.remove_dead_runs(_alive)


#: A batch's forkserver (and its workers, forked from it) as /proc shows its command line:
#: the descriptors of its listener and of its "alive" pipe, then what it preloads.
#: Both names this module has had (grader.batch before the package layout): an older version's
#: leftovers are ended too.
_FORKSERVER = re.compile(
    rb"from multiprocessing\.forkserver import main; main\((\d+), (\d+), "
    rb"\[[^\]]*'grader\.(?:classroom\.)?batch'"
)


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    started: int  # clock ticks after boot: with the pid, names one process for good
    uid: int
    cmdline: bytes


def end_orphans() -> list[int]:
    """End every batch forkserver whose batch is gone, and every process under it (its
    workers, their sandboxes): what a batch killed before it could end them left, whatever
    version it was. A forkserver's batch, its parent, holds the write end of its "alive"
    pipe for as long as the batch lives; a forkserver whose parent does not (it was
    reparented: its batch died) is an orphan. A forkserver of a run going on beside, and
    that run's workers (the forkserver's children: judged by it), are never touched. Only
    this user's forkservers in this PID namespace are looked at. The pids ended."""
    procs = _processes()
    uid = os.getuid()
    ended = []
    for proc in procs.values():
        match = _FORKSERVER.search(proc.cmdline)
        if match is None or proc.uid != uid or proc.ppid == 0:
            continue  # not a forkserver of ours (ppid 0: started from outside this namespace)
        parent = procs.get(proc.ppid)
        if parent is not None and parent.cmdline == proc.cmdline:
            continue  # a worker: judged by its forkserver
        pipe = _fd_target(proc.pid, int(match[2]))
        if pipe is None or not pipe.startswith("pipe:"):
            continue  # gone meanwhile, or not as a forkserver is: left alone
        if pipe in _fd_targets(proc.ppid):  # (another user's init, say: none readable)
            continue  # its batch is alive
        for pid in _tree(procs, proc.pid):
            if _kill(procs[pid]):
                ended.append(pid)
    return ended


def _processes() -> dict[int, _Proc]:
    """The living processes of this PID namespace that /proc shows us."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return {}
    found = {}
    for entry in entries:
        try:
            uid = os.stat(f"/proc/{entry}").st_uid
            if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                continue
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if fields[0] in (b"Z", b"X"):
            continue  # dead already, only not reaped
        found[int(entry)] = _Proc(int(entry), int(fields[1]), int(fields[19]), uid, cmdline)
    return found


def _fd_target(pid: int, fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def _fd_targets(pid: int) -> set[str]:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    return {t for fd in fds if fd.isdigit() and (t := _fd_target(pid, int(fd))) is not None}


def _tree(procs: dict[int, _Proc], root: int) -> list[int]:
    """root and every process under it, parents first."""
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    order, index = [root], 0
    while index < len(order):
        order += children.get(order[index], [])
        index += 1
    return order


def _kill(proc: _Proc) -> bool:
    """SIGKILL the process `proc` names, if it is still that process (not a new one that
    took its pid meanwhile): through a pidfd, which cannot come to name another."""
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:
        return False
    try:
        with open(f"/proc/{proc.pid}/stat", "rb") as handle:
            started = int(handle.read().rsplit(b")", 1)[1].split()[19])
        if started != proc.started:
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_run(run_dir: Path, token: str) -> None:
    """What this run's workers may have left (one killed mid-run cannot clean up): its
    directory and its cgroups, tried again while they are still being let go of."""
    from grader.sandbox import cgroup
    from grader.sandbox.warm import remove_tree

    cgroup.remove_run(token)
    remove_tree(run_dir)


# A batch's forkserver, importing this before it forks any worker: it ends with the batch.
_batch_pid = os.environ.pop(PARENT_ENV, "")
if _batch_pid.isdigit() and "multiprocessing.forkserver" in sys.modules:
    die_with_parent(int(_batch_pid))
