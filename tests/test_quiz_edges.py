"""Where quizzes meet the rest, through the CLI: numbers judged as written and the one
significant-figure rule, `grade show` and `grade start` of a quiz, `--out -`, tolerances
with one key, and a Moodle export that holds every credit exactly and no float noise."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import REPO, run_grade, write
from grader.course import Course
from grader.quiz.run import open_quiz
from grader.quiz.spec import QuestionType

QUIZ = """\
kind: quiz
id: q09
title: Edge cases
mode: practice
intro: |
  Every number: give at least 4 significant figures. The loss of a batch is the **mean**
  over its examples; `ln` is the natural log.
questions:
  - id: exact
    type: numeric
    text: "What is 0.11 x 5?"
    value: 0.55
    sigfigs: 4
    misconceptions:
      - id: halved
        title: half of it
        hint: Do not halve.
        formula: solutions.edges.halved
        credit: {credit}
  - id: scaled
    type: numeric
    text: "A model outputs p = {{p}}. What is five times p, the **scaled** output (`5 * p`)?"
    params:
      p: {{choice: [0.2], digits: 2}}
    answer: solutions.edges.scaled
    sigfigs: 4
    misconceptions:
      - id: doubled
        title: twice p instead of five times
        hint: Multiply by 5.
        formula: solutions.edges.doubled
  - id: relative
    type: numeric
    text: "A model outputs p = {{p}}. What is three times p?"
    params:
      p: {{choice: [0.3], digits: 1}}
    answer: solutions.edges.tripled
    tolerance: {{rtol: 1.0e-3}}
  - id: absolute
    type: numeric
    text: "What is 1 + 1?"
    value: 2.0
    tolerance: {{atol: 0.01}}
  - id: which
    type: single
    text: Which loss for regression?
    options:
      - {{text: MSE, correct: true}}
      - {{text: BCE}}
"""

SOLUTION = """\
def halved():
    return 0.275


def scaled(p):
    return 5 * p


def doubled(p):
    return 2 * p


def tripled(p):
    return 3 * p  # 3 * 0.3 = 0.8999999999999999 in floats
