"""`grade export QUIZ --format moodle-xml`: the file Moodle imports, read back with a real
XML parser (and its HTML with an HTML parser), and Moodle's rule for numerical answers
(the first answer, in the file's order, whose tolerance holds the response) checked to
grade every probe as our engine does."""

from __future__ import annotations

import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from conftest import QUIZ_SOLUTION, REPO, run_grade, write
from grader.course import Course
from grader.errors import GraderError
from grader.quiz.grading import judge, pose
from grader.quiz.moodle import option_fractions
from grader.quiz.moodle_xml import FRACTIONS, moodle_fraction
from grader.quiz.spec import Option, Partial, Quiz
from grader.quiz.variants import solution_loader

VARIANTS = 5

SOLUTION = (
    QUIZ_SOLUTION
    + """

def fixed_log2():
    return bce(0.8, 1) / math.log(2)
"""
)

QUIZ = """\
kind: quiz
id: q01
title: Demo quiz
mode: practice
intro: |
  The loss of a batch is the **mean** over its examples; `ln` is the natural log.
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
        credit: 0.5
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
        credit: 0.25
    feedback:
      correct: Right, the mean.
      wrong: "Average the losses: sum / n."
  - id: fixed
    type: numeric
    text: "p = 0.8, y = 1: what is -ln(p)? (Natural log; a < b && c > d.)"
    value: 0.2231435513142097
    tolerance: {rtol: 2.0e-3, atol: 1.0e-4}
    misconceptions:
      - mistake: ex01.log2
        formula: solutions.qz.fixed_log2
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
      - {text: "<b>not bold</b> & ReLU"}
      - {text: softmax}
  - id: cover
    type: multiple
    partial: coverage
    shuffle: false
    text: Which are convex in the prediction?
    options:
      - {text: MSE, correct: true}
      - {text: MAE, correct: true}
      - {text: BCE, correct: true}
      - {text: "sin(p)"}
  - id: strict
    type: multiple
    partial: "off"
    text: Which take probabilities?
    options:
      - {text: BCE, correct: true}
      - {text: CCE, correct: true}
      - {text: MSE}
  - id: tf
    type: truefalse
    text: "For p < 0.5 & y = 1, the loss -ln(p) > ln 2."
    answer: true
    feedback:
      "true": "Right: -ln(p) > -ln(0.5) = ln 2 when p < 0.5."
      "false": "-ln(p) grows as p falls: p < 0.5 gives more than ln 2."
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("moodle") / "course"
    (root / "exercises").mkdir(parents=True)
    shutil.copy(REPO / "exercises" / "ex01.yaml", root / "exercises")
    shutil.copytree(REPO / "solutions", root / "solutions")
    write(root / "solutions" / "qz.py", SOLUTION)
    write(root / "exercises" / "q01.yaml", QUIZ)
    return root


@pytest.fixture(scope="module")
def exported(course: Path) -> str:
    out = course.parent / "q01.xml"
    result = run_grade(
        "export", "q01", "--variants", str(VARIANTS), "--out", str(out), "--course", str(course)
    )
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def root(exported: str) -> ElementTree.Element:
    return ElementTree.fromstring(exported.encode("utf-8"))


@pytest.fixture(scope="module")
def quiz(course: Path) -> Quiz:
    return Course(course).load_quiz("q01")


def _questions(root: ElementTree.Element, kind: str | None = None) -> list[ElementTree.Element]:
    return [
        q
        for q in root.findall("question")
        if q.get("type") != "category" and (kind is None or q.get("type") == kind)
    ]


def _named(root: ElementTree.Element, name: str) -> ElementTree.Element:
    (found,) = [q for q in _questions(root) if q.findtext("name/text") == name]
    return found


def _answers(question: ElementTree.Element) -> list[tuple[float, str, float, str]]:
    """(fraction, text, tolerance, feedback HTML) of each answer, in the file's order."""
    return [
        (
            float(a.get("fraction", "nan")),
            a.findtext("text", ""),
            float(a.findtext("tolerance") or 0),
            a.findtext("feedback/text") or "",
        )
        for a in question.findall("answer")
    ]


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def _html(fragment: str) -> _Html:
    parser = _Html()
    parser.feed(fragment)
    parser.close()
    return parser


