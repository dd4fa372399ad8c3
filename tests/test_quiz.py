"""Quizzes graded from answers files through the CLI: per-student variants, misconceptions
named with the exercises' wording, significant figures, partial credit, malformed files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import QUIZ_SOLUTION as SOLUTION
from conftest import REPO, run_grade, write
from grader.course import Course
from grader.exercise.spec import Tolerance
from grader.quiz.grading import Posed, judge
from grader.quiz.spec import Option, Partial, Question, QuestionType
from grader.quiz.variants import Variant

QUIZ = """\
kind: quiz
id: q01
title: Demo quiz
mode: practice
questions:
  - id: one
    type: numeric
    points: 2
    text: "p = {p}, y = {y}: the BCE loss? 4 significant figures."
    params:
      p: {uniform: [0.05, 0.95], digits: 2}
      y: {choice: [0, 1]}
    answer: solutions.qz.bce
    sigfigs: 4
    misconceptions:
      - mistake: ex01.log2
        formula: solutions.qz.bce_log2
      - id: minus
        title: missing minus
        hint: put a minus sign in front
        formula: solutions.qz.bce_minus
  - id: batch
    type: numeric
    text: "Labels {ys}, probabilities {ps}: the mean BCE?"
    params:
      ys: {labels: {n: 3, classes: 2}}
      ps: {probabilities: {n: 3, digits: 2}}
    answer: solutions.qz.mean_bce
    tolerance: {rtol: 1.0e-3, atol: 1.0e-6}
    misconceptions:
      - mistake: ex01.sum_not_mean
        formula: solutions.qz.sum_bce
  - id: which
    type: single
    text: Which loss for regression?
    options:
      - {text: MSE, correct: true, feedback: "Yes: squared errors."}
      - {text: BCE, feedback: BCE is for 0/1 labels}
      - {text: CCE}
  - id: many
    type: multiple
    partial: net-correct
    text: Which are losses?
    options:
      - {text: MSE, correct: true}
      - {text: BCE, correct: true}
      - {text: ReLU}
  - id: tf
    type: truefalse
    text: -log(p) grows without bound as p -> 0.
    answer: true
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "exercises").mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "ex01.yaml", root / "exercises")
    shutil.copytree(REPO / "solutions", root / "solutions")
    write(root / "solutions" / "qz.py", SOLUTION)
    write(root / "exercises" / "q01.yaml", QUIZ)
    return root


def _template(course: Path, student: str, out: Path) -> str:
    result = run_grade("q01", "--template", "--student", student, "--out", str(out), cwd=course)
    assert result.returncode == 0, result.stderr
    return out.read_text()


def _answer(template: str, **answers: str) -> str:
    for key, value in answers.items():
        template = template.replace(f"  {key}:\n", f"  {key}: {value}\n")
    return template


def _grade(course: Path, path: Path, *args: str) -> dict:
    result = run_grade("q01", "--answers", str(path), "--format", "json", *args, cwd=course)
    assert result.returncode in (0, 1), result.stderr
    return result.json()


def _params(template: str, qid: str) -> str:
    """The comment line that shows a question's numbers."""
    lines = template.splitlines()
    index = lines.index(f"  {qid}:")
    return "\n".join(lines[index - 3 : index])


@pytest.mark.slow
def test_two_students_get_their_own_numbers_reproducibly(course: Path, tmp_path: Path) -> None:
    alice = _template(course, "alice", tmp_path / "a.yaml")
    bob = _template(course, "bob", tmp_path / "b.yaml")
    again = _template(course, "alice", tmp_path / "a2.yaml")
    assert _params(alice, "one") != _params(bob, "one")
    assert alice == again
    report = _grade(course, tmp_path / "a.yaml")
    assert report["student"] == "alice"
    assert report["score"] == 0
    assert report["tests"][0]["details"]["seed"] is not None
    assert report["tests"][0]["details"]["inputs"]["p"] in _params(alice, "one")


