"""`grade batch` survives any one submission and leaves nothing behind (issue 22, items 3
and 5): a named pipe, a socket, a folder where the file should be, a name that is not
UTF-8 or a notebook that makes the reader fail is that student's row, and every other
student is graded; a batch killed with SIGKILL takes its forkserver, resource tracker,
workers and sandboxes with it, and a later run ends what an older one left."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SUBMISSIONS, backends, isolated_environment, run_grade, write
from grader.classroom import batch
from grader.classroom.batch import grade_chunk
from grader.classroom.schedule import CHUNK
from grader.classroom.submissions import (
    Submission,
    find_submissions,
    read_submission,
    visible_name,
)
from grader.errors import GraderError

GOOD = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
LOG2 = (SUBMISSIONS / "ex01" / "bad_log2.py").read_text()
#: Python's parser recurses once per `+`: RecursionError (or MemoryError) wherever this
#: is parsed, in the worker's notebook reader or in the sandbox.
BOMB = "def binary_cross_entropy(y_true, y_pred):\n    return " + "1+" * 200_000 + "1\n"
#: How long what a killed batch started may outlive it.
DEADLINE = 3.0


def _notebook(*cells: str) -> str:
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": source,
                 "outputs": [], "execution_count": None}
                for i, source in enumerate(cells)
            ],
        }
    )  # fmt: skip


# --- item 3: one submission never stops the class ----------------------------------------------


@pytest.mark.slow
def test_pipes_sockets_folders_odd_names_and_a_crashing_notebook_each_get_a_row(
    tmp_path: Path,
) -> None:
    klass = tmp_path / "class"
    write(klass / "a_good" / "ex01.py", GOOD)
    os.mkdir(klass / "b_fifo")
    os.mkfifo(klass / "b_fifo" / "ex01.py")  # read, it would block the run for good
    os.mkfifo(klass / "c_fifo.py")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(klass / "d_socket.py"))
    (klass / "e_folder" / "ex01.py").mkdir(parents=True)
    (klass / "f_folder" / "ex01.ipynb").mkdir(parents=True)
    write(klass / "g_bomb" / "ex01.ipynb", _notebook(BOMB))
    # Its escape, four times longer than the name, is more than a file name can be.
    Path(klass, os.fsdecode(b"\xff" * 100 + b".py")).write_text(GOOD)
    # From a zip made on Windows: not UTF-8. And one whose name is that escape, literally.
    raw = os.path.join(os.fsencode(klass), b"caf\xe9")
    os.mkdir(raw)
    Path(os.fsdecode(raw), "ex01.py").write_text(GOOD)
    write(klass / "caf\\xe9" / "ex01.py", LOG2)
    book = tmp_path / "book.db"

    result = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(book), "--format", "json",
        "--sandbox", "process", "--jobs", "2", timeout=90,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # strict: no lone surrogate anywhere
    rows = {a["student"]: a for a in document["attempts"]}
    assert sorted(rows) == sorted(
        ["a_good", "b_fifo", "c_fifo", "d_socket", "e_folder", "f_folder", "g_bomb",
         "caf\\xe9", "caf\\\\xe9", "\\xff" * 100]
    )  # fmt: skip
    assert len(document["attempts"]) == len(rows)
    assert rows["a_good"]["status"] == "passed"
    assert rows["caf\\xe9"]["status"] == "passed"
    assert rows["\\xff" * 100]["status"] == "passed"
    assert rows["caf\\\\xe9"]["status"] == "failed"  # the other folder: not one student
    for student, words in (
        ("b_fifo", "ex01.py is a named pipe"),
        ("c_fifo", "c_fifo.py is a named pipe"),
        ("d_socket", "d_socket.py is a socket"),
        ("e_folder", "ex01.py is a folder"),
        ("f_folder", "ex01.ipynb is a folder"),
        ("g_bomb", ""),  # the reader's words, or the catch's: the row is what counts
    ):
        row = rows[student]
        assert (row["status"], row["score"]) == ("error", 0), row
        assert not words or words in row["error"], row
    assert "Traceback" not in result.stderr
    exported = run_grade("gradebook", "export", "--gradebook", str(book))
    table = list(csv.reader(io.StringIO(exported.stdout)))
    assert {"caf\\xe9", "caf\\\\xe9"} <= {row[0] for row in table[1:]}
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), timeout=90)
    assert "graded 0, skipped 10" in again.stdout, again.stdout + again.stderr


@pytest.mark.slow
def test_an_unexpected_exception_is_that_submissions_row_and_the_chunk_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import grader.exercise.grading

    real = grader.exercise.grading.grade
    faults: dict[str, BaseException] = {
        "deep.ipynb": RecursionError("maximum recursion depth exceeded"),
        "huge.ipynb": MemoryError(),
        "odd.py": ValueError("something no one foresaw"),
    }

    def grade(exercise_id: str, path: Path, **kwargs: Any) -> Any:
        if path.name in faults:
            raise faults[path.name]
        return real(exercise_id, path, **kwargs)

    monkeypatch.setattr(grader.exercise.grading, "grade", grade)
    items = [(name, b"") for name in faults] + [("good.py", GOOD.encode())]
    try:
        results = grade_chunk(str(REPO), "ex01", 1, "process", items)
    finally:
        batch.close_worker()
    assert len(results) == 4
    for result, (name, fault) in zip(results, faults.items(), strict=False):
        assert result.error is not None, result
        assert result.error.startswith(f"the grader could not read {name} ("), result
        assert type(fault).__name__ in result.error
    assert results[3].status == "passed", results[3]


def test_reading_refuses_what_is_not_a_regular_file_without_opening_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    opened: list[str] = []
    real_open = os.open

    def spy(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    content, refused = read_submission(Submission("s", "ex01", tmp_path / "pipe.py"), tmp_path)
    assert refused == "pipe.py is a named pipe, not a regular file: submit the file itself"
    assert content == refused.encode()
    assert opened == []
    write(tmp_path / "fine.py", "x = 1\n")
    assert read_submission(Submission("s", "ex01", tmp_path / "fine.py"), tmp_path) == (
        b"x = 1\n",
        None,
    )


def test_a_student_folder_that_cannot_be_listed_still_gets_a_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "ana" / "ex01.py", GOOD)
    (tmp_path / "bob").mkdir()
    real_listdir = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        if Path(path).name == "bob":
            raise PermissionError(13, "Permission denied")
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    found = find_submissions(tmp_path, "ex01")
    assert [(s.student, s.path.name) for s in found] == [("ana", "ex01.py"), ("bob", "ex01.py")]
    _, refused = read_submission(found[1], tmp_path)
    assert refused is not None
    assert refused.startswith("cannot read ex01.py: ")


def test_visible_names_are_the_name_itself_or_an_escape_that_never_collides() -> None:
    assert visible_name("ana") == "ana"
    assert visible_name("José Ñúñez") == "José Ñúñez"
    assert visible_name(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert visible_name("caf\\xe9") == "caf\\\\xe9"
    names = [os.fsdecode(b"caf\xe9"), "caf\\xe9", "caf\\\\xe9", os.fsdecode(b"caf\\\xe9")]
    assert len({visible_name(n) for n in names}) == len(names)
    with pytest.raises(GraderError):
        find_submissions(Path("/nonexistent/class"), "ex01")


# --- item 5: nothing outlives a killed batch ----------------------------------------------------

#: Each holds a worker (and its sandbox) until the time limit.
SLEEPER = "import time\n\ndef binary_cross_entropy(y_true, y_pred):\n    time.sleep(3600)\n"
SANDBOX_CHILD = b"The program that runs inside the sandbox child"


def _stat(pid: int) -> tuple[str, int, int] | None:
    """A process's state, parent and start time (None: gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return fields[0].decode(), int(fields[1]), int(fields[19])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _all_pids() -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def _tree(root: int) -> dict[int, int]:
    """root and every living process under it, with their start times."""
    parents = {pid: stat for pid in _all_pids() if (stat := _stat(pid)) is not None}
    found, queue = {}, [root]
    while queue:
        pid = queue.pop()
        if pid in parents and parents[pid][0] not in "ZX":
            found[pid] = parents[pid][2]
            queue += [child for child, stat in parents.items() if stat[1] == pid]
    return found


