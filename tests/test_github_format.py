"""`--format github`: GitHub Actions workflow commands, read back as GitHub's runner reads
them, and the Markdown step summary within GitHub's 1 MiB."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import SUBMISSIONS, Completed, GradeRunner, run_grade, write
from grader.render.github import SUMMARY_LIMIT, render_github, step_summary
from grader.render.markdown import render_markdown
from grader.results import CaseResult, Report, Status, SubmissionError

LOG2 = SUBMISSIONS / "ex01" / "bad_log2.py"
GOOD = SUBMISSIONS / "ex01" / "good_vectorised.py"

#: GitHub's syntax, `::name key=value,key=value::message`: an escaped property value holds
#: no colon, so the first `::` after the name ends the properties.
COMMAND = re.compile(r"::(?P<name>[a-z]+)(?: (?P<properties>[^:]*))?::(?P<message>.*)")
#: GitHub shows at most this many annotations of one level per step.
PER_LEVEL = 10
CUT_MARKER = "**Cut short:**"


@dataclass
class Command:
    name: str
    properties: dict[str, str]
    message: str


def _unescape_message(text: str) -> str:
    # In the order of GitHub's runner (ActionCommand.cs): %25 last.
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def _commands(stdout: str) -> list[Command]:
    """The workflow commands of a run; every other line must sit in a log group."""
    found: list[Command] = []
    grouped = False
    for line in stdout.splitlines():
        match = COMMAND.fullmatch(line)
        if match is None:
            assert grouped, f"a line outside any group that is not a command: {line!r}"
            assert not line.lstrip().startswith("::"), line
            continue
        properties = {}
        for item in filter(None, (match["properties"] or "").split(",")):
            key, value = item.split("=", 1)
            properties[key] = _unescape_property(value)
        command = Command(match["name"], properties, _unescape_message(match["message"]))
        grouped = {"group": True, "endgroup": False}.get(command.name, grouped)
        found.append(command)
    assert not grouped, "every group is closed"
    return found


def _level(commands: list[Command], name: str) -> list[Command]:
    return [c for c in commands if c.name == name]


def _github(grade: GradeRunner, submission: Path) -> tuple[Completed, list[Command]]:
    result = grade("ex01", "--file", str(submission), "--seed", "2", "--format", "github")
    assert result.returncode in (0, 1), result.stderr
    return result, _commands(result.stdout)


@pytest.mark.slow
def test_a_passing_submission_gets_a_score_notice_and_no_error(grade: GradeRunner) -> None:
    result, commands = _github(grade, GOOD)
    assert result.returncode == 0
    assert not _level(commands, "error")
    assert not _level(commands, "warning")
    (score,) = _level(commands, "notice")
    assert re.search(r": (\d+)/\1 points \(\d+ passed, 0 failed, 0 errors\)", score.message)


@pytest.mark.slow
def test_failing_cases_are_one_error_with_first_failures_and_the_diagnosis(
    grade: GradeRunner,
) -> None:
    result, commands = _github(grade, LOG2)
    assert result.returncode == 1
    (error,) = _level(commands, "error")
    assert error.properties["file"] == str(LOG2)
    assert "line" not in error.properties
    failing = re.match(r"(\d+) of (\d+) cases fail", error.message)
    assert failing is not None
    assert f"{failing[1]} of {failing[2]} cases fail" in error.properties["title"]
    assert "textbook: y=1, p=0.8 gives 0.22314: wrong value" in error.message
    assert "expected 0.2231435513142097, got 0.3219280948873623" in error.message
    assert "log base 2 instead of the natural log [log2]" in error.message
    cases = [line for line in result.stdout.splitlines() if re.match("(PASS|FAIL|ERROR) ", line)]
    assert len(cases) == int(failing[2]), "the log group lists every case"
    (score,) = _level(commands, "notice")
    assert re.search(r"\d+/\d+ points", score.message)


@pytest.mark.slow
def test_a_submission_failing_every_case_stays_within_githubs_annotation_limit(
    grade: GradeRunner, tmp_path: Path
) -> None:
    wrong = write(
        tmp_path / "ex01.py", "def binary_cross_entropy(y_true, y_pred):\n    return -1.0\n"
    )
    result, commands = _github(grade, wrong)
    assert result.returncode == 1
    errors = _level(commands, "error")
    assert 1 <= len(errors) <= PER_LEVEL
    assert len(errors) == 1, "aggregated: one error, never one per case"
    failing = re.match(r"(\d+) of (\d+) cases fail", errors[0].message)
    assert failing is not None
    assert failing[1] == failing[2]
    assert int(failing[2]) > PER_LEVEL, "enough cases to exceed the limit one by one"
    assert re.search(r"\n- and \d+ more ", errors[0].message), "only the first failures"
    for level in ("warning", "notice"):
        assert len(_level(commands, level)) <= PER_LEVEL


@pytest.mark.slow
def test_a_syntax_error_is_annotated_at_its_file_line_and_column(
    grade: GradeRunner, tmp_path: Path
) -> None:
    broken = write(
        tmp_path / "ex01.py",
        "import numpy as np\n\n\ndef binary_cross_entropy(y_true, y_pred:\n    return 0.0\n",
    )
    result, commands = _github(grade, broken)
    assert result.returncode == 1
    (error,) = _level(commands, "error")
    assert error.properties["file"] == str(broken)
    assert error.properties["line"] == "4"
    assert int(error.properties["col"]) >= 1
    assert "SyntaxError" in error.message
    assert "cannot be graded" in error.properties["title"]
    assert "def binary_cross_entropy(y_true, y_pred:" in error.message
    assert "not run" not in result.stdout, "the error says why once, not once per case"


@pytest.mark.slow
def test_percent_newline_comma_and_colon_round_trip_through_escaping(
    grade: GradeRunner, tmp_path: Path
) -> None:
    # A file name with the property separators, an exception message with the message's
    # escapes and a forged command on a line of its own.
    submission = write(
        tmp_path / "we,ird:na%me.py",
        "def binary_cross_entropy(y_true, y_pred):\n"
        '    raise ValueError("100% sure: a, b\\n::error title=forged::x %0A")\n',
    )
    result, commands = _github(grade, submission)
    assert result.returncode == 1
    (error,) = _level(commands, "error")
    assert error.properties["file"] == str(submission)
    assert "raised ValueError: 100% sure: a, b\n::error title=forged::x %0A" in error.message
    assert all(c.properties.get("title") != "forged" for c in commands)
    (score,) = _level(commands, "notice")
    assert score.message.endswith(f" · {submission}")


def _report(**fields: object) -> Report:
    base: dict[str, object] = {
        "exercise": "ex01",
        "title": "Binary cross-entropy",
        "submission": "ex01.py",
        "seed": 1,
        "score": 0.0,
        "max_score": 1.0,
        "execution_time": 0.1,
        "tests": (),
        "backend": "process",
        "grader_version": "0",
    }
    return Report(**{**base, **fields})  # type: ignore[arg-type]


def _case(n: int) -> CaseResult:
    return CaseResult(
        name=f"case {n} " + "n" * 300,
        kind="random",
        visibility="visible",
        status=Status.FAILED,
        score=0.0,
        max_score=1.0,
        message="wrong value " + "é" * 300,
        expected_low=1.0,
        expected_high=1.0,
        actual=2.0,
    )


def test_many_warnings_and_notes_stay_within_the_limit_and_none_is_lost() -> None:
    warnings = tuple(f"warning {n}: a, b" for n in range(15))
    notes = tuple(f"note {n}" for n in range(15))
    commands = _commands(render_github(_report(warnings=warnings, notes=notes)))
    shown = _level(commands, "warning")
    assert len(shown) == PER_LEVEL
    assert all(w in "\n".join(c.message for c in shown) for w in warnings)
    notices = _level(commands, "notice")
    assert len(notices) == PER_LEVEL
    assert all(n in "\n".join(c.message for c in notices) for n in notes)


def test_a_small_step_summary_is_the_markdown_report() -> None:
    report = _report(tests=tuple(_case(n) for n in range(5)))
    assert step_summary(report) == render_markdown(report)


def test_a_huge_step_summary_is_cut_under_one_mib_with_a_marker() -> None:
    report = _report(tests=tuple(_case(n) for n in range(3000)), max_score=3000.0)
    assert len(render_markdown(report).encode("utf-8")) > SUMMARY_LIMIT, "the test's premise"
    text = step_summary(report)
    assert len(text.encode("utf-8")) < SUMMARY_LIMIT
    assert text.startswith("## ex01 · Binary cross-entropy: 0/3000")
    assert CUT_MARKER in text.splitlines()[-1]
    assert "\n\n> " + CUT_MARKER in text, "the marker is a paragraph of its own"


@pytest.mark.parametrize("line", ["x = 1", "é" * 2_000_000])
def test_a_step_summary_cut_inside_a_code_block_closes_it(line: str) -> None:
    huge = "\n".join([line] * (2_000_000 // len(line) + 1))
    error = SubmissionError(kind="syntax", message="SyntaxError", file="ex01.py", text=huge)
    text = step_summary(_report(error=error))
    assert len(text.encode("utf-8")) < SUMMARY_LIMIT
    fences = [row for row in text.splitlines() if row.startswith("```")]
    assert len(fences) % 2 == 0, "every code block is closed before the marker"
    assert CUT_MARKER in text


@pytest.mark.slow
def test_the_step_summary_is_appended_where_github_says(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    sub = SUBMISSIONS / "ex01" / "bad_log2.py"
    result = run_grade(
        "ex01", "--file", str(sub), "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.returncode == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "log base 2" in text
