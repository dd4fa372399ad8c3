"""`grade EXERCISE --watch`: what changed between two runs, the watch loop over a stand-in
grading, and the command itself in a real pseudo-terminal, saved into as an editor saves."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_quiz_interactive import Terminal

from conftest import REPO, SUBMISSIONS, run_grade
from grader.errors import GraderError, SubmissionNotFoundError
from grader.integrations.watch import CLEAR, NAMES_SHOWN, changes, watch
from grader.results import CaseResult, Report, Status, SubmissionError

#: How long a test waits for a run it caused; a wait that ends is a failure, not a timing.
PATIENCE = 30.0
#: The promise of --watch: grading starts within this long of a save.
STARTS_WITHIN = 1.0


def case(name: str, status: Status = Status.PASSED, points: float = 1.0) -> CaseResult:
    passed = status is Status.PASSED
    return CaseResult(
        name=name,
        kind="fixed",
        visibility="visible",
        status=status,
        score=points if passed else 0.0,
        max_score=points,
        message="correct" if passed else "wrong value",
    )


def report(*tests: CaseResult, error: SubmissionError | None = None, seed: int = 7) -> Report:
    return Report(
        exercise="ex01",
        title="Binary cross-entropy",
        submission="ex01.py",
        seed=seed,
        score=sum(t.score for t in tests),
        max_score=sum(t.max_score for t in tests),
        execution_time=0.5,
        tests=tests,
        backend="process",
        grader_version="test",
        error=error,
    )


FAILED, ERROR = Status.FAILED, Status.ERROR
SYNTAX = SubmissionError(kind="syntax", message="invalid syntax at line 3", file="ex01.py")


# --- changes(): what a student reads after each run -----------------------------------------


def test_the_first_run_has_nothing_to_compare_with() -> None:
    assert changes(None, report(case("a"), case("b", FAILED))) == []


def test_a_better_run_names_the_cases_that_pass_now_and_the_score_gained() -> None:
    before = report(case("small", FAILED), case("large batch", FAILED), case("edge", points=2))
    after = report(case("small"), case("large batch"), case("edge", points=2))
    assert changes(before, after) == ["score 2 -> 4 (+2)", "now passing: small; large batch"]


def test_a_worse_run_names_the_cases_that_fail_now_and_the_score_lost() -> None:
    before = report(case("small"), case("large batch"), case("edge"))
    after = report(case("small"), case("large batch", ERROR), case("edge", FAILED))
    assert changes(before, after) == ["score 3 -> 1 (-2)", "now failing: large batch; edge"]


def test_one_case_fixed_and_another_broken_keeps_the_score_and_names_both() -> None:
    before = report(case("a", FAILED), case("b"))
    after = report(case("a"), case("b", ERROR))
    assert changes(before, after) == [
        "score 1 -> 1 (unchanged)",
        "now passing: a",
        "now failing: b",
    ]


def test_a_failure_that_becomes_an_error_is_no_change() -> None:
    before = report(case("a", FAILED), case("b"))
    assert changes(before, report(case("a", ERROR), case("b"))) == ["score 1 -> 1 (unchanged)"]


def test_fractional_scores_are_written_without_trailing_zeros() -> None:
    before = report(case("a", FAILED, points=0.5), case("b", points=1.25))
    after = report(case("a", points=0.5), case("b", points=1.25))
    assert changes(before, after)[0] == "score 1.25 -> 1.75 (+0.5)"


def test_scores_that_differ_by_rounding_alone_are_unchanged() -> None:
    before = report(case("a", points=0.1), case("b", points=0.2), case("c", FAILED))
    after = report(case("a", points=0.3))
    assert changes(before, after)[0] == "score 0.3 -> 0.3 (unchanged), out of 0.3 instead of 1.3"


def test_cases_of_the_same_name_are_matched_in_order() -> None:
    before = report(case("random batch"), case("random batch", FAILED))
    after = report(case("random batch", FAILED), case("random batch"))
    assert changes(before, after) == [
        "score 1 -> 1 (unchanged)",
        "now passing: random batch",
        "now failing: random batch",
    ]


def test_a_case_of_one_run_only_is_neither_passing_now_nor_failing_now() -> None:
    before = report(case("a", FAILED), case("gone"))
    after = report(case("a", FAILED), case("new"))
    assert changes(before, after) == ["score 1 -> 1 (unchanged)"]


def test_a_long_list_of_names_is_cut_and_counted() -> None:
    names = [f"case {i}" for i in range(NAMES_SHOWN + 3)]
    before = report(*(case(n, FAILED) for n in names), case("kept"))
    after = report(*(case(n) for n in names), case("kept"))
    shown = "; ".join(names[:NAMES_SHOWN])
    assert changes(before, after)[1] == f"now passing: {shown}; and 3 more"


def test_every_case_turning_is_said_in_two_words() -> None:
    before = report(case("a"), case("b"), case("c"))
    after = report(case("a", ERROR), case("b", ERROR), case("c", ERROR), error=SYNTAX)
    assert changes(before, after) == [
        "score 3 -> 0 (-3)",
        "the submission does not load any more: invalid syntax at line 3",
        "now failing: every case (3)",
    ]
    assert changes(after, before) == [
        "score 0 -> 3 (+3)",
        "the submission loads again",
        "now passing: every case (3)",
    ]


def test_a_submission_that_still_does_not_load_is_not_said_again() -> None:
    broken = report(case("a", ERROR), error=SYNTAX)
    assert changes(broken, broken) == ["score 0 -> 0 (unchanged)"]


def test_a_new_maximum_is_said_with_the_score() -> None:
    before = report(case("a"), case("b", FAILED))
    after = report(case("a"), case("b", FAILED), case("c"))
    assert changes(before, after)[0] == "score 1 -> 2 (+1), out of 3 instead of 2"


# --- watch(): the loop, over a stand-in grading --------------------------------------------


def editor_save(path: Path, text: str) -> None:
    """As editors save: a temporary file beside it, renamed over it."""
    temporary = path.with_name(f".{path.name}.swp-{time.monotonic_ns()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class Watching:
    """watch() in a thread; each grading reads the file and reports one case, 'the case',
    passing when the file says 'right' (and raises GraderError when the file is gone)."""

    def __init__(self, path: Path, *, clear: bool = False) -> None:
        self.path = path
        self.out = io.StringIO()
        self.stop = threading.Event()
        self.runs: queue.Queue[str] = queue.Queue()
        #: Called inside a run, once, before it reads the file.
        self.during_next_run: Callable[[], None] | None = None
        self.thread = threading.Thread(
            target=watch,
            args=(path, self.grade, self.show),
            kwargs={"out": self.out, "clear": clear, "stop": self.stop},
            daemon=True,
        )
        self.thread.start()

    def grade(self) -> Report:
        if self.during_next_run is not None:
            hook, self.during_next_run = self.during_next_run, None
            hook()
        if not self.path.exists():
            self.runs.put("missing")
            raise SubmissionNotFoundError(f"{self.path.name} does not exist")
        text = self.path.read_text(encoding="utf-8")
        self.runs.put(text)
        return report(case("the case", Status.PASSED if "right" in text else FAILED))

    @staticmethod
    def show(graded: Report) -> str:
        return f"REPORT score {graded.score:g}\n"

    def next_run(self) -> str:
        try:
            return self.runs.get(timeout=PATIENCE)
        except queue.Empty:
            pytest.fail(f"no run within {PATIENCE:g} s; the output:\n{self.out.getvalue()}")

    def no_more_runs(self) -> None:
        """Stop, and check that nothing was graded since the last run taken."""
        self.stop.set()
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "watch() did not stop"
        assert self.runs.empty(), f"an extra run: {self.runs.get()!r}"


Start = Callable[..., Watching]


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    path = tmp_path / "ex01.py"
    path.write_text("wrong\n", encoding="utf-8")
    return path


@pytest.fixture
def watching() -> Iterator[Start]:
    """Starts watches; any still going at the end (a test failed) is stopped."""
    started: list[Watching] = []

    def start(path: Path, *, clear: bool = False) -> Watching:
        started.append(Watching(path, clear=clear))
        return started[-1]

    yield start
    for one in started:
        one.stop.set()
        one.thread.join(PATIENCE)


def test_the_first_run_needs_no_save_and_a_save_runs_again(
    submission: Path, watching: Start
) -> None:
    watcher = watching(submission)
    assert watcher.next_run() == "wrong\n"
    editor_save(submission, "right\n")
    assert watcher.next_run() == "right\n"
    watcher.no_more_runs()
    out = watcher.out.getvalue()
    assert out.startswith("grading ex01.py...\nREPORT score 0\n")
    assert "\nchanged: ex01.py, grading...\nREPORT score 1\n" in out
    assert "since the last run:\n  score 0 -> 1 (+1)\n  now passing: the case\n" in out
    assert out.count("watching ex01.py: saving it grades it again (Ctrl-C stops)") == 2
    assert CLEAR not in out


def test_the_screen_is_cleared_before_each_report_when_asked(
    submission: Path, watching: Start
) -> None:
    watcher = watching(submission, clear=True)
    watcher.next_run()
    submission.write_text("right\n", encoding="utf-8")
    watcher.next_run()
    watcher.no_more_runs()
    out = watcher.out.getvalue()
    assert out.count(CLEAR + "REPORT") == 2


def test_saves_during_a_run_are_graded_together_once_it_ends(
    submission: Path, watching: Start
) -> None:
    watcher = watching(submission)

    def three_saves() -> None:
        for text in ("first\n", "second\n", "right\n"):
            editor_save(submission, text)
            time.sleep(0.05)

    watcher.during_next_run = three_saves
    assert watcher.next_run() == "right\n"  # the first run read the file after the saves
    assert watcher.next_run() == "right\n"  # one more run for all three
    time.sleep(5 * 0.1)  # an extra run would have started by now: saves wait 50 ms at most
    watcher.no_more_runs()


def test_a_deleted_file_is_said_and_a_new_one_is_graded(submission: Path, watching: Start) -> None:
    watcher = watching(submission)
    watcher.next_run()
    submission.unlink()
    assert watcher.next_run() == "missing"
    submission.write_text("right\n", encoding="utf-8")
    assert watcher.next_run() == "right\n"
    watcher.no_more_runs()
    out = watcher.out.getvalue()
    assert "\ndeleted: ex01.py, grading...\ngrade: ex01.py does not exist\n" in out
    # Compared with the last run that had a report, not with the missing file.
    assert "since the last run:\n  score 0 -> 1 (+1)\n" in out


def test_a_file_that_does_not_exist_yet_is_graded_once_written(
    tmp_path: Path, watching: Start
) -> None:
    path = tmp_path / "ex01.py"
    watcher = watching(path)
    assert watcher.next_run() == "missing"
    editor_save(path, "right\n")
    assert watcher.next_run() == "right\n"
    watcher.no_more_runs()
    assert "since the last run" not in watcher.out.getvalue()  # nothing to compare with


def test_other_files_of_the_directory_are_not_watched(submission: Path, watching: Start) -> None:
    watcher = watching(submission)
    watcher.next_run()
    (submission.parent / "notes.txt").write_text("x", encoding="utf-8")
    editor_save(submission.parent / "ex02.py", "right\n")
    (submission.parent / "sub").mkdir()
    (submission.parent / "sub" / "ex01.py").write_text("right\n", encoding="utf-8")
    editor_save(submission, "right\n")  # the run this waits for: nothing came before it
    assert watcher.next_run() == "right\n"
    watcher.no_more_runs()


def test_a_missing_directory_is_a_grader_error(tmp_path: Path) -> None:
    with pytest.raises(GraderError, match="is not a directory"):
        watch(
            tmp_path / "nowhere" / "ex01.py",
            lambda: report(),
            lambda _: "",
            out=io.StringIO(),
            clear=False,
        )


# --- grade ex01 --watch, in a real terminal -------------------------------------------------


def graded_json(path: Path, seed: str) -> dict[str, Status]:
    result = run_grade("ex01", "--file", str(path), "--seed", seed, "--format", "json")
    return {t["name"]: Status(t["status"]) for t in json.loads(result.stdout)["tests"]}


@pytest.mark.slow
def test_watch_regrades_an_editors_save_within_a_second_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    sub = tmp_path / "ex01.py"
    shutil.copy(SUBMISSIONS / "ex01" / "bad_log2.py", sub)
    good = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text(encoding="utf-8")
    # The program's controlling terminal, so that Ctrl-C below is a SIGINT, as in a shell.
    args = ["ex01", "--watch", "--file", str(sub), "--course", str(REPO)]
    term = Terminal(args, tmp_path, controlling=True)
    try:
        term.expect(r"grading ex01\.py\.\.\.", timeout=PATIENCE)
        first = term.expect(r"Score (\d+)/(\d+).*\(seed (\d+);", timeout=PATIENCE)
        term.expect(r"watching ex01\.py: saving it grades it again \(Ctrl-C stops\)")
        before, most, seed = first.groups()

        editor_save(sub, good)
        saved = time.monotonic()
        term.expect(r"changed: ex01\.py, grading\.\.\.", timeout=PATIENCE)
        started = time.monotonic() - saved
        term.expect(rf"Score {most}/{most}.*\(seed {seed};", timeout=PATIENCE)
        finished = time.monotonic() - saved
        term.expect(r"since the last run:")
        gained = int(most) - int(before)
        term.expect(rf"score {before} -> {most} \(\+{gained}\)")
        passing = term.expect(r"now passing: ([^\n]*)").group(1)
        term.expect(r"watching ex01\.py")

        # The seed was kept: the names are those that failed before, in the report's order.
        was = graded_json(SUBMISSIONS / "ex01" / "bad_log2.py", seed)
        turned = [name for name, status in was.items() if status is not Status.PASSED]
        assert len(turned) == gained
        assert passing == "; ".join(turned[:NAMES_SHOWN]) + f"; and {gained - NAMES_SHOWN} more"
        assert term.raw.count(CLEAR) == 2  # a terminal: cleared before each report
        print(f"\nre-grade started {started:.3f} s and ended {finished:.3f} s after the save")
        assert started < STARTS_WITHIN, f"grading started {started:.2f} s after the save"

        term.send("\x03")
        term.expect(r"stopped watching ex01\.py", timeout=PATIENCE)
        assert term.wait(timeout=PATIENCE) == 0
        assert "Traceback" not in term.text
    finally:
        term.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--format", "json"], "leave out --format json"),
        (["--format", "junit"], "leave out --format junit"),
        (["--report", "feedback.html"], "leave out --report"),
    ],
)
def test_watch_shows_the_text_report_only(tmp_path: Path, option: list[str], said: str) -> None:
    sub = shutil.copy(SUBMISSIONS / "ex01" / "good_vectorised.py", tmp_path / "ex01.py")
    result = run_grade("ex01", "--watch", "--file", str(sub), *option, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"--watch shows the text report only: {said}." in result.stderr
    assert not (tmp_path / "feedback.html").exists()


@pytest.mark.slow
def test_watch_is_in_the_help_of_an_exercise() -> None:
    result = run_grade("ex01", "--help")
    assert result.returncode == 0
    assert re.search(r"--watch\s+Grade again on every save", result.stdout)
