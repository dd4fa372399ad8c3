"""Shared helpers: the repository, and `grade` run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str
    #: The grader's process id: what it names its cgroups after.
    pid: int = 0

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


GradeRunner = Callable[..., Completed]


def run_grade(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Completed:
    """`grade ARGS` in a fresh interpreter, as a user would run it."""
    # COLUMNS and LINES of the terminal running pytest would change how reports wrap; a
    # GRADER_STUDENT or a GITHUB_STEP_SUMMARY of the machine would change what runs write.
    dropped = ("NO_COLOR", "GRADER_COURSE", "COLUMNS", "LINES", "GRADER_STUDENT")
    dropped += ("GITHUB_STEP_SUMMARY",)
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env or {})
    with subprocess.Popen(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd or REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return Completed(proc.returncode, stdout, stderr, proc.pid)


@pytest.fixture
def grade() -> GradeRunner:
    return run_grade


def skip_without_bwrap(backend: str) -> None:
    """The bwrap and warm backends need bwrap: skipped, with the reason, where it fails."""
    if backend in ("bwrap", "warm"):
        from grader.sandbox import bwrap_problem

        problem = bwrap_problem(fresh=True)
        if problem is not None:
            pytest.skip(f"bwrap backend unavailable: {problem}")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


#: A course's quiz functions for the quiz tests: BCE and its misconceptions in plain Python.
QUIZ_SOLUTION = """\
import math


def bce(p, y):
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def bce_log2(p, y):
    return bce(p, y) / math.log(2)


def bce_minus(p, y):
    return -bce(p, y)


def mean_bce(ps, ys):
    return sum(bce(p, y) for p, y in zip(ps, ys, strict=True)) / len(ps)


def sum_bce(ps, ys):
    return sum(bce(p, y) for p, y in zip(ps, ys, strict=True))
"""
