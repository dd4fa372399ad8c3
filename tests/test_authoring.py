"""An instructor's path: selftest proves the cases, `grade new` starts an exercise, a course
lives outside this repository, `grade release` builds what students get, and the cache
of validated files is never trusted blindly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SUBMISSIONS, run_grade, write
from grader.authoring.selftest import selftest
from grader.course import Course

pytestmark = pytest.mark.slow

EXERCISES = Course(REPO).exercise_ids()


@pytest.mark.parametrize("name", EXERCISES)
def test_every_shipped_exercise_is_proven_by_selftest(name: str) -> None:
    proof = selftest(Course(REPO).prepare(name), seeds=(0, 1, 20261124))
    assert proof.failures == []
    assert proof.caught == {m.id for m in Course(REPO).load(name).mistakes}
    assert proof.alike == []
    assert proof.variants_passed == proof.variants


def _copy_course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises", course / "exercises")
    shutil.copytree(REPO / "solutions", course / "solutions")
    return course


def test_selftest_fails_naming_the_mistake_when_the_cases_that_catch_it_are_removed(
    tmp_path: Path,
) -> None:
    course = _copy_course(tmp_path)
    proof = selftest(Course(course).prepare("ex03"), seeds=(0, 1, 2))
    # The mistake caught by the fewest cases, and those cases: remove them all.
    catchers: dict[str, set[str]] = {}
    for case, mistakes in proof.catches.items():
        for mistake in mistakes:
            catchers.setdefault(mistake, set()).add(case)
    mistake, cases = min(catchers.items(), key=lambda item: len(item[1]))
    path = course / "exercises" / "ex03.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["cases"] = [c for c in data["cases"] if c["name"] not in cases]
    data["points"] = sum(c.get("points", 1) * c.get("repeat", 1) for c in data["cases"])
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    # No case left tells the mistake from the reference: validate says so, at the mistake.
    checked = run_grade("validate", "--course", str(course))
    assert checked.returncode == 2
    assert re.search(
        rf"ex03\.yaml:\d+:\d+: mistake {mistake!r} .* equals the reference on every case",
        checked.stdout,
    ), checked.stdout
    result = run_grade("selftest", "ex03", "--course", str(course))
    assert result.returncode == 1, result.stdout
    assert re.search(
        rf"mistake {mistake!r} \(.*ex03\.yaml:\d+:\d+\) slips through with seed 0: it equals "
        "the reference on every case",
        result.stdout,
    ), result.stdout
    assert "NOT proven" in result.stdout


def test_selftest_prints_a_table_per_exercise_and_exits_0_when_proven() -> None:
    result = run_grade("selftest", "ex01", "ex04", "--seeds", "2")
    assert result.returncode == 0, result.stdout
    for name in ("ex01", "ex04"):
        assert re.search(rf"^{name}: .*\(seeds 0, 1\)$", result.stdout, re.MULTILINE)
    assert re.search(r"mistakes caught / declared\s+(\d+) / \1$", result.stdout, re.MULTILINE)
    assert result.stdout.count("  proven") == 2


def test_selftest_fails_a_variant_that_a_case_wrongly_rejects(tmp_path: Path) -> None:
    course = _copy_course(tmp_path)
    write(
        course / "solutions" / "variants_extra.py",
        "import numpy as np\n\ndef rounded(y_true, y_pred):\n"
        "    return float(np.round(np.mean((y_true - y_pred) ** 2), 2))\n",
    )
    path = course / "exercises" / "ex04.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("variants", []).append(
        {"id": "rounded", "implementation": "solutions.variants_extra.rounded"}
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = run_grade("selftest", "ex04", "--course", str(course))
    assert result.returncode == 1
    assert "correct variant 'rounded' fails case" in result.stdout


GOOD_MAE = """\
import numpy as np


def loss(y_true, y_pred):
    return float(np.mean(np.abs(y_pred - y_true)))
