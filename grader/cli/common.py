"""What every command shares: exit codes, how a fault is shown, the repeated options, the
course and the terminal.

A command's error is shown at one place (reports_errors): a GraderError becomes its
message on stderr and exit 2, and a program reading a machine format on stdout gets that
format's error document (the formats registry says which).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from grader.course import Course, find_course
from grader.errors import GraderError, SpecError
from grader.render import FORMATS, REPORT_SUFFIXES, STDOUT_FORMATS, error_document, format_help
from grader.render.untrusted import visible
from grader.sandbox import BACKENDS, CHOICES

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


class ConfigError(click.ClickException):
    """A GraderError shown the click way: 'Error: ...' on stderr, exit code 2."""

    exit_code = EXIT_USAGE


def reports_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GraderError as exc:
            document = error_document(str(kwargs.get("fmt")), str(exc))
            if document is not None:
                # A program reading stdout always gets one document to parse.
                click.echo(document, nl=False)
            # Names and messages in an error may be anyone's text: shown, never acted on.
            text = visible(str(exc))
            if isinstance(exc, SpecError):
                # One line per problem, as `grade validate` prints them: file:line:col: ...
                click.echo(text, err=True)
                sys.exit(EXIT_USAGE)
            raise ConfigError(text) from None

    return wrapper  # type: ignore[return-value]


COURSE_HELP = (
    "Directory holding exercises/ and solutions/ [default: found from here upward, "
    "then the installed checkout]."
)


def _remember_course(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta["grader.course"] = value


def course_option(fn: F) -> F:
    """--course after the command name too (`grade validate --course DIR`)."""
    return click.option(
        "--course",
        type=click.Path(file_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember_course,
        help=COURSE_HELP,
    )(fn)


def _report_suffix(_: click.Context, __: click.Parameter, value: Path | None) -> Path | None:
    """Checked when the options are parsed: a quiz taken in the terminal must not learn
    only at the end that its report cannot be written."""
    if value is not None and value.suffix.lower() not in REPORT_SUFFIXES:
        names = " or ".join(f.suffixes[0] for f in FORMATS.values() if f.suffixes)
        raise click.BadParameter(f"{value.name}: the name must end in {names}")
    return value


def output_options(fn: F) -> F:
    """--format and --report, the same for exercises and quizzes (the formats registry)."""
    files = ", ".join(f"{f.name} ({'/'.join(f.suffixes)})" for f in FORMATS.values() if f.suffixes)
    fn = click.option(
        "--report",
        "report_path",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_report_suffix,
        help=f"Also write the report to a file, its format by its name: {files}.",
    )(fn)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(STDOUT_FORMATS),
        default="text",
        show_default=True,
        help=format_help(STDOUT_FORMATS),
    )(fn)


def sandbox_option(default: str | None, *, many: bool) -> Callable[[F], F]:
    """--sandbox, from the backends registry ('auto' decided in grader.sandbox.resolve)."""
    auto = "warm where bwrap works, else process" if many else "bwrap where it works, else process"
    kinds = "; ".join(f"{b.name}: {b.help}" for b in BACKENDS.values())
    where = "$GRADER_SANDBOX, else " if default is None else ""
    return click.option(
        "--sandbox",
        type=click.Choice(CHOICES),
        default=default,
        show_default=default is not None,
        help=f"Where the code runs [default: {where}auto: {auto}]; {kinds}. "
        "'grade doctor' tells which works here.",
    )


def gradebook_option(fn: F) -> F:
    return click.option(
        "--gradebook",
        "gradebook_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("gradebook.db"),
        help="The SQLite gradebook [default: ./gradebook.db].",
    )(fn)


def roster_option(fn: F) -> F:
    return click.option(
        "--roster",
        "roster_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The class list, a CSV with a header: student (the folder or file stem in the "
        "class directory; required), name, canvas_id, sis_user_id, sis_login_id, section, "
        "email. Every student of it gets a row; folders it does not list are named.",
    )(fn)


def course_dir(ctx: click.Context) -> Path | None:
    given: Path | None = ctx.meta.get("grader.course") or ctx.find_root().params.get("course")
    return given


def course(ctx: click.Context) -> Course:
    return find_course(course_dir(ctx))


def use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def use_unicode() -> bool:
    return (sys.stdout.encoding or "").lower().replace("-", "") in ("utf8", "utf8mb4")