def _sleeping_submission(pid: int) -> bool:
    """A sandbox's child that has run for a while: in the submission, not waiting for its
    work (a child waiting for work ends by itself when its grader goes). A warm server is
    bwrap's child; a submission's child, the server's or the worker's."""
    stat = _stat(pid)
    if stat is None or SANDBOX_CHILD not in _cmdline(pid):
        return False
    if _cmdline(stat[1]).split(b"\0")[0].endswith(b"/bwrap"):
        return False
    ticks = os.sysconf("SC_CLK_TCK")
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - stat[2] / ticks > 0.3


def _living(pids: dict[int, int]) -> list[int]:
    """Those of pids that still run (the same process: same start time; not a zombie)."""
    alive = []
    for pid, started in pids.items():
        stat = _stat(pid)
        if stat is not None and stat[0] not in "ZX" and stat[2] == started:
            alive.append(pid)
    return alive


def _survivors(seen: dict[int, int], marker: bytes) -> list[str]:
    """What still runs of a killed run, polled until none or the deadline: what was seen
    under it, and any process naming its files (a sandbox started at the last moment)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        left = _living(seen)
        left += [p for p in _all_pids() if p not in seen and marker in _cmdline(p)]
        left = [p for p in left if (s := _stat(p)) is not None and s[0] not in "ZX"]
        if not left or time.monotonic() > deadline:
            return [f"{pid}: {_cmdline(pid)[:150]!r}" for pid in left]
        time.sleep(0.05)


@contextlib.contextmanager
def _cleanup(pids: dict[int, int]) -> Iterator[None]:
    """Whatever the test finds, nothing of what it started is left after it."""
    try:
        yield
    finally:
        for pid in _living(pids):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("sandbox", backends("process", "warm"))
def test_a_batch_killed_with_sigkill_leaves_no_process(sandbox: str, tmp_path: Path) -> None:
    klass = tmp_path / "class"
    for i in range(3 * CHUNK):  # more than both workers take at once
        write(klass / f"s{i:02d}" / "ex01.py", SLEEPER)
    args = [sys.executable, "-m", "grader", "batch", "ex01", str(klass), "--jobs", "2"]
    args += ["--sandbox", sandbox, "--gradebook", str(tmp_path / "book.db")]
    seen: dict[int, int] = {}
    environment = isolated_environment()
    with subprocess.Popen(
        args, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc, _cleanup(seen):  # fmt: skip
        # Until both workers are in a submission's sleep: every kind of process is there.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen.update(_tree(proc.pid))
            running = [p for p in seen if _sleeping_submission(p)]
            if len(running) >= 2 and proc.poll() is None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert len(running) >= 2, "no submission started"
        seen.update(_tree(proc.pid))
        kinds = [_cmdline(p) for p in seen]
        assert any(b"multiprocessing.forkserver" in c for c in kinds)
        assert any(b"multiprocessing.resource_tracker" in c for c in kinds)
        bwrap = [c for c in kinds if c.split(b"\0")[0].endswith(b"/bwrap")]
        assert bool(bwrap) == (sandbox == "warm")
        os.kill(proc.pid, signal.SIGKILL)  # the batch process alone
        proc.wait(timeout=10)
        assert _survivors(seen, f"grader-run-{proc.pid}-".encode()) == []


#: A batch as an older version ran it: a forkserver preloading grader.batch (the module's
#: name before the package layout; an import it cannot make is skipped), whose worker
#: (busy, and holding the forkserver's "alive" pipe) ends with nothing. Prints its
#: forkserver, resource tracker and worker, then dies by SIGKILL ("die") or lives on.
OLD_BATCH = """\
import json, os, signal, sys, time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, resource_tracker

