"""Each call's own limits, through the CLI and with real child processes: the memory a call
may add (derived from what the reference needs on the same input), the patience after
which a call that still runs yields the cores, and a regrade that starts the slowest
students first. No timing is asserted: the speed these buy is measured by
benchmarks/bench_batch.py."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SUBMISSIONS, Completed, backends, run_grade, write
from grader.sandbox import Backend, Job, SandboxLimits, cgroup, get_backend, supervisor
from grader.sandbox.protocol import CallStatus, StopKind

EX01 = SUBMISSIONS / "ex01"

#: ex01 with the labels turned into a column: (N, 1) against (N,) broadcasts into an N x N
#: table (10,000 rows: 800 MB), wrong on small inputs and far too large on big ones.
BROADCASTING = """\
import numpy as np


def binary_cross_entropy(y_true, y_pred):
    y = y_true.reshape(-1, 1)
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", backends("process", "bwrap"))
def test_an_n_by_n_table_is_stopped_by_the_memory_its_case_allows(
    sandbox: str, tmp_path: Path
) -> None:
    submission = write(tmp_path / "ex01.py", BROADCASTING)
    env = {"GRADER_SANDBOX": sandbox}
    text = run_grade("ex01", "--file", str(submission), "--seed", "3", env=env)
    assert text.returncode == 1, text.stderr
    assert "ran out of memory: used more than the" in text.stdout
    assert "this case allows (MemoryError)" in text.stdout
    assert "50 times the memory the reference solution needs" in text.stdout
    report = run_grade(
        "ex01", "--file", str(submission), "--seed", "3", "--format", "json", env=env
    ).json()
    stopped = report["stopped"]
    assert stopped["kind"] == "memory"
    # Far below the exercise's 1 GiB: what the reference needs on the case, with room.
    assert 64 <= stopped["memory_mb"] < 1024
    assert (
        f"{stopped['calls']} calls ran out of memory: more than their cases allow"
        in (stopped["message"])
    )
    errors = [t for t in report["tests"] if t["status"] == "error"]
    assert len(errors) == stopped["calls"] > 0
    assert all("MemoryError" in t["details"]["message"] for t in errors)
    # The small cases still run: their (wrong) values are judged as values.
    assert any(t["status"] == "failed" for t in report["tests"])


