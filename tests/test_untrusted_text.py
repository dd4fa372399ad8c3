"""Student text through every renderer, judged in each consumer's own terms.

Generated text (hypothesis) is put everywhere a submission controls in an exercise report,
a quiz report and a class's gradebook, and each output is read the way its reader reads
it: a terminal (no control character), GitHub's runner (no command it did not get from the
grader), CommonMark (the same document structure as with harmless text: no HTML, image,
link, emphasis or broken fence), a spreadsheet (no formula, no split row), a strict JSON
decoder (I-JSON), the JUnit schema, and an HTML parser (no element of the student's).
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from conftest import (
    REPO,
    SUBMISSIONS,
    Completed,
    backends,
    isolated_environment,
    run_grade,
    write,
)
from grader.classroom.statistics import class_stats
from grader.render.dashboard import render_dashboard
from grader.render.github import render_github, step_summary
from grader.render.html import render_html
from grader.render.json import dumps, render_gradescope, render_json
from grader.render.junit import render_attempts, render_junit
from grader.render.markdown import render_markdown
from grader.render.spreadsheet import FORMULA_START, render_class
from grader.render.text import render_lines, render_text
from grader.results import CaseResult, Diagnosis, MistakeFound, Report, Status, SubmissionError

XSD = Path(__file__).parent / "fixtures" / "junit" / "junit-10.xsd"

#: What attacks on the outputs are made of; generated text mixes them with anything at all.
NASTY = [
    "\ud800",
    "\udfff",
    "\x1b]0;owned\x07",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[H",
    "\x9b31m",
    "\x08\x08\x08",
    "\u202e",
    "\u2066",
    "\r",
    "\n",
    "\x00",
    "\x85",
    "\u2028",
    "`",
    "```",
    "````",
    "<img src=x onerror=alert(1)>",
    "<!-- ",
    "</details>",
    "<script>",
    "![pixel](https://evil.example/p.png)",
    "[link](https://evil.example)",
    "https://evil.example",
    "www.evil.example",
    "someone@evil.example",
    "::error::forged",
    "\n::warning file=x::forged",
    "##[error]forged",
    "##[add-mask]secret",
    "%0A::error::x",
    "%",
    '=HYPERLINK("https://evil.example")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "'-2+3",  # as the export quotes the one above: still two cells
    "@SUM(1,2)",
    "\t",
    "|",
    "*",
    "_",
    "$x$",
    "&amp;",
    "# heading",
    "> quote",
    "\ufffe",
]
_ANY = st.characters(exclude_categories=())  # surrogates included
TEXT = (
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(_ANY, max_size=6)), min_size=1, max_size=6)
    .map("".join)
    .filter(bool)
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: A terminal acts on these rather than shows them (the grader's colours are off here).
UNSEEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _case(name: str, status: Status, text: str) -> CaseResult:
    failed = status is not Status.PASSED
    return CaseResult(
        name=name,
        kind="fixed",
        visibility="visible",
        status=status,
        score=0.0 if failed else 1.0,
        max_score=1.0,
        message=f"raised ValueError: {text}" if failed else "passed",
        inputs={"y_true": "[1.0]", "y_pred": "[0.8]"},
        expected_low=0.2231435513142097,
        expected_high=0.2231435513142097,
        actual=0.5 if status is Status.FAILED else None,
        actual_type=text if status is Status.FAILED else None,
        abs_error=0.27 if status is Status.FAILED else None,
        rel_error=1.2 if status is Status.FAILED else None,
        rtol=1e-4,
        atol=1e-9,
        output=text if failed else "",
        traceback=f'  File "{text}", line 3, in f\n    raise ValueError({text!r})\n{text}'
        if failed
        else None,
        seconds=0.001,
    )


def _report(text: str, *, quiz: bool = False, loads: bool = True) -> Report:
    """A report whose every student-controlled field holds `text`."""
    error = None
    if not loads:
        error = SubmissionError("syntax", text, f"{text}.py", 2, 3, text, text, "check line 2")
    return Report(
        exercise="q01" if quiz else "ex01",
        title="Binary cross-entropy",
        submission=f"{text}.py",
        seed=7,
        score=1.0,
        max_score=3.0,
        execution_time=0.2,
        tests=(
            _case("textbook", Status.PASSED, text),
            _case("worked example", Status.FAILED, text),
            _case("random batch #1", Status.ERROR, text),
        ),
        backend="process",
        grader_version="0",
        diagnosis=Diagnosis(1, (MistakeFound("log2", "log base 2", "use np.log", 1),)),
        error=error,
        import_output=text,
        stdout=text,
        stderr=text,
        warnings=(f"your parameters are named ({text}, y_true)",),
        notes=(text,),
        student=text if quiz else None,
    )


HARMLESS = "harmless"


def _reports(text: str) -> list[tuple[Report, Report]]:
    """(hostile, harmless) pairs: an exercise, a quiz, a submission that did not load."""
    return [
        (_report(text, **kind), _report(HARMLESS, **kind))  # type: ignore[arg-type]
        for kind in ({}, {"quiz": True}, {"loads": False})
    ]


# --- the consumers' rules ---------------------------------------------------------------------


def _terminal_safe(output: str, width: int | None = None) -> None:
    assert not UNSEEN.search(output), repr(UNSEEN.search(output))
    output.encode("utf-8")  # a lone surrogate cannot be written
    if width is not None:
        long = [line for line in output.splitlines() if len(line) > width]
        assert not long, long


#: The commands the grader writes; anything else at a line's start was forged.
_COMMAND = re.compile(r"::(error|warning|notice|group|endgroup)( [a-z]+=[^:]*)?::")


def _runner_safe(output: str) -> None:
    """GitHub's runner: a command only at a line's start (after blanks), the legacy
    `##[` form anywhere in a line; the grader's own lines are commands or the case log."""
    _terminal_safe(output)
    for line in output.splitlines():
        assert "##[" not in line, line
        stripped = line.lstrip()
        if stripped.startswith("::"):
            assert _COMMAND.match(stripped), line
        else:
            assert stripped.startswith(("PASS ", "FAIL ", "ERROR ")), line


