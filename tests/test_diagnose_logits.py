"""The diagnosis of the logits exercises (and of float64 conversion in every exercise),
through `grade` as a student runs it.

Student variants of each declared mistake live in tests/fixtures/diagnosis_variants/<ex>/:
`<mistake>__<style>.py` (first line `# mistake: <id>`) written the ways students write them:
converted to float64 first, float32 kept, loops, np.logaddexp, stable and naive forms, other
clipping constants; `correct__<style>.py` are right. A new style is a new file.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, SUBMISSIONS, run_grade, write

VARIANTS = FIXTURES / "diagnosis_variants"
WRONG = sorted(p for p in VARIANTS.glob("ex*/*.py") if not p.name.startswith("correct__"))
RIGHT = sorted(VARIANTS.glob("ex*/correct__*.py"))
SEEDS = (0, 20261124)
#: What the default hints say: advice for the probability exercises only.
CLIP_ADVICE = "clip the predictions"


def _declared(path: Path) -> str:
    found = re.search(r"^# mistake: (\w+)$", path.read_text(), re.MULTILINE)
    assert found, f"{path} has no '# mistake: <id>' line"
    return found.group(1)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _json(exercise: str, submission: Path, seed: int = 0, *extra: str) -> dict:
    result = run_grade(
        exercise, "--file", str(submission), "--format", "json", "--seed", str(seed), *extra
    )
    assert result.returncode in (0, 1), result.stderr
    return result.json()


def _named(report: dict) -> list[str]:
    return [m["id"] for m in (report["diagnosis"] or {}).get("mistakes", [])]


def test_there_are_several_variants_of_every_declared_logits_mistake() -> None:
    from grader.exercise.spec import load_exercise

    for exercise in ("ex05", "ex06"):
        declared = {m.id for m in load_exercise(REPO / "exercises" / f"{exercise}.yaml").mistakes}
        made = [_declared(p) for p in WRONG if p.parent.name == exercise]
        thin = sorted(m for m in declared if made.count(m) < 2)
        assert not thin, f"{exercise}: fewer than two student variants of {thin}"
        assert len([p for p in RIGHT if p.parent.name == exercise]) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", WRONG, ids=_id)
def test_every_student_variant_of_a_declared_mistake_is_named(path: Path, seed: int) -> None:
    report = _json(path.parent.name, path, seed)
    assert report["score"] < report["max_score"]
    assert _named(report) == [_declared(path)], report["diagnosis"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", RIGHT, ids=_id)
def test_a_correct_variant_gets_full_marks_and_no_diagnosis(path: Path, seed: int) -> None:
    report = _json(path.parent.name, path, seed)
    assert report["score"] == report["max_score"], [
        t["name"] for t in report["tests"] if t["status"] != "passed"
    ]
    assert report["diagnosis"] is None


#: Per exercise, a mistake made after converting the inputs to float64. In ex05 and ex06
#: the float32 cases are where the mistake computed in the input's dtype overflows and the
#: student's code does not; ex01 to ex04 declare their mistakes in float64 already, and
#: stay named.
AFTER_FLOAT64 = {
    "ex01": "log2__float64.py",
    "ex02": "sum_not_mean__float64.py",
    "ex03": "one_based__float64.py",
    "ex04": "root_mean_squared__float64.py",
    "ex05": "naive_softplus__float64.py",
    "ex06": "no_max_subtracted__float64.py",
}


@pytest.mark.slow
@pytest.mark.parametrize("exercise", sorted(AFTER_FLOAT64))
def test_a_mistake_made_after_converting_to_float64_is_named_in_every_exercise(
    exercise: str,
) -> None:
    path = VARIANTS / exercise / AFTER_FLOAT64[exercise]
    assert "float" in path.read_text()
    report = _json(exercise, path)
    float32 = [t for t in report["tests"] if "float32" in t["name"]]
    assert float32, "a float32 case is graded"
    assert _named(report) == [_declared(path)], report["diagnosis"]


@pytest.mark.slow
def test_log_of_one_plus_exp_in_float64_is_named_not_left_unexplained() -> None:
    """The issue's submission: np.log(1 + np.exp(z)) - z * y after np.asarray(z, dtype=float)."""
    path = VARIANTS / "ex05" / "naive_softplus__float64.py"
    result = run_grade("ex05", "--file", str(path), "--seed", "3")
    assert result.returncode == 1, result.stderr
    assert "No known mistake" not in result.stdout
    assert "without the stable rewrite [naive_softplus]" in result.stdout


