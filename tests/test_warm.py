"""The warm engine: one sandbox per worker, a forked process per run. It must grade as the
cold sandbox does, and a submission must find nothing of the one before it in the same
sandbox, even one that attacks the server that forks it."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hostile import _processes_with

from conftest import REPO, SUBMISSIONS, write
from grader.course import Course
from grader.exercise.grading import grade
from grader.results import Report
from grader.sandbox import cgroup
from grader.sandbox.bwrap import BwrapBackend
from grader.sandbox.warm import WarmBackend, remove_tree

COURSE = Course(REPO)
#: A right answer, which each attack below carries after its attack.
GOOD = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()

#: Leaves what it can for the next submission: files wherever it may write, and a process
#: that left its session (double fork), all named with the token. Its answers are right.
LEAVER = (
    """\
import os, subprocess
import numpy as np

for where in (os.getcwd(), os.environ.get("HOME", "."), os.environ.get("TMPDIR", "."),
              "/dev/shm", "/tmp", "/sandbox", "/", "/dev",
              os.path.join(os.path.dirname(os.__file__), "site-packages")):
    try:
        with open(os.path.join(where, "{TOKEN}-file"), "w") as handle:
            handle.write("left")
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 300 # {TOKEN}"])
    os._exit(0)
"""
    + GOOD
)

#: Prints everything named with the token that it can find (files anywhere it can list,
#: processes in /proc), then answers right: its output is the evidence that it looked.
PROBE = (
    """\
import os
import numpy as np

def _found():
    found = []
    for top in ("/", "/sandbox", "/dev", "/dev/shm", "/tmp", os.getcwd(),
                os.environ.get("HOME", "."), os.environ.get("TMPDIR", "."),
                os.path.join(os.path.dirname(os.__file__), "site-packages")):
        try:
            found += [os.path.join(top, n) for n in os.listdir(top) if "{TOKEN}" in n]
        except OSError:
            pass
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if b"{TOKEN}" in handle.read():
                    found.append(f"process {pid}")
        except OSError:
            pass
    return found
"""
    + GOOD
    + """
_right = binary_cross_entropy

def binary_cross_entropy(y_true, y_pred):
    print("FOUND", sorted(set(_found())))
    return _right(y_true, y_pred)
"""
)

#: Kills every process it may signal in its namespace: the server that forked it too.
KILL_SERVER = """\
import os, signal

def binary_cross_entropy(y_true, y_pred):
    os.kill(-1, signal.SIGKILL)
    return 0.0
"""

#: Stops the server that forked it, then answers right: the server cannot clean up after it.
STOP_SERVER = (
    """\
import os, signal
import numpy as np