if __name__ == "__main__":
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.batch"])
    pool = ProcessPoolExecutor(1, mp_context=context)
    pool.submit(time.sleep, 600)
    while not pool._processes:
        time.sleep(0.01)
    pids = [forkserver._forkserver._forkserver_pid, resource_tracker._resource_tracker._pid]
    print(json.dumps(pids + list(pool._processes)), flush=True)
    if sys.argv[1] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(600)
"""


def _old_batch(how: str) -> tuple[subprocess.Popen[str], dict[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OLD_BATCH, how],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    pids = json.loads(proc.stdout.readline())
    return proc, {pid: stat[2] for pid in pids if (stat := _stat(pid)) is not None}


@pytest.mark.slow
def test_a_later_run_ends_what_an_older_killed_run_left_and_spares_a_live_one(
    tmp_path: Path,
) -> None:
    dead, orphans = _old_batch("die")
    live, neighbours = _old_batch("live")
    with _cleanup(orphans), _cleanup(neighbours):
        try:
            dead.wait(timeout=30)
            assert dead.returncode == -signal.SIGKILL
            # Its forkserver, worker and resource tracker live on (a batch starting beside,
            # in another test, may end them first: so this is not checked here).
            klass = tmp_path / "class"
            write(klass / "ana" / "ex01.py", GOOD)
            result = run_grade(
                "batch", "ex01", str(klass), "--gradebook", str(tmp_path / "book.db"),
                "--sandbox", "process", "--jobs", "1",
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert _survivors(orphans, b"\0never\0") == []
            assert _living(neighbours) == list(neighbours), "a live run's process was ended"
        finally:
            with contextlib.suppress(OSError):
                os.killpg(live.pid, signal.SIGKILL)
            live.wait(timeout=30)
            for proc in (dead, live):
                if proc.stdout is not None:
                    proc.stdout.close()
