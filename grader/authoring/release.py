"""`grade release OUTDIR`: what students get, to self-check without the answers' sources.

Only a course that validates, and whose every item selftest proves, is released (`force`
releases unproven items, and the bundle says which). The bundle holds each exercise
without its hidden cases, solutions or variants; a starter file per exercise and a README
for students, both in the course's own words (course.yaml, copied along); and, per
exercise, the answers of the visible cases for a few seeds drawn now (the reference's
values, each declared mistake's values so the diagnosis works offline, the call limits,
and a digest of the inputs so a bundle never grades against answers for other inputs).
No source of solutions/, no hidden case's name, inputs or answers. Random inputs are drawn
from streams keyed by case name, so the bundle draws the same visible inputs as the
course for the same seed. A bundle is built beside OUTDIR and moved into place whole."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import __version__
from grader.course import COURSE_FILE, Course, CourseText
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
    quizzes: tuple[str, ...]
    seeds: tuple[int, ...]
    #: Item id -> why selftest did not prove it: released only with force, and said so in
    #: the bundle (its ids; the reasons may name hidden cases, so they stay here).
    unproven: dict[str, tuple[str, ...]]


def release(
    course_root: Path,
    outdir: Path,
    *,
    seeds: int = 5,
    replace: bool = False,
    force: bool = False,
    proof_seeds: int = 3,
) -> Bundle:
    """Build the bundle in outdir; the course must validate, and every item be proven by
    selftest unless `force`. The bundle is built beside outdir and moved into place only
    once whole, so a release that fails leaves no half-written bundle (and an earlier one
    it would have replaced stays as it was)."""
    from grader.authoring.validate import validate

    if (course_root / RELEASE_MANIFEST).is_file():
        raise GraderError(
            f"{course_root} is itself a release bundle",
            fix="Run grade release in the course that holds solutions/.",
        )
    checked = validate(course_root, [course_root / "exercises"])
    if not checked.ok:
        raise SpecError(problems=checked.problems)
    course = Course(course_root)
    unproven = _unproven(course, proof_seeds)
    if unproven and not force:
        reasons = "; ".join(f"{i}: {why[0]}" for i, why in unproven.items())
        raise GraderError(
            f"not proven by grade selftest, so not released: {reasons}",
            fix=f"Run 'grade selftest {' '.join(unproven)}' and fix what it names, or "
            "release anyway with --force (the bundle then warns that these are not proven).",
        )
    _check_target(outdir, course_root, replace=replace)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.partial-", dir=outdir.parent))
    try:
        bundle = _build(course, staging, seeds, unproven)
        _move_into_place(staging, outdir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dataclasses.replace(bundle, root=outdir)


def _unproven(course: Course, seeds: int) -> dict[str, tuple[str, ...]]:
    """Each item selftest does not prove, and why: release ships only what is proven."""
    from grader.authoring.selftest import prove_items

    ids = course.exercise_ids() + course.quiz_ids()
    return {proof.id: proof.failures for proof in prove_items(course, ids, seeds) if not proof.ok}


def _build(
    course: Course, outdir: Path, seeds: int, unproven: dict[str, tuple[str, ...]]
) -> Bundle:
    course_root = course.root
    drawn = tuple(sorted(random.SystemRandom().sample(range(10**6), seeds)))
    ids = []
    practice: list[Quiz] = []
    graded: list[Quiz] = []
    hidden: dict[str, str] = {}
    for path in sorted((course_root / "exercises").glob("*.yaml")):
        if is_quiz(path):
            quiz = course.load_quiz(path.stem)
            (practice if quiz.practice else graded).append(quiz)
            continue
        prepared = prepare(course_root, path)
        ids.append(prepared.exercise.id)
        hidden[prepared.exercise.id] = _write_exercise(prepared, path, outdir, drawn, course.text)
    quizzes = _write_quizzes(course_root, outdir, practice, ids)
    if course.text.source is not None:
        shutil.copy(course.text.source, outdir / COURSE_FILE)
    readme = _readme(course.text, outdir, ids, hidden, drawn, practice, graded, unproven)
    _write_text(outdir / "README.md", readme)
    manifest: dict[str, Any] = {
        "format": RELEASE_FORMAT,
        "grader_version": __version__,
        "released": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seeds": list(drawn),
        "exercises": ids + quizzes,
    }
    if unproven:
        manifest["unproven"] = sorted(unproven)
    _write_text(outdir / RELEASE_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return Bundle(outdir, tuple(ids), tuple(quizzes), drawn, unproven)


def _move_into_place(staging: Path, outdir: Path) -> None:
    """The whole bundle at outdir at once: an earlier one (checked by _check_target) is
    moved aside first and removed only once the new one is in place."""
    aside = None
    if outdir.exists():
        if any(outdir.iterdir()):
            aside = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old-", dir=outdir.parent))
            os.replace(outdir, aside / "bundle")
        else:
            outdir.rmdir()
    try:
        os.replace(staging, outdir)
    except OSError as exc:
        if aside is not None:
            os.replace(aside / "bundle", outdir)
            aside.rmdir()
        raise GraderError(f"cannot move the bundle into {outdir}: {exc.strerror}") from None
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _write_quizzes(
    course_root: Path, outdir: Path, quizzes: list[Quiz], ids: list[str]
) -> list[str]:
    """Practice quizzes ship with their key (the functions their answers call), by design:
    their point is feedback at once. A module that an exercise also uses stays home, or
    the bundle would hand out a reference solution."""
    course = Course(course_root)
    exercise_modules = set()
    for exercise_id in ids:
        exercise_modules |= set(course.load(exercise_id).graded_with())
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
    return [quiz.id for quiz in quizzes]


def _check_target(outdir: Path, course_root: Path, *, replace: bool) -> None:
    """Where the bundle goes: outside the course, and new, empty or an earlier bundle to
    replace. Nothing is removed here: the earlier bundle goes only once the new one is
    whole."""
    out, course = outdir.resolve(), course_root.resolve()
    if out == course or course in out.parents or out in course.parents:
        raise GraderError(
            f"{outdir} overlaps the course directory {course_root}",
            fix="Write the bundle somewhere outside the course.",
        )
    if outdir.exists() and not outdir.is_dir():
        raise GraderError(f"{outdir} is a file", fix="Choose a directory for the bundle.")
    if outdir.exists() and any(outdir.iterdir()):
        if not (outdir / RELEASE_MANIFEST).is_file():
            raise GraderError(
                f"{outdir} exists, is not empty and is not a bundle made by grade release; "
                "nothing was written",
                fix="Choose a new directory (--replace replaces only an earlier bundle).",
            )
        if not replace:
            raise GraderError(
                f"{outdir} holds an earlier bundle; nothing was written",
                fix="Choose a new directory, or pass --replace to replace it.",
            )


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None


def _write_exercise(
    prepared: Prepared, path: Path, outdir: Path, seeds: tuple[int, ...], text: CourseText
) -> str:
    """The exercise's student file, its answers and its starter; returns what the README
    says of its hidden cases."""
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
    _write_text(outdir / f"{exercise.id}.py", render_starter(exercise, text))
    cases, points = answers["hidden"]["cases"], answers["hidden"]["points"]
    if not cases:
        return "none"
    return f"{cases} case{'s' if cases != 1 else ''}, {points:g} point{'s' if points != 1 else ''}"


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
        # Every form of every mistake (each way it is written, in float64 too), so that a
        # bundle names a mistake as the course does.
        forms = prepared.stored_forms(cases, seed)
        by_seed[str(seed)] = {
            case.name: {
                "digest": input_digest(case),
                "expected": _interval(answers.expected[case.id]),
                "seconds": answers.seconds[case.id],
                # The call's memory and patience, derived from the reference as its time
                # limit is: a bundle holds a student's call to them as the course does.
                "memory": answers.memory.get(case.id),
                "patience": answers.patience.get(case.id),
                "mistakes": {m.id: _interval(found[case.id]) for m, found in mistakes},
                "forms": forms[case.id],
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
    text: CourseText,
    outdir: Path,
    ids: list[str],
    hidden: dict[str, str],
    seeds: tuple[int, ...],
    practice: list[Quiz],
    graded: list[Quiz],
    unproven: dict[str, tuple[str, ...]],
) -> str:
    """The students' README, in the course's words, about the bundle as written: its table
    is read from the bundle's own files, so it says what `grade list` says there."""
    import jinja2

    bundle = Course(outdir)
    exercises = [bundle.load(i) for i in ids]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown
    )
    return env.get_template("bundle_readme.md.j2").render(
        course=text,
        exercises=exercises,
        first=ids[0] if ids else "<id>",
        hidden=hidden if any(h != "none" for h in hidden.values()) else {},
        plot=any(e.plot is not None for e in exercises),
        seeds=seeds,
        version=__version__,
        practice=practice,
        graded=graded,
        unproven=sorted(unproven),
    )
