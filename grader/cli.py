"""The `grade` command: a thin shell that parses, calls the library, renders, sets exit codes.

Exit codes: 0 every test passed; 1 a test failed or errored (or the submission cannot be
loaded); 2 usage or configuration error; 3 a bug in grader itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from grader import __version__
from grader.course import Course, find_course
from grader.errors import (
    CourseNotFoundError,
    GraderError,
    ReferenceSolutionError,
    SandboxError,
    SpecError,
    UnknownExerciseError,
)
from grader.render import FORMATS
from grader.render.untrusted import visible

if TYPE_CHECKING:
    from grader.classroom.gradebook import Gradebook
    from grader.results import Report

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3


#: Faults of the course or of the machine, never of a submission (grade gradescope).
_COURSE_FAULTS = (
    ReferenceSolutionError,
    SpecError,
    UnknownExerciseError,
    CourseNotFoundError,
    SandboxError,
)


class _ConfigError(click.ClickException):
    """A GraderError shown the click way: 'Error: ...' on stderr, exit code 2."""

    exit_code = EXIT_USAGE


def _reports_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GraderError as exc:
            if kwargs.get("fmt") in ("json", "gradescope"):
                # A program reading stdout always gets one document to parse.
                from grader.render.json import render_error

                click.echo(render_error(str(exc)), nl=False)
            # Names and messages in an error may be anyone's text: shown, never acted on.
            text = visible(str(exc))
            if isinstance(exc, SpecError):
                # One line per problem, as `grade validate` prints them: file:line:col: ...
                click.echo(text, err=True)
                sys.exit(EXIT_USAGE)
            raise _ConfigError(text) from None

    return wrapper  # type: ignore[return-value]


_COURSE_HELP = (
    "Directory holding exercises/ and solutions/ [default: found from here upward, "
    "then the installed checkout]."
)


def _remember_course(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta["grader.course"] = value


def _course_option(fn: F) -> F:
    """--course after the command name too (`grade validate --course DIR`)."""
    return click.option(
        "--course",
        type=click.Path(file_okay=False, path_type=Path),
        expose_value=False,
        callback=_remember_course,
        help=_COURSE_HELP,
    )(fn)


def _report_suffix(_: click.Context, __: click.Parameter, value: Path | None) -> Path | None:
    """Checked when the options are parsed: a quiz taken in the terminal must not learn
    only at the end that its report cannot be written."""
    from grader.render import REPORT_SUFFIXES

    if value is not None and value.suffix.lower() not in REPORT_SUFFIXES:
        raise click.BadParameter(f"{value.name}: the name must end in .html or .md")
    return value


def _output_options(fn: F) -> F:
    """--format and --report, the same for exercises and quizzes."""
    fn = click.option(
        "--report",
        "report_path",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_report_suffix,
        help="Also write the report to a file: feedback.html (self-contained) or "
        "feedback.md (for pull requests and CI summaries).",
    )(fn)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS)),
        default="text",
        show_default=True,
        help="text for people; json (ours), gradescope (results.json), junit (JUnit XML) "
        "or github (GitHub Actions annotations and step summary) for programs.",
    )(fn)


def _gradebook_option(fn: F) -> F:
    return click.option(
        "--gradebook",
        "gradebook_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("gradebook.db"),
        help="The SQLite gradebook [default: ./gradebook.db].",
    )(fn)


def _course_dir(ctx: click.Context) -> Path | None:
    given: Path | None = ctx.meta.get("grader.course") or ctx.find_root().params.get("course")
    return given


def _course(ctx: click.Context) -> Course:
    return find_course(_course_dir(ctx))


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _use_unicode() -> bool:
    return (sys.stdout.encoding or "").lower().replace("-", "") in ("utf8", "utf8mb4")


def _grade_command(exercise_id: str) -> click.Command:
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
    @_output_options
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
    @click.option(
        "--sandbox",
        type=click.Choice(["auto", "bwrap", "warm", "process"]),
        default=None,
        help="Where the code runs [default: $GRADER_SANDBOX, else auto: bwrap where it "
        "works, else process]; warm is bwrap's sandbox with a forked process per run "
        "(what grade batch uses). 'grade doctor' tells which.",
    )
    @click.option(
        "--watch",
        is_flag=True,
        help="Grade again on every save of the file, and say what changed since the last "
        "run; Ctrl-C stops. The random cases keep the first run's seed. --format text only.",
    )
    @_course_option
    @click.pass_context
    @_reports_errors
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
        from grader.render import REPORT_SUFFIXES
        from grader.sandbox import get_backend

        if watch and (fmt != "text" or report_path is not None):
            given = f"--format {fmt}" if fmt != "text" else "--report"
            raise click.UsageError(f"--watch shows the text report only: leave out {given}.")
        submission = file or Path(f"{exercise_id}.py")

        def grade_once() -> Report:
            with contextlib.closing(get_backend(sandbox)) as backend:
                return grade(
                    exercise_id,
                    submission,
                    course=_course(ctx),
                    seed=seed,
                    backend=backend,
                    # The plot costs a sandbox run: only the HTML report shows it.
                    plot=report_path is not None
                    and REPORT_SUFFIXES[report_path.suffix.lower()] == "html",
                )

        if not watch:
            _emit(ctx, grade_once(), fmt, report_path, verbose=verbose)
            return

        from grader.integrations.watch import watch as watch_file

        def grade_again() -> Report:
            nonlocal seed
            report = grade_once()
            seed = report.seed  # random cases are named by their values: keep them
            return report

        def show(report: Report) -> str:
            return _text(report, verbose=verbose)

        watch_file(submission, grade_again, show, out=sys.stdout, clear=sys.stdout.isatty())

    return command


def _quiz_command(quiz_id: str) -> click.Command:
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
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where --template writes, and where a quiz taken in the terminal saves its answers.",
    )
    @click.option("--force", is_flag=True, help="Let --template write over an existing file.")
    @_output_options
    @_course_option
    @click.pass_context
    @_reports_errors
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

        opened = run.open_quiz(_course(ctx), quiz_id)
        if template:
            who = run.default_student(student)
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

            who = run.default_student(student)
            taken = take(opened, who, save=out or Path(f"{quiz_id}-answers.yaml"))
            if taken is None:
                ctx.exit(EXIT_FAILED)
            report = run.grade_taken(opened, taken, who)
        _emit(ctx, report, fmt, report_path, verbose=True)

    return command


def _emit(
    ctx: click.Context, report: Report, fmt: str, report_path: Path | None, *, verbose: bool
) -> None:
    """Render a report where asked, and exit with its code."""
    from grader.render import REPORT_SUFFIXES, renderer

    if report_path is not None:  # its suffix was checked with the options
        _write_report(report, report_path, REPORT_SUFFIXES[report_path.suffix.lower()] == "html")
    if fmt != "text":
        click.echo(renderer(fmt)(report), nl=False)
    else:
        click.echo(_text(report, verbose=verbose), nl=False, color=_use_color())
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_path:
        from grader.render.github import step_summary

        try:
            with open(summary_path, "a", encoding="utf-8") as out:
                out.write(step_summary(report))
        except OSError as exc:  # the grade stands; the summary is a courtesy
            click.echo(f"grade: cannot append the step summary: {exc.strerror}", err=True)
    ctx.exit(EXIT_PASSED if report.passed else EXIT_FAILED)


def _text(report: Report, *, verbose: bool) -> str:
    """The text report as this terminal shows it (colour, symbols, width)."""
    from grader.render import render_text

    return render_text(
        report,
        color=_use_color(),
        unicode=_use_unicode(),
        width=shutil.get_terminal_size((100, 24)).columns,
        verbose=verbose,
    )


def _write_report(report: Report, path: Path, html: bool) -> None:
    if html:
        from grader.render.html import render_html as render
    else:
        from grader.render.markdown import render_markdown as render
    try:
        path.write_text(render(report), encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write the report {path}: {exc}") from None
    click.echo(f"report written to {path}", err=True)


class _Grade(click.Group):
    """Built-in commands, plus one command per exercise id (`grade ex01`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        try:
            if _course(ctx).is_quiz(cmd_name):
                return _quiz_command(cmd_name)
        except GraderError:
            pass  # no course: the exercise command says so
        return _grade_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_commands(ctx, formatter)
        try:
            course = _course(ctx)
            rows = [(e.id, e.title) for e in course.load_all()]
        except GraderError:
            return
        with formatter.section("Exercises (grade <id> grades ./<id>.py)"):
            formatter.write_dl(rows)
        quizzes = []
        for quiz_id in course.quiz_ids():
            try:
                quizzes.append((quiz_id, course.load_quiz(quiz_id).title))
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
    help=_COURSE_HELP,
)
def cli(course: Path | None) -> None:
    """Auto-graded exercises on the loss functions of neural networks.

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


@cli.command(name="list")
@_course_option
@click.pass_context
@_reports_errors
def list_exercises(ctx: click.Context) -> None:
    """List the exercises of the course."""
    course = _course(ctx)
    broken: list[str] = []
    for exercise_id in course.exercise_ids():
        try:
            exercise = course.load(exercise_id)
        except GraderError as exc:
            broken.append(str(exc))
            click.echo(f"{exercise_id:<8} (cannot be read: see below)")
            continue
        click.echo(f"{exercise.id:<8} {exercise.title}  ({exercise.points:g} points)")
    for quiz_id in course.quiz_ids():
        try:
            quiz = course.load_quiz(quiz_id)
        except GraderError as exc:
            broken.append(str(exc))
            click.echo(f"{quiz_id:<8} (cannot be read: see below)")
            continue
        click.echo(f"{quiz.id:<8} {quiz.title}  ({quiz.points:g} points, quiz)")
    if broken:
        # Every other item is still listed: one broken file hides none of the others.
        click.echo("\n".join(broken), err=True)
        ctx.exit(EXIT_USAGE)


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE")
@_course_option
@click.pass_context
@_reports_errors
def show(ctx: click.Context, exercise_id: str) -> None:
    """Print the statement of an exercise."""
    exercise = _course(ctx).load(exercise_id)
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
@_course_option
@click.pass_context
@_reports_errors
def start(ctx: click.Context, exercise_id: str, file: Path | None, force: bool) -> None:
    """Write a starter file with the function to implement."""
    from grader.authoring.starter import write_starter

    exercise = _course(ctx).load(exercise_id)
    path = write_starter(exercise, file or Path(f"{exercise.id}.py"), force=force)
    click.echo(f"Wrote {path}. Implement {exercise.entry.function}, then run: grade {exercise.id}")


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_course_option
@click.pass_context
@_reports_errors
def validate(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Check exercise files [default: every file of the course].

    Prints every problem of every file, one per line as file:line:col: what; what to do.
    Exit code 2 on any problem, 0 otherwise.
    """
    from grader.authoring.validate import validate as check

    course = None if paths else _course(ctx)
    root = _course_root(ctx, paths)
    result = check(root, list(paths) or [course.exercises_dir if course else root])
    for problem in result.problems:
        click.echo(str(problem))
    click.echo(result.summary(), err=not result.ok)
    ctx.exit(EXIT_PASSED if result.ok else EXIT_USAGE)


