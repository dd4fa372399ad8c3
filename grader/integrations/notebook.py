"""Grading inside Jupyter: `check("ex03")` in a cell grades the function the notebook defines.

A shell over `grading.grade`, beside the CLI. The kernel's objects are never trusted or
passed on: the function is turned back into SOURCE (its cell's text, with the imports,
notebook functions and literal constants it names) and that file is graded by the same
sandbox as `grade ex03 --file`. What cannot be written as source (an array, a DataFrame,
a model) stays in the notebook, and the report says so. The report shows inline as the
same HTML document `grade ex03 --report r.html` writes.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import dis
import html
import inspect
import math
import re
import sys
import tempfile
import textwrap
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course import Course, find_course
from grader.errors import GraderError
from grader.results import Report

#: A constant longer than this, written as Python, is data rather than a setting.
MAX_LITERAL_CHARS = 10_000

_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})


class SourceError(Exception):
    """Why a function cannot be graded from its source: a sentence for the notebook."""


@dataclass(frozen=True)
class Module:
    """A submission built from a notebook: its text, and what was left out of it."""

    source: str
    #: One sentence per global the function names but that is not passed to the grader.
    notes: tuple[str, ...] = ()


def build_module(entry: str, function: Callable[..., Any], *, exercise: str = "") -> Module:
    """The source of a module that defines `entry` as `function` does, from source alone.

    Walks the names the function's code reads from its globals (and those its decorators,
    defaults and annotations name): modules become import lines, objects a module exports
    become `from ... import` lines, notebook functions their own source (once each, their
    dependencies first), literal constants `NAME = <literal>`. Anything else is left out
    with a note. Raises SourceError when the function's source cannot be used."""
    builder = _Builder(_home(entry, function))
    builder.add_function(entry, function)
    return builder.module(entry, exercise)


def _home(entry: str, function: Callable[..., Any]) -> dict[str, Any]:
    inner = _unwrap(function)
    if not isinstance(inner, types.FunctionType):
        raise SourceError(
            f"`{entry}` is {_kind(function)}, not a function written with `def`: the grader "
            "grades the source of a plain function. Define it with `def` in a cell."
        )
    return inner.__globals__


class _Builder:
    def __init__(self, home: dict[str, Any]) -> None:
        #: The globals of the graded function: a function that shares them is the notebook's.
        self.home = home
        self.imports: dict[str, str] = {}
        self.constants: dict[str, str] = {}
        self.functions: list[str] = []
        self.notes: list[str] = []
        self.seen_names: set[str] = set()
        self.seen_functions: set[int] = set()

    def module(self, entry: str, exercise: str) -> Module:
        head = (
            f"# {exercise + ': ' if exercise else ''}`{entry}` and what it uses, as source, "
            "from the notebook\n# (grader.notebook.check); no object of the kernel is passed.\n"
        )
        parts = [head]
        if self.imports:
            lines = sorted(self.imports.values(), key=lambda line: (line.startswith("from"), line))
            parts.append("\n".join(lines) + "\n")
        if self.constants:
            parts.append("\n".join(f"{k} = {v}" for k, v in self.constants.items()) + "\n")
        parts += self.functions
        return Module("\n".join(parts), tuple(self.notes))

    def add_function(self, name: str, function: Callable[..., Any]) -> None:
        """`function`'s source under `name`, after the source of what it uses."""
        inner = _unwrap(function)
        if not isinstance(inner, types.FunctionType):
            raise SourceError(
                f"`{name}` is {_kind(function)}, not a function written with `def`: the "
                "grader needs its source. Define it with `def` in a cell."
            )
        if id(inner) in self.seen_functions:
            self._alias(name, inner)
            return
        self.seen_functions.add(id(inner))
        if "." in inner.__qualname__ or inner.__code__.co_freevars:
            raise SourceError(
                f"`{name}` is defined inside another function or a class, so its source "
                "alone does not define it. Define it at the top level of a cell."
            )
        try:
            text = textwrap.dedent(inspect.getsource(inner))
        except (OSError, TypeError) as exc:
            raise SourceError(
                f"the source of `{name}` cannot be found ({exc}). Define it with `def` in a "
                "cell and run that cell again."
            ) from None
        defined, header = _definition(name, inner, text)
        for used in sorted(_global_names(inner.__code__) | header):
            self.add_global(used, inner.__globals__)
        self.functions.append(text.rstrip("\n") + "\n")
        self._alias(name, inner, defined)

    def _alias(self, name: str, inner: types.FunctionType, defined: str | None = None) -> None:
        defined = defined or inner.__name__
        if name != defined:
            self.functions.append(f"{name} = {defined}\n")

    def add_global(self, name: str, namespace: Mapping[str, Any]) -> None:
        if name in self.seen_names or name not in namespace:
            return  # a builtin, or undefined: the sandbox reports a NameError like the kernel
        self.seen_names.add(name)
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            module = value.__name__
            self.imports[name] = f"import {module}" + (f" as {name}" if name != module else "")
            return
        inner = _unwrap(value)
        if isinstance(inner, types.FunctionType) and inner.__globals__ is self.home:
            self.add_function(name, value)
            return
        imported = _import_line(name, value)
        if imported is not None:
            self.imports[name] = imported
            return
        modules: set[str] = set()
        literal = _literal(value, modules)
        if literal is not None and len(literal) <= MAX_LITERAL_CHARS:
            for module in sorted(modules):
                self.imports.setdefault(module, f"import {module}")
            self.constants[name] = literal
            return
        self.notes.append(
            f"`{name}` ({_kind(value)}) is not passed to the grader: the function must not "
            "depend on notebook state. Compute it inside the function, or pass it as an "
            "argument."
        )


