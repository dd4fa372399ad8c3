"""The reference solutions against independent oracles: scikit-learn and the formulas of
the statements written out in plain Python. Never against themselves."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import log_loss
from sklearn.metrics import mean_squared_error as sk_mse

from conftest import REPO


def _load(module: str, function: str) -> Callable[..., float]:
    spec = importlib.util.spec_from_file_location(
        f"ref_{module}", REPO / "solutions" / f"{module}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    fn: Callable[..., float] = getattr(loaded, function)
    return fn


bce = _load("bce", "binary_cross_entropy")
cce = _load("cce", "categorical_cross_entropy")
sparse = _load("sparse_cce", "sparse_categorical_cross_entropy")
mse = _load("mse", "mean_squared_error")

SEEDS = range(8)


def _rows(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """Row-stochastic, every entry >= 0.001, so no library clips or renormalises them."""
    rows = 0.001 + (1 - 0.001 * c) * rng.dirichlet(np.ones(c), size=n)
    return rows / rows.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_matches_sklearn_log_loss(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    y = rng.integers(0, 2, n).astype(float)
    p = rng.uniform(0.001, 0.999, n)
    assert bce(y, p) == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_matches_the_statement_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 50).astype(float)
    p = rng.uniform(0.001, 0.999, 50)
    formula = (
        sum(-(t * math.log(q) + (1 - t) * math.log(1 - q)) for t, q in zip(y, p, strict=False)) / 50
    )
    assert bce(y, p) == pytest.approx(formula, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_and_sparse_match_sklearn_log_loss(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 2000)), int(rng.integers(2, 21))
    labels = rng.integers(0, c, n)
    p = _rows(rng, n, c)
    onehot = np.eye(c)[labels]
    expected = log_loss(labels, p, labels=list(range(c)))
    assert cce(onehot, p) == pytest.approx(expected, rel=1e-12)
    assert sparse(labels, p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_matches_the_statement_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = 30, int(rng.integers(2, 8))
    onehot = np.eye(c)[rng.integers(0, c, n)]
    p = _rows(rng, n, c)
    rows = [
        -sum(y * math.log(q) for y, q in zip(yr, pr, strict=False) if y)
        for yr, pr in zip(onehot, p, strict=False)
    ]
    assert cce(onehot, p) == pytest.approx(sum(rows) / n, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("columns", [0, 1, 3])
def test_mse_matches_sklearn_mean_squared_error(seed: int, columns: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 3000)), columns) if columns else (int(rng.integers(1, 3000)),)
    scale = 10 ** rng.uniform(-3, 3)
    t, p = rng.normal(0, scale, shape), rng.normal(0, scale, shape)
    # uniform_average over K outputs of per-output means == mean over all N*K entries
    expected = sk_mse(t, p, multioutput="uniform_average")
    assert mse(t, p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("fn", "args", "value"),
    [
        (bce, ([1.0], [0.4878441320948962]), 0.7177593255933803),
        (bce, ([0.0], [0.4878441320948962]), 0.6691262707697319),
        (bce, ([1.0], [0.8]), 0.22314355131420976),
        (bce, ([0.0], [0.1]), 0.10536051565782628),
        (bce, ([1.0, 0.0], [0.8, 0.1]), 0.164252033486018),
        (cce, ([[1.0, 0, 0]], [[0.7, 0.2, 0.1]]), 0.35667494393873245),
        (sparse, ([0], [[0.7, 0.2, 0.1]]), 0.35667494393873245),
        (sparse, ([0, 1], [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]]), 0.2899092476264711),
        (mse, ([3.07], [2.89]), 0.0324),
        (mse, ([3.07, 1.5], [2.89, 1.0]), 0.1412),
    ],
)
def test_textbook_values_in_natural_log(fn: Callable[..., float], args: Any, value: float) -> None:
    assert fn(*map(np.array, args)) == pytest.approx(value, rel=1e-12)


def test_the_tutorial_base_2_value_is_not_ours() -> None:
    assert bce(np.array([1.0]), np.array([0.8])) != pytest.approx(0.3219, rel=1e-3)


def test_predictions_of_exactly_0_and_1_are_finite_and_bounded_by_the_eps_range() -> None:
    y = np.array([1.0, 0.0, 1.0])
    p = np.array([0.0, 1.0, 1.0])
    low, high = bce(y, p, eps=1e-5), bce(y, p, eps=1e-15)
    assert math.isfinite(low)
    assert math.isfinite(high)
    assert low < bce(y, p) < high
    assert bce(y, p) == pytest.approx(-(2 * math.log(1e-7) + math.log(1 - 1e-7)) / 3, rel=1e-9)
    onehot, probs = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 0.0]])
    assert math.isfinite(cce(onehot, probs))
    assert math.isfinite(sparse(np.array([1, 0]), probs))


def test_references_do_not_change_their_inputs() -> None:
    y, p = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    bce(y, p)
    np.testing.assert_array_equal(p, [0.0, 1.0])
    t, q = np.array([1.0, 2.0]), np.array([1.5, 2.5])
    mse(t, q)
    np.testing.assert_array_equal(q, [1.5, 2.5])
