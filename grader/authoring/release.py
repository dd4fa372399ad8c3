"""`grade release OUTDIR`: what students get, to self-check without the answers' sources.

The bundle holds each exercise without its hidden cases, solutions or variants; a starter
file per exercise; a README for students; and, per exercise, the answers of the visible
cases for a few seeds drawn now (the reference's values, each declared mistake's values so
the diagnosis works offline, the call limits, and a digest of the inputs so a bundle never
grades against answers for other inputs). No source of solutions/, no hidden case's name,
inputs or answers. Random inputs are drawn from streams keyed by case name, so the bundle
draws the same visible inputs as the course for the same seed.
"""

from __future__ import annotations

import datetime
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import __version__
from grader.course import Course
from grader.errors import GraderError, SpecError
from grader.exercise.prepare import (
    RELEASE_FORMAT,
    RELEASE_MANIFEST,
    Prepared,
    input_digest,
    prepare,
)
from grader.exercise.spec import Visibility
from grader.exercise.yamlfile import read_yaml
from grader.quiz.kind import is_quiz
from grader.quiz.spec import Quiz

ANSWERS_DIR = "answers"
#: Keys of an exercise file a bundle drops: they name solutions or only matter to authors.
_COURSE_ONLY = ("reference", "variants")
_CASE_COURSE_ONLY = ("purpose",)


@dataclass(frozen=True)
class Bundle:
    root: Path
    exercises: tuple[str, ...]
    seeds: tuple[int, ...]


def release(course_root: Path, outdir: Path, *, seeds: int = 5, force: bool = False) -> Bundle:
    """Build the bundle in outdir; the course must validate first."""
    from grader.authoring.validate import validate

    if (course_root / RELEASE_MANIFEST).is_file():
        raise GraderError(
            f"{course_root} is itself a release bundle",
            fix="Run grade release in the course that holds solutions/.",
        )
    checked = validate(course_root, [course_root / "exercises"])
    if not checked.ok:
        raise SpecError(problems=checked.problems)
    _make_empty(outdir, course_root, force=force)
    drawn = tuple(sorted(random.SystemRandom().sample(range(10**6), seeds)))
    ids = []
    practice: list[Quiz] = []
    graded: list[Quiz] = []
    for path in sorted((course_root / "exercises").glob("*.yaml")):
        if is_quiz(path):
            quiz = Course(course_root).load_quiz(path.stem)
            (practice if quiz.practice else graded).append(quiz)
            continue
        prepared = prepare(course_root, path)
        ids.append(prepared.exercise.id)
        _write_exercise(prepared, path, outdir, drawn)
    _write_quizzes(course_root, outdir, practice, ids)
    _write_text(outdir / "README.md", _readme(course_root, ids, drawn, practice, graded))
    manifest = {
        "format": RELEASE_FORMAT,
        "grader_version": __version__,
        "released": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seeds": list(drawn),
        "exercises": ids,
    }
    _write_text(outdir / RELEASE_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return Bundle(outdir, tuple(ids), drawn)


def _write_quizzes(course_root: Path, outdir: Path, quizzes: list[Quiz], ids: list[str]) -> None:
    """Practice quizzes ship with their key (the functions their answers call), by design:
    their point is feedback at once. A module that an exercise also uses stays home, or
    the bundle would hand out a reference solution."""
    course = Course(course_root)
    exercise_modules = set()
    for exercise_id in ids:
        exercise = course.load(exercise_id)
        dotted = [exercise.reference, *(m.implementation for m in exercise.mistakes)]
        exercise_modules |= {d.rsplit(".", 1)[0] for d in dotted if d}
    for quiz in quizzes:
        modules = {
            d.rsplit(".", 1)[0]
            for q in quiz.questions
            for d in (q.answer, *(m.formula for m in q.misconceptions))
            if d
        }
        shared = sorted(modules & exercise_modules)
        if shared:
            raise GraderError(
                f"practice quiz {quiz.id} calls {', '.join(shared)}, which an exercise uses "
                "too: releasing its key would release that exercise's solution",
                where=str(quiz.source),
                fix="Give the quiz functions of its own (solutions/quiz_*.py).",
            )
        for module in sorted(modules):
            source = course_root.joinpath(*module.split(".")).with_suffix(".py")
            target = outdir.joinpath(*module.split(".")).with_suffix(".py")
            _write_text(target, source.read_text(encoding="utf-8"))
        shutil.copy(quiz.source, outdir / "exercises" / quiz.source.name)
        ids.append(quiz.id)


def _make_empty(outdir: Path, course_root: Path, *, force: bool) -> None:
    out, course = outdir.resolve(), course_root.resolve()
    if out == course or course in out.parents or out in course.parents:
        raise GraderError(
            f"{outdir} overlaps the course directory {course_root}",
            fix="Write the bundle somewhere outside the course.",
        )
    if outdir.exists() and any(outdir.iterdir()):
        if not force:
            raise GraderError(
                f"{outdir} exists and is not empty; nothing was written",
                fix="Choose a new directory, or pass --force to replace it.",
            )
        if not (outdir / RELEASE_MANIFEST).is_file():
            raise GraderError(
                f"{outdir} is not a bundle made by grade release; --force replaces only those",
                fix="Choose a new directory.",
            )
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True, exist_ok=True)


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None


