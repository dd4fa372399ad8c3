"""`pytest --grade EXERCISE` (grader.integrations.pytest_plugin), run as GitHub Classroom
runs it: pytest in a fresh interpreter in the student's directory, checked case by case
against the JSON report of `grade EXERCISE` on the same file with the same seed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SUBMISSIONS, Completed, isolated_environment, run_grade, write

pytestmark = pytest.mark.slow

SEED = "3"
#: Path values with "=": pytest decides its rootdir before it knows the plugin's options.
COURSE = f"--grade-course={REPO}"
#: The section header pytest writes above a failure: "____ ex03[case name] ____".
_HEADER = re.compile(r"^_+ (.+?) _+$")


def run_pytest(cwd: Path, *args: str) -> Completed:
    """`python -m pytest ARGS` in `cwd`, without the settings of the run that runs it: the
    grader's settings and cache as `run_grade` isolates them, and pytest's own."""
    dropped = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PY_COLORS", "FORCE_COLOR")
    environment = {k: v for k, v in isolated_environment().items() if k not in dropped}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Completed(result.returncode, result.stdout, result.stderr)


def _json(submission: Path) -> dict[str, Any]:
    result = run_grade("ex03", "--file", str(submission), "--format", "json", "--seed", SEED)
    assert result.returncode in (0, 1), result.stderr
    return result.json()


def _verdicts(stdout: str, file: str, names: list[str]) -> dict[str, list[str]]:
    """Case name -> the outcomes -rA's short summary gives its item (one, if all is well)."""
    lines = stdout.splitlines()
    found: dict[str, list[str]] = {}
    for name in names:
        node = f"{file}::ex03[{name}]"
        found[name] = [
            word
            for line in lines
            for word in ("PASSED", "FAILED")
            if line == f"{word} {node}" or line.startswith(f"{word} {node} - ")
        ]
    return found


def _failures(stdout: str) -> dict[str, str]:
    """Item name -> the text pytest shows for its failure."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        header = _HEADER.match(line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif line.startswith("====="):
            current = None
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def _outcome_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(("PASSED ", "FAILED "))]


@dataclass
class Run:
    pytest: Completed
    report: dict[str, Any]

    @property
    def names(self) -> list[str]:
        return [case["name"] for case in self.report["tests"]]


@pytest.fixture(scope="module")
def wrong(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A submission with a known mistake, given with --grade-file, graded both ways."""
    here = tmp_path_factory.mktemp("wrong")
    shutil.copy(SUBMISSIONS / "ex03" / "bad_log2.py", here / "sub.py")
    result = run_pytest(
        here, "--grade", "ex03", "--grade-file=sub.py", f"--grade-seed={SEED}", COURSE, "-q", "-rA"
    )
    return Run(result, _json(here / "sub.py"))


def test_a_good_submission_passes_one_item_per_case_named_as_the_case(tmp_path: Path) -> None:
    shutil.copy(SUBMISSIONS / "ex03" / "good_fancy_indexing.py", tmp_path / "ex03.py")
    result = run_pytest(tmp_path, "--grade", "ex03", f"--grade-seed={SEED}", COURSE, "-q", "-rA")
    report = _json(tmp_path / "ex03.py")
    assert result.returncode == 0, result.stdout + result.stderr
    names = [case["name"] for case in report["tests"]]
    # Passing items have no message after their id: the lines are the ids, in the report's order.
    passed = [line.removeprefix("PASSED ") for line in _outcome_lines(result.stdout)]
    assert passed == [f"ex03.py::ex03[{name}]" for name in names]
    assert f"{len(names)} passed" in result.stdout
    assert f"Score {report['score']:g}/{report['max_score']:g}: all tests passed" in result.stdout


def test_exactly_the_failing_cases_fail_with_the_reports_message(wrong: Run) -> None:
    assert wrong.pytest.returncode == 1, wrong.pytest.stderr
    verdicts = _verdicts(wrong.pytest.stdout, "sub.py", wrong.names)
    expected = {
        case["name"]: ["PASSED" if case["status"] == "passed" else "FAILED"]
        for case in wrong.report["tests"]
    }
    assert verdicts == expected
    assert len(_outcome_lines(wrong.pytest.stdout)) == len(wrong.names)
    assert {"passed", "failed"} <= {case["status"] for case in wrong.report["tests"]}
    failures = _failures(wrong.pytest.stdout)
    for case in wrong.report["tests"]:
        if case["status"] == "passed":
            assert f"ex03[{case['name']}]" not in failures
            continue
        text = failures[f"ex03[{case['name']}]"]
        assert case["details"]["message"] in text
        # The first line is the report's one-line summary of the case, word for word.
        assert text.splitlines()[0] == case["output"].splitlines()[0]