@pytest.mark.slow
def test_a_stable_log_softmax_over_axis_0_is_named_softmax_over_axis_0() -> None:
    path = VARIANTS / "ex06" / "softmax_axis0__stable_log_softmax.py"
    assert "logsumexp(logits, axis=0)" in path.read_text()
    result = run_grade("ex06", "--file", str(path), "--seed", "3")
    assert result.returncode == 1, result.stderr
    assert "softmax over the examples (axis=0), not the classes [softmax_axis0]" in result.stdout


# --- the hint of a failure no mistake explains -----------------------------------------------

#: Two mistakes at once, so no declared one explains the results: exp without the max
#: (non-finite at large logits), and a second error on every case.
UNEXPLAINED = {
    "ex05": """\
import numpy as np


def binary_cross_entropy_with_logits(y_true, logits):
    z = np.asarray(logits, dtype=float)
    return float(0.5 * np.mean(np.log(1 + np.exp(z)) - z * y_true))
""",
    "ex06": """\
import numpy as np


def softmax_cross_entropy_with_logits(y_true, logits):
    z = np.asarray(logits, dtype=float)
    return float(np.mean(np.log(np.exp(z).sum(axis=1))) - np.mean(z))
""",
}


def _hint(case: dict) -> str:
    return str(case["details"]["hint"] or "")


def _non_finite_hints(report: dict) -> list[str]:
    return [
        _hint(t)
        for t in report["tests"]
        if t["status"] == "failed" and re.search(r"NaN|infinity", t["output"])
    ]


@pytest.mark.slow
@pytest.mark.parametrize("exercise", sorted(UNEXPLAINED))
def test_an_unexplained_non_finite_result_from_logits_gets_a_log_sum_exp_hint(
    exercise: str, tmp_path: Path
) -> None:
    submission = write(tmp_path / f"{exercise}.py", UNEXPLAINED[exercise])
    report = _json(exercise, submission)
    assert _named(report) == [], "no declared mistake explains two at once"
    hints = _non_finite_hints(report)
    assert hints, "some case returned NaN or infinity"
    for hint in hints:
        assert "log-sum-exp" in hint or "logaddexp" in hint, hint
        assert "max" in hint, hint
    everything = report["output"] + " ".join(t["output"] + _hint(t) for t in report["tests"])
    assert CLIP_ADVICE not in everything


@pytest.mark.slow
def test_the_probability_exercises_keep_the_clipping_advice(tmp_path: Path) -> None:
    """ex01's own hints (its YAML) say to clip before the log: right for a loss of
    probabilities, and no longer grader's default (see the test after the next)."""
    submission = write(
        tmp_path / "ex01.py",
        "import numpy as np\n\n\ndef binary_cross_entropy(y_true, y_pred):\n"
        "    terms = y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)\n"
        "    return float(-2 * np.mean(terms))\n",
    )
    report = _json("ex01", submission)
    assert _named(report) == []
    hints = _non_finite_hints(report)
    assert hints
    assert all(CLIP_ADVICE in h for h in hints), hints


