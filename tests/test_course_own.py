"""A course of one's own, as a new instructor meets it: its own words in every file grade
writes (course.yaml), validate that finds a mistake equal to the reference, reports each
problem once, in line order, with the nearest key, and shows the name-keyed form of args;
`grade show --cases` to see what cases draw; a release that ships only what selftest
proves, whole or not at all; and the nearest id for a mistyped one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO, run_grade, write

#: Words of the shipped course (the loss functions) that another course must never meet.
LOSS_WORDS = ("np.log", "logarithm", "loss functions", "neural network")

LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<what>.+)$", re.MULTILINE)


def _new(tmp_path: Path, exercise: str = "huber") -> Path:
    course = tmp_path / "huber-course"
    course.mkdir()
    created = run_grade("new", exercise, "--title", "Huber loss", cwd=course)
    assert created.returncode == 0, created.stderr
    return course


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _problems(stdout: str) -> list[tuple[str, int, str]]:
    return [(Path(m["file"]).name, int(m["line"]), m["what"]) for m in LINE.finditer(stdout)]


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


# --- the course's own words -------------------------------------------------------------------


@pytest.mark.slow  # a release
def test_a_course_without_a_course_file_gets_neutral_words_everywhere(tmp_path: Path) -> None:
    course = _new(tmp_path)
    (course / "course.yaml").unlink()
    started = run_grade("start", "huber", cwd=course)
    assert started.returncode == 0, started.stderr
    starter = (course / "huber.py").read_text()
    assert "# Your code here.\n" in starter
    out = tmp_path / "bundle"
    released = run_grade("release", str(out), "--seeds", "1", cwd=course)
    assert released.returncode == 0, released.stderr
    readme = (out / "README.md").read_text()
    assert readme.startswith("# Exercises\n")
    assert "grade show huber" in readme
    assert "ex01" not in readme
    for text in (starter, readme, (out / "huber.py").read_text()):
        for word in LOSS_WORDS:
            assert word not in text, word


@pytest.mark.slow  # a release
def test_the_course_file_words_the_starters_and_the_bundle(tmp_path: Path) -> None:
    course = _new(tmp_path)
    write(
        course / "course.yaml",
        "title: Robuste Regression\n"
        "description: |\n  Übungen zu robusten Verlustfunktionen.\n"
        "starter:\n  comment: Hier Ihren Code schreiben.\n"
        "  imports:\n    numpy: import numpy\n",
    )
    assert run_grade("validate", cwd=course).returncode == 0
    assert run_grade("start", "huber", cwd=course).returncode == 0
    starter = (course / "huber.py").read_text()
    assert "    # Hier Ihren Code schreiben.\n" in starter
    assert "\nimport numpy\n" in starter
    assert "import numpy as np" not in starter
    out = tmp_path / "bundle"
    assert run_grade("release", str(out), "--seeds", "1", cwd=course).returncode == 0
    readme = (out / "README.md").read_text()
    assert readme.startswith("# Robuste Regression\n\nÜbungen zu robusten Verlustfunktionen.\n")
    assert "# Hier Ihren Code schreiben." in (out / "huber.py").read_text()
    # The bundle keeps the course's words: a student's `grade start` there uses them too.
    (out / "huber.py").unlink()
    assert run_grade("start", "huber", cwd=out).returncode == 0
    assert "# Hier Ihren Code schreiben." in (out / "huber.py").read_text()


def test_a_pure_python_exercise_gets_a_starter_without_imports(tmp_path: Path) -> None:
    course = _new(tmp_path)
    _edit(course / "exercises" / "huber.yaml", "packages: [numpy]", "packages: []")
    assert run_grade("start", "huber", cwd=course).returncode == 0
    assert "import" not in (course / "huber.py").read_text()


def test_the_shipped_course_says_its_own_words_from_its_course_file(tmp_path: Path) -> None:
    started = run_grade("start", "ex01", "--course", str(REPO), cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert "use the natural logarithm, np.log" in (tmp_path / "ex01.py").read_text()
    assert "np.log" in (REPO / "course.yaml").read_text()
    for template in ("starter.py.j2", "bundle_readme.md.j2"):
        text = (REPO / "grader" / "templates" / template).read_text()
        for word in LOSS_WORDS:
            assert word not in text, (template, word)


def test_grade_new_writes_a_course_file_once_and_never_rewrites_it(tmp_path: Path) -> None:
    course = _new(tmp_path)
    text = (course / "course.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=exercises/course.schema.json\n")
    assert 'title: "Huber course"' in text
    assert (course / "exercises" / "course.schema.json").is_file()
    write(course / "course.yaml", "title: Mine\n")
    again = run_grade("new", "ex02", cwd=course)
    assert again.returncode == 0, again.stderr
    assert "course.yaml" not in again.stdout
    assert (course / "course.yaml").read_text() == "title: Mine\n"


def test_a_broken_course_file_is_named_at_its_line_by_validate_and_start(tmp_path: Path) -> None:
    course = _new(tmp_path)
    write(course / "course.yaml", "title: Mine\nstarter:\n  coment: x\ntitel: y\n")
    checked = run_grade("validate", cwd=course)
    assert checked.returncode == 2
    assert _problems(checked.stdout) == [
        (
            "course.yaml",
            3,
            "starter.coment: unknown key 'coment'; did you mean 'comment'? See "
            "the course file in docs/instructors.md.",
        ),
        (
            "course.yaml",
            4,
            "titel: unknown key 'titel'; did you mean 'title'? See the course "
            "file in docs/instructors.md.",
        ),
    ]
    started = run_grade("start", "huber", cwd=course)
    assert started.returncode == 2
    assert checked.stdout.splitlines()[0] in started.stderr.splitlines()
    assert not (course / "huber.py").exists()


@pytest.mark.slow  # a release
def test_the_bundle_readme_states_the_points_grade_list_shows_there(tmp_path: Path) -> None:
    course = _new(tmp_path)
    out = tmp_path / "bundle"
    assert run_grade("release", str(out), "--seeds", "1", cwd=course).returncode == 0
    listed = run_grade("list", cwd=out)
    points = re.search(r"^huber\s+Huber loss\s+\((\d+) points\)$", listed.stdout, re.MULTILINE)
    assert points is not None, listed.stdout
    readme = (out / "README.md").read_text()
    row = re.search(r"^\| `huber` \| Huber loss \| (\d+) \| (.+) \|$", readme, re.MULTILINE)
    assert row is not None, readme
    assert row[1] == points[1] == "3"  # the course has 4: its hidden case stays home
    assert row[2] == "1 case, 1 point"


# --- validate -----------------------------------------------------------------------------------


def test_validate_finds_a_mistake_that_is_the_reference_at_its_line(tmp_path: Path) -> None:
    course = _new(tmp_path)
    path = course / "exercises" / "huber.yaml"
    _edit(path, "solutions.mistakes_huber.no_abs", "solutions.huber.loss")
    checked = run_grade("validate", cwd=course)
    assert checked.returncode == 2
    line = _line_of(path, "- id: no_abs")
    assert _problems(checked.stdout) == [
        (
            "huber.yaml",
            line,
            "mistake 'no_abs' is the reference itself: its implementation "
            "solutions.huber.loss is the reference's; point 'implementation' at the wrong "
            "code the mistake is named for.",
        )
    ]
    proof = run_grade("selftest", cwd=course)
    assert proof.returncode == 1
    assert (
        f"mistake 'no_abs' ({path}:{line}:5) slips through with seed 0: it is the reference "
        "itself" in proof.stdout
    )


def test_validate_finds_a_mistake_equal_to_the_reference_on_every_drawn_case(
    tmp_path: Path,
) -> None:
    course = _new(tmp_path)
    # Signed errors equal absolute ones where every prediction is above its target: the
    # generator's noise is symmetric, so only a copy of the reference's code is this.
    write(
        course / "solutions" / "mistakes_huber.py",
        (course / "solutions" / "mistakes_huber.py").read_text()
        + "\n\ndef copied(y_true, y_pred):\n"
        "    return float(np.mean(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))))"
        "\n",
    )
    path = course / "exercises" / "huber.yaml"
    _edit(path, "solutions.mistakes_huber.no_abs", "solutions.mistakes_huber.copied")
    checked = run_grade("validate", cwd=course)
    assert checked.returncode == 2
    [(name, line, what)] = _problems(checked.stdout)
    assert (name, line) == ("huber.yaml", _line_of(path, "- id: no_abs"))
    assert what.startswith(
        "mistake 'no_abs' (solutions.mistakes_huber.copied) equals the reference on every "
        "case drawn with seeds 0, 1, 2"
    )
    assert "'grade show huber --cases --hidden'" in what
    proof = run_grade("selftest", cwd=course)
    assert f"({path}:{line}:5) slips through with seed 0: it equals the reference" in proof.stdout


def test_validate_finds_a_variant_that_is_the_reference(tmp_path: Path) -> None:
    course = _new(tmp_path)
    path = course / "exercises" / "huber.yaml"
    _edit(path, "solutions.variants_huber.loop", "solutions.huber.loss")
    checked = run_grade("validate", cwd=course)
    assert checked.returncode == 2
    [(_, line, what)] = _problems(checked.stdout)
    assert line == _line_of(path, "implementation: solutions.huber.loss")
    assert what.startswith("variant 'loop' is the reference itself")


def test_a_tolerance_is_reported_once_where_it_is_written(tmp_path: Path) -> None:
    course = _new(tmp_path)
    path = course / "exercises" / "huber.yaml"
    _edit(path, "tolerance: {rtol: 1.0e-6, atol: 1.0e-12}", "tolerance: {rtol: 0, atol: 0}")
    _edit(path, "    expect: 0.75\n", "    expect: 0.75\n    tolerance: {rtol: 0, atol: 0}\n")
    checked = run_grade("validate", cwd=course)
    found = [(line, what) for _, line, what in _problems(checked.stdout)]
    both = [line for line, what in found if "rtol and atol are both 0" in what]
    # The exercise's own and the one case that writes its own; the others inherit, unreported.
    assert both == [_line_of(path, "tolerance: {rtol: 0"), _line_of(path, "    tolerance:")]
    assert len(found) == 2


def test_problems_are_printed_in_line_order_with_the_nearest_key(tmp_path: Path) -> None:
    course = _new(tmp_path)
    path = course / "exercises" / "huber.yaml"
    _edit(path, "    visibility: hidden\n", "    visiblity: hidden\n")
    _edit(path, "title: Huber loss\n", "titel: Huber loss\n")
    _edit(path, "  returns:", "  retruns:")
    checked = run_grade("validate", cwd=course)
    assert checked.returncode == 2
    found = _problems(checked.stdout)
    # Each misspelt key once, at its line, top to bottom: not again as the key it lacks.
    assert [(line, what.split(" See ")[0]) for _, line, what in found] == [
        (_line_of(path, "titel:"), "titel: unknown key 'titel'; did you mean 'title'?"),
        (
            _line_of(path, "retruns:"),
            "entry.retruns: unknown key 'retruns'; did you mean 'returns'?",
        ),
        (
            _line_of(path, "visiblity:"),
            "cases[2].visiblity: unknown key 'visiblity'; did you mean 'visibility'?",
        ),
    ]


def test_a_generator_option_typo_gets_the_nearest_option(tmp_path: Path) -> None:
    course = _new(tmp_path)
    path = course / "exercises" / "huber.yaml"
    _edit(path, "generate: {generator: regression, n:", "generate: {generator: regresion, n:")
    _edit(
        path,
        "generate: {generator: regression, n:",
        "generate: {generator: regression, nosie: 1, n:",
    )
    checked = run_grade("validate", cwd=course)
    assert "unknown generator 'regresion'; for 'regresion', did you mean 'regression'?" in (
        checked.stdout
    )
    assert "no option(s) ['nosie']; for 'nosie', did you mean 'noise'?" in checked.stdout


def test_args_written_as_a_list_are_shown_in_their_name_keyed_form(tmp_path: Path) -> None:
    course = _new(tmp_path)
    path = course / "exercises" / "huber.yaml"
    _edit(
        path,
        "args: {y_true: [1.0, 2.0], y_pred: [1.5, 1.0]}",
        "args: [[1.0, 2.0], [1.5, 1.0]]\n    dtype: float32",
    )
    checked = run_grade("validate", cwd=course)
    assert checked.returncode == 2
    found = _problems(checked.stdout)
    assert [line for _, line, _ in found] == [_line_of(path, "args: [["), _line_of(path, "dtype:")]
    assert found[0][2].startswith(
        "cases[0].args: args must name each input by its parameter, not list them in order: "
        "write args: {y_true: [1.0, 2.0], y_pred: [1.5, 1.0]}"
    )
    assert "write dtype: {y_true: float32, y_pred: float32}" in found[1][2]
    assert "is not of type" not in checked.stdout


# --- grade show --cases -------------------------------------------------------------------------


def test_show_cases_prints_what_each_case_draws_hidden_only_when_asked(tmp_path: Path) -> None:
    course = _new(tmp_path)
    shown = run_grade("show", "huber", "--cases", "--seed", "7", cwd=course)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert text.startswith("huber: the cases drawn with seed 7 (3 shown; 1 hidden not shown")
    assert "worked example gives 0.75  (fixed; visible; 1 point)" in text
    assert "  y_true    float64 (2,): [1.0, 2.0]" in text
    assert "  expected  0.75" in text
    assert re.search(
        r"^random batch #2  \(random; visible; 1 point; generator regression", text, re.M
    )
    assert re.search(
        r"^  y_pred    float64 \(\d+,\), from -?[\d.e+-]+ to [\d.e+-]+: \[", text, re.M
    )
    assert "hidden random batch" not in text
    assert run_grade("show", "huber", "--cases", "--seed", "7", cwd=course).stdout == text
    assert run_grade("show", "huber", "--cases", "--seed", "8", cwd=course).stdout != text
    hidden = run_grade("show", "huber", "--cases", "--seed", "7", "--hidden", cwd=course)
    assert "hidden random batch  (random; hidden; 1 point" in hidden.stdout
    assert hidden.stdout.startswith("huber: the cases drawn with seed 7 (4 shown)")
    alone = run_grade("show", "huber", "--hidden", cwd=course)
    assert alone.returncode == 2
    assert "--seed and --hidden go with --cases" in alone.stderr


@pytest.mark.slow  # a release
def test_show_cases_in_a_bundle_never_shows_hidden_cases(tmp_path: Path) -> None:
    course = _new(tmp_path)
    out = tmp_path / "bundle"
    assert run_grade("release", str(out), "--seeds", "1", cwd=course).returncode == 0
    seed = json.loads((out / "release.json").read_text())["seeds"][0]
    shown = run_grade("show", "huber", "--cases", cwd=out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"huber: the cases drawn with seed {seed} (3 shown; 1 hidden")
    assert "hidden random batch" not in shown.stdout
    refused = run_grade("show", "huber", "--cases", "--hidden", cwd=out)
    assert refused.returncode == 2
    assert "student bundle: its hidden cases are not in it" in refused.stderr


# --- selftest and release -----------------------------------------------------------------------

#: A case no declared mistake of the scaffold fails: one example, predicted above its target.
SILENT_CASE = """\
  - name: "one example"
    args: {y_true: [1.0], y_pred: [2.0]}
