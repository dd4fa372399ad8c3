"""Files handed to the grader that try to crash, hang or exhaust it: quiz answers files,
exercise files, notebooks and .py sources. Each is refused as a clear error (exit 2, with
file and line where there is one) or graded as the student's load error, never an internal
error, and each within seconds (issue 22, "every file read is bounded").

Through the CLI, as a student runs it; a small fuzz (hypothesis) feeds random bytes and text
to the two readers as library calls and expects only their documented error type.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO, Completed, backends, run_grade, write
from grader.course import find_course
from grader.errors import GraderError, SpecError
from grader.exercise import notebook_source
from grader.quiz.answers import read_answers
from grader.quiz.spec import Quiz

#: What a refusal may take: the held-out attacks allow 10 s; a subprocess starts in ~0.3 s.
TIMEOUT = 30

HEAD = "quiz: q01\nstudent: gil\nanswers:\n"


def _clean(result: Completed) -> None:
    """Nothing the grader says is an internal error or a traceback."""
    said = result.stdout + result.stderr
    assert result.returncode != 3, said
    assert "internal error" not in said, said
    assert "Traceback" not in said, said


def _refused(result: Completed, *words: str) -> None:
    _clean(result)
    assert result.returncode == 2, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def _answers(path: Path) -> Completed:
    return run_grade("q01", "--answers", str(path), timeout=TIMEOUT)


# --- quiz answers files ------------------------------------------------------------------------


@pytest.mark.slow
def test_an_alias_bomb_is_refused_at_its_first_alias(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 9):
        this, last = chr(97 + n), chr(96 + n)
        lines.append(f"{this}: &{this} [{', '.join(['*' + last] * 9)}]")
    path = write(tmp_path / "bomb.yaml", HEAD + "\n".join(lines) + "\n")
    result = _answers(path)
    _refused(result, f"{path}:5:8", "alias", "grade q01 --template")


@pytest.mark.slow
def test_an_answers_file_that_is_a_named_pipe_is_refused_without_waiting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "answers.yaml"
    os.mkfifo(path)
    _refused(_answers(path), f"{path} is not a regular file", "grade q01 --template")


@pytest.mark.slow
def test_a_50_mb_list_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as out:
        out.write(HEAD + "  one: [")
        for _ in range(500):
            out.write("1, " * 34_000)
        out.write("1]\n")
    assert path.stat().st_size > 50_000_000
    _refused(_answers(path), str(path), "larger than 256 KiB")


@pytest.mark.slow
def test_values_nested_1000_deep_are_refused_where_they_go_too_deep(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.yaml", HEAD + "  one: " + "[" * 1000 + "]" * 1000 + "\n")
    _refused(_answers(path), f"{path}:4:", "nested more than 50 deep")


@pytest.mark.slow
def test_block_nesting_is_refused_at_its_line(tmp_path: Path) -> None:
    body = "".join(f"{'  ' * (level + 1)}k{level}:\n" for level in range(60))
    path = write(tmp_path / "deep.yaml", HEAD + body + "  " * 61 + "1\n")
    # The top level is depth 1, answers 2 (line 4): the 51st mapping opens at line 53.
    _refused(_answers(path), f"{path}:53:101", "nested more than 50 deep")


@pytest.mark.slow
def test_too_many_values_in_a_small_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "many.yaml", HEAD + "  one: [" + "1, " * 20_000 + "1]\n")
    _refused(_answers(path), f"{path}:4:", "more than 10,000 keys and values")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"quiz: q01\nstudent: gil\nanswers:\n  one: 1\x00\n", ["{path}:4:9", "U+0000"]),
        (b"quiz: q01\nstudent: gil\nanswers:\n  one: \xff\n", ["{path}:4:8", "not UTF-8"]),
        (b"\xff\xfeq\x00u\x00i\x00z\x00", ["{path}:1:1", "not UTF-8"]),
        (random.Random(22).randbytes(4096), ["{path}:"]),
        (b"", ["{path}:1:1", "empty"]),
    ],
    ids=["nul", "bad-utf8", "utf16", "random", "empty"],
)
def test_bytes_that_are_not_yaml_text_are_refused(
    tmp_path: Path, content: bytes, words: list[str]
) -> None:
    path = tmp_path / "answers.yaml"
    path.write_bytes(content)
    _refused(_answers(path), *(w.format(path=path) for w in words))


@pytest.mark.slow
def test_an_exercise_file_is_bounded_too(tmp_path: Path) -> None:
    """An instructor's file has more room (aliases are allowed) but no bomb goes through."""
    root = tmp_path / "course"
    (root / "exercises").mkdir(parents=True)
    shutil.copytree(REPO / "solutions", root / "solutions")
    text = (REPO / "exercises" / "ex01.yaml").read_text()
    lines = ['x-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 9):
        this, last = chr(97 + n), chr(96 + n)
        lines.append(f"x-{this}: &{this} [{', '.join(['*' + last] * 9)}]")
    path = write(root / "exercises" / "ex01.yaml", text + "\n".join(lines) + "\n")
    submission = write(tmp_path / "ex01.py", "def binary_cross_entropy(y, p):\n    return 0.0\n")
    result = run_grade("ex01", "--file", str(submission), cwd=root, timeout=TIMEOUT)
    _refused(result, f"{path}:", "more than 100,000 keys and values")
    write(path, text + "x-loop: &loop [*loop]\n")
    result = run_grade("validate", cwd=root, timeout=TIMEOUT)
    _clean(result)
    assert result.returncode == 2
    assert "the alias *loop is inside the value it names" in result.stdout + result.stderr


# --- notebooks ---------------------------------------------------------------------------------

GOOD = """\
import numpy as np
def binary_cross_entropy(y_true, y_pred):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))"""


def _notebook(path: Path, *cells: str) -> Path:
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), str(path))
    return path


