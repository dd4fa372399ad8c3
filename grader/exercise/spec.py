"""First step of the flow: exercise YAML -> frozen, validated dataclasses.

Reads its YAML through yamlfile.py (line numbers, bounds, the schema step). Every fault is
reported with the file and line it comes from, so an author never has to guess which of
forty cases is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from grader.errors import Problem, SpecError
from grader.exercise.yamlfile import PathKey, Position, locate, read_yaml, schema_problems

#: Command names of the CLI; an exercise may not shadow them.
RESERVED_IDS = frozenset(
    {"list", "show", "start", "doctor", "help", "validate", "selftest", "new", "release"}
    | {"batch", "gradebook", "gradescope", "all", "export"}
)


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
    #: None: derived per case from the time the reference needs (prepare.call_seconds).
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
    #: Why the case exists when it catches no declared mistake (checked by selftest).
    purpose: str | None = None


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation, run by the grader to recognise it in a student's results."""

    id: str
    title: str
    hint: str
    #: None in a release bundle, whose answers were stored at release time.
    implementation: str | None
    where: str
    #: Other ways students write the same mistake (a stable form beside a naive one): the
    #: diagnosis names the mistake when the student's results match any one of them.
    #: Written in the YAML as a list under 'implementation', whose first item is the one
    #: above (selftest grades it, validate checks it).
    alternatives: tuple[str, ...] = ()
    #: The clipping constant's keyword and the range students use, for a mistake that
    #: clips: run over the whole range (None: the exercise's clip, if any).
    clip: Clip | None = None


@dataclass(frozen=True)
class Variant:
    """Another correct implementation (a loop, float32, another clipping constant): selftest
    proves the cases give it full marks, so no correct style is failed."""

    id: str
    implementation: str
    where: str


#: What a submission may import when an exercise does not say.
DEFAULT_PACKAGES = ("numpy",)


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
    #: None in a release bundle (see `release`).
    reference: str | None
    tolerance: Tolerance
    clip: Clip | None
    limits: Limits
    points: float
    cases: tuple[CaseSpec, ...]
    source: Path
    lines: Mapping[PathKey, Position] = field(repr=False, compare=False)
    mistakes: tuple[Mistake, ...] = ()
    plot: Plot | None = None
    variants: tuple[Variant, ...] = ()
    #: Installed packages a submission may import, beside the standard library.
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    #: In a student bundle: the JSON file, relative to the bundle's root, of stored answers.
    release: str | None = None
    #: The hint of a failing case no mistake explains, by finding ('nan', 'infinite',
    #: 'opposite_sign'): advice that depends on the loss (clip probabilities, or use
    #: log-sum-exp on logits); what is missing falls back to feedback.py's default.
    hints: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def where(self, *key: str | int) -> str:
        """'file:line:col' of the nearest written ancestor of a key, for error messages."""
        return locate(self.source, self.lines, tuple(key))

    def graded_with(self) -> list[str]:
        """The solutions/ modules (dotted) that grading calls: the reference's and those of
        every form of every mistake (the diagnosis recognises each). What a class's grade
        depends on, and what a student bundle must not hold."""
        dotted = [self.reference, *(m.implementation for m in self.mistakes)]
        dotted += [d for m in self.mistakes for d in m.alternatives]
        return sorted({d.rsplit(".", 1)[0] for d in dotted if d})


# --- building the dataclasses ----------------------------------------------------------------


def _tolerance(raw: Mapping[str, Any]) -> Tolerance:
    return Tolerance(rtol=float(raw["rtol"]), atol=float(raw["atol"]))


def _case(raw: Mapping[str, Any], default_tol: Tolerance, where: str) -> CaseSpec:
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
        purpose=raw.get("purpose"),
    )


def _clip(raw: Mapping[str, Any]) -> Clip:
    return Clip(str(raw["param"]), float(raw["min"]), float(raw["max"]))


