"""The GitHub Actions format: workflow commands on stdout, and a Markdown step summary.

`render_github` writes annotations (`::error`, `::warning`, `::notice`) the runner turns
into marks on the run's page and on the submission's lines, then the cases in a folded log
group. GitHub shows at most 10 annotations of each level per step, so failing cases are
aggregated into one error, never one annotation per case. `step_summary` is the Markdown
report, cut to fit GitHub's limit of 1 MiB per step summary; the CLI appends it to
$GITHUB_STEP_SUMMARY, since a renderer writes no files.

This module is the GitHub log's boundary for student text. A report is made safe whole at
the top of render_github: control characters and bidirectional overrides shown as escapes
(grader.render.untrusted.visible), as in a terminal, since the log viewer acts on colour
sequences. Every command's message and properties are escaped as GitHub's toolkit escapes
them (actions/toolkit, packages/core/src/command.ts), so text can neither end a command
early nor start one on a line of its own; and since the runner still obeys the legacy
`##[command]` form anywhere in a line, every `##[` of the output is broken by a zero-width
space (`#\u200b#[`): it reads the same and commands nothing.
"""

from __future__ import annotations

from grader.render.markdown import render_markdown
from grader.render.numbers import diagnosis_lines, points, summary
from grader.render.untrusted import map_text, visible
from grader.results import CaseResult, Report, Status, SubmissionError

#: GitHub shows at most this many annotations of one level (error, warning, notice) per
#: step; it does not show the rest.
MAX_ANNOTATIONS = 10
#: Failing cases named in the one error annotation; the log group lists every case.
FIRST_FAILURES = 3
#: Characters of one annotation's message: long enough for a traceback, short enough to
#: read on the run's page.
MESSAGE_LIMIT = 4000
#: GitHub refuses a step summary over 1 MiB and shows none of it.
SUMMARY_LIMIT = 1024 * 1024
#: What step_summary returns at most, in UTF-8 bytes, marker included: room under the
#: limit for anything else the same step appends.
SUMMARY_BUDGET = SUMMARY_LIMIT - 64 * 1024

_WORD = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERROR: "ERROR"}
#: The runner's legacy command prefix, obeyed anywhere in a line (actions/runner,
#: ActionCommand.TryParse), and what it is written as instead.
LEGACY_PREFIX = "##["
_INERT_PREFIX = "#\u200b#["


def inert(text: str) -> str:
    """Text in which the runner finds no legacy command."""
    return text.replace(LEGACY_PREFIX, _INERT_PREFIX)


def escape_data(text: str) -> str:
    """A command's message: % first, so that the runner's unescaping restores the text."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property's value: also : (it would end the properties) and , (the next one)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line, `::name key=value,...::message`; None drops a property."""
    given = [f"{key}={escape_property(str(v))}" for key, v in properties.items() if v is not None]
    head = f"{name} {','.join(given)}" if given else name
    return f"::{head}::{escape_data(_bounded(message))}"


