"""`pytest --grade EXERCISE`: each case of a graded submission as a pytest item.

A shell over grader.exercise.grading beside the CLI, for autograders that run pytest and read its
exit status (GitHub Classroom): it grades once, with the same engine, sandbox and course as
`grade EXERCISE`, and turns the report into items. Nothing is judged here; a failing item
says what the text report says about that case, in its words (grader.render).

Registered as a pytest11 entry point, so pytest imports this module in every run on a
machine where grader is installed, the project's own test suite included: at import it
loads nothing of grader, and without --grade it adds options and nothing else.

Items. One per case of the report, in its order, under a node for the submission file:

    ex03.py::ex03[textbook: class 0 of [0.7, 0.2, 0.1] gives 0.35667]

that is, the submission's path (relative to pytest's rootdir, else absolute), then the
exercise id with the case's name exactly in brackets, the way pytest writes a parametrized
test: case names hold spaces, colons, brackets and any character, and pytest reads a node
id's parameters as everything from the first "[" to the last "]". `-k` matches parts of
the case name (`-k "random and not hidden"`).

- A passing case passes. A failing or erroring case fails with its account in the text
  report's words; a hidden case with its message alone (the report holds no data for it).
  What a visible case printed is shown as its captured stdout; each item carries `score`,
  `max_score` and `visibility` as user properties (pytest's --junitxml writes them).
- A submission that does not load (syntax error, missing function): every case's item fails
  with the load error in full, as the JUnit format does, so the items and their names stay
  the same from one run to the next.
- The score, the diagnosis, warnings and notes go in the terminal summary.
- What is not the student's fault (unknown exercise, missing file, no course, a broken
  exercise) is a usage error: pytest prints the grader's message and exits with 4.

pytest itself imports conftest.py files and test modules in its own process, outside the
sandbox: in a repository the student controls, the verdicts are only as trustworthy as that
repository, as with any pytest-based autograding.

The report is made during collection (so --collect-only grades too); under pytest-xdist
every worker grades, so pass --grade-seed to give them the same cases. Write path values
with "=" (--grade-file=src/ex03.py, --grade-course=DIR): pytest picks its rootdir and
configuration file before it loads plugins, so a path after a space is taken for a test
path at that moment, and another directory's configuration may be read.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from grader.results import CaseResult, Report

_REPORT = pytest.StashKey["Report"]()


def _seed(text: str) -> int:
    """--grade-seed accepts what `grade --seed` accepts."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed: use 0 to {2**32 - 1}")
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "grading an exercise with grader")
    group.addoption(
        "--grade",
        metavar="EXERCISE",
        help="Grade a submission of EXERCISE: one test per case, named as in 'grade EXERCISE'.",
    )
    group.addoption(
        "--grade-file",
        metavar="PATH",
        help="The submission to grade [default: ./EXERCISE.py].",
    )
    group.addoption(
        "--grade-seed",
        metavar="N",
        type=_seed,
        help="Seed of the random cases [default: a new one; the summary prints it].",
    )
    group.addoption(
        "--grade-course",
        metavar="DIR",
        help="The course holding exercises/ [default: $GRADER_COURSE, else found from here, "
        "as 'grade' finds it].",
    )


def _submission(config: pytest.Config, exercise_id: str) -> Path:
    here = config.invocation_params.dir
    file = config.getoption("grade_file") or f"{exercise_id}.py"
    # As given when pytest runs where it was invoked, so reports name it as the student does.
    return Path(file) if Path.cwd() == here else here / file


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """pytest does not import the submission itself when its name matches python_files
    (test_*.py): it runs in the sandbox only. A path given as an argument is still imported,
    since pytest collects what it is named."""
    exercise_id = config.getoption("grade")
    if exercise_id and collection_path == _submission(config, exercise_id).resolve():
        return True
    return None


