"""Answers and misconceptions of quiz q01 (binary cross-entropy by hand).

The quiz engine calls each function with a question's parameters as keyword arguments, on
the values the student sees (already rounded), and compares the float it returns with the
student's answer. The answers use the natural log; each misconception computes the number
one known mistake gives, so the engine can name the mistake from the student's number.

Single example: ``p`` is the predicted probability of class 1, ``y`` the label (0 or 1).
Batch: ``ys`` are the labels, ``ps`` the predicted probabilities, lists of equal length.
A probability of exactly 0 for the observed label gives an infinite loss (``math.inf``),
as it does by hand: these functions never clip.
"""

import math
from collections.abc import Callable, Sequence

Log = Callable[[float], float]


def _log(x: float, log: Log = math.log) -> float:
    """log(x), or -infinity at x = 0 (math.log raises there)."""
    return log(x) if x > 0 else -math.inf


def _log_likelihood(p: float, y: float, log: Log = math.log) -> float:
    """y log(p) + (1 - y) log(1 - p): the log of the probability given to the label y.

    Only the term of the observed label is evaluated, so that a probability of 1 for the
    other label gives 0 * log(0) = 0, as the formula means, not NaN.
    """
    pos = y * _log(p, log) if y != 0 else 0.0
    neg = (1 - y) * _log(1 - p, log) if y != 1 else 0.0
    return pos + neg


def bce(p: float, y: float) -> float:
    """The binary cross-entropy of one example: -(y ln p + (1 - y) ln(1 - p))."""
    return float(-_log_likelihood(p, y))


def bce_log2(p: float, y: float) -> float:
    """Mistake: log base 2 instead of ln, -(y log2 p + (1 - y) log2(1 - p)) = bce / ln 2."""
    return float(-_log_likelihood(p, y, math.log2))


def bce_log10(p: float, y: float) -> float:
    """Mistake: log base 10 instead of ln, -(y log10 p + (1 - y) log10(1 - p)) = bce / ln 10."""
    return float(-_log_likelihood(p, y, math.log10))


def bce_missing_minus(p: float, y: float) -> float:
    """Mistake: no leading minus, y ln p + (1 - y) ln(1 - p), a negative number."""
    return float(_log_likelihood(p, y))


def bce_other_class(p: float, y: float) -> float:
    """Mistake: the probability of the other class, -(y ln(1 - p) + (1 - y) ln p).

    What a student gets who takes -ln p for a negative example (p is the probability of
    class 1, not of the label) or -ln(1 - p) for a positive one.
    """
    return float(-_log_likelihood(p, 1 - y))


def _pairs(ys: Sequence[float], ps: Sequence[float]) -> list[tuple[float, float]]:
    """The (label, probability) pairs of a batch; at least one, as many labels as probabilities."""
    if len(ys) != len(ps) or not ys:
        raise ValueError(f"need as many labels as probabilities, at least one: {ys}, {ps}")
    return list(zip(ys, ps, strict=True))


def mean_bce(ys: Sequence[float], ps: Sequence[float]) -> float:
    """The mean binary cross-entropy of a batch.

    The mean over i of -(y_i ln p_i + (1 - y_i) ln(1 - p_i)).
    """
    return float(-sum(_log_likelihood(p, y) for y, p in _pairs(ys, ps)) / len(ys))


def mean_bce_sum(ys: Sequence[float], ps: Sequence[float]) -> float:
    """Mistake: the sum of the per-example losses instead of their mean (N times too large)."""
    return float(-sum(_log_likelihood(p, y) for y, p in _pairs(ys, ps)))


def mean_bce_positives_only(ys: Sequence[float], ps: Sequence[float]) -> float:
    """Mistake: the (1 - y) ln(1 - p) term left out, mean over i of -y_i ln p_i.

    Every negative example then counts 0, still divided by all N (ex01's
    forgot_one_minus_y): y = [1, 0], p = [0.8, 0.1] gives 0.11157.
    """
    return float(-sum(y * _log(p) if y != 0 else 0.0 for y, p in _pairs(ys, ps)) / len(ys))