def _course_copy(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises", course / "exercises")
    shutil.copytree(REPO / "solutions", course / "solutions")
    return course


@pytest.mark.slow
def test_the_fallback_hint_comes_from_the_exercise_yaml_with_a_default(tmp_path: Path) -> None:
    course = _course_copy(tmp_path)
    yaml_path = course / "exercises" / "ex06.yaml"
    text = yaml_path.read_text()
    own = re.search(r"^  infinite: .*$", text, re.MULTILINE)
    assert own is not None
    yaml_path.write_text(text.replace(own.group(0), '  infinite: "SENTINEL own hint"'))
    submission = write(tmp_path / "ex06.py", UNEXPLAINED["ex06"])
    report = _json("ex06", submission, 0, "--course", str(course))
    infinite = [_hint(t) for t in report["tests"] if "infinity" in t["output"]]
    assert infinite
    assert set(infinite) == {"SENTINEL own hint"}
    # Without the section, grader's default: it names what makes infinity, with no advice
    # for one loss (no clipping of what this exercise never logs).
    yaml_path.write_text(re.sub(r"^hints:\n(?:  .*\n)+", "", text, flags=re.MULTILINE))
    assert "hints:" not in yaml_path.read_text()
    report = _json("ex06", submission, 0, "--course", str(course))
    defaults = _non_finite_hints(report)
    assert defaults
    assert all("find the step of your computation that makes one" in h for h in defaults)
    assert not any(CLIP_ADVICE in h for h in defaults)


@pytest.mark.slow
def test_a_mean_squared_error_is_never_told_to_clip_before_a_log(tmp_path: Path) -> None:
    """ex04 has no log: a division by zero is explained by its mean, in its own words."""
    submission = write(
        tmp_path / "ex04.py",
        "import numpy as np\n\n\ndef mean_squared_error(y_true, y_pred):\n"
        "    return float(np.sum((y_pred - y_true) ** 2) / (y_true.size - y_pred.size))\n",
    )
    report = _json("ex04", submission)
    hints = _non_finite_hints(report)
    assert hints
    assert all("number of entries" in h for h in hints), hints
    assert not any("log" in h or "clip" in h for h in hints), hints


@pytest.mark.slow
def test_a_broken_alternative_form_of_a_mistake_is_reported_at_its_list_item(
    tmp_path: Path,
) -> None:
    course = _course_copy(tmp_path)
    yaml_path = course / "exercises" / "ex06.yaml"
    lines = yaml_path.read_text().splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if line.endswith(".softmax_axis0_stable\n")]
    lines[index] = lines[index].replace("softmax_axis0_stable", "softmax_axis0_stabel")
    yaml_path.write_text("".join(lines))
    result = run_grade(
        "ex06", "--file", str(SUBMISSIONS / "ex06" / "bad_log2.py"), "--course", str(course)
    )
    assert result.returncode == 2, result.stdout
    assert f"ex06.yaml:{index + 1}:" in result.stderr
    assert "has no function 'softmax_axis0_stabel'" in result.stderr
    validated = run_grade("validate", "--course", str(course))
    assert validated.returncode == 2, validated.stdout
    (line,) = [x for x in validated.stdout.splitlines() if "softmax_axis0_stabel" in x]
    assert f"ex06.yaml:{index + 1}:" in line
    assert "mistake 'softmax_axis0' (form " in line


@pytest.mark.slow
def test_a_release_bundle_names_the_mistake_as_the_course_does(tmp_path: Path) -> None:
    """A bundle stores every form of every mistake, so the float64 form is named there
    too, with no solution in the bundle to compute it from."""
    bundle = tmp_path / "bundle"
    released = run_grade("release", str(bundle), "--seeds", "1")
    assert released.returncode == 0, released.stderr
    # Only practice quizzes' keys ship (by design); no exercise's reference or mistakes.
    shipped = {p.name for p in (bundle / "solutions").glob("*.py")}
    assert shipped, "the practice quizzes' keys"
    assert all(name.startswith("quiz_") for name in shipped), shipped
    path = VARIANTS / "ex05" / "naive_softplus__float64.py"
    result = run_grade("ex05", "--file", str(path), cwd=bundle)
    assert result.returncode == 1, result.stderr
    assert "No known mistake" not in result.stdout
    assert "without the stable rewrite [naive_softplus]" in result.stdout
