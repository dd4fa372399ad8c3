"""Other correct implementations of ex05 (binary cross-entropy from logits).

Each is written the way a student might, called like a student's function; grade selftest
proves each gets full marks, so the cases accept every correct style, not just the
reference's.
"""

import math

import numpy as np


def logaddexp(y_true, logits):
    """log(1 + exp(z)) - y z with np.logaddexp(0, z), computed in the inputs' dtype."""
    z = np.asarray(logits)
    return float(np.mean(np.logaddexp(0, z) - np.asarray(y_true) * z))


def loop_math(y_true, logits):
    """The stable form in a plain Python loop, with math.log1p and math.exp."""
    total = 0.0
    for y, z in zip(y_true, logits, strict=True):
        y, z = float(y), float(z)
        total += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
    return total / len(y_true)


def float32(y_true, logits):
    """The stable form computed entirely in float32, as on a GPU; returns a numpy float32."""
    y = np.asarray(y_true, dtype=np.float32)
    z = np.asarray(logits, dtype=np.float32)
    return np.mean(np.maximum(z, np.float32(0)) - z * y + np.log1p(np.exp(-np.abs(z))))