def mean_bce_log2(ys: Sequence[float], ps: Sequence[float]) -> float:
    """Mistake: log base 2 instead of ln, the mean of the base-2 losses (mean_bce / ln 2)."""
    return float(-sum(_log_likelihood(p, y, math.log2) for y, p in _pairs(ys, ps)) / len(ys))


def mean_bce_log10(ys: Sequence[float], ps: Sequence[float]) -> float:
    """Mistake: log base 10 instead of ln, the mean of the base-10 losses (mean_bce / ln 10)."""
    return float(-sum(_log_likelihood(p, y, math.log10) for y, p in _pairs(ys, ps)) / len(ys))


def mean_bce_missing_minus(ys: Sequence[float], ps: Sequence[float]) -> float:
    """Mistake: no leading minus, the mean of y_i ln p_i + (1 - y_i) ln(1 - p_i) (negative)."""
    return float(sum(_log_likelihood(p, y) for y, p in _pairs(ys, ps)) / len(ys))


# --- q01 hesitant_pair: one prediction p for two examples, one of each label ---------------


def pair_mean(p: float) -> float:
    """The mean binary cross-entropy of p for y = 1 and for y = 0: (-ln p - ln(1 - p)) / 2."""
    return mean_bce([1, 0], [p, p])


def pair_sum(p: float) -> float:
    """Mistake: the two losses of p (y = 1 and y = 0) added, not averaged."""
    return mean_bce_sum([1, 0], [p, p])


def pair_log2(p: float) -> float:
    """Mistake: the mean of the two losses of p with log base 2."""
    return mean_bce_log2([1, 0], [p, p])


# --- fixed-value questions: the engine calls these with no arguments -----------------------

#: q04 likelihood_value and nll_value: three examples' labels and predictions.
THREE_YS = (1, 0, 1)
THREE_PS = (0.9, 0.2, 0.7)
#: q04 underflow: 10,000 examples, each given probability 0.9 for its true label.
MANY_N = 10_000
MANY_P = 0.9
#: q04 clip_cap: the clipping constant of Keras.
KERAS_EPS = 1e-7


def three_likelihood_class1() -> float:
    """Mistake: the product of the predicted probabilities of class 1, 0.9 x 0.2 x 0.7.

    The likelihood multiplies the probabilities of the OBSERVED labels, 0.9 x 0.8 x 0.7.
    """
    return float(math.prod(THREE_PS))


def three_nll_mean() -> float:
    """Mistake: the mean of the three losses (the cost), not -ln of the likelihood (their sum)."""
    return mean_bce(THREE_YS, THREE_PS)


def three_nll_log10() -> float:
    """Mistake: -log10 of the likelihood 0.504 instead of -ln."""
    return len(THREE_YS) * mean_bce_log10(THREE_YS, THREE_PS)


def three_nll_log2() -> float:
    """Mistake: -log2 of the likelihood 0.504 instead of -ln."""
    return len(THREE_YS) * mean_bce_log2(THREE_YS, THREE_PS)


def many_nll_mean() -> float:
    """Mistake: the mean loss -ln(0.9) of the 10,000 examples, not their sum -ln(0.9^10000)."""
    return bce(MANY_P, 1)


def many_nll_log10() -> float:
    """Mistake: 10,000 x -log10(0.9), the negative log-likelihood in base 10."""
    return MANY_N * bce_log10(MANY_P, 1)


def clip_cap_log10() -> float:
    """Mistake: -log10(1e-7) = 7, the largest clipped loss in base 10 instead of ln."""
    return bce_log10(KERAS_EPS, 1)


def clip_cap_log2() -> float:
    """Mistake: -log2(1e-7), the largest clipped loss in base 2 instead of ln."""
    return bce_log2(KERAS_EPS, 1)
