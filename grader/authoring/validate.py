"""`grade validate`: every problem of every exercise file at once, before a class sees it.

Beyond the file's own rules (spec.py), the checks that need the course: each case's inputs
can be drawn, the reference, every mistake and every variant import and take the declared
parameters, the allowed packages are installed, and the reference gives every promised
value, finite and without raising, on every case (the random ones for many seeds). Each
problem is a `Problem` with file:line:col.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.course import COURSE_FILE, kind_of_file, read_course_text
from grader.errors import GraderError, Problem, ReferenceSolutionError, SpecError
from grader.exercise.prepare import Prepared, callable_with, prepare
from grader.exercise.spec import Exercise

#: Seeds whose random inputs validate draws: enough to meet a generator's rare options.
SEEDS = (0, 1, 2)
#: Seeds the reference is run with on every random case: a reference that fails on some
#: drawn inputs only must fail here, before a student's random seed meets it. Fixed, so
#: that validate says the same thing on every run.
ANSWER_SEEDS = SEEDS + tuple(range(3, 23))


@dataclass(frozen=True)
class Validation:
    files: tuple[Path, ...]
    problems: tuple[Problem, ...]
    #: What is right for grader but worth a word (a quiz credit Moodle cannot hold): said,
    #: never failing.
    notes: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        n = len(self.files)
        files = f"{n} file{'s' if n != 1 else ''}"
        if self.ok:
            return f"{files} checked: no problems."
        bad = len({p.where.split(":")[0] for p in self.problems})
        count = len(self.problems)
        return f"{count} problem{'s' if count != 1 else ''} in {bad} of {files}."


def exercise_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the *.yaml files of directories named (exercises/ of a course);
    a directory's *.yml files too, so that validate can say they are not found."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inner = path / "exercises" if (path / "exercises").is_dir() else path
            found += sorted([*inner.glob("*.yaml"), *inner.glob("*.yml")])
        else:
            found.append(path)
    return found


def validate(course_root: Path, paths: Sequence[Path]) -> Validation:
    """Check every file; a broken file never stops the others from being checked."""
    files = exercise_files(paths)
    course_file = course_root / COURSE_FILE
    if any(p.is_dir() for p in paths) and course_file.is_file():
        files.insert(0, course_file)  # a course is checked whole: its own words too
    problems: list[Problem] = []
    notes: list[Problem] = []
    ids = _Seen()
    for path in files:
        if not path.is_file():
            problems.append(Problem(str(path), "no such file", "Check the path."))
            continue
        if path.resolve() == course_file.resolve():
            problems += _course_file(course_root)
            continue
        if path.suffix != ".yaml":
            problems.append(
                Problem(
                    f"{path}:1:1",
                    f"{path.name} is not found by grade: exercise files end in .yaml",
                    f"Rename it to {path.stem}.yaml.",
                )
            )
            continue
        kind = kind_of_file(path)
        problems += in_line_order(VALIDATORS[kind](course_root, path, ids))
        if kind == "quiz":
            notes += _quiz_notes(course_root, path)
    return Validation(tuple(files), tuple(problems), tuple(notes))


_PLACE = re.compile(r":(\d+):(\d+)$")


def in_line_order(problems: Iterable[Problem]) -> list[Problem]:
    """One file's problems as an author reads the file: top to bottom, each once (a rule
    that two steps check is still one problem)."""
    unique = list(dict.fromkeys(problems))

    def place(problem: Problem) -> tuple[int, int]:
        found = _PLACE.search(problem.where)
        return (int(found[1]), int(found[2])) if found else (0, 0)

    return sorted(unique, key=place)


def _course_file(course_root: Path) -> list[Problem]:
    """course.yaml: its keys, against its schema."""
    try:
        read_course_text(course_root)
    except SpecError as exc:
        return in_line_order(exc.problems)
    return []


@dataclass
class _Seen:
    """What the files checked so far claimed: ids (each item's own), and the exercises'
    titles (an LMS export titles a column by them: two alike would be one column)."""

    ids: dict[str, Path] = field(default_factory=dict)
    titles: dict[str, Path] = field(default_factory=dict)


def _exercise(course_root: Path, path: Path, seen: _Seen) -> list[Problem]:
    """An exercise file: its rules, and what only the course can tell."""
    try:
        prepared = prepare(course_root, path)
    except SpecError as exc:
        return list(exc.problems)
    except GraderError as exc:  # a bundle whose stored answers are unreadable
        return [Problem(exc.where or str(path), exc.what, exc.fix)]
    exercise = prepared.exercise
    found = []
    ids, titles = seen.ids, seen.titles
    if exercise.id in ids:
        found.append(
            Problem(
                exercise.where("id"),
                f"id {exercise.id!r} is also the id of {ids[exercise.id]}",
                "Give every exercise its own id.",
            )
        )
    ids.setdefault(exercise.id, path)
    title = exercise.title.strip().casefold()
    if title in titles:
        found.append(
            Problem(
                exercise.where("title"),
                f"title {exercise.title!r} is also the title of {titles[title]}",
                "Give every exercise its own title: Canvas and Moodle exports name a "
                "column by it, and two alike would be one.",
            )
        )
    titles.setdefault(title, path)
    return found + course_problems(prepared)


def _quiz(course_root: Path, path: Path, seen: _Seen) -> list[Problem]:
    """A quiz file: its rules, its functions, and a variant for each of many students."""
    from grader.course import Course
    from grader.quiz.check import quiz_problems
    from grader.quiz.spec import load_quiz

    try:
        quiz = load_quiz(path, Course(course_root).shared_mistakes())
    except SpecError as exc:
        return list(exc.problems)
    found = []
    ids = seen.ids
    if quiz.id in ids:
        found.append(
            Problem(quiz.where("id"), f"id {quiz.id!r} is also the id of {ids[quiz.id]}", None)
        )
    ids.setdefault(quiz.id, path)
    return found + quiz_problems(quiz, course_root)


def _quiz_notes(course_root: Path, path: Path) -> list[Problem]:
    """Credits right for grader that Moodle's export cannot carry (a quiz that does not
    load has its problems already)."""
    from grader.course import Course
    from grader.quiz.moodle import credit_problems
    from grader.quiz.spec import load_quiz

    try:
        quiz = load_quiz(path, Course(course_root).shared_mistakes())
    except GraderError:
        return []
    return in_line_order(credit_problems(quiz))


#: How each kind of item (course.ITEM_KINDS) is validated.
VALIDATORS: dict[str, Callable[[Path, Path, _Seen], list[Problem]]] = {
    "exercise": _exercise,
    "quiz": _quiz,
}


def course_problems(prepared: Prepared) -> list[Problem]:
    """What only the course can tell: inputs, solutions, packages, promised values."""
    exercise = prepared.exercise
    found = _input_problems(exercise)
    found += _package_problems(exercise)
    if prepared.released is None:
        found += _function_problems(prepared)
    # The reference runs on the cases and the plot only once it loads and inputs build.
    found += _plot_problems(prepared, run_reference=not found)
    if not found and prepared.released is None:
        found += _answer_problems(prepared)
    if not found and prepared.released is None:
        found += _twin_problems(prepared)
    return found


def _input_problems(exercise: Exercise) -> list[Problem]:
    from grader.exercise.cases import build_cases

    found: list[Problem] = []
    for case in exercise.cases:
        alone = replace(exercise, cases=(case,))
        for seed in SEEDS if case.generate is not None else SEEDS[:1]:
            try:
                build_cases(alone, seed)
            except SpecError as exc:
                found += exc.problems
                break
    return found


def _plot_problems(prepared: Prepared, *, run_reference: bool) -> list[Problem]:
    """The plot's inputs, built as the HTML report builds them, and the reference on them."""
    import math

    from grader.exercise.sweep import sweep

    exercise = prepared.exercise
    plot = exercise.plot
    if plot is None:
        return []
    where = exercise.where("plot", "series")
    try:
        points = sweep(plot, exercise.entry.param_names)
    except SpecError as exc:
        fix = 'Write numbers; "x" and "1-x" stand for the swept value.'
        return [replace(p, where=where, fix=fix) for p in exc.problems]
    except KeyError:
        return []  # reported by spec: the args do not match the parameters
    if prepared.released is not None or not run_reference:
        return []
    try:
        ys = prepared.curve([arrays for _, _, arrays in points]) or []
    except ReferenceSolutionError as exc:  # the author's reference, on the author's sweep
        return [Problem(where, exc.what, "Fix the plot's args or its x range.")]
    bad = [x for (_, x, _), y in zip(points, ys, strict=False) if not math.isfinite(y)]
    if bad:
        return [
            Problem(
                where,
                f"the reference is not finite on the plot's inputs at x = {bad[0]:g}",
                "Narrow the plot's x range (start, stop).",
            )
        ]
    return []


