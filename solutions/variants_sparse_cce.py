"""Other correct implementations of ex03 (sparse categorical cross-entropy).

Each is written the way a student might, called like a student's function; grade selftest
proves each gets full marks on every case, so the cases never fail a correct style (a loop,
float32 arithmetic, np.take_along_axis, a one-hot matrix, another clipping constant in the
accepted range), not just the reference's.
"""

import math

import numpy as np


def loop_math(y_true, y_pred):
    """A plain Python loop with math.log, indexing each row with int(label), eps = 1e-7."""
    total = 0.0
    for label, row in zip(y_true, y_pred, strict=True):
        total -= math.log(min(max(float(row[int(label)]), 1e-7), 1 - 1e-7))
    return total / len(y_true)


def float32(y_true, y_pred):
    """Computed entirely in float32 with eps = 1e-7, fancy indexing per row."""
    p = np.asarray(y_pred, dtype=np.float32)[np.arange(len(y_true)), y_true]
    eps = np.float32(1e-7)
    return float(-np.log(np.clip(p, eps, np.float32(1) - eps)).mean())


def take_along_axis(y_true, y_pred):
    """np.take_along_axis with the labels as an (N, 1) index column, eps = 1e-15."""
    index = np.asarray(y_true).reshape(-1, 1).astype(np.intp)
    picked = np.take_along_axis(y_pred, index, axis=1)
    return float(-np.log(np.clip(picked, 1e-15, 1 - 1e-15)).mean())


def one_hot(y_true, y_pred):
    """One-hot rows from np.eye, then ex02's formula; eps = 1e-5, the top of the range."""
    onehot = np.eye(y_pred.shape[1])[y_true]
    p = np.clip(y_pred, 1e-5, 1 - 1e-5)
    return float(-np.mean(np.sum(onehot * np.log(p), axis=1)))


def sklearn_eps(y_true, y_pred):
    """Clips at the machine epsilon of the probabilities' dtype, as scikit-learn's log_loss.

    2.220446049250313e-16 (the bottom of the accepted range) for float64, 1.19e-7 for float32.
    """
    eps = np.finfo(y_pred.dtype).eps
    picked = y_pred[np.arange(y_pred.shape[0]), y_true]
    return float(-np.mean(np.log(np.clip(picked, eps, 1 - eps))))