def _commands(output: str) -> Counter[str]:
    return Counter(
        line.split("::")[1].split(" ")[0] for line in output.splitlines() if line.startswith("::")
    )


_MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
_TEXT_TOKENS = {"text", "text_special", "softbreak"}


def _structure(markdown: str) -> list[str]:
    """The document's tokens, block and inline, without their text (a code span's or a
    fence's backticks grow with the backticks inside: their count is not structure)."""
    kinds = []
    for token in _MD.parse(markdown):
        kinds.append(token.type)
        for child in token.children or []:
            if child.type not in _TEXT_TOKENS:
                kinds.append(f"  {child.type}")
    return kinds


def _markdown_safe(hostile: str, harmless: str) -> None:
    _terminal_safe(hostile)
    kinds = _structure(hostile)
    for forbidden in ("html_block", "html_inline", "image", "link_open"):
        assert not any(k.lstrip().startswith(forbidden) for k in kinds), forbidden
    assert kinds == _structure(harmless)


def _json_safe(output: str) -> Any:
    """A strict decoder: UTF-8, and no string holding a surrogate once decoded (I-JSON)."""
    output.encode("utf-8")
    document = json.loads(output)

    def walk(value: Any) -> None:
        if isinstance(value, str):
            assert not re.search("[\ud800-\udfff\ufffe\uffff]", value), repr(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return document


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1

    def handle_comment(self, data: str) -> None:
        self.tags["<!--"] += 1


def _tags(html: str) -> Counter[str]:
    html.encode("utf-8")
    parser = _Tags()
    parser.feed(html)
    return parser.tags


#: Elements that load, run or link something, and comments (which can swallow a page).
_ACTIVE = ("img", "script", "a", "iframe", "object", "embed", "link", "style", "<!--")


def _html_safe(hostile: str, harmless: str) -> None:
    """No element the harmless report lacks, and no more of those that act: student text
    may change the layout (a long message gets a <pre>) but adds no element of its own."""
    found, expected = _tags(hostile), _tags(harmless)
    assert set(found) <= set(expected), set(found) - set(expected)
    assert [found[t] for t in _ACTIVE] == [expected[t] for t in _ACTIVE]


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


# --- every renderer of a report ---------------------------------------------------------------


@PROPERTY
@given(TEXT)
def test_the_text_report_shows_student_text_and_sends_the_terminal_nothing(text: str) -> None:
    for hostile, _ in _reports(text):
        _terminal_safe(render_text(hostile, width=80), width=80)
        _terminal_safe(render_text(hostile, width=80, verbose=True), width=80)


@PROPERTY
@given(TEXT)
def test_the_github_format_runs_no_command_of_the_students(text: str) -> None:
    for hostile, harmless in _reports(text):
        output = render_github(hostile)
        _runner_safe(output)
        assert _commands(output) == _commands(render_github(harmless))


@PROPERTY
@given(TEXT)
def test_markdown_reports_keep_their_structure_whatever_the_student_wrote(text: str) -> None:
    for hostile, harmless in _reports(text):
        _markdown_safe(render_markdown(hostile), render_markdown(harmless))
        _markdown_safe(step_summary(hostile), step_summary(harmless))


@PROPERTY
@given(TEXT)
def test_json_documents_are_i_json(text: str) -> None:
    for hostile, _ in _reports(text):
        document = _json_safe(render_json(hostile))
        assert document["submission"].endswith(".py")
        _json_safe(render_gradescope(hostile))


@PROPERTY
@given(text=TEXT)
def test_junit_reports_follow_the_schema(text: str, schema: xmlschema.XMLSchema) -> None:
    for hostile, _ in _reports(text):
        schema.validate(render_junit(hostile))


@PROPERTY
@given(TEXT)
def test_html_reports_hold_no_element_of_the_students(text: str) -> None:
    for hostile, harmless in _reports(text):
        _html_safe(render_html(hostile), render_html(harmless))


# --- a class ----------------------------------------------------------------------------------


def _row(student: str, text: str, score: float) -> dict[str, Any]:
    return {
        "id": 1,
        "student": student,
        "item": "ex01",
        "submission_hash": "0" * 64,
        "exercise_hash": "1" * 64,
        "score": score,
        "max_score": 30.0,
        "status": "failed",
        "mistakes": ["log2"],
        "grader_version": "0",
        "graded_at": "2026-12-07T10:00:00+00:00",
        "seconds": 0.25,
        "cases": [
            {"name": "textbook", "status": "failed", "score": 0.0, "seed": 1, "message": text},
        ],
        "error": text,
    }


@PROPERTY
@given(st.lists(TEXT, min_size=1, max_size=4, unique=True), TEXT)
def test_the_class_csv_runs_no_formula_and_keeps_one_row_per_student(
    names: list[str], text: str
) -> None:
    latest = {(name, "ex01"): _row(name, text, 6.0) for name in names}
    output = render_class(latest, {"ex01": text})
    output.encode("utf-8")
    rows = list(csv.reader(io.StringIO(output, newline="")))
    assert len(rows) == len(names) + 1
    for row in rows:
        assert len(row) == 5
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell
    assert [float(row[3]) for row in rows[1:]] == [6.0] * len(names)


@PROPERTY
@given(names=st.lists(TEXT, min_size=1, max_size=3, unique=True), text=TEXT)
def test_every_class_output_is_safe_for_its_reader(
    names: list[str], text: str, schema: xmlschema.XMLSchema
) -> None:
    rows = [_row(name, text, 6.0) for name in names]
    _json_safe(dumps({"summary": [text], "attempts": rows}))
    schema.validate(render_attempts(rows))
    _terminal_safe(render_lines([f"slowest: {name} 1.0 s" for name in names] + [text]))
    harmless = [_row(f"s{i}", HARMLESS, 6.0) for i in range(len(names))]
    page = render_dashboard(class_stats(rows, {"ex01": text}), generated="now")
    expected = render_dashboard(class_stats(harmless, {"ex01": HARMLESS}), generated="now")
    _html_safe(page, expected)


# --- through the CLI: a hostile submission, a quiz's answers file, a class's folder names ------

#: One message holding an attack on every reader, as a submission would raise and print it.
PAYLOAD = (
    "\\x1b]0;owned\\x07\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J\\x9b31m\\u202e\\ud800\\b\\b"
    " ##[error]forged ##[add-mask]secret\\n::error::forged\\r````\\n<img src=x>"
    "![p](https://evil.example/p.png)[l](https://evil.example)</details><!-- "
    "=HYPERLINK(1) %0A::warning::x"
)
SUBMISSION = """\
import numpy as np

MESSAGE = "{payload}"


def binary_cross_entropy(y_true, y_pred):
    print(MESSAGE)
    if len(y_true) == 1:
        raise ValueError(MESSAGE)
    if len(y_true) == 2:
        return type(MESSAGE, (), {{}})()
    return float(np.mean(y_true))
"""


def _submission(tmp_path: Path, payload: str, name: str) -> Path:
    return write(tmp_path / name, SUBMISSION.format(payload=payload))


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends("process", "bwrap"))
def test_a_hostile_submission_reaches_no_reader_raw(backend: str, tmp_path: Path) -> None:
    hostile = _submission(tmp_path, PAYLOAD, "hostile.py")
    harmless = _submission(tmp_path, "harmless", "harmless.py")
    common = ("--seed", "3", "--sandbox", backend)

    def run(path: Path, *args: str) -> Completed:
        result = run_grade("ex01", "--file", str(path), *common, *args)
        assert result.returncode == 1, result.stderr
        assert "internal error" not in result.stdout + result.stderr
        return result

    text = run(hostile)
    _terminal_safe(text.stdout + text.stderr)
    assert "\\x1b]0;owned\\x07" in text.stdout  # shown, not acted on
    github = run(hostile, "--format", "github").stdout
    _runner_safe(github)
    assert _commands(github) == _commands(run(harmless, "--format", "github").stdout)
    for fmt in ("json", "gradescope"):
        _json_safe(run(hostile, "--format", fmt).stdout)
    xmlschema.XMLSchema(str(XSD)).validate(run(hostile, "--format", "junit").stdout)
    reports = {}
    for path in (hostile, harmless):
        for suffix in ("md", "html"):
            out = tmp_path / f"{path.stem}.{suffix}"
            run(path, "--report", str(out))
            reports[path.stem, suffix] = out.read_text(encoding="utf-8")
    _markdown_safe(reports["hostile", "md"], reports["harmless", "md"])
    _html_safe(reports["hostile", "html"], reports["harmless", "html"])