def _package_problems(exercise: Exercise) -> list[Problem]:
    from grader.authoring.packages import package_problems

    return [
        Problem(exercise.where("packages"), what) for what in package_problems(exercise.packages)
    ]


def _function_problems(prepared: Prepared) -> list[Problem]:
    """The reference, each mistake (every form it lists) and each variant: importable,
    callable as declared."""
    from grader.exercise.reference import load_function

    exercise = prepared.exercise
    count = len(exercise.entry.params)
    named = [("the reference", exercise.reference, exercise.where("reference"))]
    named += [(f"mistake {m.id!r}", m.implementation, m.where) for m in exercise.mistakes]
    named += [
        (f"mistake {m.id!r} (form {j})", dotted, exercise.where("mistakes", i, "implementation", j))
        for i, m in enumerate(exercise.mistakes)
        for j, dotted in enumerate(m.alternatives, start=1)
    ]
    named += [(f"variant {v.id!r}", v.implementation, v.where) for v in exercise.variants]
    found = []
    for what, dotted, where in named:
        if dotted is None:
            continue
        try:
            fn = load_function(prepared.course_root, dotted, where)
        except GraderError as exc:
            found.append(Problem(where, f"{what}: {exc.what}", exc.fix))
            continue
        why = callable_with(fn, count)
        if why is not None:
            found.append(
                Problem(
                    where,
                    f"{what} cannot be called with the {count} declared parameters: {why}",
                    f"Make it take ({', '.join(exercise.entry.param_names)}) in that order; "
                    "extra parameters need defaults.",
                )
            )
    return found


