"""The result model: what a grading run found, the one thing every renderer reads.

Plain frozen data, no presentation. Versioned: SCHEMA_VERSION changes whenever a field's
meaning changes, so stored reports (and the JSON format built on them) stay readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any

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
class Stopped:
    """What ended a submission's calls without an answer, as the supervisor saw it: the
    time budget, calls past their own limit, memory. Kept apart from the cases' sentences so
    that a class's outputs can tell a time-out from wrong answers."""

    #: budget (the submission's whole time budget ran out), hanging (calls in a row ran out
    #: of time, so the calls left were not made), time_limit (calls ran past their own
    #: limit), memory (calls used more than the memory limit) or crashed (the process died).
    kind: str
    #: One sentence that names the limit ("its time budget of 20 s ran out; ...").
    message: str
    #: How many calls it ended or kept from running.
    calls: int
    #: The time limit that ran out, in seconds (the budget's, or one call's).
    seconds: float | None = None
    #: The memory limit, for `memory`.
    memory_mb: int | None = None

    @property
    def whole(self) -> bool:
        """The submission as a whole could not be graded: the calls left were not made."""
        return self.kind in ("budget", "hanging")


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
    #: What ended calls without an answer (time, memory); None: every call ended by itself.
    stopped: Stopped | None = None
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
class LoadError:
    """Why a submission of a class did not load (a SubmissionError, kept short)."""

    #: syntax, import, missing, signature, unreadable, too_complex, timeout, crashed...
    kind: str
    message: str
    #: The file's name as it was submitted.
    file: str
    line: int | None = None


@dataclass(frozen=True)
class Outcome:
    """One submission of a class, graded or not."""

    score: float
    max_score: float
    #: passed, failed (graded, not every case passed) or error (could not be graded: it
    #: did not load, ran out of time, or could not be read).
    status: str
    seconds: float
    #: The ids of the mistakes the diagnosis named, and their titles in the same order.
    mistakes: tuple[str, ...] = ()
    cases: tuple[CaseRecord, ...] = ()
    #: One sentence on why it could not be graded ("could not be loaded: SyntaxError: ...
    #: (line 3)", "could not be graded: it ran out of time ...", a file that is not a regular
    #: file); None: graded.
    error: str | None = None
    mistake_titles: tuple[str, ...] = ()
    #: Why it did not load; None: it loaded (or was never run).
    load_error: LoadError | None = None
    #: What ended calls without an answer (time budget, calls out of time, memory).
    stopped: Stopped | None = None


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
    #: Why the grader could not grade it (Outcome.error); None only in a gradebook written
    #: before the reason was kept.
    message: str | None
    #: The line of the file a load error points at.
    line: int | None = None


@dataclass(frozen=True)
class StoppedCalls:
    """A submission graded with some of its calls stopped (memory, a call's own time
    limit, a crash): its other calls counted, these did not."""

    student: str
    #: Stopped.kind: memory, time_limit or crashed.
    kind: str
    #: Stopped.message: what stopped them, and the limit.
    message: str
    calls: int


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
    #: Each listed mistake's title, in the order of `mistakes`.
    mistake_titles: tuple[str, ...]
    #: Slowest first; a tie in the order of the students' names.
    slowest: tuple[Slow, ...]
    erroring: tuple[Erroring, ...]
    #: Students with nothing to grade (a roster's student without a file, or a file gone
    #: since): 0 points each, counted apart from the submissions and their figures.
    missing: tuple[str, ...] = ()
    #: Graded submissions some of whose calls were stopped, by name.
    stopped: tuple[StoppedCalls, ...] = ()
    #: Students whose file the latest run found and was stopped before grading (status
    #: "pending"): no grade yet, counted apart as those without a submission are.
    pending: tuple[str, ...] = ()

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass(frozen=True)
class RosterStudent:
    """One row of a class's roster (classroom/roster.py reads it); `line` is where it is
    written, for messages."""

    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    line: int = 0

    @property
    def display_name(self) -> str:
        return self.name or self.student


#: The reason of a class row whose file the latest run found and was stopped before
#: grading (classroom/gradebook.py writes it; renderers tell it apart).
NOT_GRADED = (
    "not graded yet: the run that found this file was stopped before grading it; run the "
    "same grade batch command again"
)


@dataclass(frozen=True)
class ClassRun:
    """What `grade batch` hands its renderers: the summary's lines, every student's grade
    at each exercise now (the class: graded by this run or before, and a roster's students
    without a file), and the attempts this run graded. Rows are the gradebook's, in the
    one shape every class output reads."""

    summary: tuple[str, ...]
    students: tuple[dict[str, Any], ...] = ()
    attempts: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Roster:
    """Who should have handed something in, as the institution lists them."""

    path: Path
    students: tuple[RosterStudent, ...]
    #: The columns the file has (a Canvas export needs to know whether SIS ids were given).
    columns: tuple[str, ...]

    def get(self, student: str) -> RosterStudent | None:
        return self._by_name.get(student)

    @cached_property
    def _by_name(self) -> dict[str, RosterStudent]:
        return {s.student: s for s in self.students}

    def where(self, student: RosterStudent) -> str:
        return f"{self.path}:{student.line}"

    def names(self) -> list[str]:
        return [s.student for s in self.students]
