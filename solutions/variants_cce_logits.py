"""Other correct implementations of ex06 (softmax cross-entropy from logits).

Each is written the way a student might, called like a student's function; grade selftest
proves each gets full marks.
"""

import math

import numpy as np


def logaddexp_reduce(y_true, logits):
    """logsumexp as np.logaddexp.reduce over each row (stable: numpy pairs the terms)."""
    z = np.asarray(logits)
    lse = np.logaddexp.reduce(z, axis=1)
    return float(np.mean(lse - np.sum(np.asarray(y_true) * z, axis=1)))


def loop_math(y_true, logits):
    """Plain Python loops with math.exp and math.log, the max subtracted per row."""
    total = 0.0
    for row_true, row_z in zip(y_true, logits, strict=True):
        zs = [float(z) for z in row_z]
        m = max(zs)
        lse = m + math.log(sum(math.exp(z - m) for z in zs))
        total += lse - sum(float(y) * z for y, z in zip(row_true, zs, strict=True))
    return total / len(y_true)


def float32(y_true, logits):
    """log_softmax computed entirely in float32; returns a numpy float32."""
    y = np.asarray(y_true, dtype=np.float32)
    z = np.asarray(logits, dtype=np.float32)
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(y * log_p, axis=1))
