"""A Jupyter notebook as a submission: the code that defines the entry function, as a module.

Read with nbformat (never executed here). What is taken, by default: the entry function as
the last code cell defines it, and what it needs, found by name: the functions, classes,
imports and assignments (constants such as `EPS = 1e-7`) that bind a name it uses, and
what those use in turn, in notebook order. Nothing else runs: a cell that loads data,
trains a model or plots is left out unless the function uses a name it binds. IPython
magics and shell escapes (lines starting with `%` or `!`, and `%%` cell magics) are
dropped, with a note in the report. A cell that does not parse is left out with a note,
unless it is where the function is defined: then it is taken as it is, and the syntax
error is reported at its cell and line.

A notebook is read within limits (MAX_NOTEBOOK_BYTES, MAX_JSON_CONTAINERS, MAX_CELLS,
MAX_SOURCE_CHARS) checked before nbformat builds anything, and a cell that Python's parser
refuses in any way (too deep, too complex, NUL bytes) is a cell that does not parse: no file
a student hands in costs the grader more than a second or a hundred megabytes.

Every line of the module remembers its cell (its position in the notebook, from 1, as
Jupyter lists cells) and its line there, so that the report cites "cell 4, line 2".
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.errors import SubmissionFileError
from grader.results import Report

#: A notebook's file: its code is all that is read, so a bigger one is almost always
#: outputs (plots), which Jupyter clears in one step. Parsed JSON costs about 25 bytes of
#: memory per byte of file at worst, so this also bounds the memory of a refusal.
MAX_NOTEBOOK_BYTES = 4 * 1024 * 1024
#: JSON objects and arrays in the file, counted before nbformat converts and validates them
#: (which costs about 500 bytes and 3 us each): a real notebook has a few per cell.
MAX_JSON_CONTAINERS = 200_000
MAX_CELLS = 20_000
#: Characters of code, every code cell together: a chain of 10,000 one-line cells holds
#: about 150,000. Past it the notebook is refused.
MAX_SOURCE_CHARS = 500_000
#: Characters of one cell that the grader parses: Python's parser needs up to a kilobyte a
#: character. A longer cell is a cell that does not parse (taken as it is, for the sandbox
#: to judge, when it defines the function).
MAX_CELL_CHARS = 100_000

_SURROGATE = re.compile("[\ud800-\udfff]")
_CLEAR = (
    "Clear its outputs (Jupyter: Edit > Clear All Outputs) and save it again, or submit a .py file."
)


@dataclass(frozen=True)
class NotebookModule:
    """The module made from a notebook, and where each of its lines came from."""

    source: str
    #: For line i of `source` (from 1), origin[i - 1] = (cell, line in that cell).
    origin: tuple[tuple[int, int], ...]
    notes: tuple[str, ...]

    def where(self, line: int | None) -> tuple[int, int] | None:
        if line is None or not 1 <= line <= len(self.origin):
            return None
        return self.origin[line - 1]


@dataclass(frozen=True, slots=True)
class _Statement:
    """A top-level statement of a cell, as much of it as the search by name needs: its
    tree is not kept (a tree costs some 500 bytes a character of code)."""

    bound: tuple[str, ...]
    used: tuple[str, ...]
    #: Its lines in the cell, from its first decorator.
    first: int
    last: int


@dataclass(frozen=True)
class _Cell:
    number: int
    lines: list[str]  # magics blanked out, so that line numbers stay the cell's
    #: None when the cell does not parse.
    statements: tuple[_Statement, ...] | None
    #: The functions its top level defines.
    defines: frozenset[str]
    error: SyntaxError | None


def read(path: Path, entry: str) -> NotebookModule:
    """The module of the notebook at path; SubmissionFileError when it is not a notebook."""
    cells, notes = _code_cells(path)
    # The last cell that defines the function, or that tries to and does not parse: the
    # student's latest version (a kernel would keep an older one when the newest fails).
    candidates = [
        c
        for c in cells
        if _defines(c, entry) or (c.error is not None and f"def {entry}" in "\n".join(c.lines))
    ]
    if not candidates:
        # A module of one comment: the child reports the missing function, as for a .py
        # file (an empty one it would call empty, which the notebook may not be).
        numbers = ", ".join(str(c.number) for c in cells) or "none"
        notes.append(f"no code cell defines {entry} (code cells: {numbers})")
        return NotebookModule(f"# no code cell defines {entry}\n", (), tuple(notes))
    latest = candidates[-1]
    if latest.error is not None:
        # Taken as it is, so that the syntax error comes back with its cell and line.
        return _module([(latest, list(range(1, len(latest.lines) + 1)))], notes)
    chosen = _needed(cells, latest, entry)
    for cell in cells:
        if cell.error is not None:
            line = f"line {cell.error.lineno}: " if cell.error.lineno else ""
            notes.append(
                f"cell {cell.number} does not parse ({line}{cell.error.msg}); it was left out"
            )
    return _module(chosen, notes)


def _code_cells(path: Path) -> tuple[list[_Cell], list[str]]:
    notebook = _notebook(path)
    cells: list[_Cell] = []
    notes: list[str] = []
    total = 0
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        if isinstance(text, list):
            text = "".join(str(part) for part in text)
        text = str(text)
        if _SURROGATE.search(text):
            # JSON can escape half of a UTF-16 pair (\ud800): no file can hold it as text.
            text = _SURROGATE.sub("\ufffd", text)
            notes.append(f"cell {number}: lone surrogates (not text) replaced by U+FFFD")
        total += len(text)
        if total > MAX_SOURCE_CHARS:
            raise SubmissionFileError(
                f"{path.name} holds more than {MAX_SOURCE_CHARS:,} characters of code "
                f"(reached at cell {number})",
                fix="Submit the code the exercise asks for (the function and what it uses) "
                "in a smaller notebook, or as a .py file.",
            )
        lines = text.splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"cell {number} is a cell magic ({lines[0].strip()[:40]}); left out")
            continue
        for index, line in enumerate(lines):
            if line.lstrip().startswith(("%", "!")):
                notes.append(f"cell {number}, line {index + 1}: {line.strip()[:60]} left out")
                lines[index] = ""
        cells.append(_cell(number, lines))
    return cells, notes


def _cell(number: int, lines: list[str]) -> _Cell:
    tree, error = _parse("\n".join(lines) + "\n")
    if tree is None:
        return _Cell(number, lines, None, frozenset(), error)
    statements = tuple(
        _Statement(tuple(_bound(node)), tuple(_used(node)), *_span(node)) for node in tree.body
    )
    defines = frozenset(
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )
    return _Cell(number, lines, statements, defines, None)


def _parse(source: str) -> tuple[ast.Module | None, SyntaxError | None]:
    """A cell's tree, or why Python's parser refuses it: whatever the parser raises (a
    RecursionError or MemoryError for an expression nested too deeply, ValueError for NUL
    bytes on older Pythons) is the cell's syntax error, never the grader's."""
    if len(source) > MAX_CELL_CHARS:
        # Not parsed here: Python's parser needs up to a kilobyte a character.
        return None, SyntaxError(
            f"longer than {MAX_CELL_CHARS:,} characters, more than the grader reads in a cell"
        )
    try:
        return ast.parse(source), None
    except SyntaxError as exc:
        return None, exc
    except (MemoryError, RecursionError) as exc:
        return None, SyntaxError(
            f"too deeply nested or too complex for Python's parser ({type(exc).__name__})"
        )
    except ValueError as exc:
        return None, SyntaxError(str(exc) or "the cell cannot be parsed")


def _notebook(path: Path) -> Any:
    """The notebook as nbformat reads it (version 4), once the file is known to be within
    the limits; SubmissionFileError, saying what and what to do, otherwise."""
    import json

    import nbformat

    not_notebook = "Open it in Jupyter (or VS Code) and save it again, or submit a .py file."
    raw = _read_bounded(path)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = (
            "its JSON is nested too deeply"
            if isinstance(exc, RecursionError | MemoryError)
            else "it is not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else f"it does not appear to be JSON ({_first_line(exc, 120)})"
        )
        raise SubmissionFileError(
            f"{path.name} is not a Jupyter notebook: {reason}", fix=not_notebook
        ) from None
    containers, cells = _shape(data)
    del data
    if containers > MAX_JSON_CONTAINERS:
        raise SubmissionFileError(
            f"{path.name} holds more than {MAX_JSON_CONTAINERS:,} JSON objects and lists, "
            "more than a notebook's code needs",
            fix=_CLEAR,
        )
    if cells > MAX_CELLS:
        raise SubmissionFileError(
            f"{path.name} has {cells:,} cells; the grader reads at most {MAX_CELLS:,}",
            fix="Keep the cells the exercise needs (the function and what it uses), "
            "or submit a .py file.",
        )
    try:
        with warnings.catch_warnings():
            # nbformat's own warnings (a cell without an id) are not the student's report.
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat's NotJSONError, a ValidationError, bad structure
        raise SubmissionFileError(
            f"{path.name} is not a Jupyter notebook: {_first_line(exc, 200)}",
            fix=not_notebook,
        ) from None


def _first_line(exc: BaseException, most: int) -> str:
    """An exception's first line, or its type's name when it says nothing (nbformat
    raises a bare AssertionError for an `nbformat_minor` that is not a number)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else f"{type(exc).__name__} in its format fields")[:most]


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_NOTEBOOK_BYTES; a FIFO or device is
    refused without waiting on it."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SubmissionFileError(
                    f"{path.name} is not a regular file", fix="Submit a notebook saved on disk."
                )
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        raise SubmissionFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise SubmissionFileError(
            f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB, "
            "the most a notebook submission may be",
            fix=_CLEAR,
        )
    return raw


