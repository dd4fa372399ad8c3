"""What a submission may import is the exercise's `packages`, on both sandbox backends, and
`package_problems` says when a list cannot work on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, backends, run_grade, write
from grader.authoring.packages import package_problems

#: A small binary cross-entropy exercise; `packages` is filled in per exercise.
EXERCISE = """\
id: {id}
title: Binary cross-entropy ({id})
statement: Compute binary cross-entropy.
entry:
  function: binary_cross_entropy
  params:
    - {{name: y_true, description: labels}}
    - {{name: y_pred, description: probabilities}}
  returns: a float
reference: solutions.bce.binary_cross_entropy
tolerance: {{rtol: 1.0e-4, atol: 1.0e-9}}
{packages}points: 4
cases:
  - name: textbook
    args: {{y_true: [1.0], y_pred: [0.8]}}
  - name: integer labels
    args: {{y_true: [1, 0, 1], y_pred: [0.7, 0.2, 0.9]}}
  - name: random
    generate: {{generator: binary, n: [2, 50]}}
    repeat: 2
"""

#: Exercise id -> its `packages` line (none: the default, numpy alone).
EXERCISES = {
    "with_scipy": "packages: [numpy, scipy]\n",
    "numpy_only": "",
    "pure": "packages: []\n",
}

XLOGY = """\
import numpy as np
from scipy.special import xlogy


def binary_cross_entropy(y_true, y_pred):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(xlogy(y_true, p) + xlogy(1 - y_true, 1 - p)))
"""

SKLEARN = """\
from sklearn.metrics import log_loss


def binary_cross_entropy(y_true, y_pred):
    return log_loss(y_true, y_pred)
"""

NUMPY = """\
import numpy as np


def binary_cross_entropy(y_true, y_pred):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
"""

PURE = """\
import math


def binary_cross_entropy(y_true, y_pred):
    kinds = sorted({type(v).__name__ for v in y_true + y_pred})
    print("given", type(y_true).__name__, type(y_pred).__name__, kinds)
    total = 0.0
    for y, p in zip(y_true, y_pred):
        p = min(max(p, 1e-7), 1 - 1e-7)
        total += y * math.log(p) + (1 - y) * math.log(1 - p)
    return -total / len(y_true)
"""

#: Returns an int, and changes its input on one case only.
PURE_INT_AND_MUTATION = """\
def binary_cross_entropy(y_true, y_pred):
    if len(y_true) == 1:
        y_pred[0] = 0.5
    return 1
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    for exercise_id, packages in EXERCISES.items():
        text = EXERCISE.format(id=exercise_id, packages=packages)
        write(root / "exercises" / f"{exercise_id}.yaml", text)
    write(root / "solutions" / "bce.py", (REPO / "solutions" / "bce.py").read_text())
    return root


@pytest.fixture(params=backends("process", "bwrap", "warm"))
def sandbox(request: pytest.FixtureRequest) -> str:
    """Every test here runs on every backend; bwrap and warm are skipped, with the reason,
    where this machine cannot run bwrap."""
    return str(request.param)


def _grade(
    course: Path, exercise_id: str, source: str, sandbox: str, tmp_path: Path
) -> dict[str, Any]:
    path = write(tmp_path / f"{exercise_id}.py", source)
    result = run_grade(
        "--course",
        str(course),
        exercise_id,
        "--file",
        str(path),
        "--format",
        "json",
        "--sandbox",
        sandbox,
        "--seed",
        "1",
    )
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = result.json()
    assert report["backend"] == sandbox
    return report


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


# --- through the CLI, on both backends ---------------------------------------------------------


@pytest.mark.slow
def test_an_exercise_allowing_scipy_lets_a_submission_use_xlogy(
    course: Path, sandbox: str, tmp_path: Path
) -> None:
    report = _grade(course, "with_scipy", XLOGY, sandbox, tmp_path)
    assert report["error"] is None
    assert report["score"] == report["max_score"], [t["output"] for t in report["tests"]]


@pytest.mark.slow
def test_an_exercise_allowing_scipy_still_hides_the_rest_and_names_what_it_allows(
    course: Path, sandbox: str, tmp_path: Path
) -> None:
    report = _grade(course, "with_scipy", SKLEARN, sandbox, tmp_path)
    assert report["score"] == 0
    error = report["error"]
    assert error["kind"] == "import"
    hint = _flat(error["hint"])
    assert "scikit-learn is not available here" in hint
    assert "only Python's standard library and numpy, scipy are available" in hint


