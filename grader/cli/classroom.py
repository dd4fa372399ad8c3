"""A class at once: `grade batch` and `grade gradebook export`."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import click

from grader.classroom.formats import EXPORT_FORMATS, MOODLE_IDENTIFIERS
from grader.cli.common import (
    EXIT_PASSED,
    course,
    course_option,
    gradebook_option,
    reports_errors,
    roster_option,
    sandbox_option,
)
from grader.cli.root import cli
from grader.errors import GraderError
from grader.render import BATCH_FORMATS, FORMATS, REPORT_SUFFIXES, format_help
from grader.render.untrusted import visible
from grader.results import ClassRun


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE|all")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    help="Parallel graders [default: 2.5 per core, rounded up]; spare ones (up to as many more) "
    "start while some wait on a submission that hangs, or that hung last time.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    help="Seed of the random cases, one for the whole class [default: derived from the "
    "exercise, so that a re-run grades alike]; another seed grades every student again.",
)
@sandbox_option("auto", many=True)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="Grade on an existing Dask cluster (tcp://HOST:8786) instead of local workers; "
    "needs grader[dask].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(BATCH_FORMATS),
    default="text",
    show_default=True,
    help="What to print: " + format_help(BATCH_FORMATS),
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the class dashboard (.html): histogram, pass rate per case, "
    "mistakes, slowest and erroring submissions.",
)
@roster_option
@gradebook_option
@course_option
@click.pass_context
@reports_errors
def batch(
    ctx: click.Context,
    exercise_id: str,
    directory: Path,
    jobs: int | None,
    seed: int | None,
    sandbox: str,
    dask_address: str | None,
    fmt: str,
    report_path: Path | None,
    roster_path: Path | None,
    gradebook_path: Path,
) -> None:
    """Grade a class: every DIRECTORY/<student>/EXERCISE.py and DIRECTORY/<student>.py
    (with 'all': every exercise's DIRECTORY/<student>/<ID>.py; a notebook, .ipynb, where
    there is no .py file), in parallel, into the gradebook. Attempts already graded (same
    submission, same exercise) are skipped, so an interrupted run is simply started again.
    With --roster, the summary and the dashboard name every student of the roster who
    handed in nothing, and every folder the roster does not list."""
    from grader.classroom.batch import class_items, run_batch
    from grader.classroom.exports import class_list, write_dashboard
    from grader.classroom.gradebook import open_gradebook
    from grader.classroom.roster import read_roster
    from grader.render import batch_renderer

    if report_path is not None and REPORT_SUFFIXES.get(report_path.suffix.lower()) != "html":
        raise click.BadParameter(
            "the class dashboard is HTML: name it .html", param_hint="--report"
        )
    if report_path is not None:
        _check_report(report_path, gradebook_path)
    found = course(ctx)
    items = class_items(found, exercise_id, directory)
    roster = read_roster(roster_path) if roster_path is not None else None
    book = open_gradebook(gradebook_path)
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit="submission", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    try:
        start = book.last_id()
        try:
            summary = run_batch(
                found,
                items,
                directory,
                book,
                jobs=jobs,
                seed=seed,
                sandbox=sandbox,
                dask=dask_address,
                progress=progress,
                roster=roster,
            )
        except KeyboardInterrupt:
            done = len(book.rows(after=start))
            click.echo(
                f"\nInterrupted: {done} attempt(s) of this run are in {gradebook_path}; "
                "run the same command again to grade the rest.",
                err=True,
            )
            ctx.exit(130)
        if bar is not None:
            bar.close()
        run = ClassRun(tuple(summary.lines()))
        if FORMATS[fmt].batch_attempts:
            listed, _ = class_list(book, found, items, roster)
            run = replace(
                run,
                students=tuple(listed.rows.values()),
                attempts=tuple(book.rows(after=start)),
            )
        if report_path is not None:
            write_dashboard(found, book, items, report_path, roster)
    finally:
        book.close()
    click.echo(batch_renderer(fmt)(run), nl=False)
    ctx.exit(EXIT_PASSED)  # the run is done; students' results are in the gradebook


@cli.group()
def gradebook() -> None:
    """Read the gradebook that grade batch writes."""


@gradebook.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="csv",
    show_default=True,
    help="csv: one row per student (name and section from a roster), per exercise its "
    "score and a note saying why (no submission, the load error, the mistakes named); json: "
    "each student's grade "
    "per exercise, with its reasons; canvas: Canvas's gradebook import (needs --roster); "
    "moodle: Moodle's grade import (needs --roster and --identifier).",
)
@click.option(
    "--all-attempts",
    is_flag=True,
    help="With --format json: every attempt ever graded, not only the grade of the file "
    "the latest run found.",
)
@roster_option
@click.option(
    "--assignment",
    "assignments",
    multiple=True,
    metavar="EXERCISE=ID",
    help="With --format canvas: the id of the exercise's assignment in Canvas (the number "
    "in its address, .../assignments/12345); repeat per exercise.",
)
@click.option(
    "--identifier",
    type=click.Choice(list(MOODLE_IDENTIFIERS)),
    help="With --format moodle: the user field Moodle finds students by: username (the "
    "roster's sis_login_id), idnumber (sis_user_id) or email.",
)
@gradebook_option
@course_option
@click.pass_context
@reports_errors
def gradebook_export(
    ctx: click.Context,
    fmt: str,
    all_attempts: bool,
    roster_path: Path | None,
    assignments: tuple[str, ...],
    identifier: str | None,
    gradebook_path: Path,
) -> None:
    """Print the gradebook: each student's grade at each exercise, that of the file the
    latest run found (a student who went back to an older file gets its grade back, one
    whose file is gone has none), as CSV, JSON, or the files Canvas and Moodle import;
    --all-attempts: every attempt as JSON. With --roster every student of the roster has a
    row (0 points, "no submission", where nothing was found)."""
    from grader.classroom.exports import ExportOptions, export
    from grader.classroom.gradebook import open_gradebook
    from grader.classroom.roster import read_roster

    if all_attempts and fmt != "json":
        raise click.BadParameter(
            "every attempt is exported as JSON: add --format json", param_hint="--all-attempts"
        )
    if assignments and fmt != "canvas":
        raise click.BadParameter(
            "assignment ids are Canvas's: add --format canvas", param_hint="--assignment"
        )
    if identifier and fmt != "moodle":
        raise click.BadParameter(
            "the identifier is Moodle's: add --format moodle", param_hint="--identifier"
        )
    ids: dict[str, str] = {}
    for text in assignments:
        item, number = _assignment(text)
        if ids.get(item, number) != number:
            raise click.BadParameter(
                f"{item} is given two assignment ids ({ids[item]} and {number})",
                param_hint="--assignment",
            )
        ids[item] = number
    shared = sorted(i for i in ids if list(ids.values()).count(ids[i]) > 1)
    if shared:
        raise click.BadParameter(
            f"{' and '.join(shared)} are given one assignment id ({ids[shared[0]]}): Canvas "
            "would put both columns into one assignment",
            param_hint="--assignment",
        )
    roster = read_roster(roster_path) if roster_path is not None else None
    book = open_gradebook(gradebook_path, create=False)
    try:
        try:
            found = course(ctx)
        except GraderError:
            found = None  # columns named by id alone
        options = ExportOptions(all_attempts, roster, ids, identifier)
        exported = export(book, fmt, found, options)
    finally:
        book.close()
    for warning in exported.warnings:
        click.echo(f"warning: {visible(warning)}", err=True)
    click.echo(exported.text, nl=False)


def _check_report(report: Path, gradebook: Path) -> None:
    """The dashboard's path, checked before a class is graded: written over the gradebook it
    would destroy every grade, and a folder that does not exist would be found only after
    the whole class was graded."""
    book = gradebook.resolve()
    its_files = {book, *(book.with_name(book.name + end) for end in ("-wal", "-shm", "-journal"))}
    if report.resolve() in its_files:
        raise click.BadParameter(
            f"{report} is the gradebook: writing the dashboard there would destroy it",
            param_hint="--report",
        )
    folder = report.resolve().parent
    if not folder.is_dir():
        raise click.BadParameter(f"the folder {folder} does not exist", param_hint="--report")
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(f"the folder {folder} cannot be written", param_hint="--report")


def _assignment(text: str) -> tuple[str, str]:
    """EXERCISE=ID, ID Canvas's number for the assignment."""
    item, sep, number = text.partition("=")
    # ASCII digits only: str.isdigit() also takes '١٢٣', which Canvas's pattern (\d in
    # Ruby, ASCII) would not read as an id.
    if not sep or not item.strip() or not re.fullmatch(r"[0-9]+", number.strip()):
        raise click.BadParameter(
            f"'{text}' is not EXERCISE=ID with ID a number (e.g. ex01=12345)",
            param_hint="--assignment",
        )
    return item.strip(), number.strip()