def _graded(path: Path) -> Completed:
    return run_grade("ex01", "--file", str(path), "--format", "json", timeout=TIMEOUT)


@pytest.mark.slow
def test_10000_cells_in_a_chain_are_read_and_graded(tmp_path: Path) -> None:
    chain = ["x0 = 0.0", *(f"x{i} = x{i - 1} * 1.0" for i in range(1, 10_000))]
    body = GOOD.replace("return float(", "return x9999 + float(")
    path = _notebook(tmp_path / "ex01.ipynb", *chain, body)
    result = _graded(path)
    _clean(result)
    report = result.json()
    assert result.returncode == 0, report.get("error")
    assert report["score"] == report["max_score"]


#: The long ones are longer than a cell the grader parses (MAX_CELL_CHARS); the short ones
#: make Python's parser raise MemoryError and RecursionError.
BOMBS = {
    "minus": "x = " + "-" * 100_000 + "1",
    "plus": "x = " + "1+" * 100_000 + "1",
    "minus-short": "x = " + "-" * 50_000 + "1",
    "plus-short": "x = " + "1+" * 20_000 + "1",
    "parentheses": "x = " + "(" * 100_000 + ")" * 100_000,
    "nul": "x = 1\x00\n",
}

WHY = {
    "minus": "longer than 100,000 characters, more than the grader reads in a cell",
    "plus": "longer than 100,000 characters",
    "minus-short": "too deeply nested or too complex for Python's parser (MemoryError)",
    "plus-short": "too deeply nested or too complex for Python's parser (RecursionError)",
    "parentheses": "longer than 100,000 characters",
    "nul": "null bytes",
}


@pytest.mark.slow
@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_parser_bomb_in_a_cell_is_that_cells_error(tmp_path: Path, bomb: str) -> None:
    path = _notebook(tmp_path / "ex01.ipynb", BOMBS[bomb], GOOD)
    result = _graded(path)
    _clean(result)
    assert result.returncode == 0, result.stdout[-2000:]
    notes = [n for n in result.json()["notes"] if "cell 1 does not parse" in n]
    assert len(notes) == 1, result.json()["notes"]
    assert "left out" in notes[0]
    assert WHY[bomb] in notes[0]


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["minus", "plus", "minus-short", "plus-short"])
def test_a_parser_bomb_in_the_functions_cell_is_the_load_error(tmp_path: Path, bomb: str) -> None:
    expression = BOMBS[bomb].removeprefix("x = ")
    path = _notebook(tmp_path / "ex01.ipynb", f"{GOOD}\n    return {expression}")
    result = _graded(path)
    _clean(result)
    assert result.returncode == 1
    error = result.json()["error"]
    assert error["kind"] == "too_complex"
    assert (
        "Python cannot compile ex01.ipynb: an expression is nested too deeply" in (error["message"])
    )
    assert "Split long expressions into several statements" in error["hint"]


@pytest.mark.slow
def test_lone_surrogates_in_a_cell_are_replaced_and_said(tmp_path: Path) -> None:
    notebook = json.loads(nbformat.writes(new_notebook(cells=[new_code_cell(GOOD + "  # \ud800")])))
    path = tmp_path / "ex01.ipynb"
    path.write_text(json.dumps(notebook))  # ASCII: the surrogate as the escape \ud800
    result = _graded(path)
    _clean(result)
    assert result.returncode == 0
    assert any("lone surrogates" in n for n in result.json()["notes"])


def _write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: random.Random(22).randbytes(8192), ["not a Jupyter notebook", "not UTF-8"]),
        (lambda: b'{"cells": [', ["not a Jupyter notebook", "does not appear to be JSON"]),
        (lambda: b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
        (lambda: b'{"nbformat": 4, "cells": [1, {"cell_type": 2}]}', ["not a Jupyter"]),
        (lambda: b"[" + b"{}," * 1_000_000 + b"{}]", ["more than 200,000 JSON objects"]),
        (lambda: b" " * (4 * 2**20 + 1), ["larger than 4 MiB", "Clear All Outputs"]),
    ],
    ids=["random", "truncated", "deep", "not-cells", "containers", "size"],
)
def test_a_notebook_file_that_is_not_one_is_a_clear_error(
    tmp_path: Path, make: object, words: list[str]
) -> None:
    assert callable(make)
    path = _write_bytes(tmp_path / "ex01.ipynb", make())
    _refused(_graded(path), *words)


