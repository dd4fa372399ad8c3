"""The 'warm' backend: one bwrap sandbox per worker, whose server forks a child per run.

Starting Python and numpy costs 0.1-0.3 s; forking a process that has them loaded costs
about a millisecond. So a worker of `grade batch` keeps one sandbox (the bwrap backend's,
with the same namespaces, mounts and packages) holding a server that has imported numpy
and nothing of any submission (child.py, ``--serve``). For each run the grader hands it,
over a socket, the four pipe ends of a child (work in; events, stdout, stderr out) and the
child's manifest; the server forks, and the child runs exactly as a cold child does. The
grader supervises the child's pipes as for a cold child (process.py).

What submissions share, and why it is safe:
- The server's memory, copied on fork: it holds Python, numpy and the child program only
  (nothing of the grader, no expected value, no other submission); a child cannot write
  to it, and cannot ptrace it or read its /proc files (it is not dumpable).
- The sandbox's file system: read-only everywhere but the working directory, which the
  server empties after every child and the child finds empty. The session's directory of
  inputs (read-only inside) holds only the current submission and the current run's inputs.
- The PID namespace: after every child the server kills every other process in it (it is
  process 2, a subreaper; init is bwrap's) and reaps them, and the grader checks from
  outside that the sandbox's pids cgroup holds only bwrap and the server again.
- The IPC namespace: the server removes every System V shared memory segment, message
  queue and semaphore set after every child (POSIX ones would need /dev/shm or
  /dev/mqueue, which are read-only or absent). There is no network to share.
A child can still kill or stop the server (same uid). What it returned before counts (it
computed that itself); the grader throws the whole sandbox away and starts a new one for
the next run, as it does whenever the server reports or the cgroup shows anything left.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import SandboxError
from grader.sandbox import cgroup
from grader.sandbox.bwrap import IO_DIR, OWN_DIR, SITE_DIR, WORK_DIR, BwrapBackend
from grader.sandbox.cgroup import PidsCgroup
from grader.sandbox.layout import CHILD_SOURCE, Layout, package_entries
from grader.sandbox.protocol import Job
from grader.sandbox.supervisor import Child, cpu_seconds, descendants, lower_priority

#: How long the server may take to load numpy, and to report a child's end.
START_SECONDS = 30.0
END_SECONDS = 2.0
_MESSAGE_BYTES = 1 << 16


class _ServerLostError(Exception):
    """The server did not answer as it must: throw the sandbox away."""


class Server:
    """One sandbox and its warm server, for one set of importable packages."""

    def __init__(self, backend: WarmBackend, packages: tuple[str, ...]) -> None:
        self.packages = packages
        site = package_entries(packages)
        own = () if "numpy" in packages else backend.numpy
        io = backend.io
        layout = Layout(root=io, io=io, submission=io, cgroups=False, site=site, own=own)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        #: A child was released and the server's answer is not taken yet (see settle).
        self.pending = False
        config = {
            "control_fd": theirs.fileno(),
            "sys_path": [SITE_DIR, OWN_DIR] if own else [SITE_DIR],
            "work": WORK_DIR,
        }
        argv = [backend.python, "-I", "-S", "-B", "-c", CHILD_SOURCE, "--serve"]
        command = backend.command(layout, WORK_DIR, [*argv, json.dumps(config)])
        # The sandbox's own pids cgroup: bwrap, its init and the server, plus one child's.
        self.cgroup = PidsCgroup.create(cgroup.MAX_PIDS + 3) if cgroup.available() else None
        if self.cgroup is not None:
            command = self.cgroup.wrap(command)
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(theirs.fileno(),),
                env=backend.environment(WORK_DIR),
                start_new_session=True,
            )
            theirs.close()
            ready = self._receive(START_SECONDS)
            if ready.get("ev") != "ready" or ready.get("clean") is not True:
                raise _ServerLostError(f"unexpected first message {ready!r}")
            self.baseline = self._pids()
            #: The sandbox's own processes below bwrap (its init, the server) by host pid:
            #: the others below it are the child's (child_pids).
            self.own = set(descendants(self.proc.pid))
        except (OSError, _ServerLostError) as exc:
            detail = self._stderr()
            self.close()
            raise SandboxError(
                f"cannot start the warm sandbox: {exc}" + (f" ({detail})" if detail else ""),
                fix="Run 'grade doctor'; --sandbox bwrap grades without the warm engine.",
            ) from None
        finally:
            with contextlib.suppress(OSError):
                theirs.close()

    def _stderr(self) -> str:
        if self.proc is None or self.proc.stderr is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read(4000).decode("utf-8", "replace").strip()

    def _pids(self) -> int | None:
        return len(self.cgroup.pids()) if self.cgroup is not None else None

    def _receive(self, seconds: float) -> dict[str, object]:
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(_MESSAGE_BYTES)
        except (TimeoutError, OSError) as exc:
            raise _ServerLostError(f"no answer from the warm server: {exc}") from None
        if not data:
            raise _ServerLostError("the warm server ended")
        try:
            message = json.loads(data)
        except ValueError:
            raise _ServerLostError("a malformed message from the warm server") from None
        if not isinstance(message, dict):
            raise _ServerLostError("a malformed message from the warm server")
        return message

    def fork(self, manifest: dict[str, object], env: dict[str, str]) -> list[int]:
        """Fork a child of the server, running the cold child's program on this manifest:
        our ends of its stdin, stdout, stderr and event pipes."""
        pipes = [os.pipe() for _ in range(4)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
        request = json.dumps({"op": "run", "manifest": manifest, "env": env}).encode()
        try:
            socket.send_fds(self.sock, [request], theirs)
        except OSError as exc:
            for fd in ours:
                os.close(fd)
            raise _ServerLostError(f"cannot reach the warm server: {exc}") from None
        finally:
            for fd in theirs:
                os.close(fd)
        return ours

    def release_child(self) -> None:
        """Ask the server to end its child and clean up, without waiting for it: the
        grader judges the run meanwhile, and settle() takes the answer before anything of
        the next run is written where the sandbox can read it."""
        with contextlib.suppress(OSError):  # the server is gone: settle() finds out
            self.sock.send(b'{"op": "kill"}')
        self.pending = True

    def settle(self) -> bool:
        """Take the answer to release_child(), if one is due: whether the sandbox is as
        the next submission must find it."""
        if not self.pending:
            return True
        self.pending = False
        return self._answer()[1]

    def child_pids(self) -> list[int]:
        """The host pids of the running child and of what it started."""
        if self.proc is None:
            return []
        return [pid for pid in descendants(self.proc.pid) if pid not in self.own]

    def lower_child(self) -> list[int]:
        """Lower the running child's CPU priority (see supervisor.supervise). From here,
        by its host pids: at once (for a grader with privilege, as often as needed; the
        kernel lets a process without it change an autogroup ten times a second,
        machine-wide, and the sandbox has none); the pids lowered, to be raised back
        before the child is ended. Where they cannot be found, the server is asked (no
        answer comes), and it raises the child back itself."""
        pids = self.child_pids()
        if pids:
            for pid in pids:
                lower_priority(pid)
            return pids
        with contextlib.suppress(OSError):  # the server is gone: the next answer says so
            self.sock.send(b'{"op": "lower"}')
        return []

    def raise_child(self, pids: list[int]) -> None:
        """Undo lower_child before the child is ended: a process's exit runs at its own
        priority, and at the lowest, on busy cores, dying takes a third of a second."""
        for pid in pids:
            lower_priority(pid, 0)

    def end_child(self) -> tuple[int, bool]:
        """Ask the server to end its child (a no-op if it already ended): its exit status,
        and whether the sandbox is as the next submission must find it."""
        with contextlib.suppress(OSError):  # the server is gone: the answer below says so
            self.sock.send(b'{"op": "kill"}')
        return self._answer()

    def _answer(self) -> tuple[int, bool]:
        try:
            message = self._receive(END_SECONDS)
            status = message.get("status")
            if message.get("ev") != "exit" or type(status) is not int:
                raise _ServerLostError(f"unexpected message {message!r}")
        except _ServerLostError:
            return -signal.SIGKILL, False
        clean = message.get("clean") is True and self._pids() == self.baseline
        return status, clean

    def close(self) -> None:
        """End the sandbox and everything in it (safe to call twice)."""
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            if self.proc.stderr is not None:
                self.proc.stderr.close()
        if self.cgroup is not None:
            self.cgroup.remove()


def remove_tree(path: Path) -> None:
    """Remove a directory, trying again while something is still letting go of it."""
    for _ in range(50):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.02)


@dataclass
class WarmChild:
    """A forked child of the server, as a session drives it (see process.Child)."""

    backend: WarmBackend
    server: Server
    stdin: int
    stdout: int
    stderr: int
    events: int
    status: int | None = field(default=None)
    #: Host pids lowered from here (Server.lower_child), to be raised back before the end.
    lowered: list[int] = field(default_factory=list)

    def send_work(self, line: bytes) -> None:
        with contextlib.suppress(OSError):  # gone already: supervising it finds out why
            os.write(self.stdin, line)

    def close_stdin(self) -> None:
        if self.stdin >= 0:
            os.close(self.stdin)
            self.stdin = -1

    def lower(self) -> None:
        if self.status is None:
            self.lowered = self.server.lower_child()

    def cpu_seconds(self) -> float | None:
        if self.status is not None:
            return None
        return cpu_seconds(self.server.child_pids())

    def end(self) -> int:
        if self.status is None:
            self.server.raise_child(self.lowered)
            self.status, clean = self.server.end_child()
            if not clean:
                self.backend.discard(self.server)
        return self.status

    def close(self) -> None:
        if self.status is None:  # its status is not needed: do not wait for it
            self.status = -signal.SIGKILL
            self.server.raise_child(self.lowered)
            self.server.release_child()
        self.close_stdin()
        for fd in (self.stdout, self.stderr, self.events):
            with contextlib.suppress(OSError):
                os.close(fd)


class WarmBackend(BwrapBackend):
    """The bwrap backend with a warm server per set of packages; see the module docstring.
    One instance serves one run at a time (one per worker process)."""

    name = "warm"
    prestarts = False  # a fork is as quick as the run that needs it

    def __init__(self, parent: str | None = None) -> None:
        super().__init__()
        #: The sessions' directories (submission and inputs), bound read-only into every
        #: sandbox this backend starts: a session outlives a sandbox thrown away under it.
        self._parent = parent
        self._io: Path | None = None
        #: Inputs files written once and linked into a session's directory for each run
        #: (a class's runs all have the same inputs): never bound into a sandbox.
        self._store: Path | None = None
        self._stored: dict[int, tuple[bytes, Path]] = {}
        self.server: Server | None = None
        #: Sandboxes started so far (a new one after every discard): for tests and reports.
        self.started = 0

    # Made on first use: a backend asked only for its limitations leaves nothing behind.
    @property
    def io(self) -> Path:
        if self._io is None:
            self._io = Path(tempfile.mkdtemp(prefix="grader-warm-", dir=self._parent))
            self._io.chmod(0o755)
        return self._io

    @property
    def store(self) -> Path:
        if self._store is None:
            self._store = Path(tempfile.mkdtemp(prefix="grader-inputs-", dir=self._parent))
        return self._store

    def _server(self, packages: tuple[str, ...]) -> Server:
        if self.server is not None and self.server.packages != packages:
            self.discard(self.server)  # another exercise's packages: another sandbox
        if self.server is None:
            self.server = Server(self, packages)
            self.started += 1
        return self.server

    def settle(self) -> None:
        """Before anything of a new run is written where the sandbox can read it: the last
        child and everything it started are gone, or the sandbox is replaced."""
        if self.server is not None and not self.server.settle():
            self.discard(self.server)

    def discard(self, server: Server) -> None:
        if self.server is server:
            self.server = None
        server.close()

    def close(self) -> None:
        """End the sandbox and remove every file of the backend."""
        if self.server is not None:
            self.discard(self.server)
        for made in (self._io, self._store):
            if made is not None:
                remove_tree(made)
        self._io = self._store = None
        self._stored.clear()
        cgroup.remove_idle()

    def __enter__(self) -> WarmBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def place_inputs(self, path: Path, data: bytes) -> None:
        """A hard link to a stored copy instead of a new file of MBs for every run. Safe
        because every sandbox sees the session directories through a read-only bind: no
        child can change the one copy that all of them read."""
        stored = self._stored.get(id(data))
        if stored is None or stored[0] is not data:
            if len(self._stored) >= 8:
                _, old = self._stored.pop(next(iter(self._stored)))
                old.unlink(missing_ok=True)
            master = self.store / f"inputs-{len(self._stored)}-{secrets.token_hex(4)}.bin"
            super().place_inputs(master, data)
            stored = self._stored[id(data)] = (data, master)
        os.link(stored[1], path)

    def session_parent(self, job: Job) -> str | None:
        self.settle()  # the last submission's processes are gone before this one's file comes
        return str(self.io)

    def remove_session(self, root: Path) -> None:
        """What the grader made, by name: a session's directory is bound read-only into
        the sandbox, so nothing else is in it (root/io/ and its files); shutil.rmtree's
        walk cost a worker more than the rest of a session's files (0.4 ms a
        submission). Anything unexpected: the careful way."""
        try:
            io = root / "io"
            with os.scandir(io) as entries:
                for entry in entries:
                    os.unlink(entry.path)
            os.rmdir(io)
            os.rmdir(root)
        except OSError:
            super().remove_session(root)

    def inside(self, layout: Layout, host: Path) -> str:
        return str(Path(IO_DIR) / host.relative_to(self.io))

    def spawn(self, job: Job, layout: Layout) -> Child:
        manifest = self.manifest(job, layout, 3)
        # As a cold child has it: bwrap's --chdir sets PWD (and the server has it already,
        # so a child need not touch its environment at all).
        env = {**self.environment(WORK_DIR), "PWD": WORK_DIR}
        for attempt in range(2):  # a server found dead is replaced once
            self.settle()
            server = self._server(job.packages)
            try:
                fds = server.fork(manifest, env)
            except _ServerLostError as exc:
                self.discard(server)
                if attempt:
                    raise SandboxError(f"the warm sandbox failed: {exc}") from None
                continue
            stdin, stdout, stderr, events = fds
            return WarmChild(self, server, stdin, stdout, stderr, events)
        raise AssertionError("unreachable")