@pytest.mark.slow
def test_a_quiz_shows_a_hostile_student_id_and_answer_without_acting_on_them(
    tmp_path: Path,
) -> None:
    answers = write(
        tmp_path / "answers.yaml",
        'quiz: q01\nstudent: "\\e]0;owned\\a\\u202e ##[error]x `<b>`"\nanswers:\n'
        '  tutorial_positive: "\\e]52;c;ZXZpbA==\\a ##[error]x <img src=x> ```\\r=1"\n',
    )
    text = run_grade("q01", "--answers", str(answers))
    assert text.returncode == 1, text.stderr
    _terminal_safe(text.stdout + text.stderr)
    assert "(student \\x1b]0;owned\\x07\\u202e" in text.stdout
    _runner_safe(run_grade("q01", "--answers", str(answers), "--format", "github").stdout)
    document = _json_safe(run_grade("q01", "--answers", str(answers), "--format", "json").stdout)
    assert document["student"].startswith("\x1b]0;owned")  # JSON keeps the text as it is
    report = tmp_path / "quiz.md"
    run_grade("q01", "--answers", str(answers), "--report", str(report))
    kinds = _structure(report.read_text(encoding="utf-8"))
    assert not any(k.lstrip().startswith(("html", "image", "link_open")) for k in kinds)


