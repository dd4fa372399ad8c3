"""The terminal format, in the order a student reads it: score, diagnosis, the first
failures in full, then every case on one line. Every line fits the terminal's width.

Colour and width are parameters: the CLI turns colour on only for a TTY without NO_COLOR.

This module is the terminal's boundary for student text: a report is made safe whole at
the top of render_text (every control character, bidirectional override and lone
surrogate shown as its escape, grader.render.untrusted.visible) before any line is cut, so
no sequence reaches the reader's terminal and a cut can never leave half of one. Only the
grader's own colours, added after, are escape sequences.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

import click

from grader.render.numbers import apart, diagnosis_lines, expected_text, num, points, short
from grader.render.untrusted import map_text, visible
from grader.results import CaseResult, ClassRun, Report, Status, SubmissionError

_MARKS = {
    Status.PASSED: ("✓", "PASS", "green"),
    Status.FAILED: ("✗", "FAIL", "red"),
    Status.ERROR: ("!", "ERR ", "yellow"),
}
_LABEL = 10
#: Failures shown in full; the others get one line in the list of cases (--verbose: all).
DETAILED = 3


class Painter:
    def __init__(self, color: bool, unicode: bool) -> None:
        self.color = color
        self.unicode = unicode

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if self.color else text

    def mark(self, status: Status) -> str:
        symbol, word, fg = _MARKS[status]
        return self(symbol if self.unicode else word, fg=fg, bold=True)


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters: breaks at spaces (an array's items), and inside
    a word only when one word alone is longer than the line."""
    out: list[str] = []
    for line in text.splitlines() or [""]:
        out += textwrap.wrap(
            line,
            max(width, 20),
            break_on_hyphens=False,
            replace_whitespace=False,
            drop_whitespace=True,
        ) or [""]
    return out


class _Writer:
    """Lines of the report, each kept within the terminal's width."""

    def __init__(self, paint: Painter, width: int) -> None:
        self.paint = paint
        self.width = width
        self.lines: list[str] = []

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def text(self, text: str, indent: int = 0, **style: Any) -> None:
        pad = " " * indent
        for line in _wrap(text, self.width - indent):
            self.lines.append(pad + (self.paint(line, **style) if style else line))

    def field(self, label: str, value: str, **style: Any) -> None:
        """A labelled value, continued under itself. A label too long for its column
        ("full input") stands on a line of its own, so it never runs into its value."""
        pad = 4 + _LABEL
        if len(label) >= _LABEL:
            self.lines.append(f"    {label}")
            label = ""
        for i, line in enumerate(_wrap(value, self.width - pad)):
            head = f"    {label:<{_LABEL}}" if i == 0 else " " * pad
            self.lines.append(head + (self.paint(line, **style) if style else line))


#: A number as reports write one (-0.5, 1e-07, 0.34657, 10,000): never cut in two.
_NUMBER = re.compile(r"[-+]?\d[\d,._]*(?:e[-+]?\d+)?", re.IGNORECASE)
#: What stands for the middle of a shortened name.
_CUT = " ... "
#: How far a cut moves to fall between words rather than inside one.
_WORD = 8


def _head(text: str, size: int) -> str:
    """The first `size` characters at most, ending before a number rather than in it, and
    between words where one ends close by."""
    if len(text) <= size:
        return text
    for number in _NUMBER.finditer(text):
        if number.start() < size < number.end():
            size = number.start()
    space = text.rfind(" ", 0, size + 1)
    if text[size : size + 1] != " " and space > 0 and size - space <= _WORD:
        size = space
    return text[:size].rstrip()


def _tail(text: str, size: int) -> str:
    """The last `size` characters at most, starting after a number rather than in it, and
    between words where one starts close by."""
    if len(text) <= size:
        return text
    start = len(text) - size
    for number in _NUMBER.finditer(text):
        if number.start() < start < number.end():
            # The whole number if it is short ("0.35667"), else none of it.
            close = start - number.start() <= _WORD
            start = number.start() if close else number.end()
    space = text.find(" ", start - 1)
    if text[start - 1 : start] != " " and space >= 0 and space - start < _WORD:
        start = space + 1
    return text[start:].lstrip()


def _truncate(text: str, width: int) -> str:
    """`text` cut at its end to `width` characters, never inside a number."""
    if len(text) <= width:
        return text
    return _head(text, max(1, width - 3)) + "..."


def _middle(text: str, width: int, tail: int) -> str:
    """`text` in `width` characters: its start, " ... ", and about its last `tail`
    characters (a case's number "#2", its expected value, "(hidden)"), never cutting a
    number."""
    if len(text) <= width:
        return text
    end = _tail(text, tail)
    shortened = _head(text, max(1, width - len(_CUT) - len(end))) + _CUT + end
    return shortened if end and len(shortened) <= width else _truncate(text, width)


