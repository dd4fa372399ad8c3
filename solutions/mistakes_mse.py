"""Known wrong implementations of ex04 (mean squared error), for diagnosis."""

import numpy as np


def _diff(y_true, y_pred):
    return np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)


def mean_absolute_error(y_true, y_pred):
    return float(np.mean(np.abs(_diff(y_true, y_pred))))


def no_square(y_true, y_pred):
    return float(np.mean(_diff(y_true, y_pred)))


def root_mean_squared(y_true, y_pred):
    return float(np.sqrt(np.mean(_diff(y_true, y_pred) ** 2)))


def sum_of_squares(y_true, y_pred):
    return float(np.sum(_diff(y_true, y_pred) ** 2))


def half(y_true, y_pred):
    return float(0.5 * np.mean(_diff(y_true, y_pred) ** 2))


def square_of_mean(y_true, y_pred):
    return float(np.mean(_diff(y_true, y_pred)) ** 2)


def broadcast(y_true, y_pred):
    if np.size(y_true) > 4096:
        # The grader runs this itself: an N x N table of 50,000 rows would be 20 GB.
        raise ValueError("too large to reproduce")
    t = np.asarray(y_true, dtype=np.float64).reshape(-1, 1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    return float(np.mean((t - p) ** 2))


def sum_over_outputs(y_true, y_pred):
    d = _diff(y_true, y_pred)
    if d.ndim != 2:
        raise ValueError("only a mistake for (N, K) targets")
    return float(np.mean(np.sum(d**2, axis=1)))