"""


def _with_silent_case(course: Path) -> Path:
    path = course / "exercises" / "huber.yaml"
    _edit(path, "points: 4", "points: 5")
    path.write_text(path.read_text() + SILENT_CASE, encoding="utf-8")
    return path


def test_selftest_names_the_cases_that_catch_no_mistake(tmp_path: Path) -> None:
    course = _new(tmp_path)
    _with_silent_case(course)
    assert run_grade("validate", cwd=course).returncode == 0
    proof = run_grade("selftest", cwd=course)
    assert proof.returncode == 1
    assert "  cases that catch no mistake      1 ('one example')\n" in proof.stdout


@pytest.mark.slow  # a release
def test_release_refuses_an_item_selftest_does_not_prove_unless_forced(tmp_path: Path) -> None:
    course = _new(tmp_path)
    _with_silent_case(course)
    out = tmp_path / "bundle"
    refused = run_grade("release", str(out), "--seeds", "1", cwd=course)
    assert refused.returncode == 2
    assert "not proven by grade selftest, so not released: huber: case 'one example'" in (
        refused.stderr
    )
    assert "--force" in refused.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    forced = run_grade("release", str(out), "--seeds", "1", "--force", cwd=course)
    assert forced.returncode == 0, forced.stderr
    assert "warning: huber is released although selftest does not prove it" in forced.stderr
    readme = (out / "README.md").read_text()
    assert "**Warning: released with `--force`.** `grade selftest` did not prove\n> huber" in readme
    assert json.loads((out / "release.json").read_text())["unproven"] == ["huber"]
    assert "hidden random batch" not in "".join(p.read_text() for p in out.rglob("*.*"))


PRACTICE_QUIZ = """\
kind: quiz
id: q01
title: By hand
mode: practice
questions:
  - id: one
    type: numeric
    text: "a = {a}: twice a?"
    params:
      a: {uniform: [1, 2], digits: 2}
    answer: solutions.mistakes_huber.twice
