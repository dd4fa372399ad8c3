"""Hostile submissions in a class run (`grade batch`): they get nothing, and take nothing from
their neighbours.

A class run puts many students' submissions through the same workers, one after another and
side by side. Each file in tests/fixtures/hostile_class/ attacks what only that allows (see
its first line): reading, running or overwriting a neighbour's file, planting a module for
the next submission, leaving files, shared memory or processes behind for it (which the
probe, graded after the attackers, looks for), writing to the gradebook, stopping the
process that grades the next submission, or hogging memory and time. Each would score only
if its attack worked. The class is graded through the CLI, and the test checks the
gradebook (attackers 0, good students full marks, one untouched row each), the class folder
(byte for byte), and that nothing carrying the run's token survived it.

The hostile suite of test_hostile.py, graded as a class, must give the verdicts it gives
file by file. Both need the bwrap backend, which batch uses by default where it works.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import sys
import sysconfig
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_hostile import NEEDS, _Listener, _processes_with

from conftest import FIXTURES, REPO, SUBMISSIONS, Completed, run_grade, write
from grader.sandbox import get_backend

PROBE = FIXTURES / "hostile_class" / "probe.py"
CLASS_ATTACKS = sorted(p for p in (FIXTURES / "hostile_class").glob("*.py") if p != PROBE)
HOSTILE = sorted((FIXTURES / "hostile").glob("*.py"))
GOOD = SUBMISSIONS / "ex01" / "good_vectorised.py"

#: Students are graded in sorted name order, with one worker one after another (on one
#: warm sandbox, where batch keeps one per worker): good students before, between and after
#: the attackers (b_*); those that leave state (d_*) right before a probe; and the one that
#: stops the process grading it (f_*) before a second probe and the last good students.
GOOD_STUDENTS = ("a_good", "a_good_dir", "c_good", "c_good_dir", "h_good", "h_good_dir")
PROBE_STUDENTS = ("e_probe", "g_probe")
LATE = {"leave_state": "d", "plant_module": "d", "stop_the_engine": "f"}
#: Time guard of one `grade batch`: a hanging attacker costs about 3 s.
BATCH_SECONDS = 150

#: test_hostile.py's small exercise, with three cases (one hidden, run by a child of its
#: own) and a budget of 3 s per submission, so that a class of hanging attackers costs
#: seconds: per case 1 s, in all 3 s.
EXERCISE = """\
id: ex01
title: Binary cross-entropy (hostile class test course)
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
limits: {seconds_per_case: 1, seconds_total: 3, memory_mb: 512, output_kb: 16}
points: 3
cases:
  - name: textbook
    args: {y_true: [1.0], y_pred: [0.8]}
  - name: two examples
    args: {y_true: [1.0, 0.0], y_pred: [0.8, 0.1]}
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


@pytest.fixture(scope="module")
def full_marks(course: Path) -> float:
    """What a good student gets when graded alone."""
    alone = _grade_file(course, GOOD)
    assert alone["backend"] == "bwrap"
    assert alone["score"] == alone["max_score"] > 0, alone
    return float(alone["max_score"])


def _new_token() -> str:
    # A Python identifier: the attackers name modules and attributes after it.
    return f"gradercls{secrets.token_hex(6)}"


def _submit(klass: Path, student: str, text: str, *, flat: bool) -> Path:
    """DIR/<student>.py or DIR/<student>/ex01.py: batch finds both."""
    return write(klass / f"{student}.py" if flat else klass / student / "ex01.py", text)


def _batch(course: Path, klass: Path, book: Path, jobs: int) -> Completed:
    args = ("--course", str(course), "batch", "ex01", str(klass), "--gradebook", str(book))
    # bwrap or nothing: a GRADER_SANDBOX=process of the machine would let attacks through.
    return run_grade(
        *args, "--jobs", str(jobs), env={"GRADER_SANDBOX": "bwrap"}, timeout=BATCH_SECONDS
    )


