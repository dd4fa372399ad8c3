"""The reference solutions against independent oracles: scikit-learn and the formulas of
the statements written out in plain Python with math.log. Never against themselves.

The references are loaded from their files, the way the grader loads them, not imported
as a package: a broken `solutions/__init__.py` or a stale installed copy cannot hide here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import log_loss
from sklearn.metrics import mean_squared_error as sk_mse

from grader.exercise.reference import load_function

# Warnings are errors here whatever the configuration: a reference that warns (log(0),
# 0 * inf, ...) or a scikit-learn call that warns (rows not summing to one) fails the test.
pytestmark = pytest.mark.filterwarnings("error")

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"

#: Agreement asked of a reference with an oracle computing the same thing in float64.
#: Only the order of summation differs, which costs a few ulps per thousand terms.
RTOL = 1e-12

SEEDS = range(8)

#: The accepted range of clipping constants (the exercises' `clip`, checked equal in
#: test_cases.py): from float64's machine epsilon, where scikit-learn's log_loss clips
#: float64 input, to 1e-5 (1.01e-5: float32 rounds 1 - 1e-5 to 1 - 1.0014e-5).
EPS_MIN = float(np.finfo(np.float64).eps)
EPS_MAX = 1.01e-5


def _load(module: str, function: str) -> Callable[..., Any]:
    """A function of solutions/, loaded by file as the grader loads it."""
    return load_function(SOLUTIONS.parent, f"solutions.{module}.{function}", where=module)


bce = _load("bce", "binary_cross_entropy")
cce = _load("cce", "categorical_cross_entropy")
sparse = _load("sparse_cce", "sparse_categorical_cross_entropy")
mse = _load("mse", "mean_squared_error")


# --- the statements' formulas, in plain Python ---------------------------------------------


def _clip(p: float, eps: float) -> float:
    return min(max(float(p), eps), 1.0 - eps)


def bce_formula(y_true: Sequence[float], y_pred: Sequence[float], eps: float = 1e-7) -> float:
    """Mean over N of -(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps]."""
    total = 0.0
    for y, raw in zip(y_true, y_pred, strict=True):
        p = _clip(raw, eps)
        total += -(float(y) * math.log(p) + (1.0 - float(y)) * math.log(1.0 - p))
    return total / len(y_true)


def cce_formula(y_true: np.ndarray, y_pred: np.ndarray, eps: float = 1e-7) -> float:
    """Mean over rows of -sum_j y_ij log p_ij; a zero label contributes 0 (not 0 * log 0)."""
    total = 0.0
    for row_true, row_pred in zip(y_true, y_pred, strict=True):
        for y, p in zip(row_true, row_pred, strict=True):
            if y != 0:
                total -= float(y) * math.log(_clip(p, eps))
    return total / len(y_true)


def sparse_formula(labels: Sequence[int], y_pred: np.ndarray, eps: float = 1e-7) -> float:
    """Mean over rows of -log p[i, y_i], 0-based labels."""
    total = 0.0
    for label, row in zip(labels, y_pred, strict=True):
        total -= math.log(_clip(row[int(label)], eps))
    return total / len(labels)


def mse_formula(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of the squared differences over every entry."""
    flat_true, flat_pred = np.ravel(y_true).tolist(), np.ravel(y_pred).tolist()
    total = 0.0
    for t, p in zip(flat_true, flat_pred, strict=True):
        total += (t - p) ** 2
    return total / len(flat_true)


# --- inputs ----------------------------------------------------------------------------------


def _rows(rng: np.random.Generator, n: int, c: int, p_min: float = 0.001) -> np.ndarray:
    """Row-stochastic, every entry >= p_min: scikit-learn neither clips nor warns on them.

    (log_loss clips at the machine epsilon of the dtype and warns when a row does not sum to
    one within sqrt(eps); entries >= 0.001 of rows renormalised in float64 trigger neither.)
    """
    rows = p_min + (1 - p_min * c) * rng.dirichlet(np.ones(c), size=n)
    return rows / rows.sum(axis=1, keepdims=True)


def _binary(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 2, n).astype(np.float64), rng.uniform(0.001, 0.999, n)


def _classes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    c = int(rng.integers(2, 21))
    return rng.integers(0, c, n), _rows(rng, n, c), c


