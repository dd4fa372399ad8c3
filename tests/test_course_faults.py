"""A fault of the course is a configuration error, in every command and format.

A reference that raises on some drawn inputs only (so on some seeds only), one that
returns NaN, and a quiz function that raises: each is the course's to fix, never charged
to a student. Every command says so with exit 2 (Gradescope: a results.json, exit 0),
naming the exercise file:line, the case and the seed; none prints "internal error".
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from conftest import Completed, isolated_environment, run_grade, write

pytestmark = pytest.mark.slow

#: ex01 raises on inputs of 17k examples: on some seeds only (found below, not guessed).
FLAKY = """\
import numpy as np


def loss(y_true, y_pred):
    if len(y_true) % 17 == 0:
        raise RuntimeError(f"batches of {len(y_true)} are not supported")
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))
"""

#: ex02 gives NaN on every drawn input (only the worked example is right).
NAN = """\
import numpy as np


def loss(y_true, y_pred):
    if list(y_true) != [1.0, 2.0]:
        return float("nan")
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))
"""

GOOD = """\
import numpy as np


def loss(y_true, y_pred):
    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))
"""

#: ex04's correct variant in a loop, which fails past 100 examples.
VARIANTS = """\
def loop(y_true, y_pred):
    if len(y_true) > 100:
        raise IndexError("too many examples")
    return sum(abs(float(p) - float(t)) for t, p in zip(y_true, y_pred)) / len(y_true)
"""

MISTAKES = """\
import numpy as np


def sum_not_mean(y_true, y_pred):
    return float(np.sum(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))
"""

EXERCISE = """\
id: {id}
title: Mean absolute error ({id})
statement: |
  Write `loss(y_true, y_pred)`: the mean of |y_pred[i] - y_true[i]|.
entry:
  function: loss
  params:
    - name: y_true
      description: targets, shape (N,)
    - name: y_pred
      description: predictions, shape (N,)
  returns: the mean absolute error, one float
reference: solutions.{module}.loss
tolerance: {{rtol: 1.0e-6, atol: 1.0e-12}}
packages: [numpy]
mistakes:
  - id: sum_not_mean
    title: sum instead of mean over the examples
    hint: "Divide by the number of examples."
    implementation: solutions.mistakes.sum_not_mean
points: 3
cases:
  - name: "worked example"
    args: {{y_true: [1.0, 2.0], y_pred: [1.5, 1.0]}}
    expect: 0.75
  - name: "random batch"
    generate: {{generator: regression, n: [2, 1000]}}
    repeat: 2
"""

QUIZ = """\
kind: quiz
id: q01
title: Broken quiz
mode: practice
questions:
  - id: one
    type: numeric
    points: 2
    text: "p = {p}, y = {y}: the BCE loss?"
    params:
      p: {uniform: [0.6, 0.9], digits: 2}
      y: {choice: [0, 1]}
    answer: solutions.qz.bce
    sigfigs: 3
    misconceptions:
      - id: minus
        title: missing minus
        hint: put a minus sign in front
        formula: solutions.qz.bce_minus
"""

#: The answer function looks its input up in a table that misses every drawn value.
QUIZ_SOLUTION = """\
import math

TABLE = {0.5: 0.693}


def bce(p, y):
    return TABLE[p] if y else TABLE[1 - p]


def bce_minus(p, y):
    return -bce(p, y)
"""

SUBMISSION = GOOD


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults") / "course"
    for exercise_id, module, source in (
        ("ex01", "flaky", FLAKY),
        ("ex02", "nan", NAN),
        ("ex03", "good", GOOD),
    ):
        write(
            root / "exercises" / f"{exercise_id}.yaml",
            EXERCISE.format(id=exercise_id, module=module),
        )
        write(root / "solutions" / f"{module}.py", source)
    variant = "variants:\n  - id: loop\n    implementation: solutions.variants.loop\n"
    ex04 = EXERCISE.format(id="ex04", module="good").replace("points:", variant + "points:")
    write(root / "exercises" / "ex04.yaml", ex04)
    write(root / "solutions" / "variants.py", VARIANTS)
    write(root / "solutions" / "mistakes.py", MISTAKES)
    write(root / "solutions" / "qz.py", QUIZ_SOLUTION)
    write(root / "submission.py", SUBMISSION)
    return root


def _flaky_seeds(course: Path) -> dict[int, str]:
    """Seed -> name of the first case on which ex01's reference raises, for seeds 0..22."""
    from grader.exercise.prepare import prepare

    prepared = prepare(course, course / "exercises" / "ex01.yaml")
    found = {}
    for seed in range(23):
        for case in prepared.cases(seed):
            if len(case.args["y_true"]) % 17 == 0:
                found[seed] = case.name
                break
    return found


