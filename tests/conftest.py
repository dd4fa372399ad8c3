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

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


GradeRunner = Callable[..., Completed]


def run_grade(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Completed:
    """`grade ARGS` in a fresh interpreter, as a user would run it."""
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GRADER_COURSE")}
    environment.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd or REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def grade() -> GradeRunner:
    return run_grade


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