@pytest.mark.slow
def test_a_blank_answers_file_scores_0_with_exit_1(course: Path, tmp_path: Path) -> None:
    _template(course, "carol", tmp_path / "c.yaml")
    result = run_grade("q01", "--answers", str(tmp_path / "c.yaml"), "--format", "json", cwd=course)
    assert result.returncode == 1
    report = result.json()
    assert report["score"] == 0
    assert report["max_score"] == 6
    assert {t["details"]["message"] for t in report["tests"]} == {"not answered"}


def _one_value(course: Path, tmp_path: Path, student: str) -> tuple[float, float]:
    path = tmp_path / f"{student}.yaml"
    _template(course, student, path)
    report = _grade(course, path)
    details = report["tests"][0]["details"]
    p, y = float(details["inputs"]["p"]), int(details["inputs"]["y"])
    import math

    right = -(y * math.log(p) + (1 - y) * math.log(1 - p))
    return right, right / math.log(2)


@pytest.mark.slow
def test_right_log2_and_too_few_digits_are_told_apart(course: Path, tmp_path: Path) -> None:
    right, base2 = _one_value(course, tmp_path, "dave")
    template = (tmp_path / "dave.yaml").read_text()
    cases = {
        f"{right:.4g}": (2, "correct"),
        f"{right:.6g}": (2, "correct"),
        f"{base2:.4g}": (0, "log base 2 instead of the natural log"),
        f"{-right:.4g}": (0, "missing minus"),
        f"{right:.2g}": (0, "too few"),
    }
    ex01_hint = "Use np.log (natural log)"
    for answer, (score, phrase) in cases.items():
        path = tmp_path / "try.yaml"
        path.write_text(_answer(template, one=answer))
        test = _grade(course, path)["tests"][0]
        assert test["score"] == score, (answer, test)
        assert phrase in test["details"]["message"], (answer, test)
        if "base 2" in phrase:
            assert ex01_hint in test["details"]["hint"]  # the exercise's own wording


@pytest.mark.slow
def test_sum_instead_of_mean_is_named_on_a_batch(course: Path, tmp_path: Path) -> None:
    path = tmp_path / "erin.yaml"
    _template(course, "erin", path)
    details = _grade(course, path)["tests"][1]["details"]
    ys = json.loads(details["inputs"]["ys"])
    ps = json.loads(details["inputs"]["ps"])
    import math

    total = sum(-(y * math.log(p) + (1 - y) * math.log(1 - p)) for p, y in zip(ps, ys, strict=True))
    path.write_text(_answer(path.read_text(), batch=f"{total:.6f}"))
    test = _grade(course, path)["tests"][1]
    assert "sum instead of mean" in test["details"]["message"]


@pytest.mark.slow
def test_choices_are_answered_by_the_students_own_letters(course: Path, tmp_path: Path) -> None:
    path = tmp_path / "fay.yaml"
    template = _template(course, "fay", path)
    lines = template.splitlines()
    start = lines.index("  which:") - 3
    letter = next(line.split(")")[0][-1] for line in lines[start:] if line.endswith(") MSE"))
    path.write_text(_answer(template, which=letter, tf="true"))
    report = _grade(course, path)
    assert report["tests"][2]["score"] == 1
    assert report["tests"][4]["score"] == 1


@pytest.mark.slow
def test_a_malformed_answers_file_is_exit_2_with_file_and_line(
    course: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("quiz: q01\nstudent: gil\nanswers:\n  nope: 1\n  one: [1\n")
    result = run_grade("q01", "--answers", str(path), cwd=course)
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}:")
    assert "[ opened at line 5" in result.stderr
    path.write_text("quiz: q01\nstudent: gil\nanswers:\n  nope: 1\n")
    result = run_grade("q01", "--answers", str(path), cwd=course)
    assert result.returncode == 2
    assert f"{path}:4:3: q01 has no question 'nope'" in result.stderr
    other = run_grade("q01", "--answers", str(path), "--student", "hal", cwd=course)
    assert other.returncode == 2
    assert "Traceback" not in other.stderr


