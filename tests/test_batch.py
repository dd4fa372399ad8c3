"""`grade batch` and the gradebook, through the CLI: every attempt exactly once, also
after a SIGKILL and a restart; the CSV an LMS imports."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml

from conftest import REPO, SUBMISSIONS, isolated_environment, run_grade, write

pytestmark = pytest.mark.slow

EX01 = SUBMISSIONS / "ex01"


def _class(root: Path, n: int) -> Path:
    """n students, alternating styles: DIR/<student>/ex01.py and DIR/<student>.py."""
    sources = [EX01 / "good_vectorised.py", EX01 / "bad_log2.py", EX01 / "bad_sum_not_mean.py"]
    for i in range(n):
        text = sources[i % len(sources)].read_text() + f"\n# student {i}\n"
        path = root / f"s{i:02d}" / "ex01.py" if i % 2 else root / f"s{i:02d}.py"
        write(path, text)
    return root


def _graded(book: Path) -> int:
    """Attempts in the gradebook so far, while a batch may still be creating it."""
    try:
        return len(_rows(book)) if book.exists() else 0
    except sqlite3.OperationalError:  # the file is there, its table not yet
        return 0


def _rows(book: Path) -> list[tuple[str, str, float, str]]:
    with sqlite3.connect(book) as db:
        return db.execute(
            "SELECT student, item, score, status FROM attempts ORDER BY student, id"
        ).fetchall()


def test_a_class_is_graded_once_and_a_rerun_skips_it(tmp_path: Path) -> None:
    klass = _class(tmp_path / "class", 4)
    book = tmp_path / "book.db"
    first = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), "--jobs", "2")
    assert first.returncode == 0, first.stderr
    assert "graded 4, skipped 0" in first.stdout
    assert "log2 (1)" in first.stdout
    rows = _rows(book)
    assert [r[0] for r in rows] == ["s00", "s01", "s02", "s03"]
    assert {r[3] for r in rows} == {"passed", "failed"}
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book))
    assert "graded 0, skipped 4" in again.stdout
    # A new version of one submission is a new attempt; the export shows the latest.
    write(klass / "s00.py", (EX01 / "bad_log2.py").read_text())
    third = run_grade("batch", "ex01", str(klass), "--gradebook", str(book))
    assert "graded 1, skipped 3" in third.stdout
    assert len(_rows(book)) == 5
    exported = run_grade("gradebook", "export", "--gradebook", str(book))
    table = list(csv.reader(io.StringIO(exported.stdout)))
    assert table[0] == [
        "Student", "Name", "Section", "Binary cross-entropy (ex01)",
        "Binary cross-entropy (ex01): note",
    ]  # fmt: skip
    assert len(table) == 5  # one row per student
    assert table[1][0] == "s00"
    assert float(table[1][3]) < 30  # the latest attempt, log2


def test_a_change_to_any_form_of_a_mistake_grades_the_class_again(tmp_path: Path) -> None:
    """The diagnosis recognises every way a mistake is written (a list under
    'implementation'), so the second form, in a module of its own, is part of what the
    class was graded with: editing it regrades the class, as editing the first does."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises", course / "exercises")
    shutil.copytree(REPO / "solutions", course / "solutions")
    write(
        course / "solutions" / "other_forms.py",
        "import numpy as np\n\n\ndef log2_loop(y_true, y_pred, eps=1e-7):\n"
        "    p = np.clip(y_pred, eps, 1 - eps)\n"
        "    return float(-np.mean(y_true * np.log2(p) + (1 - y_true) * np.log2(1 - p)))\n",
    )
    exercise = course / "exercises" / "ex01.yaml"
    declared = "    implementation: solutions.mistakes_bce.log2\n"
    assert declared in exercise.read_text()
    exercise.write_text(
        exercise.read_text().replace(
            declared,
            "    implementation:\n      - solutions.mistakes_bce.log2\n"
            "      - solutions.other_forms.log2_loop\n",
        )
    )
    klass = _class(tmp_path / "class", 2)
    book = tmp_path / "book.db"
    env = {"GRADER_COURSE": str(course)}
    args = ("batch", "ex01", str(klass), "--gradebook", str(book))
    first = run_grade(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "graded 2, skipped 0" in first.stdout
    assert "graded 0, skipped 2" in run_grade(*args, env=env).stdout
    forms = course / "solutions" / "other_forms.py"
    forms.write_text(forms.read_text() + "\n# edited\n")
    again = run_grade(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert "graded 2, skipped 0" in again.stdout


def test_an_exercise_changed_since_or_another_seed_grades_again_and_exports_say_so(
    tmp_path: Path,
) -> None:
    """Grades made against an earlier version of the exercise are exported with a warning
    until a run grades them again; a roster student without a file is out of the points
    the exercise has now (the gradebook's highest were an earlier version's); a run with
    another --seed grades everyone again (other cases), not only those new to the book."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises", course / "exercises")
    shutil.copytree(REPO / "solutions", course / "solutions")
    klass = _class(tmp_path / "class", 2)
    roster = write(tmp_path / "roster.csv", "student,email\ns00,a@x\ns01,b@x\ncyd,c@x\n")
    book = tmp_path / "book.db"
    env = {"GRADER_COURSE": str(course)}
    batch = ("batch", "ex01", str(klass), "--gradebook", str(book), "--roster", str(roster))
    export = ("gradebook", "export", "--format", "json", "--gradebook", str(book))
    assert run_grade(*batch, env=env).returncode == 0
    exercise = course / "exercises" / "ex01.yaml"
    text = exercise.read_text()
    first_case = "    expect: 0.2231435513142097\n"
    assert first_case in text
    exercise.write_text(
        text.replace("points: 30\n", "points: 34\n").replace(
            first_case, first_case + "    points: 5\n", 1
        )
    )
    before = run_grade(*export, "--roster", str(roster), env=env)
    assert before.returncode == 0, before.stderr
    assert "2 grade(s) of ex01 were made against an earlier version of the exercise" in (
        before.stderr
    )
    rows = {r["student"]: r for r in json.loads(before.stdout)}
    assert rows["cyd"]["max_score"] == 34  # the exercise's points now
    moodle = run_grade(
        "gradebook", "export", "--format", "moodle", "--identifier", "email", "--roster",
        str(roster), "--gradebook", str(book), env=env,
    )  # fmt: skip
    assert moodle.returncode == 2  # an LMS import would replace grades with stale ones
    assert "a Moodle import would carry that" in moodle.stderr
    again = run_grade(*batch, env=env)
    assert "graded 2, skipped 0" in again.stdout
    assert " of 34" in again.stdout.splitlines()[0]
    after = run_grade(*export, "--roster", str(roster), env=env)
    assert "earlier version" not in after.stderr
    assert {r["max_score"] for r in json.loads(after.stdout)} == {34}
    seeded = run_grade(*batch, "--seed", "7", env=env)
    assert "graded 2, skipped 0" in seeded.stdout
    rows = {r["student"]: r for r in json.loads(run_grade(*export, env=env).stdout)}
    assert {c["seed"] for r in rows.values() for c in r["cases"]} == {7}
    assert "graded 0, skipped 2" in run_grade(*batch, "--seed", "7", env=env).stdout
    back = run_grade(*batch, env=env)  # the exercise's own seed again: its grades are there
    assert "graded 0, skipped 2" in back.stdout
    rows = {r["student"]: r for r in json.loads(run_grade(*export, env=env).stdout)}
    own = rows["s00"]["cases"][0]["seed"]
    named = run_grade(*batch, "--seed", str(own), env=env)  # that same seed, named
    assert "graded 0, skipped 2" in named.stdout


def _signal_mid_run(
    klass: Path, book: Path, sig: signal.Signals, *, after: int
) -> tuple[int, int, str]:
    """Start `grade batch` (one worker, its own process group), send `sig` to the group
    once `after` attempts are in the gradebook: the batch's pid, exit code and stderr."""
    args = [sys.executable, "-m", "grader", "batch", "ex01", str(klass), "--jobs", "1"]
    with subprocess.Popen(
        [*args, "--gradebook", str(book)],
        cwd=REPO,
        env=isolated_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _graded(book) < after:
            time.sleep(0.05)
        os.killpg(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    return proc.pid, proc.returncode, stderr


def test_a_batch_killed_mid_run_and_restarted_grades_each_submission_exactly_once(
    tmp_path: Path,
) -> None:
    klass = _class(tmp_path / "class", 60)
    book = tmp_path / "book.db"
    # The batch and its workers, at once.
    pid, _, _ = _signal_mid_run(klass, book, signal.SIGKILL, after=2)
    done_before = len(_rows(book))
    assert 2 <= done_before < 60, "the kill came after the end: make the class larger"
    # Meanwhile the class's grades say which files are not graded yet: never "no
    # submission" for a file that is there, and no LMS file that would give them 0.
    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", str(book))
    assert exported.returncode == 0, exported.stderr
    rows_now = {r["student"]: r for r in json.loads(exported.stdout)}
    assert len(rows_now) == 60
    pending = [r for r in rows_now.values() if r["error"] and "not graded yet" in r["error"]]
    assert len(pending) == 60 - done_before
    assert all(r["status"] == "pending" for r in pending)
    csv_export = run_grade("gradebook", "export", "--gradebook", str(book))
    scores = {row[0]: row[3] for row in csv.reader(io.StringIO(csv_export.stdout))}
    assert {scores[r["student"]] for r in pending} == {""}  # no grade a spreadsheet would sum
    assert "did not grade (it was stopped)" in exported.stderr
    roster = write(
        tmp_path / "roster.csv",
        "student,email\n" + "".join(f"s{i:02d},s{i:02d}@x.edu\n" for i in range(60)),
    )
    moodle = run_grade(
        "gradebook", "export", "--format", "moodle", "--roster", str(roster),
        "--identifier", "email", "--gradebook", str(book),
    )  # fmt: skip
    assert moodle.returncode == 2
    assert "a Moodle import would give them 0" in moodle.stderr
    restarted = run_grade("batch", "ex01", str(klass), "--gradebook", str(book))
    assert restarted.returncode == 0, restarted.stderr
    rows = _rows(book)
    assert sorted(r[0] for r in rows) == [f"s{i:02d}" for i in range(60)]
    assert f"skipped {done_before}" in restarted.stdout
    # The killed run could not clean up; the next one removed what it left.
    assert not list(Path(tempfile.gettempdir()).glob(f"grader-run-{pid}-*"))
    roots = [Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")]
    left = [c for root in roots if root.is_dir() for c in root.glob(f"grader-{pid}-*")]
    assert left == []


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes() if entry.name.isdigit() else b""
        except OSError:  # gone meanwhile
            continue
        if stat and int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_worker_killed_mid_run_is_a_clear_error_and_a_rerun_finishes(tmp_path: Path) -> None:
    klass = _class(tmp_path / "class", 60)
    book = tmp_path / "book.db"
    args = [sys.executable, "-m", "grader", "batch", "ex01", str(klass), "--jobs", "2"]
    with subprocess.Popen(
        [*args, "--gradebook", str(book)], cwd=REPO, env=isolated_environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and not (workers and _graded(book) >= 2):
            # The batch's workers: forked by its forkserver (or spawned by the batch).
            workers = [
                worker
                for child in _children(proc.pid)
                if b"forkserver" in _cmdline(child) or b"spawn_main" in _cmdline(child)
                for worker in _children(child) or [child]
            ]
            time.sleep(0.05)
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert "a worker process of the batch stopped" in stderr
    assert "Run the same command again" in stderr
    assert "Traceback" not in stderr
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book))
    assert again.returncode == 0, again.stderr
    assert sorted(r[0] for r in _rows(book)) == [f"s{i:02d}" for i in range(60)]


def test_a_bad_gradebook_or_class_folder_is_a_clear_error(tmp_path: Path) -> None:
    not_a_db = write(tmp_path / "book.db", "this is not SQLite")
    klass = _class(tmp_path / "class", 1)
    result = run_grade("batch", "ex01", str(klass), "--gradebook", str(not_a_db))
    assert result.returncode == 2
    assert "cannot open the gradebook" in result.stderr
    missing = run_grade(
        "batch", "ex01", str(tmp_path / "nowhere"), "--gradebook", str(tmp_path / "b.db")
    )
    assert missing.returncode == 2
    assert "is not a directory" in missing.stderr
    assert not (tmp_path / "b.db").exists(), "nothing is made for a run that cannot start"
    assert "Traceback" not in missing.stderr + result.stderr
    # A dashboard written over the gradebook would destroy it; one into a folder that does
    # not exist would be found out after the whole class was graded: both refused first.
    book = tmp_path / "book.html"
    for report, words in (
        (book, "is the gradebook: writing the dashboard there would destroy it"),
        (tmp_path / "nowhere" / "class.html", "nowhere does not exist"),
    ):
        refused = run_grade(
            "batch", "ex01", str(klass), "--gradebook", str(book), "--report", str(report)
        )
        assert refused.returncode == 2
        assert words in refused.stderr
        assert not book.exists()
    nowhere = run_grade("batch", "ex01", str(klass), "--gradebook", str(tmp_path / "no" / "b.db"))
    assert nowhere.returncode == 2
    assert "the folder" in nowhere.stderr
    assert "does not exist" in nowhere.stderr


def test_a_batch_prints_its_attempts_as_junit_and_json_and_writes_the_dashboard(
    tmp_path: Path,
) -> None:
    klass = _class(tmp_path / "class", 3)  # good, log2, sum instead of mean
    write(klass / "s09" / "ex01.py", "def binary_cross_entropy(y_true, y_pred):\n    return (\n")
    book = tmp_path / "book.db"
    page = tmp_path / "class.html"
    junit = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(book), "--format", "junit",
        "--report", str(page),
    )  # fmt: skip
    assert junit.returncode == 0, junit.stderr
    schema = xmlschema.XMLSchema(str(REPO / "tests" / "fixtures" / "junit" / "junit-10.xsd"))
    assert [str(e) for e in schema.iter_errors(junit.stdout)] == []
    suites = {suite.name: suite for suite in JUnitXml.fromstring(junit.stdout)}
    assert sorted(suites) == ["s00: ex01", "s01: ex01", "s02: ex01", "s09: ex01"]
    results = {
        name: [type(r) for case in suite for r in case.result] for name, suite in suites.items()
    }
    assert results["s00: ex01"] == []  # every case passed
    assert Failure in results["s01: ex01"]  # log2: wrong values
    assert set(results["s09: ex01"]) == {Error}  # does not compile: no case could run
    html = page.read_text()
    assert "<svg" in html
    assert all(student in html for student in ("s00", "s01", "s02", "s09"))
    # Only what this run graded: one changed submission, one attempt.
    write(klass / "s00.py", (EX01 / "bad_log2.py").read_text())
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), "--format", "json")
    document = json.loads(again.stdout)
    assert [(a["student"], a["status"]) for a in document["attempts"]] == [("s00", "failed")]
    assert document["attempts"][0]["mistakes"] == ["log2"]
    assert document["summary"][-1] == "this run: graded 1, skipped 3 (already in the gradebook)"
    wrong = run_grade("batch", "ex01", str(klass), "--report", str(tmp_path / "class.txt"))
    assert wrong.returncode == 2
    assert "name it .html" in wrong.stderr


def test_links_and_huge_files_are_recorded_as_errors_and_the_class_goes_on(
    tmp_path: Path,
) -> None:
    klass = _class(tmp_path / "class", 2)
    # A link to the course's own solution would get full marks if it were followed.
    (klass / "mallory").mkdir()
    (klass / "mallory" / "ex01.py").symlink_to(REPO / "solutions" / "bce.py")
    elsewhere = write(tmp_path / "elsewhere" / "ex01.py", (EX01 / "good_vectorised.py").read_text())
    (klass / "trudy").symlink_to(elsewhere.parent, target_is_directory=True)
    write(klass / "huge" / "ex01.py", "# x\n" * 300_000)
    # A notebook that is not one (its cells never reach a sandbox), without warnings.
    write(klass / "nina" / "ex01.ipynb", "not json")
    # Links to nothing, or to themselves: a row that says so, not a student who vanishes.
    (klass / "dan").mkdir()
    (klass / "dan" / "ex01.py").symlink_to(tmp_path / "nowhere.py")
    (klass / "lou").mkdir()
    (klass / "lou" / "ex01.py").symlink_to("ex01.py")
    book = tmp_path / "book.db"
    result = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    rows = {a["student"]: a for a in json.loads(result.stdout)["attempts"]}
    assert sorted(rows) == ["dan", "huge", "lou", "mallory", "nina", "s00", "s01", "trudy"]
    for name, file, words in (
        ("dan", "ex01.py", "symbolic link"),
        ("lou", "ex01.py", "symbolic link"),
        ("mallory", "ex01.py", "symbolic link"),
        ("trudy", "ex01.py", "symbolic link"),
        ("huge", "ex01.py", "bytes"),
        ("nina", "ex01.ipynb", "is not a Jupyter notebook"),
    ):
        row = rows[name]
        assert (row["status"], row["score"], row["max_score"]) == ("error", 0, 30), name
        assert row["error"].startswith(f"could not be loaded: {file} "), row["error"]
        assert words in row["error"]
        # Every reason kept as a sandbox's load error is: the student's to fix.
        assert row["load_error"]["kind"] == "unreadable"
        assert row["load_error"]["file"] == file
        assert "grader-batch-" not in json.dumps(row)  # no worker's temporary path
    assert rows["s00"]["status"] == "passed"
    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", str(book))
    assert {r["student"]: r["max_score"] for r in json.loads(exported.stdout)}["nina"] == 30
    book2 = str(tmp_path / "book2.db")
    xml = run_grade("batch", "ex01", str(klass), "--gradebook", book2, "--format", "junit")
    suites = {s.name: s for s in JUnitXml.fromstring(xml.stdout)}
    (nina,) = [s for name, s in suites.items() if "nina" in name]
    (error,) = [r for case in nina for r in case.result if isinstance(r, Error)]
    assert error.type == "SubmissionError.unreadable"
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book))
    assert "graded 0, skipped 8" in again.stdout