def _as(dtype: str, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays in `dtype`; a float32 reference result is compared with an oracle fed the
    very same float32 values widened to float64, so the tolerance stays RTOL."""
    return tuple(a.astype(dtype) for a in arrays)


# --- against scikit-learn --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_bce_matches_sklearn_log_loss(seed: int, dtype: str) -> None:
    rng = np.random.default_rng(seed)
    y, p = _as(dtype, *_binary(rng, int(rng.integers(1, 3000))))
    expected = log_loss(y.astype(np.float64), p.astype(np.float64), labels=[0, 1])
    np.testing.assert_allclose(bce(y, p), expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_matches_sklearn_log_loss(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, p, c = _classes(rng, int(rng.integers(1, 2000)))
    expected = log_loss(labels, p, labels=list(range(c)))
    np.testing.assert_allclose(cce(np.eye(c)[labels], p), expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("label_dtype", ["int64", "int32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_sparse_cce_matches_sklearn_log_loss(seed: int, label_dtype: str) -> None:
    rng = np.random.default_rng(seed)
    labels, p, c = _classes(rng, int(rng.integers(1, 2000)))
    expected = log_loss(labels, p, labels=list(range(c)))
    np.testing.assert_allclose(sparse(labels.astype(label_dtype), p), expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("shape", ["(N,)", "(N, 1)", "(N, 3)"])
@pytest.mark.parametrize("seed", SEEDS)
def test_mse_matches_sklearn_mean_squared_error(seed: int, shape: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    dims = {"(N,)": (n,), "(N, 1)": (n, 1), "(N, 3)": (n, 3)}[shape]
    scale = 10 ** rng.uniform(-3, 3)
    t = rng.normal(0, scale, dims)
    p = t + rng.normal(0, 0.3 * scale, dims)
    # uniform_average of the K per-output means == the mean over all N * K entries.
    expected = sk_mse(t, p, multioutput="uniform_average")
    np.testing.assert_allclose(mse(t, p), expected, rtol=RTOL, atol=0)


# --- against the statements' formulas --------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_matches_the_statement_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, p = _binary(rng, int(rng.integers(1, 300)))
    np.testing.assert_allclose(bce(y, p), bce_formula(y, p), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_matches_the_statement_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, p, c = _classes(rng, int(rng.integers(1, 300)))
    onehot = np.eye(c)[labels]
    np.testing.assert_allclose(cce(onehot, p), cce_formula(onehot, p), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_sparse_cce_matches_the_statement_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, p, _ = _classes(rng, int(rng.integers(1, 300)))
    np.testing.assert_allclose(sparse(labels, p), sparse_formula(labels, p), rtol=RTOL, atol=0)


@pytest.mark.parametrize("shape", [(57,), (57, 1), (19, 3)])
@pytest.mark.parametrize("seed", SEEDS)
def test_mse_matches_the_statement_formula_in_plain_python(
    seed: int, shape: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(seed)
    t, p = rng.normal(0, 5, shape), rng.normal(0, 5, shape)
    np.testing.assert_allclose(mse(t, p), mse_formula(t, p), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_and_sparse_of_float32_inputs_match_the_formula_in_float64(seed: int) -> None:
    # Not scikit-learn here: float32 rows sum to one only within ~1e-7, and log_loss warns
    # when a float64 row is off by more than sqrt(float64 eps) = 1.5e-8 (it would compute
    # in float32, to ~1e-6, if given the float32 array itself).
    rng = np.random.default_rng(seed)
    labels, p, c = _classes(rng, int(rng.integers(1, 300)))
    onehot, p32 = np.eye(c, dtype=np.float32)[labels], p.astype(np.float32)
    expected = cce_formula(onehot, p32.astype(np.float64))
    np.testing.assert_allclose(cce(onehot, p32), expected, rtol=RTOL, atol=0)
    np.testing.assert_allclose(sparse(labels, p32), expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("label_dtype", ["int64", "int32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_sparse_cce_equals_cce_on_the_one_hot_labels(seed: int, label_dtype: str) -> None:
    rng = np.random.default_rng(seed)
    labels, p, c = _classes(rng, int(rng.integers(1, 2000)))
    np.testing.assert_allclose(
        sparse(labels.astype(label_dtype), p), cce(np.eye(c)[labels], p), rtol=RTOL, atol=0
    )


# --- textbook values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "y_true", "y_pred", "value"),
    [
        (bce, [1.0], [0.4878441320948962], 0.7177593255933803),
        (bce, [0.0], [0.4878441320948962], 0.6691262707697319),
        (bce, [1.0], [0.8], 0.22314355131420976),
        (bce, [0.0], [0.1], 0.10536051565782628),
        (bce, [1.0, 0.0], [0.8, 0.1], 0.164252033486018),
        (cce, [[1.0, 0.0, 0.0]], [[0.7, 0.2, 0.1]], 0.35667494393873245),
        (cce, [[1.0, 0, 0], [0, 1.0, 0]], [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], 0.2899092476264711),
        (sparse, [0], [[0.7, 0.2, 0.1]], 0.35667494393873245),
        (sparse, [0, 1], [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], 0.2899092476264711),
        (mse, [3.07], [2.89], 0.0324),
        (mse, [2.89], [3.07], 0.0324),
        (mse, [3.07, 1.5], [2.89, 1.0], 0.1412),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_textbook_values_in_natural_log(
    fn: Callable[..., Any], y_true: list[Any], y_pred: list[Any], value: float
) -> None:
    np.testing.assert_allclose(fn(np.array(y_true), np.array(y_pred)), value, rtol=RTOL, atol=0)


def test_bce_of_y1_p08_is_not_the_base_2_tutorial_value() -> None:
    # Regression guard: a widely copied tutorial gives -log2(0.8) = 0.3219 here.
    value = bce(np.array([1.0]), np.array([0.8]))
    assert not np.isclose(value, 0.32192809488736235, rtol=1e-3, atol=0)
    assert not np.isclose(value, 0.3219, rtol=1e-3, atol=0)
    np.testing.assert_allclose(value, -math.log(0.8), rtol=RTOL, atol=0)


# --- predictions of exactly 0 and 1 ----------------------------------------------------------

EXACT_BCE = [
    ([1.0, 0.0, 1.0], [1.0, 0.0, 0.7]),
    ([0.0, 1.0], [1.0, 0.6]),
    ([1.0, 0.0], [0.0, 0.4]),
    ([1.0, 0, 1, 0, 1, 0, 1, 0], [1.0, 0.0, 0.0, 1.0, 0.25, 0.75, 0.5, 0.5]),
    ([1.0, 0, 1, 0, 1], [1.0, 0.0, 0.0, 1.0, 0.3]),
    ([1.0], [1.0]),
]
EXACT_CCE = [
    ([[1.0, 0, 0], [0, 0, 1.0]], [[0.6, 0.4, 0.0], [0.0, 0.1, 0.9]]),
    ([[0.0, 1, 0], [1.0, 0, 0]], [[0.0, 1.0, 0.0], [0.5, 0.25, 0.25]]),
    ([[1.0, 0], [0, 1.0]], [[0.0, 1.0], [0.3, 0.7]]),
    ([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]], [[1.0, 0, 0], [0.5, 0, 0.5], [0.2, 0.3, 0.5]]),
    ([[0.0, 1.0]], [[0.0, 1.0]]),
    ([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]], [[1.0, 0, 0], [0.0, 0, 1.0], [0.2, 0.3, 0.5]]),
    ([[0.0, 0, 1.0], [1.0, 0, 0]], [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]),
]

#: (labels' dtype, predictions' dtype): every pair the exercises' edge cases use.
EXACT_DTYPES = [("float64", "float64"), ("float32", "float32"), ("int64", "float64")]


def _assert_within_the_eps_range(
    value: float, at_min: float, at_max: float, at_1e_7: float
) -> None:
    assert math.isfinite(value)
    low, high = min(at_min, at_max), max(at_min, at_max)
    assert low * (1 - RTOL) <= value <= high * (1 + RTOL), (low, value, high)
    np.testing.assert_allclose(value, at_1e_7, rtol=RTOL, atol=0)


@pytest.mark.parametrize(("label_dtype", "dtype"), EXACT_DTYPES)
@pytest.mark.parametrize(("y_true", "y_pred"), EXACT_BCE)
def test_bce_of_predictions_0_and_1_is_finite_and_within_the_eps_range(
    y_true: list[float], y_pred: list[float], label_dtype: str, dtype: str
) -> None:
    y, p = np.array(y_true, label_dtype), np.array(y_pred, dtype)
    # The oracle gets the very values the reference gets, widened to float64.
    y64, p64 = y.astype(np.float64).tolist(), p.astype(np.float64).tolist()
    _assert_within_the_eps_range(
        bce(y, p),
        bce_formula(y64, p64, EPS_MIN),
        bce_formula(y64, p64, EPS_MAX),
        bce_formula(y64, p64, 1e-7),
    )
    for eps in (EPS_MIN, EPS_MAX):
        value = bce(y, p, eps=eps)
        assert math.isfinite(value)
        np.testing.assert_allclose(value, bce_formula(y64, p64, eps), rtol=RTOL, atol=0)


@pytest.mark.parametrize(("label_dtype", "dtype"), EXACT_DTYPES)
@pytest.mark.parametrize(("y_true", "y_pred"), EXACT_CCE)
def test_cce_and_sparse_of_predictions_0_and_1_are_finite_and_within_the_eps_range(
    y_true: list[list[float]], y_pred: list[list[float]], label_dtype: str, dtype: str
) -> None:
    y, p = np.array(y_true, label_dtype), np.array(y_pred, dtype)
    labels = np.argmax(y, axis=1).astype(np.int32 if dtype == "float32" else np.int64)
    y64, p64 = y.astype(np.float64), p.astype(np.float64)
    bounds = (
        cce_formula(y64, p64, EPS_MIN),
        cce_formula(y64, p64, EPS_MAX),
        cce_formula(y64, p64, 1e-7),
    )
    _assert_within_the_eps_range(cce(y, p), *bounds)
    _assert_within_the_eps_range(sparse(labels, p), *bounds)
    for eps in (EPS_MIN, EPS_MAX):
        expected = cce_formula(y64, p64, eps)
        assert math.isfinite(expected)
        np.testing.assert_allclose(cce(y, p, eps=eps), expected, rtol=RTOL, atol=0)
        np.testing.assert_allclose(sparse(labels, p, eps=eps), expected, rtol=RTOL, atol=0)


# --- the newer mistake variants against their formulas in plain Python ----------------------

forgot_one_minus_y = _load("mistakes_bce", "forgot_one_minus_y")
argmax_pred = _load("mistakes_cce", "argmax_pred")
cce_argmax = _load("mistakes_cce", "argmax")
fancy_index_matrix = _load("mistakes_sparse_cce", "fancy_index_matrix")
broadcast = _load("mistakes_mse", "broadcast")


@pytest.mark.parametrize("seed", SEEDS)
def test_forgot_one_minus_y_is_the_positives_term_alone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, p = _binary(rng, int(rng.integers(1, 300)))
    expected = sum(-float(t) * math.log(_clip(q, 1e-7)) for t, q in zip(y, p, strict=True))
    np.testing.assert_allclose(forgot_one_minus_y(y, p), expected / len(y), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_argmax_pred_is_the_log_of_each_rows_largest_probability(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, p, c = _classes(rng, int(rng.integers(2, 300)))
    expected = sum(-math.log(_clip(max(row), 1e-7)) for row in p.tolist()) / len(p)
    np.testing.assert_allclose(argmax_pred(np.eye(c)[labels], p), expected, rtol=RTOL, atol=0)
    # Not the `argmax` mistake (hard one-hot predictions, the true class kept).
    assert not np.isclose(argmax_pred(np.eye(c)[labels], p), cce_argmax(np.eye(c)[labels], p))


@pytest.mark.parametrize("seed", SEEDS)
def test_fancy_index_matrix_is_the_mean_of_the_n_by_n_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels, p, _ = _classes(rng, int(rng.integers(1, 60)))
    rows = p.tolist()
    table = [-math.log(_clip(row[int(j)], 1e-7)) for row in rows for j in labels]
    np.testing.assert_allclose(
        fancy_index_matrix(labels, p), sum(table) / len(table), rtol=RTOL, atol=0
    )
    if len(labels) == 1:  # the one size at which the mistake is right
        np.testing.assert_allclose(fancy_index_matrix(labels, p), sparse(labels, p), rtol=RTOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_broadcast_is_the_mean_of_the_n_by_n_table_for_columns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    t, p = rng.normal(3, 2, (n, 1)), rng.normal(3, 2, (n, 1))
    table = [(a - b) ** 2 for a in t.ravel().tolist() for b in p.ravel().tolist()]
    np.testing.assert_allclose(broadcast(t, p), sum(table) / len(table), rtol=RTOL, atol=0)
    # (N,) inputs: flattening changes nothing, so the mistake gives the right answer there.
    np.testing.assert_allclose(broadcast(t.ravel(), p.ravel()), mse_formula(t, p), rtol=RTOL)


# --- what the grader relies on ---------------------------------------------------------------


def _calls() -> list[tuple[Callable[..., Any], tuple[np.ndarray, ...]]]:
    """Calls whose inputs a careless clip or subtraction would change, in both dtypes."""
    calls: list[tuple[Callable[..., Any], tuple[np.ndarray, ...]]] = []
    for dtype in ("float64", "float32"):
        calls += [
            (bce, (np.array([1.0, 0.0, 1.0], dtype), np.array([0.0, 1.0, 0.3], dtype))),
            (cce, (np.eye(2, dtype=dtype), np.array([[0.0, 1.0], [1.0, 0.0]], dtype))),
            (sparse, (np.array([0, 1], np.int32), np.array([[0.0, 1.0], [1.0, 0.0]], dtype))),
            (mse, (np.array([[1.0], [2.0]], dtype), np.array([[1.5], [2.5]], dtype))),
        ]
    return calls


@pytest.mark.parametrize(("fn", "args"), _calls())
def test_references_do_not_modify_their_inputs(
    fn: Callable[..., Any], args: tuple[np.ndarray, ...]
) -> None:
    before = [a.copy() for a in args]
    fn(*args)
    for a, b in zip(args, before, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, strict=True)
    for a in args:
        a.flags.writeable = False
    fn(*args)  # read-only inputs: an in-place write would raise here


@pytest.mark.parametrize(("fn", "args"), _calls())
def test_references_return_one_python_float(
    fn: Callable[..., Any], args: tuple[np.ndarray, ...]
) -> None:
    value = fn(*args)
    assert type(value) is float
    assert math.isfinite(value)
