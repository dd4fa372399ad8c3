"""Taking a quiz in a terminal: one question at a time, every answer saved as it is given.

The prompts are questionary's (arrow keys, space to toggle, and each option's letter: the
question types set them up), so the keys behave as in every other terminal tool and nothing
here parses escape sequences. What is printed around them (the intro, each question, the
feedback) is wrapped to the terminal's width with its Markdown shown (grader.quiz.terminal).
The answers are saved after each question, in the very format of an answers file
(grader.quiz.answers), so that:

- a quiz stopped with Ctrl-C (or a closed laptop) loses nothing, and the next run resumes
  at the first unanswered question;
- the saved file grades to the same score with 'grade qNN --answers FILE', in CI or by hand;
- a student may switch between the terminal and an editor: a filled-in template resumes too.

A practice quiz judges each answer at once with the grader's own judge, so the feedback in
the terminal is word for word the report's; a graded quiz says nothing until the report.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from grader.errors import GraderError
from grader.quiz.answers import read_answers, template
from grader.quiz.grading import Posed, judge
from grader.quiz.run import OpenQuiz
from grader.quiz.spec import Quiz
from grader.quiz.terminal import feedback_lines, intro_lines, question_lines, this_terminal
from grader.quiz.types import QUESTION_TYPES, type_of
from grader.render.untrusted import visible

#: Each question type's prompt, by its `type:` (the words are its class's).
PROMPTS = {name: kind.ask for name, kind in QUESTION_TYPES.items()}


def take(opened: OpenQuiz, student: str, *, save: Path) -> dict[str, object] | None:
    """Ask the questions `student` has not answered yet, saving each answer to `save`.

    Returns every answer by question id, as an answers file holds them (numbers as the
    text typed, letters, lists of letters, booleans), for the caller to grade; or None when
    the student stopped early (the answers so far are in `save`, and we said how to go on).
    """
    _need_a_terminal(opened.quiz)
    quiz = opened.quiz
    posed = opened.posed(student)
    answers = _resumed(quiz, student, save)
    if not save.exists():
        _save(quiz, posed, student, answers, save)  # fails now, not after the first answer
    elif not os.access(save.parent, os.W_OK):  # it is replaced whole: its directory counts
        raise GraderError(
            f"cannot save answers in {save.parent}: it is not writable",
            fix="Pass --out a file in a directory you can write to.",
        )

    screen = this_terminal()
    click.echo("\n".join(intro_lines(quiz, screen)))
    total, already = len(posed), len(answers)
    if already == total:
        said = screen.wrap(
            f"Every question is answered already in {save}: grading them. To start over, "
            "move that file away or pass --out ANOTHER_FILE.yaml."
        )
        click.echo(f"\n{said}\n")
    elif already:
        click.echo("\n" + screen.wrap(f"resuming: {already} of {total} answered (saved in {save})"))
    try:
        for n, p in enumerate(posed, 1):
            if p.question.id in answers:
                continue
            click.echo("\n" + "\n".join(question_lines(p, n, total, screen)))
            raw = _ask(p)
            given = {**answers, p.question.id: raw}
            _save(quiz, posed, student, given, save)
            answers = given  # only now: a Ctrl-C mid-save leaves the count as the file's
            if quiz.practice:  # in the report's words: the same judge
                click.echo("\n".join(feedback_lines(p, judge(p, raw, practice=True), screen)))
    except (KeyboardInterrupt, EOFError):  # the student left: not an error
        _say_how_to_go_on(quiz, student, save, len(answers), total)
        return None
    if already < total:
        said = screen.wrap(f"All {total} questions answered; the answers are saved in {save}.")
        click.echo(f"\n{said}\n")
    return {p.question.id: answers[p.question.id] for p in posed}


def _need_a_terminal(quiz: Quiz) -> None:
    """Prompts read keys from a terminal and draw on one: with input or output redirected
    they would hang or fill a file with escape codes, so say what works instead."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        where = "input" if not sys.stdin.isatty() else "output"
        raise GraderError(
            f"{quiz.id} asks its questions in a terminal, and the {where} is not one",
            fix=f"Use --answers FILE, or --template to write one: 'grade {quiz.id} --template', "
            f"fill it in, then 'grade {quiz.id} --answers {quiz.id}-answers.yaml'.",
        )


def _answered(value: object) -> bool:
    return not (value is None or value == [] or (isinstance(value, str) and not value.strip()))


