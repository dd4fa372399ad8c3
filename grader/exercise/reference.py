"""Reference step of the flow: trusted solutions, and known mistakes, run in the grader.

Both are loaded from the course's solutions/ directory by file path, so they need not be
importable (and must never be: student code may not reach them).
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import ReferenceSolutionError, raised
from grader.exercise.cases import Case
from grader.exercise.compare import Expected
from grader.exercise.spec import Clip, Compare, Exercise, Mistake, Variant

Reference = Callable[..., Any]


def load_function(course_root: Path, dotted: str, where: str) -> Reference:
    """The function a dotted path 'solutions.<module>.<function>' names."""
    *parts, function = dotted.split(".")
    path = course_root.joinpath(*parts).with_suffix(".py")
    if not path.is_file():
        raise ReferenceSolutionError(
            f"module {path} does not exist", where=where, fix=f"Fix the path {dotted!r}."
        )
    name = "_grader_solutions_" + "_".join(parts[1:])
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != str(path):
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec is not None
        assert module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise ReferenceSolutionError(
                f"module {path} failed to import: {type(exc).__name__}: {exc}", where=where
            ) from exc
    fn = getattr(module, function, None)
    if not callable(fn):
        raise ReferenceSolutionError(
            f"{path} has no function {function!r}", where=where, fix=f"Fix {dotted!r}."
        )
    return fn  # type: ignore[no-any-return]


def load_reference(exercise: Exercise, course_root: Path) -> Reference:
    """The reference function named by the exercise's 'reference'."""
    if exercise.reference is None:
        raise ReferenceSolutionError("the exercise names no reference", where=exercise.where())
    return load_function(course_root, exercise.reference, exercise.where("reference"))


def load_mistakes(exercise: Exercise, course_root: Path) -> list[tuple[Mistake, Reference]]:
    return [
        (m, load_function(course_root, m.implementation, m.where))
        for m in exercise.mistakes
        if m.implementation is not None
    ]


def load_mistake_forms(
    exercise: Exercise, course_root: Path
) -> list[tuple[Mistake, tuple[Reference, ...]]]:
    """Every way each mistake is written (see Mistake.alternatives), the declared one first;
    a fault names the list item it comes from."""
    found = []
    for i, m in enumerate(exercise.mistakes):
        if m.implementation is None:
            continue
        first = load_function(course_root, m.implementation, m.where)
        others = tuple(
            load_function(course_root, dotted, exercise.where("mistakes", i, "implementation", j))
            for j, dotted in enumerate(m.alternatives, start=1)
        )
        found.append((m, (first, *others)))
    return found


def load_variants(exercise: Exercise, course_root: Path) -> list[tuple[Variant, Reference]]:
    return [(v, load_function(course_root, v.implementation, v.where)) for v in exercise.variants]


def narrow(array: np.ndarray) -> bool:
    """A floating-point array less precise than float64 (float32, float16)."""
    return array.dtype.kind == "f" and array.dtype.itemsize < 8


def has_narrow_inputs(case: Case) -> bool:
    """Whether the case gives some input in float32 (or less): only there does a
    computation in float64 differ from one in the input's dtype."""
    return any(narrow(a) for a in case.args.values())


def _call(
    fn: Reference, case: Case, keywords: Mapping[str, float] | None = None, *, widen: bool = False
) -> float:
    # Fresh, writable copies; widened, the float64 a student's np.asarray(x, dtype=float) makes.
    args = [
        np.array(a, dtype=np.float64) if widen and narrow(a) else np.array(a)
        for a in case.args.values()
    ]
    return float(fn(*args, **(keywords or {})))


def _accepts(fn: Reference, keyword: str) -> bool:
    try:
        return keyword in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


#: What every fault of the reference on a case tells the person who reads it: a student
#: must learn it is not their doing, an author how to find such inputs before students do.
COURSE_FAULT = (
    "A fault of the course, not of any submission (none is graded with it): fix the "
    "reference or the case; 'grade validate' tries many seeds to find such inputs."
)


def expected_for(
    exercise: Exercise, reference: Reference, case: Case, *, seed: int | None = None
) -> Expected:
    """The reference's answer to a case: a value, or the interval the clipping range allows.

    The reference is the course's code: whatever it raises, or a value that is not finite,
    is a ReferenceSolutionError naming the case and the seed that drew it, never charged
    to the submission being graded (nor shown as a bug of the grader)."""
    name = exercise.reference or "the reference"
    drawn = f" (seed {seed})" if seed is not None else ""
    try:
        if case.spec.compare is Compare.CLIP_RANGE:
            assert exercise.clip is not None
            ends = [
                _call(reference, case, {exercise.clip.param: eps})
                for eps in (exercise.clip.min, exercise.clip.max)
            ]
            answer = Expected(min(ends), max(ends))
        else:
            answer = Expected.exact(_call(reference, case))
    except Exception as exc:  # trusted code, but it may still fail on an input it was given
        raise ReferenceSolutionError(
            f"the reference {name} raised {raised(exc)} on case {case.name!r}{drawn}",
            where=case.spec.where,
            fix=COURSE_FAULT,
        ) from exc
    if not (math.isfinite(answer.low) and math.isfinite(answer.high)):
        value = answer.low if not math.isfinite(answer.low) else answer.high
        raise ReferenceSolutionError(
            f"the reference {name} gave {value} on case {case.name!r}{drawn}: a reference "
            "must be finite on every input",
            where=case.spec.where,
            fix=COURSE_FAULT,
        )
    return answer


def mistake_answer(
    exercise: Exercise,
    mistake: Reference,
    case: Case,
    *,
    widen: bool = False,
    clip: Clip | None = None,
) -> Expected | None:
    """What a known mistake gives on a case (NaN and infinity included: some mistakes are
    exactly that); None where it cannot run on that input. `widen`: computed from the
    inputs converted to float64 first, as students often do, where float32 inputs would
    overflow (exp above 88.72) or round (1 - 1e-7) sooner. `clip`: the mistake's own range
    of clipping constants (Mistake.clip), else the exercise's."""
    clip = clip if clip is not None else exercise.clip
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # Any clipping constant in the accepted range is the student's right, and some
            # mistakes (hard predictions, a clipped sigmoid) make the loss hinge on it:
            # answer for all of them.
            if clip is not None and _accepts(mistake, clip.param):
                ends = [
                    _call(mistake, case, {clip.param: eps}, widen=widen)
                    for eps in (clip.min, clip.max)
                ]
                return Expected(min(ends), max(ends))
            return Expected.exact(_call(mistake, case, widen=widen))
    except Exception:  # a mistake that does not apply to this input (an index out of range)
        return None


def reference_value(reference: Reference, arrays: dict[str, np.ndarray]) -> float:
    """The reference on plain inputs (the plot's sweep), with its default clipping."""
    return float(reference(*[np.array(a) for a in arrays.values()]))