def _shape(data: Any) -> tuple[int, int]:
    """JSON objects and arrays in `data`, and how many of the objects are cells (they have
    a cell_type), by a walk that keeps no stack of Python frames."""
    containers = cells = 0
    todo = [data]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            containers += 1
            cells += "cell_type" in value
            todo.extend(value.values())
        elif isinstance(value, list):
            containers += 1
            todo.extend(value)
        if containers > MAX_JSON_CONTAINERS:
            break
    return containers, cells


def _defines(cell: _Cell, entry: str) -> bool:
    return entry in cell.defines


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _used(node: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _span(node: ast.stmt) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first, node.end_lineno or node.lineno


def _needed(cells: list[_Cell], entry_cell: _Cell, entry: str) -> list[tuple[_Cell, list[int]]]:
    """The statements the entry function needs, by name, up to its own definition."""
    statements: list[tuple[_Cell, _Statement]] = []
    for cell in cells:
        statements += [(cell, statement) for statement in cell.statements or ()]
        if cell is entry_cell:
            break
    # The function as the last cell defining it defines it: every later binding of its name
    # in that cell too (the last one wins, as in the kernel). Every statement that binds a
    # needed name is taken, and the names it uses are needed in turn: a walk over names, in
    # which each statement is looked at once (10,000 cells in a chain take milliseconds).
    binders: dict[str, list[int]] = {}
    for index, (_, statement) in enumerate(statements):
        for name in statement.bound:
            binders.setdefault(name, []).append(index)
    chosen: set[int] = set()
    needed = {entry}
    todo = [entry]
    while todo:
        for index in binders.get(todo.pop(), ()):
            if index in chosen:
                continue
            chosen.add(index)
            for name in statements[index][1].used:
                if name not in needed:
                    needed.add(name)
                    todo.append(name)
    picked: dict[int, list[int]] = {}
    for index in sorted(chosen):
        cell, statement = statements[index]
        picked.setdefault(cell.number, []).extend(range(statement.first, statement.last + 1))
    by_number = {c.number: c for c in cells}
    return [(by_number[n], lines) for n, lines in sorted(picked.items())]


def _module(parts: list[tuple[_Cell, list[int]]], notes: list[str]) -> NotebookModule:
    lines: list[str] = []
    origin: list[tuple[int, int]] = []
    for cell, numbers in parts:
        for number in numbers:
            lines.append(cell.lines[number - 1] if number <= len(cell.lines) else "")
            origin.append((cell.number, number))
    return NotebookModule("\n".join(lines) + "\n", tuple(origin), tuple(notes))


def relocate(report: Report, module: NotebookModule, notebook: Path, shown: str) -> Report:
    """The report with the notebook's cells in place of the module's lines: the load
    error's place, and every traceback line that names the module (shown: its file name)."""
    pattern = re.compile(r'File "' + re.escape(shown) + r'", line (\d+)')
    # What the warnings module prints: /sandbox/io/ex01.py:3: RuntimeWarning: ...
    warning = re.compile(r'(?:[^\s"]*/)?' + re.escape(shown) + r":(\d+):")

    def cited(text: str | None) -> str | None:
        if text is None:
            return None
        text = re.sub(r"\b" + re.escape(shown) + r"\b(?!\")", notebook.name, text)

        def one(match: re.Match[str]) -> str:
            place = module.where(int(match.group(1)))
            if place is None:
                return f'File "{notebook.name}"'
            return f'File "{notebook.name}", cell {place[0]}, line {place[1]}'

        def warned(match: re.Match[str]) -> str:
            place = module.where(int(match.group(1)))
            where = f" (cell {place[0]}, line {place[1]})" if place else ""
            return f"{notebook.name}{where}:"

        return warning.sub(warned, pattern.sub(one, text))

    error = report.error
    if error is not None:
        place = module.where(error.line)
        error = replace(
            error,
            file=f"{notebook} (cell {place[0]})" if place else str(notebook),
            line=place[1] if place else error.line,
            message=cited(error.message) or error.message,
            traceback=cited(error.traceback),
            hint=cited(error.hint),
        )
    tests = tuple(
        replace(t, traceback=cited(t.traceback), output=cited(t.output) or "") for t in report.tests
    )
    notes = tuple(f"{notebook.name}: {n}" for n in module.notes)
    return replace(
        report,
        submission=str(notebook),
        stdout=cited(report.stdout) or "",
        stderr=cited(report.stderr) or "",
        import_output=cited(report.import_output) or "",
        error=error,
        tests=tests,
        notes=report.notes + notes,
    )


__all__ = ["NotebookModule", "read", "relocate"]
