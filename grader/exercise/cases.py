"""Second step of the flow: an exercise's case specs -> concrete numpy inputs.

Fixed cases come from literal YAML; random and large cases from the named, seeded generators
below. Each concrete case draws from its own stream, keyed by the run's seed and the case's
name, so adding, removing or moving a case never changes the inputs of another (a release
without the hidden cases draws the same visible inputs) and a seed reproduces a run.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from grader.errors import SpecError
from grader.exercise.spec import CaseSpec, Exercise

Arrays = dict[str, np.ndarray]
GeneratorFn = Callable[..., Arrays]

GENERATORS: dict[str, GeneratorFn] = {}

_FLOAT_DTYPES = ("float16", "float32", "float64")
#: What real data hands a loss: labels and targets often come as integers (a pandas column,
#: a dataset's label array), and code that builds its accumulator with zeros_like(y_true)
#: truncates every loss term to an integer on them.
_INT_DTYPES = ("int32", "int64")


def _register(fn: GeneratorFn) -> GeneratorFn:
    GENERATORS[fn.__name__] = fn
    return fn


#: Larger inputs would take the grader's memory and a student's patience, not test more.
MAX_SIZE = 1_000_000


def _draw_size(rng: np.random.Generator, n: int | list[int], what: str) -> int:
    """An int, or log-uniform in [lo, hi] so that small and large sizes are both common."""
    if isinstance(n, int) and not isinstance(n, bool):
        if not 1 <= n <= MAX_SIZE:
            raise ValueError(f"{what} must be from 1 to {MAX_SIZE:,}, got {n}")
        return n
    if (
        not isinstance(n, list)
        or len(n) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in n)
        or not 1 <= n[0] <= n[1] <= MAX_SIZE
    ):
        bounds = f"1 <= low <= high <= {MAX_SIZE:,}"
        raise ValueError(f"{what} must be an int or [low, high] with {bounds}, got {n!r}")
    lo, hi = np.log(n[0]), np.log(n[1] + 1)
    return int(min(n[1], max(n[0], np.floor(np.exp(rng.uniform(lo, hi))))))


def _float_dtype(dtype: str) -> np.dtype[Any]:
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_FLOAT_DTYPES)}, got {dtype!r}")
    return np.dtype(dtype)


def _label_dtype(label_dtype: str | None, dtype: np.dtype[Any], what: str) -> np.dtype[Any]:
    """The dtype of labels or targets: the predictions' by default, or an integer type."""
    if label_dtype is None:
        return dtype
    allowed = _FLOAT_DTYPES + _INT_DTYPES
    if label_dtype not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, got {label_dtype!r}")
    return np.dtype(label_dtype)


def _stochastic_rows(
    rng: np.random.Generator, n: int, c: int, p_min: float, zero_fraction: float
) -> np.ndarray:
    """Rows on the simplex with every entry >= p_min, except zeros placed on purpose."""
    if not 0 <= p_min * c < 1:
        raise ValueError(f"p_min * classes must be below 1, got {p_min} * {c}")
    rows = (1 - c * p_min) * rng.dirichlet(np.ones(c), size=n) + p_min
    if zero_fraction:
        rows[rng.random((n, c)) < zero_fraction] = 0.0
    return rows


