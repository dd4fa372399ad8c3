"""Known wrong implementations of ex06 (softmax cross-entropy from logits), for diagnosis.

Each is called like the reference and written the way a student writes it: in the dtype of
the inputs, with NaN and infinity where that code gives them (exp overflows above 709.78,
88.7 in float32; softmax of an overflowed row is inf / inf = NaN).
"""

import math

import numpy as np

#: The clipping constant of the clipped variants (Keras's, and ex02's).
EPS = 1e-7


def _inputs(y_true, logits):
    return np.asarray(y_true), np.asarray(logits)


def _rows(y_true, logits):
    """The right per-row losses: stable log-sum-exp minus the true class's logit."""
    y, z = _inputs(y_true, logits)
    m = np.max(z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    return lse - np.sum(y * z, axis=1)


def _softmax(z, axis=1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def no_max_subtracted(y_true, logits):
    """log(sum(exp(z))) - z_true: exp overflows above z = 709.78 (inf), and a row whose
    logits are all below -745 sums to 0 (log 0 = -inf)."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(np.log(np.sum(np.exp(z), axis=1)) - np.sum(y * z, axis=1)))


def max_not_added_back(y_true, logits):
    """log(sum(exp(z - m))) - z_true: the max subtracted inside but not added back, so every
    row is off by its largest logit m."""
    y, z = _inputs(y_true, logits)
    m = np.max(z, axis=1, keepdims=True)
    return float(np.mean(np.log(np.sum(np.exp(z - m), axis=1)) - np.sum(y * z, axis=1)))


def global_max(y_true, logits):
    """m + log(sum(exp(z - m))) with m the largest logit of the whole batch, not of each
    row: a row far below it sums to 0 (log 0 = -inf)."""
    y, z = _inputs(y_true, logits)
    m = np.max(z)
    return float(np.mean(m + np.log(np.sum(np.exp(z - m), axis=1)) - np.sum(y * z, axis=1)))


def softmax_then_log(y_true, logits):
    """A stable softmax, then -sum(y log p): the probability of a logit more than 745.13
    below its row's largest underflows to 0, and log 0 = -inf (0 * log 0 = NaN)."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_softmax(z)), axis=1)))


def softmax_then_log_clipped(y_true, logits):
    """A stable softmax clipped to [1e-7, 1 - 1e-7], then ex02's loss: finite, but each
    row's loss is capped at -log(1e-7) = 16.118 and a certain right answer costs 1e-7."""
    y, z = _inputs(y_true, logits)
    p = np.clip(_softmax(z), EPS, 1 - EPS)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def softmax_twice(y_true, logits):
    """Softmax applied to the softmax: -sum(y log softmax(softmax(z)))."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_softmax(_softmax(z))), axis=1)))


def softmax_axis0(y_true, logits):
    """Softmax over the examples (axis=0) instead of the classes (axis=1)."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_softmax(z, axis=0)), axis=1)))


def logits_as_probabilities(y_true, logits):
    """ex02's loss applied to the logits themselves, clipped to [1e-7, 1 - 1e-7]."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(np.clip(z, EPS, 1 - EPS)), axis=1)))


def missing_minus(y_true, logits):
    return float(-np.mean(_rows(y_true, logits)))


def sum_not_mean(y_true, logits):
    return float(np.sum(_rows(y_true, logits)))


def mean_over_all(y_true, logits):
    """The sum of the rows' losses divided by N * C, the number of entries."""
    return float(np.sum(_rows(y_true, logits)) / np.asarray(logits).size)


def log2(y_true, logits):
    """The loss in bits: 1/ln 2 = 1.4427 times the natural-log loss."""
    return float(np.mean(_rows(y_true, logits)) / math.log(2))
