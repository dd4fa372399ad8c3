"""Exercise files: the shipped ones load; every broken one is named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, write
from grader.errors import SpecError
from grader.exercise.spec import CaseKind, Compare, Visibility, load_exercise

GOOD = """\
id: demo
title: Demo
statement: Compute it.
entry:
  function: f
  params:
    - {name: y_true, description: labels}
    - {name: y_pred, description: probabilities}
  returns: a float
reference: solutions.demo.f
tolerance: {rtol: 1.0e-4, atol: 1.0e-9}
clip: {param: eps, min: 1e-15, max: 1e-5}
points: 3
cases:
  - name: one
    args: {y_true: [1], y_pred: [0.5]}
  - name: two
    generate: {generator: binary, n: 5}
    repeat: 2
"""


def load_text(tmp_path: Path, text: str, name: str = "demo.yaml") -> object:
    return load_exercise(write(tmp_path / name, text))


@pytest.mark.parametrize("exercise", ["ex01", "ex02", "ex03", "ex04"])
def test_shipped_exercises_load(exercise: str) -> None:
    loaded = load_exercise(REPO / "exercises" / f"{exercise}.yaml")
    assert loaded.id == exercise
    assert loaded.points == sum(c.points * c.repeat for c in loaded.cases)
    kinds = {c.kind for c in loaded.cases}
    assert kinds == {CaseKind.FIXED, CaseKind.RANDOM, CaseKind.EDGE}
    assert {c.visibility for c in loaded.cases} == {Visibility.VISIBLE, Visibility.HIDDEN}


def test_a_good_file_loads_with_defaults_and_plain_float_exponents(tmp_path: Path) -> None:
    exercise = load_exercise(write(tmp_path / "demo.yaml", GOOD))
    assert exercise.clip is not None
    assert exercise.clip.min == 1e-15
    first, second = exercise.cases
    assert first.kind is CaseKind.FIXED
    assert second.kind is CaseKind.RANDOM
    assert first.visibility is Visibility.VISIBLE
    assert first.compare is Compare.VALUE
    assert second.tolerance == exercise.tolerance
    assert exercise.entry.signature == "def f(y_true, y_pred):"


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("points: 3", "points: 4"), 13, "cases add up to 3"),
        (("  - name: two", "  - name: one"), 17, "two cases are named 'one'"),
        (("{y_true: [1], y_pred: [0.5]}", "{y_true: [1]}"), 16, "args give ['y_true']"),
        (("rtol: 1.0e-4", "rtol: -1"), 11, "tolerance.rtol: -1 is less than the minimum"),
        (("title: Demo", "title: Demo\ntitel: typo"), 3, "unknown key 'titel'"),
        (("    repeat: 2", "    repeat: 2\n    expect: 1.0"), 20, "'expect' is only meaningful"),
        (("id: demo", "id: other"), 1, "does not match the file name"),
        (("  - name: one\n", "  - name: one\n    compare: nope\n"), 16, "is not one of"),
        (("    generate: {generator: binary, n: 5}\n", ""), 17, "exactly one of 'args'"),
    ],
)
def test_broken_files_are_reported_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(SpecError) as info:
        load_text(tmp_path, text)
    assert info.value.where is not None
    assert info.value.where.startswith(f"{tmp_path / 'demo.yaml'}:{line}:")
    assert message in info.value.what


def test_invalid_yaml_points_at_the_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_text(tmp_path, GOOD.replace("points: 3", "points: [3"))
    assert "[" in info.value.what
    assert info.value.where is not None
    assert ":14:" in info.value.where


def test_duplicate_keys_are_an_error_not_silently_merged(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="duplicate key 'points'") as info:
        load_text(tmp_path, GOOD + "points: 5\n")
    assert info.value.where is not None
    assert ":20:" in info.value.where


def test_empty_and_unreadable_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="empty"):
        load_text(tmp_path, "")
    with pytest.raises(SpecError, match="cannot read"):
        load_exercise(tmp_path / "missing.yaml")
