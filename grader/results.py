"""The result model: what a grading run found, the one thing every renderer reads.

Plain frozen data, no presentation. Versioned: SCHEMA_VERSION changes whenever a field's
meaning changes, so stored reports (and the JSON format built on them) stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: 2: `warnings` added; a diagnosis's `cases` counts the failing cases that set the mistake
#: apart from the right answer; hidden tests carry no printed output or exception text.
SCHEMA_VERSION = 2


class Status(str, Enum):
    PASSED = "passed"
    #: The code ran and returned something wrong.
    FAILED = "failed"
    #: The code could not produce an answer: it raised, hung, crashed or did not load.
    ERROR = "error"


@dataclass(frozen=True)
class SmallestInput:
    """A smaller input, found by shrinking a failing random case, that still fails."""

    inputs: dict[str, str]
    rows: int
    expected_low: float
    expected_high: float
    actual: float


@dataclass(frozen=True)
class CaseResult:
    name: str
    kind: str  # fixed, random or edge
    visibility: str  # visible or hidden
    status: Status
    score: float
    max_score: float
    #: One sentence on what happened ("wrong value", "raised ZeroDivisionError").
    message: str
    hint: str | None = None
    #: Abbreviated inputs by parameter; None for hidden cases.
    inputs: dict[str, str] | None = None
    #: Expected value, or the accepted interval [expected_low, expected_high].
    expected_low: float | None = None
    expected_high: float | None = None
    actual: float | None = None
    actual_type: str | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    rtol: float | None = None
    atol: float | None = None
    #: What the call printed, bounded.
    output: str = ""
    #: The student's own frames of an exception.
    traceback: str | None = None
    seconds: float | None = None
    #: For a failing random case: the smallest input found that still fails.
    smallest: SmallestInput | None = None
    #: A quiz question's variant seed: with the student id, it regenerates their numbers.
    seed: int | None = None

    @property
    def expected_is_range(self) -> bool:
        return self.expected_low is not None and self.expected_low != self.expected_high


@dataclass(frozen=True)
class SubmissionError:
    """The submission could not be used at all (syntax error, missing function...)."""

    kind: str
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    text: str | None = None
    traceback: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class MistakeFound:
    """A known mistake whose results agree with the student's on every failing case."""

    id: str
    title: str
    hint: str
    #: The failing cases that set this mistake apart from the right answer: the evidence.
    cases: int


@dataclass(frozen=True)
class Diagnosis:
    #: Failing cases on which the student returned a number (the evidence); 0: none.
    checked: int
    #: Every matching mistake; empty: no known mistake explains the results.
    mistakes: tuple[MistakeFound, ...]


@dataclass(frozen=True)
class PlotLine:
    label: str
    reference: tuple[float, ...]
    #: None where the call did not return a number; NaN and infinity kept as they came.
    student: tuple[float | None, ...]


@dataclass(frozen=True)
class PlotData:
    """The student's loss against the reference over a sweep of one input (HTML report)."""

    x_label: str
    xs: tuple[float, ...]
    lines: tuple[PlotLine, ...]


@dataclass(frozen=True)
class Report:
    exercise: str
    title: str
    submission: str
    seed: int
    score: float
    max_score: float
    execution_time: float
    tests: tuple[CaseResult, ...]
    backend: str
    grader_version: str
    #: What the sandbox that ran this submission cannot guarantee (empty: full isolation).
    sandbox_limitations: tuple[str, ...] = ()
    #: None when every case passed, or the exercise declares no mistakes.
    diagnosis: Diagnosis | None = None
    #: Only when asked for (it costs a sandbox run), and the exercise declares a plot.
    plot: PlotData | None = None
    #: The exercise's statement (Markdown), for reports that show the formula.
    statement: str = ""
    error: SubmissionError | None = None
    #: Printed while the submission was imported.
    import_output: str = ""
    #: Reached the process's real stdout/stderr, outside any call.
    stdout: str = ""
    stderr: str = ""
    #: Sentences the student should read although they cost no points (parameter names
    #: that differ from the statement's, for instance).
    warnings: tuple[str, ...] = ()
    #: What the student should know about the run itself (a release bundle grades only the
    #: visible cases).
    notes: tuple[str, ...] = ()
    #: A quiz's student id, from which each question's numbers are drawn (None: exercises).
    student: str | None = None
    schema_version: int = SCHEMA_VERSION

    def count(self, status: Status) -> int:
        return sum(1 for t in self.tests if t.status is status)

    @property
    def passed(self) -> bool:
        return self.error is None and all(t.status is Status.PASSED for t in self.tests)


# --- a class ---------------------------------------------------------------------------------
#
# What grading one submission of a class leaves, built once from its Report (or from why it
# could not be graded): the gradebook stores it, and the summary, the dashboard, JSON and
# JUnit read it, so a case has one shape everywhere and a submission that could not be
# graded says why in `error`, not in a case of its own.


@dataclass(frozen=True)
class CaseRecord:
    """One case of one submission of a class."""

    name: str
    #: A Status value: passed, failed or error.
    status: str
    score: float
    max_score: float
    #: One sentence on what happened, as the report words it.
    message: str
    seed: int | None = None


@dataclass(frozen=True)
class Outcome:
    """One submission of a class, graded or not."""

    score: float
    max_score: float
    #: passed, failed (graded, not every case passed) or error (could not be graded, or
    #: did not load).
    status: str
    seconds: float
    mistakes: tuple[str, ...] = ()
    cases: tuple[CaseRecord, ...] = ()
    #: Why it could not be graded at all (not a regular file, unreadable...); None: graded.
    error: str | None = None


@dataclass(frozen=True)
class CaseRate:
    """How many of an exercise's submissions passed one case."""

    name: str
    passed: int
    submissions: int

    @property
    def rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass(frozen=True)
class Slow:
    student: str
    seconds: float
    score: float
    max_score: float
    status: str


@dataclass(frozen=True)
class Erroring:
    student: str
    #: Why the grader could not grade it at all; None when it was graded and every case
    #: errored (it did not load, it raised).
    message: str | None


@dataclass(frozen=True)
class ItemStats:
    """One exercise of a class, counted once: what the summary and the dashboard show."""

    item: str
    title: str
    submissions: int
    max_score: float
    scores: tuple[float, ...]
    mean: float
    median: float
    passed: int
    errors: int
    cases: tuple[CaseRate, ...]
    #: Most frequent first; a tie in the order of their ids.
    mistakes: tuple[tuple[str, int], ...]
    #: Slowest first; a tie in the order of the students' names.
    slowest: tuple[Slow, ...]
    erroring: tuple[Erroring, ...]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0
