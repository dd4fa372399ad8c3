"""Shrinking: a failing random case, made as small as it can be while it still fails.

Between the sandbox and the results: candidates (each row alone, half the rows, two
classes, one-decimal probabilities, rounded targets) come from shrinkers registered per
generator; each round sends every candidate in one sandbox run and keeps the smallest
that still fails. Written here rather than with hypothesis because every evaluation is a
sandbox round trip, so candidates must be batched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from grader.errors import ReferenceSolutionError
from grader.exercise.cases import Arrays, Case, describe
from grader.exercise.compare import Expected, compare
from grader.exercise.reference import Reference, expected_for
from grader.exercise.spec import Exercise, Visibility
from grader.results import SmallestInput
from grader.sandbox import Session
from grader.sandbox.protocol import CallOutcome, CallStatus

Shrinker = Callable[[Arrays], list[Arrays]]
SHRINKERS: dict[str, Shrinker] = {}


def size_of(arrays: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
    """How big an input is for a person checking it by hand: rows, entries, digits."""
    first = next(iter(arrays.values()))
    entries = sum(int(a.size) for a in arrays.values())
    digits = sum(len(str(x)) for a in arrays.values() for x in a.ravel()[:64].tolist())
    return (int(first.shape[0]) if first.ndim else 1, entries, digits)


def _rows(arrays: Arrays) -> list[Arrays]:
    """Fewer examples: each of the first rows alone, and the first half."""
    n = next(iter(arrays.values())).shape[0]
    if n <= 1:
        return []
    picks = [[i] for i in range(min(n, 8))] + [list(range(max(1, n // 2)))]
    return [{k: a[pick].copy() for k, a in arrays.items()} for pick in picks]


def _simple_probabilities(p: np.ndarray) -> np.ndarray:
    """Probabilities with one decimal, kept inside (0, 1) and rows still summing to 1."""
    if p.ndim == 1:
        return np.clip(np.round(p, 1), 0.1, 0.9)
    q = np.clip(np.round(p, 1), 0.1, 0.9)
    q[:, -1] = 0.0
    q[:, -1] = 1.0 - q.sum(axis=1)
    if (q[:, -1] <= 0).any():
        return p  # no simple version that is still a distribution
    return np.round(q, 10)


def _two_classes(labels: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """One example over two classes: its true class and the likeliest other one."""
    if p.shape[0] != 1 or p.shape[1] <= 2:
        return None
    true = int(labels[0])
    others = [j for j in np.argsort(-p[0]) if j != true]
    cols = sorted([true, int(others[0])])
    q = p[:, cols] / p[:, cols].sum(axis=1, keepdims=True)
    return np.array([cols.index(true)], dtype=labels.dtype), q


def _shrink_binary(arrays: Arrays) -> list[Arrays]:
    out = _rows(arrays)
    simple = _simple_probabilities(arrays["y_pred"]).astype(arrays["y_pred"].dtype)
    out.append({"y_true": arrays["y_true"].copy(), "y_pred": simple})
    return out


def _shrink_sparse(arrays: Arrays) -> list[Arrays]:
    out = _rows(arrays)
    labels, p = arrays["y_true"], arrays["y_pred"]
    two = _two_classes(labels, p)
    if two is not None:
        out.append({"y_true": two[0], "y_pred": two[1].astype(p.dtype)})
    out.append({"y_true": labels.copy(), "y_pred": _simple_probabilities(p).astype(p.dtype)})
    return out


def _shrink_categorical(arrays: Arrays) -> list[Arrays]:
    onehot = arrays["y_true"]
    as_sparse = {"y_true": np.argmax(onehot, axis=1), "y_pred": arrays["y_pred"]}
    out = []
    for candidate in _shrink_sparse(as_sparse):
        labels, p = candidate["y_true"], candidate["y_pred"]
        rows = np.zeros_like(p, dtype=onehot.dtype)
        rows[np.arange(labels.size), labels] = 1
        out.append({"y_true": rows, "y_pred": p})
    return out


def _shrink_regression(arrays: Arrays) -> list[Arrays]:
    out = _rows(arrays)
    t, p = arrays["y_true"], arrays["y_pred"]
    scale = float(np.max(np.abs(t))) or 1.0
    digits = max(0, -int(np.floor(np.log10(scale))) + 1)
    out.append({"y_true": np.round(t, digits), "y_pred": np.round(p, digits)})
    return out


def _shrink_logits(arrays: Arrays) -> list[Arrays]:
    """Fewer rows, and logits with one decimal (the extremes, whole numbers, stay)."""
    out = _rows(arrays)
    z = arrays["logits"]
    out.append({"y_true": arrays["y_true"].copy(), "logits": np.round(z, 1).astype(z.dtype)})
    return out


SHRINKERS.update(
    logits_binary=_shrink_logits,
    logits_categorical=_shrink_logits,
    binary=_shrink_binary,
    categorical=_shrink_categorical,
    sparse=_shrink_sparse,
    regression=_shrink_regression,
)


def shrink_candidates(case: Case, arrays: Mapping[str, np.ndarray]) -> list[Arrays]:
    """Smaller or simpler versions of a generated case's inputs, smallest first."""
    if case.spec.generate is None:
        return []
    shrinker = SHRINKERS.get(case.spec.generate.generator)
    if shrinker is None:
        return []
    start = size_of(arrays)
    unique: dict[bytes, Arrays] = {}
    for candidate in shrinker(dict(arrays)):
        if size_of(candidate) >= start:
            continue
        key = b"".join(a.tobytes() + str(a.shape).encode() for a in candidate.values())
        unique.setdefault(key, candidate)
    return sorted(unique.values(), key=size_of)


