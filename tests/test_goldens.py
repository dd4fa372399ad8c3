"""Golden reports: every output format of an exercise, a quiz and a class, each compared
whole with its file under tests/goldens/<kind>/ once what varies from run to run is
normalised (NORMALISERS). A change to any report shows as a diff here; when it is meant,
`pytest tests/test_goldens.py --update-goldens` rewrites the files, and their diff is
reviewed like code (exercism's scenario folders, otter-grader's --update-goldens)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, SUBMISSIONS, Completed, normalise, run_grade, write
from grader import __version__

pytestmark = pytest.mark.slow

Golden = Callable[[str, str], None]

#: The exercise: a known mistake (log2) on every case but the ones it cannot change.
SUBMISSION = SUBMISSIONS / "ex01" / "bad_log2.py"
SEED = "7"
#: The quiz: right, misconception, blank, wrong and a wrong choice, for student mia.
ANSWERS = FIXTURES / "answers" / "q01-mia.yaml"
STUDENT = "mia"
#: The class: full marks, a known mistake, a submission raising on some cases (folders),
#: and one that does not load (a file at the top of the class folder).
CLASS = {
    "ana/ex01.py": SUBMISSIONS / "ex01" / "good_vectorised.py",
    "bob/ex01.py": SUBMISSIONS / "ex01" / "bad_log2.py",
    "cy/ex01.py": SUBMISSIONS / "ex01" / "bad_raises.py",
}
DOES_NOT_LOAD = "def binary_cross_entropy(y_true, y_pred:\n"
CLASS_SEED = "5"

#: --format NAME -> the golden's suffix, for exercises and quizzes alike.
FORMATS = {"text": "txt", "json": "json", "gradescope": "json", "junit": "xml", "github": "txt"}
#: --report NAME -> the golden's name.
REPORTS = {"report.md": "report.md", "report.html": "report.html"}
#: grade batch --format NAME -> the golden's name.
CLASS_FORMATS = {"text": "text.txt", "json": "json.json", "junit": "junit.xml"}

_NUMBER = r"[0-9][0-9.e+-]*"
_SANDBOX = r"(?:process|bwrap|warm)"
#: What varies between two runs of the same report, each replaced by a fixed word, in order.
#: Nothing else is touched: a golden shows every score, message, value and seed as printed.
NORMALISERS: list[tuple[str, str]] = [
    # Seconds a run or a case took: "1.03 s" (text, Markdown, HTML, "slowest: bob 0.4 s"),
    # "execution_time" and "seconds" (JSON, Gradescope), time="0.000108" (JUnit).
    (r"\b\d+\.\d+ s\b", "<t> s"),
    (rf'"(execution_time|seconds)": {_NUMBER}', r'"\1": <t>'),
    (r'\btime="[0-9.]+"', 'time="<t>"'),
    # Which of the class took longest is a race between equal submissions.
    (r"slowest: [^\"\n]*", "slowest: <students by time>"),
    # When: the gradebook's graded_at and JUnit's timestamp.
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?", "<timestamp>"),
    # The grader's version: in every report, and a release must not rewrite the goldens.
    (rf"(?<![\w.]){re.escape(__version__)}(?![\w.])", "<version>"),
    # The exercise's hash is of its YAML and references, not of anything the run did.
    (r'"exercise_hash": "[0-9a-f]{64}"', '"exercise_hash": "<sha256>"'),
    # What the sandbox cannot guarantee depends on the machine (root or not, cgroups);
    # each limitation is a clause without a full stop, so the list ends at the first one.
    (r"(cannot guarantee(?: isolation)?:)[^.]*\.", r"\1 <limitations>."),
    (r'"sandbox_limitations": \[\s*"[^\]]*\]', '"sandbox_limitations": ["<limitations>"]'),
    # ... and the text report wraps the sentence after the list where its length says.
    (r"\.\s+'grade\s+doctor'\s+tells\s+why", ". 'grade doctor' tells why"),
    # The sandbox's name, wherever a report names it.
    (rf"(?i)\b(sandbox:? |the ){_SANDBOX}\b", r"\1<sandbox>"),
    (rf'("backend": "|name="backend" value="){_SANDBOX}"', r'\1<sandbox>"'),
]


def _normalised(result: Completed, tmp_path: Path) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    text = result.stdout.replace(str(tmp_path), "<tmp>").replace(str(REPO), "<repo>")
    return normalise(text, NORMALISERS)


def _grade(tmp_path: Path, *args: str) -> Completed:
    """`grade --course REPO ARGS` in a folder of the test's own, so every path the report
    names is relative and the files it writes land there."""
    return run_grade("--course", str(REPO), *args, cwd=tmp_path)


def _exercise(tmp_path: Path, *args: str) -> Completed:
    shutil.copyfile(SUBMISSION, tmp_path / "ex01.py")
    result = _grade(tmp_path, "ex01", "--seed", SEED, "--sandbox", "process", *args)
    assert result.returncode == 1, result.stderr
    return result


def _quiz(tmp_path: Path, *args: str) -> Completed:
    shutil.copyfile(ANSWERS, tmp_path / "q01-answers.yaml")
    result = _grade(tmp_path, "q01", "--answers", "q01-answers.yaml", "--student", STUDENT, *args)
    assert result.returncode == 1, result.stderr
    return result


ITEMS = {"exercise": _exercise, "quiz": _quiz}


@pytest.mark.parametrize("kind", ITEMS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_of_a_report_is_its_golden(
    kind: str, fmt: str, tmp_path: Path, golden: Golden
) -> None:
    result = ITEMS[kind](tmp_path, "--format", fmt)
    golden(f"{kind}/{fmt}.{FORMATS[fmt]}", _normalised(result, tmp_path))


@pytest.mark.parametrize("kind", ITEMS)
@pytest.mark.parametrize("report", REPORTS)
def test_each_report_file_is_its_golden(
    kind: str, report: str, tmp_path: Path, golden: Golden
) -> None:
    result = ITEMS[kind](tmp_path, "--report", report)
    assert f"report written to {report}" in result.stderr
    written = Completed(0, (tmp_path / report).read_text(encoding="utf-8"), "")
    golden(f"{kind}/{REPORTS[report]}", _normalised(written, tmp_path))


def _class(tmp_path: Path) -> Path:
    klass = tmp_path / "class"
    for name, source in CLASS.items():
        write(klass / name, source.read_text(encoding="utf-8"))
    write(klass / "dee.py", DOES_NOT_LOAD)
    return klass


def _batch(tmp_path: Path, *args: str) -> Completed:
    """One worker, so the gradebook's attempt ids follow the students' order."""
    _class(tmp_path)
    result = _grade(
        tmp_path, "batch", "ex01", "class", "--sandbox", "process", "--jobs", "1",
        "--seed", CLASS_SEED, "--gradebook", "book.db", *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("fmt", CLASS_FORMATS)
def test_each_format_of_a_class_batch_is_its_golden(
    fmt: str, tmp_path: Path, golden: Golden
) -> None:
    result = _batch(tmp_path, "--format", fmt)
    golden(f"class/{CLASS_FORMATS[fmt]}", _normalised(result, tmp_path))


def test_the_gradebook_csv_export_is_its_golden(tmp_path: Path, golden: Golden) -> None:
    _batch(tmp_path)
    result = _grade(tmp_path, "gradebook", "export", "--gradebook", "book.db")
    assert result.returncode == 0, result.stderr
    golden("class/gradebook.csv", _normalised(result, tmp_path))
