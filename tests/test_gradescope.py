"""Gradescope's results.json and JSON on every exit code, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

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
