"""Hostile submissions get nothing, on both sandbox backends, and leave nothing behind.

Each file in tests/fixtures/hostile/ attacks the grader one way (see its first line) and
would score only if the attack worked. It is graded through the CLI; then the test checks
that it scored 0, that the grader ended normally, and that no process, file or connection
of it survived. Threats the 'process' fallback cannot stop by design (it has no namespaces)
are skipped there with the limitation it reports; the bwrap backend must stop all of them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, backends, run_grade, write
from grader.course import Course
from grader.exercise.grading import grade
from grader.sandbox import get_backend

pytestmark = pytest.mark.slow

HOSTILE = sorted((FIXTURES / "hostile").glob("*.py"))

#: Attacks a backend stops only if it does not list the matching limitation.
NEEDS = {
    "read_reference": "no file-system isolation",
    "import_grader": "no file-system isolation",
    "write_outside": "no file-system isolation",
    "chmod_host_files": "no file-system isolation",
    "network": "no network isolation",
    "fill_disk": "no disk quota",
    "background_process": "no process isolation",
    "fork_bomb": "no process count limit",
}

#: A small exercise with a short time limit, so that hanging submissions cost seconds.
EXERCISE = """\
id: ex01
title: Binary cross-entropy (hostile test course)
statement: Compute binary cross-entropy.
entry:
  function: binary_cross_entropy
  params:
    - {name: y_true, description: labels}
    - {name: y_pred, description: probabilities}
  returns: a float
reference: solutions.bce.binary_cross_entropy
tolerance: {rtol: 1.0e-4, atol: 1.0e-9}
clip: {param: eps, min: 1.0e-15, max: 1.0e-5}
limits: {seconds_per_case: 1, memory_mb: 512, output_kb: 16}
points: 4
cases:
  - name: textbook
    args: {y_true: [1.0], y_pred: [0.8]}
  - name: two examples
    args: {y_true: [1.0, 0.0], y_pred: [0.8, 0.1]}
  - name: random
    generate: {generator: binary, n: [2, 100]}
  - name: hidden random
    visibility: hidden
    generate: {generator: binary, n: [3, 100]}
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    write(root / "exercises" / "ex01.yaml", EXERCISE)
    write(root / "solutions" / "bce.py", (REPO / "solutions" / "bce.py").read_text())
    return root


class _Listener:
    """A loopback port that records whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def _grader_cgroups() -> set[str]:
    roots = [Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")]
    return {str(p) for root in roots if root.is_dir() for p in root.glob("grader-*")}


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if token.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("backend", backends("bwrap", "warm", "process"))
@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.stem)
def test_a_hostile_submission_scores_nothing_and_leaves_nothing(
    path: Path, backend: str, course: Path, tmp_path: Path
) -> None:
    gap = NEEDS.get(path.stem)
    with contextlib.closing(get_backend(backend)) as chosen:
        limitations = chosen.limitations()
    for limitation in limitations:
        if gap is not None and limitation.startswith(gap):
            pytest.skip(f"the {backend} backend cannot stop this here: {limitation}")
    token = f"grader-hostile-{secrets.token_hex(6)}"
    listener = _Listener()
    source = (
        path.read_text()
        .replace("{TOKEN}", token)
        .replace("{PORT}", str(listener.port))
        .replace("{REPO}", str(REPO))
    )
    submission = write(tmp_path / "ex01.py", source)
    before = sorted(p.name for p in REPO.iterdir())
    try:
        result = run_grade(
            "--course",
            str(course),
            "ex01",
            "--file",
            str(submission),
            "--format",
            "json",
            "--sandbox",
            backend,
            "--seed",
            "3",
            timeout=90,
        )
        time.sleep(0.2)
    finally:
        listener.close()
    assert result.returncode == 1, result.stderr
    report = result.json()
    assert report["backend"] == backend
    assert report["score"] == 0, [(t["name"], t["output"]) for t in report["tests"]]
    assert all(t["status"] != "passed" for t in report["tests"])
    assert listener.connections == 0, "the submission reached a loopback port"
    assert _processes_with(token) == [], "a process of the submission outlived the run"
    assert not list(Path("/tmp").glob(f"{token}*")), "the submission wrote to /tmp"
    assert not (Path.home() / token).exists(), "the submission wrote to the home directory"
    assert sorted(p.name for p in REPO.iterdir()) == before, "the checkout changed"
    # Only this run's own cgroups (named after its pid): other runs may be going on beside.
    mine = [c for c in _grader_cgroups() if Path(c).name.startswith(f"grader-{result.pid}-")]
    assert mine == [], "a cgroup of the run was left behind"


@pytest.mark.parametrize("backend", backends("bwrap", "warm", "process"))
def test_a_hostile_run_does_not_affect_the_next_submission(
    backend: str, course: Path, tmp_path: Path
) -> None:
    hostile = write(tmp_path / "bomb.py", (FIXTURES / "hostile" / "fork_bomb.py").read_text())
    good = write(
        tmp_path / "good.py", (FIXTURES / "submissions/ex01/good_vectorised.py").read_text()
    )
    # One backend for both: the warm engine's next submission runs in the same sandbox.
    with contextlib.closing(get_backend(backend)) as chosen:
        first = grade("ex01", hostile, course=Course(course), seed=1, backend=chosen)
        second = grade("ex01", good, course=Course(course), seed=1, backend=chosen)
    assert first.score == 0
    assert second.score == second.max_score == 4


#: Prints every input it can reach in its process: the arrays of the grader's frames, and
#: the case keys named in any readable file under the sandbox's directories (whatever the
#: format of the inputs file), by the number of elements of each.
SNOOP = """\
import gc, glob, os, re, sys
import numpy as np

