"""Known wrong implementations of ex06 (softmax cross-entropy from logits), for diagnosis.

Each is called like the reference and written the way a student writes it: in the dtype of
the inputs, with NaN and infinity where that code gives them (exp overflows above 709.78,
88.7 in float32; softmax of an overflowed row is inf / inf = NaN).
"""

import math

import numpy as np

#: The clipping constant of the clipped variants by default (Keras's, and ex02's).
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


def _textbook_softmax(z, axis=1):
    """exp(z) / sum(exp(z)) as printed in textbooks, without the max: inf / inf = NaN once
    a logit passes 709.78, and 0 / 0 when every logit of a row is below -745.13."""
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(z, axis=1):
    """The stable log-softmax, z - logsumexp(z), along `axis`: finite for finite logits."""
    m = np.max(z, axis=axis, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


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


def softmax_then_log_no_max(y_true, logits):
    """The textbook softmax, exp(z) / sum(exp(z)), then -sum(y log p): the same mistake as
    softmax_then_log, written without the max as most first tries are (NaN where a logit
    overflows exp)."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_textbook_softmax(z)), axis=1)))


def softmax_then_log_clipped(y_true, logits, eps=EPS):
    """A stable softmax clipped to [eps, 1 - eps], then ex02's loss: finite, but each
    row's loss is capped at -log(eps) (16.118 for eps = 1e-7) and a certain right answer
    costs eps. The grader runs it over the mistake's whole range of eps (ex06.yaml)."""
    y, z = _inputs(y_true, logits)
    p = np.clip(_softmax(z), eps, 1 - eps)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def softmax_then_log_clipped_no_max(y_true, logits, eps=EPS):
    """softmax_then_log_clipped with the textbook softmax: NaN where a logit overflows exp
    (np.clip keeps NaN)."""
    y, z = _inputs(y_true, logits)
    p = np.clip(_textbook_softmax(z), eps, 1 - eps)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def softmax_twice(y_true, logits):
    """Softmax applied to the softmax: -sum(y log softmax(softmax(z)))."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_softmax(_softmax(z))), axis=1)))


def softmax_twice_no_max(y_true, logits):
    """softmax_twice with the textbook softmax: NaN where a logit overflows exp."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_textbook_softmax(_textbook_softmax(z))), axis=1)))


def softmax_axis0(y_true, logits):
    """Softmax over the examples (axis=0) instead of the classes (axis=1), then the log:
    -infinity where a probability underflows to 0."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_softmax(z, axis=0)), axis=1)))


def softmax_axis0_stable(y_true, logits):
    """The same mistake in the stable form, z - logsumexp(z, axis=0): what the axis-0
    softmax means, finite where its log underflows."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * _log_softmax(z, axis=0), axis=1)))


def softmax_axis0_no_max(y_true, logits):
    """The same mistake with the textbook softmax over axis 0: NaN where a logit overflows."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(_textbook_softmax(z, axis=0)), axis=1)))


def logits_as_probabilities(y_true, logits, eps=EPS):
    """ex02's loss applied to the logits themselves, clipped to [eps, 1 - eps]."""
    y, z = _inputs(y_true, logits)
    return float(-np.mean(np.sum(y * np.log(np.clip(z, eps, 1 - eps)), axis=1)))


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