"""


def test_an_instructors_course_outside_the_repository_from_grade_new(tmp_path: Path) -> None:
    course = tmp_path / "my-course"
    course.mkdir()
    created = run_grade("new", "ex05", "--title", "Mean absolute error", cwd=course)
    assert created.returncode == 0, created.stderr
    for path in ("exercises/ex05.yaml", "solutions/ex05.py", "exercises/exercise.schema.json"):
        assert (course / path).is_file(), path
    first = (course / "exercises" / "ex05.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=exercise.schema.json"
    assert run_grade("validate", cwd=course).returncode == 0
    proven = run_grade("selftest", cwd=course)
    assert proven.returncode == 0, proven.stdout
    assert "mistakes caught / declared       2 / 2" in proven.stdout
    listed = run_grade("list", cwd=course)
    assert listed.stdout.split()[:1] == ["ex05"]  # this course only, not the repository's
    write(course / "ex05.py", GOOD_MAE)
    graded = run_grade("ex05", "--format", "json", cwd=course)
    assert graded.returncode == 0, graded.stdout
    assert graded.json()["score"] == graded.json()["max_score"]
    write(course / "ex05.py", GOOD_MAE.replace("np.mean", "np.sum"))
    wrong = run_grade("ex05", "--format", "json", cwd=course).json()
    assert [m["id"] for m in wrong["diagnosis"]["mistakes"]] == ["sum_not_mean"]
    # From elsewhere, with --course after the command.
    elsewhere = run_grade("ex05", "--course", str(course), "--file", str(course / "ex05.py"))
    assert elsewhere.returncode == 1
    # The author turns the scaffold into ex05 of this repository (from logits).
    shutil.copy(REPO / "exercises" / "ex05.yaml", course / "exercises" / "ex05.yaml")
    for module in ("bce_logits", "mistakes_bce_logits", "variants_bce_logits"):
        shutil.copy(REPO / "solutions" / f"{module}.py", course / "solutions")
    assert run_grade("validate", cwd=course).returncode == 0
    assert run_grade("selftest", "ex05", cwd=course).returncode == 0
    good = SUBMISSIONS / "ex05" / "good_logaddexp.py"
    assert run_grade("ex05", "--file", str(good), cwd=course).returncode == 0


def test_grade_new_never_overwrites_and_rejects_bad_ids(tmp_path: Path) -> None:
    assert run_grade("new", "ex05", cwd=tmp_path).returncode == 0
    before = (tmp_path / "solutions" / "ex05.py").read_text()
    again = run_grade("new", "ex05", cwd=tmp_path)
    assert again.returncode == 2
    assert "already exist" in again.stderr
    assert (tmp_path / "solutions" / "ex05.py").read_text() == before
    # From inside the course, the exercise joins that course.
    inside = run_grade("new", "ex06", cwd=tmp_path / "exercises")
    assert inside.returncode == 0
    assert (tmp_path / "exercises" / "ex06.yaml").is_file()
    assert not (tmp_path / "exercises" / "exercises").exists()
    for bad in ("Ex-5", "list", "5ex"):
        result = run_grade("new", bad, cwd=tmp_path)
        assert result.returncode == 2
        assert "cannot be an exercise id" in result.stderr


# --- release ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "bundle"
    result = run_grade("release", str(out), "--seeds", "2")
    assert result.returncode == 0, result.stderr
    return out


def _bundle_text(bundle: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in bundle.rglob("*") if p.is_file())


def test_the_bundle_holds_no_solution_source_and_no_hidden_case(bundle: Path) -> None:
    text = _bundle_text(bundle)
    course = Course(REPO)
    for name in EXERCISES:
        exercise = course.load(name)
        for dotted in (exercise.reference, *(m.implementation for m in exercise.mistakes)):
            assert dotted is not None
            assert dotted not in text
    # Only practice quizzes' keys ship, by design; a graded quiz stays home.
    shipped = {p.name for p in (bundle / "solutions").glob("*.py")}
    assert shipped, "the practice quizzes' functions"
    assert all(name.startswith("quiz_") for name in shipped)
    for quiz_id in course.quiz_ids():
        assert (bundle / "exercises" / f"{quiz_id}.yaml").exists() == course.load_quiz(
            quiz_id
        ).practice
    for source in (REPO / "solutions").glob("*.py"):
        if source.name in shipped:
            continue
        for line in source.read_text().splitlines():
            body = line.strip()
            # Code lines; a function's signature is in the starter file on purpose.
            if ("np." in body or body.startswith("return ")) and len(body) > 24:
                assert body not in text, (source.name, body)
    for name in EXERCISES:
        exercise = course.load(name)
        for case in exercise.cases:
            if case.visibility.value == "hidden":
                assert case.name not in text, case.name
        released = yaml.safe_load((bundle / "exercises" / f"{name}.yaml").read_text())
        assert "reference" not in released
        assert all("implementation" not in m for m in released.get("mistakes", []))
        assert all(c.get("visibility", "visible") == "visible" for c in released["cases"])
        answers = json.loads((bundle / "answers" / f"{name}.json").read_text())
        visible = {c.name for c in exercise.cases if c.visibility.value == "visible"}
        for by_case in answers["cases"].values():
            assert {re.sub(r" #\d+$", "", n) for n in by_case} <= visible
    manifest = json.loads((bundle / "release.json").read_text())
    assert set(EXERCISES) <= set(manifest["exercises"])
    assert (bundle / "README.md").is_file()
    assert all((bundle / f"{name}.py").is_file() for name in EXERCISES)


@pytest.mark.parametrize(
    "fixture", ["ex01/good_vectorised.py", "ex01/bad_log2.py", "ex03/bad_one_based.py"]
)
def test_grading_in_the_bundle_gives_the_course_verdicts_on_visible_cases(
    bundle: Path, fixture: str
) -> None:
    exercise = fixture.split("/")[0]
    seed = json.loads((bundle / "release.json").read_text())["seeds"][0]
    args = (exercise, "--file", str(SUBMISSIONS / fixture), "--format", "json", "--seed", str(seed))
    full = run_grade(*args).json()
    here = run_grade(*args, cwd=bundle).json()
    visible = [
        (t["name"], t["status"], t["score"]) for t in full["tests"] if t["visibility"] == "visible"
    ]
    assert [(t["name"], t["status"], t["score"]) for t in here["tests"]] == visible
    assert here["diagnosis"] == full["diagnosis"] or (
        [m["id"] for m in here["diagnosis"]["mistakes"]]
        == [m["id"] for m in full["diagnosis"]["mistakes"]]
    )
    assert any("hidden" in note and "course's CI" in note for note in here["notes"])


def test_the_bundle_grades_only_the_seeds_it_holds_answers_for(bundle: Path) -> None:
    sub = SUBMISSIONS / "ex01" / "good_vectorised.py"
    result = run_grade("ex01", "--file", str(sub), "--seed", "3", cwd=bundle)
    assert result.returncode == 2
    assert "holds answers for seeds" in result.stderr
    ok = run_grade("ex01", "--file", str(sub), cwd=bundle)
    assert ok.returncode == 0, ok.stdout


def test_a_tampered_bundle_is_a_clear_error_not_a_traceback(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    answers = copy / "answers" / "ex04.json"
    document = json.loads(answers.read_text())
    for by_case in document["cases"].values():
        for stored in by_case.values():
            stored["expected"] = "zero"
    answers.write_text(json.dumps(document))
    sub = SUBMISSIONS / "ex04" / "good_vectorised.py"
    result = run_grade("ex04", "--file", str(sub), cwd=copy)
    assert result.returncode == 2
    assert "malformed" in result.stderr
    assert "Traceback" not in result.stderr
    answers.write_text("{")
    broken = run_grade("ex04", "--file", str(sub), cwd=copy)
    assert broken.returncode == 2
    assert "cannot be read" in broken.stderr


def test_release_refuses_to_overwrite_what_it_did_not_make(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "mine")
    result = run_grade("release", str(tmp_path))
    assert result.returncode == 2
    assert "not empty" in result.stderr
    forced = run_grade("release", str(tmp_path), "--replace")
    assert forced.returncode == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --- the cache of validated files ------------------------------------------------------------


def test_a_tampered_cache_entry_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"XDG_CACHE_HOME": str(cache)}
    sub = SUBMISSIONS / "ex01" / "good_vectorised.py"
    first = run_grade("ex01", "--file", str(sub), "--format", "json", "--seed", "1", env=env)
    entries = list((cache / "grader").glob("exercise-*.json"))
    assert len(entries) == 1
    document = json.loads(entries[0].read_text())
    key = document["key"]
    document["data"]["points"] = 1000  # a forged entry: same name, other content
    document["key"] = "0" * 64
    entries[0].write_text(json.dumps(document))
    second = run_grade("ex01", "--file", str(sub), "--format", "json", "--seed", "1", env=env)
    assert second.json()["max_score"] == first.json()["max_score"] != 1000
    # The right key over data that does not build: the file is read again.
    entries[0].write_text(json.dumps({"key": key, "data": {"id": "x"}, "lines": []}))
    forged = run_grade("ex01", "--file", str(sub), "--format", "json", "--seed", "1", env=env)
    assert forged.returncode == 0, forged.stderr
    assert forged.json()["max_score"] == first.json()["max_score"]
    entries[0].write_text("not json")
    third = run_grade("ex01", "--file", str(sub), "--format", "json", "--seed", "1", env=env)
    assert third.json()["max_score"] == first.json()["max_score"]
    assert json.loads(entries[0].read_text())["key"] != "0" * 64


def test_a_cached_file_still_reports_an_id_that_does_not_match_its_new_name(
    tmp_path: Path,
) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    course = _copy_course(tmp_path)
    assert run_grade("show", "ex01", "--course", str(course), env=env).returncode == 0
    (course / "exercises" / "ex01.yaml").rename(course / "exercises" / "ex09.yaml")
    result = run_grade("show", "ex09", "--course", str(course), env=env)
    assert result.returncode == 2
    assert "does not match the file name" in result.stderr


def test_the_bundle_validates_and_refuses_to_selftest_without_solutions(bundle: Path) -> None:
    checked = run_grade("validate", cwd=bundle)
    assert checked.returncode == 0, checked.stdout
    refused = run_grade("selftest", "ex01", cwd=bundle)
    assert refused.returncode == 2
    assert "needs the course's solutions/" in refused.stderr
    again = run_grade("release", str(bundle.parent / "again"), cwd=bundle)
    assert again.returncode == 2
    assert "is itself a release bundle" in again.stderr