#: 120 MB in 8 MB arrays on every case under 20,000 rows (whose calls may add about 64 MB),
#: a correct loss on the others. Each array is below the warm sandbox's mmap threshold: it
#: comes from the heap, which keeps what a call freed for the next call.
GREEDY = """\
import numpy as np


def binary_cross_entropy(y_true, y_pred):
    if y_true.size < 20_000:
        held = [np.ones(2**20) for _ in range(15)]
        held.clear()
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", [*backends("process", "bwrap", "warm"), "batch"])
def test_a_calls_memory_does_not_depend_on_the_sandbox_or_the_calls_before_it(
    where: str, tmp_path: Path
) -> None:
    """What a call may add is counted from the memory in use when it starts: what the C
    library kept of an earlier call (free, and already the process's) is part of the
    allowance, not room on top of it. Every backend, and a class's batch, stops the same
    calls: each call under 20,000 rows, none of the others."""
    from grader.course import Course
    from grader.exercise.cases import build_cases

    seed = 3
    cases = build_cases(Course(REPO).load("ex01"), seed)
    small = {c.name for c in cases if c.args["y_true"].size < 20_000}
    assert 0 < len(small) < len(cases)
    submission = write(tmp_path / "class" / "greedy" / "ex01.py", GREEDY)
    if where == "batch":
        book = str(tmp_path / "book.db")
        command = ["batch", "ex01", str(tmp_path / "class"), "--gradebook", book]
        result = run_grade(*command, "--seed", str(seed), "--format", "json")
        assert result.returncode == 0, result.stderr
        (attempt,) = result.json()["attempts"]
        status = {c["name"]: c["status"] for c in attempt["cases"]}
        message = {c["name"]: c["message"] for c in attempt["cases"]}
    else:
        env = {"GRADER_SANDBOX": where}
        command = ["ex01", "--file", str(submission), "--seed", str(seed), "--format", "json"]
        tests = run_grade(*command, env=env).json()["tests"]
        status = {t["name"]: t["status"] for t in tests}
        message = {t["name"]: t["details"]["message"] for t in tests if t["status"] == "error"}
    assert {name for name, s in status.items() if s == "error"} == small
    assert all("MemoryError" in message[name] for name in small)
    assert all(s == "passed" for name, s in status.items() if name not in small)


@pytest.mark.slow
def test_a_release_bundle_holds_each_call_to_the_memory_its_case_allows(tmp_path: Path) -> None:
    """A bundle has no reference to measure: it stores each case's memory and patience as
    it stores its time limit, so a student grading in it is held as in the course."""
    bundle = tmp_path / "bundle"
    released = run_grade("release", str(bundle), "--seeds", "1")
    assert released.returncode == 0, released.stderr
    submission = write(tmp_path / "ex01.py", BROADCASTING)
    report = run_grade("ex01", "--file", str(submission), "--format", "json", cwd=bundle).json()
    stopped = report["stopped"]
    assert stopped["kind"] == "memory"
    assert 64 <= stopped["memory_mb"] < 1024


@pytest.mark.slow
def test_grade_batch_keeps_a_memory_stop_and_passes_correct_loops(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    write(klass / "broadcasting" / "ex01.py", BROADCASTING)
    for name in ("good_loops_math", "good_vectorised", "good_keras_float32"):
        write(klass / name / "ex01.py", (EX01 / f"{name}.py").read_text())
    book = tmp_path / "book.db"
    result = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), "--format", "json")
    assert result.returncode == 0, result.stderr
    attempts = {a["student"]: a for a in result.json()["attempts"]}
    stopped = attempts["broadcasting"]["stopped"]
    assert stopped["kind"] == "memory"
    assert "ran out of memory" in stopped["message"]
    assert attempts["broadcasting"]["status"] == "failed"
    memory = [c for c in attempts["broadcasting"]["cases"] if "MemoryError" in c["message"]]
    assert len(memory) == stopped["calls"]
    # Correct solutions, a plain Python loop among them, are never refused memory or time.
    for name in ("good_loops_math", "good_vectorised", "good_keras_float32"):
        assert attempts[name]["status"] == "passed", attempts[name]
        assert attempts[name]["score"] == attempts[name]["max_score"]
        assert attempts[name]["stopped"] is None
    # The class's summary and page (read from the gradebook: a run that grades nothing) say
    # which submission had calls stopped, and by what; correct ones are not listed.
    page = tmp_path / "class.html"
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), "--report", str(page))
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    at = lines.index("submissions graded with some calls stopped (1):")
    assert lines[at + 1] == f"  broadcasting: {stopped['message'].split('. ')[0]}"
    assert lines[at + 2].startswith("slowest:")  # the list ends: no correct one in it
    section = page.read_text().split("Submissions graded with some calls stopped")[1]
    table = section.split("</table>")[0]
    assert '<th scope="row">broadcasting</th>' in table
    assert f'<td class="number">{stopped["calls"]}</td>' in table
    assert "good_" not in table


#: Case a returns at once; b computes past its patience and returns (the nice value of
#: its session, as the kernel shows it, when there is one, minus 100 if it is in an idle
#: cpu cgroup); c runs on the child after
#: that; d sleeps past its patience (slow, but using no CPU, as a call slowed down by a
#: busy machine) and returns; e never returns. Each returns its process id otherwise.
PATIENT = """\
import os, time


def loss(y_true, y_pred):
    case = int(y_true[0])
    if case == 1:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            pass
        try:
            with open("/proc/self/autogroup") as group:
                nice = -float(group.read().split()[-1])
        except (OSError, ValueError):
            nice = -1000.0
        with open("/proc/self/cgroup") as groups:
            idle = any("cpu" in line.split(":")[1].split(",") and line.rstrip().endswith("-idle")
                       for line in groups)
        return nice - 100.0 * idle
    if case == 3:
        time.sleep(0.4)
    if case == 4:
        while True:
            pass
    return float(os.getpid())
"""


def _autogroups() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def _idle_cgroups() -> bool:
    """Whether this machine lets the grader make an idle cpu cgroup (root, cgroup v1, a
    writable hierarchy: a container may mount it read-only)."""
    probe = Path(f"/sys/fs/cgroup/cpu/grader-probe-{os.getpid()}")
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        for name, value in (("cpu.idle", "1"), ("cpu.shares", "2")):  # as cgroup.to_idle
            try:
                (probe / name).write_text(value)
                return True
            except OSError:
                continue
        return False
    finally:
        probe.rmdir()


@pytest.mark.slow
@pytest.mark.parametrize("name", backends("process", "warm"))
def test_a_call_past_its_patience_yields_the_cores_and_keeps_its_limit(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[bool] = []
    monkeypatch.setattr(supervisor, "on_yield", told.append)
    source = write(tmp_path / "sub.py", textwrap.dedent(PATIENT))
    limits = SandboxLimits(seconds_per_case=3.0, memory_bytes=1024 * 2**20, output_chars=2000)
    job = Job(submission=source, entry="loss", params=("y_true", "y_pred"), limits=limits)
    inputs = {case: (np.array([float(i)]), np.array([0.5])) for i, case in enumerate("abcde")}
    seconds = {"a": 3.0, "b": 3.0, "c": 3.0, "d": 3.0, "e": 0.8}
    patience = dict.fromkeys("abcde", 0.1)
    backend: Backend = get_backend(name)
    try:
        with backend.start(job) as session:
            run = session.run(inputs, seconds, patience=patience)
    finally:
        backend.close()
    a, b, c, d, e = (run.outcomes[case] for case in "abcde")
    # b outlived its patience and still counted: yielding is not a time limit.
    assert [a.status, b.status, c.status, d.status] == [CallStatus.RETURNED] * 4
    # It ran at the lowest priority once past its patience, and where the grader can make
    # one (as root, cgroup v1), in the run's idle cpu cgroup, removed when the run ends.
    idle = 100.0 if _idle_cgroups() else 0.0
    assert b.value == (-19.0 if _autogroups() else -1000.0) - idle
    assert not list(Path("/sys/fs/cgroup/cpu").glob(f"grader-{cgroup._run}-idle"))
    # Its child was not used again (its priority stays low): c ran in another process.
    assert a.value != c.value
    # d used no CPU past its patience: its worker was told, but it kept its child.
    assert d.value == c.value
    # e hung: stopped at its own limit, not at its patience.
    assert e.status is CallStatus.TIMEOUT
    assert e.stop is not None
    assert e.stop.kind is StopKind.TIME_LIMIT
    assert e.stop.seconds == 0.8
    assert told == [True, False] * 3


def _course(root: Path) -> Path:
    shutil.copytree(REPO / "exercises", root / "exercises")
    shutil.copytree(REPO / "solutions", root / "solutions")
    return root


def _graded_then_regraded(
    tmp_path: Path, files: dict[str, str]
) -> tuple[Completed, Completed, Path]:
    """`grade batch --jobs 1` of a class (student -> ex01.py), then again after the
    exercise changed (a comment is enough: the whole class is graded again); both runs,
    and the gradebook."""
    course = _course(tmp_path / "course")
    klass = tmp_path / "class"
    for student, text in files.items():
        write(klass / student / "ex01.py", text)
    book = tmp_path / "book.db"
    env = {"GRADER_COURSE": str(course)}
    args = ("batch", "ex01", str(klass), "--gradebook", str(book), "--jobs", "1")
    first = run_grade(*args, env=env)
    assert first.returncode == 0, first.stderr
    exercise = course / "exercises" / "ex01.yaml"
    exercise.write_text(exercise.read_text() + "\n# changed\n")
    second = run_grade(*args, env=env)
    assert second.returncode == 0, second.stderr
    return first, second, book


@pytest.mark.slow
def test_a_regrade_starts_with_the_students_who_were_slowest_last_time(tmp_path: Path) -> None:
    good = (EX01 / "good_vectorised.py").read_text()
    # Last in the folder's order, and slow: every call sleeps.
    slow = good.replace("    eps = 1e-7\n", "    __import__('time').sleep(0.02)\n    eps = 1e-7\n")
    assert slow != good
    files = {**dict.fromkeys(("a", "b", "c", "d"), good), "z": slow}
    _, second, book = _graded_then_regraded(tmp_path, files)
    assert "graded 5, skipped 0" in second.stdout
    with sqlite3.connect(book) as db:
        order = [row[0] for row in db.execute("SELECT student FROM attempts ORDER BY id")]
    assert order[:5] == ["a", "b", "c", "d", "z"]  # the first run: the folder's order
    assert order[5] == "z"  # the regrade: the slowest first
    assert sorted(order[6:]) == ["a", "b", "c", "d"]


HANGS = """\
def binary_cross_entropy(y_true, y_pred):
    while True:
        pass
"""


@pytest.mark.slow
def test_a_regrade_runs_the_hanging_ones_beside_the_rest_not_instead_of_it(
    tmp_path: Path,
) -> None:
    """Submissions that hung last time start first, in spare workers: the one worker of
    --jobs 1 grades the others meanwhile (it used to wait behind both)."""
    good = (EX01 / "good_vectorised.py").read_text()
    files = {**dict.fromkeys(("a", "b", "c", "d"), good), **dict.fromkeys(("y", "z"), HANGS)}
    first, second, book = _graded_then_regraded(tmp_path, files)
    # The idle cpu cgroup the hanging calls were moved into is gone with each run.
    for run in (first, second):
        assert not list(Path("/sys/fs/cgroup/cpu").rglob(f"grader-{run.pid}-*"))
    with sqlite3.connect(book) as db:
        rows = db.execute("SELECT student, status FROM attempts ORDER BY id").fetchall()
    regrade = rows[6:]
    assert sorted(regrade) == [
        ("a", "passed"), ("b", "passed"), ("c", "passed"), ("d", "passed"),
        ("y", "error"), ("z", "error"),
    ]  # fmt: skip
    # Recorded as they ended: the four good ones while the hanging ones waited out their
    # limits side by side.
    assert sorted(student for student, _ in regrade[:4]) == ["a", "b", "c", "d"]


#: When told to, burns 15 ms of CPU in a thread while the main thread waits for it (as a
#: student's thread pool would), then says so and sleeps until killed.
BURNER = """\
import sys, threading, time
def burn():
    end = time.thread_time() + 0.015
    while time.thread_time() < end:
        pass
print("ready", flush=True)
sys.stdin.readline()
worker = threading.Thread(target=burn)
worker.start()
worker.join()
print("burnt", flush=True)
time.sleep(60)
"""


def test_cpu_seconds_counts_every_thread_finer_than_a_clock_tick() -> None:
    """A call yields once it has used YIELD_CPU_SECONDS (10 ms) more of CPU: the count must
    tell a few ms from none (stat's clock ticks are 10 ms each, charged to whoever runs at
    the tick), and count a thread's time, an ended thread's too."""
    with subprocess.Popen(
        [sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline().strip() == "ready"
            before = supervisor.cpu_seconds([proc.pid])
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "burnt"
            after = supervisor.cpu_seconds([proc.pid])
        finally:
            proc.kill()
    assert before is not None
    assert after is not None
    used = after - before
    assert 0.015 <= used < 0.2
    ticks = used * 100
    assert abs(ticks - round(ticks)) > 1e-6, f"{used} s: whole clock ticks"
    assert supervisor.cpu_seconds([2**22 + 12345]) is None  # no such process
