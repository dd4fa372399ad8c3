"""Other correct implementations of ex02 (categorical cross-entropy).

Each is written the way a student might, called like a student's function; grade selftest
proves each gets full marks on every case, so the cases never fail a correct style (loops,
float32 arithmetic, picking the true class, another clipping constant in the accepted
range), not just the reference's.
"""

import math

import numpy as np


def loop_math(y_true, y_pred):
    """Plain Python loops with math.log over the nonzero labels only, eps = 1e-7."""
    eps = 1e-7
    total = 0.0
    for row_true, row_pred in zip(y_true, y_pred, strict=True):
        for y, p in zip(row_true, row_pred, strict=True):
            if y:
                total -= float(y) * math.log(min(max(float(p), eps), 1 - eps))
    return total / len(y_true)


def float32(y_true, y_pred):
    """Computed entirely in float32 with eps = 1e-7: sum over the classes, mean over rows."""
    y = np.asarray(y_true, dtype=np.float32)
    eps = np.float32(1e-7)
    p = np.clip(np.asarray(y_pred, dtype=np.float32), eps, np.float32(1) - eps)
    return float(-(y * np.log(p)).sum(axis=1).mean())


def take_along_axis(y_true, y_pred):
    """The true class's probability picked with np.take_along_axis at the one-hot argmax.

    Clips at eps = 1e-5, the top of the accepted range.
    """
    true_class = np.argmax(y_true, axis=1)[:, np.newaxis]
    picked = np.take_along_axis(y_pred, true_class, axis=1)
    return float(-np.mean(np.log(np.clip(picked, 1e-5, 1 - 1e-5))))


def sklearn_eps(y_true, y_pred):
    """Clips at the machine epsilon of the predictions' dtype, as scikit-learn's log_loss.

    2.220446049250313e-16 (the bottom of the accepted range) for float64, 1.19e-7 for
    float32; np.where keeps 0 * log(p) out of the sum.
    """
    p = np.asarray(y_pred)
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    terms = np.where(y_true > 0, y_true * np.log(p), 0.0)
    return float(-np.mean(np.sum(terms, axis=1)))
