"""Other correct implementations of ex04 (mean squared error).

Each is written the way a student might, called like a student's function; grade selftest
proves each gets full marks on every case, so the cases never fail a correct style (a loop,
float32 arithmetic, np.average, a dot product), not just the reference's.
"""

import numpy as np


def loop(y_true, y_pred):
    """A plain Python loop over every entry of the raveled arrays, whatever the shape."""
    total = 0.0
    count = 0
    for t, p in zip(np.ravel(y_true), np.ravel(y_pred), strict=True):
        total += (float(t) - float(p)) ** 2
        count += 1
    return total / count


def float32(y_true, y_pred):
    """Computed entirely in float32, squaring with d * d."""
    d = np.asarray(y_true, dtype=np.float32) - np.asarray(y_pred, dtype=np.float32)
    return float(np.mean(d * d))


def average_square(y_true, y_pred):
    """np.square of the differences, averaged with np.average."""
    return float(np.average(np.square(np.subtract(y_true, y_pred))))


def dot(y_true, y_pred):
    """The raveled differences dotted with themselves, divided by the number of entries."""
    d = (np.asarray(y_true) - np.asarray(y_pred)).ravel()
    return float(d @ d / d.size)
