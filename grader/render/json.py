"""The JSON format: one document, readable by Gradescope-style consumers.

Top-level `score`, `max_score`, `execution_time` and `tests` (each with `name`, `score`,
`max_score`, `status`, `output`, `visibility`) follow Gradescope's results.json; the rest
(`schema_version`, `details` per test, `error`...) is ours and documented in docs/integrations.md.

Every JSON document the grader prints or writes (ours, Gradescope's, a class's attempts,
the gradebook export) goes through `dumps`, the one boundary where student text is made
I-JSON (RFC 7493): lone surrogates and noncharacters, which strict decoders reject, are
written as their escapes' text (`\\ud800`, `\\ufffe`). Everything else is JSON's own
escaping.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import PurePath
from typing import Any

from grader.audience import Audience
from grader.render.numbers import diagnosis_lines, summary
from grader.render.plain import error_lines
from grader.render.untrusted import map_text, well_formed
from grader.results import SCHEMA_VERSION, CaseResult, ClassRun, Report, Status, SubmissionError


def dumps(document: Any, *, indent: int | None = 2) -> str:
    """A JSON document every strict decoder reads, whatever student text it holds. A list
    (a class's rows) is written one element at a time, alike to the character: with an
    indent, json's encoder keeps every piece of the whole document in memory until the
    end (100,000 rows took 750 MB)."""
    if not isinstance(document, list) or not indent or not document:
        return json.dumps(map_text(document, well_formed), indent=indent, allow_nan=False)
    pad = " " * indent
    parts = (
        json.dumps(map_text(element, well_formed), indent=indent, allow_nan=False)
        for element in document
    )
    return "[\n" + ",\n".join(pad + part.replace("\n", "\n" + pad) for part in parts) + "\n]"


def _finite(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity: write them as strings rather than emit invalid JSON."""
    if value is None or math.isfinite(value):
        return value
    return str(value)


def _smallest(case: CaseResult) -> dict[str, Any] | None:
    if case.smallest is None:
        return None
    return {**asdict(case.smallest), "actual": _finite(case.smallest.actual)}


def _test(case: CaseResult) -> dict[str, Any]:
    output = summary(case)
    if case.hint and case.status is not Status.PASSED:
        output += f"\nhint: {case.hint}"
    if case.traceback:
        output += f"\n{case.traceback}"
    if case.output:
        output += f"\nprinted:\n{case.output}"
    return {
        "name": case.name,
        "score": case.score,
        "max_score": case.max_score,
        "status": case.status.value,
        "output": output,
        "visibility": case.visibility,
        "details": {
            "kind": case.kind,
            "message": case.message,
            "hint": case.hint,
            "inputs": case.inputs,
            "expected_low": case.expected_low,
            "expected_high": case.expected_high,
            "actual": _finite(case.actual),
            "actual_type": case.actual_type,
            "abs_error": _finite(case.abs_error),
            "rel_error": _finite(case.rel_error),
            "rtol": case.rtol,
            "atol": case.atol,
            "printed": case.output,
            "traceback": case.traceback,
            "seconds": case.seconds,
            "smallest": _smallest(case),
            "seed": case.seed,
        },
    }


def _overall(report: Report, audience: Audience = Audience.TERMINAL) -> str:
    """Gradescope's top-level `output`, shown above the tests: warnings and diagnosis."""
    lines = [f"warning: {w}" for w in report.warnings]
    lines += [f"note: {n}" for n in report.notes]
    lines += diagnosis_lines(report, audience) or []
    return "\n".join(lines)


def render_json(report: Report) -> str:
    document = {
        "schema_version": report.schema_version,
        "exercise": report.exercise,
        "title": report.title,
        "submission": report.submission,
        "score": report.score,
        "max_score": report.max_score,
        "passed": report.count(Status.PASSED),
        "failed": report.count(Status.FAILED),
        "errors": report.count(Status.ERROR),
        "execution_time": round(report.execution_time, 4),
        "seed": report.seed,
        "student": report.student,
        "backend": report.backend,
        "sandbox_limitations": list(report.sandbox_limitations),
        "grader_version": report.grader_version,
        "warnings": list(report.warnings),
        "notes": list(report.notes),
        "error": asdict(report.error) if report.error else None,
        "stopped": asdict(report.stopped) if report.stopped else None,
        "diagnosis": asdict(report.diagnosis) if report.diagnosis else None,
        "import_output": report.import_output,
        "stdout": report.stdout,
        "stderr": report.stderr,
        "output": _overall(report),
        "tests": [_test(case) for case in report.tests],
    }
    return dumps(document) + "\n"


def _gradescope_test(case: CaseResult) -> dict[str, Any]:
    return {
        "name": case.name,
        "score": case.score,
        "max_score": case.max_score,
        # Gradescope knows passed and failed only: an error (a crash, a timeout) failed.
        "status": "passed" if case.status is Status.PASSED else "failed",
        "output": _test(case)["output"],
        # Hidden cases carry no data (redacted in the model); their verdicts show once the
        # instructor publishes the grades.
        "visibility": "after_published" if case.visibility == "hidden" else "visible",
    }


def render_gradescope(report: Report, audience: Audience = Audience.TERMINAL) -> str:
    """Gradescope's results.json: only the fields its specification documents. `grade
    gradescope` renders for a student who uploaded a file (Audience.UPLOAD); `--format
    gradescope` at a terminal for one who can run commands."""
    overall = _overall(report, audience)
    output = overall
    if report.error is not None:
        output = _upload_error(report.error, audience) + (("\n" + overall) if overall else "")
    # The seed is what makes the random cases: said where the student reads, so a regrade
    # that drew the same cases can be seen to have.
    drawn = f"Graded with seed {report.seed}."
    output = f"{output}\n{drawn}" if output else drawn
    document = {
        "score": report.score,
        "execution_time": round(report.execution_time, 3),
        "output": output,
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "exercise": report.exercise,
            "seed": report.seed,
            "student": report.student,
            "grader_version": report.grader_version,
            "max_score": report.max_score,
        },
        "tests": [_gradescope_test(case) for case in report.tests],
    }
    return dumps(document) + "\n"


def _upload_error(error: SubmissionError, audience: Audience) -> str:
    """Why the file could not be used, as the terminal shows it: the place, the line of
    code with a caret under the column, the traceback, the hint. To a student who uploaded
    it, the file is named as they named it, not by the autograder's path to it."""
    name = PurePath(error.file).name if audience is Audience.UPLOAD else error.file
    where = f"{name}, line {error.line}" if error.line else name
    return "\n".join([f"{where}: {error.message}", *error_lines(error)])


def render_class(run: ClassRun) -> str:
    """`grade batch --format json`: the summary; every student's grade now (`class`: graded
    by this run or before, and a roster's students without a file), as the summary counts
    them; and the attempts this run graded."""
    document = {"summary": run.summary, "class": run.students, "attempts": run.attempts}
    return dumps(document) + "\n"


def render_error(what: str, *, kind: str = "configuration") -> str:
    """The one document a JSON consumer gets when there is no report: it can always parse
    stdout, whatever the exit code."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "error": {"kind": kind, "message": what},
        "score": 0,
        "tests": [],
    }
    return dumps(document) + "\n"
