"""Answers and misconceptions of quiz q02 (categorical and sparse categorical cross-entropy).

The quiz engine calls each function with a question's parameters as keyword arguments, on
the values the student sees (already rounded), and compares the float it returns with the
student's answer. The answers use the natural log; each misconception computes the number
one known mistake gives, so the engine can name the mistake from the student's number.

``rows`` is a list of N predicted distributions (lists of C probabilities summing to 1);
``ys`` the N integer labels, 0-based class indices (label 0 is column 0), the format of
sparse categorical cross-entropy in Keras and of exercise ex03. A probability of exactly 0
where the log is taken gives an infinite loss (``math.inf``): these functions never clip.
"""

import math
from collections.abc import Callable, Sequence

Log = Callable[[float], float]
Rows = Sequence[Sequence[float]]


def _neg_log(x: float, log: Log = math.log) -> float:
    """-log(x), or +infinity at x = 0 (math.log raises there)."""
    return -log(x) if x > 0 else math.inf


def _check(rows: Rows, ys: Sequence[int]) -> None:
    if len(rows) != len(ys) or not ys:
        raise ValueError(f"need one label per row, at least one: {rows}, {ys}")
    for row, y in zip(rows, ys, strict=True):
        if not 0 <= y < len(row):
            raise ValueError(f"label {y} is not a 0-based index into a row of {len(row)}")


def _picked(rows: Rows, ys: Sequence[int], offset: int = 0) -> list[float]:
    """The probability in column y - offset of each row (column -1 is the last one)."""
    _check(rows, ys)
    return [float(row[int(y) - offset]) for row, y in zip(rows, ys, strict=True)]


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values))


def sparse_cce(rows: Rows, ys: Sequence[int]) -> float:
    """The sparse categorical cross-entropy: the mean over rows i of -ln(rows[i][ys[i]]).

    Equal to the categorical cross-entropy of the one-hot rows of ys.
    """
    return _mean([_neg_log(p) for p in _picked(rows, ys)])


def sparse_cce_one_based(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: labels read as 1-based, the mean of -ln(rows[i][ys[i] - 1]).

    As numpy's y_pred[np.arange(N), y_true - 1] computes it (ex03's one_based): label 0
    picks column -1, the last column.
    """
    return _mean([_neg_log(p) for p in _picked(rows, ys, offset=1)])


def sparse_cce_log2(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: log base 2 instead of ln, the mean of -log2(rows[i][ys[i]])."""
    return _mean([_neg_log(p, math.log2) for p in _picked(rows, ys)])


def sparse_cce_log10(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: log base 10 instead of ln, the mean of -log10(rows[i][ys[i]])."""
    return _mean([_neg_log(p, math.log10) for p in _picked(rows, ys)])


def sparse_cce_missing_minus(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: no minus sign, the mean of ln(rows[i][ys[i]]), a negative number."""
    return -sparse_cce(rows, ys)


def sparse_cce_sum(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: the sum over the N rows instead of the mean (N times too large)."""
    return float(sum(_neg_log(p) for p in _picked(rows, ys)))


def sparse_cce_mean_over_all(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: the sum of the N losses divided by N * C, as if averaging every entry."""
    total = sum(_neg_log(p) for p in _picked(rows, ys))
    return float(total / sum(len(row) for row in rows))


def sparse_cce_argmax(rows: Rows, ys: Sequence[int]) -> float:
    """Mistake: the largest probability of each row instead of the true class's.

    The mean of -ln(max(rows[i])): the loss of the predicted class, not the true one.
    """
    _check(rows, ys)
    return _mean([_neg_log(max(row)) for row in rows])


# --- fixed-value questions: the engine calls these with no arguments -----------------------

#: q02 tutorial_dog: classes dog, cat, rabbit; a dog (label 0), one-hot [1, 0, 0].
DOG_ROWS = ([0.7, 0.2, 0.1],)
DOG_YS = (0,)
#: q02 sparse_rabbit: classes dog, cat, rabbit; a rabbit (label 2).
RABBIT_ROWS = ([0.5, 0.2, 0.3],)
RABBIT_YS = (2,)


def dog_log2() -> float:
    """Mistake: -log2(0.7), the dog example's loss in base 2 (a tutorial prints 0.52)."""
    return sparse_cce_log2(DOG_ROWS, DOG_YS)


def dog_log10() -> float:
    """Mistake: -log10(0.7), the dog example's loss in base 10."""
    return sparse_cce_log10(DOG_ROWS, DOG_YS)


def dog_missing_minus() -> float:
    """Mistake: ln(0.7), the dog example's loss without the minus sign (negative)."""
    return sparse_cce_missing_minus(DOG_ROWS, DOG_YS)


def dog_every_class() -> float:
    """Mistake: -(ln 0.7 + ln 0.2 + ln 0.1), every class's -ln summed, the labels ignored."""
    return float(sum(_neg_log(p) for p in DOG_ROWS[0]))


def rabbit_one_based() -> float:
    """Mistake: label 2 read as 1-based, column 1: -ln(0.2)."""
    return sparse_cce_one_based(RABBIT_ROWS, RABBIT_YS)


def rabbit_argmax() -> float:
    """Mistake: the most probable class instead of the true one: -ln(0.5)."""
    return sparse_cce_argmax(RABBIT_ROWS, RABBIT_YS)


def rabbit_log2() -> float:
    """Mistake: -log2(0.3), the rabbit example's loss in base 2."""
    return sparse_cce_log2(RABBIT_ROWS, RABBIT_YS)
