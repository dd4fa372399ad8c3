"""Runs student code in another process and returns plain data; see protocol.py.

Knows nothing of exercises, references or expected values. Backends share one interface,
so a stronger one (bubblewrap namespaces, a warm fork server) slots in beside 'process'.
A backend starts a child as soon as it knows the submission (`start`), so the child's
Python and numpy load while the grader builds the cases; `Session.run` then sends them.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from grader.sandbox.process import ProcessBackend
from grader.sandbox.protocol import Inputs, Job, RunResult, SandboxLimits


class Session(Protocol):
    def run(self, inputs: Inputs) -> RunResult: ...

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


def default_backend() -> Backend:
    """The strongest backend this machine supports."""
    return ProcessBackend()


__all__ = [
    "Backend",
    "Inputs",
    "Job",
    "ProcessBackend",
    "RunResult",
    "SandboxLimits",
    "Session",
    "default_backend",
]
