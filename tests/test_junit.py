"""The JUnit XML format (grader.render.junit): read back by junitparser, a real JUnit parser,
checked case by case against the JSON format of the same run, and validated against the
schema Jenkins' xUnit plugin uses (tests/fixtures/junit/junit-10.xsd)."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from conftest import FIXTURES, SUBMISSIONS, GradeRunner, write
from grader.render.junit import render_junit
from grader.results import CaseResult, Report, Status, SubmissionError

XSD = FIXTURES / "junit" / "junit-10.xsd"
EX01 = SUBMISSIONS / "ex01"
SEED = "3"


@functools.cache
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def _valid(xml: str) -> None:
    errors = [str(e) for e in _schema().iter_errors(xml)]
    assert not errors, errors[:3]


def _suite(xml: str) -> TestSuite:
    document = JUnitXml.fromstring(xml)
    suites = list(document)
    assert len(suites) == 1, "one testsuite per report"
    suite: TestSuite = suites[0]
    return suite


def _cases(suite: TestSuite) -> list[TestCase]:
    return list(suite)


def _properties(suite: TestSuite) -> dict[str, str]:
    return {p.name: p.value for p in suite.properties()}


def _suite_out(xml: str) -> str:
    found = ET.fromstring(xml).find("testsuite/system-out")
    return "" if found is None or found.text is None else found.text


def _both(grade: GradeRunner, *args: str) -> tuple[str, dict[str, Any]]:
    """The JUnit and the JSON report of one run (the same seed gives the same cases)."""
    junit = grade(*args, "--format", "junit")
    assert junit.returncode in (0, 1), junit.stderr
    document = grade(*args, "--format", "json")
    assert document.returncode in (0, 1), document.stderr
    return junit.stdout, document.json()


def _status(case: TestCase) -> str:
    if case.is_passed:
        return "passed"
    (result,) = case.result
    if isinstance(result, Failure):
        assert result.type == "WrongValue"
        return "failed"
    assert isinstance(result, Error)
    return "error"


def _assert_matches_json(suite: TestSuite, document: dict[str, Any], classname: str) -> None:
    cases = _cases(suite)
    assert suite.tests == len(document["tests"]) == len(cases)
    assert suite.failures == document["failed"]
    assert suite.errors == document["errors"]
    assert suite.skipped == 0
    assert suite.name == f"{document['exercise']}: {document['title']}"
    assert [c.name for c in cases] == [t["name"] for t in document["tests"]]
    assert [_status(c) for c in cases] == [t["status"] for t in document["tests"]]
    assert {c.classname for c in cases} == {classname}
    properties = _properties(suite)
    assert properties["seed"] == str(document["seed"])
    assert float(properties["score"]) == document["score"]
    assert float(properties["max_score"]) == document["max_score"]
    assert properties["grader_version"] == document["grader_version"]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["good_vectorised.py", "bad_log2.py", "bad_raises.py"])
def test_junit_counts_names_and_statuses_match_the_json_report(
    grade: GradeRunner, fixture: str
) -> None:
    xml, document = _both(grade, "ex01", "--file", str(EX01 / fixture), "--seed", SEED)
    _valid(xml)
    suite = _suite(xml)
    _assert_matches_json(suite, document, "grader.ex01")
    assert "student" not in _properties(suite), "only quizzes have a student"


@pytest.mark.slow
def test_a_failure_says_what_was_expected_and_a_hidden_one_only_its_message(
    grade: GradeRunner,
) -> None:
    xml, document = _both(grade, "ex01", "--file", str(EX01 / "bad_log2.py"), "--seed", SEED)
    by_name = {c.name: c for c in _cases(_suite(xml))}
    visible = next(t for t in document["tests"] if t["visibility"] == "visible")
    (failure,) = by_name[visible["name"]].result
    assert failure.message == visible["output"].splitlines()[0]
    assert "\n" not in failure.message
    # The values once: in the first line, which is also the message.
    assert f"expected {visible['details']['expected_low']!r}" in failure.message
    assert f"got {visible['details']['actual']!r}" in failure.message
    assert failure.text.count(repr(visible["details"]["actual"])) == 1
    assert "inputs:" in failure.text
    hidden = [t for t in document["tests"] if t["visibility"] == "hidden"]
    assert any(t["status"] == "failed" for t in hidden), "the fixture fails a hidden case"
    for test in hidden:
        case = by_name[test["name"]]
        if test["status"] == "failed":
            (result,) = case.result
            assert result.message == result.text == test["details"]["message"]
        assert case.system_out is None
    # The diagnosis, word for word as the other formats give it, for the whole suite.
    assert document["output"]
    assert document["output"] in _suite_out(xml)


@pytest.mark.slow
def test_a_case_hint_is_in_the_failure_text(grade: GradeRunner) -> None:
    xml, document = _both(grade, "ex01", "--file", str(EX01 / "bad_returns_array.py"))
    _valid(xml)
    by_name = {c.name: c for c in _cases(_suite(xml))}
    visible = next(t for t in document["tests"] if t["visibility"] == "visible")
    (result,) = by_name[visible["name"]].result
    assert f"hint: {visible['details']['hint']}" in result.text
    hidden = next(t for t in document["tests"] if t["visibility"] == "hidden")
    (result,) = by_name[hidden["name"]].result
    assert "hint" not in result.text


@pytest.mark.slow
def test_a_submission_that_does_not_load_is_an_error_on_every_case(
    grade: GradeRunner, tmp_path: Path
) -> None:
    broken = write(tmp_path / "broken.py", "import numpy as np\n\ndef binary_cross_entropy(:\n")
    xml, document = _both(grade, "ex01", "--file", str(broken), "--seed", SEED)
    _valid(xml)
    suite = _suite(xml)
    _assert_matches_json(suite, document, "grader.ex01")
    assert document["error"]["kind"] == "syntax"
    assert suite.errors == suite.tests > 1
    for case in _cases(suite):
        (result,) = case.result
        assert isinstance(result, Error)
        assert result.type == "SubmissionError.syntax"
        assert document["error"]["message"] in result.message
        assert f'File "{broken}", line 3' in result.text, "junit-10 has no line attribute"
        assert document["error"]["hint"] in result.text
    suite_element = ET.fromstring(xml).find("testsuite")
    assert suite_element is not None
    assert suite_element.get("file") == str(broken)


@pytest.mark.slow
def test_control_characters_printed_by_a_submission_do_not_break_the_xml(
    grade: GradeRunner, tmp_path: Path
) -> None:
    noisy = write(
        tmp_path / "noisy.py",
        "import numpy as np\n"
        "print('loading\\x00\\x1b[31m')\n"
        "def binary_cross_entropy(y_true, y_pred):\n"
        "    print('\\x00\\x1b[31mred\\x1b[0m \\x07\\x0b\\x1f <&> ]]>')\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))\n",
    )
    xml, document = _both(grade, "ex01", "--file", str(noisy), "--seed", SEED)
    printed = next(t["details"]["printed"] for t in document["tests"] if t["details"]["printed"])
    assert "\x00" in printed, "the grader passed the raw output on: the test means something"
    assert "\x00" in document["import_output"]
    ET.fromstring(xml)  # a strict XML 1.0 parser
    _valid(xml)
    suite = _suite(xml)
    _assert_matches_json(suite, document, "grader.ex01")
    assert not any(c in xml for c in "\x00\x07\x0b\x1b\x1f")
    assert "[31m" not in xml, "colour sequences go whole"
    outputs = [c.system_out for c in _cases(suite) if c.system_out]
    assert outputs
    # Other control characters are shown as escapes, never silently dropped.
    assert all(out.strip() == "\\x00red \\x07\\x0b\\x1f <&> ]]>" for out in outputs)
    assert "loading" in _suite_out(xml)


@pytest.mark.slow
def test_a_quiz_report_names_the_student(grade: GradeRunner, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    made = grade("q01", "--template", "--student", "x", "--out", str(answers))
    assert made.returncode == 0, made.stderr
    text = answers.read_text(encoding="utf-8")
    assert "  tutorial_positive:\n" in text
    # -ln(0.8): one right answer, so the report holds a pass beside the failures.
    write(answers, text.replace("  tutorial_positive:\n", "  tutorial_positive: 0.22314355\n"))
    xml, document = _both(grade, "q01", "--answers", str(answers))
    _valid(xml)
    suite = _suite(xml)
    _assert_matches_json(suite, document, "grader.q01")
    assert _properties(suite)["student"] == "x" == document["student"]
    assert document["passed"] >= 1
    assert document["failed"] >= 1


def _case(**fields: Any) -> CaseResult:
    base: dict[str, Any] = {
        "name": "hidden: a case",
        "kind": "random",
        "visibility": "hidden",
        "status": Status.ERROR,
        "score": 0.0,
        "max_score": 1.0,
        "message": "raised ValueError",
    }
    return CaseResult(**{**base, **fields})


def _report(**fields: Any) -> Report:
    base: dict[str, Any] = {
        "exercise": "ex99",
        "title": "A title",
        "submission": "mine.py",
        "seed": 1,
        "score": 0.0,
        "max_score": 1.0,
        "execution_time": 1.5e-05,
        "tests": (),
        "backend": "none",
        "grader_version": "0",
    }
    return Report(**{**base, **fields})


def test_a_hidden_case_shows_no_hint_output_or_traceback_even_if_given() -> None:
    case = _case(hint="the inputs were [0.25]", output="[0.25]", traceback="line 3")
    xml = render_junit(_report(tests=(case,)))
    _valid(xml)
    (testcase,) = _cases(_suite(xml))
    (result,) = testcase.result
    assert isinstance(result, Error)
    assert result.type == "CouldNotRun"
    assert result.text == result.message == "raised ValueError"
    assert "0.25" not in xml
    assert "line 3" not in xml


def test_a_load_error_with_no_cases_still_shows_as_one_error() -> None:
    error = SubmissionError(kind="missing", message="no function f", file="mine.py", line=2)
    xml = render_junit(_report(error=error))
    _valid(xml)
    suite = _suite(xml)
    assert (suite.tests, suite.errors, suite.failures) == (1, 1, 0)
    (testcase,) = _cases(suite)
    assert testcase.name == "load"
    (result,) = testcase.result
    assert result.type == "SubmissionError.missing"
    assert 'File "mine.py", line 2' in result.text


def test_tiny_times_are_written_without_an_exponent() -> None:
    xml = render_junit(_report(tests=(_case(status=Status.PASSED, seconds=2e-06),)))
    _valid(xml)
    assert "e-0" not in xml
