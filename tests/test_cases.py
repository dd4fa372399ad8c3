"""Generators draw valid, reproducible inputs; literal args become arrays of the right dtype."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from grader.exercise.cases import GENERATORS, Case, build_cases, describe
from grader.exercise.compare import compare
from grader.exercise.reference import expected_for, load_reference
from grader.exercise.spec import Compare, Exercise, Visibility, load_exercise


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


# --- integer labels and targets ------------------------------------------------------------


@pytest.mark.parametrize("generator", ["binary", "categorical"])
def test_labels_follow_the_predictions_dtype_unless_label_dtype_says_otherwise(
    generator: str,
) -> None:
    default = GENERATORS[generator](rng(4), n=50, dtype="float32")
    assert default["y_true"].dtype == default["y_pred"].dtype == np.float32
    ints = GENERATORS[generator](rng(4), n=50, dtype="float32", label_dtype="int64")
    assert ints["y_true"].dtype == np.int64
    assert ints["y_pred"].dtype == np.float32
    # The same draw: only the labels' dtype differs.
    np.testing.assert_array_equal(ints["y_true"], default["y_true"])
    assert set(np.unique(ints["y_true"])) <= {0, 1}


def test_categorical_int_labels_are_one_hot() -> None:
    out = GENERATORS["categorical"](rng(5), n=200, classes=7, label_dtype="int32")
    assert out["y_true"].dtype == np.int32
    np.testing.assert_array_equal(out["y_true"].sum(axis=1), 1)


@pytest.mark.parametrize("columns", [0, 1, 3])
def test_regression_int_targets_are_whole_numbers_and_predictions_stay_float(
    columns: int,
) -> None:
    out = GENERATORS["regression"](
        rng(6), n=300, scale=[1.0, 10.0], columns=columns, target_dtype="int64"
    )
    assert out["y_true"].dtype == np.int64
    assert out["y_pred"].dtype == np.float64
    assert out["y_true"].shape == out["y_pred"].shape
    assert np.abs(out["y_pred"] - out["y_true"]).max() > 0


@pytest.mark.parametrize(
    ("generator", "options", "message"),
    [
        ("binary", {"label_dtype": "int8"}, "label_dtype must be one of"),
        ("categorical", {"label_dtype": "bool"}, "label_dtype must be one of"),
        ("regression", {"target_dtype": "uint8"}, "target_dtype must be one of"),
        ("regression", {"target_dtype": "int64", "scale": [0.001, 10.0]}, "scale of at least 1"),
    ],
)
def test_bad_label_and_target_dtypes_are_refused(
    generator: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        GENERATORS[generator](rng(), n=5, **options)


# --- what the exercises' cases catch ---------------------------------------------------------

EXERCISES = ("ex01", "ex02", "ex03", "ex04")


def _exercise(name: str) -> Exercise:
    return load_exercise(REPO / "exercises" / f"{name}.yaml")


def _dtypes(case: Case) -> tuple[str, ...]:
    return tuple(str(a.dtype) for a in case.args.values())


@pytest.mark.parametrize(
    ("name", "dtypes"),
    [
        # Predictions of exactly 0 and 1 (zeros on wrong classes) in every dtype accepted.
        ("ex01", [("float64", "float64"), ("float32", "float32"), ("int64", "float64")]),
        ("ex02", [("float64", "float64"), ("float32", "float32"), ("int64", "float64")]),
        ("ex03", [("int64", "float64"), ("int32", "float32")]),
    ],
)
def test_visible_edge_cases_hold_exact_zeros_and_ones_in_every_dtype(
    name: str, dtypes: list[tuple[str, ...]]
) -> None:
    cases = build_cases(_exercise(name), 0)
    exact = {
        _dtypes(c)
        for c in cases
        if c.spec.visibility is Visibility.VISIBLE
        and c.spec.compare is Compare.CLIP_RANGE
        and np.isin(c.args["y_pred"], (0.0, 1.0)).any()
    }
    assert set(dtypes) <= exact


@pytest.mark.parametrize("name", EXERCISES)
def test_every_exercise_has_a_visible_n_1_case_in_float32_and_with_integer_labels(
    name: str,
) -> None:
    singles = [
        c
        for c in build_cases(_exercise(name), 0)
        if c.spec.visibility is Visibility.VISIBLE and c.args["y_pred"].shape[0] == 1
    ]
    assert any(c.args["y_pred"].dtype == np.float32 for c in singles)
    assert any(c.args["y_true"].dtype.kind == "i" for c in singles)


def _float32_loss(y_true: np.ndarray, y_pred: np.ndarray, eps: float) -> float:
    """Binary cross-entropy computed in float32, clipped at eps in float32."""
    y, p = y_true.astype(np.float32), y_pred.astype(np.float32)
    p = np.clip(p, np.float32(eps), np.float32(1) - np.float32(eps))
    with np.errstate(all="ignore"):
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_float32_edge_cases_accept_keras_and_sklearn_eps_and_catch_a_tiny_one() -> None:
    exercise = _exercise("ex01")
    reference = load_reference(exercise, REPO)
    edge32 = [
        c
        for c in build_cases(exercise, 0)
        if c.spec.compare is Compare.CLIP_RANGE and c.args["y_pred"].dtype == np.float32
    ]
    assert edge32
    for case in edge32:
        expected = expected_for(exercise, reference, case)
        # Keras (1e-7), scikit-learn (float32's machine epsilon) and the range's top (1e-5),
        # each computed in float32, are right.
        for eps in (1e-7, float(np.finfo(np.float32).eps), 1e-5):
            value = _float32_loss(*case.args.values(), eps)
            assert compare(value, expected, case.spec.tolerance).passed, (case.name, eps, value)
    # In float32, 1 - 1e-8 == 1.0: a prediction of exactly 1 for a negative stays log(0).
    assert np.float32(1) - np.float32(1e-8) == np.float32(1)
    caught = [c for c in edge32 if not np.isfinite(_float32_loss(*c.args.values(), 1e-8))]
    assert any(c.spec.visibility is Visibility.VISIBLE for c in caught)


@pytest.mark.parametrize("name", ["ex01", "ex02", "ex03"])
def test_clip_range_runs_from_float64_machine_epsilon_to_float32s_1e_5(name: str) -> None:
    # tests/test_references.py checks the references finite and right at these two ends.
    exercise = _exercise(name)
    assert exercise.clip is not None
    assert exercise.clip.min == float(np.finfo(np.float64).eps)
    # float32 rounds 1 - 1e-5 to 1 - 1.0014e-5: the top must take that in.
    assert 1 - float(np.float32(1) - np.float32(1e-5)) <= exercise.clip.max == 1.01e-5


def _zeros_like_accumulator(name: str, args: list[np.ndarray]) -> float:
    """The loss written into np.zeros_like(y_true): integer labels truncate every term."""
    y_true, y_pred = args
    with np.errstate(all="ignore"):
        if name == "ex01":
            p = np.clip(y_pred, 1e-7, 1 - 1e-7)
            terms = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        elif name == "ex02":
            terms = -np.sum(y_true * np.log(np.clip(y_pred, 1e-7, 1 - 1e-7)), axis=1)
        elif name == "ex03":
            picked = y_pred[np.arange(len(y_true)), y_true]
            terms = -np.log(np.clip(picked, 1e-7, 1 - 1e-7))
        else:
            terms = (y_true - y_pred) ** 2
    accumulator = np.zeros_like(y_true, shape=terms.shape)
    accumulator[...] = terms
    return float(np.mean(accumulator))


@pytest.mark.parametrize("name", EXERCISES)
def test_an_integer_accumulator_fails_visible_cases(name: str) -> None:
    exercise = _exercise(name)
    reference = load_reference(exercise, REPO)
    failed = [
        case
        for case in build_cases(exercise, 0)
        if case.spec.visibility is Visibility.VISIBLE
        and not compare(
            _zeros_like_accumulator(name, [np.array(a) for a in case.args.values()]),
            expected_for(exercise, reference, case),
            case.spec.tolerance,
        ).passed
    ]
    assert len(failed) >= 3, [c.name for c in failed]


@pytest.mark.parametrize("name", EXERCISES)
def test_the_reference_is_finite_on_every_case_at_both_ends_of_the_clip_range(name: str) -> None:
    exercise = _exercise(name)
    reference = load_reference(exercise, REPO)
    for case in build_cases(exercise, 0):
        answer = expected_for(exercise, reference, case)  # raises on a non-finite value
        assert math.isfinite(answer.low)
        assert math.isfinite(answer.high)