"""


def make_course(root: Path, credit: str = "0.5") -> Path:
    write(root / "exercises" / "q09.yaml", QUIZ.format(credit=credit))
    write(root / "solutions" / "__init__.py", "")
    write(root / "solutions" / "edges.py", SOLUTION)
    return root


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course")


def _grade(course: Path, tmp_path: Path, answers: str, *args: str) -> tuple[int, str]:
    path = write(tmp_path / "answers.yaml", f"quiz: q09\nstudent: ann\n{answers}")
    result = run_grade("q09", "--answers", str(path), "--course", str(course), *args)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout


def _tests(course: Path, tmp_path: Path, answers: str) -> dict[str, dict]:
    import json

    _, out = _grade(course, tmp_path, answers, "--format", "json")
    return {t["name"]: t for t in json.loads(out)["tests"]}


# --- significant figures --------------------------------------------------------------------


@pytest.mark.slow
def test_selftest_proves_sigfigs_questions_whose_keys_end_in_zeros(course: Path) -> None:
    """0.55 and 1.0 to 4 figures are 0.5500 and 1.000: their repr has too few figures."""
    proven = run_grade("selftest", "q09", "--course", str(course))
    assert proven.returncode == 0, proven.stdout
    assert "NOT proven" not in proven.stdout
    assert re.search(r"^  proven$", proven.stdout, re.MULTILINE)


@pytest.mark.slow
def test_a_number_is_judged_by_the_figures_it_is_written_with(course: Path, tmp_path: Path) -> None:
    tests = _tests(course, tmp_path, "answers:\n  exact: 0.5500\n  scaled: 1.000\n")
    assert tests["exact"]["score"] == 1, tests["exact"]
    assert tests["scaled"]["score"] == 1, tests["scaled"]
    flow = _tests(course, tmp_path, "answers: {exact: 0.5500, scaled: 1.00}\n")
    assert flow["exact"]["score"] == 1, flow["exact"]  # a flow mapping keeps the digits too
    assert flow["scaled"]["details"]["message"] == "too few significant figures: 1.00 has 3"

    short = _tests(course, tmp_path, "answers:\n  exact: 0.55\n")["exact"]
    assert short["score"] == 0
    assert short["details"]["message"] == "too few significant figures: 0.55 has 2"
    assert short["details"]["hint"] == "Give at least 4 significant figures."


@pytest.mark.slow
def test_a_refused_number_never_reads_as_right_in_the_report(course: Path, tmp_path: Path) -> None:
    code, out = _grade(course, tmp_path, "answers:\n  exact: 0.55\n  scaled: 0.9999\n")
    assert code == 1
    assert "got 0.55, expected 0.55" not in out
    flat = " ".join(out.split())
    assert "too few significant figures: 0.55 has 2" in flat  # the line and the details
    assert "Give at least 4 significant figures." in flat
    assert "- + -" not in out
    # sigfigs: half a unit of the 4th figure, and no share of |expected|
    assert "(accepted: |got - expected| <= 5e-05 + 0 * |expected|)" in out


@pytest.mark.slow
@pytest.mark.parametrize("quiz_id", Course(REPO).quiz_ids())
def test_the_significant_figure_rule_reads_alike_in_intro_hint_and_docs(
    quiz_id: str, tmp_path: Path
) -> None:
    """The intro states the rule once; a question that says otherwise states its own. The
    key written as stated gets full marks; written with fewer figures, once it is refused
    for them, its hint is the rule in the same words."""
    shown = " ".join(run_grade("show", quiz_id, "--student", "ann").stdout.split())
    stated = re.search(r"[Gg]ive at least (\d+) significant figures", shown)
    assert stated is not None, shown[:600]
    docs = (REPO / "docs" / "quizzes.md").read_text(encoding="utf-8")
    assert '"give at least N significant figures"' in " ".join(docs.split())
    opened = open_quiz(Course(REPO), quiz_id)
    numeric = [p for p in opened.posed("ann") if p.question.type is QuestionType.NUMERIC]
    figures = {}
    for posed in numeric:
        own = re.search(r"[Gg]ive at least (\d+) significant figures", posed.text)
        figures[posed.question.id] = int((own or stated).group(1))
    verdicts = []  # per number of figures fewer than stated: each question's test
    for fewer in range(4):
        lines = [f"quiz: {quiz_id}", "student: ann", "answers:"]
        for posed in numeric:
            n = max(figures[posed.question.id] - fewer, 1)
            lines.append(f"  {posed.question.id}: {posed.variant.answer:#.{n}g}".rstrip("."))
        path = write(tmp_path / f"fewer{fewer}.yaml", "\n".join(lines) + "\n")
        graded = run_grade(quiz_id, "--answers", str(path), "--format", "json")
        verdicts.append({t["name"]: t for t in graded.json()["tests"]})
    told = 0
    for posed in numeric:
        qid = posed.question.id
        full = verdicts[0][qid]
        assert full["score"] == full["max_score"], full
        for tried in verdicts[1:]:
            test = tried[qid]
            if test["details"]["message"].startswith("too few significant figures"):
                assert (
                    test["details"]["hint"] == f"Give at least {figures[qid]} significant figures."
                )
                told += 1
                break
            if test["score"] < test["max_score"]:
                break  # refused for another reason (a misconception's value, say)
    assert told > 0, "no answer with too few figures was refused: the test checks nothing"


# --- tolerances -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_tolerance_with_one_key_keeps_the_others_default(course: Path, tmp_path: Path) -> None:
    validated = run_grade("validate", "--course", str(course))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # relative: 0.9 with rtol 1e-3 (atol 1e-9): 0.9008 is in, 0.9012 out.
    # absolute: 2 with atol 0.01 and rtol 1e-3: 2.011 is in, 2.013 out.
    inside = _tests(course, tmp_path, "answers:\n  relative: 0.9008\n  absolute: 2.011\n")
    assert (inside["relative"]["score"], inside["absolute"]["score"]) == (1, 1)
    outside = _tests(course, tmp_path, "answers:\n  relative: 0.9012\n  absolute: 2.013\n")
    assert (outside["relative"]["score"], outside["absolute"]["score"]) == (0, 0)


@pytest.mark.slow
def test_a_range_without_digits_is_refused(course: Path) -> None:
    text = (course / "exercises" / "q09.yaml").read_text()
    write(
        course / "exercises" / "q09.yaml",
        text.replace("p: {choice: [0.2], digits: 2}", "p: {uniform: [0.1, 0.9]}"),
    )
    result = run_grade("validate", "--course", str(course))
    assert result.returncode == 2
    assert "q09.yaml:" in result.stdout
    assert "'p' is drawn from a range without 'digits'" in result.stdout


# --- grade show, grade start, --out - -------------------------------------------------------


@pytest.mark.slow
def test_grade_show_prints_a_quiz_with_the_students_numbers_rendered_and_wrapped(
    course: Path,
) -> None:
    result = run_grade(
        "show", "q09", "--student", "ann", "--course", str(course), env={"COLUMNS": "50"}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "p = 0.20." in out  # digits: 2, not 0.2
    assert "p = 0.3." in out
    assert "**" not in out  # Markdown rendered, not shown raw
    assert "`" not in out
    assert "the scaled output (5 * p)" in " ".join(out.split())
    assert "  a) MSE" in out
    assert all(len(line) <= 50 for line in out.splitlines()), out


@pytest.mark.slow
def test_grade_show_shows_a_hostile_student_id_as_escapes(course: Path) -> None:
    """The student id is anyone's text: a terminal escape in it is shown, never acted on."""
    result = run_grade("show", "q09", "--student", "ann\x1b[2J\u202e", "--course", str(course))
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "ann\\x1b[2J\\u202e" in result.stdout


