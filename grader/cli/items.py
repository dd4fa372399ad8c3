"""What a student runs besides grading: list, show, start, doctor."""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli.common import EXIT_USAGE, course, course_option, reports_errors
from grader.cli.root import cli
from grader.render.untrusted import visible

#: Whose numbers a quiz shows or writes (`grade show q01`, `grade start q01`).
student_option = click.option(
    "--student",
    help="A quiz only: whose numbers, each student's own from their id [default: "
    "$GRADER_STUDENT, else your login name].",
)


@cli.command(name="list")
@course_option
@click.pass_context
@reports_errors
def list_exercises(ctx: click.Context) -> None:
    """List the exercises of the course."""
    from grader.course import listing

    items = listing(course(ctx))
    for item in items:
        if item.problem is not None:
            click.echo(f"{item.id:<8} (cannot be read: see below)")
        else:
            kind = ", quiz" if item.quiz else ""
            # A course's words reach a terminal too: shown, never acted on.
            click.echo(visible(f"{item.id:<8} {item.title}  ({item.points:g} points{kind})"))
    broken = [item.problem for item in items if item.problem is not None]
    if broken:
        # Every other item is still listed: one broken file hides none of the others.
        click.echo("\n".join(broken), err=True)
        ctx.exit(EXIT_USAGE)


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE")
@click.option(
    "--cases",
    "show_cases",
    is_flag=True,
    help="For authors: the inputs each case draws and the reference's answer, not the task.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    help="With --cases: the seed of the random cases [default: 0; in a bundle, a stored one].",
)
@click.option(
    "--hidden",
    is_flag=True,
    help="With --cases: the hidden cases too (a course only: a bundle holds none).",
)
@student_option
@course_option
@click.pass_context
@reports_errors
def show(
    ctx: click.Context,
    exercise_id: str,
    show_cases: bool,
    seed: int | None,
    hidden: bool,
    student: str | None,
) -> None:
    """Print the statement of an exercise (--cases: what its cases draw), or a quiz's
    questions with the student's own numbers."""
    if course(ctx).kind_of(exercise_id) == "quiz":
        if show_cases or seed is not None or hidden:
            raise click.UsageError("--cases, --seed and --hidden are for exercises")
        _show_quiz(ctx, exercise_id, student)
        return
    if student is not None:
        raise click.UsageError("--student is for quizzes: an exercise has no numbers of its own")
    if show_cases:
        from grader.authoring.drawn import drawn_cases

        prepared = course(ctx).prepare(exercise_id)
        click.echo("\n".join(drawn_cases(prepared, seed=seed, hidden=hidden)))
        return
    if seed is not None or hidden:
        raise click.UsageError("--seed and --hidden go with --cases")
    exercise = course(ctx).load(exercise_id)
    click.echo(visible(f"# {exercise.id}: {exercise.title}\n"))
    click.echo(visible(exercise.statement.rstrip("\n") + "\n"))
    click.echo(f"Write, in {exercise.id}.py:\n\n    {exercise.entry.signature}\n")
    click.echo(f"Start with 'grade start {exercise.id}', grade with 'grade {exercise.id}'.")


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE")
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it [default: ./EXERCISE.py].",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file (its code is lost).")
@student_option
@course_option
@click.pass_context
@reports_errors
def start(
    ctx: click.Context, exercise_id: str, file: Path | None, force: bool, student: str | None
) -> None:
    """Write a starter file with the function to implement, or a quiz's answers file
    (./QUIZ-answers.yaml) with the student's own numbers."""
    if course(ctx).kind_of(exercise_id) == "quiz":
        _start_quiz(ctx, exercise_id, file, force, student)
        return
    if student is not None:
        raise click.UsageError("--student is for quizzes: an exercise has no numbers of its own")
    from grader.authoring.starter import write_starter

    exercise = course(ctx).load(exercise_id)
    path = write_starter(exercise, file or Path(f"{exercise.id}.py"), force=force)
    click.echo(f"Wrote {path}. Implement {exercise.entry.function}, then run: grade {exercise.id}")


def _show_quiz(ctx: click.Context, quiz_id: str, student: str | None) -> None:
    """A quiz's intro and questions, as the student's variant shows them."""
    from grader.quiz.run import default_student, open_quiz
    from grader.quiz.terminal import sheet, this_terminal

    opened = open_quiz(course(ctx), quiz_id)
    who = default_student(student)
    click.echo(sheet(opened.quiz, opened.posed(who), who, this_terminal()), nl=False)


def _start_quiz(
    ctx: click.Context, quiz_id: str, file: Path | None, force: bool, student: str | None
) -> None:
    """What `grade QUIZ --template` writes: the blank answers file of the student."""
    from grader.quiz.run import default_student, open_quiz, write_template

    opened = open_quiz(course(ctx), quiz_id)
    who = default_student(student)
    path = write_template(opened, who, file or Path(f"{quiz_id}-answers.yaml"), force=force)
    click.echo(
        f"Wrote {path} for student {who}. Fill it in, then: grade {quiz_id} --answers {path}"
    )


@cli.command()
@reports_errors
def doctor() -> None:
    """Tell which sandbox runs student code on this machine, and why."""
    from grader.sandbox.doctor import doctor as describe

    click.echo("\n".join(describe()))
