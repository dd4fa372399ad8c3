"""Other correct implementations of ex01 (binary cross-entropy).

Each is written the way a student might, called like a student's function; grade selftest
proves each gets full marks on every case, so the cases never fail a correct style (a loop,
float32 arithmetic, another clipping constant in the accepted range), not just the
reference's.
"""

import math

import numpy as np


def loop_math(y_true, y_pred):
    """A plain Python loop with math.log, clipping at eps = 1e-15 with min and max."""
    eps = 1e-15
    total = 0.0
    for y, p in zip(y_true, y_pred, strict=True):
        y, p = float(y), min(max(float(p), eps), 1 - eps)
        total -= y * math.log(p) + (1 - y) * math.log(1 - p)
    return total / len(y_true)


def float32(y_true, y_pred):
    """Computed entirely in float32 with eps = 1e-7, as Keras does on a GPU."""
    y = np.asarray(y_true, dtype=np.float32)
    eps = np.float32(1e-7)
    p = np.clip(np.asarray(y_pred, dtype=np.float32), eps, np.float32(1) - eps)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def sklearn_eps(y_true, y_pred):
    """Clips at the machine epsilon of the predictions' dtype, as scikit-learn's log_loss.

    2.220446049250313e-16 (the bottom of the accepted range) for float64, 1.19e-7 for float32.
    """
    p = np.asarray(y_pred)
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))


def where_log1p(y_true, y_pred):
    """np.where picks -log(p) or -log1p(-p) per example; np.maximum / np.minimum, eps = 1e-5."""
    eps = 1e-5
    p = np.minimum(np.maximum(y_pred, eps), 1 - eps)
    return float(np.mean(np.where(y_true == 1, -np.log(p), -np.log1p(-p))))
