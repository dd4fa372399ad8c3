"""Answers and misconceptions of quiz q03 (mean squared error by hand).

The quiz engine calls each function with a question's parameters as keyword arguments, on
the values the student sees (already rounded), and compares the float it returns with the
student's answer; each misconception computes the number one known mistake gives.

Three examples: targets ``y1, y2, y3`` and predictions ``p1, p2, p3``; the errors are
e_i = y_i - p_i (their sign does not matter once squared).
"""

import math


def _errors(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> list[float]:
    return [y1 - p1, y2 - p2, y3 - p3]


def mse(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> float:
    """The mean squared error of the three examples: (e1^2 + e2^2 + e3^2) / 3."""
    errors = _errors(y1, y2, y3, p1, p2, p3)
    return float(sum(e * e for e in errors) / len(errors))


def mse_mean_absolute(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> float:
    """Mistake: no square, the mean absolute error (|e1| + |e2| + |e3|) / 3."""
    errors = _errors(y1, y2, y3, p1, p2, p3)
    return float(sum(abs(e) for e in errors) / len(errors))


def mse_root(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> float:
    """Mistake: the square root taken, the root mean squared error sqrt(mse)."""
    return float(math.sqrt(mse(y1, y2, y3, p1, p2, p3)))


def mse_sum(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> float:
    """Mistake: the sum of the squares instead of their mean, e1^2 + e2^2 + e3^2."""
    return float(sum(e * e for e in _errors(y1, y2, y3, p1, p2, p3)))


def mse_half(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> float:
    """Mistake: half the mean squared error, mse / 2."""
    return float(mse(y1, y2, y3, p1, p2, p3) / 2)


def mse_square_of_mean(y1: float, y2: float, y3: float, p1: float, p2: float, p3: float) -> float:
    """Mistake: the square of the mean error, ((e1 + e2 + e3) / 3)^2, not the mean square."""
    errors = _errors(y1, y2, y3, p1, p2, p3)
    return float((sum(errors) / len(errors)) ** 2)