@pytest.mark.slow
def test_the_default_exercise_refuses_scipy_and_names_numpy_only(
    course: Path, sandbox: str, tmp_path: Path
) -> None:
    report = _grade(course, "numpy_only", XLOGY, sandbox, tmp_path)
    assert report["score"] == 0
    error = report["error"]
    assert error["kind"] == "import"
    assert "scipy" in error["message"]
    hint = _flat(error["hint"])
    assert "SciPy is not available here" in hint
    assert "only Python's standard library and numpy are available in this exercise" in hint
    assert "numpy, " not in hint


@pytest.mark.slow
def test_a_pure_python_exercise_refuses_numpy(course: Path, sandbox: str, tmp_path: Path) -> None:
    report = _grade(course, "pure", NUMPY, sandbox, tmp_path)
    assert report["score"] == 0
    error = report["error"]
    assert error["kind"] == "import"
    assert "ModuleNotFoundError" in error["message"]
    assert "numpy" in error["message"]
    hint = _flat(error["hint"])
    assert "numpy is not available here" in hint
    assert "only the standard library is available in this exercise" in hint


@pytest.mark.slow
def test_a_pure_python_submission_receives_lists_of_python_numbers_and_passes(
    course: Path, sandbox: str, tmp_path: Path
) -> None:
    report = _grade(course, "pure", PURE, sandbox, tmp_path)
    assert report["error"] is None
    assert report["score"] == report["max_score"], [t["output"] for t in report["tests"]]
    printed = {t["name"]: t["details"]["printed"].strip() for t in report["tests"]}
    assert printed["textbook"] == "given list list ['float']"
    assert printed["integer labels"] == "given list list ['float', 'int']"
    assert printed["random #1"] == "given list list ['float']"


@pytest.mark.slow
def test_a_pure_python_submission_may_return_an_int_and_must_not_change_its_lists(
    course: Path, sandbox: str, tmp_path: Path
) -> None:
    report = _grade(course, "pure", PURE_INT_AND_MUTATION, sandbox, tmp_path)
    tests = {t["name"]: t for t in report["tests"]}
    assert tests["textbook"]["details"]["message"] == "changed its input y_pred in place"
    others = [t for name, t in tests.items() if name != "textbook"]
    assert others
    for test in others:
        assert test["status"] == "failed"
        assert test["details"]["actual"] == 1.0
        assert test["details"]["actual_type"] == "int"
        assert test["details"]["message"] == "wrong value (not within tolerance)"


# --- package_problems ----------------------------------------------------------------------------


@pytest.mark.slow
def test_package_problems_finds_nothing_wrong_with_packages_that_work() -> None:
    assert package_problems(["numpy"]) == []
    assert package_problems(["numpy", "scipy"]) == []
    assert package_problems([]) == []


def test_package_problems_names_a_package_that_is_not_installed() -> None:
    assert package_problems(["numpy", "grader_no_such_package"]) == [
        "grader_no_such_package is not installed in this environment; "
        "pip install grader_no_such_package, or remove it from packages"
    ]


def test_package_problems_names_a_dependency_that_is_not_listed() -> None:
    assert package_problems(["scipy"]) == ["scipy needs numpy: add numpy to packages"]


def test_package_problems_follows_dependencies_through_the_packages_they_lead_to() -> None:
    problems = package_problems(["sklearn"])
    assert "sklearn needs numpy: add numpy to packages" in problems
    assert "sklearn needs scipy: add scipy to packages" in problems
    assert "sklearn needs joblib: add joblib to packages" in problems
    # scipy needs numpy too: said once, by the first package that needs it.
    assert sum("add numpy to packages" in p for p in problems) == 1


def test_package_problems_names_a_standard_library_module_as_needless() -> None:
    assert package_problems(["numpy", "json"]) == [
        "json is part of Python's standard library, which is always available: "
        "remove it from packages"
    ]


@pytest.mark.slow
@pytest.mark.bwrap
def test_one_warm_backend_grades_exercises_with_different_packages_in_turn(
    course: Path, tmp_path: Path
) -> None:
    """A batch of all exercises: each set of packages gets a sandbox of its own, and the
    backend's files outlive the sandbox it throws away when the set changes."""
    from grader.course import Course
    from grader.exercise.grading import grade
    from grader.sandbox.warm import WarmBackend

    loops = write(tmp_path / "loops.py", PURE)
    with WarmBackend(parent=str(tmp_path)) as backend:
        for exercise_id in ("pure", "numpy_only", "pure"):
            report = grade(exercise_id, loops, course=Course(course), seed=1, backend=backend)
            assert report.score == report.max_score, exercise_id
        assert backend.started == 3