@pytest.mark.slow
def test_a_notebook_of_too_many_cells_is_refused(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []}
    document = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell] * 20_001}
    path = write(tmp_path / "ex01.ipynb", json.dumps(document))
    _refused(_graded(path), "20,001 cells", "at most 20,000")


@pytest.mark.slow
def test_a_notebook_of_too_much_code_is_refused(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "ex01.ipynb", *(["x = 1" + " " * 89_995] * 6), GOOD)
    _refused(_graded(path), "more than 500,000 characters of code", "cell 6")


# --- Python sources ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends("process", "bwrap", "warm"))
@pytest.mark.parametrize("bomb", ["minus", "plus"])
def test_a_parser_bomb_in_a_py_file_is_the_load_error(
    tmp_path: Path, bomb: str, backend: str
) -> None:
    path = write(tmp_path / "ex01.py", BOMBS[bomb] + "\n" + GOOD + "\n")
    result = run_grade(
        "ex01", "--file", str(path), "--format", "json", "--sandbox", backend, timeout=TIMEOUT
    )
    _clean(result)
    assert result.returncode == 1
    error = result.json()["error"]
    assert error["kind"] == "too_complex"
    assert error["message"].startswith("Python cannot compile ex01.py: an expression is nested")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"x = 1\x00\n", "null bytes"),
        (bytes(range(256)) * 4, "ex01.py is not UTF-8 text: byte 0x80 on line 2, column 118"),
        (b"# -*- coding: nonsense -*-\n", "cannot read ex01.py: unknown encoding: nonsense"),
        (b"", "ex01.py is empty: it defines no function 'binary_cross_entropy'"),
        (b"x = 1" + b"0" * 5000 + b"\n", "integer string conversion"),
    ],
    ids=["nul", "random", "huge-int", "bad-coding", "empty"],
)
def test_bytes_python_refuses_are_the_load_error(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = _write_bytes(tmp_path / "ex01.py", content)
    result = run_grade("ex01", "--file", str(path), "--format", "json", timeout=TIMEOUT)
    _clean(result)
    assert result.returncode == 1
    assert words in result.json()["error"]["message"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", backends("process", "bwrap", "warm"))
@pytest.mark.parametrize(
    "encoded",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode(),  # Windows Notepad's UTF-8
        lambda text: ("# -*- coding: latin-1 -*-\n# r\u00e9sum\u00e9\n" + text).encode("latin-1"),
        lambda text: text.replace("\n", "\r\n").encode(),
    ],
    ids=["byte-order-mark", "coding-declaration", "crlf"],
)
def test_a_file_python_runs_is_read_as_python_reads_it(
    tmp_path: Path, backend: str, encoded: Any
) -> None:
    path = _write_bytes(tmp_path / "ex01.py", encoded(GOOD + "\n"))
    result = run_grade(
        "ex01", "--file", str(path), "--format", "json", "--sandbox", backend, timeout=TIMEOUT
    )
    _clean(result)
    assert result.returncode == 0, result.stdout
    assert result.json()["score"] == result.json()["max_score"]


# --- fuzz: the readers as library calls --------------------------------------------------------

#: A few seconds by default; GRADER_FUZZ_EXAMPLES=5000 for a longer hunt.
_FUZZ = settings(
    max_examples=int(os.environ.get("GRADER_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: YAML and JSON punctuation, so that random text often gets past the first character.
_PUNCTUATION = st.sampled_from(list("[]{}:,-&*!|>'\"#%@`?\n\t \x00\ud800\x1b\u2028\ufeff"))
_TEXT = st.lists(st.one_of(_PUNCTUATION, st.characters()), max_size=200).map("".join)


@functools.cache
def _quiz() -> Quiz:
    return find_course(REPO).load_quiz("q01")


@_FUZZ
@given(
    content=st.one_of(st.binary(max_size=400), _TEXT.map(lambda t: t.encode("utf-8", "replace")))
)
def test_fuzz_the_answers_reader_raises_only_spec_errors(tmp_path: Path, content: bytes) -> None:
    quiz = _quiz()
    path = tmp_path / "answers.yaml"
    for head in (b"", HEAD.encode(), HEAD.encode() + b"  one: "):
        path.write_bytes(head + content)
        with contextlib.suppress(SpecError):
            read_answers(path, quiz)


@_FUZZ
@given(
    content=st.one_of(st.binary(max_size=400), _TEXT.map(lambda t: t.encode("utf-8", "replace"))),
    source=_TEXT,
)
def test_fuzz_the_notebook_reader_raises_only_grader_errors(
    tmp_path: Path, content: bytes, source: str
) -> None:
    path = tmp_path / "ex01.ipynb"
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": []}
    document = {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell]}
    for raw in (content, json.dumps(document).encode(), b'{"cells": [' + content):
        path.write_bytes(raw)
        with contextlib.suppress(GraderError):
            notebook_source.read(path, "binary_cross_entropy")
