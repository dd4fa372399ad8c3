"""The JUnit XML format: a report as CI test-report viewers read it (GitLab, Jenkins, GitHub).

Last step of the flow, a pure `Report -> str` like every renderer: it only arranges what the
result model holds, with the wording of grader.render.numbers, and grades nothing.

The schema followed is the one Jenkins' xUnit plugin validates JUnit reports against,
junit-10.xsd (jenkinsci/xunit-plugin, MIT; a copy is in tests/fixtures/junit/), the most
permissive of the widely used ones and a superset of what GitLab and the GitHub reporters
read. Apache Ant's schema (windyroad/JUnit-Schema) was not chosen: it requires a timestamp
and hostname, which a pure function of the report cannot know. What the choice means here:

- One <testsuites> holding one <testsuite>, one <testcase> per case, in the report's order.
  PASSED: an empty testcase; FAILED (returned something wrong): <failure type="WrongValue">;
  ERROR (raised, hung, crashed, did not load): <error>. The grader skips nothing: skipped=0.
- `file` is set on <testsuite> only (the submission): junit-10 allows it nowhere else, and
  allows no `line` at all, so a load error's line number is in the <error> text instead.
- `time` of a testcase is left out where the grader measured nothing (hidden cases and cases
  that never ran): "0" would claim a measurement. junit-10 makes it optional.
- A hidden case says only its message: the result model holds no data for it, and this
  format does not add a hint or printed output that a student could learn the inputs from.
- Warnings, notes, the diagnosis and what the submission printed outside any case go in the
  testsuite's <system-out>; its stderr in <system-err>. A case's printed output is in that
  testcase's <system-out>, where viewers show it beside the case.

A submission that did not load becomes an <error type="SubmissionError.<kind>"> on every
case, each carrying the load error in full, rather than one testcase named "load": the
number of tests and their names then stay the same from one CI run to the next, so viewers
that track a test's history (Jenkins, GitLab's "newly failed") see each case go from error
to passed once the file loads, and the counts agree with the JSON format's. Only if the
report holds no case at all is a single "load" testcase written, so the error cannot vanish.

The document is built with xml.etree.ElementTree, which escapes all text. Characters XML 1.0
cannot hold (NUL, most control characters, lone surrogates) are removed first, and terminal
colour sequences with them, since student output may contain anything.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from grader.render.numbers import points
from grader.render.plain import case_text, load_error_text, run_notes
from grader.render.untrusted import escape_match, visible
from grader.results import CaseResult, ClassRun, Report, Status

#: Terminal colour and cursor sequences in printed output: removed whole, not left as
#: "\x1b[31m" in a CI log.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
#: Everything outside XML 1.0's Char production.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """Text that any XML 1.0 parser accepts and a CI viewer shows as it is: colour
    sequences go whole; anything else a terminal would act on, and what XML forbids
    (U+FFFE), is written as its escape (`\\x00`, `\\u202e`, `\\ufffe`), never dropped."""
    return _NOT_XML.sub(escape_match, visible(_ANSI.sub("", text)))


def _attribute(text: str) -> str:
    """A name or title: every character as in _clean but colour sequences escaped too, and
    a newline; dropped, the folders 'ann', 'a\\x01nn' and '\\x1b[mann' would be three
    students of one name, and a name with a newline a title of two lines."""
    return _NOT_XML.sub(escape_match, visible(text)).replace("\n", "\\n")


def _one_line(text: str) -> str:
    """A `message` attribute: viewers show it as a title, so the first non-blank line."""
    lines = [line.strip() for line in _clean(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _seconds(value: float, digits: int) -> str:
    """Fixed-point: junit-10's time pattern has no exponent (1e-05 would fail) and, for a
    testsuite, at most three decimals (Surefire's milliseconds). A testcase's time is free
    text there, and a case often takes microseconds: "0.000" would say less, so six."""
    return f"{max(value, 0.0):.{digits}f}"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: _attribute(v) for k, v in attrs.items()})
    if text is not None:
        child.text = _clean(text)
    return child


def _testcase(suite: ET.Element, report: Report, case: CaseResult) -> None:
    attrs = {"classname": f"grader.{report.exercise}", "name": case.name}
    if case.seconds is not None:
        attrs["time"] = _seconds(case.seconds, 6)
    element = _element(suite, "testcase", **attrs)
    hidden = case.visibility == "hidden"
    if report.error is not None:
        _element(
            element,
            "error",
            f"{case.message}\n\n{load_error_text(report.error)}",
            message=f"{_one_line(case.message)}: {_one_line(report.error.message)}",
            type=f"SubmissionError.{report.error.kind}",
        )
    elif case.status is not Status.PASSED:
        body = case.message if hidden else case_text(case)
        tag, kind = ("failure", "WrongValue")
        if case.status is Status.ERROR:
            tag, kind = ("error", "CouldNotRun")
        _element(element, tag, body, message=_one_line(body), type=kind)
    if case.output and not hidden:
        _element(element, "system-out", case.output)


def render_junit(report: Report) -> str:
    tests = str(len(report.tests) or (1 if report.error is not None else 0))
    failures = str(report.count(Status.FAILED) if report.error is None else 0)
    errors = str(report.count(Status.ERROR) if report.error is None else tests)
    time = _seconds(report.execution_time, 3)
    counts = {"tests": tests, "failures": failures, "errors": errors}
    root = ET.Element("testsuites", {"name": "grader", **counts, "time": time})
    suite = _element(
        root,
        "testsuite",
        name=f"{report.exercise}: {report.title}",
        **counts,
        skipped="0",
        time=time,
        file=report.submission,
    )
    properties = _element(suite, "properties")
    values = [
        ("seed", str(report.seed)),
        ("score", points(report.score)),
        ("max_score", points(report.max_score)),
    ]
    if report.student is not None:
        values.append(("student", report.student))
    values += [("backend", report.backend), ("grader_version", report.grader_version)]
    for name, value in values:
        _element(properties, "property", name=name, value=value)
    for case in report.tests:
        _testcase(suite, report, case)
    if not report.tests and report.error is not None:
        load = _element(suite, "testcase", classname=f"grader.{report.exercise}", name="load")
        _element(
            load,
            "error",
            load_error_text(report.error),
            message=_one_line(report.error.message),
            type=f"SubmissionError.{report.error.kind}",
        )
    output = run_notes(report)
    if output:
        _element(suite, "system-out", output)
    if report.stderr.strip():
        _element(suite, "system-err", report.stderr)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_class(run: ClassRun) -> str:
    """`grade batch --format junit`: every student's grade now, graded by this run or
    before, and a roster's students without a file, as the summary counts them (a CI
    viewer of a re-run sees the class, not an empty run)."""
    return render_attempts(list(run.students))


def _why_kind(row: dict[str, Any]) -> str:
    """The `type` of a could-not-be-graded error: the load error's kind, the stop's, or the
    grader's own refusal (a file that is not a regular file...)."""
    if row.get("status") == "missing":
        return "NoSubmission"
    if row.get("status") == "pending":
        return "NotGraded"
    if row.get("load_error"):
        return f"SubmissionError.{row['load_error'].get('kind', 'unknown')}"
    if row.get("stopped") and row.get("status") == "error":
        return f"Stopped.{row['stopped'].get('kind', 'unknown')}"
    return "GraderError"


