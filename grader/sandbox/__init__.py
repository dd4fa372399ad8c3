"""Runs student code in another process and returns plain data; see protocol.py.

Knows nothing of exercises, references or expected values. Backends share one interface,
so a stronger one (bubblewrap namespaces, a warm fork server) slots in beside 'process'.
"""

from __future__ import annotations

from typing import Protocol

from grader.sandbox.process import ProcessBackend
from grader.sandbox.protocol import RunRequest, RunResult


class Backend(Protocol):
    name: str

    def run(self, request: RunRequest) -> RunResult: ...


def default_backend() -> Backend:
    """The strongest backend this machine supports."""
    return ProcessBackend()


__all__ = ["Backend", "ProcessBackend", "RunRequest", "RunResult", "default_backend"]