def _write_exercise(prepared: Prepared, path: Path, outdir: Path, seeds: tuple[int, ...]) -> None:
    import yaml

    from grader.authoring.starter import render_starter

    dumper = _dumper()

    exercise = prepared.exercise
    data, _ = read_yaml(path)
    cases = [c for c in data["cases"] if c.get("visibility", "visible") == "visible"]
    for case in cases:
        for key in _CASE_COURSE_ONLY:
            case.pop(key, None)
    hidden = [c for c in exercise.cases if c.visibility is Visibility.HIDDEN]
    for key in _COURSE_ONLY:
        data.pop(key, None)
    for mistake in data.get("mistakes", []):
        mistake.pop("implementation", None)
    data["cases"] = cases
    data["points"] = sum(float(c.get("points", 1)) * int(c.get("repeat", 1)) for c in cases)
    answers_file = f"{ANSWERS_DIR}/{exercise.id}.json"
    data["release"] = answers_file
    header = (
        f"# {exercise.id}: the student release, written by grade release {__version__}.\n"
        "# Hidden cases, solutions and the mistakes' code stay with the course.\n"
    )
    body = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    _write_text(outdir / "exercises" / f"{exercise.id}.yaml", header + body)
    answers = _answers(prepared, seeds)
    answers["hidden"] = {
        "cases": sum(c.repeat for c in hidden),
        "points": sum(c.points * c.repeat for c in hidden),
    }
    _write_text(outdir / answers_file, json.dumps(answers, indent=1) + "\n")
    _write_text(outdir / f"{exercise.id}.py", render_starter(exercise))


def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        """Multi-line text (the statement) as a block, as its author wrote it."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def _interval(answer: Any) -> list[float] | None:
    return None if answer is None else [answer.low, answer.high]


def _answers(prepared: Prepared, seeds: tuple[int, ...]) -> dict[str, Any]:
    """The visible cases' answers for each seed, and the reference's plot curve."""
    from grader.exercise.prepare import visible
    from grader.exercise.sweep import sweep

    by_seed: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        cases = visible(prepared.cases(seed))
        answers = prepared.answers(cases, seed)
        mistakes = prepared.mistake_answers(cases, seed)
        by_seed[str(seed)] = {
            case.name: {
                "digest": input_digest(case),
                "expected": _interval(answers.expected[case.id]),
                "seconds": answers.seconds[case.id],
                "mistakes": {m.id: _interval(found[case.id]) for m, found in mistakes},
            }
            for case in cases
        }
    plot = prepared.exercise.plot
    curve = None
    if plot is not None:
        points = sweep(plot, prepared.exercise.entry.param_names)
        ys = prepared.curve([arrays for _, _, arrays in points]) or []
        curve = [
            [y for (i, _, _), y in zip(points, ys, strict=True) if i == s]
            for s in range(len(plot.series))
        ]
    return {"format": RELEASE_FORMAT, "seeds": list(seeds), "cases": by_seed, "curve": curve}


def _readme(
    course_root: Path,
    ids: list[str],
    seeds: tuple[int, ...],
    practice: list[Quiz],
    graded: list[Quiz],
) -> str:
    import jinja2

    course = Course(course_root)
    exercises = [course.load(i) for i in ids if not course.is_quiz(i)]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown
    )
    return env.get_template("bundle_readme.md.j2").render(
        exercises=exercises, seeds=seeds, version=__version__, practice=practice, graded=graded
    )