def _course_root(ctx: click.Context, paths: tuple[Path, ...]) -> Path:
    """The course of named files: the one they sit in, else the one found from here."""
    for path in paths:
        parent = path.resolve().parent
        if path.suffix in (".yaml", ".yml") and parent.name == "exercises":
            return parent.parent
    return _course(ctx).root


@cli.command()
@click.argument("exercise_ids", nargs=-1, metavar="[EXERCISE]...")
@click.option(
    "--seeds",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="How many seeds (0, 1, ...) the random cases are drawn with.",
)
@_course_option
@click.pass_context
@_reports_errors
def selftest(ctx: click.Context, exercise_ids: tuple[str, ...], seeds: int) -> None:
    """Prove exercises' cases [default: all]: the reference and the correct variants get
    full marks, every mistake loses points and is diagnosed as itself, every case has a
    reason to exist. Exit code 1 when a proof fails."""
    from grader.authoring.selftest import selftest as prove
    from grader.authoring.selftest import table

    course = _course(ctx)
    ids = list(exercise_ids) or course.exercise_ids() + course.quiz_ids()
    proven = True
    for n, exercise_id in enumerate(ids):
        if course.is_quiz(exercise_id):
            from grader.quiz.check import prove_quiz, quiz_table

            quiz = course.load_quiz(exercise_id)
            proofs = prove_quiz(quiz, course.root)
            lines = quiz_table(quiz, proofs)
            ok = all(not p.failures for p in proofs)
        else:
            proof = prove(course.prepare(exercise_id), seeds=range(seeds))
            lines, ok = table(proof), proof.ok
        click.echo(("\n" if n else "") + "\n".join(lines))
        proven = proven and ok
    ctx.exit(EXIT_PASSED if proven else EXIT_FAILED)


