"""First step of the flow: exercise YAML -> frozen, validated dataclasses.

The only module that reads YAML. Every fault is reported with the file and line it comes
from, so an author never has to guess which of forty cases is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from grader.errors import SpecError

#: Command names of the CLI; an exercise may not shadow them.
RESERVED_IDS = frozenset({"list", "show", "start", "doctor", "help", "validate", "selftest", "new"})

YAML_HELP = "See 'Exercise YAML reference' in README.md."

PathKey = tuple[str | int, ...]


class CaseKind(str, Enum):
    FIXED = "fixed"
    RANDOM = "random"
    EDGE = "edge"


class Visibility(str, Enum):
    VISIBLE = "visible"
    HIDDEN = "hidden"


class Compare(str, Enum):
    """How a case's result is judged against the reference."""

    VALUE = "value"
    #: Predictions of exactly 0 or 1: any clipping constant in the exercise's range is right,
    #: so the result must lie between the reference at the two ends of that range.
    CLIP_RANGE = "clip_range"


@dataclass(frozen=True)
class Tolerance:
    """numpy.isclose semantics: |got - expected| <= atol + rtol * |expected|."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Param:
    name: str
    description: str


@dataclass(frozen=True)
class Entry:
    """The function the student writes; called with the params positionally, in order."""

    function: str
    params: tuple[Param, ...]
    returns: str

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def signature(self) -> str:
        return f"def {self.function}({', '.join(self.param_names)}):"


@dataclass(frozen=True)
class Clip:
    """The keyword of the reference that takes the clipping constant, and the accepted range."""

    param: str
    min: float
    max: float


@dataclass(frozen=True)
class Limits:
    #: None: derived per case from the time the reference needs (grading.call_seconds).
    seconds_per_case: float | None = None
    #: Every call of a submission together; a submission that hangs is done within it.
    seconds_total: float = 20.0
    memory_mb: int = 1024
    output_kb: int = 64


@dataclass(frozen=True)
class Generate:
    """A named generator of cases.py and the options it is called with."""

    generator: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class CaseSpec:
    """A case as the author wrote it; `repeat` > 1 makes several concrete cases."""

    name: str
    kind: CaseKind
    points: float
    visibility: Visibility
    compare: Compare
    tolerance: Tolerance
    args: Mapping[str, Any] | None
    dtype: Mapping[str, str]
    generate: Generate | None
    repeat: int
    expect: float | None
    hint: str | None
    where: str


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation, run by the grader to recognise it in a student's results."""

    id: str
    title: str
    hint: str
    implementation: str
    where: str


@dataclass(frozen=True)
class PlotSeries:
    label: str
    #: Literal args in which the strings "x" and "1-x" stand for the swept value.
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Plot:
    x_label: str
    start: float
    stop: float
    points: int
    series: tuple[PlotSeries, ...]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    statement: str
    entry: Entry
    reference: str
    tolerance: Tolerance
    clip: Clip | None
    limits: Limits
    points: float
    cases: tuple[CaseSpec, ...]
    source: Path
    lines: Mapping[PathKey, int] = field(repr=False, compare=False)
    mistakes: tuple[Mistake, ...] = ()
    plot: Plot | None = None

    def where(self, *key: str | int) -> str:
        """'file:line' of the nearest written ancestor of a key, for error messages."""
        path: PathKey = tuple(key)
        while path and path not in self.lines:
            path = path[:-1]
        return f"{self.source}:{self.lines.get(path, 1)}"


# --- YAML with line numbers ------------------------------------------------------------------


#: libyaml's parser where PyYAML was built with it: five times faster on our files.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe loader that reads 1e-7 as a number (YAML 1.1 would read it as text)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _node_lines(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], source: Path) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise SpecError(
                    f"duplicate key {key!r}",
                    where=f"{source}:{key_node.start_mark.line + 1}",
                    fix="Each key may appear once in a mapping; remove or rename one of them.",
                )
            seen.add(key)
            _node_lines(value_node, (*path, key), lines, source)
            key_path: PathKey = (*path, key)
            lines[key_path] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), lines, source)