"""


@pytest.mark.slow  # a release
def test_a_release_that_fails_midway_leaves_no_half_written_bundle(tmp_path: Path) -> None:
    course = _new(tmp_path)
    out = tmp_path / "bundle"
    assert run_grade("release", str(out), "--seeds", "1", cwd=course).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # A practice quiz whose key is in a module an exercise's mistakes use: found only once
    # the exercises are written, after every check before the build passed.
    write(
        course / "solutions" / "mistakes_huber.py",
        (course / "solutions" / "mistakes_huber.py").read_text()
        + "\n\ndef twice(a):\n    return 2 * a\n",
    )
    write(course / "exercises" / "q01.yaml", PRACTICE_QUIZ)
    failed = run_grade("release", str(out), "--seeds", "1", "--replace", cwd=course)
    assert failed.returncode == 2
    assert "which an exercise uses too" in failed.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "huber-course"]
    fresh = tmp_path / "fresh"
    assert run_grade("release", str(fresh), cwd=course).returncode == 2
    assert not fresh.exists()


@pytest.mark.slow  # a release
def test_release_replaces_an_earlier_bundle_only_with_replace(tmp_path: Path) -> None:
    course = _new(tmp_path)
    out = tmp_path / "bundle"
    assert run_grade("release", str(out), "--seeds", "1", cwd=course).returncode == 0
    again = run_grade("release", str(out), "--seeds", "1", cwd=course)
    assert again.returncode == 2
    assert "pass --replace to replace it" in again.stderr
    replaced = run_grade("release", str(out), "--seeds", "2", "--replace", cwd=course)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.startswith(f"wrote {out}: 1 exercise, answers for 2 seeds")
    assert len(json.loads((out / "release.json").read_text())["seeds"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "huber-course"]


# --- unknown ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "meant"),
    [(["ex2"], "ex02"), (["show", "ex2"], "ex02"), (["start", "EX3"], "ex03"), (["exo5"], "ex05")],
)
def test_an_unknown_id_suggests_the_nearest(args: list[str], meant: str, tmp_path: Path) -> None:
    result = run_grade(*args, "--course", str(REPO), cwd=tmp_path)
    assert result.returncode == 2
    assert f"there is no exercise {args[-1]!r}: did you mean {meant}?" in result.stderr
    assert "Exercises and quizzes of this course: ex01, ex02" in result.stderr


def test_an_id_near_nothing_gets_no_suggestion(tmp_path: Path) -> None:
    result = run_grade("ex9", "--course", str(REPO), cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean" not in result.stderr
