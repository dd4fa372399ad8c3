"""A quiz's own checks, for `grade validate` and `grade selftest`.

validate: the file's rules, the answer and misconception functions (importable, callable
with the question's parameters), and a variant for each of many students. selftest: for
each of those students, the right answer is judged right and each misconception's value
is named as that misconception, each written as a student who follows the
significant-figure rule writes it: no variant lets two of them collide; and how many
draws the generator had to skip to keep them apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, Problem, SpecError
from grader.exercise.prepare import callable_with
from grader.quiz.grading import judge, pose
from grader.quiz.spec import Quiz
from grader.quiz.type_numeric import figures_required, written
from grader.quiz.variants import solution_loader

#: Students whose variants are drawn: ids that look like a class list.
STUDENTS = tuple(f"student-{n:04d}" for n in range(500))


def quiz_problems(quiz: Quiz, course_root: Path, students: int = 100) -> list[Problem]:
    load = solution_loader(course_root)
    found: list[Problem] = []
    for question in quiz.questions:
        names = set(question.params)
        paths = [("the answer", question.answer)] + [
            (f"misconception {m.id!r}", m.formula) for m in question.misconceptions
        ]
        broken = False
        for what, dotted in paths:
            if dotted is None:
                continue
            try:
                fn = load(dotted)
            except GraderError as exc:
                found.append(Problem(question.where, f"{what}: {exc.what}", exc.fix))
                broken = True
                continue
            why = callable_with(fn, keywords=names)
            if why is not None:
                found.append(
                    Problem(
                        question.where,
                        f"{what} cannot take the parameters {sorted(names)}: {why}",
                        "Name its parameters as the question's params.",
                    )
                )
                broken = True
        if broken:
            continue
        for student in STUDENTS[:students]:
            try:
                pose(quiz, question, student, load)
            except GraderError as exc:
                found.append(Problem(exc.where or question.where, exc.what, exc.fix))
                break
            except Exception as exc:  # the author's function, on the author's ranges
                found.append(
                    Problem(
                        question.where,
                        f"drawing {student}'s variant failed: {type(exc).__name__}: {exc}",
                        "Check the parameters' ranges and the functions.",
                    )
                )
                break
    return found


@dataclass
class QuestionProof:
    id: str
    variants: int = 0
    skipped: int = 0
    most_skipped: int = 0
    failures: list[str] = field(default_factory=list)


def prove_quiz(quiz: Quiz, course_root: Path, students: int = len(STUDENTS)) -> list[QuestionProof]:
    """Every student's variant of every question: the key is right, each misconception is
    named as itself, and none collides with another."""
    # Functions that do not load or take the parameters: nothing can be drawn at all.
    problems = quiz_problems(quiz, course_root, students=0)
    if problems:
        raise SpecError(problems=problems)
    load = solution_loader(course_root)
    proofs = []
    for question in quiz.questions:
        proof = QuestionProof(question.id)
        for student in STUDENTS[:students]:
            try:
                posed = pose(quiz, question, student, load)
            except GraderError as exc:  # a function fails on a draw: this question's FAIL
                where = f"{exc.where}: " if exc.where else ""
                proof.failures.append(f"{student}: {where}{exc.what}")
                break
            proof.variants += 1
            proof.skipped += posed.variant.skipped
            proof.most_skipped = max(proof.most_skipped, posed.variant.skipped)
            if posed.variant.answer is None:
                continue
            # Each number as a student who follows the rule writes it: to the significant
            # figures the question asks for (0.55 to 4 figures is 0.5500), never its repr.
            key = written(posed.variant.answer, figures_required(question, posed.variant.answer))
            right = judge(posed, key, practice=True)
            if right.score < question.points:
                proof.failures.append(f"{student}: the key, {key}, is judged {right.message!r}")
            for m in question.misconceptions:
                value = posed.variant.wrong[m.id]
                typed = written(value, figures_required(question, value))
                got = judge(posed, typed, practice=True)
                if m.title not in got.message:
                    proof.failures.append(
                        f"{student}: {m.id}'s value, {typed}, is judged {got.message!r}"
                    )
            if proof.failures:
                break
        proofs.append(proof)
    return proofs


def quiz_table(quiz: Quiz, proofs: list[QuestionProof]) -> list[str]:
    lines = [f"{quiz.id}: {quiz.title}  (quiz, {proofs[0].variants if proofs else 0} students)"]
    for p in proofs:
        state = "ok" if not p.failures else "FAIL: " + p.failures[0]
        lines.append(
            f"  {p.id:<28} draws skipped {p.skipped:>4} (at most {p.most_skipped} for one "
            f"student)  {state}"
        )
    ok = all(not p.failures for p in proofs)
    lines.append(f"  {'proven' if ok else 'NOT proven'}")
    return lines