def read_yaml(source: Path) -> tuple[Any, dict[PathKey, int]]:
    """Parse one YAML file into plain data and a map from key paths to line numbers."""
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read the file: {exc}", where=str(source)) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError("the file is empty", where=f"{source}:1", fix=YAML_HELP)
        lines: dict[PathKey, int] = {}
        _node_lines(node, (), lines, source)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"invalid YAML: {problem}",
            where=f"{source}:{line}",
            fix="Check indentation and quoting near that line.",
        ) from None
    finally:
        loader.dispose()
    return data, lines


# --- schema ----------------------------------------------------------------------------------


def schema() -> dict[str, Any]:
    """The published JSON Schema of an exercise file."""
    text = resources.files("grader").joinpath("schema/exercise.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_error(error: jsonschema.ValidationError) -> tuple[PathKey, str]:
    """The most useful path and sentence for a schema violation."""
    # oneOf failures hide the real cause in their context; pick the deepest.
    if error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            error = deepest
    path: PathKey = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # Point at the unexpected key itself, not at the mapping that holds it.
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        extra = sorted(set(error.instance) - known)
        if extra:
            return (*path, extra[0]), (
                f"{_format_path((*path, extra[0]))}: unknown key {extra[0]!r}"
                + (f" (expected one of: {', '.join(sorted(known))})" if known else "")
            )
    if error.validator == "oneOf" and path and path[0] == "cases":
        return path, "a case needs exactly one of 'args' (literal inputs) or 'generate'"
    return path, f"{_format_path(path)}: {error.message}"


def _validate_schema(data: Any, source: Path, lines: Mapping[PathKey, int]) -> None:
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    path, message = _schema_error(errors[0])
    probe = path
    while probe and probe not in lines:
        probe = probe[:-1]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    raise SpecError(message + more, where=f"{source}:{lines.get(probe, 1)}", fix=YAML_HELP)


# --- building the dataclasses ----------------------------------------------------------------


def _tolerance(raw: Mapping[str, Any]) -> Tolerance:
    return Tolerance(rtol=float(raw["rtol"]), atol=float(raw["atol"]))


def _case(raw: Mapping[str, Any], index: int, default_tol: Tolerance, where: str) -> CaseSpec:
    generate = None
    if "generate" in raw:
        options = {k: v for k, v in raw["generate"].items() if k != "generator"}
        generate = Generate(str(raw["generate"]["generator"]), MappingProxyType(options))
    kind = raw.get("kind", "random" if generate else "fixed")
    return CaseSpec(
        name=str(raw["name"]),
        kind=CaseKind(kind),
        points=float(raw.get("points", 1)),
        visibility=Visibility(raw.get("visibility", "visible")),
        compare=Compare(raw.get("compare", "value")),
        tolerance=_tolerance(raw["tolerance"]) if "tolerance" in raw else default_tol,
        args=MappingProxyType(dict(raw["args"])) if "args" in raw else None,
        dtype=MappingProxyType(dict(raw.get("dtype", {}))),
        generate=generate,
        repeat=int(raw.get("repeat", 1)),
        expect=float(raw["expect"]) if "expect" in raw else None,
        hint=raw.get("hint"),
        where=where,
    )


def _plot(raw: Mapping[str, Any]) -> Plot:
    x = raw.get("x", {})
    return Plot(
        x_label=raw["x_label"],
        start=float(x.get("start", 0.0)),
        stop=float(x.get("stop", 1.0)),
        points=int(x.get("points", 101)),
        series=tuple(
            PlotSeries(s["label"], MappingProxyType(dict(s["args"]))) for s in raw["series"]
        ),
    )


def _check(ex: Exercise) -> None:
    """Consistency rules a schema cannot state."""
    if ex.id != ex.source.stem:
        raise SpecError(
            f"id {ex.id!r} does not match the file name {ex.source.name!r}",
            where=ex.where("id"),
            fix=f"Rename the file to {ex.id}.yaml or set id: {ex.source.stem}.",
        )
    if ex.id in RESERVED_IDS:
        raise SpecError(
            f"id {ex.id!r} is a command of 'grade'",
            where=ex.where("id"),
            fix="Choose another id.",
        )
    names = ex.entry.param_names
    if len(set(names)) != len(names):
        raise SpecError("parameter names repeat", where=ex.where("entry", "params"))
    if ex.clip is not None and ex.clip.min > ex.clip.max:
        raise SpecError("clip.min is larger than clip.max", where=ex.where("clip"))
    seen: set[str] = set()
    for i, case in enumerate(ex.cases):
        if case.name in seen:
            raise SpecError(
                f"two cases are named {case.name!r}",
                where=case.where,
                fix="Give every case its own name: students see it.",
            )
        seen.add(case.name)
        if case.args is not None and set(case.args) != set(names):
            raise SpecError(
                f"args give {sorted(case.args)} but the function takes {list(names)}",
                where=ex.where("cases", i, "args"),
                fix="Give one literal input per parameter.",
            )
        unknown = set(case.dtype) - set(names)
        if unknown:
            raise SpecError(
                f"dtype names unknown parameter(s) {sorted(unknown)}",
                where=ex.where("cases", i, "dtype"),
            )
        if case.compare is Compare.CLIP_RANGE and ex.clip is None:
            raise SpecError(
                "compare: clip_range needs a top-level 'clip' section",
                where=ex.where("cases", i, "compare"),
                fix="Declare clip: {param: eps, min: 2.220446049250313e-16, max: 1.0e-5}.",
            )
        if case.expect is not None and case.generate is not None:
            raise SpecError(
                "'expect' is only meaningful with literal 'args'",
                where=ex.where("cases", i, "expect"),
            )
        if case.repeat > 1 and case.generate is None:
            raise SpecError(
                "'repeat' needs 'generate': literal args would repeat the same case",
                where=ex.where("cases", i, "repeat"),
            )
    if ex.plot is not None:
        for i, series in enumerate(ex.plot.series):
            if set(series.args) != set(names):
                raise SpecError(
                    f"plot args give {sorted(series.args)} but the function takes {list(names)}",
                    where=ex.where("plot", "series", i, "args"),
                    fix='Give one literal input per parameter; "x" marks the swept value.',
                )
    ids = [m.id for m in ex.mistakes]
    for i, mistake_id in enumerate(ids):
        if mistake_id in ids[:i]:
            raise SpecError(
                f"two mistakes have the id {mistake_id!r}",
                where=ex.where("mistakes", i, "id"),
                fix="Give every mistake its own id.",
            )
    total = sum(c.points * c.repeat for c in ex.cases)
    if abs(total - ex.points) > 1e-9:
        raise SpecError(
            f"points is {ex.points:g} but the cases add up to {total:g}",
            where=ex.where("points"),
            fix="Make 'points' the sum of the case points (a repeated case counts each time).",
        )


def load_exercise(source: Path) -> Exercise:
    """Read, validate and freeze one exercise file."""
    data, lines = read_yaml(source)
    _validate_schema(data, source, lines)
    tolerance = _tolerance(data["tolerance"])
    entry = data["entry"]
    clip = data.get("clip")
    exercise = Exercise(
        id=data["id"],
        title=data["title"],
        statement=data["statement"],
        entry=Entry(
            function=entry["function"],
            params=tuple(Param(p["name"], p["description"]) for p in entry["params"]),
            returns=entry["returns"],
        ),
        reference=data["reference"],
        tolerance=tolerance,
        clip=Clip(clip["param"], float(clip["min"]), float(clip["max"])) if clip else None,
        limits=Limits(**data.get("limits", {})),
        points=float(data["points"]),
        cases=tuple(
            _case(raw, i, tolerance, f"{source}:{lines.get(('cases', i), 1)}")
            for i, raw in enumerate(data["cases"])
        ),
        source=source,
        lines=MappingProxyType(lines),
        mistakes=tuple(
            Mistake(
                id=raw["id"],
                title=raw["title"],
                hint=raw["hint"],
                implementation=raw["implementation"],
                where=f"{source}:{lines.get(('mistakes', i), 1)}",
            )
            for i, raw in enumerate(data.get("mistakes", []))
        ),
        plot=_plot(data["plot"]) if "plot" in data else None,
    )
    _check(exercise)
    return exercise
