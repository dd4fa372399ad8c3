"""Gradescope's results.json and JSON on every exit code, through the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import SUBMISSIONS, run_grade, write

pytestmark = pytest.mark.slow

#: The fields Gradescope's results.json specification documents (top level and per test).
TOP = {
    "score", "execution_time", "output", "output_format", "test_output_format",
    "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
    "leaderboard",
}  # fmt: skip
TEST = {
    "score", "max_score", "status", "name", "name_format", "number", "output",
    "output_format", "tags", "visibility", "extra_data",
}  # fmt: skip
RAISES = "def binary_cross_entropy(y_true, y_pred):\n    raise ValueError('no')\n"


def _check_fields(document: dict) -> None:
    assert set(document) <= TOP
    for test in document["tests"]:
        assert set(test) <= TEST
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "after_published")


def test_gradescope_format_has_only_documented_fields_and_statuses(tmp_path: Path) -> None:
    raising = write(tmp_path / "ex01.py", RAISES)
    for sub in (SUBMISSIONS / "ex01" / "bad_log2.py", raising):
        result = run_grade("ex01", "--file", str(sub), "--format", "gradescope", "--seed", "1")
        assert result.returncode == 1
        document = json.loads(result.stdout)
        _check_fields(document)
        ours = run_grade("ex01", "--file", str(sub), "--format", "json", "--seed", "1").json()
        assert document["score"] == ours["score"]
        assert [t["name"] for t in document["tests"]] == [t["name"] for t in ours["tests"]]
    statuses = {t["status"] for t in document["tests"]}
    assert statuses == {"failed"}  # raised everywhere: Gradescope has no 'error'
    hidden = [t for t in document["tests"] if t["visibility"] == "after_published"]
    assert hidden, "hidden cases show once grades are published"


def test_grade_gradescope_writes_results_json_for_any_submission(tmp_path: Path) -> None:
    submission = tmp_path / "autograder" / "submission"
    results = tmp_path / "autograder" / "results" / "results.json"
    write(submission / "my_answer.py", (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text())
    args = ("--submission", str(submission), "--results", str(results))
    done = run_grade("gradescope", "ex01", *args)
    assert done.returncode == 0, done.stderr
    document = json.loads(results.read_text())
    _check_fields(document)
    assert document["score"] == document["extra_data"]["max_score"] > 0
    (submission / "my_answer.py").unlink()
    write(submission / "notes.txt", "nothing to grade")
    empty = run_grade("gradescope", "ex01", *args)
    assert empty.returncode == 0
    document = json.loads(results.read_text())
    assert document["score"] == 0
    assert "expected ex01.py or ex01.ipynb" in document["output"]
    # A notebook upload is graded as one.
    source = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), str(submission / "work.ipynb"))
    notebook = run_grade("gradescope", "ex01", *args)
    assert notebook.returncode == 0, notebook.stderr
    document = json.loads(results.read_text())
    _check_fields(document)
    assert document["score"] == document["extra_data"]["max_score"] > 0


def test_json_prints_one_document_on_a_configuration_error() -> None:
    result = run_grade("ex99", "--format", "json")
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert "there is no exercise 'ex99'" in document["error"]["message"]
    assert document["tests"] == []


# --- as its students see it: an uploaded file, no commands; each fact once; a stable seed ---

#: A command to run or an option to pass: advice a student who uploaded a file cannot follow.
TERMINAL_ADVICE = re.compile(r"'grade |\bgrade (start|show|doctor|list|ex\d\d)\b|(?<![\w-])--[a-z]")
WRONG_NAME = "def bce(y_true, y_pred):\n    return 0.5\n"
NO_MISTAKE = "def binary_cross_entropy(y_true, y_pred):\n    return 0.3\n"
NOT_LOADING = "def binary_cross_entropy(y_true, y_pred):\n    return (\n"


def _gradescope(
    tmp_path: Path, files: dict[str, str], *, env: dict[str, str] | None = None
) -> dict:
    submission = tmp_path / "submission"
    if submission.exists():
        shutil.rmtree(submission)
    submission.mkdir(parents=True)
    for name, text in files.items():
        write(submission / name, text)
    results = tmp_path / "results.json"
    done = run_grade(
        "gradescope", "ex01", "--submission", str(submission), "--results", str(results),
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(results.read_text())


def _read_by_student(document: dict) -> list[str]:
    """The fields Gradescope shows a student: the top-level output and each test's."""
    return [document["output"], *(t["output"] for t in document["tests"])]