@cli.command()
@click.argument("exercise_id", metavar="ID")
@click.option("--title", default=None, help="The exercise's title [default: ID].")
@_course_option
@click.pass_context
@_reports_errors
def new(ctx: click.Context, exercise_id: str, title: str | None) -> None:
    """Scaffold an exercise: exercises/ID.yaml and its reference and mistakes in
    solutions/, in the course given by --course, else the one around the current
    directory, else a new course in the current directory."""
    from grader.authoring.scaffold import scaffold

    here = Path.cwd()
    enclosing = next((d for d in (here, *here.parents) if (d / "exercises").is_dir()), here)
    root = _course_dir(ctx) or enclosing
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
@click.option("--force", is_flag=True, help="Replace OUTDIR if it exists.")
@_course_option
@click.pass_context
@_reports_errors
def release(ctx: click.Context, outdir: Path, seeds: int, force: bool) -> None:
    """Build the student bundle: exercises without hidden cases, starter files, a README,
    and the answers of the visible cases; no solutions."""
    from grader.authoring.release import release as build

    bundle = build(_course(ctx).root, outdir, seeds=seeds, force=force)
    click.echo(
        f"wrote {outdir}: {len(bundle.exercises)} exercise"
        f"{'s' if len(bundle.exercises) != 1 else ''}, answers for "
        f"{len(bundle.seeds)} seeds; students run 'grade <id>' inside it."
    )


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
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it [default: ./QUIZ.xml].",
)
@_course_option
@click.pass_context
@_reports_errors
def export(ctx: click.Context, quiz_id: str, fmt: str, variants: int, out: Path | None) -> None:
    """Export a quiz for an LMS: each numeric question with its tolerance and, per variant,
    its misconceptions as wrong answers carrying their feedback."""
    from grader.quiz.moodle import export_moodle
    from grader.quiz.variants import solution_loader

    course = _course(ctx)
    if not course.is_quiz(quiz_id):
        raise GraderError(
            f"there is no quiz {quiz_id!r}",
            fix=f"Quizzes of this course: {', '.join(course.quiz_ids()) or '(none)'}.",
        )
    quiz = course.load_quiz(quiz_id)
    path = out or Path(f"{quiz_id}.xml")
    text = export_moodle(quiz, solution_loader(course.root), variants=variants)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"wrote {path} ({fmt}): import it in Moodle's question bank (Import, Moodle XML).")


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
@_course_option
@click.pass_context
def gradescope(
    ctx: click.Context, exercise_id: str, submission_dir: Path, results_path: Path
) -> None:
    """Grade a Gradescope submission (run_autograder calls this): the student's
    EXERCISE.py (or EXERCISE.ipynb), or the one .py or .ipynb file they uploaded, into
    results.json. Always writes a
    results.json, and exits 0, so Gradescope shows the student why."""
    from grader.exercise.grading import grade
    from grader.render.json import dumps, render_gradescope

    candidates = [submission_dir / f"{exercise_id}{suffix}" for suffix in (".py", ".ipynb")]
    uploaded = []
    if submission_dir.is_dir():
        uploaded = sorted(submission_dir.glob("*.py")) + sorted(submission_dir.glob("*.ipynb"))
    if len(uploaded) == 1:
        candidates.append(uploaded[0])
    submission = next((c for c in candidates if c.is_file()), candidates[0])
    try:
        text = render_gradescope(grade(exercise_id, submission, course=_course(ctx)))
    except _COURSE_FAULTS as exc:
        # Never the student's: they learn it is not theirs, the instructor (the log) what.
        click.echo(f"grade: the autograder is misconfigured: {exc}", err=True)
        message = (
            "The autograder is misconfigured: this is not your fault, and your submission "
            "was not graded (the score 0 only holds the place). Please tell your instructor, "
            f"who can fix it and grade it again.\n\nFor the instructor:\n{exc}"
        )
        text = dumps({"score": 0, "output": message, "output_format": "text", "tests": []})
    except GraderError as exc:
        names = ", ".join(p.name for p in uploaded) or "no .py or .ipynb file"
        message = f"{exc}\n(uploaded: {names}; expected {exercise_id}.py or {exercise_id}.ipynb)"
        text = dumps({"score": 0, "output": message, "output_format": "text", "tests": []})
    try:
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {results_path}: {exc.strerror}") from None
    click.echo(f"wrote {results_path}")


