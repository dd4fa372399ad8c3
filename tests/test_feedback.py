"""What a student reads, through the CLI: warnings, one voice per case, whole sentences for
hidden cases, import problems explained, a time budget, and the order of the text report."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SUBMISSIONS, GradeRunner, write
from grader.exercise.prepare import call_seconds
from grader.exercise.spec import load_exercise

ANSI = re.compile(r"\x1b\[[0-9;]*m")

SWAPPED_NAMES_MSE = """\
import numpy as np


def mean_squared_error(y_pred, y_true):
    return float(np.mean((y_pred - y_true) ** 2))
"""

SWAPPED_BCE = """\
import numpy as np


def binary_cross_entropy(y_pred, y_true):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
"""

LEAKY = """\
import numpy as np


def mean_squared_error(y_true, y_pred):
    print("ROWS:" + str(len(y_true)))
    raise ValueError("N=" + str(len(y_true)))
"""


def _tests(report: dict[str, Any], visibility: str) -> list[dict[str, Any]]:
    return [t for t in report["tests"] if t["visibility"] == visibility]


# --- parameter names ---------------------------------------------------------------------------


@pytest.mark.slow
def test_parameters_named_in_another_order_cost_nothing_and_warn_in_every_format(
    grade: GradeRunner, tmp_path: Path
) -> None:
    path = write(tmp_path / "mse.py", SWAPPED_NAMES_MSE)
    md, html = tmp_path / "r.md", tmp_path / "r.html"
    text = grade("ex04", "--file", str(path), "--seed", "3", "--report", str(md))
    assert text.returncode == 0, text.stdout
    warning = "your parameters are named (y_pred, y_true); the grader passes y_true first"
    assert warning in " ".join(text.stdout.split())
    report = grade("ex04", "--file", str(path), "--format", "json", "--report", str(html)).json()
    assert report["score"] == report["max_score"]
    assert report["diagnosis"] is None
    assert any(warning in w for w in report["warnings"])
    assert warning in " ".join(md.read_text().split())
    assert "your parameters are named (y_pred, y_true)" in html.read_text()


@pytest.mark.slow
def test_parameters_used_the_wrong_way_round_lose_points_and_are_diagnosed(
    grade: GradeRunner, tmp_path: Path
) -> None:
    path = write(tmp_path / "bce.py", SWAPPED_BCE)
    report = grade("ex01", "--file", str(path), "--format", "json", "--seed", "3").json()
    assert report["score"] < report["max_score"]
    assert [m["id"] for m in report["diagnosis"]["mistakes"]] == ["swapped_args"]
    assert report["warnings"], "the names say it too"


@pytest.mark.slow
def test_statement_names_give_no_warning(grade: GradeRunner) -> None:
    path = SUBMISSIONS / "ex04" / "good_vectorised.py"
    report = grade("ex04", "--file", str(path), "--format", "json").json()
    assert report["warnings"] == []


# --- imports -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "package"),
    [
        (
            "from sklearn.metrics import log_loss\n\ndef binary_cross_entropy(y_true, y_pred):\n"
            "    return log_loss(y_true, y_pred)\n",
            "scikit-learn",
        ),
        (
            "def binary_cross_entropy(y_true, y_pred):\n    import torch\n    return 0.0\n",
            "PyTorch",
        ),
    ],
)
def test_an_unavailable_package_is_explained_not_just_named(
    grade: GradeRunner, tmp_path: Path, source: str, package: str
) -> None:
    path = write(tmp_path / "ex01.py", source)
    result = grade("ex01", "--file", str(path), "--seed", "1")
    assert result.returncode == 1
    flat = " ".join(result.stdout.split())
    assert f"{package} is not available here" in flat
    assert "only Python's standard library and numpy" in flat
    assert "written by hand" in flat
    assert "fix the error shown" not in flat


# --- hidden cases ------------------------------------------------------------------------------


@pytest.mark.slow
def test_hidden_cases_read_whole_sentences_and_show_no_data(
    grade: GradeRunner, tmp_path: Path
) -> None:
    path = SUBMISSIONS / "ex04" / "bad_returns_array.py"
    report = grade("ex04", "--file", str(path), "--format", "json", "--seed", "2").json()
    hidden = _tests(report, "hidden")
    assert hidden
    for test in hidden:
        assert test["details"]["message"] == "returned an array, not one real number"
        assert test["details"]["inputs"] is None
    leaky = write(tmp_path / "leaky.py", LEAKY)
    report = grade("ex04", "--file", str(leaky), "--format", "json", "--seed", "2").json()
    for test in _tests(report, "hidden"):
        assert not re.search(r"ROWS:\d|N=\d", test["output"])
        assert test["details"]["printed"] == ""
        assert test["details"]["message"].startswith("raised ValueError (")
        assert test["details"]["message"].endswith("is not shown)")
    visible = _tests(report, "visible")
    assert all(re.search(r"N=\d", t["details"]["message"]) for t in visible)
    assert all(re.search(r"ROWS:\d", t["details"]["printed"]) for t in visible)


FD_AND_CLASS_NAMES = """\
import os


