"""The registry of quiz question types: every type is documented, accepted by the schema,
and a question of it goes template -> filled answers file -> full marks for its key."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.quiz.moodle import export_moodle
from grader.quiz.run import OpenQuiz, grade_answers, write_template
from grader.quiz.spec import load_quiz
from grader.quiz.types import QUESTION_TYPES, QuestionType
from grader.quiz.variants import solution_loader

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "quizzes.md"
SCHEMA = REPO / "grader" / "schema" / "quiz.schema.json"

#: One question of each type, as a quiz file writes it, and its right answer as an answers
#: file writes it. Options are not shuffled, so the right letters are the file's.
EXAMPLES: dict[str, tuple[str, str]] = {
    "numeric": (
        "type: numeric\n    text: The mean of 0.2 and 0.3?\n    value: 0.25",
        '"0.25"',
    ),
    "single": (
        "type: single\n    text: Which loss for regression?\n    shuffle: false\n"
        "    options:\n      - {text: BCE}\n      - {text: MSE, correct: true}",
        "b",
    ),
    "multiple": (
        "type: multiple\n    text: Which losses take probabilities?\n    shuffle: false\n"
        "    options:\n      - {text: BCE, correct: true}\n      - {text: MSE}\n"
        "      - {text: CCE, correct: true}",
        "a, c",
    ),
    "truefalse": ("type: truefalse\n    text: BCE is never negative.\n    answer: true", "true"),
}


def _schema_types() -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return list(schema["properties"]["questions"]["items"]["properties"]["type"]["enum"])


def _open(root: Path, name: str) -> OpenQuiz:
    """A course holding one quiz, q01, of one question of type `name`."""
    question, _ = EXAMPLES[name]
    exercises = root / "exercises"
    exercises.mkdir(parents=True)
    (exercises / "q01.yaml").write_text(
        f"kind: quiz\nid: q01\ntitle: One {name} question\nmode: practice\n"
        f"questions:\n  - id: it\n    points: 2\n    {question}\n",
        encoding="utf-8",
    )
    return OpenQuiz(load_quiz(exercises / "q01.yaml"), solution_loader(root))


def test_each_entry_is_the_class_of_its_own_name_and_a_question_type() -> None:
    assert all(kind.name == name for name, kind in QUESTION_TYPES.items())
    assert [t.value for t in QuestionType] == list(QUESTION_TYPES)


def test_the_schema_offers_exactly_the_registered_types() -> None:
    """A type only in the schema would pass the schema and have no class to check it."""
    assert sorted(_schema_types()) == sorted(QUESTION_TYPES)


@pytest.mark.parametrize("name", list(QUESTION_TYPES))
def test_every_question_type_is_in_the_quiz_guide(name: str) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert f"| `{name}` |" in guide, f"docs/quizzes.md has no row for type {name} (Question types)"


@pytest.mark.parametrize("name", list(QUESTION_TYPES))
def test_every_question_type_has_an_example_here(name: str) -> None:
    assert name in EXAMPLES, f"add a question of type {name} and its key to EXAMPLES above"


@pytest.mark.parametrize("name", list(QUESTION_TYPES))
def test_every_question_type_is_accepted_by_the_schema(name: str, tmp_path: Path) -> None:
    assert name in _schema_types()
    opened = _open(tmp_path, name)  # load_quiz runs the schema, then the type's checks
    assert [q.type for q in opened.quiz.questions] == [name]


@pytest.mark.parametrize("name", list(QUESTION_TYPES))
def test_every_question_type_round_trips_from_its_template_to_full_marks(
    name: str, tmp_path: Path
) -> None:
    opened = _open(tmp_path / "course", name)
    path = write_template(opened, "alice", tmp_path / "answers.yaml", force=False)
    blank = path.read_text(encoding="utf-8")
    assert f"answer with {QUESTION_TYPES[name].how})" in blank
    assert grade_answers(opened, path, None).score == 0

    _, key = EXAMPLES[name]
    filled = blank.replace("\n  it:\n", f"\n  it: {key}\n")
    assert filled != blank, "the template has no line '  it:' to answer on"
    path.write_text(filled, encoding="utf-8")
    report = grade_answers(opened, path, None)
    assert report.student == "alice"
    assert (report.score, report.max_score) == (2, 2), report.tests[0].message
    assert report.tests[0].kind == name


@pytest.mark.parametrize("name", list(QUESTION_TYPES))
def test_every_question_type_exports_a_moodle_question(name: str, tmp_path: Path) -> None:
    opened = _open(tmp_path, name)
    root = ET.fromstring(export_moodle(opened.quiz, opened.load).encode("utf-8"))
    questions = [q for q in root.iter("question") if q.get("type") != "category"]
    assert [q.findtext("name/text") for q in questions] == ["it"]
    assert questions[0].findtext("defaultgrade") == "2"