def _unwrap(value: object) -> object:
    """The function a decorator wrapped (functools.wraps), or `value`."""
    if not callable(value):
        return value
    try:
        return inspect.unwrap(value)
    except ValueError:  # a cycle of __wrapped__
        return value


def _definition(name: str, function: types.FunctionType, text: str) -> tuple[str, set[str]]:
    """The name `text` defines, and the globals its decorators, defaults and annotations
    name (evaluated where the function is defined, so absent from its code)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # too deep, NUL bytes...
        tree = None
    statement = tree.body[0] if tree is not None and len(tree.body) == 1 else None
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        a = statement.args
        header: list[ast.AST | None] = [*statement.decorator_list, statement.returns]
        header += [*a.defaults, *a.kw_defaults]
        header += [arg.annotation for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        header += [x.annotation for x in (a.vararg, a.kwarg) if x is not None]
        return statement.name, _names(header)
    if (
        function.__name__ == "<lambda>"
        and isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Lambda)
    ):
        a = statement.value.args
        return statement.targets[0].id, _names([*a.defaults, *a.kw_defaults])
    if function.__name__ == "<lambda>":
        raise SourceError(
            f"`{name}` is a lambda inside a larger statement, so its source cannot be taken "
            f"alone. Write it with `def {name}(...):` in a cell."
        )
    raise SourceError(
        f"the source found for `{name}` is not one function definition. Define it with "
        "`def` in a cell and run that cell again."
    )


def _names(nodes: list[ast.AST | None]) -> set[str]:
    return {
        n.id
        for node in nodes
        if node is not None
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _global_names(code: types.CodeType) -> set[str]:
    """Names the code (and the code nested in it) reads from its globals; attribute names
    (the `log` of `np.log`) are not among them."""
    names = {str(i.argval) for i in dis.get_instructions(code) if i.opname in _GLOBAL_LOADS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _import_line(name: str, value: object) -> str | None:
    """`from math import log as name` for an object a loaded module exports by name."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == "__main__":
        return None
    if not qualname.isidentifier():  # a method (A.f), a lambda, a local function
        return None
    found = sys.modules.get(module)
    if found is None or getattr(found, qualname, None) is not value:
        return None
    return f"from {module} import {qualname}" + (f" as {name}" if name != qualname else "")


def _literal(value: object, modules: set[str]) -> str | None:
    """`value` as a Python literal, for None, bool, int, float, str, bytes, numpy scalars
    and tuples and lists of them; None for anything else. Adds to `modules` what the
    literal needs imported."""
    kind = type(value)
    if value is None or kind in (bool, int, str, bytes):
        return repr(value)
    if isinstance(value, float) and kind is float:
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, tuple | list) and kind in (tuple, list):
        items = [_literal(v, modules) for v in value]
        if any(item is None for item in items):
            return None
        text = ", ".join(item for item in items if item is not None)
        if kind is list:
            return f"[{text}]"
        return f"({text},)" if len(items) == 1 else f"({text})"
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
        modules.add("numpy")  # np.finfo(float).eps is a numpy.float64
        return f"numpy.{kind.__name__}({_literal(value.item(), modules)})"
    return None


def _kind(value: object) -> str:
    """'a numpy.ndarray', 'a dict': what a value is, for a student."""
    kind = type(value)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