def test_the_summary_gives_the_score_and_the_diagnosis(wrong: Run) -> None:
    out = wrong.pytest.stdout
    assert "grader: ex03" in out
    assert f"Score {wrong.report['score']:g}/{wrong.report['max_score']:g}: " in out
    assert f"(seed {SEED};" in out
    assert "[log2]" in out
    for line in wrong.report["output"].splitlines():  # the diagnosis, as the JSON words it
        assert line in out


def test_hidden_cases_are_items_whose_failure_shows_only_the_message(wrong: Run) -> None:
    hidden = [c for c in wrong.report["tests"] if c["visibility"] == "hidden"]
    failing = [c for c in hidden if c["status"] != "passed"]
    assert failing, "the fixture fails a hidden case"
    verdicts = _verdicts(wrong.pytest.stdout, "sub.py", [c["name"] for c in hidden])
    assert all(len(found) == 1 for found in verdicts.values())
    failures = _failures(wrong.pytest.stdout)
    for case in failing:
        text = failures[f"ex03[{case['name']}]"]
        assert text.strip() == case["details"]["message"]
        assert "y_true" not in text
        assert "expected" not in text


def test_a_submission_that_does_not_load_fails_every_item_citing_the_line(
    tmp_path: Path,
) -> None:
    source = "import numpy as np\n\ndef sparse_categorical_cross_entropy(y_true, y_pred)\n"
    write(tmp_path / "ex03.py", source + "    return 0.0\n")
    result = run_pytest(tmp_path, "--grade", "ex03", f"--grade-seed={SEED}", COURSE, "-q", "-rA")
    report = _json(tmp_path / "ex03.py")
    assert result.returncode == 1
    assert report["error"] is not None
    names = [case["name"] for case in report["tests"]]
    assert names
    assert _verdicts(result.stdout, "ex03.py", names) == {name: ["FAILED"] for name in names}
    assert len(_outcome_lines(result.stdout)) == len(names)
    failures = _failures(result.stdout)
    assert len(failures) == len(names)
    for text in failures.values():
        assert "cannot be graded: SyntaxError" in text
        assert 'File "ex03.py", line 3' in text
        assert "def sparse_categorical_cross_entropy(y_true, y_pred)" in text


def test_pytest_does_not_import_a_submission_named_like_a_test_module(tmp_path: Path) -> None:
    source = (SUBMISSIONS / "ex03" / "good_fancy_indexing.py").read_text(encoding="utf-8")
    write(tmp_path / "test_ex03.py", source + "\n\ndef test_imported_by_pytest():\n    pass\n")
    result = run_pytest(tmp_path, "--grade", "ex03", "--grade-file=test_ex03.py", COURSE, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_imported_by_pytest" not in result.stdout
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed is not None
    assert int(passed.group(1)) == len(_json(tmp_path / "test_ex03.py")["tests"])


@pytest.mark.parametrize(
    ("exercise", "message"),
    [
        ("ex99", "there is no exercise 'ex99'"),
        # No ./ex03.py in the directory: the advice names pytest's option, not the CLI's.
        ("ex03", "ex03.py does not exist\n  Pass --grade-file=PATH"),
    ],
)
def test_what_is_not_the_students_fault_is_a_usage_error_without_traceback(
    tmp_path: Path, exercise: str, message: str
) -> None:
    result = run_pytest(tmp_path, "--grade", exercise, COURSE, "-q")
    assert result.returncode == 4
    assert result.stderr.startswith("ERROR: ")
    assert message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_without_grade_the_plugin_adds_nothing(tmp_path: Path) -> None:
    write(tmp_path / "test_trivial.py", "def test_one():\n    assert True\n")
    result = run_pytest(tmp_path, "-q", "-rA")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _outcome_lines(result.stdout) == ["PASSED test_trivial.py::test_one"]
    assert "grader" not in result.stdout


def test_the_options_are_in_pytests_help(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--help")
    assert result.returncode == 0
    for option in ("--grade=EXERCISE", "--grade-file=PATH", "--grade-seed=N", "--grade-course"):
        assert option in result.stdout


def test_importing_the_plugin_loads_nothing_of_the_grader() -> None:
    """pytest imports it in every run: numpy and the grading engine must wait for --grade."""
    code = (
        "import sys, grader.integrations.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m == 'numpy' or m.startswith('grader')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    # grader.integrations is a package of one docstring.
    loaded = "['grader', 'grader.integrations', 'grader.integrations.pytest_plugin']"
    assert result.stdout.strip() == loaded
