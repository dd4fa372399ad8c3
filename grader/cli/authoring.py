"""What an instructor runs on a course: validate, selftest, new, release, export."""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli.common import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_USAGE,
    course,
    course_dir,
    course_option,
    reports_errors,
)
from grader.cli.root import cli


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@course_option
@click.pass_context
@reports_errors
def validate(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Check exercise files [default: every file of the course].

    Prints every problem of every file, one per line as file:line:col: what; what to do;
    then notes (right for grader, worth a word: a quiz credit Moodle's export cannot
    hold). Exit code 2 on any problem, 0 otherwise.
    """
    from grader.authoring.validate import validate as check
    from grader.course import course_of

    named = list(paths)
    found = None if named else course(ctx)
    root = course_of(named) or (found or course(ctx)).root
    result = check(root, named or [found.exercises_dir if found else root])
    for problem in result.problems:
        click.echo(str(problem))
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(result.summary(), err=not result.ok)
    ctx.exit(EXIT_PASSED if result.ok else EXIT_USAGE)


@cli.command()
@click.argument("exercise_ids", nargs=-1, metavar="[EXERCISE]...")
@click.option(
    "--seeds",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="How many seeds (0, 1, ...) the random cases are drawn with.",
)
@course_option
@click.pass_context
@reports_errors
def selftest(ctx: click.Context, exercise_ids: tuple[str, ...], seeds: int) -> None:
    """Prove exercises' cases [default: all]: the reference and the correct variants get
    full marks, every mistake loses points and is diagnosed as itself, every case has a
    reason to exist. Exit code 1 when a proof fails."""
    from grader.authoring.selftest import prove_items

    found = course(ctx)
    ids = list(exercise_ids) or found.exercise_ids() + found.quiz_ids()
    proven = True
    for n, proof in enumerate(prove_items(found, ids, seeds)):
        click.echo(("\n" if n else "") + "\n".join(proof.lines))
        proven = proven and proof.ok
    ctx.exit(EXIT_PASSED if proven else EXIT_FAILED)


@cli.command()
@click.argument("exercise_id", metavar="ID")
@click.option("--title", default=None, help="The exercise's title [default: ID].")
@course_option
@click.pass_context
@reports_errors
def new(ctx: click.Context, exercise_id: str, title: str | None) -> None:
    """Scaffold an exercise: exercises/ID.yaml and its reference and mistakes in
    solutions/, in the course given by --course, else the one around the current
    directory, else a new course in the current directory."""
    from grader.authoring.scaffold import scaffold
    from grader.course import enclosing

    root = course_dir(ctx) or enclosing(Path.cwd())
    for path in scaffold(root, exercise_id, title=title or exercise_id):
        click.echo(f"wrote {path}")
    click.echo(f"Next: edit them, then 'grade validate' and 'grade selftest {exercise_id}'.")


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--seeds",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="How many seeds of the visible random cases the bundle holds answers for.",
)
@click.option(
    "--replace", is_flag=True, help="Replace OUTDIR if it holds an earlier bundle (only then)."
)
@click.option(
    "--force",
    is_flag=True,
    help="Release items that grade selftest does not prove; the bundle's README and "
    "release.json then say which.",
)
@course_option
@click.pass_context
@reports_errors
def release(ctx: click.Context, outdir: Path, seeds: int, replace: bool, force: bool) -> None:
    """Build the student bundle: exercises without hidden cases, starter files, a README,
    and the answers of the visible cases; no solutions. Every item must validate and be
    proven by grade selftest (--force releases unproven ones, with a warning)."""
    from grader.authoring.release import release as build

    bundle = build(course(ctx).root, outdir, seeds=seeds, replace=replace, force=force)
    for item_id, why in bundle.unproven.items():
        click.echo(
            f"warning: {item_id} is released although selftest does not prove it: {why[0]}",
            err=True,
        )
    held = _count(len(bundle.exercises), "exercise", "exercises")
    if bundle.quizzes:
        held += ", " + _count(len(bundle.quizzes), "quiz", "quizzes")
    click.echo(
        f"wrote {outdir}: {held}, answers for {len(bundle.seeds)} seeds; students run "
        "'grade <id>' inside it."
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@cli.command()
@click.argument("quiz_id", metavar="QUIZ")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["moodle-xml"]),
    default="moodle-xml",
    show_default=True,
    help="What the LMS imports.",
)
@click.option(
    "--variants",
    type=click.IntRange(1, 500),
    default=20,
    show_default=True,
    help="How many variants of each question with parameters (Moodle picks one per student).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Where to write it, '-' for standard output [default: ./QUIZ.xml].",
)
@click.option(
    "--round-credits",
    is_flag=True,
    help="Write a misconception credit Moodle cannot hold as the nearest grade it has "
    "(with a warning), instead of refusing it.",
)
@course_option
@click.pass_context
@reports_errors
def export(
    ctx: click.Context,
    quiz_id: str,
    fmt: str,
    variants: int,
    out: Path | None,
    round_credits: bool,
) -> None:
    """Export a quiz for an LMS: each numeric question with its tolerance and, per variant,
    its misconceptions as wrong answers carrying their feedback. A credit Moodle cannot
    hold as a grade is refused, with its place in the quiz file (--round-credits: rounded)."""
    from grader.quiz.run import export_quiz, export_text

    found = course(ctx)
    path: Path | None = None
    if out == Path("-"):
        text, rounded = export_text(found, quiz_id, variants=variants, round_credits=round_credits)
        click.echo(text, nl=False)
    else:
        path, rounded = export_quiz(
            found,
            quiz_id,
            out or Path(f"{quiz_id}.xml"),
            variants=variants,
            round_credits=round_credits,
        )
    for problem in rounded:
        click.echo(f"warning: rounded for Moodle: {problem.where}: {problem.what}", err=True)
    if path is not None:
        click.echo(
            f"wrote {path} ({fmt}): import it in Moodle's question bank (Import, Moodle XML)."
        )