@pytest.mark.slow
def test_the_file_is_a_moodle_quiz_that_opens_with_its_category(
    exported: str, root: ElementTree.Element
) -> None:
    assert exported.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    assert root.tag == "quiz"
    first = root[0]
    assert first.get("type") == "category"
    assert first.findtext("category/text") == "$course$/grader/q01"
    assert "Demo quiz" in _html(first.findtext("info/text") or "").text
    categories = [q.findtext("category/text") for q in root if q.get("type") == "category"]
    # each question with parameters has a category of its own, to draw a random variant from
    assert "$course$/grader/q01/one" in categories
    assert "$course$/grader/q01/batch" in categories
    for question in _questions(root):
        assert question.findtext("name/text")
        assert question.find("questiontext").get("format") == "html"  # type: ignore[union-attr]
        assert question.find("generalfeedback") is not None
        assert question.findtext("defaultgrade") is not None
        assert question.findtext("penalty") is not None
    intro = _named(root, "q01 intro")
    assert intro.get("type") == "description"
    assert "strong" in _html(intro.findtext("questiontext/text") or "").tags
    assert _named(root, "one v1").findtext("defaultgrade") == "2"


@pytest.mark.slow
def test_each_question_with_parameters_is_one_question_per_variant(
    root: ElementTree.Element,
) -> None:
    numerical = [q.findtext("name/text") for q in _questions(root, "numerical")]
    for qid in ("one", "batch"):
        names = [f"{qid} v{k}" for k in range(1, VARIANTS + 1)]
        assert [n for n in numerical if n and n.startswith(f"{qid} ")] == names
        texts = {_named(root, n).findtext("questiontext/text") for n in names}
        assert len(texts) == VARIANTS  # each with its own numbers
    assert "fixed" in numerical
    assert len(numerical) == 2 * VARIANTS + 1


@pytest.mark.slow
def test_answers_are_the_engines_and_tolerances_tell_them_apart(
    root: ElementTree.Element, quiz: Quiz, course: Path
) -> None:
    load = solution_loader(course)
    questions = {q.id: q for q in quiz.questions}
    credits = {"one": [100, 0, 50], "batch": [100, 25, 0], "fixed": [100, 0]}
    checked = 0
    for element in _questions(root, "numerical"):
        name = element.findtext("name/text") or ""
        qid, _, k = name.partition(" v")
        posed = pose(quiz, questions[qid], f"variant-{k or 1}", load)
        answers = [a for a in _answers(element) if a[1] != "*"]
        assert [a[0] for a in _answers(element)] == credits[qid]
        fraction, text, tolerance, _ = answers[0]
        right = float(text)
        assert fraction == 100
        assert right == pytest.approx(posed.variant.answer, rel=1e-14)  # 15 figures, no noise
        assert tolerance > 0
        for _, wrong_text, wrong_tolerance, _ in answers[1:]:
            wrong = float(wrong_text)
            assert abs(wrong - right) > tolerance  # the right answer never takes a mistake
            assert abs(right - wrong) > wrong_tolerance  # nor a mistake the right answer
        assert [float(a[1]) for a in answers[1:]] == pytest.approx(
            list(posed.variant.wrong.values()), rel=1e-14
        )
        checked += 1
    assert checked == 2 * VARIANTS + 1


@pytest.mark.slow
def test_moodle_grades_every_probe_as_the_engine_does(
    root: ElementTree.Element, quiz: Quiz, course: Path
) -> None:
    """Moodle's numerical rule, simulated: the first answer whose interval holds the
    response gives its grade. Probes sit on each value, inside and just outside each
    tolerance, where the order of the answers decides."""
    load = solution_loader(course)
    questions = {q.id: q for q in quiz.questions}
    for element in _questions(root, "numerical"):
        name = element.findtext("name/text") or ""
        qid, _, k = name.partition(" v")
        posed = pose(quiz, questions[qid], f"variant-{k or 1}", load)
        answers = [a for a in _answers(element) if a[1] != "*"]
        for _, text, tolerance, _ in answers:
            for step in (0.0, 0.5, 0.999, 1.001, -0.5, -0.999, -1.001):
                probe = float(text) + step * tolerance
                moodle = next(
                    (f / 100 for f, t, tol, _ in answers if abs(probe - float(t)) <= tol), 0.0
                )
                ours = judge(posed, repr(probe), practice=True).score / posed.question.points
                assert moodle == pytest.approx(moodle_fraction(ours)), (name, probe)