#: Shrinking budget: rounds of candidates (one sandbox run each), and failing cases shrunk.
SHRINK_ROUNDS = 4
SHRINK_CASES = 3


def fails(outcome: CallOutcome, expected: Expected, case: Case) -> bool:
    """A wrong number (not an error): the kind of failure a smaller input can show."""
    if outcome.status is not CallStatus.RETURNED or outcome.value is None:
        return False
    return not compare(outcome.value, expected, case.spec.tolerance).passed


def shrink(
    exercise: Exercise,
    reference: Reference,
    session: Session,
    cases: list[Case],
    expected: dict[str, Expected],
    outcomes: Mapping[str, CallOutcome],
) -> dict[str, SmallestInput]:
    """For failing visible random cases, the smallest input found that still fails.

    Each round sends every candidate (fewer rows, fewer classes, rounder values) of every
    case being shrunk in one sandbox run, and keeps the smallest that still fails.
    """

    targets = [
        c
        for c in cases
        if c.spec.generate is not None
        and c.spec.visibility is Visibility.VISIBLE
        and fails(outcomes[c.id], expected[c.id], c)
    ][:SHRINK_CASES]
    params = exercise.entry.param_names
    best: dict[str, tuple[Case, Expected, float]] = {}
    current = {c.id: c for c in targets}
    for round_no in range(SHRINK_ROUNDS):
        batch: dict[str, tuple[str, Case, Expected]] = {}
        for target in targets:
            for k, arrays in enumerate(shrink_candidates(target, current[target.id].args)):
                candidate = Case(f"{target.id}s{round_no}x{k}", target.name, target.spec, arrays)
                try:
                    answer = expected_for(exercise, reference, candidate)
                except ReferenceSolutionError:
                    continue
                batch[candidate.id] = (target.id, candidate, answer)
        if not batch:
            break
        run = session.run(
            {cid: tuple(c.args[p] for p in params) for cid, (_, c, _) in batch.items()}
        )
        improved: set[str] = set()
        for cid, (target_id, candidate, answer) in batch.items():  # smallest first per target
            outcome = run.outcomes[cid]
            if target_id in improved or not fails(outcome, answer, candidate):
                continue
            assert outcome.value is not None
            improved.add(target_id)
            current[target_id] = candidate
            best[target_id] = (candidate, answer, outcome.value)
        if not improved:
            break
    return {
        target_id: SmallestInput(
            inputs={p: describe(a) for p, a in candidate.args.items()},
            rows=int(next(iter(candidate.args.values())).shape[0]),
            expected_low=answer.low,
            expected_high=answer.high,
            actual=value,
        )
        for target_id, (candidate, answer, value) in best.items()
    }