def _grade_file(course: Path, path: Path) -> dict[str, Any]:
    result = run_grade(
        *("--course", str(course), "ex01", "--file", str(path), "--format", "json"),
        *("--seed", "3", "--sandbox", "bwrap"),
        timeout=90,
    )
    report: dict[str, Any] = result.json()
    return report


def _status(report: dict[str, Any]) -> str:
    """A `grade --format json` report's status, as batch records it: a submission that ran
    out of time as a whole (its time budget, or calls in a row) could not be graded."""
    stopped = report.get("stopped")
    if report["error"] is not None or (stopped and stopped["kind"] in ("budget", "hanging")):
        return "error"
    return "passed" if all(t["status"] == "passed" for t in report["tests"]) else "failed"


def _rows(book: Path) -> dict[str, list[dict[str, Any]]]:
    """The gradebook's attempts by student, read without writing anything."""
    with contextlib.closing(sqlite3.connect(f"file:{book}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM attempts ORDER BY id").fetchall()
    by_student: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_student.setdefault(row["student"], []).append(dict(row))
    return by_student


def _stop_kind(row: dict[str, Any]) -> str | None:
    """What stopped an attempt's calls, from the gradebook's stored reasons."""
    reasons = json.loads(row.get("reasons") or "{}") or {}
    stopped = reasons.get("stopped") or {}
    return stopped.get("kind")


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every path under folder, with its mode and (for a file) its bytes."""
    return {
        str(p.relative_to(folder)): (p.lstat().st_mode, p.read_bytes() if p.is_file() else b"")
        for p in sorted(folder.rglob("*"))
    }


def _named(folder: Path, token: str, depth: int) -> list[Path]:
    """Paths under folder, down to depth levels, whose name holds the token."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if token in entry.name:
            found.append(Path(entry.path))
        with contextlib.suppress(OSError):
            if depth > 1 and entry.is_dir(follow_symlinks=False):
                found += _named(Path(entry.path), token, depth - 1)
    return found


#: Removes a SysV IPC object (shmctl, msgctl, semctl).
IPC_RMID = 0


def _ipc_key(token: str) -> int:
    return zlib.crc32(token.encode()) & 0x7FFFFFFF  # as leave_state.py and probe.py


#: What plant_module.py plants (TOKEN: the run's token), marked "PLANTED-<token>" inside.
PLANTED = ("TOKEN_planted.py", "numpy.py", "sitecustomize.py", "usercustomize.py", "TOKEN.pth")


def _planting_folders() -> set[Path]:
    """Where plant_module.py plants that is not the class's: where this machine's Pythons
    import from, and the working directory of every process. What it planted there would
    outlive the test (it is removed, and reported)."""
    paths = sysconfig.get_paths()
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    folders = {Path(p) for p in [*sys.path, *(paths[n] for n in names)] if p}
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            folders.add(Path(os.readlink(f"/proc/{entry}/cwd")))
    return {f for f in folders | {Path("/")} if f.is_dir()}


def _leftovers(token: str, *folders: Path) -> list[str]:
    """What carries this run's token on the machine after the run: processes (killed),
    files and folders under /tmp, /dev/shm, /var/tmp, $HOME, the checkout and the given
    folders, planted modules, SysV IPC objects (all removed), an abstract socket."""
    found = []
    time.sleep(0.3)  # a process left behind has had time to show itself
    for pid in _processes_with(token):
        found.append(f"process {pid}")
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    places = [(Path("/tmp"), 3), (Path("/dev/shm"), 2), (Path("/var/tmp"), 2)]
    places += [(Path.home(), 2), (REPO, 1), *((f, 10) for f in folders)]
    for place, depth in places:
        for path in _named(place, token, depth):
            found.append(f"file {path}")
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for folder in _planting_folders() | {place for place, _ in places}:
        for name in PLANTED:
            path = folder / name.replace("TOKEN", token)
            with contextlib.suppress(OSError):
                if f"PLANTED-{token}" in path.read_text("utf-8", "replace"):
                    found.append(f"planted {path}")
                    path.unlink()
    libc = ctypes.CDLL(None, use_errno=True)
    key = _ipc_key(token)
    if (segment := libc.shmget(key, 0, 0)) != -1:
        found.append("SysV shared memory segment")
        libc.shmctl(segment, IPC_RMID, None)
    if (queue := libc.msgget(key, 0)) != -1:
        found.append("SysV message queue")
        libc.msgctl(queue, IPC_RMID, None)
    if (semaphores := libc.semget(key, 0, 0)) != -1:
        found.append("SysV semaphore set")
        libc.semctl(semaphores, 0, IPC_RMID)
    with socket.socket(socket.AF_UNIX) as sock, contextlib.suppress(OSError):
        sock.connect("\0" + token + "-sock")
        found.append("abstract socket")
    return found


@pytest.mark.slow
@pytest.mark.bwrap
@pytest.mark.parametrize("jobs", [1, 2])
def test_class_attacks_get_nothing_and_leave_the_neighbours_alone(
    jobs: int, course: Path, full_marks: float, tmp_path: Path
) -> None:
    token = _new_token()
    klass = tmp_path / "class"
    book_dir = tmp_path / "gradebook"
    book_dir.mkdir()
    book = book_dir / "book.db"
    good = GOOD.read_text()
    for i, student in enumerate(GOOD_STUDENTS):
        _submit(klass, student, good, flat=i % 2 == 0)
    attackers = []
    for i, attack in enumerate(CLASS_ATTACKS):
        text = attack.read_text().replace("{CLASS}", str(klass)).replace("{BOOK}", str(book))
        attackers.append(f"{LATE.get(attack.stem, 'b')}_{attack.stem}")
        _submit(klass, attackers[-1], text.replace("{TOKEN}", token), flat=i % 2 == 1)
    probe = PROBE.read_text().replace("{CLASS}", str(klass)).replace("{TOKEN}", token)
    for i, student in enumerate(PROBE_STUDENTS):
        _submit(klass, student, probe, flat=i % 2 == 1)
    students = sorted([*GOOD_STUDENTS, *attackers, *PROBE_STUDENTS])
    assert len(students) == len(set(students))
    before = _snapshot(klass)
    around = sorted(p.name for p in tmp_path.iterdir())

    started = time.monotonic()
    try:
        result = _batch(course, klass, book, jobs)
    finally:
        leftovers = _leftovers(token, tmp_path)
    seconds = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert f"graded {len(students)}, skipped 0" in result.stdout, result.stdout
    rows = _rows(book)
    problems = [f"left behind: {thing}" for thing in leftovers]
    if sorted(rows) != students or any(len(r) != 1 for r in rows.values()):
        counts = {s: len(r) for s, r in rows.items()}
        problems.append(f"not one row per student: {counts}")
    for student in students:
        row = rows.get(student, [{}])[-1]
        got = (row.get("score"), row.get("max_score"), row.get("status"))
        if student in GOOD_STUDENTS:
            if got != (full_marks, full_marks, "passed"):
                problems.append(f"good student {student}: {got}, {row.get('cases')}")
        elif row.get("score") != 0 or row.get("status") == "passed":
            # A probe prints what it found: grade it after the d_* attackers on one warm
            # sandbox (or one worker) to see it.
            found = " (found state an attacker left)" if student in PROBE_STUDENTS else ""
            problems.append(f"hostile {student} scored{found}: {got}, {row.get('cases')}")
        elif (
            row.get("status") != "failed"
            and not student.endswith("stop_the_engine")
            and _stop_kind(row) not in ("budget", "hanging")
        ):
            # Each loads and runs (a broken fixture would score 0 for nothing); only the
            # one that kills what grades it, and those that hang (they ran out of time:
            # could not be graded), may end as an error.
            problems.append(f"hostile {student} did not run: {got}, {row.get('cases')}")
    if _snapshot(klass) != before:
        after = _snapshot(klass)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        problems.append(f"the class folder changed: {changed}")
    if sorted(p.name for p in tmp_path.iterdir()) != around:
        problems.append(f"files beside the class: {sorted(p.name for p in tmp_path.iterdir())}")
    extra = {p.name for p in book_dir.iterdir()} - {"book.db", "book.db-wal", "book.db-shm"}
    if extra:
        problems.append(f"files beside the gradebook: {sorted(extra)}")
    assert problems == [], "\n".join(problems)
    # Hanging attackers cost their time limit, not more: the run finishes, and soon.
    assert seconds < BATCH_SECONDS / 2


@pytest.mark.slow
@pytest.mark.bwrap
def test_the_hostile_suite_gets_the_same_verdicts_in_a_class_as_alone(
    course: Path, full_marks: float, tmp_path: Path
) -> None:
    limitations = get_backend("bwrap").limitations()
    chosen = [
        path
        for path in HOSTILE
        if not any(path.stem in NEEDS and gap.startswith(NEEDS[path.stem]) for gap in limitations)
    ]
    assert chosen, "the bwrap backend stops something"
    token = f"grader-hostile-{secrets.token_hex(6)}"
    listener = _Listener()
    klass = tmp_path / "class"
    book = tmp_path / "book.db"
    before = sorted(p.name for p in REPO.iterdir())
    files = {}
    try:
        for i, path in enumerate(chosen):
            source = (
                path.read_text()
                .replace("{TOKEN}", token)
                .replace("{PORT}", str(listener.port))
                .replace("{REPO}", str(REPO))
            )
            files[path.stem] = _submit(klass, path.stem, source, flat=i % 2 == 0)
        _submit(klass, "zz_good", GOOD.read_text(), flat=False)
        snapshot = _snapshot(klass)
        try:
            # Alone, each file as `grade` grades it, beside the batch: half the time.
            with ThreadPoolExecutor(max_workers=3) as pool:
                batch = pool.submit(_batch, course, klass, book, 2)
                reports = {s: pool.submit(_grade_file, course, p) for s, p in files.items()}
                result = batch.result()
                alone = {student: report.result() for student, report in reports.items()}
        finally:
            leftovers = _leftovers(token, tmp_path)
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    rows = _rows(book)
    assert sorted(rows) == sorted([*alone, "zz_good"])
    assert all(len(r) == 1 for r in rows.values())
    good = rows["zz_good"][0]
    assert (good["score"], good["status"]) == (full_marks, "passed")
    verdicts = {
        student: {
            "batch": (row["score"], row["status"]),
            "alone": (report["score"], _status(report)),
        }
        for student, report in alone.items()
        for row in rows[student]
    }
    # Batch grades with a seed of its own, so only the verdicts compare, not the cases.
    wrong = {
        student: verdict
        for student, verdict in verdicts.items()
        if verdict["batch"][0] != 0
        or verdict["batch"][1] == "passed"
        or verdict["batch"] != verdict["alone"]
    }
    assert wrong == {}, json.dumps(wrong, indent=1)
    assert leftovers == []
    assert listener.connections == 0, "a submission reached a loopback port"
    assert _snapshot(klass) == snapshot, "a submission changed the class folder"
    assert sorted(p.name for p in REPO.iterdir()) == before, "the checkout changed"


@pytest.mark.parametrize("path", [*CLASS_ATTACKS, PROBE], ids=lambda p: p.stem)
def test_each_class_attack_says_what_it_attacks_and_compiles(path: Path) -> None:
    text = path.read_text()
    first = text.splitlines()[0]
    assert first.startswith("# Probe (class): " if path == PROBE else "# Hostile (class): ")
    assert "TOKEN = " in text, "run_neighbour.py and read_neighbour.py spare what defines it"
    substituted = text.replace("{CLASS}", "/c").replace("{BOOK}", "/b").replace("{TOKEN}", "t")
    compile(substituted, str(path), "exec")
