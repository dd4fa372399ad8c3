"""Commands other systems call: `grade gradescope` (Gradescope's run_autograder)."""

from __future__ import annotations

from pathlib import Path

import click

from grader.cli.common import course, course_option
from grader.cli.root import cli
from grader.errors import GraderError
from grader.render.untrusted import visible


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE")
@click.option(
    "--submission",
    "submission_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/autograder/submission"),
    show_default=True,
    help="Where Gradescope puts the student's files.",
)
@click.option(
    "--results",
    "results_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("/autograder/results/results.json"),
    show_default=True,
    help="Where Gradescope reads the results.",
)
@course_option
@click.pass_context
def gradescope(
    ctx: click.Context, exercise_id: str, submission_dir: Path, results_path: Path
) -> None:
    """Grade a Gradescope submission (run_autograder calls this): the student's
    EXERCISE.py (or EXERCISE.ipynb), or the one .py or .ipynb file they uploaded, into
    results.json. Always writes a results.json, and exits 0, so Gradescope shows the
    student why."""
    from grader.integrations import gradescope as autograder

    results = autograder.results(exercise_id, submission_dir, lambda: course(ctx))
    if results.fault is not None:
        # Never the student's: they learn it is not theirs, the instructor (the log) what.
        fault = visible(results.fault)  # may name the uploaded file: shown, never acted on
        click.echo(f"grade: the autograder is misconfigured: {fault}", err=True)
    try:
        autograder.write(results_path, results.document)
    except GraderError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {results_path}")
