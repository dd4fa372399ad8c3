"""Runs student code in another process and returns plain data; see protocol.py.

Knows nothing of exercises, references or expected values. Backends share one interface:
'bwrap' (bubblewrap namespaces) where it works, else 'process' (rlimits and a process
group). A backend starts a child as soon as it knows the submission (`start`), so the
child's Python and numpy load while the grader builds the cases; `Session.run` sends them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from grader.errors import SandboxError
from grader.sandbox.protocol import Inputs, Job, RunResult, SandboxLimits

ENV_VAR = "GRADER_SANDBOX"


@dataclass(frozen=True)
class BackendKind:
    """One way to run a submission, and what it needs."""

    name: str
    #: "module:Class" of the backend; imported only when chosen.
    factory: str
    #: Runs inside bubblewrap: chosen only where bwrap works (or asked for, and refused).
    needs_bwrap: bool
    help: str


#: Every backend, strongest first. Adding one: a module with the class, and an entry here.
#: Each module is imported only when its backend is chosen: the CLI reads this table to
#: offer --sandbox, and must not pay for loading a sandbox at start.
BACKENDS: dict[str, BackendKind] = {
    b.name: b
    for b in (
        BackendKind(
            "bwrap",
            "grader.sandbox.bwrap:BwrapBackend",
            True,
            "bubblewrap namespaces, a fresh sandbox per submission",
        ),
        BackendKind(
            "warm",
            "grader.sandbox.warm:WarmBackend",
            True,
            "bwrap's sandbox kept warm, a forked process per submission",
        ),
        BackendKind(
            "process",
            "grader.sandbox.process:ProcessBackend",
            False,
            "a process with rlimits (no file-system or network isolation)",
        ),
    )
}
#: What --sandbox accepts: a backend, or 'auto'.
CHOICES = ("auto", *BACKENDS)


class Session(Protocol):
    def run(
        self,
        inputs: Inputs,
        seconds: Mapping[str, float] | None = None,
        *,
        quiet: bool = False,
        memory: Mapping[str, int] | None = None,
        patience: Mapping[str, float] | None = None,
    ) -> RunResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Session: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Backend(Protocol):
    name: str

    def start(self, job: Job) -> Session: ...

    def limitations(self) -> tuple[str, ...]: ...

    def close(self) -> None:
        """End what the backend keeps between sessions (the warm engine's sandbox)."""
        ...


@dataclass(frozen=True)
class Availability:
    name: str
    #: None when the backend works here, else why not.
    problem: str | None


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grader" / "sandbox.json"


def _machine_key() -> str:
    """What the bwrap verdict depends on; a change of any of it asks bwrap again."""
    from grader.sandbox.bwrap import bwrap_path

    found = bwrap_path()
    stamp = os.stat(found).st_mtime_ns if found else 0
    parts = [str(found), str(stamp), sys.executable, sys.version, os.uname().release]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def bwrap_problem(*, fresh: bool = False) -> str | None:
    """Why bwrap cannot be used here (None: it can). A trial sandbox costs about 0.1 s,
    so its verdict is kept in the user's cache directory until the machine changes."""
    from grader.sandbox.bwrap import probe

    key = _machine_key()
    cache = _cache_file()
    if not fresh:
        try:
            saved = json.loads(cache.read_text("utf-8"))
            if saved.get("key") == key:
                problem = saved.get("problem")
                return problem if isinstance(problem, str) else None
        except (OSError, ValueError, AttributeError):
            pass
    problem = probe()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "problem": problem}), "utf-8")
    except OSError:
        pass  # no cache: the next run asks again
    return problem


def availability(*, fresh: bool = False) -> list[Availability]:
    return [Availability("bwrap", bwrap_problem(fresh=fresh)), Availability("process", None)]


def resolve(choice: str | None = None, *, many: bool = False) -> str:
    """The backend a choice names, 'auto' decided here and only here: the strongest that
    works on this machine, for one submission (bwrap) or for many (warm: a class, whose
    submissions share the sandbox's start-up); asking for one that cannot run is an
    error, never a silent fallback. None: $GRADER_SANDBOX, else auto."""
    choice = choice or os.environ.get(ENV_VAR) or "auto"
    if choice not in CHOICES:
        raise SandboxError(f"unknown sandbox {choice!r}", fix=f"Use one of: {', '.join(CHOICES)}.")
    if choice != "auto" and not BACKENDS[choice].needs_bwrap:
        return choice
    problem = bwrap_problem()
    if problem is None:
        return ("warm" if many else "bwrap") if choice == "auto" else choice
    if choice != "auto":
        raise SandboxError(
            f"the {choice} sandbox was asked for, but {problem}",
            fix="Run 'grade doctor' for details, or use --sandbox process.",
        )
    return "process"


def get_backend(choice: str | None = None, *, many: bool = False) -> Backend:
    """The backend asked for ('auto' or None: the strongest that works here). The caller
    owns it: close() it (contextlib.closing) when done."""
    import importlib

    module, name = BACKENDS[resolve(choice, many=many)].factory.split(":")
    backend: Backend = getattr(importlib.import_module(module), name)()
    return backend


__all__ = [
    "BACKENDS",
    "CHOICES",
    "Availability",
    "Backend",
    "BackendKind",
    "Inputs",
    "Job",
    "RunResult",
    "SandboxLimits",
    "Session",
    "availability",
    "get_backend",
    "resolve",
]