def _named_mistakes(row: dict[str, Any]) -> str:
    """The known mistakes the submission's results match, as a sentence ('' for none)."""
    ids = list(row.get("mistakes") or [])
    titles = list(row.get("mistake_titles") or ids)
    if not ids or len(titles) != len(ids):
        return ""
    named = "; ".join(f"{title} [{mistake}]" for title, mistake in zip(titles, ids, strict=True))
    return f"the submission's results match a known mistake: {named}"


def render_attempts(rows: list[dict[str, Any]]) -> str:
    """A batch run as JUnit XML: one <testsuite> per attempt (student and exercise), one
    <testcase> per case, from the gradebook's rows (the case messages it keeps)."""
    root = ET.Element("testsuites", {"name": "grader batch"})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for row in rows:
        cases = list(row["cases"])
        failures = sum(c["status"] == "failed" for c in cases)
        errors = sum(c["status"] == "error" for c in cases) + (not cases)
        counts = {"tests": str(len(cases) or 1), "failures": str(failures), "errors": str(errors)}
        time = _seconds(float(row["seconds"]), 3)
        suite = _element(
            root,
            "testsuite",
            name=f"{row['student']}: {row['item']}",
            **counts,
            skipped="0",
            time=time,
            timestamp=str(row["graded_at"])[:19],
        )
        properties = _element(suite, "properties")
        reason = row.get("error")
        stopped = row.get("stopped") or {}
        values = [
            ("student", row["student"]),
            ("score", points(row["score"])),
            ("max_score", points(row["max_score"])),
            ("mistakes", " ".join(row["mistakes"])),
        ]
        if row["mistakes"]:
            values.append(("mistake_titles", "; ".join(row.get("mistake_titles") or [])))
        if reason:
            values.append(("reason", reason))
        if stopped:
            values.append(("stopped", stopped.get("message", "")))
        values.append(("grader_version", row["grader_version"]))
        for name, value in values:
            _element(properties, "property", name=name, value=str(value))
        classname = f"grader.{row['item']}.{row['student']}"
        kind = _why_kind(row)
        named = _named_mistakes(row)
        for case in cases:
            element = _element(suite, "testcase", classname=classname, name=case["name"])
            message = str(case.get("message", case["status"]))
            if case["status"] == "failed":
                # What the submission's failures match: CI viewers show a failure's
                # message, and most ignore a suite's properties.
                failure = f"{message}; {named}" if named else message
                _element(element, "failure", failure, message=_one_line(failure), type="WrongValue")
            elif case["status"] == "error" and reason:
                # Why the submission could not be graded, not only that this case did not run.
                _element(
                    element,
                    "error",
                    f"{message}\n\n{reason}",
                    message=_one_line(str(reason)),
                    type=kind,
                )
            elif case["status"] == "error":
                _element(element, "error", message, message=_one_line(message), type="CouldNotRun")
        if not cases:
            load = _element(suite, "testcase", classname=classname, name="load")
            text = str(reason or "not graded")
            _element(load, "error", text, message=_one_line(text), type=kind)
        for key in totals:
            totals[key] += int(counts[key])
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