@pytest.mark.slow
def test_a_file_for_one_student_never_grades_as_anothers(course: Path, tmp_path: Path) -> None:
    _template(course, "ian", tmp_path / "i.yaml")
    result = run_grade("q01", "--answers", str(tmp_path / "i.yaml"), "--student", "jo", cwd=course)
    assert result.returncode == 2
    assert "holds the answers of student 'ian'" in result.stderr


@pytest.mark.slow
def test_quizzes_and_exercises_are_listed_together_and_validate(course: Path) -> None:
    listed = run_grade("list", cwd=course)
    assert "q01      Demo quiz  (6 points, quiz)" in listed.stdout
    assert run_grade("validate", cwd=course).returncode == 0
    proven = run_grade("selftest", "q01", cwd=course)
    assert proven.returncode == 0, proven.stdout
    assert "proven" in proven.stdout


@pytest.mark.slow
def test_a_broken_quiz_breaks_neither_the_exercises_nor_itself_silently(course: Path) -> None:
    text = QUIZ.replace("answer: solutions.qz.bce\n", "answer: solutions.qz.nothere\n")
    text = text.replace("{text: MSE, correct: true, feedback", "{text: MSE, feedback")
    write(course / "exercises" / "q01.yaml", text)
    result = run_grade("validate", cwd=course)
    assert result.returncode == 2
    assert "a single-choice question has exactly 1 correct option, not 0" in result.stdout
    assert "q01.yaml:" in result.stdout
    assert run_grade("show", "ex01", cwd=course).returncode == 0
    listed = run_grade("list", cwd=course)
    assert listed.returncode == 2
    assert "ex01     Binary cross-entropy" in listed.stdout
    assert "q01      (cannot be read" in listed.stdout
    assert "exactly 1 correct option" in listed.stderr


@pytest.mark.slow
def test_a_collision_prone_misconception_is_avoided_and_counted(course: Path) -> None:
    """At y = 1 and p = 0.5 the log2 value is 1 and ln 2 = 0.693: apart. But a formula that
    equals the answer at y = 0 must never be the variant a student gets."""
    write(
        course / "solutions" / "qz2.py",
        SOLUTION + "\n\ndef only_positive(p, y):\n    return -y * math.log(p)\n",
    )
    text = QUIZ.replace("solutions.qz.", "solutions.qz2.")
    text = text.replace(
        "      - id: minus\n",
        "      - id: forgot_negatives\n        title: forgot the (1 - y) term\n"
        "        hint: add it\n        formula: solutions.qz2.only_positive\n      - id: minus\n",
    )
    write(course / "exercises" / "q01.yaml", text)
    proven = run_grade("selftest", "q01", cwd=course)
    assert proven.returncode == 0, proven.stdout
    skipped = int(proven.stdout.split("draws skipped")[1].split()[0])
    assert skipped > 50  # about half the draws have y = 1, where the two agree


def _posed(partial: Partial) -> Posed:
    options = (Option("a", True, None), Option("b", True, None), Option("c", False, None))
    question = Question(
        id="m", type=QuestionType.MULTIPLE, points=4, text="t", where="w", params={},
        answer=None, value=None, tolerance=Tolerance(1e-3, 0), sigfigs=None,
        misconceptions=(), options=options, shuffle=False, partial=partial, truth=None,
        feedback={},
    )  # fmt: skip
    return Posed(question, Variant(1, {}, None, {}), "t", (0, 1, 2))


@pytest.mark.parametrize(
    ("partial", "picked", "score"),
    [
        (Partial.OFF, "a", 0), (Partial.OFF, "a, b", 4),
        (Partial.NET_CORRECT, "a", 2), (Partial.NET_CORRECT, "a, c", 0),
        (Partial.NET_CORRECT, "a, b, c", 2),
        (Partial.COVERAGE, "a", 2), (Partial.COVERAGE, "a, c", 0),
        (Partial.EACH_ANSWER, "a", 4 * 2 / 3), (Partial.EACH_ANSWER, "c", 0),
        (Partial.EACH_ANSWER, "a, b, c", 4 * 2 / 3),
    ],
)  # fmt: skip
def test_partial_credit_follows_the_formula_each_question_declares(
    partial: Partial, picked: str, score: float
) -> None:
    assert judge(_posed(partial), picked, practice=True).score == pytest.approx(score)