#: Folder names a spreadsheet would run, or that would split a row or act on a terminal.
HOSTILE_NAMES = [
    '=HYPERLINK("evil.example","x")',
    "+cmd|' -C calc'!A0",
    "-2+3",
    "'-2+3",  # as the export quotes the one above: still two cells
    "@SUM(1,2)",
    "\tleading tab",
    "carriage\rreturn",
    "\x1b]0;owned\x07",
    "##[error]forged",
]


@pytest.mark.slow
def test_a_class_with_hostile_folder_names_exports_safely(tmp_path: Path) -> None:
    good = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    for name in HOSTILE_NAMES:
        write(tmp_path / "class" / name / "ex01.py", good)
    book = str(tmp_path / "gradebook.db")
    batch = run_grade(
        "batch", "ex01", str(tmp_path / "class"), "--sandbox", "process", "--gradebook", book
    )
    assert batch.returncode == 0, batch.stderr
    _terminal_safe(batch.stdout + batch.stderr)
    exported = run_grade("gradebook", "export", "--gradebook", book)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout, newline="")))
    assert len(rows) == len(HOSTILE_NAMES) + 1
    for row in rows:
        assert not any(cell.startswith(FORMULA_START) for cell in row), row
    students = {row[0] for row in rows[1:]}
    assert '\'=HYPERLINK("evil.example","x")' in students
    assert {"'-2+3", "''-2+3"} <= students
    # One row, its cell quoted (the test reads stdout as text: the return arrives as \n).
    assert {"carriage\nreturn", "carriage\rreturn"} & students
    assert [float(row[3]) for row in rows[1:]] == [30.0] * len(HOSTILE_NAMES)
    every = run_grade("gradebook", "export", "--format", "json", "--gradebook", book)
    assert {row["student"] for row in _json_safe(every.stdout)} == set(HOSTILE_NAMES)


