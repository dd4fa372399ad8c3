"""Shrinking: a failing random case is reported with a smaller input that still fails."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import REPO, SUBMISSIONS, GradeRunner
from grader.exercise.cases import build_cases
from grader.exercise.shrink import shrink_candidates, size_of
from grader.exercise.spec import load_exercise


@pytest.mark.parametrize("exercise", ["ex01", "ex02", "ex03", "ex04"])
def test_candidates_are_smaller_and_still_valid_inputs(exercise: str) -> None:
    cases = build_cases(load_exercise(REPO / "exercises" / f"{exercise}.yaml"), 11)
    for case in cases:
        if case.spec.generate is None:
            continue
        candidates = shrink_candidates(case, case.args)
        assert candidates, f"{case.name}: nothing to try"
        sizes = [size_of(c) for c in candidates]
        assert sizes == sorted(sizes)
        assert all(size < size_of(case.args) for size in sizes)
        for candidate in candidates:
            assert list(candidate) == list(case.args)
            p = candidate["y_pred"]
            if exercise in ("ex02", "ex03"):
                np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
                assert (p > 0).all() or (case.args["y_pred"] == 0).any()
            if exercise == "ex03":
                assert candidate["y_true"].max() < p.shape[1]


@pytest.mark.slow
def test_a_one_based_submission_is_shown_a_one_row_input_that_fails(grade: GradeRunner) -> None:
    path = SUBMISSIONS / "ex03" / "bad_one_based.py"
    report = grade("ex03", "--file", str(path), "--format", "json", "--seed", "3").json()
    shrunk = [t for t in report["tests"] if t["details"].get("smallest")]
    assert shrunk, "a failing random case should come with a smaller input"
    for test in shrunk:
        assert test["details"]["kind"] == "random"
        small = test["details"]["smallest"]
        assert small["rows"] == 1
        labels = json.loads(small["inputs"]["y_true"])
        rows = json.loads(small["inputs"]["y_pred"].split("  (")[0])
        # The statement's formula, by hand: -log of the true class's probability.
        assert small["expected_low"] == pytest.approx(-math.log(rows[0][labels[0]]), rel=1e-9)
        # And the 1-based mistake picks the column before it.
        assert small["actual"] == pytest.approx(-math.log(rows[0][labels[0] - 1]), rel=1e-6)


@pytest.mark.slow
def test_hidden_and_passing_cases_are_not_shrunk(grade: GradeRunner) -> None:
    path = SUBMISSIONS / "ex01" / "bad_log2.py"
    report = grade("ex01", "--file", str(path), "--format", "json", "--seed", "1").json()
    for test in report["tests"]:
        if test["visibility"] == "hidden" or test["status"] == "passed":
            assert test["details"].get("smallest") is None
