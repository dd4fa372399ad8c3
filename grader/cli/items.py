"""What a student runs besides grading: list, show, start, doctor."""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli.common import EXIT_USAGE, course, course_option, reports_errors
from grader.cli.root import cli


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
            click.echo(f"{item.id:<8} {item.title}  ({item.points:g} points{kind})")
    broken = [item.problem for item in items if item.problem is not None]
    if broken:
        # Every other item is still listed: one broken file hides none of the others.
        click.echo("\n".join(broken), err=True)
        ctx.exit(EXIT_USAGE)


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE")
@course_option
@click.pass_context
@reports_errors
def show(ctx: click.Context, exercise_id: str) -> None:
    """Print the statement of an exercise."""
    exercise = course(ctx).load(exercise_id)
    click.echo(f"# {exercise.id}: {exercise.title}\n")
    click.echo(exercise.statement.rstrip("\n") + "\n")
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
@course_option
@click.pass_context
@reports_errors
def start(ctx: click.Context, exercise_id: str, file: Path | None, force: bool) -> None:
    """Write a starter file with the function to implement."""
    from grader.authoring.starter import write_starter

    exercise = course(ctx).load(exercise_id)
    path = write_starter(exercise, file or Path(f"{exercise.id}.py"), force=force)
    click.echo(f"Wrote {path}. Implement {exercise.entry.function}, then run: grade {exercise.id}")


@cli.command()
@reports_errors
def doctor() -> None:
    """Tell which sandbox runs student code on this machine, and why."""
    from grader.sandbox.doctor import doctor as describe

    click.echo("\n".join(describe()))
