"""Known wrong implementations of ex05 (binary cross-entropy from logits), for diagnosis.

Each is called like the reference and written the way a student writes it: in the dtype of
the inputs (float32 logits overflow exp at 88.7, not at 709.8), with NaN and infinity
where that code gives them. The grader runs them on the inputs of a student's failing
cases and names the one the student's results match.
"""

import math

import numpy as np

#: The clipping constant of the clipped sigmoid by default (Keras's).
EPS = 1e-7


def _inputs(y_true, logits):
    return np.asarray(y_true), np.asarray(logits)


def _stable_terms(y_true, logits):
    y, z = _inputs(y_true, logits)
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def naive_sigmoid(y_true, logits):
    """Sigmoid, then the cross-entropy of the probabilities, unclipped: sigmoid(z) rounds to
    1.0 above z = 36.7 (16.6 in float32), so log(1 - s) = -inf; exp(-z) overflows below
    z = -709.78 and sigmoid is 0 there."""
    y, z = _inputs(y_true, logits)
    s = _sigmoid(z)
    return float(-np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)))


def naive_sigmoid_clipped(y_true, logits, eps=EPS):
    """Sigmoid, clipped to [eps, 1 - eps], then the cross-entropy: finite, but every loss
    is capped at -log(eps) (16.118 for eps = 1e-7) and a certain right answer costs eps.
    The grader runs it over the mistake's whole range of eps (ex05.yaml)."""
    y, z = _inputs(y_true, logits)
    s = np.clip(_sigmoid(z), eps, 1 - eps)
    return float(-np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)))


def naive_softplus(y_true, logits):
    """log(1 + exp(z)) - y z: right, but exp(z) overflows above z = 709.78 (88.7 in float32)."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(np.log(1 + np.exp(z)) - y * z))


def exp_minus_z(y_true, logits):
    """z - z y + log(1 + exp(-z)): right, but exp(-z) overflows below z = -709.78."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(z - z * y + np.log1p(np.exp(-z))))


def missing_abs(y_true, logits):
    """max(z, 0) - z y + log1p(exp(-z)): the stable form with exp(-z) for exp(-|z|), off by
    |z| on every negative logit (and overflowing below z = -709.78)."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-z))))


def wrong_sign(y_true, logits):
    """max(z, 0) + z y + log1p(exp(-|z|)): the z y term added instead of subtracted."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(np.maximum(z, 0) + z * y + np.log1p(np.exp(-np.abs(z)))))


def missing_minus(y_true, logits):
    return float(-np.mean(_stable_terms(y_true, logits)))


def sum_not_mean(y_true, logits):
    return float(np.sum(_stable_terms(y_true, logits)))


def log2(y_true, logits):
    """The loss in bits: log base 2 throughout, 1/ln 2 = 1.4427 times the natural-log loss."""
    return float(np.mean(_stable_terms(y_true, logits)) / math.log(2))


def logits_as_probabilities(y_true, logits, eps=EPS):
    """The cross-entropy of ex01 applied to the logits themselves, clipped to [eps, 1 - eps]."""
    y, z = _inputs(y_true, logits)
    p = np.clip(z, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def plus_minus_one_labels(y_true, logits):
    """mean(log(1 + exp(-y z))), the form for labels -1/+1, given 0/1 labels: right on the
    positives, log 2 on every negative whatever its logit."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(np.logaddexp(0, -y * z)))


def plus_minus_one_labels_naive(y_true, logits):
    """The same mistake written log(1 + exp(-y z)) as it stands: exp overflows for
    y z below -709.78 (88.72 in float32), where np.logaddexp stays finite."""
    y, z = _inputs(y_true, logits)
    return float(np.mean(np.log(1 + np.exp(-y * z))))


def swapped_args(y_true, logits):
    """The stable form with the labels and the logits swapped."""
    return float(np.mean(_stable_terms(logits, y_true)))
