"""The 'bwrap' sandbox backend: the process backend inside bubblewrap namespaces.

The child gets new user, PID, network, IPC, UTS and cgroup namespaces; it sees a read-only
Python installation (without its site-packages), the packages the job allows (and numpy,
which the child itself needs, apart from them when the job does not allow it), its own copy
of the submission and inputs, and a size-limited tmpfs as working directory, the only place
it can write: nothing of the project tree, the grader, the references or the machine's
files. Every process it starts dies with the PID namespace when the run ends
(--die-with-parent, and the grader kills bwrap itself).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from grader.sandbox import cgroup
from grader.sandbox.layout import Layout
from grader.sandbox.process import ProcessBackend

#: Where things are inside the sandbox.
IO_DIR = "/sandbox/io"
#: The packages the submission may import.
SITE_DIR = "/sandbox/site"
#: numpy for the child's own use, when the submission may not import it (Layout.own).
OWN_DIR = "/sandbox/own"
WORK_DIR = "/sandbox/work"
#: The working directory is a tmpfs of this size: a submission cannot fill the disk.
WORK_BYTES = 64 * 1024 * 1024
#: The uid and gid inside the user namespace.
NOBODY = 65534


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _python() -> tuple[Path, Path]:
    """The real interpreter (not a venv's link) and the installation it belongs to."""
    prefix = Path(sys.base_prefix).resolve()
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (prefix / "bin" / version, Path(sys.executable).resolve()):
        if candidate.is_file() and prefix in candidate.resolve().parents:
            return candidate.resolve(), prefix
    return Path(sys.executable).resolve(), prefix


def _system_mounts() -> list[str]:
    """/usr read-only, and /bin, /lib... as on the host (links on merged-/usr systems)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


class BwrapBackend(ProcessBackend):
    name = "bwrap"

    def __init__(self) -> None:
        python, self.prefix = _python()
        super().__init__(str(python))
        found = bwrap_path()
        if found is None:
            raise FileNotFoundError("bwrap is not installed")
        self.bwrap = found

    #: The user namespace already makes the child uid 65534 without capabilities.
    drops_privileges = False
    #: The child runs under the sandbox's init, and dies with it (--die-with-parent).
    direct_child = False

    def limitations(self) -> tuple[str, ...]:
        if cgroup.available() or os.geteuid() != 0:
            return ()
        # As root, the sandbox's uid maps to root outside, where RLIMIT_NPROC does not apply.
        return ("no process count limit: a fork bomb is stopped only by the time limit",)

    def inside(self, layout: Layout, host: Path) -> str:
        return str(Path(IO_DIR) / host.relative_to(layout.io))

    def sys_path(self, layout: Layout) -> list[str]:
        return [SITE_DIR, OWN_DIR] if layout.own else [SITE_DIR]

    def make_work(self, layout: Layout) -> tuple[Path | None, str]:
        return None, WORK_DIR  # a tmpfs of the sandbox: nothing to remove on the host

    def status(self, returncode: int) -> int:
        # bwrap exits with 128 + n when the sandboxed process was killed by signal n.
        if 128 < returncode < 128 + 65:
            return -(returncode - 128)
        return returncode

    def command(self, layout: Layout, work: str, argv: list[str]) -> list[str]:
        stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
        # The installation's own site-packages may hold grader itself: hidden. A system
        # Python (Debian's) has none there (its packages are in dist-packages, which -S
        # leaves out): bwrap could not make one under the read-only /usr.
        own_site = stdlib / "site-packages"
        hide = ["--tmpfs", str(own_site)] if own_site.is_dir() else []
        args = [
            self.bwrap,
            "--unshare-all",
            "--unshare-user",
            "--uid",
            str(NOBODY),
            "--gid",
            str(NOBODY),
            "--disable-userns",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            *_system_mounts(),
            "--ro-bind",
            str(self.prefix),
            str(self.prefix),
            *hide,
            # Created even when empty: the path the child is given exists.
            "--dir",
            SITE_DIR,
        ]
        for directory, entries in ((SITE_DIR, layout.site), (OWN_DIR, layout.own)):
            for name, host in entries:
                args += ["--ro-bind", str(host), f"{directory}/{name}"]
        args += [
            "--ro-bind",
            str(layout.io),
            IO_DIR,
            "--size",
            str(WORK_BYTES),
            "--tmpfs",
            WORK_DIR,
            "--proc",
            "/proc",
            # An empty /dev: no device node of the host. The sandbox's uid is the host's
            # root when the grader runs as root, so a bound /dev/null or /dev/urandom could
            # have its mode changed on the host (a read-only bind would make it unusable).
            # Python and numpy need none (random numbers come from getrandom()).
            "--tmpfs",
            "/dev",
            # Nothing is writable but the working directory: not the sandbox's root or
            # /dev, where a submission could leave files for the next run of a warm sandbox.
            "--remount-ro",
            "/dev",
            *(["--remount-ro", str(own_site)] if hide else []),
            "--remount-ro",
            "/",
            "--chdir",
            work,
            "--",
            *argv,
        ]
        return args


@functools.lru_cache(maxsize=1)
def probe() -> str | None:
    """Why bwrap cannot run here, or None when a trial sandbox ran Python with numpy."""
    if sys.platform != "linux":
        return "bubblewrap needs Linux"
    if bwrap_path() is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    backend = BwrapBackend()
    with_numpy = f"import sys; sys.path.append({SITE_DIR!r}); import numpy"
    io = Path(os.environ.get("TMPDIR", "/tmp"))
    layout = Layout(root=io, io=io, submission=io, cgroups=False, site=backend.numpy)
    command = backend.command(layout, WORK_DIR, [backend.python, "-I", "-S", "-c", with_numpy])
    try:
        proc = subprocess.run(
            command, capture_output=True, timeout=30, check=False, env={"PATH": "/usr/bin:/bin"}
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return "bwrap cannot create the sandbox here: " + (detail[-1] if detail else "no output")
    return None