def _answer_problems(prepared: Prepared) -> list[Problem]:
    """The reference on every case, the random ones with many seeds: finite, as promised,
    and never raising. The first failing seed of a case is reported, with how to rerun it."""
    from grader.exercise.prepare import check_promises
    from grader.exercise.reference import expected_for

    exercise = prepared.exercise
    reference = prepared.reference
    assert reference is not None
    found: dict[str, Problem] = {}
    for seed in ANSWER_SEEDS:
        for case in prepared.cases(seed):
            if case.spec.where in found or (seed != SEEDS[0] and case.spec.generate is None):
                continue  # a fixed case draws nothing: one seed tells all
            try:
                expected = {case.id: expected_for(exercise, reference, case, seed=seed)}
            except ReferenceSolutionError as exc:
                found[case.spec.where] = Problem(
                    case.spec.where,
                    exc.what,
                    f"Fix the reference, or the case's inputs; 'grade {exercise.id} --seed "
                    f"{seed}' draws them again.",
                )
                continue
            try:
                check_promises([case], expected)
            except GraderError as exc:
                found[case.spec.where] = Problem(case.spec.where, exc.what, exc.fix)
    return list(found.values())


def _twin_problems(prepared: Prepared) -> list[Problem]:
    """A mistake no drawn case tells from the reference is no mistake a student can be
    told of (often the reference's own path pasted in); a variant that is the reference's
    own code proves no other style."""
    from grader.authoring.selftest import full_marks, reference_copy, same_function
    from grader.exercise.reference import load_variants

    exercise = prepared.exercise
    reference = prepared.reference
    assert reference is not None
    found = []
    seeds = ", ".join(map(str, SEEDS))
    for mistake, fn in prepared.mistake_functions:
        if same_function(fn, reference):
            found.append(
                Problem(
                    mistake.where,
                    f"mistake {mistake.id!r} is the reference itself: "
                    + reference_copy(mistake.implementation, exercise.reference),
                    "Point 'implementation' at the wrong code the mistake is named for.",
                )
            )
        elif all(full_marks(prepared, fn, seed) for seed in SEEDS):
            found.append(
                Problem(
                    mistake.where,
                    f"mistake {mistake.id!r} ({mistake.implementation}) equals the reference on "
                    f"every case drawn with seeds {seeds}: it scores full marks, so no student "
                    "would be told of it",
                    "Make it the wrong code its title names, or add a case where it differs "
                    f"from the reference ('grade show {exercise.id} --cases --hidden' shows "
                    "what each case draws).",
                )
            )
    for variant, fn in load_variants(exercise, prepared.course_root):
        if same_function(fn, reference):
            found.append(
                Problem(
                    variant.where,
                    f"variant {variant.id!r} is the reference itself: "
                    + reference_copy(variant.implementation, exercise.reference)
                    + ", so it proves no other style",
                    "Point it at another correct implementation (a loop, float32), or remove it.",
                )
            )
    return found