@cli.command()
@click.argument("exercise_id", metavar="EXERCISE|all")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--jobs", type=click.IntRange(1, 256), help="Parallel graders [default: twice the cores]."
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    help="Seed of the random cases, one for the whole class [default: derived from the "
    "exercise, so that a re-run grades alike].",
)
@click.option(
    "--sandbox",
    type=click.Choice(["auto", "warm", "bwrap", "process"]),
    default="auto",
    show_default=True,
    help="warm: one bwrap sandbox per worker, a fresh forked process per submission "
    "(auto picks it where bwrap works, else process); bwrap: a new sandbox per submission.",
)
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
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="What to print: a summary, every attempt of this run as JSON, or JUnit XML.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the class dashboard (.html): histogram, pass rate per case, "
    "mistakes, slowest and erroring submissions.",
)
@_gradebook_option
@_course_option
@click.pass_context
@_reports_errors
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
    gradebook_path: Path,
) -> None:
    """Grade a class: every DIRECTORY/<student>/EXERCISE.py and DIRECTORY/<student>.py
    (with 'all': every exercise's DIRECTORY/<student>/<ID>.py; a notebook, .ipynb, where
    there is no .py file), in parallel, into the gradebook. Attempts already graded (same
    submission, same exercise) are skipped, so an interrupted run is simply started again."""
    from grader.classroom.batch import run_batch

    if report_path is not None and report_path.suffix.lower() not in (".html", ".htm"):
        raise click.BadParameter(
            "the class dashboard is HTML: name it .html", param_hint="--report"
        )
    course = _course(ctx)
    # 'all' is every exercise; quizzes are answered, not submitted as code.
    items = course.exercise_ids() if exercise_id == "all" else [exercise_id]
    for item in items:
        course.load(item)  # an unknown or broken exercise: before any file is made
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a directory", fix="Pass the class's folder.")
    book = _open_gradebook(gradebook_path)
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
                course,
                items,
                directory,
                book,
                jobs=jobs,
                seed=seed,
                sandbox=sandbox,
                dask=dask_address,
                progress=progress,
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
        rows = book.rows(after=start)
        if report_path is not None:
            _write_dashboard(course, book, items, report_path)
    finally:
        book.close()
    if fmt == "json":
        from grader.render.json import dumps

        click.echo(dumps({"summary": summary.lines(), "attempts": rows}))
    elif fmt == "junit":
        from grader.render.junit import render_attempts

        click.echo(render_attempts(rows), nl=False)
    else:
        from grader.render.text import render_lines

        click.echo(render_lines(summary.lines()), nl=False)
    ctx.exit(EXIT_PASSED)  # the run is done; students' results are in the gradebook