def test_gradescope_feedback_names_no_command_or_option(tmp_path: Path) -> None:
    uploads = {
        "a wrong function name": {"ex01.py": WRONG_NAME},
        "no known mistake": {"ex01.py": NO_MISTAKE},
        "a syntax error": {"ex01.py": NOT_LOADING},
        "no file of the exercise's name": {"a.py": NO_MISTAKE, "b.py": NO_MISTAKE},
        "nothing to grade": {"notes.txt": "hello"},
        "a NaN": {"ex01.py": (SUBMISSIONS / "ex01" / "bad_no_clip.py").read_text()},
    }
    for what, files in uploads.items():
        document = _gradescope(tmp_path, files)
        for text in _read_by_student(document):
            assert not TERMINAL_ADVICE.search(text), f"{what}: {text}"
    # What the terminal says instead is still said, in words for an upload.
    assert (
        "Define exactly:\n    def binary_cross_entropy(y_true, y_pred):"
        in _gradescope(tmp_path, uploads["a wrong function name"])["output"]
    )
    assert (
        "the exercise's statement" in _gradescope(tmp_path, uploads["no known mistake"])["output"]
    )
    missing = _gradescope(tmp_path, uploads["no file of the exercise's name"])["output"]
    assert "Upload your solution as ex01.py or ex01.ipynb" in missing
    # A fault of the course: the student learns it is not theirs, the log gets the advice.
    broken = _gradescope(tmp_path, {"ex01.py": NO_MISTAKE}, env={"GRADER_SANDBOX": "nope"})
    assert "misconfigured" in broken["output"]
    assert not TERMINAL_ADVICE.search(broken["output"])


def test_the_terminal_keeps_its_commands(tmp_path: Path) -> None:
    wrong = write(tmp_path / "ex01.py", WRONG_NAME)
    text = run_grade("ex01", "--file", str(wrong), "--format", "json").json()
    assert "'grade start ex01'" in text["error"]["hint"]
    missing = run_grade("ex01", "--file", str(tmp_path / "nope.py"))
    assert "grade start ex01" in missing.stderr + missing.stdout


def _got_once(text: str) -> bool:
    """'got' names the value once; the tolerance formula's |got - expected| is no value."""
    return len(re.findall(r"\bgot\b", text.replace("|got - expected|", ""))) == 1


def test_a_nan_says_got_once_in_every_format(tmp_path: Path) -> None:
    nan = SUBMISSIONS / "ex01" / "bad_no_clip.py"
    case = "prediction exactly 1 for a positive and 0 for a negative"
    args = ("ex01", "--file", str(nan), "--seed", "7")
    ours = run_grade(*args, "--format", "json").json()
    (test,) = [t for t in ours["tests"] if t["name"] == case]
    assert _got_once(test["output"])
    assert "got nan" in test["output"]
    assert "NaN" in test["details"]["message"]
    assert "got" not in test["details"]["message"]
    scope = json.loads(run_grade(*args, "--format", "gradescope").stdout)
    (test,) = [t for t in scope["tests"] if t["name"] == case]
    assert _got_once(test["output"])
    uploaded = _gradescope(tmp_path, {"ex01.py": nan.read_text()})
    (test,) = [t for t in uploaded["tests"] if t["name"] == case]
    assert _got_once(test["output"])
    junit = ElementTree.fromstring(run_grade(*args, "--format", "junit").stdout)
    (element,) = [e for e in junit.iter("testcase") if e.get("name") == case]
    failure = element.find("failure")
    assert failure is not None
    assert _got_once(failure.get("message", ""))
    assert _got_once(failure.text or "")
    github = run_grade(*args, "--format", "github").stdout
    # A line of the log, or one of an annotation's (%0A is its line break).
    lines = [line for line in github.replace("%0A", "\n").splitlines() if case in line]
    assert lines
    assert all(_got_once(line) for line in lines)
    text = run_grade(*args, "--format", "text", env={"COLUMNS": "200"}).stdout
    block = text.split(case)[1].split("\n\n")[0]
    assert _got_once(block), block
    for suffix in ("md", "html"):
        report = tmp_path / f"feedback.{suffix}"
        run_grade(*args, "--report", str(report))
        page = report.read_text()
        part = page.split(case)[1]
        part = part.split("\n\n")[0] if suffix == "md" else part.split("</details>")[0]
        assert _got_once(part), part