def _implementations(raw: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """A mistake's 'implementation' (one dotted path, or a list of the ways it is written):
    the first, and the others."""
    written = raw.get("implementation")
    if written is None or isinstance(written, str):
        return written, ()
    return str(written[0]), tuple(str(w) for w in written[1:])


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


#: Tolerances outside these bounds fail good code or pass known mistakes.
RTOL_MAX = 0.01


def _tolerance_problems(ex: Exercise) -> list[Problem]:
    found = []
    # A case without a tolerance of its own inherits the exercise's: its problem is the
    # exercise's, reported once where it is written.
    tolerances = [(("tolerance",), ex.tolerance)] + [
        (("cases", i, "tolerance"), c.tolerance)
        for i, c in enumerate(ex.cases)
        if ("cases", i, "tolerance") in ex.lines
    ]
    for key, tol in tolerances:
        if tol.rtol == 0 and tol.atol == 0:
            found.append(
                Problem(
                    ex.where(*key),
                    "rtol and atol are both 0: only bit-identical results would pass",
                    "Allow float rounding, e.g. rtol: 1.0e-6 (float32 arithmetic needs 1.0e-4).",
                )
            )
        elif tol.rtol > RTOL_MAX:
            found.append(
                Problem(
                    ex.where(*key),
                    f"rtol {tol.rtol:g} accepts errors above {RTOL_MAX:.0%}, enough to pass "
                    "known mistakes",
                    f"Use rtol <= {RTOL_MAX:g}; 1.0e-4 accepts float32 arithmetic.",
                )
            )
    return found


def _source_problems(ex: Exercise) -> list[Problem]:
    """A course's exercise names its solutions; a bundle's names its stored answers."""
    found = []
    if ex.release is None:
        if ex.reference is None:
            found.append(
                Problem(
                    ex.where(),
                    "(top level): missing key 'reference'",
                    "Name the reference: reference: solutions.<module>.<function>.",
                )
            )
        for i, mistake in enumerate(ex.mistakes):
            if mistake.implementation is None:
                found.append(
                    Problem(
                        ex.where("mistakes", i),
                        f"mistakes[{i}]: missing key 'implementation'",
                        "Name the wrong function: solutions.<module>.<function>.",
                    )
                )
        return found
    held = [("reference", ex.reference is not None), ("variants", bool(ex.variants))]
    held += [("hidden cases", any(c.visibility is Visibility.HIDDEN for c in ex.cases))]
    for what, present in held:
        if present:
            found.append(
                Problem(
                    ex.where("release"),
                    f"a released exercise may not have {what}",
                    "Release files are written by 'grade release'; edit the course's own file.",
                )
            )
    return found


def _problems(ex: Exercise) -> list[Problem]:
    """Consistency rules a schema cannot state: every one checked, every problem kept."""
    found: list[Problem] = []

    def add(where: str, what: str, fix: str | None = None) -> None:
        found.append(Problem(where, what, fix))

    if ex.id != ex.source.stem:
        add(
            ex.where("id"),
            f"id {ex.id!r} does not match the file name {ex.source.name!r}",
            f"Rename the file to {ex.id}.yaml or set id: {ex.source.stem}.",
        )
    found += _source_problems(ex)
    if ex.id in RESERVED_IDS:
        add(ex.where("id"), f"id {ex.id!r} is a command of 'grade'", "Choose another id.")
    names = ex.entry.param_names
    if len(set(names)) != len(names):
        add(ex.where("entry", "params"), "parameter names repeat", "Give each its own name.")
    if ex.clip is not None and ex.clip.min > ex.clip.max:
        add(ex.where("clip"), "clip.min is larger than clip.max", "Swap them.")
    for i, mistake in enumerate(ex.mistakes):
        if mistake.clip is not None and mistake.clip.min > mistake.clip.max:
            add(ex.where("mistakes", i, "clip"), "clip.min is larger than clip.max", "Swap them.")
    found += _tolerance_problems(ex)
    seen: set[str] = set()
    for i, case in enumerate(ex.cases):
        if case.name in seen:
            add(
                ex.where("cases", i, "name"),
                f"two cases are named {case.name!r}",
                "Give every case its own name: students see it.",
            )
        seen.add(case.name)
        if case.args is not None and set(case.args) != set(names):
            add(
                ex.where("cases", i, "args"),
                f"args give {sorted(case.args)} but the function takes {list(names)}",
                "Give one literal input per parameter.",
            )
        unknown = set(case.dtype) - set(names)
        if unknown:
            add(
                ex.where("cases", i, "dtype"),
                f"dtype names unknown parameter(s) {sorted(unknown)}",
                f"Use the parameter names: {', '.join(names)}.",
            )
        if case.compare is Compare.CLIP_RANGE and ex.clip is None:
            add(
                ex.where("cases", i, "compare"),
                "compare: clip_range needs a top-level 'clip' section",
                "Declare clip: {param: eps, min: 2.220446049250313e-16, max: 1.0e-5}.",
            )
        if case.expect is not None and case.generate is not None:
            add(
                ex.where("cases", i, "expect"),
                "'expect' is only meaningful with literal 'args'",
                "Remove 'expect', or give literal args.",
            )
        if case.repeat > 1 and case.generate is None:
            add(
                ex.where("cases", i, "repeat"),
                "'repeat' needs 'generate': literal args would repeat the same case",
                "Remove 'repeat'.",
            )
    if ex.plot is not None:
        for i, series in enumerate(ex.plot.series):
            if set(series.args) != set(names):
                add(
                    ex.where("plot", "series", i, "args"),
                    f"plot args give {sorted(series.args)} but the function takes {list(names)}",
                    'Give one literal input per parameter; "x" marks the swept value.',
                )
    for key, items in (("mistakes", ex.mistakes), ("variants", ex.variants)):
        ids = [m.id for m in items]
        for i, item_id in enumerate(ids):
            if item_id in ids[:i]:
                add(
                    ex.where(key, i, "id"),
                    f"two {key} have the id {item_id!r}",
                    f"Give every one of the {key} its own id.",
                )
    if len(set(ex.packages)) != len(ex.packages):
        add(ex.where("packages"), "a package is listed twice", "List each package once.")
    total = sum(c.points * c.repeat for c in ex.cases)
    if abs(total - ex.points) > 1e-9:
        add(
            ex.where("points"),
            f"points is {ex.points:g} but the cases add up to {total:g}",
            "Make 'points' the sum of the case points (a repeated case counts each time).",
        )
    return found


def build_exercise(
    data: Mapping[str, Any], source: Path, lines: Mapping[PathKey, Position]
) -> Exercise:
    """The dataclasses of data that passed the schema."""
    tolerance = _tolerance(data["tolerance"])
    entry = data["entry"]
    clip = data.get("clip")
    return Exercise(
        id=data["id"],
        title=data["title"],
        statement=data["statement"],
        entry=Entry(
            function=entry["function"],
            params=tuple(Param(p["name"], p["description"]) for p in entry["params"]),
            returns=entry["returns"],
        ),
        reference=data.get("reference"),
        tolerance=tolerance,
        clip=_clip(clip) if clip else None,
        limits=Limits(**data.get("limits", {})),
        points=float(data["points"]),
        cases=tuple(
            _case(raw, tolerance, locate(source, lines, ("cases", i)))
            for i, raw in enumerate(data["cases"])
        ),
        source=source,
        lines=MappingProxyType(dict(lines)),
        mistakes=tuple(
            Mistake(
                id=raw["id"],
                title=raw["title"],
                hint=raw["hint"],
                implementation=_implementations(raw)[0],
                where=locate(source, lines, ("mistakes", i)),
                alternatives=_implementations(raw)[1],
                clip=_clip(raw["clip"]) if "clip" in raw else None,
            )
            for i, raw in enumerate(data.get("mistakes", []))
        ),
        plot=_plot(data["plot"]) if "plot" in data else None,
        variants=tuple(
            Variant(
                id=raw["id"],
                implementation=raw["implementation"],
                where=locate(source, lines, ("variants", i, "implementation")),
            )
            for i, raw in enumerate(data.get("variants", []))
        ),
        packages=tuple(data.get("packages", DEFAULT_PACKAGES)),
        release=data.get("release"),
        hints=MappingProxyType(dict(data.get("hints", {}))),
    )


def parse_exercise(source: Path) -> tuple[Exercise, dict[str, Any], dict[PathKey, Position]]:
    """Read, validate and freeze one exercise file; the plain data and positions come too,
    for a cache of files already validated. Raises SpecError with every problem found."""
    data, lines = read_yaml(source)
    problems = schema_problems(data, source, lines)
    if problems:  # the rules below read the keys the schema checks
        raise SpecError(problems=problems)
    return exercise_from(data, source, lines), data, lines


def exercise_from(
    data: Mapping[str, Any], source: Path, lines: Mapping[PathKey, Position]
) -> Exercise:
    """The exercise of data that passed the schema, its own rules checked."""
    exercise = build_exercise(data, source, lines)
    problems = _problems(exercise)
    if problems:
        raise SpecError(problems=problems)
    return exercise


def load_exercise(source: Path) -> Exercise:
    """Read, validate and freeze one exercise file."""
    return parse_exercise(source)[0]