def _titles(course: Course, items: list[str]) -> dict[str, str]:
    """Column and section titles; an item whose file is broken is named by its id."""
    titles = {}
    for item in items:
        with contextlib.suppress(GraderError):
            titles[item] = course.load(item).title
    return titles


def _write_dashboard(course: Course, book: Gradebook, items: list[str], path: Path) -> None:
    import datetime

    from grader.render.dashboard import render_dashboard

    rows = [r for r in book.latest().values() if r["item"] in items]
    titles = _titles(course, items)
    generated = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        path.write_text(render_dashboard(rows, titles, generated=generated), encoding="utf-8")
    except OSError as exc:
        raise GraderError(f"cannot write {path}: {exc.strerror}") from None


def _open_gradebook(path: Path) -> Gradebook:
    from grader.classroom.gradebook import Gradebook

    try:
        return Gradebook(path)
    except Exception as exc:  # sqlite3.Error: not a database, a read-only place
        raise GraderError(
            f"cannot open the gradebook {path}: {exc}",
            fix="Pass --gradebook PATH to a writable SQLite file (created if missing).",
        ) from None


@cli.group()
def gradebook() -> None:
    """Read the gradebook that grade batch writes."""


@gradebook.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: one row per student (Canvas, Moodle); json: every attempt.",
)
@_gradebook_option
@_course_option
@click.pass_context
@_reports_errors
def gradebook_export(ctx: click.Context, fmt: str, gradebook_path: Path) -> None:
    """Print the gradebook: CSV with one row per student and one column per exercise, or
    every attempt as JSON."""
    from grader.render.json import dumps
    from grader.render.spreadsheet import render_class

    if not gradebook_path.is_file():
        raise GraderError(f"{gradebook_path} does not exist", fix="Run grade batch first.")
    book = _open_gradebook(gradebook_path)
    try:
        if fmt == "json":
            click.echo(dumps(book.rows()))
            return
        titles = {}
        try:
            course = _course(ctx)
            titles = _titles(course, course.exercise_ids())
        except GraderError:
            pass  # columns named by id alone
        click.echo(render_class(book.latest(), titles), nl=False)
    finally:
        book.close()


@cli.command()
@_reports_errors
def doctor() -> None:
    """Tell which sandbox runs student code on this machine, and why."""
    from grader.sandbox import availability, get_backend

    for item in availability(fresh=True):
        state = "works" if item.problem is None else f"unavailable: {item.problem}"
        click.echo(f"{item.name:<8} {state}")
    chosen = get_backend()
    click.echo(f"\nin use: {chosen.name}")
    limits = chosen.limitations()
    if limits:
        click.echo("it cannot guarantee:")
        for note in limits:
            click.echo(f"  - {note}")
    else:
        click.echo(
            "full isolation: own user, PID, network and IPC namespaces, read-only Python "
            "and numpy, no project files, a size-limited temporary working directory"
        )


def main() -> None:
    """Entry point: never a traceback for a person, except for a bug of ours."""
    try:
        cli.main(prog_name="grade")
    except Exception as exc:  # a bug in grader: say so, show the traceback only on request
        if os.environ.get("GRADER_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"grade: internal error ({type(exc).__name__}: {exc}). This is a bug in grader, "
            "not in your code; please report it (GRADER_DEBUG=1 shows the traceback).",
            err=True,
        )
        sys.exit(EXIT_BUG)
