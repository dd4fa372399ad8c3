"""Generators draw valid, reproducible inputs; literal args become arrays of the right dtype."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from grader.cases import GENERATORS, build_cases, describe
from grader.spec import load_exercise


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("seed", range(20))
def test_binary_draws_labels_and_probabilities_clipping_cannot_change(seed: int) -> None:
    out = GENERATORS["binary"](rng(seed), n=[1, 3000])
    assert out["y_true"].shape == out["y_pred"].shape
    assert set(np.unique(out["y_true"])) <= {0.0, 1.0}
    assert out["y_pred"].min() >= 0.005
    assert out["y_pred"].max() <= 0.995


@pytest.mark.parametrize("seed", range(20))
def test_categorical_rows_are_one_hot_and_stochastic(seed: int) -> None:
    out = GENERATORS["categorical"](rng(seed), n=[1, 500], classes=[2, 20], zero_fraction=0.3)
    y, p = out["y_true"], out["y_pred"]
    assert y.shape == p.shape
    assert 2 <= p.shape[1] <= 20
    np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (p[y == 1] > 0).all(), "the true class never gets probability 0"


@pytest.mark.parametrize("seed", range(20))
def test_sparse_labels_are_zero_based_indices(seed: int) -> None:
    out = GENERATORS["sparse"](rng(seed), n=[1, 500], classes=[2, 20], label_dtype="int32")
    labels, p = out["y_true"], out["y_pred"]
    assert labels.dtype == np.int32
    assert labels.shape == (p.shape[0],)
    assert labels.min() >= 0
    assert labels.max() < p.shape[1]


def test_sizes_are_log_uniform_so_small_and_large_both_occur() -> None:
    sizes = [GENERATORS["binary"](rng(s), n=[1, 10_000])["y_true"].size for s in range(300)]
    assert min(sizes) < 10
    assert max(sizes) > 1000


@pytest.mark.parametrize("columns", [0, 1, 3])
def test_regression_shapes_and_dtype(columns: int) -> None:
    out = GENERATORS["regression"](rng(1), n=50, columns=columns, dtype="float32")
    expected = (50, columns) if columns else (50,)
    assert out["y_true"].shape == out["y_pred"].shape == expected
    assert out["y_true"].dtype == np.float32


def test_the_same_seed_gives_the_same_cases_and_another_seed_others() -> None:
    exercise = load_exercise(REPO / "exercises" / "ex02.yaml")
    a, b, c = build_cases(exercise, 7), build_cases(exercise, 7), build_cases(exercise, 8)
    random = [i for i, case in enumerate(a) if case.spec.generate is not None]
    for i in random:
        for param in a[i].args:
            np.testing.assert_array_equal(a[i].args[param], b[i].args[param])
    assert any(
        a[i].args["y_pred"].shape != c[i].args["y_pred"].shape
        or not np.array_equal(a[i].args["y_pred"], c[i].args["y_pred"])
        for i in random
    )


def test_case_inputs_are_read_only_and_named_per_repeat() -> None:
    cases = build_cases(load_exercise(REPO / "exercises" / "ex01.yaml"), 3)
    assert all(not a.flags.writeable for case in cases for a in case.args.values())
    names = [case.name for case in cases]
    assert len(names) == len(set(names))
    assert "random batch #2" in names


def test_literal_dtypes_follow_the_yaml(tmp_path: Path) -> None:
    cases = build_cases(load_exercise(REPO / "exercises" / "ex03.yaml"), 0)
    first = cases[0]
    assert first.args["y_true"].dtype == np.int64
    assert first.args["y_pred"].dtype == np.float64


def test_describe_writes_exact_shortest_digits_and_abbreviates_large_arrays() -> None:
    assert describe(np.array([0.1, 0.4878441320948962])) == "[0.1, 0.4878441320948962]"
    text = describe(np.arange(100, dtype=np.float32))
    assert "..." in text
    assert "(shape (100,), float32)" in text