os.kill(os.getppid(), signal.SIGSTOP)
"""
    + GOOD
)


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[WarmBackend]:
    backend = WarmBackend(parent=str(tmp_path))
    try:
        yield backend
    finally:
        backend.close()


def _grade(path: Path, backend: object, exercise: str = "ex01") -> Report:
    return grade(exercise, path, course=COURSE, seed=7, backend=backend)  # type: ignore[arg-type]


def _verdicts(report: Report) -> list[tuple[str, str, float]]:
    return [(t.name, t.status.value, t.score) for t in report.tests]


@pytest.mark.slow
@pytest.mark.bwrap
@pytest.mark.parametrize(
    "name",
    [
        "ex01/good_vectorised.py",
        "ex01/bad_log2.py",
        "ex02/bad_no_clip_nan.py",
        "ex04/bad_mutates_input.py",
    ],
)
def test_the_warm_engine_grades_as_a_new_sandbox_does(name: str, warm: WarmBackend) -> None:
    path = SUBMISSIONS / name
    exercise = name.split("/")[0]
    cold = grade(exercise, path, course=COURSE, seed=7, backend=BwrapBackend())
    hot = grade(exercise, path, course=COURSE, seed=7, backend=warm)
    assert hot.backend == "warm"
    assert _verdicts(hot) == _verdicts(cold)
    assert hot.score == cold.score
    cold_mistakes = [m.id for m in cold.diagnosis.mistakes] if cold.diagnosis else []
    hot_mistakes = [m.id for m in hot.diagnosis.mistakes] if hot.diagnosis else []
    assert hot_mistakes == cold_mistakes
    assert (hot.error is None) == (cold.error is None)


@pytest.mark.slow
@pytest.mark.bwrap
def test_a_submission_finds_nothing_the_one_before_left(warm: WarmBackend, tmp_path: Path) -> None:
    token = f"grader-warm-{secrets.token_hex(6)}"
    leaver = write(tmp_path / "a" / "ex01.py", LEAVER.replace("{TOKEN}", token))
    probe = write(tmp_path / "b" / "ex01.py", PROBE.replace("{TOKEN}", token))
    first = _grade(leaver, warm)
    assert first.score == first.max_score
    # The server ends a finished child's processes while the grader judges its run; the
    # next run waits for that (settle), and so does this check.
    warm.settle()
    assert _processes_with(token) == [], "the leaver's process outlived its run"
    second = _grade(probe, warm)
    assert second.score == second.max_score
    printed = [t.output for t in second.tests if t.output]
    assert printed, "the probe printed nothing: it did not look"
    assert all(out.strip() == "FOUND []" for out in printed), printed
    # Both ran in the same sandbox: the server cleaned up, it was not replaced.
    assert warm.started == 1


@pytest.mark.slow
@pytest.mark.bwrap
def test_a_submission_that_kills_the_server_fails_alone(warm: WarmBackend, tmp_path: Path) -> None:
    killer = _grade(write(tmp_path / "k" / "ex01.py", KILL_SERVER), warm)
    assert killer.score == 0
    good = _grade(SUBMISSIONS / "ex01" / "good_vectorised.py", warm)
    assert good.score == good.max_score
    assert warm.started >= 2  # a new sandbox for the next submission


@pytest.mark.slow
@pytest.mark.bwrap
def test_a_submission_that_stops_the_server_gets_a_new_sandbox_after_it(
    warm: WarmBackend, tmp_path: Path
) -> None:
    token = f"grader-warm-{secrets.token_hex(6)}"
    _grade(write(tmp_path / "s" / "ex01.py", STOP_SERVER), warm)
    probe = _grade(write(tmp_path / "p" / "ex01.py", PROBE.replace("{TOKEN}", token)), warm)
    assert probe.score == probe.max_score
    assert all(t.output.strip() == "FOUND []" for t in probe.tests if t.output)
    # Each of its runs (visible, hidden) stopped a server: each was replaced.
    assert warm.started >= 2


@pytest.mark.slow
@pytest.mark.bwrap
def test_nothing_of_the_engine_outlives_it(tmp_path: Path) -> None:
    backend = WarmBackend(parent=str(tmp_path))
    _grade(SUBMISSIONS / "ex01" / "good_vectorised.py", backend)
    server = backend.server
    assert server is not None
    assert server.proc is not None
    group = server.cgroup
    backend.close()
    assert server.proc.poll() is not None
    assert list(tmp_path.iterdir()) == []
    if group is not None:
        assert not group.path.exists()


def test_a_directory_is_removed_even_when_the_first_removal_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "run"
    (target / "deep").mkdir(parents=True)
    (target / "deep" / "file").write_text("x")
    real = shutil.rmtree
    calls = []

    def flaky(path: object, ignore_errors: bool = False) -> None:
        calls.append(path)
        if len(calls) == 1:
            return  # as if something still held it: nothing removed
        real(path, ignore_errors=ignore_errors)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "rmtree", flaky)
    remove_tree(target)
    assert not target.exists()
    assert len(calls) >= 2


@pytest.mark.skipif(not cgroup.available(), reason="no pids cgroup can be made here")
def test_a_cgroup_with_a_process_still_in_it_is_emptied_and_removed() -> None:
    group = cgroup.PidsCgroup.create()
    assert group is not None
    proc = subprocess.Popen(group.wrap(["sleep", "300"]))
    deadline = time.monotonic() + 10
    while not group.pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert group.pids(), "the process did not join the cgroup"
    group.remove()  # its first rmdir fails (a process is in it): kill, reap, retry
    proc.wait(timeout=10)
    assert not group.path.exists()


#: Prints what a child starts with: its environment, working directory, first random
#: numbers and open descriptors; then answers right.
STARTS_WITH = """\
import os, random
import numpy as np