def test_an_empty_class_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "class" / "alice").mkdir(parents=True)
    write(tmp_path / "class" / "alice" / "notes.txt", "not a submission")
    result = run_grade(
        "batch", "ex01", str(tmp_path / "class"), "--gradebook", str(tmp_path / "b.db")
    )
    assert result.returncode == 2
    assert "holds no submission: looked for" in result.stderr
    assert "<student>/ex01.py" in result.stderr


def test_ctrl_c_stops_a_batch_cleanly_and_says_how_to_go_on(tmp_path: Path) -> None:
    klass = _class(tmp_path / "class", 60)
    book = tmp_path / "book.db"
    # What Ctrl-C sends: SIGINT to the whole foreground group.
    pid, returncode, stderr = _signal_mid_run(klass, book, signal.SIGINT, after=1)
    assert returncode == 130, stderr
    assert "Interrupted:" in stderr
    assert "run the same command again" in stderr
    assert "Traceback" not in stderr
    assert 1 <= len(_rows(book)) < 60
    assert not list(Path(tempfile.gettempdir()).glob(f"grader-run-{pid}-*"))


def test_batch_all_grades_every_exercise_of_every_student(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    for student, ex01, ex03 in (
        ("ana", "good_vectorised.py", "good_fancy_indexing.py"),
        ("bob", "bad_log2.py", None),
    ):
        write(klass / student / "ex01.py", (EX01 / ex01).read_text())
        if ex03:
            write(klass / student / "ex03.py", (SUBMISSIONS / "ex03" / ex03).read_text())
    # A file at the top names no exercise: with 'all' it is not a submission.
    write(klass / "cy.py", (EX01 / "good_vectorised.py").read_text())
    book = tmp_path / "book.db"
    result = run_grade("batch", "all", str(klass), "--gradebook", str(book))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(book) as db:
        rows = sorted(db.execute("SELECT student, item, status FROM attempts").fetchall())
    assert rows == [("ana", "ex01", "passed"), ("ana", "ex03", "passed"), ("bob", "ex01", "failed")]
    lines = result.stdout.splitlines()
    # The class first, one line per exercise, each with its own maximum (ex03 has 25
    # points, ex01 30); then what this run did.
    with sqlite3.connect(book) as db:
        (ex03,) = db.execute("SELECT max_score FROM attempts WHERE item = 'ex03'").fetchone()
    assert ex03 != 30
    assert lines[0].startswith("ex01: 2 submissions: mean ")
    assert lines[0].endswith(" of 30")
    assert lines[1] == f"ex03: 1 submission: mean {ex03:.2f}, median {ex03:g} of {ex03:g}"
    assert lines[2] == "all: pass rate 67%; errors 0"
    assert "  cy.py: a file beside the students' folders, left out" in lines
    # Several exercises: each mistake and each slow submission named with its exercise.
    assert "most frequent mistakes: ex01 log2 (1)" in lines
    slowest = next(line for line in lines if line.startswith("slowest: "))
    assert re.fullmatch(r"slowest: (\w+ \((ex01|ex03)\) [0-9.]+ s(, )?)+", slowest), slowest
    assert lines[-1] == "this run: graded 3, skipped 0 (already in the gradebook)"
    exported = run_grade("gradebook", "export", "--gradebook", str(book))
    table = list(csv.reader(io.StringIO(exported.stdout)))
    assert len(table[0]) == 7  # Student, Name, Section; per exercise, its score and note
    assert [row[0] for row in table[1:]] == ["ana", "bob"]


def test_a_gradebook_of_an_older_version_is_read_in_todays_shape(tmp_path: Path) -> None:
    """Before the error had a column, a refused submission kept its reason as a case."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE attempts (id INTEGER PRIMARY KEY, student TEXT NOT NULL, item TEXT NOT "
        "NULL, submission_hash TEXT NOT NULL, exercise_hash TEXT NOT NULL, score REAL NOT "
        "NULL, max_score REAL NOT NULL, status TEXT NOT NULL, mistakes TEXT NOT NULL, "
        "grader_version TEXT NOT NULL, graded_at TEXT NOT NULL, seconds REAL NOT NULL, "
        "cases TEXT NOT NULL, UNIQUE (student, item, submission_hash, exercise_hash))"
    )
    db.execute(
        "INSERT INTO attempts VALUES (1, 'ann', 'ex01', 'a', 'b', 0, 0, 'error', '[]', '0.0', "
        "'2026-01-01', 0, ?)",
        (json.dumps([{"error": "ex01.py is a named pipe"}]),),
    )
    db.commit()
    db.close()
    result = run_grade("gradebook", "export", "--format", "json", "--gradebook", str(path))
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["error"] == "ex01.py is a named pipe"
    assert row["cases"] == []
    # Nor were the reasons kept: none known, each mistake titled by its id.
    assert (row["load_error"], row["stopped"], row["mistake_titles"]) == (None, None, [])


#: A gradebook written before the error and the reasons had columns of their own.
_OLDEST_SCHEMA = (
    "CREATE TABLE attempts (id INTEGER PRIMARY KEY, student TEXT NOT NULL, item TEXT NOT "
    "NULL, submission_hash TEXT NOT NULL, exercise_hash TEXT NOT NULL, score REAL NOT "
    "NULL, max_score REAL NOT NULL, status TEXT NOT NULL, mistakes TEXT NOT NULL, "
    "grader_version TEXT NOT NULL, graded_at TEXT NOT NULL, seconds REAL NOT NULL, "
    "cases TEXT NOT NULL, UNIQUE (student, item, submission_hash, exercise_hash))"
)
#: Every call runs past its limit (the exercise's floor, about a second): after two in a
#: row the calls left are not made, so it costs seconds, not the whole time budget.
_HANGS = "def binary_cross_entropy(y_true, y_pred):\n    while True:\n        pass\n"
_OUT_OF_TIME = r"could not be graded: it ran out of time: calls in a row ran longer than [0-9.]+ s"


def _reasons_class(root: Path) -> Path:
    write(root / "ana" / "ex01.py", (EX01 / "good_vectorised.py").read_text())
    write(root / "bob" / "ex01.py", (EX01 / "bad_log2.py").read_text())
    write(root / "dee.py", "import numpy as np\n\ndef binary_cross_entropy(y_true, y_pred:\n")
    write(root / "hal.py", _HANGS)
    return root


def test_why_a_submission_could_not_be_graded_is_kept_and_shown_everywhere(
    tmp_path: Path,
) -> None:
    """The load error with its line, a time-out as an error that says which limit, and the
    mistakes by id and title: in the gradebook (an old one, migrated on open), the JSON
    export, the summary, the dashboard and the batch JUnit."""
    klass = _reasons_class(tmp_path / "class")
    book = tmp_path / "old.db"
    with sqlite3.connect(book) as db:
        db.execute(_OLDEST_SCHEMA)
    db.close()
    page = tmp_path / "class.html"
    text = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(book), "--report", str(page)
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    # The summary after the run: each submission that could not be graded, and why.
    assert "; errors 2" in text.stdout
    assert "submissions that could not be graded:" in text.stdout
    assert "  dee: could not be loaded: SyntaxError: '(' was never closed (dee.py, line 3)" in (
        text.stdout
    )
    assert re.search(rf"^  hal: {_OUT_OF_TIME}", text.stdout, re.MULTILINE), text.stdout

    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", str(book))
    assert exported.returncode == 0, exported.stderr
    rows = {row["student"]: row for row in json.loads(exported.stdout)}
    assert {name: row["status"] for name, row in rows.items()} == {
        "ana": "passed",
        "bob": "failed",
        "dee": "error",
        "hal": "error",
    }
    assert rows["dee"]["load_error"] == {
        "kind": "syntax",
        "message": "SyntaxError: '(' was never closed",
        "file": "dee.py",
        "line": 3,
    }
    assert rows["dee"]["error"].startswith("could not be loaded: SyntaxError")
    assert rows["hal"]["stopped"]["kind"] == "hanging"
    assert rows["hal"]["stopped"]["seconds"] >= 1.0
    assert rows["hal"]["stopped"]["calls"] == len(rows["hal"]["cases"])
    assert re.match(_OUT_OF_TIME, rows["hal"]["error"])
    assert rows["bob"]["mistakes"] == ["log2"]
    assert rows["bob"]["mistake_titles"] == ["log base 2 instead of the natural log"]
    for name in ("ana", "bob"):
        assert (rows[name]["error"], rows[name]["load_error"], rows[name]["stopped"]) == (
            None,
            None,
            None,
        )

    html = page.read_text()
    erroring = html[html.index("could not be graded</h3>") :]
    assert '<th scope="row">dee</th><td class="number">3</td>' in erroring
    assert "could not be loaded: SyntaxError: &#39;(&#39; was never closed" in erroring
    assert re.search(rf'<th scope="row">hal</th>.*?{_OUT_OF_TIME}', erroring, re.DOTALL)
    assert "log base 2 instead of the natural log" in html

    junit = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(tmp_path / "new.db"), "--format", "junit"
    )  # fmt: skip
    assert junit.returncode == 0, junit.stderr
    schema = xmlschema.XMLSchema(str(REPO / "tests" / "fixtures" / "junit" / "junit-10.xsd"))
    assert [str(e) for e in schema.iter_errors(junit.stdout)] == []
    suites = {suite.name: suite for suite in JUnitXml.fromstring(junit.stdout)}
    for student, kind, words in (
        ("dee", "SubmissionError.syntax", "could not be loaded: SyntaxError: '(' was never closed"),
        ("hal", "Stopped.hanging", "could not be graded: it ran out of time"),
    ):
        found = [r for case in suites[f"{student}: ex01"] for r in case.result]
        assert found, student
        assert all(isinstance(r, Error) for r in found), student
        assert {r.type for r in found} == {kind}
        assert all(r.message.startswith(words) for r in found), found[0].message
    dee = [r for case in suites["dee: ex01"] for r in case.result]
    assert all(r.message.endswith("(dee.py, line 3)") for r in dee)
    bob = suites["bob: ex01"]
    titles = {p.name: p.value for p in bob.properties()}
    assert titles["mistake_titles"] == "log base 2 instead of the natural log"
    # Named in each failure too: what a CI viewer shows of a test.
    failures = [r for case in bob for r in case.result]
    assert failures
    assert all(isinstance(r, Failure) for r in failures)
    assert all(
        r.message.endswith("match a known mistake: log base 2 instead of the natural log [log2]")
        for r in failures
    ), failures[0].message
    assert all(r.message.startswith("wrong value") for r in failures)


def test_each_student_gets_the_grade_of_the_file_there_at_the_latest_run(tmp_path: Path) -> None:
    """A student who replaced a wrong file with a right one and went back gets the wrong
    file's grade again (without regrading it); a student whose file is gone gets none."""
    wrong = (SUBMISSIONS / "ex01" / "bad_log2.py").read_text()
    right = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    klass, book = tmp_path / "class", str(tmp_path / "book.db")
    write(klass / "ana" / "ex01.py", wrong)
    write(klass / "bob" / "ex01.py", right)

    def run() -> str:
        result = run_grade("batch", "ex01", str(klass), "--sandbox", "process", "--gradebook", book)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def exported(*args: str) -> list[dict[str, Any]]:
        result = run_grade("gradebook", "export", "--format", "json", "--gradebook", book, *args)
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    run()
    write(klass / "ana" / "ex01.py", right)
    run()
    assert {r["student"]: r["score"] for r in exported()} == {"ana": 30.0, "bob": 30.0}
    write(klass / "ana" / "ex01.py", wrong)
    shutil.rmtree(klass / "bob")
    third = run()
    assert "this run: graded 0, skipped 1" in third
    # The class, not the run: ana's 6; bob's file is gone: 0 points, counted apart.
    assert third.splitlines()[0].startswith("1 submission: mean 6.00, median 6 of 30; pass rate 0%")
    assert "no submission (1, 0 points each): bob" in third
    rows = {r["student"]: r for r in exported()}
    assert (rows["ana"]["score"], rows["ana"]["status"]) == (6.0, "failed")
    assert (rows["bob"]["score"], rows["bob"]["status"]) == (0.0, "missing")
    assert "no submission" in rows["bob"]["error"]
    table = run_grade("gradebook", "export", "--gradebook", book).stdout
    csv_rows = list(csv.reader(io.StringIO(table)))
    assert [row[3] for row in csv_rows[1:]] == ["6", "0"]
    assert len(exported("--all-attempts")) == 3  # ana twice, bob once: nothing lost


def test_a_run_of_another_folder_leaves_the_students_it_does_not_hold_as_they_were(
    tmp_path: Path,
) -> None:
    """A folder of late submissions graded into the class's gradebook: its students get
    their new grades, the rest of the class keeps theirs (a run judges "gone" only for the
    folder it reads); a student's own folder passed for the class's is refused."""
    wrong = (SUBMISSIONS / "ex01" / "bad_log2.py").read_text()
    right = (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text()
    klass, late, book = tmp_path / "class", tmp_path / "late", str(tmp_path / "book.db")
    write(klass / "ana" / "ex01.py", right)
    write(klass / "bob" / "ex01.py", wrong)
    write(late / "bob" / "ex01.py", right)
    # A class folder whose name is not UTF-8 (a zip made on Windows): recorded all the same.
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    write(odd / "cy" / "ex01.py", right)
    run = run_grade(
        "batch", "ex01", str(odd), "--sandbox", "process", "--gradebook", str(tmp_path / "odd.db")
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("1 submission: mean 30.00")
    for folder in (klass, late):
        result = run_grade(
            "batch", "ex01", str(folder), "--sandbox", "process", "--gradebook", book
        )
        assert result.returncode == 0, result.stderr
    assert "no submission" not in result.stdout
    assert result.stdout.startswith("2 submissions: mean 30.00")
    # The class's figures count ana, whom late/ does not hold: said, with her folder.
    assert "graded from another folder's latest run (1, not in this one): ana (class)" in (
        result.stdout
    )
    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", book)
    scores = {r["student"]: (r["score"], r["status"]) for r in json.loads(exported.stdout)}
    assert scores == {"ana": (30.0, "passed"), "bob": (30.0, "passed")}
    # The class folder again, bob's late file not in it: the class folder's word stands.
    again = run_grade("batch", "ex01", str(klass), "--sandbox", "process", "--gradebook", book)
    assert again.returncode == 0, again.stderr
    assert "this run: graded 0, skipped 2" in again.stdout
    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", book)
    assert {r["student"]: r["score"] for r in json.loads(exported.stdout)} == {
        "ana": 30.0,
        "bob": 6.0,
    }
    # A misfiled submission moved from the class folder to late/: gone from the class
    # folder, still held by late/'s latest run, so it keeps that file's grade.
    shutil.move(klass / "ana", late / "ana")
    for folder in (late, klass):
        moved = run_grade("batch", "ex01", str(folder), "--sandbox", "process", "--gradebook", book)
        assert moved.returncode == 0, moved.stderr
    assert "no submission" not in moved.stdout
    exported = run_grade("gradebook", "export", "--format", "json", "--gradebook", book)
    assert {r["student"]: r["score"] for r in json.loads(exported.stdout)}["ana"] == 30.0
    one = run_grade("batch", "ex01", str(late / "ana"), "--sandbox", "process", "--gradebook", book)
    assert one.returncode == 2
    assert "holds ex01.py itself: it looks like one student's folder" in one.stderr
    write(tmp_path / "solo" / "EX01.py", right)  # another case, as Windows keeps names
    solo = run_grade("batch", "ex01", str(tmp_path / "solo"), "--gradebook", book)
    assert "holds EX01.py itself" in solo.stderr
    assert f"grade ex01 --file {late / 'ana' / 'ex01.py'}" in one.stderr
    assert "Traceback" not in one.stderr


def test_what_the_class_folder_holds_and_no_run_grades_is_named(tmp_path: Path) -> None:
    """A misnamed file, a file a folder too deep, an empty folder, two submissions of one
    student, a stray file, one name with its accent written two ways: each named in the
    summary, so that nothing handed in hides behind a 0."""
    good = (EX01 / "good_vectorised.py").read_text()
    klass = tmp_path / "class"
    write(klass / "ana" / "ex01.py", good)
    write(klass / "bob" / "ex01 (1).py", good)
    write(klass / "cy" / "sub" / "ex01.py", good)
    (klass / "dee").mkdir()
    write(klass / "eve" / "ex01.py", good)
    write(klass / "eve" / "ex01.ipynb", "{}")
    write(klass / "kid" / "ex01.py", good)
    write(klass / "kid.py", (EX01 / "bad_log2.py").read_text())
    write(klass / "notes.txt", "not a submission")
    (klass / "zed.py").mkdir()  # a folder so named is no student "zed" of the flat layout
    os.mkfifo(klass / "pipe")
    (klass / "etc").symlink_to("/etc", target_is_directory=True)
    write(klass / "Jose\u0301" / "ex01.py", good)
    write(klass / "Jos\u00e9" / "ex01.py", good)
    result = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(tmp_path / "b.db"), "--sandbox", "process"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("in the class folder, not graded (10):")
    assert lines[start + 1 : start + 11] == [
        "  José: two of this name, their accents written two ways; one graded",
        "  bob/: no ex01.py or ex01.ipynb; it holds ex01 (1).py",
        "  cy/: no ex01.py or ex01.ipynb; it holds sub/",
        "  dee/: empty",
        "  etc: a symbolic link, left out",
        "  eve/: ex01.py and ex01.ipynb; ex01.py graded",
        "  kid.py and kid/ex01.py; kid/ex01.py graded",
        "  notes.txt: not a .py or .ipynb file, left out",
        "  pipe: not a file or a folder (a pipe, socket or device)",
        "  zed.py/: empty",
    ]
    # Many: a line per kind, its count and first examples, every kind named.
    for i in range(12):
        (klass / f"empty{i:02d}").mkdir()
    many = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(tmp_path / "b.db"), "--sandbox", "process"
    )
    lines = many.stdout.splitlines()
    start = lines.index("in the class folder, not graded (22):")
    kinds = [line.split(" (")[0].strip() for line in lines[start + 1 : start + 7]]
    assert kinds == [
        "names written two ways", "folders without the exercise's file", "empty folders",
        "students with two submissions", "files that are no submission",
        "links and special files",
    ]  # fmt: skip
    assert "  empty folders (14): dee/: empty; empty00/: empty and 12 more" in lines
    assert lines[0].startswith("4 submissions: mean 30.00")  # ana, eve, José, kid


def test_a_database_of_something_else_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE attempts (x)")  # a table of the same name, not ours
    before = other.read_bytes()
    klass = _class(tmp_path / "class", 1)
    for args in (("batch", "ex01", str(klass)), ("gradebook", "export")):
        result = run_grade(*args, "--gradebook", str(other))
        assert result.returncode == 2, result.stderr
        assert f"{other} is not a gradebook: a SQLite database of something else" in (result.stderr)
        assert "internal error" not in result.stderr
    assert other.read_bytes() == before


def test_a_full_disk_is_said_to_be_one_and_a_rerun_finishes(tmp_path: Path) -> None:
    """The gradebook's file may grow to 60 kB only (RLIMIT_FSIZE: what a full disk does to
    a write); then stdout is a full device. Neither is "a bug in grader"."""
    klass = _class(tmp_path / "class", 30)
    book = tmp_path / "book.db"

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    full = subprocess.run(
        [sys.executable, "-m", "grader", "batch", "ex01", str(klass), "--gradebook", str(book),
         "--sandbox", "process"],
        cwd=REPO, env=isolated_environment(), capture_output=True, text=True, timeout=120,
        preexec_fn=small_files,
    )  # fmt: skip
    assert full.returncode == 2, full.stderr
    assert f"cannot write the gradebook {book}" in full.stderr
    assert "run the same command again" in full.stderr
    assert "internal error" not in full.stderr
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(book), "--sandbox", "process")
    assert again.returncode == 0, again.stderr
    assert len({row[0] for row in _rows(book)}) == 30  # each student once
    with open("/dev/full", "w") as devfull:
        out = subprocess.run(
            [sys.executable, "-m", "grader", "gradebook", "export", "--gradebook", str(book)],
            cwd=REPO, env=isolated_environment(), stdout=devfull, stderr=subprocess.PIPE,
            text=True, timeout=60,
        )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.startswith("Error: cannot write: No space left on device")


def test_a_quiz_given_to_batch_is_named_as_a_quiz(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    write(klass / "ann" / "q01.py", "x = 1\n")
    book = tmp_path / "book.db"
    result = run_grade("batch", "q01", str(klass), "--gradebook", str(book))
    assert result.returncode == 2
    assert "q01 is a quiz: each student answers it with 'grade q01'" in result.stderr
    assert "Pass an exercise (ex01, " in result.stderr
    assert "Traceback" not in result.stderr
    assert not book.exists()  # refused before anything is made
