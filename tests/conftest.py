"""Shared helpers: the repository; `grade` run as a real subprocess, isolated from the
developer's settings and cache; the one bwrap skip (the `bwrap` marker); golden files."""

from __future__ import annotations

import atexit
import difflib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
GOLDENS = Path(__file__).resolve().parent / "goldens"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite the golden reports under tests/goldens/ from this run instead of "
        "comparing with them (then read the diff before committing it).",
    )


@functools.cache
def _bwrap_problem() -> str | None:
    """Asked once per session (per xdist worker): a trial sandbox costs about 0.1 s."""
    from grader.sandbox import bwrap_problem

    return bwrap_problem(fresh=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The one skip for bwrap: a test marked `bwrap` (or run on a `backends()` parameter that
    needs it) is skipped, with the reason, where this machine cannot run bwrap; before any of
    its fixtures is set up, so a module fixture that grades on bwrap never runs either."""
    if item.get_closest_marker("bwrap") is not None:
        problem = _bwrap_problem()
        if problem is not None:
            pytest.skip(f"bwrap backend unavailable: {problem}")


def backends(*names: str) -> list[Any]:
    """Parameters for a test or fixture run on several sandbox backends: bwrap and warm carry
    the `bwrap` marker, so `-m "not bwrap"` leaves them out and they skip where bwrap fails."""
    return [
        pytest.param(name, marks=pytest.mark.bwrap) if name in ("bwrap", "warm") else name
        for name in names
    ]


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

#: What a developer's shell may hold that would change what a `grade` run under test does:
#: COLUMNS and LINES change how reports wrap, NO_COLOR their colour, GITHUB_STEP_SUMMARY
#: what a run writes; every GRADER_* setting (course, student, sandbox, cache, debug) is
#: dropped too, by its prefix.
_DROPPED = ("NO_COLOR", "COLUMNS", "LINES", "GITHUB_STEP_SUMMARY")


@functools.cache
def session_cache_home() -> Path:
    """XDG_CACHE_HOME of every `grade` run of this session (one per xdist worker): the
    validated-exercise cache and the bwrap verdict start empty, and none of the developer's
    own cache (~/.cache/grader) is read or written. Removed when the session ends."""
    path = Path(tempfile.mkdtemp(prefix="grader-tests-cache-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def isolated_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `grade` (or `pytest --grade`) run under test: this machine's,
    without the settings above, with the session's own cache directory; then `env`, so a
    test that means to set GRADER_SANDBOX or XDG_CACHE_HOME passes it here."""
    environment = {
        k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith("GRADER_")
    }
    environment["XDG_CACHE_HOME"] = str(session_cache_home())
    environment.update(env or {})
    return environment


def run_grade(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Completed:
    """`grade ARGS` in a fresh interpreter, as a user would run it."""
    with subprocess.Popen(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd or REPO,
        env=isolated_environment(env),
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


Normaliser = tuple[str, str]


def normalise(text: str, replacements: Iterable[Normaliser]) -> str:
    """`text` with each regex (multiline) replaced in turn."""
    for pattern, replacement in replacements:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return text


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """`golden("exercise/text.txt", text)`: `text` must be tests/goldens/exercise/text.txt
    whole, or the test fails showing the unified diff; with `pytest --update-goldens` the
    file is rewritten from `text` instead (otter-grader's convention): review its diff."""
    update = bool(request.config.getoption("--update-goldens"))

    def check(name: str, text: str) -> None:
        path = GOLDENS / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        if not path.exists():
            pytest.fail(f"no golden tests/goldens/{name}: write it with --update-goldens")
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"tests/goldens/{name}",
                tofile="this run, normalised",
            )
            pytest.fail(
                f"tests/goldens/{name} differs (if the change is meant, rewrite it with "
                f"pytest --update-goldens and review the diff):\n{''.join(diff)}",
                pytrace=False,
            )

    return check


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
