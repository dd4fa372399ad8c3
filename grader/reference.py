"""Reference step of the flow: trusted solutions, run in the grader's own process.

References are loaded from the course's solutions/ directory by file path, so they need not
be importable (and must never be: student code may not reach them).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grader.cases import Case
from grader.compare import Expected
from grader.errors import ReferenceSolutionError
from grader.spec import Compare, Exercise

Reference = Callable[..., Any]


def load_reference(exercise: Exercise, course_root: Path) -> Reference:
    """The reference function named by the exercise's dotted 'reference' path."""
    *parts, function = exercise.reference.split(".")
    path = course_root.joinpath(*parts).with_suffix(".py")
    where = exercise.where("reference")
    if not path.is_file():
        raise ReferenceSolutionError(
            f"reference module {path} does not exist", where=where, fix="Fix 'reference'."
        )
    name = "_grader_reference_" + "_".join(parts[1:])
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise ReferenceSolutionError(
            f"reference module {path} failed to import: {type(exc).__name__}: {exc}",
            where=where,
        ) from exc
    fn = getattr(module, function, None)
    if not callable(fn):
        raise ReferenceSolutionError(
            f"{path} has no function {function!r}", where=where, fix="Fix 'reference'."
        )
    return fn  # type: ignore[no-any-return]


def _call(reference: Reference, case: Case, **kwargs: float) -> float:
    args = [np.array(a) for a in case.args.values()]  # fresh, writable copies
    value = float(reference(*args, **kwargs))
    if not math.isfinite(value):
        raise ReferenceSolutionError(
            f"the reference gave {value} on case {case.name!r}",
            where=case.spec.where,
            fix="The case or the reference is wrong: a reference must be finite everywhere.",
        )
    return value


def expected_for(exercise: Exercise, reference: Reference, case: Case) -> Expected:
    """The reference's answer to a case: a value, or the interval the clipping range allows."""
    if case.spec.compare is Compare.CLIP_RANGE:
        assert exercise.clip is not None
        ends = [
            _call(reference, case, **{exercise.clip.param: eps})
            for eps in (exercise.clip.min, exercise.clip.max)
        ]
        return Expected(min(ends), max(ends))
    return Expected.exact(_call(reference, case))