@pytest.mark.slow
def test_yaml_11_words_off_true_false_read_as_words(course: Path, tmp_path: Path) -> None:
    text = QUIZ.replace("partial: net-correct", "partial: off").replace(
        "    answer: true\n",
        "    answer: true\n    feedback: {true: Right., false: It does grow.}\n",
    )
    write(course / "exercises" / "q01.yaml", text)
    assert run_grade("validate", cwd=course).returncode == 0
    path = tmp_path / "k.yaml"
    _template(course, "kim", path)
    path.write_text(_answer(path.read_text(), tf="false"))
    test = _grade(course, path)["tests"][4]
    assert test["details"]["hint"] == "It does grow."


SHIPPED = Course(REPO).quiz_ids()


def _key(posed: Posed) -> object:
    """The right answer as a student would write it."""
    question = posed.question
    if question.type is QuestionType.NUMERIC:
        return repr(posed.variant.answer)
    if question.type is QuestionType.TRUEFALSE:
        return question.truth
    right = [
        letter
        for letter, index in zip(posed.letters, posed.order, strict=True)
        if question.options[index].correct
    ]
    return right[0] if question.type is QuestionType.SINGLE else right


@pytest.mark.slow
@pytest.mark.parametrize("quiz_id", SHIPPED)
def test_every_shipped_quiz_gives_full_marks_to_its_key(quiz_id: str, tmp_path: Path) -> None:
    import yaml

    from grader.quiz.run import open_quiz

    opened = open_quiz(Course(REPO), quiz_id)
    for student in ("s1", "s2"):
        answers = {p.question.id: _key(p) for p in opened.posed(student)}
        path = tmp_path / f"{student}.yaml"
        path.write_text(yaml.safe_dump({"quiz": quiz_id, "student": student, "answers": answers}))
        result = run_grade(quiz_id, "--answers", str(path), "--format", "json")
        assert result.returncode == 0, result.stdout
        assert result.json()["score"] == opened.quiz.points
    assert len(SHIPPED) >= 4


@pytest.mark.slow
def test_braces_in_a_question_are_text_unless_they_name_a_parameter(
    course: Path, tmp_path: Path
) -> None:
    text = QUIZ.replace(
        "text: Which loss for regression?",
        'text: "Labels in {0, 1}, a stray { and {p.__class__}: which loss for regression?"',
    )
    write(course / "exercises" / "q01.yaml", text)
    assert run_grade("validate", cwd=course).returncode == 0
    template = _template(course, "lee", tmp_path / "l.yaml")
    assert "Labels in {0, 1}, a stray { and {p.__class__}: which loss" in template


@pytest.mark.slow
def test_ci_names_the_student_in_the_environment(course: Path, tmp_path: Path) -> None:
    """CI passes GRADER_STUDENT instead of --student: the same numbers as --student."""
    by_option = _template(course, "mia", tmp_path / "option.yaml")
    out = tmp_path / "env.yaml"
    made = run_grade(
        "q01", "--template", "--out", str(out), cwd=course, env={"GRADER_STUDENT": "mia"}
    )
    assert made.returncode == 0, made.stderr
    assert out.read_text() == by_option
    blank = tmp_path / "blank.yaml"
    blank.write_text("quiz: q01\nanswers:\n  one:\n")
    graded = run_grade(
        "q01",
        "--answers",
        str(blank),
        "--format",
        "json",
        cwd=course,
        env={"GRADER_STUDENT": "mia"},
    )
    assert graded.json()["student"] == "mia"


@pytest.mark.slow
def test_an_answer_function_that_cannot_take_the_params_is_named(course: Path) -> None:
    write(course / "solutions" / "qz_bad.py", "def bce(prob, label):\n    return 0.0\n")
    write(
        course / "exercises" / "q01.yaml",
        QUIZ.replace("solutions.qz.bce\n", "solutions.qz_bad.bce\n"),
    )
    result = run_grade("validate", cwd=course)
    assert result.returncode == 2
    assert "the answer cannot take the parameters ['p', 'y']" in result.stdout