#: Names that differ only in what a careless renderer drops, or that forge a line.
LOOKALIKE_NAMES = ["ann", "a\x01nn", "\x1b[mann", "\ufffe", "zed\n  ann: could not be loaded: x"]
#: Load-time messages no database or terminal can hold, and an exception that cannot say
#: what it is: each the student's row, never the run's end.
LOAD_ATTACKS = {
    "sur": 'raise ValueError("\\ud800")\n',
    "exit": 'import sys\nsys.exit("\\udcff \\U0001F600")\n',
    "mute": "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n"
    "raise E()\n",
}


@pytest.mark.slow
def test_lookalike_names_and_unstorable_messages_keep_every_student_apart(
    tmp_path: Path,
) -> None:
    good = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    klass = tmp_path / "class"
    for name in LOOKALIKE_NAMES:
        write(klass / name / "ex01.py", good)
    for name, source in LOAD_ATTACKS.items():
        write(klass / name / "ex01.py", source)
    book = str(tmp_path / "book.db")
    batch = run_grade(
        "batch", "ex01", str(klass), "--gradebook", book, "--sandbox", "process",
        "--format", "junit",
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    suites = [s.get("name") for s in ET.fromstring(batch.stdout).iter("testsuite")]
    assert len(set(suites)) == len(LOOKALIKE_NAMES) + len(LOAD_ATTACKS), suites
    assert "a\\x01nn: ex01" in suites
    assert "\\x1b[mann: ex01" in suites
    assert not any("\n" in name for name in suites)
    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", book)
    rows = {r["student"]: r for r in _json_safe(exported.stdout)}
    assert rows["sur"]["error"] == "could not be loaded: ValueError: \\ud800 (ex01.py, line 1)"
    assert rows["exit"]["error"].startswith("could not be loaded: SystemExit: \\udcff \U0001f600")
    assert (
        "its message could not be shown: its __str__ raised RuntimeError" in (rows["mute"]["error"])
    )
    again = run_grade("batch", "ex01", str(klass), "--gradebook", book, "--sandbox", "process")
    assert again.returncode == 0, again.stderr
    _terminal_safe(again.stdout)
    assert "graded 0, skipped 8" in again.stdout
    # No line of the summary is a student's: the newline is shown, not written.
    assert not any(line.startswith("  ann: could not") for line in again.stdout.splitlines())


@pytest.mark.slow
def test_pytest_grade_shows_a_hostile_submissions_text_without_acting_on_it(
    tmp_path: Path,
) -> None:
    """pytest --grade prints the student's messages in its own terminal report."""
    hostile = _submission(tmp_path, PAYLOAD, "ex01.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--grade", "ex01",
         f"--grade-file={hostile}", f"--grade-course={REPO}", "--grade-seed=3", "-rA"],
        cwd=tmp_path,
        env={k: v for k, v in isolated_environment().items() if k != "PYTEST_ADDOPTS"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr
    _terminal_safe(result.stdout + result.stderr)
    assert "\\x1b]0;owned\\x07" in result.stdout