@pytest.fixture(scope="module")
def bad_seed(course: Path) -> int:
    seeds = _flaky_seeds(course)
    # The fixture is only worth its name if the default seeds miss it and validate's find it.
    assert seeds, "no seed of 0..22 draws 17k examples: choose another divisor"
    assert min(seeds) >= 3, f"seed {min(seeds)} < 3 draws it: choose another divisor"
    return min(seeds)


def _no_bug(result: Completed) -> None:
    assert "internal error" not in (result.stdout + result.stderr).lower()
    assert "Traceback" not in result.stdout + result.stderr


def _names_the_fault(text: str, exercise: str, seed: int | None = None) -> None:
    assert re.search(rf"exercises/{exercise}\.yaml:\d+:\d+", text), text
    assert "random batch" in text, text
    if seed is not None:
        assert f"seed {seed}" in text, text


def test_a_reference_that_raises_on_a_seed_is_exit_2_in_every_format(
    course: Path, bad_seed: int
) -> None:
    args = ("ex01", "--file", "submission.py", "--seed", str(bad_seed))
    for fmt in ("text", "json", "junit", "github"):
        result = run_grade(*args, "--format", fmt, cwd=course)
        _no_bug(result)
        assert result.returncode == 2, (fmt, result.stdout, result.stderr)
        _names_the_fault(result.stderr, "ex01", bad_seed)
        assert "RuntimeError: batches of" in result.stderr
        assert "not of any submission" in result.stderr
        if fmt == "json":
            document = json.loads(result.stdout)  # exactly one document
            assert document["error"]["kind"] == "configuration"
            assert document["score"] == 0
            assert document["tests"] == []
            _names_the_fault(document["error"]["message"], "ex01", bad_seed)
    # On a seed it does not meet, the same submission is graded as usual.
    fine = run_grade("ex01", "--file", "submission.py", "--seed", "0", cwd=course)
    assert fine.returncode == 0, fine.stdout + fine.stderr


def test_a_reference_that_returns_nan_is_exit_2_naming_the_case_and_seed(course: Path) -> None:
    result = run_grade(
        "ex02", "--file", "submission.py", "--seed", "5", "--format", "json", cwd=course
    )
    _no_bug(result)
    assert result.returncode == 2
    message = json.loads(result.stdout)["error"]["message"]
    _names_the_fault(message, "ex02", 5)
    assert "gave nan" in message


def test_gradescope_writes_results_saying_the_autograder_is_misconfigured(
    course: Path, tmp_path: Path
) -> None:
    submission = tmp_path / "submission"
    write(submission / "ex02.py", SUBMISSION)
    results = tmp_path / "results" / "results.json"
    result = run_grade(
        "gradescope", "ex02", "--submission", str(submission), "--results", str(results),
        cwd=course,
    )  # fmt: skip
    _no_bug(result)
    assert result.returncode == 0, result.stderr
    document = json.loads(results.read_text())
    assert document["score"] == 0
    assert document["tests"] == []
    assert "autograder is misconfigured" in document["output"]
    assert "not your fault" in document["output"]
    assert "expected ex02.py" not in document["output"]  # nothing for the student to rename
    _names_the_fault(document["output"], "ex02")
    assert "misconfigured" in result.stderr  # the instructor reads the log


def test_selftest_fails_the_broken_exercises_and_still_proves_the_others(course: Path) -> None:
    result = run_grade("selftest", "ex01", "ex02", "ex03", "ex04", "--seeds", "23", cwd=course)
    _no_bug(result)
    assert result.returncode == 1, result.stdout + result.stderr
    blocks = {block.split(":")[0]: block for block in result.stdout.split("\n\n")}
    assert set(blocks) == {"ex01", "ex02", "ex03", "ex04"}
    for exercise in ("ex01", "ex02"):
        assert "  FAIL: " in blocks[exercise]
        _names_the_fault(blocks[exercise], exercise)
        assert "NOT proven" in blocks[exercise]
    assert "RuntimeError: batches of" in blocks["ex01"]
    assert "gave nan" in blocks["ex02"]
    assert "FAIL" not in blocks["ex03"]
    assert blocks["ex03"].rstrip().endswith("proven")
    assert "FAIL: correct variant 'loop' fails case 'random batch" in blocks["ex04"]
    assert "it raised IndexError: too many examples" in blocks["ex04"]


