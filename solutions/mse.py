"""Reference for ex04: mean squared error over every entry."""

import numpy as np


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over all entries; the two arrays have the same shape."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"shapes differ: {t.shape} and {p.shape}")
    return float(np.mean((t - p) ** 2))
