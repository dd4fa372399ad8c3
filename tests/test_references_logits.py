"""The references of ex05 and ex06 (cross-entropy from logits) against independent oracles.

Oracles: scipy.special (log_expit, logsumexp, log_softmax), scikit-learn's log_loss on the
sigmoid or softmax probabilities where those are representable, the formulas written out
in plain Python with math (by branches, not by the references' max/abs rewrite), and exact
values at +-1000 worked out by hand. Never the references against themselves. The known
mistakes are checked to do what their names say, the declared variants to be right, and the
generators `logits_binary` and `logits_categorical` to draw what their options say.

Everything is loaded from its file, the way the grader loads it, not imported as a package.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.special import expit, log_expit, log_softmax, logsumexp, softmax
from sklearn.metrics import log_loss

from grader.exercise.cases import GENERATORS
from grader.exercise.reference import load_function

# Warnings are errors here whatever the configuration: a reference that overflows (exp of
# 1000) or takes log(0) fails the test. The mistakes, which do, are called under errstate.
pytestmark = pytest.mark.filterwarnings("error")

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"

#: Agreement asked of a reference with an oracle computing the same thing in float64.
RTOL = 1e-12
#: Against scikit-learn, which takes log(1 - p) of a probability p = sigmoid(z) rounded to
#: float64: 1 - p then carries an absolute error of ~1e-16, a few 1e-13 of the loss here.
RTOL_SKLEARN = 1e-10

SEEDS = range(8)


def _load(module: str, function: str) -> Callable[..., Any]:
    """A function of solutions/, loaded by file as the grader loads it."""
    return load_function(SOLUTIONS.parent, f"solutions.{module}.{function}", where=module)


bce_logits = _load("bce_logits", "binary_cross_entropy_with_logits")
cce_logits = _load("cce_logits", "softmax_cross_entropy_with_logits")


def _mistake(module: str, name: str) -> Callable[..., float]:
    """A known mistake, called with numpy's overflow and log(0) warnings silenced."""
    fn = _load(module, name)

    def call(*args: Any) -> float:
        with np.errstate(all="ignore"):
            return float(fn(*(np.array(a) for a in args)))

    return call


# --- oracles ---------------------------------------------------------------------------------


def bce_oracle(y_true: np.ndarray, logits: np.ndarray) -> float:
    """-mean(y log sigmoid(z) + (1 - y) log sigmoid(-z)), scipy's log_expit."""
    y, z = np.asarray(y_true, np.float64), np.asarray(logits, np.float64)
    return float(-np.mean(y * log_expit(z) + (1 - y) * log_expit(-z)))


def bce_formula(y_true: Sequence[float], logits: Sequence[float]) -> float:
    """The statement's loss in plain Python, by branches: for z >= 0,
    -log sigmoid(z) = log1p(exp(-z)) and -log(1 - sigmoid(z)) = z + log1p(exp(-z)); for z < 0,
    -log sigmoid(z) = -z + log1p(exp(z)) and -log(1 - sigmoid(z)) = log1p(exp(z))."""
    total = 0.0
    for y, z in zip(map(float, y_true), map(float, logits), strict=True):
        if z >= 0:
            tail = math.log1p(math.exp(-z))
            total += y * tail + (1 - y) * (z + tail)
        else:
            tail = math.log1p(math.exp(z))
            total += y * (tail - z) + (1 - y) * tail
    return total / len(y_true)


def cce_oracle(y_true: np.ndarray, logits: np.ndarray) -> float:
    """mean over rows of -sum_c y_ic log_softmax(z_i)_c, scipy's log_softmax."""
    y, z = np.asarray(y_true, np.float64), np.asarray(logits, np.float64)
    return float(-np.mean(np.sum(y * log_softmax(z, axis=1), axis=1)))


def cce_formula(y_true: np.ndarray, logits: np.ndarray) -> float:
    """mean over rows of logsumexp(z) - z_true in plain Python: math.fsum of exp(z - m)."""
    total = 0.0
    for row_true, row in zip(np.asarray(y_true).tolist(), np.asarray(logits).tolist(), strict=True):
        m = max(row)
        lse = m + math.log(math.fsum(math.exp(z - m) for z in row))
        total += sum(float(y) * (lse - z) for y, z in zip(row_true, row, strict=True) if y)
    return total / len(y_true)


# --- inputs ----------------------------------------------------------------------------------