def test_validate_draws_enough_seeds_to_find_a_reference_that_fails_on_some(
    course: Path, bad_seed: int
) -> None:
    result = run_grade("validate", cwd=course)
    _no_bug(result)
    assert result.returncode == 2
    flaky = [line for line in result.stdout.splitlines() if "ex01.yaml" in line]
    assert len(flaky) >= 1, result.stdout
    first = _flaky_seeds(course)
    # One line per case, at the first seed that fails it, with the command that meets it.
    for line in flaky:
        seed = int(re.search(r"\(seed (\d+)\)", line).group(1))  # type: ignore[union-attr]
        assert seed in first, line
        assert seed >= bad_seed, line
        assert f"'grade ex01 --seed {seed}'" in line
        assert "RuntimeError: batches of" in line
    assert any("ex02.yaml" in line and "gave nan" in line for line in result.stdout.splitlines())
    assert "ex03.yaml" not in result.stdout
    assert "ex04.yaml" not in result.stdout


def test_batch_stops_before_grading_anyone(course: Path, tmp_path: Path, bad_seed: int) -> None:
    klass = tmp_path / "class"
    for student in ("ana", "ben"):
        write(klass / student / "ex01.py", SUBMISSION)
    book = tmp_path / "gradebook.db"
    result = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(book), "--seed", str(bad_seed),
        "--jobs", "1", "--format", "json", cwd=course,
    )  # fmt: skip
    _no_bug(result)
    assert result.returncode == 2, result.stdout + result.stderr
    _names_the_fault(json.loads(result.stdout)["error"]["message"], "ex01", bad_seed)
    if book.exists():
        with sqlite3.connect(book) as db:
            tables = [
                r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            for table in tables:
                assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table
    # With its default seed (derived from the exercise) ex02 stops the same way.
    nan = run_grade("batch", "ex02", str(klass), "--gradebook", str(book), cwd=course)
    _no_bug(nan)
    assert nan.returncode == 2
    _names_the_fault(nan.stderr, "ex02")


def test_a_quiz_function_that_raises_is_exit_2_and_a_selftest_fail(
    course: Path, tmp_path: Path
) -> None:
    quiz = course / "exercises" / "q01.yaml"
    write(quiz, QUIZ)
    try:
        answers = tmp_path / "answers.yaml"
        write(answers, "quiz: q01\nstudent: student-0001\nanswers:\n  one: 1.0\n")
        for fmt in ("text", "json"):
            result = run_grade("q01", "--answers", str(answers), "--format", fmt, cwd=course)
            _no_bug(result)
            assert result.returncode == 2, result.stdout + result.stderr
            assert re.search(r"exercises/q01\.yaml:\d+:\d+", result.stderr), result.stderr
            assert "solutions.qz.bce raised KeyError" in result.stderr
            assert "student 'student-0001'" in result.stderr
            if fmt == "json":
                assert "KeyError" in json.loads(result.stdout)["error"]["message"]
        template = run_grade("q01", "--template", "--student", "ana", cwd=course)
        _no_bug(template)
        assert template.returncode == 2
        proven = run_grade("selftest", "q01", "ex03", cwd=course)
        _no_bug(proven)
        assert proven.returncode == 1, proven.stdout + proven.stderr
        assert "FAIL: student-0000" in proven.stdout
        assert "ex03: " in proven.stdout  # checked after the quiz
        checked = run_grade("validate", str(quiz), cwd=course)
        _no_bug(checked)
        assert checked.returncode == 2
        assert "solutions.qz.bce raised KeyError" in checked.stdout
    finally:
        quiz.unlink()


def test_the_pytest_plugin_and_the_notebook_say_it_is_the_courses_fault(
    course: Path, tmp_path: Path, bad_seed: int
) -> None:
    import subprocess

    write(tmp_path / "ex01.py", SUBMISSION)
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--grade", "ex01",
            f"--grade-course={course}", f"--grade-seed={bad_seed}",
        ],
        cwd=tmp_path, env=isolated_environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 4, output  # pytest's usage error: nothing was graded
    assert "INTERNALERROR" not in output
    assert "Traceback" not in output
    _names_the_fault(result.stderr, "ex01", bad_seed)

    from grader.integrations.notebook import check

    checked = check("ex01", seed=bad_seed, course=course, function=_notebook_loss)
    assert checked.report is None
    assert checked.message is not None
    _names_the_fault(checked.message, "ex01", bad_seed)
    assert "not of any submission" in checked.message


def _notebook_loss(y_true, y_pred):  # type: ignore[no-untyped-def]
    import numpy as np

    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))


def test_release_refuses_a_course_whose_reference_fails_on_some_seed(
    course: Path, tmp_path: Path, bad_seed: int
) -> None:
    out = tmp_path / "bundle"
    result = run_grade("release", str(out), cwd=course)
    _no_bug(result)
    assert result.returncode == 2
    assert f"(seed {bad_seed})" in result.stderr
    _names_the_fault(result.stderr, "ex01")
    assert not out.exists()
