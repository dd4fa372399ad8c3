"""Plain-text accounts of a case and of a run, for the renderers that are not the
terminal's: the bodies of JUnit failures, and pytest's failure messages (pytest_plugin).
Pure functions of the result model, in the words of grader.render.numbers."""

from __future__ import annotations

import unicodedata

from grader.render.numbers import diagnosis_lines, expected_text, num, short, summary
from grader.render.untrusted import visible
from grader.results import CaseResult, Report, Status, SubmissionError


def case_text(case: CaseResult) -> str:
    """The full account of a visible failure, in the text format's words. Its first line
    is the one-line summary (JUnit's message), which holds the expected and returned values
    where there are both: the lines after it do not say them again."""
    lines = [summary(case)]
    if case.smallest is not None:
        small = case.smallest
        rows = f"{small.rows} row{'s' if small.rows != 1 else ''}"
        lines.append(f"smallest: the smallest input found that fails the same way ({rows}):")
        lines += [f"  {param} = {text}" for param, text in small.inputs.items()]
        lines.append(f"  expected {num(small.expected_low)}, got {num(small.actual)}")
    if case.inputs:
        lines.append("full input:" if case.smallest is not None else "inputs:")
        lines += [f"  {param} = {text}" for param, text in case.inputs.items()]
    expected = expected_text(case)
    said = expected is not None and case.actual is not None
    if expected is not None and case.status is Status.FAILED:
        accepted = f"|got - expected| <= {short(case.atol)} + {short(case.rtol)} * |expected|"
        if said:
            lines.append(f"accepted: {accepted}")
        else:
            lines += [f"expected: {expected}", f"  (accepted: {accepted})"]
    if case.actual is not None and not said:
        kind = f"   ({case.actual_type})" if case.actual_type else ""
        lines.append(f"got: {num(case.actual)}{kind}")
    elif case.actual is None and case.actual_type and case.status is Status.FAILED:
        lines.append(f"got: a value of type {case.actual_type}")
    if case.abs_error is not None and case.status is Status.FAILED:
        lines.append(f"error: {short(case.abs_error)} absolute, {short(case.rel_error)} relative")
    if case.traceback:
        lines += ["traceback:", case.traceback.rstrip("\n")]
    if case.hint:
        lines.append(f"hint: {case.hint}")
    return "\n".join(lines)


def load_error_text(error: SubmissionError) -> str:
    """Why the submission could not be used, with the place: junit-10 has no line attribute."""
    lines = [f"{error.file} cannot be graded: {error.message}"]
    if error.line is not None:
        where = f'File "{error.file}", line {error.line}'
        lines.append(where + (f", column {error.column}" if error.column else ""))
    return "\n".join(lines + error_lines(error))


def error_lines(error: SubmissionError) -> list[str]:
    """What follows a load error's first line in every plain format: the line of code and
    its caret, the traceback, the hint."""
    lines = code_lines(error)
    if error.traceback:
        lines.append(error.traceback.rstrip("\n"))
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return lines


def code_lines(error: SubmissionError) -> list[str]:
    """The line of code a load error names, and a caret under its column: the line as a
    terminal shows it (control characters as escapes), the caret under what the column's
    character became, two columns for a wide character, a tab kept under a tab; a long
    line shown around the column, so that the caret has a place."""
    if not error.text or not error.text.strip():
        return []
    code = error.text.rstrip()
    column = error.column if error.column and 0 < error.column <= len(code) + 1 else None
    before, after = (code[: column - 1], code[column - 1 :]) if column else (code, "")
    if len(before) > CODE_WIDTH:
        before = "..." + before[-(CODE_WIDTH - 20) :]
    if len(after) > 40:
        after = after[:40] + "..."
    shown_before = visible(before)
    lines = [f"    {shown_before}{visible(after)}"]
    if column:
        lines.append(f"    {''.join(_blank(c) for c in shown_before)}^")
    return lines


#: How much of a long line of code is shown before the column a load error names.
CODE_WIDTH = 100


def _blank(char: str) -> str:
    """What goes under a character so that the next one's column is kept."""
    if char == "\t":
        return "\t"
    return "  " if unicodedata.east_asian_width(char) in ("W", "F") else " "


def run_notes(report: Report) -> str:
    """Warnings, notes and the diagnosis in the words and order of the JSON `output`, then
    what concerns the whole run."""
    lines = [f"warning: {w}" for w in report.warnings]
    lines += [f"note: {n}" for n in report.notes]
    lines += diagnosis_lines(report) or []
    if report.sandbox_limitations:
        lines.append(
            f"note: the {report.backend} sandbox cannot guarantee isolation: "
            + "; ".join(report.sandbox_limitations)
        )
    if report.error is not None:
        lines.append(load_error_text(report.error))
    for label, text in (("printed while loading", report.import_output), ("stdout", report.stdout)):
        if text.strip():
            lines += [f"{label}:", text.rstrip("\n")]
    return "\n".join(lines)