def _labels_and_rows(
    rng: np.random.Generator,
    n: int | list[int],
    classes: int | list[int],
    p_min: float,
    zero_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:
    size = _draw_size(rng, n, "n")
    c = _draw_size(rng, classes, "classes")
    if c < 2:
        raise ValueError("classes must be at least 2")
    labels = rng.integers(0, c, size=size)
    rows = _stochastic_rows(rng, size, c, p_min, zero_fraction)
    if zero_fraction:
        # Zeros go only where they are harmless with clipping: never on the true class.
        rows[np.arange(size), labels] = np.maximum(rows[np.arange(size), labels], p_min)
        rows /= rows.sum(axis=1, keepdims=True)
    return labels, rows


@_register
def binary(
    rng: np.random.Generator,
    *,
    n: int | list[int] = [1, 10_000],  # noqa: B006 - read-only default
    p_min: float = 0.005,
    dtype: str = "float64",
    label_dtype: str | None = None,
) -> Arrays:
    """Labels 0/1 and probabilities in [p_min, 1 - p_min], where clipping changes nothing.

    The labels have the predictions' dtype unless label_dtype says otherwise (int64 for
    labels read from a dataset).
    """
    size = _draw_size(rng, n, "n")
    dt = _float_dtype(dtype)
    label_dt = _label_dtype(label_dtype, dt, "label_dtype")
    if not 0 < p_min < 0.5:
        raise ValueError(f"p_min must be in (0, 0.5), got {p_min}")
    return {
        "y_true": rng.integers(0, 2, size=size).astype(label_dt),
        "y_pred": rng.uniform(p_min, 1 - p_min, size=size).astype(dt),
    }


@_register
def categorical(
    rng: np.random.Generator,
    *,
    n: int | list[int] = [1, 10_000],  # noqa: B006
    classes: int | list[int] = [2, 20],  # noqa: B006
    p_min: float = 0.0025,
    zero_fraction: float = 0.0,
    dtype: str = "float64",
    label_dtype: str | None = None,
) -> Arrays:
    """One-hot labels (N, C) and row-stochastic predictions (N, C).

    The one-hot rows have the predictions' dtype unless label_dtype says otherwise (int64
    for np.eye(C, dtype=int)[labels] or a one-hot encoder's integer output).
    """
    dt = _float_dtype(dtype)
    label_dt = _label_dtype(label_dtype, dt, "label_dtype")
    labels, rows = _labels_and_rows(rng, n, classes, p_min, zero_fraction)
    onehot = np.zeros(rows.shape, dtype=label_dt)
    onehot[np.arange(labels.size), labels] = 1
    return {"y_true": onehot, "y_pred": rows.astype(dt)}


@_register
def sparse(
    rng: np.random.Generator,
    *,
    n: int | list[int] = [1, 10_000],  # noqa: B006
    classes: int | list[int] = [2, 20],  # noqa: B006
    p_min: float = 0.0025,
    zero_fraction: float = 0.0,
    dtype: str = "float64",
    label_dtype: str = "int64",
) -> Arrays:
    """Integer class indices (N,), 0-based, and row-stochastic predictions (N, C)."""
    dt = _float_dtype(dtype)
    if label_dtype not in ("int32", "int64"):
        raise ValueError(f"label_dtype must be int32 or int64, got {label_dtype!r}")
    labels, rows = _labels_and_rows(rng, n, classes, p_min, zero_fraction)
    return {"y_true": labels.astype(label_dtype), "y_pred": rows.astype(dt)}


@_register
def regression(
    rng: np.random.Generator,
    *,
    n: int | list[int] = [1, 10_000],  # noqa: B006
    scale: list[float] = [1e-3, 1e3],  # noqa: B006
    noise: float = 0.3,
    columns: int = 0,
    dtype: str = "float64",
    target_dtype: str | None = None,
) -> Arrays:
    """Targets of a scale drawn log-uniformly, predictions off by noise * scale.

    columns = 0 gives shape (N,); columns >= 1 gives (N, columns). The targets have the
    predictions' dtype unless target_dtype says otherwise; integer targets (counts,
    ratings) are the rounded draws, so they need a scale of at least 1 to be more than 0.
    """
    size = _draw_size(rng, n, "n")
    dt = _float_dtype(dtype)
    target_dt = _label_dtype(target_dtype, dt, "target_dtype")
    if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
        raise ValueError(f"scale must be [low, high] with 0 < low <= high, got {scale}")
    if target_dt.kind == "i" and scale[0] < 1:
        raise ValueError(f"integer targets need a scale of at least 1, got {scale}")
    if columns < 0:
        raise ValueError(f"columns must be >= 0, got {columns}")
    s = float(np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]))))
    shape = (size, columns) if columns else (size,)
    y_true = rng.normal(rng.uniform(-2, 2) * s, s, size=shape)
    if target_dt.kind == "i":
        y_true = np.round(y_true)
    y_pred = y_true + rng.normal(0.0, noise * s, size=shape)
    return {"y_true": y_true.astype(target_dt), "y_pred": y_pred.astype(dt)}


