"""A Jupyter notebook as a submission: the same verdicts as the same code in a .py file,
through `grade exNN` and `grade batch`; errors cited by cell and line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import SUBMISSIONS, run_grade, write

pytestmark = pytest.mark.slow

SEED = "5"


def _notebook(path: Path, *cells: str, markdown: str = "# My loss") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(cells=[new_markdown_cell(markdown), *(new_code_cell(c) for c in cells)])
    nbformat.write(notebook, str(path))
    return path


def _verdicts(report: dict[str, Any]) -> list[tuple[str, str, float]]:
    return [(t["name"], t["status"], t["score"]) for t in report["tests"]]


def _graded(path: Path, exercise: str = "ex01") -> dict[str, Any]:
    result = run_grade(exercise, "--file", str(path), "--format", "json", "--seed", SEED)
    assert result.returncode in (0, 1), result.stderr
    return result.json()


#: A student's notebook: the loss in one cell, what it needs in others, and cells the
#: grader must leave out (a magic, a shell escape, data loading with a missing package,
#: training that uses the data).
def _student_cells(body: str) -> list[str]:
    return [
        "import numpy as np\nimport pandas_is_not_installed as pd",
        "%matplotlib inline\nEPS = 1e-7",
        "data = pd.read_csv('train.csv')\ndata.head()",
        "def clipped(p):\n    return np.clip(p, EPS, 1 - EPS)",
        body,
        "!pip install torch\nmodel.fit(data)",
    ]


GOOD = """\
def binary_cross_entropy(y_true, y_pred):
    p = clipped(y_pred)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))"""

LOG2 = GOOD.replace("np.log(", "np.log2(")


def _as_module(body: str) -> str:
    """The code a student's notebook holds for the loss, as one .py file."""
    return (
        "import numpy as np\nEPS = 1e-7\n\ndef clipped(p):\n"
        "    return np.clip(p, EPS, 1 - EPS)\n\n" + body + "\n"
    )


def test_a_notebook_gets_the_verdicts_of_the_same_code_in_a_py_file(tmp_path: Path) -> None:
    for body in (GOOD, LOG2):
        notebook = _notebook(tmp_path / "nb" / "ex01.ipynb", *_student_cells(body))
        module = write(tmp_path / "py" / "ex01.py", _as_module(body))
        from_notebook, from_module = _graded(notebook), _graded(module)
        assert _verdicts(from_notebook) == _verdicts(from_module)
        assert from_notebook["score"] == from_module["score"]
        assert from_notebook["diagnosis"] == from_module["diagnosis"]
    assert from_notebook["diagnosis"]["mistakes"][0]["id"] == "log2"
    notes = " ".join(from_notebook["notes"])
    assert "%matplotlib inline left out" in notes
    assert "!pip install torch left out" in notes


def test_a_class_of_notebooks_and_files_gets_the_same_rows(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    _notebook(klass / "ana" / "ex01.ipynb", *_student_cells(GOOD))
    _notebook(klass / "bob.ipynb", *_student_cells(LOG2))
    source = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    write(klass / "cy" / "ex01.py", source)
    _notebook(klass / "cy" / "ex01.ipynb", "def binary_cross_entropy(a, b):\n    return 0.0")
    # The same code as bob's notebook, as a .py file.
    write(klass / "dan" / "ex01.py", _as_module(LOG2))
    book = tmp_path / "book.db"
    result = run_grade("batch", "ex01", str(klass), "--gradebook", str(book))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(book) as db:
        rows = {
            student: (status, json.loads(mistakes), json.loads(cases))
            for student, status, mistakes, cases in db.execute(
                "SELECT student, status, mistakes, cases FROM attempts"
            )
        }
    # cy has both: the .py file is the submission.
    assert {s: r[0] for s, r in rows.items()} == {
        "ana": "passed", "bob": "failed", "cy": "passed", "dan": "failed"
    }  # fmt: skip
    assert rows["bob"][1] == rows["dan"][1] == ["log2"]
    verdicts = {s: [(c["name"], c["status"], c["score"]) for c in r[2]] for s, r in rows.items()}
    assert verdicts["bob"] == verdicts["dan"]


def test_a_syntax_error_is_cited_by_cell_and_line(tmp_path: Path) -> None:
    broken = "def binary_cross_entropy(y_true, y_pred):\n    p = clipped(y_pred\n    return 0.0"
    notebook = _notebook(tmp_path / "ex01.ipynb", *_student_cells(broken))
    report = _graded(notebook)
    error = report["error"]
    # The markdown cell is cell 1: the function's cell is the sixth.
    assert error["file"].endswith("ex01.ipynb (cell 6)")
    assert error["line"] == 2
    assert "never closed" in error["message"]
    assert all(t["status"] == "error" for t in report["tests"])


def test_a_traceback_cites_the_cell_of_each_frame(tmp_path: Path) -> None:
    raises = "def binary_cross_entropy(y_true, y_pred):\n    return clipped(y_pred) / 0 + ''"
    notebook = _notebook(tmp_path / "ex01.ipynb", *_student_cells(raises))
    report = _graded(notebook)
    visible = [t for t in report["tests"] if t["visibility"] == "visible"]
    traceback = visible[0]["details"]["traceback"]
    assert 'File "ex01.ipynb", cell 6, line 2, in binary_cross_entropy' in traceback
    assert "ex01.py" not in json.dumps(report)


def test_a_notebook_without_the_function_is_the_students_error(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "ex01.ipynb", "x = 1")
    result = run_grade("ex01", "--file", str(notebook), "--format", "json")
    assert result.returncode == 1
    assert (
        "ex01.ipynb defines no function 'binary_cross_entropy'"
        in (result.json()["error"]["message"])
    )


def test_a_file_that_is_not_a_notebook_is_a_clear_error(tmp_path: Path) -> None:
    for text, words in (("{ not json", "does not appear to be JSON"), ('{"a": 1}', "cells")):
        path = write(tmp_path / "ex01.ipynb", text)
        result = run_grade("ex01", "--file", str(path))
        assert result.returncode == 2
        assert "ex01.ipynb is not a Jupyter notebook" in result.stderr
        assert words in result.stderr
        assert "Traceback" not in result.stderr