@pytest.mark.slow
def test_misconceptions_carry_feedback_that_names_them(
    root: ElementTree.Element, course: Path
) -> None:
    ex01 = yaml.safe_load((course / "exercises" / "ex01.yaml").read_text())
    log2 = next(m for m in ex01["mistakes"] if m["id"] == "log2")
    mean = next(m for m in ex01["mistakes"] if m["id"] == "sum_not_mean")
    for k in range(1, VARIANTS + 1):
        _, (_, text, _, feedback), (_, _, _, minus) = _answers(_named(root, f"one v{k}"))
        shown = _html(feedback)
        assert log2["title"] in shown.text  # the exercise's own wording
        assert log2["hint"] in shown.text
        # at the 4 significant figures the question asks for, as a student writes it
        assert f"(this formula gives {float(text):#.4g} for your numbers)" in shown.text
        assert "missing minus" in _html(minus).text
        _, (_, _, _, feedback), (fraction, star, _, wrong) = _answers(_named(root, f"batch v{k}"))
        assert mean["title"] in _html(feedback).text
        assert (fraction, star) == (0, "*")  # any other number: the question's 'wrong'
        assert "Average the losses" in _html(wrong).text
    (_, _, _, right), *_ = _answers(_named(root, "batch v1"))
    assert _html(right).text == "Right, the mean."


@pytest.mark.slow
def test_choice_questions_grade_as_their_partial_rule(root: ElementTree.Element) -> None:
    which = _named(root, "which")
    assert which.get("type") == "multichoice"
    assert which.findtext("single") == "true"
    assert which.findtext("answernumbering") == "abc"
    assert which.findtext("shuffleanswers") == "true"
    fractions = [a[0] for a in _answers(which)]
    assert sorted(fractions) == [0, 0, 100]
    assert "squared errors" in _html(_answers(which)[0][3]).text

    many = _named(root, "many")  # net-correct: exactly Moodle's sum, clipped at 0
    assert many.findtext("single") == "false"
    assert [a[0] for a in _answers(many)] == [50, 50, -50, -50]

    cover = _named(root, "cover")  # coverage: any wrong tick makes the sum <= 0
    assert cover.findtext("shuffleanswers") == "false"
    fractions = [a[0] for a in _answers(cover)]
    assert sum(f for f in fractions if f > 0) == pytest.approx(100, abs=1e-3)
    assert fractions[-1] == -100

    strict = _named(root, "strict")  # off: the closest Moodle has
    assert [a[0] for a in _answers(strict)] == [50, 50, -100]


@pytest.mark.slow
def test_true_false_keeps_its_key_and_feedback(root: ElementTree.Element) -> None:
    tf = _named(root, "tf")
    assert tf.get("type") == "truefalse"
    (true, t_text, _, t_feedback), (false, f_text, _, f_feedback) = _answers(tf)
    assert (t_text, true, f_text, false) == ("true", 100, "false", 0)
    assert _html(t_feedback).text.startswith("Right: -ln(p) > -ln(0.5)")
    assert _html(f_feedback).text.startswith("-ln(p) grows as p falls: p < 0.5")


@pytest.mark.slow
def test_text_with_markup_characters_is_shown_as_written(
    exported: str, root: ElementTree.Element
) -> None:
    tf = _html(_named(root, "tf").findtext("questiontext/text") or "")
    assert tf.text == "For p < 0.5 & y = 1, the loss -ln(p) > ln 2."
    assert tf.tags == ["p"]
    fixed = _html(_named(root, "fixed").findtext("questiontext/text") or "")
    assert "(Natural log; a < b && c > d.)" in fixed.text
    option = _html(_answers(_named(root, "many"))[2][1])
    assert option.text == "<b>not bold</b> & ReLU"
    assert "b" not in option.tags  # escaped, not markup
    # escaped twice in the file: once as HTML, once as XML text
    assert "p &amp;lt; 0.5 &amp;amp; y = 1" in exported


@pytest.mark.slow
def test_exporting_an_unknown_quiz_is_exit_2_and_says_which_exist(course: Path) -> None:
    result = run_grade("export", "nosuch", "--course", str(course))
    assert result.returncode == 2
    assert "there is no quiz 'nosuch'" in result.stderr
    assert "q01" in result.stderr
    assert "Traceback" not in result.stderr


def test_grades_are_ones_moodle_imports(quiz: Quiz) -> None:
    assert moodle_fraction(0.35) == pytest.approx(1 / 3, abs=1e-6)
    assert moodle_fraction(0.5) == 0.5
    assert moodle_fraction(-0.26) == -0.25
    assert len(FRACTIONS) == 41
    many = next(q for q in quiz.questions if q.id == "many")
    eleven = replace(many, options=tuple(Option(str(i), True, None) for i in range(11)))
    with pytest.raises(GraderError, match="11 correct options"):
        option_fractions(eleven)
    each = replace(many, partial=Partial.EACH_ANSWER)
    assert option_fractions(each) == [0.5, 0.5, -0.5, -0.5]
