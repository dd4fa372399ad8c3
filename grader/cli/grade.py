"""The commands named after an item: `grade ex01` grades a file, `grade q01` takes a quiz.

Made on demand by the root group (root.py) for any id that is not a built-in command: the
course says which kind of item an id is.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.cli.common import (
    EXIT_FAILED,
    EXIT_PASSED,
    course,
    course_option,
    output_options,
    reports_errors,
    sandbox_option,
    use_color,
    use_unicode,
)
from grader.errors import GraderError

if TYPE_CHECKING:
    from grader.results import Report


def grade_command(exercise_id: str) -> click.Command:
    @click.command(
        name=exercise_id,
        help=f"Grade your solution of {exercise_id} (./{exercise_id}.py unless --file).",
    )
    @click.option(
        "--file",
        "file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The file to grade [default: ./{exercise_id}.py].",
    )
    @output_options
    @click.option(
        "--seed",
        type=click.IntRange(0, 2**32 - 1),
        help="Seed of the random cases; the report prints the one it used.",
    )
    @click.option(
        "--verbose",
        "-v",
        is_flag=True,
        help="Show every failing case in full, not only the first few.",
    )
    @sandbox_option(None, many=False)
    @click.option(
        "--watch",
        is_flag=True,
        help="Grade again on every save of the file, and say what changed since the last "
        "run; Ctrl-C stops. The random cases keep the first run's seed. --format text only.",
    )
    @course_option
    @click.pass_context
    @reports_errors
    def command(
        ctx: click.Context,
        file: Path | None,
        fmt: str,
        seed: int | None,
        report_path: Path | None,
        verbose: bool,
        sandbox: str | None,
        watch: bool,
    ) -> None:
        from grader.exercise.grading import grade

        if watch and (fmt != "text" or report_path is not None):
            given = f"--format {fmt}" if fmt != "text" else "--report"
            raise click.UsageError(f"--watch shows the text report only: leave out {given}.")
        submission = file or Path(f"{exercise_id}.py")

        def grade_once() -> Report:
            return grade(
                exercise_id,
                submission,
                course=course(ctx),
                seed=seed,
                sandbox=sandbox,
                # The plot costs a sandbox run: only the HTML report shows it.
                plot=report_path is not None and report_format(report_path) == "html",
            )

        if not watch:
            emit(ctx, grade_once(), fmt, report_path, verbose=verbose)
            return

        from grader.integrations.watch import watch as watch_file

        def grade_again() -> Report:
            nonlocal seed
            report = grade_once()
            seed = report.seed  # random cases are named by their values: keep them
            return report

        def show(report: Report) -> str:
            return text_report(report, verbose=verbose)

        watch_file(submission, grade_again, show, out=sys.stdout, clear=sys.stdout.isatty())

    return command


def quiz_command(quiz_id: str) -> click.Command:
    @click.command(
        name=quiz_id,
        help=f"Take quiz {quiz_id} in this terminal, or grade an answers file (--answers).",
    )
    @click.option(
        "--student",
        envvar="GRADER_STUDENT",
        help="Whose numbers: each student gets their own, from their id [default: "
        "$GRADER_STUDENT, else the answers file's, else your login name].",
    )
    @click.option(
        "--answers",
        "answers",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Grade this answers file instead of asking in the terminal.",
    )
    @click.option(
        "--template",
        is_flag=True,
        help=f"Write a blank answers file with the student's numbers [to ./{quiz_id}-answers.yaml"
        " or --out].",
    )
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        help="Where --template writes ('-': standard output), and where a quiz taken in the "
        "terminal saves its answers.",
    )
    @click.option("--force", is_flag=True, help="Let --template write over an existing file.")
    @output_options
    @course_option
    @click.pass_context
    @reports_errors
    def command(
        ctx: click.Context,
        student: str | None,
        answers: Path | None,
        template: bool,
        out: Path | None,
        force: bool,
        fmt: str,
        report_path: Path | None,
    ) -> None:
        from grader.quiz import run

        opened = run.open_quiz(course(ctx), quiz_id)
        if template:
            who = run.default_student(student)
            if out == Path("-"):
                click.echo(run.template_text(opened, who), nl=False)
                return
            path = run.write_template(
                opened, who, out or Path(f"{quiz_id}-answers.yaml"), force=force
            )
            click.echo(
                f"Wrote {path} for student {who}. Fill it in, then: "
                f"grade {quiz_id} --answers {path}"
            )
            return
        if answers is not None:
            report = run.grade_answers(opened, answers, student)
        else:
            from grader.quiz.interactive import take

            if out == Path("-"):
                raise click.BadParameter(
                    "'-' (standard output) is for --template: a quiz taken in the terminal "
                    "saves its answers to a file, which the terminal's screen is not",
                    param_hint="--out",
                )
            who = run.default_student(student)
            taken = take(opened, who, save=out or Path(f"{quiz_id}-answers.yaml"))
            if taken is None:
                ctx.exit(EXIT_FAILED)
            report = run.grade_taken(opened, taken, who)
        emit(ctx, report, fmt, report_path, verbose=True)

    return command


def emit(
    ctx: click.Context, report: Report, fmt: str, report_path: Path | None, *, verbose: bool
) -> None:
    """Render a report where asked, and exit with its code."""
    from grader.render import renderer

    if report_path is not None:  # its suffix was checked with the options
        write_report(report, report_path)
    if fmt != "text":
        click.echo(renderer(fmt)(report), nl=False)
    else:
        click.echo(text_report(report, verbose=verbose), nl=False, color=use_color())
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_path:
        from grader.render.github import step_summary

        try:
            with open(summary_path, "a", encoding="utf-8") as out:
                out.write(step_summary(report))
        except OSError as exc:  # the grade stands; the summary is a courtesy
            click.echo(f"grade: cannot append the step summary: {exc.strerror}", err=True)
    ctx.exit(EXIT_PASSED if report.passed else EXIT_FAILED)


def text_report(report: Report, *, verbose: bool) -> str:
    """The text report as this terminal shows it (colour, symbols, width)."""
    from grader.render import render_text

    return render_text(
        report,
        color=use_color(),
        unicode=use_unicode(),
        width=shutil.get_terminal_size((100, 24)).columns,
        verbose=verbose,
    )


def report_format(path: Path) -> str:
    """The format a report file's name asks for (checked when the options were parsed)."""
    from grader.render import REPORT_SUFFIXES

    return REPORT_SUFFIXES[path.suffix.lower()]


def write_report(report: Report, path: Path) -> None:
    from grader.render import renderer

    try:
        path.write_text(renderer(report_format(path))(report), encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write the report {path}: {exc}") from None
    click.echo(f"report written to {path}", err=True)


#: The command of each kind of item (course.ITEM_KINDS): `grade ex01`, `grade q01`.
COMMANDS: dict[str, Callable[[str], click.Command]] = {
    "exercise": grade_command,
    "quiz": quiz_command,
}