def _bounded(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    return message[:MESSAGE_LIMIT].rstrip() + "\n... (cut short: --report feedback.md has it all)"


def _one_line(text: str) -> str:
    """A plain log line that cannot start a workflow command: no line break of any kind."""
    return " ".join(text.splitlines())


def _capped(items: list[str], room: int) -> list[str]:
    """At most `room` messages: the last one holds every item that did not fit."""
    if len(items) <= room:
        return items
    return [*items[: room - 1], "\n\n".join(items[room - 1 :])]


def _counts(report: Report) -> str:
    return (
        f"{report.count(Status.PASSED)} passed, {report.count(Status.FAILED)} failed, "
        f"{report.count(Status.ERROR)} errors"
    )


def _load_error(report: Report, error: SubmissionError) -> str:
    where = f" (line {error.line})" if error.line else ""
    lines = [f"{error.file} cannot be graded: {error.message}{where}"]
    if error.text:
        lines.append(error.text.rstrip())
    if error.traceback:
        lines += ["Traceback (your code only):", error.traceback.rstrip()]
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return command(
        "error",
        "\n".join(lines),
        file=error.file,
        line=error.line,
        col=error.column,
        title=f"{report.exercise}: the submission cannot be graded",
    )


def _failures(report: Report, failures: list[CaseResult]) -> str:
    head = f"{len(failures)} of {len(report.tests)} cases fail"
    lines = [
        f"{head} ({_counts(report)}); "
        f"{points(report.score)}/{points(report.max_score)} points. First failures:"
    ]
    for case in failures[:FIRST_FAILURES]:
        lines.append(f"- {case.name}: {summary(case)}")
        if case.hint:
            lines.append(f"  hint: {case.hint}")
    if len(failures) > FIRST_FAILURES:
        more = len(failures) - FIRST_FAILURES
        lines.append(f"- and {more} more (the log group below lists every case)")
    diagnosis = diagnosis_lines(report)
    if diagnosis:
        lines += ["", *diagnosis]
    return command(
        "error", "\n".join(lines), file=report.submission, title=f"{report.exercise}: {head}"
    )


def _notes(report: Report) -> list[str]:
    notes = list(report.notes)
    if report.sandbox_limitations:
        notes.append(
            f"the {report.backend} sandbox cannot guarantee isolation: "
            + "; ".join(report.sandbox_limitations)
            + ". 'grade doctor' tells why no stronger sandbox is used."
        )
    return notes


def _case_log(report: Report) -> list[str]:
    lines = [command("group", f"{report.exercise}: {_counts(report)}")]
    for case in report.tests:
        hidden = " (hidden)" if case.visibility == "hidden" else ""
        line = f"{_WORD[case.status]} {case.name}{hidden}"
        if case.status is not Status.PASSED:
            line += f": {summary(case)}"
        lines.append(_one_line(line))
    lines.append(command("endgroup", ""))
    return lines


def render_github(report: Report) -> str:
    """At most one error, one warning per report warning and one notice per note plus the
    score, each level within GitHub's 10 per step; then every case in a folded log group
    (none when the submission did not load: every case would say "not run")."""
    report = map_text(report, visible)
    lines: list[str] = []
    failures = [case for case in report.tests if case.status is not Status.PASSED]
    if report.error is not None:
        # Every case failed the same way, "not run": the error says why, once.
        lines.append(_load_error(report, report.error))
    elif failures:
        lines.append(_failures(report, failures))
    for warning in _capped(list(report.warnings), MAX_ANNOTATIONS):
        lines.append(
            command("warning", warning, file=report.submission, title=f"{report.exercise}: warning")
        )
    score = (
        f"{report.exercise} · {report.title}: {points(report.score)}/"
        f"{points(report.max_score)} points ({_counts(report)}) · {report.submission}"
    )
    lines.append(command("notice", score, title=f"{report.exercise}: score"))
    for note in _capped(_notes(report), MAX_ANNOTATIONS - 1):
        lines.append(command("notice", note, title=f"{report.exercise}: note"))
    if report.tests and report.error is None:
        lines += _case_log(report)
    return inert("\n".join(lines)) + "\n"


def _fence_run(line: str) -> str:
    """The backticks a line starts with (after its indentation)."""
    stripped = line.lstrip()
    return stripped[: len(stripped) - len(stripped.lstrip("`"))]


def _open_fence(text: str) -> str | None:
    """The fence of the code block `text` ends inside, if any: a block is closed only by a
    line of backticks at least as long as its opening fence (the report's fences are longer
    than any run of backticks in student text)."""
    fence: str | None = None
    for line in text.splitlines():
        run = _fence_run(line)
        if len(run) < 3:
            continue
        if fence is None:
            fence = run
        elif len(run) >= len(fence) and not line.strip().strip("`"):
            fence = None
    return fence


def _cut(markdown: str, budget: int, marker: str) -> str:
    """The longest run of whole lines that fits with the marker, its code fence closed."""
    longest = max((len(_fence_run(line)) for line in markdown.splitlines()), default=3)
    room = budget - len(marker.encode("utf-8")) - longest - 3
    kept = markdown.encode("utf-8")[: max(room, 0)]
    newline = kept.rfind(b"\n")
    # A newline byte never sits inside a UTF-8 sequence; without one, drop a cut character.
    text = kept[: newline + 1].decode() if newline >= 0 else kept.decode(errors="ignore") + "\n"
    still_open = _open_fence(text)
    if still_open is not None:
        text += still_open + "\n"
    return text + "\n" + marker


def step_summary(report: Report) -> str:
    """The Markdown report for $GITHUB_STEP_SUMMARY, within SUMMARY_BUDGET bytes.

    A report too long for GitHub is cut after its last whole line that fits and ends with
    a visible marker, rather than losing the whole summary to GitHub's refusal.
    """
    markdown = render_markdown(report)
    size = len(markdown.encode("utf-8"))
    if size <= SUMMARY_BUDGET:
        return markdown
    marker = (
        f"> **Cut short:** the report is {size // 1024} KiB and GitHub shows at most "
        f"{SUMMARY_LIMIT // (1024 * 1024)} MiB per step summary, so the rest is left out. "
        "Run grade with `--report feedback.md` to read all of it.\n"
    )
    return _cut(markdown, SUMMARY_BUDGET, marker)
