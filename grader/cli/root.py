"""The `grade` command: a thin shell that parses, calls the library, renders, sets exit codes.

Exit codes: 0 every test passed; 1 a test failed or errored (or the submission cannot be
loaded); 2 usage or configuration error; 3 a bug in grader itself.

The root group: the built-in commands (one module per group of them: items, authoring,
classroom, integrations), plus one command per item of the course (grade.py).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

import click

from grader import ONE_THREAD_ENV, __version__
from grader.cli.common import COURSE_HELP, EXIT_BUG, EXIT_USAGE, course
from grader.cli.grade import COMMANDS
from grader.errors import GraderError
from grader.render.untrusted import visible


class _Grade(click.Group):
    """Built-in commands, plus one command per exercise id (`grade ex01`)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """`grade q09 --course DIR`: the course names the kind of item q09 is, and so its
        command, before that command parses its options: read --course from them first
        (its own option records it again when it parses)."""
        rest = args[1:]
        for i, arg in enumerate(rest):
            if arg == "--":
                break
            if arg == "--course" and i + 1 < len(rest):
                ctx.meta.setdefault("grader.course", Path(rest[i + 1]))
            elif arg.startswith("--course="):
                ctx.meta.setdefault("grader.course", Path(arg.split("=", 1)[1]))
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        try:
            kind = course(ctx).kind_of(cmd_name)
        except GraderError:
            kind = "exercise"  # no course: the exercise command says so
        return COMMANDS[kind](cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_commands(ctx, formatter)
        try:
            found = course(ctx)
            rows = [(e.id, visible(e.title)) for e in found.load_all()]
        except GraderError:
            return
        with formatter.section("Exercises (grade <id> grades ./<id>.py)"):
            formatter.write_dl(rows)
        quizzes = []
        for quiz_id in found.quiz_ids():
            try:
                quizzes.append((quiz_id, visible(found.load_quiz(quiz_id).title)))
            except GraderError:
                quizzes.append((quiz_id, "(broken: grade validate says why)"))
        if quizzes:
            with formatter.section("Quizzes (grade <id> asks the questions)"):
                formatter.write_dl(quizzes)


@click.group(cls=_Grade, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
@click.option(
    "--course",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GRADER_COURSE",
    help=COURSE_HELP,
)
def cli(course: Path | None) -> None:
    """Auto-graded exercises and quizzes.

    \b
    grade list           the exercises
    grade show ex01      read the task
    grade start ex01     write a starter ex01.py
    grade ex01           grade ./ex01.py
    grade q01            take a quiz (--answers FILE grades a filled-in one)

    \b
    instructors: grade new, validate, selftest, release, export
    classes:     grade batch ex01 class/, grade gradebook export
    """


def main() -> None:
    """Entry point: never a traceback for a person, except for a bug of ours."""
    for name, value in ONE_THREAD_ENV.items():  # before anything loads numpy
        os.environ.setdefault(name, value)
    try:
        cli.main(prog_name="grade")
    except OSError as exc:
        if exc.errno not in _FULL:
            _bug(exc)
        # The machine's, not ours: a full disk, a quota, a read-only place, /dev/full.
        click.echo(
            f"Error: cannot write: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else "")
            + ". Free space (or write elsewhere) and run the same command again.",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # a bug in grader: say so, show the traceback only on request
        _bug(exc)


#: What a write meets when the place it writes to cannot take it.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _bug(exc: Exception) -> NoReturn:
    """A bug in grader: say so, show the traceback only on request."""
    if os.environ.get("GRADER_DEBUG"):
        traceback.print_exc()
    click.echo(
        f"grade: internal error ({type(exc).__name__}: {exc}). This is a bug in grader, "
        "not in your code; please report it (GRADER_DEBUG=1 shows the traceback).",
        err=True,
    )
    sys.exit(EXIT_BUG)
