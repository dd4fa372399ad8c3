"""Known wrong implementations of ex02 (categorical cross-entropy), for diagnosis."""

import numpy as np

EPS = 1e-7


def _rows(y_true, y_pred, eps, log=np.log):
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(y_pred, dtype=np.float64), eps, 1.0 - eps)
    return np.sum(np.where(y != 0, y * log(p), 0.0), axis=1)


def log2(y_true, y_pred, eps=EPS):
    return float(-np.mean(_rows(y_true, y_pred, eps, np.log2)))


def log10(y_true, y_pred, eps=EPS):
    return float(-np.mean(_rows(y_true, y_pred, eps, np.log10)))


def missing_minus(y_true, y_pred, eps=EPS):
    return float(np.mean(_rows(y_true, y_pred, eps)))


def sum_not_mean(y_true, y_pred, eps=EPS):
    return float(-np.sum(_rows(y_true, y_pred, eps)))


def log2_and_sum(y_true, y_pred, eps=EPS):
    return float(-np.sum(_rows(y_true, y_pred, eps, np.log2)))


def mean_over_all(y_true, y_pred, eps=EPS):
    y = np.asarray(y_true, dtype=np.float64)
    return float(-np.sum(_rows(y_true, y_pred, eps)) / y.size)


def no_clip_nan(y_true, y_pred):
    y, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def argmax(y_true, y_pred, eps=EPS):
    p = np.asarray(y_pred, dtype=np.float64)
    hard = np.zeros_like(p)
    hard[np.arange(p.shape[0]), np.argmax(p, axis=1)] = 1.0
    return float(-np.mean(_rows(y_true, hard, eps)))


def softmax_again(y_true, y_pred, eps=EPS):
    p = np.asarray(y_pred, dtype=np.float64)
    e = np.exp(p - p.max(axis=1, keepdims=True))
    return float(-np.mean(_rows(y_true, e / e.sum(axis=1, keepdims=True), eps)))


def swapped_args(y_true, y_pred, eps=EPS):
    y = np.asarray(y_pred, dtype=np.float64)
    p = np.clip(np.asarray(y_true, dtype=np.float64), eps, 1.0 - eps)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def argmax_pred(y_true, y_pred, eps=EPS):
    """-mean(log max_j p_ij): the most probable class of each row taken for the true one.

    Not `argmax` above, which keeps the true class but makes the predictions hard one-hots.
    """
    p = np.clip(np.asarray(y_pred, dtype=np.float64), eps, 1.0 - eps)
    return float(-np.mean(np.log(np.max(p, axis=1))))