def mean_squared_error(y_true, y_pred):
    os.write(1, ("FD:" + str(len(y_true)) + "\\n").encode())
    raise type("Rows" + str(len(y_true)), (Exception,), {})("x")
"""


@pytest.mark.slow
def test_hidden_cases_leak_nothing_through_descriptors_or_class_names(
    grade: GradeRunner, tmp_path: Path
) -> None:
    path = write(tmp_path / "fd.py", FD_AND_CLASS_NAMES)
    report = grade("ex04", "--file", str(path), "--format", "json", "--seed", "2").json()
    visible, hidden = _tests(report, "visible"), _tests(report, "hidden")
    assert all(re.match(r"raised Rows\d+: x", t["details"]["message"]) for t in visible)
    for test in hidden:
        assert test["details"]["message"] == (
            "raised an exception of its own class (the message of a hidden case is not shown)"
        )
    # Written straight to file descriptor 1: kept for the visible calls, none of the hidden.
    assert report["stdout"].count("FD:") == len(visible)


#: Forges the events of its own calls: an "end" whose facts would carry the inputs' size.
FORGER = """\
import json, os, sys


def mean_squared_error(y_true, y_pred):
    case = sys._getframe(1).f_locals.get("case", "c0")
    size = len(y_true)
    event = {
        "ev": "end", "case": case, "seconds": float(size), "output": "",
        "problem": {"kind": "sequence", "type": f"LEAK{size}", "length": 1},
        "mutated": [f"LEAK{size}"],
    }
    for fd in range(3, 64):
        try:
            os.write(fd, (json.dumps(event) + "\\n").encode())
        except OSError:
            pass
    return 0.0
