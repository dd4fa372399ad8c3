"""The terminal format: a line per case with a mark, details for each failure, a summary.

Colour is a parameter: the CLI turns it on only for a TTY without NO_COLOR.
"""

from __future__ import annotations

import click

from grader.render.numbers import diagnosis_lines, expected_text, num, points, short
from grader.results import CaseResult, Report, Status, SubmissionError

_MARKS = {
    Status.PASSED: ("✓", "PASS", "green"),
    Status.FAILED: ("✗", "FAIL", "red"),
    Status.ERROR: ("!", "ERR ", "yellow"),
}
_LABEL = 10


class _Painter:
    def __init__(self, color: bool, unicode: bool) -> None:
        self.color = color
        self.unicode = unicode

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.color else text

    def mark(self, status: Status) -> str:
        symbol, word, fg = _MARKS[status]
        return self(symbol if self.unicode else word, fg=fg, bold=True)


def _field(label: str, value: str) -> list[str]:
    lines = value.splitlines() or [""]
    out = [f"    {label:<{_LABEL}}{lines[0]}"]
    out += [f"    {'':<{_LABEL}}{line}" for line in lines[1:]]
    return out


def _case_line(case: CaseResult, paint: _Painter, width: int) -> str:
    score = f"{points(case.score)}/{points(case.max_score)}"
    hidden = "  (hidden)" if case.visibility == "hidden" else ""
    name = f"{case.name}{hidden}"
    return f"  {paint.mark(case.status)} {name:<{width}}  {score:>7}"


def _details(case: CaseResult, paint: _Painter) -> list[str]:
    lines = [f"  {paint.mark(case.status)} {paint(case.name, bold=True)}"]
    lines += _field("what", case.message)
    if case.smallest is not None:
        small = case.smallest
        lines += _field(
            "smallest",
            f"a smaller input that fails the same way ({small.rows} "
            f"row{'s' if small.rows != 1 else ''}), to check by hand:",
        )
        for param, text in small.inputs.items():
            lines += _field("", f"  {param} = {text}")
        lines += _field("", f"  expected {num(small.expected_low)}, got {num(small.actual)}")
    for i, (param, text) in enumerate((case.inputs or {}).items()):
        lines += _field("inputs" if i == 0 else "", f"{param} = {text}")
    expected = expected_text(case)
    if expected is not None and case.status is Status.FAILED:
        tolerance = f"   (accepted: |got - expected| <= {short(case.atol)} + {short(case.rtol)}"
        tolerance += " * |expected|)"
        lines += _field("expected", expected + tolerance)
    if case.actual is not None:
        kind = f"   ({case.actual_type})" if case.actual_type else ""
        lines += _field("got", num(case.actual) + kind)
    elif case.actual_type and case.status is Status.FAILED:
        lines += _field("got", f"a value of type {case.actual_type}")
    if case.abs_error is not None and case.status is Status.FAILED:
        lines += _field(
            "error", f"{short(case.abs_error)} absolute, {short(case.rel_error)} relative"
        )
    if case.traceback:
        lines += _field("traceback", case.traceback)
    if case.hint:
        lines += _field("hint", paint(case.hint, fg="cyan"))
    if case.output:
        lines += _field("printed", case.output.rstrip("\n"))
    return lines


def _group_failures(
    tests: tuple[CaseResult, ...],
) -> list[tuple[CaseResult, list[CaseResult]]]:
    """Failures to detail: a case that failed exactly like an earlier one (same exception,
    same bad return type) is only named under it, so one mistake is not shown twenty times."""
    groups: list[tuple[CaseResult, list[CaseResult]]] = []
    firsts: dict[tuple[object, ...], list[CaseResult]] = {}
    for case in tests:
        if case.status is Status.PASSED:
            continue
        if case.actual is not None:  # a wrong number: each one tells something
            groups.append((case, []))
            continue
        key = (case.status, case.message, case.traceback, case.hint, case.actual_type)
        if key in firsts:
            firsts[key].append(case)
        else:
            firsts[key] = []
            groups.append((case, firsts[key]))
    return groups


def _submission_error(error: SubmissionError, paint: _Painter) -> list[str]:
    lines = [paint(f"{error.file} cannot be graded: {error.message}", fg="red", bold=True)]
    if error.line is not None:
        lines.append(f'  File "{error.file}", line {error.line}')
    if error.text:
        lines.append(f"    {error.text.strip()}")
        if error.column:
            indent = len(error.text) - len(error.text.lstrip())
            lines.append("    " + " " * max(0, error.column - 1 - indent) + "^")
    if error.traceback:
        lines.append("Traceback (your code only):")
        lines.append(error.traceback)
    if error.hint:
        lines.append(paint(f"hint: {error.hint}", fg="cyan"))
    return lines


def render_text(report: Report, *, color: bool = False, unicode: bool = True) -> str:
    paint = _Painter(color, unicode)
    dot = " · " if unicode else " - "
    lines = [paint(dot.join((report.exercise, report.title, report.submission)), bold=True), ""]
    if report.error is not None:
        lines += _submission_error(report.error, paint)
        lines.append("")
    else:
        width = max(
            (len(t.name) + (10 if t.visibility == "hidden" else 0) for t in report.tests), default=0
        )
        lines += [_case_line(t, paint, min(width, 70)) for t in report.tests]
        lines.append("")
        for case, same in _group_failures(report.tests):
            lines += _details(case, paint)
            if same:
                names = ", ".join(t.name for t in same[:5]) + (", ..." if len(same) > 5 else "")
                lines += _field("same in", f"{len(same)} more case(s): {names}")
            lines.append("")
    diagnosis = diagnosis_lines(report)
    if diagnosis is not None:
        lines.append(paint("Diagnosis", bold=True))
        head, *items = diagnosis
        lines.append(f"  {head}")
        lines += [f"  - {paint(item, fg='cyan')}" for item in items]
        lines.append("")
    for label, text in (
        ("printed while loading", report.import_output),
        ("stdout", report.stdout),
        ("stderr", report.stderr),
    ):
        if text.strip():
            lines.append(f"{label}:")
            lines += [f"    {line}" for line in text.rstrip("\n").splitlines()]
            lines.append("")
    passed, failed = report.count(Status.PASSED), report.count(Status.FAILED)
    errors = report.count(Status.ERROR)
    verdict = "all tests passed" if report.passed else f"{passed} passed, {failed} failed"
    if errors and not report.passed:
        verdict += f", {errors} error{'s' if errors != 1 else ''}"
    fg = "green" if report.passed else "red"
    score = paint(f"Score {points(report.score)}/{points(report.max_score)}", fg=fg, bold=True)
    lines.append(
        f"{score}: {verdict}   (seed {report.seed}; {report.execution_time:.2f} s; "
        f"sandbox: {report.backend})"
    )
    if report.sandbox_limitations:
        lines.append(
            f"note: the {report.backend} sandbox cannot guarantee isolation: "
            + "; ".join(report.sandbox_limitations)
            + ". 'grade doctor' tells why no stronger sandbox is used."
        )
    return "\n".join(lines) + "\n"