def binary_cross_entropy(y_true, y_pred):
    if len(y_true) == 1 and float(y_pred[0]) == 0.8:
        print("ENV", sorted(os.environ.items()))
        print("CWD", os.getcwd(), sorted(os.listdir(".")))
        print("RANDOM", np.random.rand(), random.random())
        print("FDS", sorted(int(fd) for fd in os.listdir("/proc/self/fd")))
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
"""


def _printed(report: Report, label: str) -> str:
    lines = [line for t in report.tests for line in t.output.splitlines()]
    return next(line for line in lines if line.startswith(label))


@pytest.mark.slow
@pytest.mark.bwrap
def test_each_child_starts_as_a_cold_child_does(warm: WarmBackend, tmp_path: Path) -> None:
    path = write(tmp_path / "ex01.py", STARTS_WITH)
    first, second = _grade(path, warm), _grade(path, warm)
    cold = _grade(path, BwrapBackend())
    for report in (first, second):
        assert report.score == report.max_score
        assert _printed(report, "ENV") == _printed(cold, "ENV")
        assert _printed(report, "CWD") == "CWD /sandbox/work []"
        # The same descriptors as a cold child (the last one listed is the listing's own).
        assert _printed(report, "FDS").split()[:-1] == _printed(cold, "FDS").split()[:-1]
    assert "('HOME', '/sandbox/work')" in _printed(first, "ENV")
    # Random numbers of their own: not the server's state, copied into each.
    assert _printed(first, "RANDOM") != _printed(second, "RANDOM")


@pytest.mark.slow
@pytest.mark.bwrap
def test_a_warm_backend_leaves_no_directory_behind(tmp_path: Path) -> None:
    backend = WarmBackend(parent=str(tmp_path))
    backend.limitations()  # asked, not used: nothing is made
    assert list(tmp_path.iterdir()) == []
    report = _grade(SUBMISSIONS / "ex01" / "good_vectorised.py", backend)
    assert report.score == report.max_score
    made = sorted(p.name.split("-")[1] for p in tmp_path.iterdir())
    assert made == ["inputs", "warm"]  # the sessions' directory and the stored inputs
    # Each session's own directory went with it (removed by name, see remove_session).
    (sessions,) = tmp_path.glob("grader-warm-*")
    assert list(sessions.iterdir()) == []
    backend.close()
    assert list(tmp_path.iterdir()) == []


#: Counts the page faults of its own right answer on the largest case (50,000 rows: each
#: temporary is 400 KB, a hundred 4 KB pages).
FAULTS = (
    GOOD
    + """
import resource

_right = binary_cross_entropy

def binary_cross_entropy(y_true, y_pred):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    value = _right(y_true, y_pred)
    if len(y_true) >= 50000:
        print("FAULTS", resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return value
"""
)


def _huge_pages_offered() -> bool:
    """Transparent huge pages on request (madvise or always), and glibc's mallinfo2."""
    import ctypes

    try:
        setting = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    return "[never]" not in setting and hasattr(libc, "mallinfo2")


@pytest.mark.slow
@pytest.mark.bwrap
@pytest.mark.skipif(not _huge_pages_offered(), reason="no transparent huge pages (or no glibc)")
def test_a_childs_large_arrays_take_huge_pages_where_the_kernel_offers_them(
    warm: WarmBackend, tmp_path: Path
) -> None:
    """Each child frees the 2 MB-aligned block the server reserved, and its temporaries come
    from it: a few page faults for the largest case, where 4 KB pages cost about 500."""
    path = write(tmp_path / "ex01.py", FAULTS)
    for report in (_grade(path, warm), _grade(path, warm)):
        assert report.score == report.max_score
        faults = int(_printed(report, "FAULTS").split()[1])
        assert faults < 150, f"{faults} page faults on 50,000 rows"