def _logits(rng: np.random.Generator, shape: tuple[int, ...], top: float) -> np.ndarray:
    """Magnitudes log-uniform in [0.01, top], random signs."""
    magnitude = np.exp(rng.uniform(math.log(0.01), math.log(top), size=shape))
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude)


def _binary(rng: np.random.Generator, top: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(1, 3000))
    return rng.integers(0, 2, n).astype(np.float64), _logits(rng, (n,), top)


def _categorical(rng: np.random.Generator, top: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    n, c = int(rng.integers(1, 2000)), int(rng.integers(2, 21))
    return np.eye(c)[rng.integers(0, c, n)], _logits(rng, (n, c), top)


def _with_extremes(rng: np.random.Generator, z: np.ndarray, share: float = 0.05) -> np.ndarray:
    """A copy with a share of the entries set to +-750..1000, where exp overflows."""
    out = z.copy().ravel()
    picks = rng.random(out.size) < share
    out[picks] = rng.choice([-1.0, 1.0], picks.sum()) * rng.uniform(750, 1000, picks.sum())
    return out.reshape(z.shape)


# --- ex05 against scipy, scikit-learn and the formula ---------------------------------------


@pytest.mark.parametrize("extreme", [False, True], ids=["moderate", "with +-1000"])
@pytest.mark.parametrize("seed", SEEDS)
def test_bce_logits_matches_scipy_log_expit(seed: int, extreme: bool) -> None:
    rng = np.random.default_rng(seed)
    y, z = _binary(rng)
    if extreme:
        z = _with_extremes(rng, z)
    np.testing.assert_allclose(bce_logits(y, z), bce_oracle(y, z), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_logits_matches_sklearn_log_loss_on_the_sigmoid(seed: int) -> None:
    # |z| <= 8: sigmoid(z) stays at least 3e-4 from 0 and 1, so log_loss neither clips nor
    # loses more than a few 1e-13 in 1 - p.
    rng = np.random.default_rng(seed)
    y, z = _binary(rng, top=8.0)
    expected = log_loss(y, expit(z), labels=[0, 1])
    np.testing.assert_allclose(bce_logits(y, z), expected, rtol=RTOL_SKLEARN, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_logits_matches_the_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, z = _binary(rng)
    z = _with_extremes(rng, z)
    np.testing.assert_allclose(bce_logits(y, z), bce_formula(y, z), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_logits_of_float32_and_int_inputs_is_the_float64_value(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, z = _binary(rng)
    z32 = _with_extremes(rng, z).astype(np.float32)
    expected = bce_formula(y, z32.astype(np.float64))
    np.testing.assert_allclose(bce_logits(y.astype(np.int64), z32), expected, rtol=RTOL, atol=0)
    np.testing.assert_allclose(bce_logits(y.astype(np.float32), z32), expected, rtol=RTOL, atol=0)


# --- ex05: exact values, by hand -------------------------------------------------------------
# Past |z| = 745, exp(-|z|) is exactly 0 in float64, so the loss is max(z, 0) - z y exactly:
# (1 - y) z for z > 0 and -y z for z < 0. At 40, exp(-40) = 4.2e-18 is below half an ulp of
# 40 (3.6e-15), so the loss is 40 to the last bit.

BCE_EXACT = [
    ([0.0], [1000.0], 1000.0),
    ([1.0], [-1000.0], 1000.0),
    ([1.0], [1000.0], 0.0),
    ([0.0], [-1000.0], 0.0),
    ([0.0], [40.0], 40.0),
    ([1.0], [-40.0], 40.0),
    ([0.0, 1.0, 1.0, 0.0], [1000.0, -1000.0, 1000.0, -1000.0], 500.0),
    ([0.0, 1.0], [746.0, -746.0], 746.0),
    ([1.0, 0.0, 1.0], [-800.0, 900.0, 1000.0], 1700.0 / 3),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("y_true", "logits", "value"), BCE_EXACT)
def test_bce_logits_is_exact_at_large_logits(
    y_true: list[float], logits: list[float], value: float, dtype: str
) -> None:
    got = bce_logits(np.array(y_true, dtype), np.array(logits, dtype))
    assert got == value


@pytest.mark.parametrize(
    ("y_true", "logits", "value"),
    [
        # log1p(exp(-2)), log1p(exp(-1)), 3 + log1p(exp(-3)): the statement's worked example.
        ([1.0], [2.0], 0.1269280110429725),
        ([0.0], [-1.0], 0.31326168751822286),
        ([1.0], [-3.0], 3.048587351573742),
        ([1.0, 0.0, 1.0, 0.0], [2.0, -1.0, -3.0, 1000.0], 250.87219426253372),
        # z = 0: sigmoid is 1/2 whatever the label.
        ([1.0, 0.0], [0.0, 0.0], math.log(2)),
    ],
)
def test_bce_logits_statement_values(
    y_true: list[float], logits: list[float], value: float
) -> None:
    np.testing.assert_allclose(
        bce_logits(np.array(y_true), np.array(logits)), value, rtol=RTOL, atol=0
    )
    np.testing.assert_allclose(bce_formula(y_true, logits), value, rtol=RTOL, atol=0)


# --- ex06 against scipy, scikit-learn and the formula ---------------------------------------


@pytest.mark.parametrize("extreme", [False, True], ids=["moderate", "with +-1000"])
@pytest.mark.parametrize("seed", SEEDS)
def test_cce_logits_matches_scipy_log_softmax_and_logsumexp(seed: int, extreme: bool) -> None:
    rng = np.random.default_rng(seed)
    y, z = _categorical(rng)
    if extreme:
        z = _with_extremes(rng, z)
    np.testing.assert_allclose(cce_logits(y, z), cce_oracle(y, z), rtol=RTOL, atol=0)
    by_lse = float(np.mean(logsumexp(z, axis=1) - np.sum(y * z, axis=1)))
    np.testing.assert_allclose(cce_logits(y, z), by_lse, rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_logits_matches_sklearn_log_loss_on_the_softmax(seed: int) -> None:
    # |z| <= 8: every softmax probability is at least exp(-16) / 20 = 5.6e-9, far above
    # log_loss's clipping at 2.2e-16, and rows sum to 1 within its check.
    rng = np.random.default_rng(seed)
    y, z = _categorical(rng, top=8.0)
    c = y.shape[1]
    expected = log_loss(np.argmax(y, axis=1), softmax(z, axis=1), labels=list(range(c)))
    np.testing.assert_allclose(cce_logits(y, z), expected, rtol=RTOL_SKLEARN, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_logits_matches_the_formula_in_plain_python(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, z = _categorical(rng)
    z = _with_extremes(rng, z)
    np.testing.assert_allclose(cce_logits(y, z), cce_formula(y, z), rtol=RTOL, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_logits_of_float32_and_int_inputs_is_the_float64_value(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, z = _categorical(rng)
    z32 = _with_extremes(rng, z).astype(np.float32)
    expected = cce_formula(y, z32.astype(np.float64))
    np.testing.assert_allclose(cce_logits(y.astype(np.int64), z32), expected, rtol=RTOL, atol=0)
    np.testing.assert_allclose(cce_logits(y.astype(np.float32), z32), expected, rtol=RTOL, atol=0)


# --- ex06: exact values, by hand -------------------------------------------------------------
# With m the row's largest logit, every other exp(z - m) below exp(-745) is exactly 0: the
# log-sum-exp is m + log(k) for k logits tied at m, and the loss m + log(k) - z_true.

CCE_EXACT = [
    ([[0.0, 0.0, 1.0]], [[1000.0, 0.0, -1000.0]], 2000.0),
    ([[0.0, 1.0, 0.0]], [[0.0, 1000.0, 0.0]], 0.0),
    ([[1.0, 0.0]], [[-800.0, 0.0]], 800.0),
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0]], 1000.0),
    ([[0.0, 1.0]], [[100.0, 0.0]], 100.0),
    ([[1.0, 0.0], [0.0, 1.0]], [[-1000.0, 1000.0], [-1000.0, 1000.0]], 1000.0),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("y_true", "logits", "value"), CCE_EXACT)
def test_cce_logits_is_exact_at_large_logits(
    y_true: list[list[float]], logits: list[list[float]], value: float, dtype: str
) -> None:
    assert cce_logits(np.array(y_true, dtype), np.array(logits, dtype)) == value


@pytest.mark.parametrize(
    ("y_true", "logits", "value"),
    [
        # log(1 + e^-1 + e^-1.9), and the statement's worked example.
        ([[1.0, 0.0, 0.0]], [[2.0, 1.0, 0.1]], 0.41703001627783376),
        (
            [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
            [[2.0, 1.0, 0.1], [1000.0, 0.0, -1000.0]],
            (0.41703001627783376 + 2000.0) / 2,
        ),
        # Ties: log(3) for three equal logits, at -1000 as at 1000; log(1 + e^-1) for [1000, 999].
        ([[0.0, 0.0, 1.0]], [[-1000.0, -1000.0, -1000.0]], math.log(3)),
        ([[1.0, 0.0, 0.0]], [[1000.0, 1000.0, 1000.0]], math.log(3)),
        ([[1.0, 0.0]], [[1000.0, 999.0]], math.log1p(math.exp(-1))),
    ],
)
def test_cce_logits_statement_values(
    y_true: list[list[float]], logits: list[list[float]], value: float
) -> None:
    # -1000 + log(3) keeps log(3) only to an ulp of 1000 (1.1e-13): 1e-13 relative here.
    np.testing.assert_allclose(
        cce_logits(np.array(y_true), np.array(logits)), value, rtol=1e-12, atol=0
    )


# --- the mistakes do what their names say ----------------------------------------------------

BCE_MISTAKES = "mistakes_bce_logits"
CCE_MISTAKES = "mistakes_cce_logits"


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_overflow_mistakes_are_right_where_nothing_overflows(seed: int) -> None:
    # |z| <= 30: exp(z) is finite. Both forms round 1 + exp(-30) or 30 + log1p(exp(30)), so a
    # tiny loss (9.4e-14 at z = -30, y = 0) keeps few digits: atol, not rtol, covers it.
    rng = np.random.default_rng(seed)
    y, z = _binary(rng, top=30.0)
    right = bce_formula(y, z)
    for name in ("naive_softplus", "exp_minus_z"):
        np.testing.assert_allclose(_mistake(BCE_MISTAKES, name)(y, z), right, rtol=RTOL, atol=1e-13)
    # Sigmoid first loses digits in 1 - sigmoid(z) as z grows (6e-4 relative at z = 30, where
    # sigmoid(z) is 1 - 9.4e-14), and 1 - sigmoid(z) is 0 from z = 36.7 on: |z| <= 15 here.
    y, z = _binary(rng, top=15.0)
    np.testing.assert_allclose(
        _mistake(BCE_MISTAKES, "naive_sigmoid")(y, z), bce_formula(y, z), rtol=1e-9
    )


@pytest.mark.parametrize(
    ("name", "y_true", "logits"),
    [
        ("naive_sigmoid", [0.0], [40.0]),  # sigmoid(40) == 1.0: -log(0)
        ("naive_sigmoid", [0.0], [1000.0]),
        ("naive_sigmoid", [1.0], [-1000.0]),  # exp(1000) overflows: sigmoid 0, -log(0)
        ("naive_sigmoid", [1.0], [1000.0]),  # 0 * log(0) = NaN
        ("naive_softplus", [0.0], [710.0]),  # exp(710) overflows
        ("naive_softplus", [1.0], [1000.0]),  # inf - 1000
        ("exp_minus_z", [1.0], [-710.0]),  # exp(710) overflows
        ("exp_minus_z", [0.0], [-1000.0]),
        ("missing_abs", [1.0], [-1000.0]),
    ],
)
def test_bce_overflow_mistakes_are_not_finite_where_they_overflow(
    name: str, y_true: list[float], logits: list[float]
) -> None:
    assert not math.isfinite(_mistake(BCE_MISTAKES, name)(y_true, logits))


def test_bce_overflow_mistakes_are_right_on_the_side_they_do_not_overflow() -> None:
    softplus = _mistake(BCE_MISTAKES, "naive_softplus")
    exp_minus_z = _mistake(BCE_MISTAKES, "exp_minus_z")
    assert softplus([1.0], [-1000.0]) == 1000.0
    assert softplus([0.0], [40.0]) == 40.0
    assert exp_minus_z([0.0], [1000.0]) == 1000.0
    assert exp_minus_z([1.0], [1000.0]) == 0.0


def test_bce_clipped_sigmoid_is_finite_but_capped_at_minus_log_eps() -> None:
    clipped = _mistake(BCE_MISTAKES, "naive_sigmoid_clipped")
    for y, z in (([0.0], [40.0]), ([0.0], [1000.0]), ([1.0], [-1000.0])):
        np.testing.assert_allclose(clipped(y, z), -math.log(1e-7), rtol=1e-9)
    np.testing.assert_allclose(clipped([1.0], [1000.0]), -math.log1p(-1e-7), rtol=1e-9)
    # Right where sigmoid stays inside [1e-7, 1 - 1e-7].
    np.testing.assert_allclose(clipped([1.0, 0.0], [2.0, -1.0]), bce_formula([1, 0], [2, -1]))


@pytest.mark.parametrize("seed", SEEDS)
def test_bce_formula_mistakes_are_their_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, z = _binary(rng)
    terms = [bce_formula([a], [b]) for a, b in zip(y, z, strict=True)]
    right = math.fsum(terms) / len(terms)

    def check(name: str, expected: float) -> None:
        np.testing.assert_allclose(_mistake(BCE_MISTAKES, name)(y, z), expected, rtol=1e-10)

    check("wrong_sign", right + 2 * float(np.mean(y * z)))
    check("missing_minus", -right)
    check("sum_not_mean", math.fsum(terms))
    check("log2", right / math.log(2))
    # exp(-z) for exp(-|z|): |z| too much on every negative logit.
    check("missing_abs", right + float(np.mean(np.where(z < 0, -z, 0.0))))
    # Labels -1/+1 read from 0/1: right on the positives, log 2 on every negative.
    check("plus_minus_one_labels", float(np.mean(np.where(y == 1, terms, math.log(2)))))
    p = np.clip(z, 1e-7, 1 - 1e-7)
    ex01 = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    check("logits_as_probabilities", float(ex01))
    check("swapped_args", bce_formula(z, y))


def test_cce_no_max_overflows_and_underflows() -> None:
    no_max = _mistake(CCE_MISTAKES, "no_max_subtracted")
    assert not math.isfinite(no_max([[1.0, 0.0]], [[1000.0, 0.0]]))
    # exp(100) is finite in float64 and overflows in float32 (above 88.72).
    assert no_max([[0.0, 1.0]], np.array([[100.0, 0.0]])) == 100.0
    assert not math.isfinite(no_max([[0.0, 1.0]], np.array([[100.0, 0.0]], np.float32)))
    assert not math.isfinite(no_max([[1.0, 0.0]], [[-1000.0, -1000.0]]))  # log(0)
    # Right where nothing overflows: [-800, 0] sums to exactly 1.
    assert no_max([[1.0, 0.0]], [[-800.0, 0.0]]) == 800.0


def test_cce_softmax_then_log_underflows_on_a_far_true_class_only() -> None:
    then_log = _mistake(CCE_MISTAKES, "softmax_then_log")
    assert not math.isfinite(then_log([[1.0, 0.0]], [[-800.0, 0.0]]))
    np.testing.assert_allclose(
        then_log([[1.0, 0.0]], [[1000.0, 999.0]]), math.log1p(math.exp(-1)), rtol=1e-12
    )
    clipped = _mistake(CCE_MISTAKES, "softmax_then_log_clipped")
    np.testing.assert_allclose(clipped([[1.0, 0.0]], [[-800.0, 0.0]]), -math.log(1e-7))
    np.testing.assert_allclose(clipped([[0.0, 1.0, 0.0]], [[0.0, 1000.0, 0.0]]), 1e-7, rtol=1e-6)


def test_cce_global_max_fails_only_on_rows_far_below_the_batch_max() -> None:
    global_max = _mistake(CCE_MISTAKES, "global_max")
    assert not math.isfinite(global_max([[1.0, 0.0], [0.0, 1.0]], [[1000.0, 0.0], [0.5, 2.0]]))
    y, z = [[1.0, 0.0], [0.0, 1.0]], [[3.0, 0.0], [0.5, 2.0]]
    np.testing.assert_allclose(global_max(y, z), cce_formula(np.array(y), np.array(z)))


@pytest.mark.parametrize("seed", SEEDS)
def test_cce_formula_mistakes_are_their_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, z = _categorical(rng)
    rows = np.array([cce_formula(y[i : i + 1], z[i : i + 1]) for i in range(len(y))])
    right = float(np.mean(rows))

    def check(name: str, expected: float, rtol: float = 1e-10) -> None:
        np.testing.assert_allclose(_mistake(CCE_MISTAKES, name)(y, z), expected, rtol=rtol)

    check("missing_minus", -right)
    check("sum_not_mean", float(np.sum(rows)))
    check("mean_over_all", float(np.sum(rows)) / z.size)
    check("log2", right / math.log(2))
    check("max_not_added_back", right - float(np.mean(np.max(z, axis=1))))
    check("softmax_twice", -float(np.mean(np.sum(y * np.log(softmax(softmax(z, 1), 1)), 1))))
    check(
        "logits_as_probabilities",
        -float(np.mean(np.sum(y * np.log(np.clip(z, 1e-7, 1 - 1e-7)), 1))),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        by_column = -float(np.mean(np.sum(y * np.log(softmax(z, axis=0)), axis=1)))
    if math.isfinite(by_column):
        check("softmax_axis0", by_column, rtol=1e-8)
    else:
        assert not math.isfinite(_mistake(CCE_MISTAKES, "softmax_axis0")(y, z))


def test_cce_softmax_axis0_is_zero_on_a_single_row() -> None:
    # Normalised over the examples, one row's softmax is all ones: log 1 = 0.
    axis0 = _mistake(CCE_MISTAKES, "softmax_axis0")
    assert axis0([[0.0, 1.0, 0.0]], [[0.5, -1.2, 2.0]]) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_each_other_form_of_a_mistake_is_that_mistake_where_nothing_overflows(seed: int) -> None:
    """The forms a mistake lists after its first (ex05.yaml, ex06.yaml) compute the same
    loss wherever no exp overflows or underflows: they differ only in where they break."""
    rng = np.random.default_rng(seed)
    y, z = _binary(rng, top=30.0)
    np.testing.assert_allclose(
        _mistake(BCE_MISTAKES, "plus_minus_one_labels_naive")(y, z),
        _mistake(BCE_MISTAKES, "plus_minus_one_labels")(y, z),
        rtol=1e-9,
        atol=1e-12,
    )
    y, z = _categorical(rng, top=30.0)
    for first, other in (
        ("softmax_then_log", "softmax_then_log_no_max"),
        ("softmax_then_log_clipped", "softmax_then_log_clipped_no_max"),
        ("softmax_twice", "softmax_twice_no_max"),
        ("softmax_axis0", "softmax_axis0_stable"),
        ("softmax_axis0", "softmax_axis0_no_max"),
    ):
        declared = _mistake(CCE_MISTAKES, first)(y, z)
        if math.isfinite(declared):
            np.testing.assert_allclose(_mistake(CCE_MISTAKES, other)(y, z), declared, rtol=1e-8)


def test_the_stable_and_textbook_forms_break_where_students_code_breaks() -> None:
    stable = _mistake(CCE_MISTAKES, "softmax_axis0_stable")
    naive = _mistake(CCE_MISTAKES, "softmax_axis0")
    textbook = _mistake(CCE_MISTAKES, "softmax_axis0_no_max")
    # Two rows 800 apart in the true column: the probability underflows to 0 in the naive
    # form (log 0), the stable form is finite, the textbook one overflows (NaN).
    y, z = [[1.0, 0.0], [0.0, 1.0]], [[-800.0, 0.0], [0.0, 1000.0]]
    assert math.isfinite(stable(y, z))
    assert not math.isfinite(naive(y, z))
    assert not math.isfinite(textbook(y, z))
    then_log = _mistake(CCE_MISTAKES, "softmax_then_log_no_max")
    assert math.isnan(then_log([[1.0, 0.0]], [[1000.0, 999.0]]))  # inf / inf
    naive_labels = _mistake(BCE_MISTAKES, "plus_minus_one_labels_naive")
    assert naive_labels([1.0], [-1000.0]) == math.inf
    assert _mistake(BCE_MISTAKES, "plus_minus_one_labels")([1.0], [-1000.0]) == 1000.0


def test_a_clipped_mistake_takes_the_clipping_constant_students_choose() -> None:
    clipped = _load(BCE_MISTAKES, "naive_sigmoid_clipped")
    for eps in (1e-15, 1e-7, 1e-5):
        np.testing.assert_allclose(
            clipped(np.array([0.0]), np.array([40.0]), eps=eps), -math.log(eps), rtol=1e-4
        )
    softmax_clipped = _load(CCE_MISTAKES, "softmax_then_log_clipped")
    np.testing.assert_allclose(
        softmax_clipped(np.array([[1.0, 0.0]]), np.array([[-800.0, 0.0]]), eps=1e-12),
        -math.log(1e-12),
    )


# --- the declared variants are right ---------------------------------------------------------


@pytest.mark.parametrize("name", ["logaddexp", "loop_math", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_bce_variants_agree_with_the_oracle(seed: int, name: str) -> None:
    rng = np.random.default_rng(seed)
    y, z = _binary(rng)
    z = _with_extremes(rng, z)
    variant = _load("variants_bce_logits", name)
    rtol = 1e-5 if name == "float32" else RTOL
    expected = bce_formula(y, z.astype(np.float32) if name == "float32" else z)
    np.testing.assert_allclose(float(variant(y, z)), expected, rtol=rtol, atol=0)


@pytest.mark.parametrize("name", ["logaddexp_reduce", "loop_math", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_cce_variants_agree_with_the_oracle(seed: int, name: str) -> None:
    rng = np.random.default_rng(seed)
    y, z = _categorical(rng)
    z = _with_extremes(rng, z)
    variant = _load("variants_cce_logits", name)
    rtol = 1e-5 if name == "float32" else RTOL
    expected = cce_formula(y, z.astype(np.float32) if name == "float32" else z)
    np.testing.assert_allclose(float(variant(y, z)), expected, rtol=rtol, atol=0)


# --- what the grader relies on ---------------------------------------------------------------


def _calls() -> list[tuple[Callable[..., Any], tuple[np.ndarray, ...]]]:
    calls: list[tuple[Callable[..., Any], tuple[np.ndarray, ...]]] = []
    for dtype in ("float64", "float32"):
        calls += [
            (bce_logits, (np.array([1, 0, 1], dtype), np.array([-1000.0, 1000.0, 0.5], dtype))),
            (bce_logits, (np.array([1, 0], np.int64), np.array([3.0, -2.0], dtype))),
            (cce_logits, (np.eye(2, dtype=dtype), np.array([[1000.0, 0.0], [-1000, 5.0]], dtype))),
            (cce_logits, (np.eye(3, dtype=np.int64), np.array([[1.0, 2, 3]] * 3, dtype))),
        ]
    return calls


@pytest.mark.parametrize(("fn", "args"), _calls())
def test_references_do_not_modify_their_inputs_and_return_a_finite_float(
    fn: Callable[..., Any], args: tuple[np.ndarray, ...]
) -> None:
    before = [a.copy() for a in args]
    for a in args:
        a.flags.writeable = False  # an in-place write would raise
    value = fn(*args)
    for a, b in zip(args, before, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, strict=True)
    assert type(value) is float
    assert math.isfinite(value)


# --- the generators the exercises draw from --------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_logits_generators_draw_magnitudes_in_scale_and_the_share_of_extremes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    binary = GENERATORS["logits_binary"](rng, n=[1, 500], scale=[0.5, 4.0])
    y, z = binary["y_true"], binary["logits"]
    assert y.shape == z.shape
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert ((np.abs(z) >= 0.5) & (np.abs(z) <= 4.0)).all()
    out = GENERATORS["logits_categorical"](
        rng, n=200, classes=5, extreme=0.1, dtype="float32", label_dtype="int64"
    )
    onehot, logits = out["y_true"], out["logits"]
    assert onehot.dtype == np.int64
    assert logits.dtype == np.float32
    np.testing.assert_array_equal(onehot.sum(axis=1), 1)
    extreme = np.abs(logits) >= 750
    assert extreme.sum() == 100  # 10% of the 1000 entries
    assert (np.abs(logits[extreme]) <= 1000).all()
    assert (logits[~extreme] != 0).all()
    # At least one extreme logit whenever extreme > 0, even in a single example.
    one = GENERATORS["logits_binary"](rng, n=1, extreme=0.01)["logits"]
    assert 750 <= abs(float(one[0])) <= 1000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": [0.0, 1.0]}, "scale must be"),
        ({"scale": [2.0, 1.0]}, "scale must be"),
        ({"extreme": 1.5}, "extreme must be"),
        ({"label_dtype": "int8"}, "label_dtype must be one of"),
    ],
)
def test_logits_generators_refuse_bad_options(options: dict[str, object], message: str) -> None:
    for name in ("logits_binary", "logits_categorical"):
        with pytest.raises(ValueError, match=message):
            GENERATORS[name](np.random.default_rng(0), n=5, **options)