"""


@pytest.mark.slow
def test_forged_events_carry_nothing_of_a_hidden_case_into_the_report(
    grade: GradeRunner, tmp_path: Path
) -> None:
    path = write(tmp_path / "forger.py", FORGER)
    result = grade("ex04", "--file", str(path), "--format", "json", "--seed", "2")
    report = result.json()
    assert report["score"] < report["max_score"]
    hidden = json.dumps(_tests(report, "hidden"))
    assert "LEAK" not in hidden
    assert all(t["details"]["seconds"] is None for t in _tests(report, "hidden"))


# --- one voice ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_cases_the_diagnosis_explains_print_no_contradicting_hint(grade: GradeRunner) -> None:
    path = SUBMISSIONS / "ex01" / "bad_log2.py"
    report = grade("ex01", "--file", str(path), "--format", "json", "--seed", "4").json()
    assert [m["id"] for m in report["diagnosis"]["mistakes"]] == ["log2"]
    failing = [t for t in report["tests"] if t["status"] != "passed"]
    assert failing
    assert all(t["details"]["hint"] is None for t in failing)


@pytest.mark.slow
def test_failures_no_diagnosis_explains_keep_their_hints(
    grade: GradeRunner, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "ex01.py", "def binary_cross_entropy(y_true, y_pred):\n    return 5.0\n"
    )
    report = grade("ex01", "--file", str(path), "--format", "json", "--seed", "4").json()
    assert report["diagnosis"]["mistakes"] == []
    hints = [t["details"]["hint"] for t in report["tests"] if t["details"]["hint"]]
    assert any("Clip both ends" in h for h in hints)


# --- time ----------------------------------------------------------------------------------------


def _course_with(tmp_path: Path, exercise: str, old: str, new: str) -> Path:
    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions", course / "solutions")
    (course / "exercises").mkdir(parents=True)
    text = (REPO / "exercises" / f"{exercise}.yaml").read_text()
    assert old in text
    (course / "exercises" / f"{exercise}.yaml").write_text(text.replace(old, new))
    return course


@pytest.mark.slow
def test_a_submission_that_hangs_in_every_call_is_done_within_its_budget(
    grade: GradeRunner, tmp_path: Path
) -> None:
    # A limit per call of its own: one derived from the reference's time on a loaded machine
    # could exceed this short budget (the derivation is tested on its own below).
    course = _course_with(
        tmp_path, "ex01", "seconds_total: 20", "seconds_total: 3, seconds_per_case: 1"
    )
    path = write(
        tmp_path / "ex01.py",
        "def binary_cross_entropy(y_true, y_pred):\n    while True:\n        pass\n",
    )
    started = time.monotonic()
    result = grade("--course", str(course), "ex01", "--file", str(path), "--format", "json")
    elapsed = time.monotonic() - started
    report = result.json()
    assert result.returncode == 1
    messages = [t["details"]["message"] for t in _tests(report, "visible")]
    assert messages[:2] == ["ran longer than 1 s"] * 2
    # Two calls in a row ran out of time: the submission hangs, the rest are not made.
    given_up = "not run: two calls in a row ran out of time, so the calls left were not made"
    assert set(messages[2:]) == {given_up}
    hidden = [t["details"]["message"] for t in _tests(report, "hidden")]
    assert set(hidden) == {given_up}
    hint = _tests(report, "visible")[2]["details"]["hint"]
    assert "never returns" in hint
    assert all(t["score"] == 0 for t in report["tests"])
    assert elapsed < 2 + 15, "two limits, loading and start-up; not a limit per case"


@pytest.mark.slow
def test_a_submission_slow_in_every_call_stops_at_its_time_budget(
    grade: GradeRunner, tmp_path: Path
) -> None:
    course = _course_with(
        tmp_path, "ex01", "seconds_total: 20", "seconds_total: 1.5, seconds_per_case: 1"
    )
    path = write(
        tmp_path / "ex01.py",
        "def binary_cross_entropy(y_true, y_pred):\n    while True:\n        pass\n",
    )
    result = grade("--course", str(course), "ex01", "--file", str(path), "--format", "json")
    messages = [t["details"]["message"] for t in _tests(result.json(), "visible")]
    assert messages[0] == "ran longer than 1 s"
    assert messages[1] == "stopped: the submission used its time budget of 1.5 s"
    assert "not run: the submission used its time budget of 1.5 s" in messages


@pytest.mark.slow
def test_the_default_budget_bounds_a_hanging_submission(grade: GradeRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path / "ex04.py",
        "def mean_squared_error(y_true, y_pred):\n    while True:\n        pass\n",
    )
    started = time.monotonic()
    report = grade("ex04", "--file", str(path), "--format", "json").json()
    assert time.monotonic() - started < 30
    messages = [t["details"]["message"] for t in report["tests"]]
    # The first call stops at its own limit, derived from the reference (at most 10 s).
    limit = re.fullmatch(r"ran longer than ([0-9.]+) s", messages[0])
    assert limit is not None, messages[0]
    assert 1.0 <= float(limit.group(1)) <= 10.0
    # Then the second; the rest are not made (or, with two limits of 10 s, the budget ends).
    assert any("two calls in a row" in m or "time budget of 20 s" in m for m in messages)


# --- the text report -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_text_report_puts_score_and_diagnosis_before_details_and_the_case_list(
    grade: GradeRunner,
) -> None:
    path = SUBMISSIONS / "ex01" / "bad_log2.py"
    out = grade("ex01", "--file", str(path), "--seed", "4").stdout
    lines = out.splitlines()
    assert lines[0].startswith("ex01 · Binary cross-entropy")
    assert next(i for i, line in enumerate(lines) if line.startswith("Score ")) <= 2
    order = [out.index(m) for m in ("Score ", "Diagnosis", "First failing cases", "All cases")]
    assert order == sorted(order)
    assert out.count("    what      ") == 3, "three failures in full, the rest one line each"
    verbose = grade("ex01", "--file", str(path), "--seed", "4", "--verbose").stdout
    failing = sum(1 for line in verbose.splitlines() if line.startswith("  ✗ ") and "/1" in line)
    assert verbose.count("    what      ") == failing


@pytest.mark.slow
@pytest.mark.parametrize("columns", [60, 80])
def test_no_line_of_the_text_report_is_wider_than_the_terminal(
    grade: GradeRunner, columns: int
) -> None:
    for path in (SUBMISSIONS / "ex02" / "bad_log2.py", SUBMISSIONS / "ex01" / "bad_no_clip.py"):
        out = grade(
            path.parent.name, "--file", str(path), "--verbose", env={"COLUMNS": str(columns)}
        ).stdout
        widest = max(len(ANSI.sub("", line)) for line in out.splitlines())
        assert widest <= columns, [line for line in out.splitlines() if len(line) > columns]


def test_call_limits_come_from_the_reference_time_unless_the_exercise_sets_one() -> None:
    exercise = load_exercise(REPO / "exercises" / "ex01.yaml")
    assert exercise.limits.seconds_per_case is None
    assert call_seconds(exercise, 0.0) == 1.0
    assert call_seconds(exercise, 0.002) == 3.0  # 1 s + 1000 x the reference's 2 ms
    assert call_seconds(exercise, 5.0) == 10.0  # never more than 10 s
    fixed = replace(exercise, limits=replace(exercise.limits, seconds_per_case=7.0))
    assert call_seconds(fixed, 0.002) == 7.0


def test_one_call_out_of_memory_is_worded_in_the_singular() -> None:
    from grader.exercise.feedback import stop_summary
    from grader.sandbox.protocol import CallOutcome, CallStatus, StudentError

    def out_of_memory(case: str) -> CallOutcome:
        error = StudentError("MemoryError", "", "", None)
        return CallOutcome(case, CallStatus.RAISED, error=error)

    limits = {"c1": 75 * 2**20, "c2": 80 * 2**20}
    one = stop_summary([out_of_memory("c1")], memory_mb=1024, call_memory=limits)
    assert one is not None
    assert one.message.startswith("1 call ran out of memory: more than its case allows (75 MiB")
    two = stop_summary([out_of_memory("c1"), out_of_memory("c2")], 1024, limits)
    assert two is not None
    assert two.message.startswith("2 calls ran out of memory: more than their cases allow (80")