#: Where `extreme` puts a logit: beyond 709.78, where exp overflows in float64 (88.7 in
#: float32) and exp(-|z|) underflows to exactly 0 (below -745.1), up to the 1000 the
#: statements promise to handle. Whole numbers, so a report shows them as typed.
_EXTREME_LOGITS = (750, 1000)


def _logits(
    rng: np.random.Generator, shape: tuple[int, ...], scale: list[float], extreme: float
) -> np.ndarray:
    """Magnitudes log-uniform in [scale[0], scale[1]] with a random sign; then a share
    `extreme` of the entries (at least one when it is above 0) set to +-750..1000."""
    if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
        raise ValueError(f"scale must be [low, high] with 0 < low <= high, got {scale}")
    if not 0 <= extreme <= 1:
        raise ValueError(f"extreme must be a fraction in [0, 1], got {extreme}")
    size = int(np.prod(shape))
    magnitude = np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]), size=size))
    z = np.where(rng.random(size) < 0.5, -magnitude, magnitude)
    if extreme:
        picks = rng.choice(size, size=int(np.ceil(extreme * size)), replace=False)
        low, high = _EXTREME_LOGITS
        signs = rng.choice([-1.0, 1.0], size=picks.size)
        z[picks] = signs * rng.integers(low, high + 1, size=picks.size)
    return z.reshape(shape)


@_register
def logits_binary(
    rng: np.random.Generator,
    *,
    n: int | list[int] = [1, 10_000],  # noqa: B006
    scale: list[float] = [0.1, 20.0],  # noqa: B006
    extreme: float = 0.0,
    dtype: str = "float64",
    label_dtype: str | None = None,
) -> Arrays:
    """Labels 0/1 (N,) and logits (N,): magnitudes log-uniform in `scale`, random signs.

    The labels are drawn apart from the logits, so about half the examples are confidently
    wrong at large magnitudes (a loss near |z|) and half confidently right (near 0).
    `extreme`: the share of logits set to +-750..1000 (at least one when above 0), where
    exp(|z|) overflows. The labels have the logits' dtype unless label_dtype says otherwise.
    """
    size = _draw_size(rng, n, "n")
    dt = _float_dtype(dtype)
    label_dt = _label_dtype(label_dtype, dt, "label_dtype")
    labels = rng.integers(0, 2, size=size)
    z = _logits(rng, (size,), scale, extreme)
    return {"y_true": labels.astype(label_dt), "logits": z.astype(dt)}


@_register
def logits_categorical(
    rng: np.random.Generator,
    *,
    n: int | list[int] = [1, 10_000],  # noqa: B006
    classes: int | list[int] = [2, 20],  # noqa: B006
    scale: list[float] = [0.1, 20.0],  # noqa: B006
    extreme: float = 0.0,
    dtype: str = "float64",
    label_dtype: str | None = None,
) -> Arrays:
    """One-hot labels (N, C) and logits (N, C), drawn as for `logits_binary`: `extreme` is
    the share of all N * C logits set to +-750..1000, the true class's or another's."""
    size = _draw_size(rng, n, "n")
    c = _draw_size(rng, classes, "classes")
    if c < 2:
        raise ValueError("classes must be at least 2")
    dt = _float_dtype(dtype)
    label_dt = _label_dtype(label_dtype, dt, "label_dtype")
    labels = rng.integers(0, c, size=size)
    z = _logits(rng, (size, c), scale, extreme)
    onehot = np.zeros((size, c), dtype=label_dt)
    onehot[np.arange(size), labels] = 1
    return {"y_true": onehot, "logits": z.astype(dt)}