READ = {}  # what each file held, by path, size and time: a file read once is not read again

def _reachable():
    seen = set()
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, dict):
                seen.update(k for k in value if isinstance(k, str) and "/" in k)
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            seen.update(k for k in list(obj) if isinstance(k, str) and k[:1] == "c" and "/" in k)
    for path in glob.glob("/sandbox/**/*", recursive=True) + glob.glob(
        os.path.join(os.path.dirname(__file__), "*")
    ):
        try:  # in pieces: a call may add only so much memory, and numpy's files are large
            info = os.stat(path)
            key = (path, info.st_size, info.st_mtime_ns)
            if key not in READ:
                READ[key] = found = set()
                with open(path, "rb") as handle:
                    tail = b""
                    while piece := handle.read(1 << 20):
                        data = tail + piece
                        found.update(m.decode() for m in re.findall(rb"c[0-9]+/[a-z_]+", data))
                        tail = data[-64:]
            seen.update(READ[key])
        except OSError:
            continue
    return sorted(seen)

def mean_squared_error(y_true, y_pred):
    print("REACHED " + " ".join(_reachable()))
    return float(np.mean((y_true - y_pred) ** 2))
"""


@pytest.mark.parametrize("backend", backends("bwrap", "warm", "process"))
def test_a_visible_call_cannot_reach_the_inputs_of_hidden_cases(
    backend: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "ex04.py", SNOOP)
    args = ("ex04", "--file", str(path), "--format", "json", "--sandbox", backend)
    report = run_grade(*args, "--seed", "1").json()
    tests = report["tests"]
    hidden_ids = {f"c{i}" for i, t in enumerate(tests) if t["visibility"] == "hidden"}
    assert hidden_ids, "ex04 has hidden cases"
    reached: set[str] = set()
    for test in tests:
        for line in test["details"]["printed"].splitlines():
            if line.startswith("REACHED"):
                reached.update(key.split("/")[0] for key in line.split()[1:])
    assert reached, "the snooping code ran and found the visible inputs"
    assert not reached & hidden_ids, f"hidden inputs reached: {sorted(reached & hidden_ids)}"
    assert report["score"] == report["max_score"], "snooping aside, the loss is right"


#: Starts a thread in its first visible call that waits for the next inputs file (the
#: hidden cases', written only after every visible call ended) and then tries the ways out
#: to the report that do not break the event channel (forged events are another fixture's):
#: print(), and the process's stdout and stderr, also through copies of the descriptors
#: kept from import time. Its hidden calls
#: return the right loss only if the thread read the file: passing hidden cases prove that
#: it did, and the report must still hold nothing of what it read.
LATE_READER = """\
import glob, os, threading, time
import numpy as np

OUT, ERR = os.dup(1), os.dup(2)
HERE = os.path.dirname(os.path.abspath(__file__))
SEEN = []

def _watch(first):
    while True:
        for path in glob.glob(os.path.join(HERE, "inputs-*")):
            if path != first:
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                SEEN.append(len(data))
                leak = ("HIDDEN-LEAK " + data[:400].hex() + "\\n").encode()
                print(leak.decode(), flush=True)
                for fd in (OUT, ERR, 1, 2):
                    try:
                        os.write(fd, leak)
                    except OSError:
                        pass
                return
        time.sleep(0.001)

FIRST = []

def mean_squared_error(y_true, y_pred):
    if not FIRST:
        FIRST.append(glob.glob(os.path.join(HERE, "inputs-*"))[0])
        threading.Thread(target=_watch, args=(FIRST[0],), daemon=True).start()
    later = [p for p in glob.glob(os.path.join(HERE, "inputs-*")) if p != FIRST[0]]
    if later:  # a call of the next run: right only if the thread read its inputs
        deadline = time.monotonic() + 0.5
        while not SEEN and time.monotonic() < deadline:
            time.sleep(0.01)
        if not SEEN:
            return 0.0
    return float(np.mean((y_true - y_pred) ** 2))
"""


@pytest.mark.parametrize("backend", backends("bwrap", "warm", "process"))
def test_what_a_visible_call_leaves_running_cannot_show_hidden_inputs(
    backend: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "ex04.py", LATE_READER)
    args = ("ex04", "--file", str(path), "--format", "json", "--sandbox", backend)
    result = run_grade(*args, "--seed", "1")
    assert "HIDDEN-LEAK" not in result.stdout + result.stderr
    report = result.json()
    hidden = [t for t in report["tests"] if t["visibility"] == "hidden"]
    assert hidden
    assert all(t["status"] == "passed" for t in hidden), (
        "the thread never read the hidden inputs: the test proves nothing"
    )
