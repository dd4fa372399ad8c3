"""Known wrong implementations of ex01 (binary cross-entropy), for diagnosis.

Each is called like the reference; the grader runs them on the same inputs as a
student's failing cases and names the one the student's results match.
"""

import numpy as np

EPS = 1e-7


def _clip(p, eps):
    return np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)


def _terms(y_true, y_pred, eps, log=np.log):
    y = np.asarray(y_true, dtype=np.float64)
    p = _clip(y_pred, eps)
    return y * log(p) + (1.0 - y) * log(1.0 - p)


def log2(y_true, y_pred, eps=EPS):
    return float(-np.mean(_terms(y_true, y_pred, eps, np.log2)))


def log10(y_true, y_pred, eps=EPS):
    return float(-np.mean(_terms(y_true, y_pred, eps, np.log10)))


def missing_minus(y_true, y_pred, eps=EPS):
    return float(np.mean(_terms(y_true, y_pred, eps)))


def sum_not_mean(y_true, y_pred, eps=EPS):
    return float(-np.sum(_terms(y_true, y_pred, eps)))


def log2_and_sum(y_true, y_pred, eps=EPS):
    return float(-np.sum(_terms(y_true, y_pred, eps, np.log2)))


def no_clip(y_true, y_pred):
    y, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def clip_low_only(y_true, y_pred, eps=EPS):
    y = np.asarray(y_true, dtype=np.float64)
    p = np.maximum(np.asarray(y_pred, dtype=np.float64), eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def clip_high_only(y_true, y_pred, eps=EPS):
    y = np.asarray(y_true, dtype=np.float64)
    p = np.minimum(np.asarray(y_pred, dtype=np.float64), 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def swapped_args(y_true, y_pred, eps=EPS):
    return float(-np.mean(_terms(y_pred, y_true, eps)))


def hard_predictions(y_true, y_pred, eps=EPS):
    return float(-np.mean(_terms(y_true, np.round(np.asarray(y_pred, dtype=np.float64)), eps)))


def forgot_one_minus_y(y_true, y_pred, eps=EPS):
    """-mean(y log p): the (1 - y) log(1 - p) term of the negatives left out."""
    y = np.asarray(y_true, dtype=np.float64)
    return float(-np.mean(y * np.log(_clip(y_pred, eps))))