# --- concrete cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One call of the student's function: the inputs, by parameter, in call order."""

    id: str
    name: str
    spec: CaseSpec
    args: Mapping[str, np.ndarray]

    @cached_property
    def described(self) -> dict[str, str]:
        """The inputs as the report prints them: worked out once per case, which a batch
        shares between all the submissions graded with one seed."""
        return {param: describe(array) for param, array in self.args.items()}


def literal(value: Any, dtype: str | None, where: str, param: str) -> np.ndarray:
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "iuf":
            raise ValueError(f"numbers expected, got {array.dtype}")
        if dtype is not None:
            return array.astype(dtype)
        return array.astype(np.int64 if array.dtype.kind in "iu" else np.float64)
    except ValueError as exc:
        raise SpecError(
            f"argument {param!r} is not a rectangular array of numbers: {exc}",
            where=where,
            fix="Write a number or (nested) lists of numbers of equal length.",
        ) from None


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    from grader.exercise.yamlfile import nearest

    guess = nearest(word, choices)
    return f"For {word!r}, did you mean {guess!r}? " if guess is not None else ""


def _generate(spec: CaseSpec, rng: np.random.Generator, params: tuple[str, ...]) -> Arrays:
    assert spec.generate is not None
    fn = GENERATORS.get(spec.generate.generator)
    if fn is None:
        raise SpecError(
            f"unknown generator {spec.generate.generator!r}",
            where=spec.where,
            fix=_did_you_mean(spec.generate.generator, GENERATORS)
            + f"Use one of: {', '.join(sorted(GENERATORS))}.",
        )
    accepted = set(inspect.signature(fn).parameters) - {"rng"}
    unknown = set(spec.generate.options) - accepted
    if unknown:
        raise SpecError(
            f"generator {fn.__name__!r} has no option(s) {sorted(unknown)}",
            where=spec.where,
            fix="".join(_did_you_mean(name, accepted) for name in sorted(unknown))
            + f"Its options are: {', '.join(sorted(accepted))}.",
        )
    try:
        arrays = fn(rng, **spec.generate.options)
    except (TypeError, ValueError, MemoryError) as exc:
        raise SpecError(
            f"generator {fn.__name__!r}: {exc}", where=spec.where, fix="Fix its options."
        ) from None
    if set(arrays) != set(params):
        raise SpecError(
            f"generator {fn.__name__!r} makes {sorted(arrays)} but the function takes "
            f"{list(params)}",
            where=spec.where,
            fix="Use a generator made for this exercise's parameters.",
        )
    return arrays


def build_cases(exercise: Exercise, seed: int) -> list[Case]:
    """Every concrete case of a run, in the order the YAML lists them."""
    params = exercise.entry.param_names
    cases: list[Case] = []
    for spec in exercise.cases:
        stream = int.from_bytes(hashlib.blake2b(spec.name.encode(), digest_size=8).digest(), "big")
        for draw in range(spec.repeat):
            if spec.args is not None:
                arrays = {
                    p: literal(spec.args[p], spec.dtype.get(p), spec.where, p) for p in params
                }
            else:
                rng = np.random.default_rng([seed, stream, draw])
                arrays = _generate(spec, rng, params)
            name = spec.name if spec.repeat == 1 else f"{spec.name} #{draw + 1}"
            for array in arrays.values():
                array.flags.writeable = False
            ordered = {p: arrays[p] for p in params}
            cases.append(Case(id=f"c{len(cases)}", name=name, spec=spec, args=ordered))
    return cases


def describe(array: np.ndarray, limit: int = 8) -> str:
    """A short, exact text of an input: every digit needed to reproduce it by hand."""
    body = np.array2string(
        array,
        separator=", ",
        threshold=limit,
        edgeitems=3,
        max_line_width=10_000,
        # str of a numpy scalar is its shortest round-trip text: 0.1, not 0.1000000000000000055
        formatter={"float_kind": str, "int_kind": str},
    )
    body = " ".join(body.split())
    if array.size > limit or array.dtype not in (np.float64, np.int64):
        return f"{body}  (shape {array.shape}, {array.dtype})"
    return body