def _resumed(quiz: Quiz, student: str, save: Path) -> dict[str, object]:
    """The answers already in `save`, if it holds this student's answers to this quiz.

    A file of another quiz or student, or one we cannot read, is never written over: it may
    be someone's work. A blank template of the same student is simply resumed from."""
    if not save.exists():
        return {}
    keep = f"Pass --out ANOTHER_FILE.yaml to save elsewhere, or move {save} away."
    if not save.is_file():
        raise GraderError(f"{save} is not a file; answers cannot be saved there", fix=keep)
    try:
        found, named = read_answers(save, quiz)
    except GraderError as exc:
        raise GraderError(
            f"{save} exists but is not an answers file of {quiz.id}; it was left as it is:\n"
            f"  {exc}",
            fix=keep,
        ) from None
    except OSError as exc:
        raise GraderError(f"cannot read {save}: {exc.strerror}", fix=keep) from None
    if named is None:
        raise GraderError(
            f"{save} names no student, so it may not be {student!r}'s; it was left as it is",
            fix=f"Add 'student: {json.dumps(student)}' to it to go on with its answers. {keep}",
        )
    if named != student:
        raise GraderError(
            f"{save} holds the answers of student {named!r}, not {student!r}; it was left as it is",
            fix=f"Pass --student {shlex.quote(named)} to go on with them. {keep}",
        )
    order = [q.id for q in quiz.questions]
    return {qid: found[qid] for qid in order if qid in found and _answered(found[qid])}


def _ask(posed: Posed) -> object:
    """One question's answer, as an answers file holds it. Raises KeyboardInterrupt on Ctrl-C."""
    kind = type_of(posed.question)
    prompt = kind.prompt(posed, _ascii_marks())
    answer: Any = prompt.unsafe_ask()
    if answer is None:  # questionary's way of saying the prompt was left: as Ctrl-C
        raise KeyboardInterrupt
    return kind.given(answer)


def _ascii_marks() -> str:
    """questionary's pointer and its checkbox marks, in ASCII where the terminal cannot show
    Unicode: there they would all print as '?', and which options are ticked could not be
    told. The marks are module constants in questionary (no parameter), hence set here."""
    from questionary.constants import DEFAULT_SELECTED_POINTER
    from questionary.prompts import common

    if this_terminal().unicode:
        return DEFAULT_SELECTED_POINTER
    vars(common).update(INDICATOR_SELECTED="[x]", INDICATOR_UNSELECTED="[ ]")
    return ">"


def _save(
    quiz: Quiz, posed: list[Posed], student: str, answers: Mapping[str, object], save: Path
) -> None:
    """Write the answers file whole, then move it into place: a Ctrl-C or a full disk
    mid-write leaves the previous file, never half of one."""
    text = _answers_text(quiz, posed, student, answers)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{save.name}.", suffix=".tmp", dir=save.parent
        )
    except OSError as exc:
        raise GraderError(
            f"cannot save answers to {save}: {exc.strerror}",
            fix="Pass --out a file in a directory you can write to.",
        ) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if save.exists():
            os.chmod(temporary, save.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, save)
    except OSError as exc:
        raise GraderError(f"cannot save answers to {save}: {exc.strerror}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _answers_text(
    quiz: Quiz, posed: list[Posed], student: str, answers: Mapping[str, object]
) -> str:
    """The student's template with their answers filled in: the file reads like the one
    'grade qNN --template' writes, questions and options included, so it can be finished in
    an editor as well. Should the template's layout ever change so that an answer's line is
    not found, the answers are written plainly instead: never lost for a comment."""
    lines = template(quiz, posed, student).splitlines()
    filled = 0
    for i, line in enumerate(lines):
        qid = line.strip()[:-1]
        if line == f"  {qid}:" and qid in answers:
            lines[i] = f"{line} {_yaml_value(answers[qid])}"
            filled += 1
    if filled == len(answers):
        return "\n".join(lines) + "\n"
    plain = [
        f"# {quiz.id}: {quiz.title}. Answers of student {student}, saved in the terminal.",
        f"# Grade with: grade {quiz.id} --answers THIS_FILE",
        f"quiz: {quiz.id}",
        f"student: {json.dumps(student)}",
        "answers:" + ("" if answers else " {}"),
    ]
    plain += [f"  {qid}: {_yaml_value(value)}" for qid, value in answers.items()]
    return "\n".join(plain) + "\n"


def _yaml_value(value: object) -> str:
    """One answer in YAML. JSON is YAML: a number's text stays quoted text, so 0.50 keeps its
    two significant figures; letters, lists of letters and booleans read back as given."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _say_how_to_go_on(quiz: Quiz, student: str, save: Path, answered: int, total: int) -> None:
    """After Ctrl-C: where the answers are, and the two commands that go on from there."""
    again = ["grade", quiz.id, "--student", student, *_course_args(quiz)]
    if save != Path(f"{quiz.id}-answers.yaml"):
        again += ["--out", str(save)]
    grade = ["grade", quiz.id, "--answers", str(save), *_course_args(quiz)]
    # The student id and the file name are anyone's text: shown, never acted on.
    click.echo(
        visible(
            f"\n\nStopped with {answered} of {total} questions answered; the answers so far are "
            f"saved in {save}.\n"
            f"Run '{shlex.join(again)}' again to go on, "
            f"or grade what you have with '{shlex.join(grade)}'."
        ),
        err=True,
    )


def _course_args(quiz: Quiz) -> list[str]:
    """--course, when 'grade' run from here would not find the quiz's course by itself."""
    from grader.course import find_course

    root = quiz.source.resolve().parent.parent
    try:
        if find_course(None).root == root:
            return []
    except GraderError:
        pass
    return ["--course", str(root)]
