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

Every line of the module remembers its cell (its position in the notebook, from 1, as
Jupyter lists cells) and its line there, so that the report cites "cell 4, line 2".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.results import Report


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


@dataclass(frozen=True)
class _Cell:
    number: int
    lines: list[str]  # magics blanked out, so that line numbers stay the cell's
    tree: ast.Module | None
    error: SyntaxError | None


def read(path: Path, entry: str) -> NotebookModule:
    """The module of the notebook at path; GraderError when it is not a notebook."""
    cells, notes = _code_cells(path)
    # The last cell that defines the function, or that tries to and does not parse: the
    # student's latest version (a kernel would keep an older one when the newest fails).
    candidates = [
        c
        for c in cells
        if _defines(c, entry) or (c.error is not None and f"def {entry}" in "\n".join(c.lines))
    ]
    if not candidates:
        # An empty module: the child reports the missing function, as for a .py file.
        numbers = ", ".join(str(c.number) for c in cells) or "none"
        notes.append(f"no code cell defines {entry} (code cells: {numbers})")
        return _module([], notes)
    latest = candidates[-1]
    if latest.error is not None:
        # Taken as it is, so that the syntax error comes back with its cell and line.
        return _module([(latest, list(range(1, len(latest.lines) + 1)))], notes)
    chosen = _needed(cells, latest, entry)
    for cell in cells:
        if cell.error is not None:
            notes.append(
                f"cell {cell.number} does not parse (line {cell.error.lineno}: "
                f"{cell.error.msg}); it was left out"
            )
    return _module(chosen, notes)


def _code_cells(path: Path) -> tuple[list[_Cell], list[str]]:
    import nbformat

    try:
        notebook: Any = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise GraderError(f"cannot read {path}: {exc.strerror}") from None
    except Exception as exc:  # nbformat's NotJSONError, a ValidationError, bad structure
        raise GraderError(
            f"{path.name} is not a Jupyter notebook: {str(exc).splitlines()[0][:200]}",
            fix="Open it in Jupyter (or VS Code) and save it again, or submit a .py file.",
        ) from None
    cells: list[_Cell] = []
    notes: list[str] = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        if isinstance(text, list):
            text = "".join(text)
        lines = str(text).splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"cell {number} is a cell magic ({lines[0].strip()[:40]}); left out")
            continue
        for index, line in enumerate(lines):
            if line.lstrip().startswith(("%", "!")):
                notes.append(f"cell {number}, line {index + 1}: {line.strip()[:60]} left out")
                lines[index] = ""
        try:
            tree: ast.Module | None = ast.parse("\n".join(lines) + "\n")
            error = None
        except SyntaxError as exc:
            tree, error = None, exc
        cells.append(_Cell(number, lines, tree, error))
    return cells, notes


def _defines(cell: _Cell, entry: str) -> bool:
    return cell.tree is not None and any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry
        for node in cell.tree.body
    )


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


def _span(node: ast.stmt) -> range:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return range(first, (node.end_lineno or node.lineno) + 1)


def _needed(cells: list[_Cell], entry_cell: _Cell, entry: str) -> list[tuple[_Cell, list[int]]]:
    """The statements the entry function needs, by name, up to its own definition."""
    statements: list[tuple[_Cell, ast.stmt]] = []
    for cell in cells:
        if cell.tree is not None:
            statements += [(cell, node) for node in cell.tree.body]
        if cell is entry_cell:
            break
    # The function as the last cell defining it defines it: every later binding of its name
    # in that cell too (the last one wins, as in the kernel).
    needed = {entry}
    chosen: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, (_, node) in enumerate(statements):
            if index in chosen or not (_bound(node) & needed):
                continue
            chosen.add(index)
            changed = True
            needed |= _used(node)
    picked: dict[int, list[int]] = {}
    for index in sorted(chosen):
        cell, node = statements[index]
        picked.setdefault(cell.number, []).extend(_span(node))
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