@pytest.mark.slow
def test_grade_show_of_a_shipped_quiz_shows_the_templates_numbers() -> None:
    shown = run_grade("show", "q01", "--student", "ann")
    assert shown.returncode == 0, shown.stderr
    template = run_grade("q01", "--template", "--student", "ann", "--out", "-")
    assert template.returncode == 0, template.stderr
    for numbers in re.findall(r"p = \[[^\]]*\]|p = [0-9.]+", " ".join(template.stdout.split())):
        assert numbers in " ".join(shown.stdout.split())
    assert "0.4878441320948962" not in shown.stdout
    assert "there is no exercise" not in shown.stderr


@pytest.mark.slow
def test_grade_start_writes_the_quizs_answers_file(course: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    started = run_grade("start", "q09", "--student", "ann", "--course", str(course), cwd=work)
    assert started.returncode == 0, started.stderr
    written = (work / "q09-answers.yaml").read_text(encoding="utf-8")
    template = run_grade(
        "q09", "--template", "--student", "ann", "--out", "-", "--course", str(course)
    )
    assert written == template.stdout
    again = run_grade("start", "q09", "--student", "ann", "--course", str(course), cwd=work)
    assert again.returncode == 2
    assert "already exists" in again.stderr


@pytest.mark.slow
def test_out_dash_is_standard_output(course: Path, tmp_path: Path) -> None:
    template = run_grade(
        "q09", "--template", "--student", "ann", "--out", "-", "--course", str(course), cwd=tmp_path
    )
    assert template.returncode == 0, template.stderr
    assert template.stdout.startswith("# q09: Edge cases. Answers of student ann.")
    exported = run_grade("export", "q09", "--out", "-", "--course", str(course), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    ElementTree.fromstring(exported.stdout.encode("utf-8"))  # the XML alone on stdout
    assert not (tmp_path / "-").exists()
    taken = run_grade("q09", "--out", "-", "--course", str(course), cwd=tmp_path)
    assert taken.returncode == 2
    assert "'-' (standard output) is for --template" in taken.stderr
    assert not (tmp_path / "-").exists()


# --- Moodle ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_credit_moodle_cannot_hold_is_refused_with_its_place(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", credit="0.37")
    out = tmp_path / "q09.xml"
    refused = run_grade("export", "q09", "--out", str(out), "--course", str(course))
    assert refused.returncode == 2
    assert re.search(
        r"q09\.yaml:\d+:\d+: question 'exact': misconception 'halved' has credit 0\.37",
        refused.stderr,
    )
    assert "Moodle cannot hold" in refused.stderr
    assert "(0.3333333 or 0.4)" in refused.stderr
    assert not out.exists()
    # validate says so too, at the same place, as a note that does not fail the course.
    validated = run_grade("validate", "--course", str(course))
    assert validated.returncode == 0, validated.stdout
    assert re.search(
        r"^note: .*q09\.yaml:\d+:\d+: question 'exact': misconception 'halved' has credit "
        r"0\.37, which Moodle cannot hold",
        validated.stdout,
        re.MULTILINE,
    )
    rounded = run_grade(
        "export", "q09", "--out", str(out), "--round-credits", "--course", str(course)
    )
    assert rounded.returncode == 0, rounded.stderr
    assert "warning: rounded for Moodle" in rounded.stderr
    halved = [a for a in ElementTree.parse(out).iter("answer") if a.findtext("text") == "0.275"]
    assert [a.get("fraction") for a in halved] == ["40"]


@pytest.mark.slow
def test_moodle_numbers_carry_no_float_noise(course: Path) -> None:
    exported = run_grade("export", "q09", "--out", "-", "--course", str(course))
    assert exported.returncode == 0, exported.stderr
    root = ElementTree.fromstring(exported.stdout.encode("utf-8"))
    numbers = [a.findtext("text") or "" for a in root.iter("answer")]
    numbers += [a.findtext("tolerance") or "" for a in root.iter("answer")]
    assert "0.9" in numbers  # 3 * 0.3, which floats make 0.8999999999999999
    assert "5e-05" in numbers  # half a unit of the 4th figure of 0.55
    noisy = [n for n in numbers if re.search(r"0{6,}[1-9]|9{6,}", n)]
    assert not noisy
