"""Golden submissions: every correct style gets full marks, every known mistake does not.

Submissions live in tests/fixtures/submissions/<exercise>/: `good_*.py` and `bad_*.py`.
A new style or mistake is a new file; this module finds it. Each is graded through the CLI
with two seeds, as a student would run it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO, SUBMISSIONS, run_grade
from grader.course import Course
from grader.exercise.spec import load_exercise

EXERCISES = Course(REPO).exercise_ids()
GOOD = sorted(SUBMISSIONS.glob("ex*/good_*.py"))
BAD = sorted(SUBMISSIONS.glob("ex*/bad_*.py"))
SEEDS = (0, 20261124)

#: Mistakes whose report must say what is wrong in words, beyond a wrong number.
MESSAGES = {
    "bad_mutates_input": "in place",
    "bad_returns_array": "not one real number",
    "bad_returns_list": "not one real number",
    "bad_no_clip": ("NaN", "infinity"),
    "bad_no_clip_nan": "NaN",
    "bad_raises": "raised",
    "bad_missing_minus": "minus sign",
}


def _declared_mistake(path: Path) -> str | None:
    """The mistake a bad fixture makes, from its '# mistake: <id>' line."""
    match = re.search(r"^# mistake: (\w+)$", path.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_declared_mistake_has_a_submission_that_makes_it(exercise: str) -> None:
    declared = {m.id for m in load_exercise(REPO / "exercises" / f"{exercise}.yaml").mistakes}
    assert len(declared) >= 8
    covered = {_declared_mistake(p) for p in BAD if p.parent.name == exercise}
    assert declared <= covered, f"no fixture makes {sorted(declared - covered)}"


def test_there_are_fixtures_for_every_exercise() -> None:
    for exercise in EXERCISES:
        assert len([p for p in GOOD if p.parent.name == exercise]) >= 5
        assert len([p for p in BAD if p.parent.name == exercise]) >= 6


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", GOOD, ids=_id)
def test_every_correct_style_gets_full_marks(path: Path, seed: int) -> None:
    result = run_grade(
        path.parent.name, "--file", str(path), "--format", "json", "--seed", str(seed)
    )
    report = result.json()
    failing = [f"{t['name']}: {t['output']}" for t in report["tests"] if t["status"] != "passed"]
    assert failing == [], report["error"]
    assert report["score"] == report["max_score"]
    assert result.returncode == 0
    assert report["diagnosis"] is None, "a correct submission gets no diagnosis"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", BAD, ids=_id)
def test_every_known_mistake_fails_on_a_visible_case(path: Path, seed: int) -> None:
    result = run_grade(
        path.parent.name, "--file", str(path), "--format", "json", "--seed", str(seed)
    )
    assert result.returncode == 1
    report = result.json()
    assert report["score"] < report["max_score"]
    visible = [t for t in report["tests"] if t["visibility"] == "visible"]
    assert any(t["status"] != "passed" for t in visible), "a student must be able to see why"
    declared = _declared_mistake(path)
    diagnosis = report["diagnosis"]
    if declared == "none":
        assert diagnosis["checked"] > 0
        assert diagnosis["mistakes"] == [], "nothing known matches: the report must say so"
    elif declared is not None:
        named = [m["id"] for m in diagnosis["mistakes"]]
        assert declared in named, f"expected the diagnosis {declared!r}, got {named}"
        assert len(named) <= 2, f"a diagnosis naming {named} is a guess"
    expected = MESSAGES.get(path.stem)
    if expected is not None:
        phrases = (expected,) if isinstance(expected, str) else expected
        outputs = report["output"] + " ".join(t["output"] for t in report["tests"])
        assert any(p in outputs for p in phrases), outputs[:2000]