def _grade(config: pytest.Config, exercise_id: str) -> tuple[Report, Path]:
    """The report of `grade EXERCISE` with the options given, and the submission's path."""
    from grader.course import find_course
    from grader.errors import GraderError, SubmissionNotFoundError
    from grader.exercise.grading import grade
    from grader.render.untrusted import map_text, visible

    here = config.invocation_params.dir
    course = config.getoption("grade_course")
    submission = _submission(config, exercise_id)
    try:
        report = grade(
            exercise_id,
            submission,
            course=find_course(here / course if course else None),
            seed=config.getoption("grade_seed"),
        )
    except SubmissionNotFoundError:  # its advice names the CLI's --file
        raise pytest.UsageError(
            f"{submission} does not exist\n  Pass --grade-file=PATH, or run 'grade start "
            f"{exercise_id}' to create it from a template."
        ) from None
    except GraderError as exc:
        raise pytest.UsageError(visible(str(exc))) from None
    # pytest prints to a terminal: student text is shown, never acted on (render/untrusted).
    return map_text(report, visible), submission


@pytest.hookimpl(tryfirst=True)  # before -k, -m and --deselect choose among the items
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    exercise_id = config.getoption("grade")
    if not exercise_id:
        return
    report, submission = _grade(config, exercise_id)
    config.stash[_REPORT] = report
    path = submission.resolve()
    try:
        path.relative_to(config.rootpath)
        nodeid = None  # pytest's own: relative to the rootdir
    except ValueError:
        nodeid = path.as_posix()
    node = SubmissionFile.from_parent(session, path=path, nodeid=nodeid, report=report)
    # Collected the way pytest collects a file, so the terminal counts these items.
    items.extend(session.genitems(node))


def _failure(report: Report, case: CaseResult) -> str | None:
    """What a failing item says; None: the case passed."""
    # Private helpers of the JUnit format: the one full account of a case in the text
    # report's words that exists outside the terminal layout.
    from grader.render.plain import case_text, load_error_text
    from grader.results import Status

    if report.error is not None:
        return f"{case.message}\n\n{load_error_text(report.error)}"
    if case.status is Status.PASSED:
        return None
    if case.visibility == "hidden":
        return case.message
    return case_text(case)


class SubmissionFile(pytest.File):
    """The submission, as the collector of its cases' items."""

    def __init__(self, *, report: Report, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def collect(self) -> Iterator[CaseItem]:
        for case in self.report.tests:
            yield CaseItem.from_parent(
                self,
                name=f"{self.report.exercise}[{case.name}]",
                # Given whole, so that pytest >= 9 reads the case name as the parameters
                # (its structured id), exactly as it would read this id back from text.
                nodeid=f"{self.nodeid}::{self.report.exercise}[{case.name}]",
                case=case,
                failure=_failure(self.report, case),
            )


class CaseItem(pytest.Item):
    """One case of the report: its verdict was made when the submission was graded."""

    def __init__(self, *, case: CaseResult, failure: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.failure = failure
        self.user_properties += [
            ("score", case.score),
            ("max_score", case.max_score),
            ("visibility", case.visibility),
        ]
        if case.output and case.visibility != "hidden":
            self.add_report_section("call", "stdout", case.output)

    def runtest(self) -> None:
        if self.failure is not None:
            # pytrace=False: the report is the failure text alone, no traceback of ours.
            pytest.fail(self.failure, pytrace=False)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, self.name


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    report = config.stash.get(_REPORT, None)
    if report is None:
        return
    from grader.render.plain import run_notes
    from grader.render.text import Painter, score_lines

    width = config.get_terminal_writer().fullwidth
    paint = Painter(color=terminalreporter.hasmarkup, unicode=True)
    terminalreporter.write_sep("=", f"grader: {report.exercise} · {report.title}")
    lines = score_lines(report, paint, width)
    lines += run_notes(report).splitlines()
    if report.stderr.strip():
        lines += ["stderr:", report.stderr.rstrip("\n")]
    for line in lines:
        terminalreporter.write_line(line)