# --- check() -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """What `check` shows: the report inline in a notebook, as text in a console.

    The Report stays plain data; this is the notebook's presentation of it, as the CLI is
    the terminal's. `report` is None when nothing was graded, and `message` says why."""

    exercise: str
    report: Report | None
    #: The module the grader ran ('' when nothing was graded): its line numbers are the
    #: ones tracebacks in the report give.
    source: str = ""
    message: str | None = None
    #: The exercise's points, for a check that graded nothing.
    points: float = 0.0

    @property
    def score(self) -> float:
        return self.report.score if self.report is not None else 0.0

    @property
    def max_score(self) -> float:
        return self.report.max_score if self.report is not None else self.points

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.passed

    def html(self) -> str:
        """The HTML report, byte for byte what `grade ID --report r.html` writes."""
        from grader.render.html import render_html

        if self.report is None:
            raise ValueError(self.message or "nothing was graded")
        return render_html(self.report)

    def _repr_html_(self) -> str:
        if self.report is None:
            return _message_html(self.message or "")
        return _isolated(self.html(), f"{self.exercise} report")

    def _repr_markdown_(self) -> str:
        if self.report is None:
            return f"**{self.exercise} was not graded:** {self.message}\n"
        from grader.render.markdown import render_markdown

        return render_markdown(self.report)

    def __repr__(self) -> str:
        if self.report is None:
            return f"{self.exercise} was not graded: {self.message}"
        from grader.render import render_text

        return render_text(self.report).rstrip("\n")


def _isolated(document: str, title: str) -> str:
    """The report document in an iframe: its page styles (body, h1, table) would otherwise
    restyle the whole notebook, since JupyterLab inserts HTML outputs into its own page.
    The frame grows to the report's height, also when a case's details are opened."""
    grow = (
        "var f=this,b=f.contentDocument.body,s=function(){f.style.height=(b.scrollHeight+4)"
        "+'px'};s();if(window.ResizeObserver){new ResizeObserver(s).observe(b)}"
    )
    return (
        f'<iframe class="grader-report" title="{html.escape(title)}" '
        'style="width:100%;height:40rem;border:1px solid #d0d7de;border-radius:6px" '
        f'onload="{html.escape(grow)}" srcdoc="{html.escape(document)}"></iframe>'
    )


def _message_html(message: str) -> str:
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(message))
    return (
        '<div class="grader-message" role="alert" style="border:1px solid #9a6700;'
        'background:#fff8c5;color:#222;border-radius:6px;padding:.6rem 1rem">'
        f"{text}</div>"
    )


def check(
    exercise_id: str,
    *,
    seed: int | None = None,
    course: str | Path | None = None,
    function: Callable[..., Any] | None = None,
) -> CheckResult:
    """Grade the notebook's function for `exercise_id`, in the sandbox, from its source.

    The function is the one the exercise names, looked up in the IPython user namespace
    (or, outside IPython, the caller's globals), unless `function` is given. `course` is
    the directory that holds exercises/ (found as the CLI finds it when None). A fault that
    is not the grader's (no such function, an unknown exercise) is a message, never a
    traceback."""
    caller = sys._getframe(1).f_globals
    try:
        found = find_course(Path(course) if course is not None else None)
        exercise = found.load(exercise_id)
    except GraderError as exc:
        return CheckResult(exercise_id, None, message=str(exc))
    entry = exercise.entry
    fail = _failure(exercise_id, exercise.points)
    if function is None:
        shell = _user_namespace()
        namespace = shell if shell is not None else caller
        if entry.function not in namespace:
            return fail(
                f"`{entry.function}` is not defined: define "
                f"`{entry.function}({', '.join(entry.param_names)})` in a cell and run it "
                "first."
            )
        function = namespace[entry.function]
    try:
        module = build_module(entry.function, function, exercise=exercise_id)
    except SourceError as exc:
        return fail(str(exc))
    try:
        report = _grade(found, exercise_id, module.source, seed)
    except GraderError as exc:
        return fail(str(exc))
    name = getattr(function, "__name__", entry.function)
    report = dataclasses.replace(
        report,
        submission=f"{name}() from the notebook",
        notes=report.notes + module.notes,
    )
    return CheckResult(exercise_id, report, source=module.source, points=exercise.points)


def _failure(exercise: str, points: float) -> Callable[[str], CheckResult]:
    return lambda message: CheckResult(exercise, None, message=message, points=points)


def _user_namespace() -> dict[str, Any] | None:
    """The IPython user namespace when this runs in IPython (a Jupyter kernel included)."""
    ipython = sys.modules.get("IPython")  # never imported here: not loaded, not in IPython
    shell = ipython.get_ipython() if ipython is not None else None
    namespace = getattr(shell, "user_ns", None)
    return namespace if isinstance(namespace, dict) else None


def _grade(course: Course, exercise_id: str, source: str, seed: int | None) -> Report:
    from grader.exercise.grading import grade

    with _submission(exercise_id, source) as path:
        return grade(exercise_id, path, course=course, seed=seed, plot=True)


@contextlib.contextmanager
def _submission(exercise_id: str, source: str) -> Iterator[Path]:
    """The source as a file named like the exercise's (ex03.py), as a student would save it."""
    with tempfile.TemporaryDirectory(prefix="grader-notebook-") as folder:
        path = Path(folder) / f"{exercise_id}.py"
        path.write_text(source, encoding="utf-8")
        yield path


__all__ = ["CheckResult", "Module", "SourceError", "build_module", "check"]
