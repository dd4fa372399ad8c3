"""How numbers and one-line case summaries are written, shared by every format."""

from __future__ import annotations

from grader.audience import Audience
from grader.results import CaseResult, MistakeFound, Report, Status


def num(value: float | None) -> str:
    """Every digit of a float (repr), so a student can check the value by hand."""
    if value is None:
        return "-"
    return repr(float(value))


def short(value: float | None) -> str:
    """Five significant digits, for error sizes where the exact value does not matter."""
    if value is None:
        return "-"
    return f"{value:.5g}"


def apart(value: float, *others: float) -> tuple[str, ...]:
    """`value` and `others` at five significant digits, or at as many more as it takes for
    `value` to read differently from each of them: a wrong answer never reads "got 0.55,
    expected 0.55" (0.550001 against 0.55 reads "got 0.550001, expected 0.55")."""
    for digits in range(5, 18):
        texts = tuple(f"{v:.{digits}g}" for v in (value, *others))
        if all(texts[0] != text for text in texts[1:]):
            return texts
    return tuple(repr(float(v)) for v in (value, *others))


def points(value: float) -> str:
    return f"{value:g}"


def expected_text(case: CaseResult) -> str | None:
    if case.expected_low is None or case.expected_high is None:
        return None
    if case.expected_is_range:
        return f"between {num(case.expected_low)} and {num(case.expected_high)}"
    return num(case.expected_low)


def summary(case: CaseResult) -> str:
    """One line on what a case found: the message, with the numbers where there are some."""
    if case.status is Status.PASSED:
        return "passed"
    parts = [case.message]
    expected = expected_text(case)
    if expected is not None and case.actual is not None:
        parts.append(f"expected {expected}, got {num(case.actual)}")
    return "; ".join(parts)


def diagnosis_lines(report: Report, audience: Audience = Audience.TERMINAL) -> list[str] | None:
    """The diagnosis in sentences, shared by every format; None: nothing to say. Where the
    statement is read depends on the reader (`grade show` at a terminal).

    The first line is the verdict; each further line names one mistake, how many failing
    cases set it apart from the right answer (what the naming rests on), and its hint.
    """
    found = report.diagnosis
    if found is None:
        return None
    if found.checked == 0:
        return ["No diagnosis: no failing case returned a number to compare with known mistakes."]
    if not found.mistakes:
        statement = (
            f"'grade show {report.exercise}'"
            if audience is Audience.TERMINAL
            else "the exercise's statement"
        )
        return [
            f"No known mistake matches your results on the {found.checked} failing case(s): "
            f"compare your code with the formula in {statement}."
        ]
    failing = sum(t.status is not Status.PASSED for t in report.tests)
    # Failing cases that raised or returned no number are not evidence: say which count.
    numbers = " that returned a number" if found.checked < failing else ""
    on = (
        f"on all {found.checked} failing cases{numbers}"
        if found.checked > 1
        else f"on the failing case{numbers}"
    )
    if len(found.mistakes) == 1:
        head = f"Your results match a known mistake {on}:"
    else:
        head = (
            f"Your results match {len(found.mistakes)} known mistakes equally well {on} "
            "(no case tells them apart):"
        )
    lines = [head]
    for mistake in found.mistakes:
        lines.append(
            f"{mistake.title} [{mistake.id}] ({_evidence(mistake, found.checked)}): {mistake.hint}"
        )
    return lines


def _evidence(mistake: MistakeFound, checked: int) -> str:
    """What the naming rests on, in one phrase that explains why it may count fewer cases
    than the head: a failing case shows the mistake only where the mistake's answer stands
    clearly apart from the right one (see grader/exercise/diagnose.py, `decisive`)."""
    if mistake.cases >= checked:
        return f"shown by {_cases(mistake.cases)} where it differs from the right answer"
    rest = checked - mistake.cases
    return (
        f"{mistake.cases} of them tell it from the right answer; the other {rest} agree "
        "with it as well, but there the right answer is a range, or too close to the "
        "mistake's, to tell the two apart"
    )


def _cases(n: int) -> str:
    return f"{n} case{'s' if n != 1 else ''}"
