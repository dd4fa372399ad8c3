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
    """One side flattened (y_true - y_pred.ravel()): (N, 1) against (N,) makes an N x N table.

    Right on (N,) inputs, where flattening changes nothing, and an error on (N, K): the
    student's code does the same, so this agrees with it on every case it can run.
    Computed without the table (the grader runs this itself, and a table of 50,000 rows
    would take 20 GB): with m the mean of t, the mean over every pair i, j of
    (t_i - p_j)^2 is mean((t - m)^2) + mean((p - m)^2), the cross term being 0.
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.ndim == 1:
        return float(np.mean((t - p) ** 2))
    if t.shape[1:] != (1,):
        raise ValueError("(N, K) against (N * K,) does not broadcast")
    t = t.reshape(-1)
    m = np.mean(t)
    return float(np.mean((t - m) ** 2) + np.mean((p - m) ** 2))


def sum_over_outputs(y_true, y_pred):
    d = _diff(y_true, y_pred)
    if d.ndim != 2:
        raise ValueError("only a mistake for (N, K) targets")
    return float(np.mean(np.sum(d**2, axis=1)))