def shorten_names(names: Sequence[str], width: int) -> list[str]:
    """Every name in at most `width` characters, shortened in the middle, and names that
    differ kept different: where two shorten alike (cases that differ only at the end,
    "... on wrong classes #1" and "#2"), more of their ends is kept."""
    tail = max(6, (width - len(_CUT)) // 3)
    short = [_middle(n, width, tail) for n in names]
    while tail < width - len(_CUT) - 1:
        seen: dict[str, set[str]] = {}
        for name, cut in zip(names, short, strict=True):
            seen.setdefault(cut, set()).add(name)
        alike = {cut for cut, full in seen.items() if len(full) > 1}
        if not alike:
            break
        tail += 1
        short = [
            _middle(n, width, tail) if cut in alike else cut
            for n, cut in zip(names, short, strict=True)
        ]
    return short


def _listed_name(case: CaseResult) -> str:
    return f"{case.name} (hidden)" if case.visibility == "hidden" else case.name


#: A case line's fixed parts: indent and mark ("  ✗ "), then two spaces, the points
#: ("  0/1"), two spaces, and the brief.
_LINE_FIXED = 4 + 2 + 5 + 2


def _case_line(case: CaseResult, paint: Painter, name: str, name_width: int, width: int) -> str:
    """One line per case: mark, name, points, and for a failure a brief that fits."""
    score = f"{points(case.score)}/{points(case.max_score)}"
    line = f"{name:<{name_width}}  {score:>5}"
    room = width - 4 - len(line) - 2
    brief = _brief(case, room) if case.status is not Status.PASSED else None
    if brief:
        line += "  " + brief
    return f"  {paint.mark(case.status)} {line}"


def _briefs(case: CaseResult) -> list[str]:
    """A failure in a few words, most telling first: the numbers when there are."""
    if case.actual is None or case.expected_low is None or case.expected_high is None:
        return [case.message]
    if case.expected_is_range:
        got, low, high = apart(case.actual, case.expected_low, case.expected_high)
        expected = f"{low} to {high}"
    else:
        got, expected = apart(case.actual, case.expected_low)
    return [f"got {got}, expected {expected}", f"got {got}"]


def _brief(case: CaseResult, room: int) -> str | None:
    """The most telling brief that fits `room`. Numbers and ranges are never cut (a cut
    "expected 0.34657 to ..." misleads): what does not fit is left out; only words are
    shortened, and not below 12 characters."""
    for brief in _briefs(case):
        if len(brief) <= room:
            return brief
    if case.actual is None and room >= 12:
        return _truncate(case.message, room)
    return None


def _details(case: CaseResult, out: _Writer) -> None:
    paint = out.paint
    for i, line in enumerate(_wrap(case.name, out.width - 4)):
        head = f"  {paint.mark(case.status)} " if i == 0 else "    "
        out.lines.append(head + paint(line, bold=True))
    out.field("what", case.message)
    if case.smallest is not None:
        small = case.smallest
        rows = f"{small.rows} row{'s' if small.rows != 1 else ''}"
        out.field("smallest", f"the smallest input found that fails the same way ({rows}):")
        for param, text in small.inputs.items():
            out.field("", f"{param} = {text}")
        out.field("", f"expected {num(small.expected_low)}, got {num(small.actual)}")
    for i, (param, text) in enumerate((case.inputs or {}).items()):
        label = ("full input" if case.smallest is not None else "inputs") if i == 0 else ""
        out.field(label, f"{param} = {text}")
    expected = expected_text(case)
    if expected is not None and case.status is Status.FAILED:
        out.field("expected", expected)
        out.field(
            "",
            f"(accepted: |got - expected| <= {short(case.atol)} + {short(case.rtol)} * |expected|)",
        )
    if case.actual is not None:
        kind = f"   ({case.actual_type})" if case.actual_type else ""
        out.field("got", num(case.actual) + kind)
    elif case.actual_type and case.status is Status.FAILED:
        out.field("got", f"a value of type {case.actual_type}")
    if case.abs_error is not None and case.status is Status.FAILED:
        out.field("error", f"{short(case.abs_error)} absolute, {short(case.rel_error)} relative")
    if case.traceback:
        out.field("traceback", case.traceback)
    if case.hint:
        out.field("hint", case.hint, fg="cyan")
    if case.output:
        out.field("printed", case.output.rstrip("\n"))


def _to_detail(tests: tuple[CaseResult, ...], verbose: bool) -> list[CaseResult]:
    """The failures shown in full: the first few, visible ones first, and not one that
    failed exactly like a case already shown (same exception, same bad return)."""
    failures = [t for t in tests if t.status is not Status.PASSED]
    failures.sort(key=lambda t: t.visibility == "hidden")
    if verbose:
        return failures
    shown: list[CaseResult] = []
    seen: set[tuple[object, ...]] = set()
    for case in failures:
        key = (case.status, case.message, case.traceback, case.hint, case.actual_type)
        if case.actual is None and key in seen:
            continue
        seen.add(key)
        shown.append(case)
        if len(shown) == DETAILED:
            break
    return shown


def _submission_error(error: SubmissionError, out: _Writer) -> None:
    out.text(f"{error.file} cannot be graded: {error.message}", fg="red", bold=True)
    if error.line is not None:
        out.text(f'File "{error.file}", line {error.line}', indent=2)
    if error.text:
        code = error.text.strip()
        out.lines.append("    " + _truncate(code, out.width - 4))
        if error.column:
            indent = len(error.text) - len(error.text.lstrip())
            caret = max(0, error.column - 1 - indent)
            if caret < out.width - 5:
                out.lines.append("    " + " " * caret + "^")
    if error.traceback:
        out.text("Traceback (your code only):")
        out.text(error.traceback)
    if error.hint:
        out.text(f"hint: {error.hint}", fg="cyan")


def render_text(
    report: Report,
    *,
    color: bool = False,
    unicode: bool = True,
    width: int = 100,
    verbose: bool = False,
) -> str:
    """The student's first screen first: score, warnings, diagnosis, the first failures in
    full, then every case on one line. `verbose` details every failure."""
    report = map_text(report, visible)
    paint = Painter(color, unicode)
    out = _Writer(paint, max(width, 40))
    dot = " · " if unicode else " - "
    out.text(dot.join((report.exercise, report.title, report.submission)), bold=True)
    out.lines += score_lines(report, paint, out.width)
    out.blank()
    for warning in report.warnings:
        out.text(f"warning: {warning}", fg="yellow")
        out.blank()
    for note in report.notes:
        out.text(f"note: {note}")
        out.blank()
    if report.error is not None:
        _submission_error(report.error, out)
        out.blank()
    diagnosis = diagnosis_lines(report)
    if diagnosis is not None:
        out.text("Diagnosis", bold=True)
        head, *items = diagnosis
        out.text(head, indent=2)
        for item in items:
            for i, line in enumerate(_wrap(item, out.width - 4)):
                out.lines.append(("  - " if i == 0 else "    ") + paint(line, fg="cyan"))
        out.blank()
    if report.error is None:
        detailed = _to_detail(report.tests, verbose)
        if detailed:
            failing = len([t for t in report.tests if t.status is not Status.PASSED])
            title = (
                "Failing cases"
                if len(detailed) == failing
                else (f"First failing cases ({len(detailed)} of {failing}; --verbose shows all)")
            )
            out.text(title, bold=True)
            for case in detailed:
                _details(case, out)
                out.blank()
        out.text("All cases", bold=True)
        names = [_listed_name(t) for t in report.tests]
        # Names take what the longest brief leaves, and at least a third of the line: a
        # brief's numbers are never cut, a name is shortened in the middle.
        briefs = [len(_briefs(t)[0]) for t in report.tests if t.status is not Status.PASSED]
        name_width = min(
            max(map(len, names), default=0),
            max(20, out.width // 3, out.width - _LINE_FIXED - max(briefs, default=0)),
        )
        shown = shorten_names(names, name_width)
        out.lines += [
            _case_line(t, paint, name, name_width, out.width)
            for t, name in zip(report.tests, shown, strict=True)
        ]
        out.blank()
    for label, text in (
        ("printed while loading", report.import_output),
        ("stdout", report.stdout),
        ("stderr", report.stderr),
    ):
        if text.strip():
            out.text(f"{label}:")
            out.text(text.rstrip("\n"), indent=4)
            out.blank()
    if report.sandbox_limitations:
        out.text(
            f"note: the {report.backend} sandbox cannot guarantee isolation: "
            + "; ".join(report.sandbox_limitations)
            + ". 'grade doctor' tells why no stronger sandbox is used."
        )
    return "\n".join(out.lines).rstrip("\n") + "\n"


def render_lines(lines: list[str]) -> str:
    """Lines for a terminal that may hold student text (a class's summary names students):
    each shown with its unseen characters escaped, and kept one line (a folder's name with
    a newline would otherwise write a line of its own into the summary)."""
    return "".join(visible(line).replace("\n", "\\n") + "\n" for line in lines)


def render_class_summary(run: ClassRun) -> str:
    """`grade batch`'s text output: the summary (the rows are in the gradebook)."""
    return render_lines(list(run.summary))


def score_lines(report: Report, paint: Painter, width: int) -> list[str]:
    passed, failed = report.count(Status.PASSED), report.count(Status.FAILED)
    errors = report.count(Status.ERROR)
    verdict = "all tests passed" if report.passed else f"{passed} passed, {failed} failed"
    if errors and not report.passed:
        verdict += f", {errors} error{'s' if errors != 1 else ''}"
    fg = "green" if report.passed else "red"
    score = f"Score {points(report.score)}/{points(report.max_score)}"
    run = f"(seed {report.seed}; {report.execution_time:.2f} s; sandbox: {report.backend})"
    if report.student is not None:
        run = f"(student {report.student})"
    head = f"{paint(score, fg=fg, bold=True)}: {verdict}"
    if len(f"{score}: {verdict}   {run}") <= width:
        return [f"{head}   {run}"]
    return [head, *_wrap(run, width)]