def test_a_regrade_of_the_same_upload_draws_the_same_seed_and_cases(tmp_path: Path) -> None:
    upload = {"ex01.py": NO_MISTAKE}
    first, again = _gradescope(tmp_path, upload), _gradescope(tmp_path, upload)
    seed = first["extra_data"]["seed"]
    assert again["extra_data"]["seed"] == seed
    assert again["tests"] == first["tests"]
    assert again["score"] == first["score"]
    assert f"seed {seed}" in first["output"]
    # Another file (one more comment line) may draw other cases: its seed is its own.
    seeds = {
        _gradescope(tmp_path, {"ex01.py": f"{NO_MISTAKE}# {n}\n"})["extra_data"]["seed"]
        for n in range(3)
    }
    assert len(seeds | {seed}) > 1


def test_a_broken_bundle_is_the_autograder_s_fault_and_a_broken_upload_the_student_s(
    tmp_path: Path,
) -> None:
    """Only a fault of the upload itself (missing, not a notebook, too large) asks the
    student to act; any other fault (here, a bundle whose answers are damaged) says the
    autograder is misconfigured and not the student's fault."""
    bundle = tmp_path / "bundle"
    released = run_grade("release", str(bundle), "--seeds", "1")
    assert released.returncode == 0, released.stderr
    submission = tmp_path / "submission"
    results = tmp_path / "results.json"
    args = ("--submission", str(submission), "--results", str(results))
    write(submission / "ex01.py", (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text())
    fine = run_grade("gradescope", "ex01", *args, cwd=bundle)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(results.read_text())["score"] > 0
    (bundle / "answers" / "ex01.json").write_text("{not json")
    broken = run_grade("gradescope", "ex01", *args, cwd=bundle)
    assert broken.returncode == 0, broken.stderr
    document = json.loads(results.read_text())
    assert "autograder is misconfigured" in document["output"]
    assert "not your fault" in document["output"]
    assert "answers cannot be read" in document["output"]
    (submission / "ex01.py").unlink()
    write(submission / "ex01.ipynb", "this is not a notebook")
    upload = run_grade("gradescope", "ex01", *args)
    assert upload.returncode == 0, upload.stderr
    document = json.loads(results.read_text())
    assert "is not a Jupyter notebook" in document["output"]
    assert "misconfigured" not in document["output"]
    assert "expected ex01.py or ex01.ipynb" in document["output"]


def test_an_upload_that_is_not_a_plain_file_is_refused_before_anything_reads_it(
    tmp_path: Path,
) -> None:
    """Gradescope runs the grader beside the course's solutions and secrets: a symbolic link
    (to the solution: full marks; to a secret: its text in the feedback), a named pipe (the
    run would wait forever) and a file of megabytes are each the student's error."""
    secret = write(tmp_path / "secret.txt", "API_TOKEN = sk_live_abc123secret\n")
    good = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    cases = {
        "solution": "ex01.py is a symbolic link, not a file",
        "secret": "ex01.py is a symbolic link, not a file",
        "pipe": "ex01.py is a named pipe, not a regular file",
        "huge": "ex01.py is 2,000,",
    }
    for name, words in cases.items():
        upload = tmp_path / name / "submission"
        upload.mkdir(parents=True)
        if name == "solution":
            (upload / "ex01.py").symlink_to(Path(__file__).parents[1] / "solutions" / "bce.py")
        elif name == "secret":
            (upload / "ex01.py").symlink_to(secret)
        elif name == "pipe":
            os.mkfifo(upload / "ex01.py")
        else:
            write(upload / "ex01.py", good + "#" * 2_000_000 + "\n")
        results = tmp_path / name / "results.json"
        done = run_grade(
            "gradescope", "ex01", "--submission", str(upload), "--results", str(results),
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        document = json.loads(results.read_text(encoding="utf-8"))
        assert document["score"] == 0, name
        assert document["output"].startswith(words), document["output"]
        assert "sk_live" not in results.read_text(encoding="utf-8")
    # On the command line the course's own solution is refused too, however it is reached.
    link = tmp_path / "mine.py"
    link.symlink_to(Path(__file__).parents[1] / "solutions" / "bce.py")
    mine = run_grade("ex01", "--file", str(link))
    assert mine.returncode == 2
    assert "mine.py is the course's own reference solution, not a submission" in mine.stderr
    hard = tmp_path / "hard.py"  # the same file under another name: a hard link
    try:
        os.link(Path(__file__).parents[1] / "solutions" / "bce.py", hard)
    except OSError:
        return  # another file system: no hard link can reach the solution from here
    linked = run_grade("ex01", "--file", str(hard))
    assert linked.returncode == 2
    assert "hard.py is the course's own reference solution" in linked.stderr


def test_a_syntax_error_shows_its_line_and_column_and_no_autograder_path(tmp_path: Path) -> None:
    """The hint says "fix the line shown": the line is shown, a caret under its column (a
    tab kept under a tab), and the file named as the student named it."""
    upload = tmp_path / "autograder" / "submission"
    write(upload / "ex01.py", "import numpy as np\n\ndef binary_cross_entropy(y_true, y_pred)\n")
    results = tmp_path / "results.json"
    args = ("--submission", str(upload), "--results", str(results))
    assert run_grade("gradescope", "ex01", *args).returncode == 0
    output = json.loads(results.read_text(encoding="utf-8"))["output"]
    lines = output.splitlines()
    assert lines[:3] == [
        "ex01.py, line 3: SyntaxError: expected ':'",
        "    def binary_cross_entropy(y_true, y_pred)",
        "    " + " " * len("def binary_cross_entropy(y_true, y_pred)") + "^",
    ]
    assert lines[3].startswith("hint: Fix the line shown")
    assert str(tmp_path) not in output
    write(upload / "ex01.py", "def binary_cross_entropy(y_true, y_pred):\n\treturn (1 +\n")
    assert run_grade("gradescope", "ex01", *args).returncode == 0
    lines = json.loads(results.read_text(encoding="utf-8"))["output"].splitlines()
    assert lines[1:3] == ["    \treturn (1 +", "    \t       ^"]
    # An escape sequence is shown as its escape, a wide character takes two columns: the
    # caret stays under the column Python names.
    for code, column in (
        ('x = "\x1b[31m" $', len('    x = "\\x1b[31m" ')),  # the escape as shown
        ('x = "\u65e5\u672c" + )', len('    x = "') + 4 + len('" + ')),  # 2 columns each
    ):
        write(upload / "ex01.py", code + "\n")
        assert run_grade("gradescope", "ex01", *args).returncode == 0
        shown = json.loads(results.read_text(encoding="utf-8"))["output"].splitlines()
        assert shown[2] == " " * column + "^", (shown[1], shown[2])


def test_an_upload_in_a_folder_is_found_there(tmp_path: Path) -> None:
    """A zip of a folder, or a repository: the exercise's file one or two folders down is
    the submission; macOS's __MACOSX copies are not."""
    upload = tmp_path / "submission"
    write(
        upload / "hw" / "src" / "ex01.py", (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    )
    write(upload / "__MACOSX" / "hw" / "src" / "ex01.py", "\x00\x05 resource fork")
    write(upload / "hw" / "README.md", "my homework")
    results = tmp_path / "results.json"
    done = run_grade("gradescope", "ex01", "--submission", str(upload), "--results", str(results))
    assert done.returncode == 0, done.stderr
    document = json.loads(results.read_text(encoding="utf-8"))
    assert document["score"] == 30, document["output"]
