"""Class-scale batch grading: `grade batch ex01 CLASS` against one pytest run per submission.

Run by hand (never in the test suite) and record the result in README.md:

    python benchmarks/bench_batch.py [--n 1000] [--mix realistic] [--jobs 4] [--pytest-sample 100]

It writes a class of N ex01 submissions (`binary_cross_entropy`, each file unique) into a
temporary folder CLASS/<student>/ex01.py, in one of two mixes (`--mix`), seeded (`--seed`),
its counts printed:

- realistic (issue 24, the default): about a third wrong in the ways
  tests/fixtures/submissions/ex01/bad_*.py are wrong (log2, log10, a missing minus, sum
  instead of mean, no clipping, clipping one side only, swapped arguments, int labels into
  a zeros_like accumulator, a mutated input, an array returned, a loop with log2...), 5 %
  correct plain Python loops, 4 % erroring, and 3 % pathological: 1 % that hang (a loop
  that never ends), 1 % that build an N x N table by broadcasting (a column of labels
  against a row of predictions: 20 GB on the 50,000-row case, 800 MB on 10,000 rows) and
  1 % that print every row (megabytes on the large cases); the rest correct, vectorised.
- mostly-correct (issue 15): about 60 % correct vectorised, 30 % wrong, 8 % erroring and
  `--hanging` that hang (one loops, the others sleep).

Then, side by side in one run:

- grade batch: `python -m grader batch ex01 CLASS --gradebook DB` as a subprocess (cwd the
  repository, a copy of the course's exercises and solutions as GRADER_COURSE, all cores
  unless `--jobs`), timed end to end (the grader's startup included), its peak memory the
  largest summed RSS of the batch process and all its descendants (workers, bwrap
  sandboxes, forked children), sampled every 50 ms. A class of N/4 is graded too, first,
  to show that the peak does not grow with N. Each gradebook must hold exactly the rows
  expected per student (the benchmark exits 1 if not); its statuses are printed.
- the regrade (`--no-regrade` leaves it out): the copied exercise changes (a comment), and
  the same class is graded again into the same gradebook, the students whose attempts were
  slowest started first.
- pytest, the baseline: one `python -m pytest -q` per submission, 2 at a time, each on a
  test file that imports the submission and asserts np.isclose against expected values
  computed here with the reference (solutions/bce.py) on fixed inputs like ex01's visible
  cases, under the exercise's memory limit (RLIMIT_AS: 1 GiB and 256 MiB for Python and
  pytest, as `ulimit -v` in a course's CI; without it a broadcasting submission asks the
  machine for 20 GB); a run over `--pytest-timeout` seconds is killed and counted. pytest
  costs about 0.5 s a submission, so it runs on a sample (`--pytest-sample`), drawn from
  every kind of submission in proportion (at least one of each kind).
- the floor: the same cases in this process, no isolation at all (importlib, a call,
  np.isclose), the hanging submissions skipped, what they print thrown away, under the
  same memory limit over what this process maps.

Summed RSS counts pages shared between processes (numpy's libraries, a forked child's
copy of its server) once per process: it overstates what the machine actually uses.
This script sets nothing in the grader; bytecode caching is on for every subprocess
(PYTHONDONTWRITEBYTECODE is unset), as on a teacher's machine.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.exercise.spec import load_exercise
from grader.sandbox.supervisor import descendants

REPO = Path(__file__).resolve().parents[1]
EXERCISE = "ex01"
FUNCTION = "binary_cross_entropy"
#: ex01.yaml's tolerance and accepted clipping range.
RTOL, ATOL = 1.0e-4, 1.0e-9
EPS_RANGE = (2.220446049250313e-16, 1.01e-5)
PYTEST_PARALLEL = 2
#: ex01.yaml's memory limit, which every method is held to (the sandbox's child has it).
MEMORY_BYTES = 1024 * 2**20
PYTEST_OWN_BYTES = 256 * 2**20

_HEAD = "import numpy as np\n\n\ndef binary_cross_entropy(y_true, y_pred):\n"
_TERMS = "y_true * np.log(p) + (1 - y_true) * np.log(1 - p)"

#: Submissions by kind and style: the code after a first comment line naming the student.
STYLES: dict[str, dict[str, str]] = {
    "correct": {
        "clip_1e-7": _HEAD + "    eps = 1e-7\n    p = np.clip(y_pred, eps, 1 - eps)\n"
        f"    return float(-np.mean({_TERMS}))\n",
        "clip_1e-6_log1p": _HEAD + "    p = np.clip(y_pred, 1e-6, 1 - 1e-6)\n"
        "    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log1p(-p)))\n",
        "float64_clip_1e-12": _HEAD + "    y = np.asarray(y_true, dtype=np.float64)\n"
        "    p = np.clip(np.asarray(y_pred, dtype=np.float64), 1e-12, 1 - 1e-12)\n"
        "    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n",
        "where_max_min_1e-5": _HEAD + "    p = np.minimum(np.maximum(y_pred, 1e-5), 1 - 1e-5)\n"
        "    losses = np.where(y_true == 1, -np.log(p), -np.log1p(-p))\n"
        "    return float(losses.mean())\n",
        "float32_keras": _HEAD + "    epsilon = np.float32(1e-7)\n"
        "    target = np.asarray(y_true, dtype=np.float32)\n"
        "    output = np.clip(np.asarray(y_pred, dtype=np.float32), epsilon, 1 - epsilon)\n"
        "    bce = target * np.log(output + epsilon)\n"
        "    bce += (1 - target) * np.log(1 - output + epsilon)\n"
        "    return float(np.mean(-bce))\n",
        "finfo_eps": _HEAD + "    eps = np.finfo(y_pred.dtype).eps\n"
        "    p = np.clip(y_pred, eps, 1 - eps)\n"
        f"    return float(-np.mean({_TERMS}))\n",
        "average_zero_d": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return np.array(-np.average({_TERMS}))\n",
    },
    # Plain Python loops (tests/fixtures/submissions/ex01/good_loops_math.py): right, and
    # 100 to 300 times slower than numpy; the call's time floor is there for them.
    "loops": {
        "zip_math": "import math\n\n\ndef binary_cross_entropy(y_true, y_pred):\n"
        "    total = 0.0\n    for y, p in zip(y_true, y_pred):\n"
        "        p = min(max(float(p), 1e-15), 1 - 1e-15)\n"
        "        total += -(y * math.log(p) + (1 - y) * math.log(1 - p))\n"
        "    return total / len(y_true)\n",
        "index_numpy": _HEAD + "    total = 0.0\n    for i in range(len(y_true)):\n"
        "        p = min(max(y_pred[i], 1e-7), 1 - 1e-7)\n"
        "        if y_true[i] == 1:\n            total -= np.log(p)\n"
        "        else:\n            total -= np.log(1 - p)\n"
        "    return float(total / len(y_true))\n",
    },
    "wrong": {
        "log2": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y_true * np.log2(p) + (1 - y_true) * np.log2(1 - p)))\n",
        "log10": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y_true * np.log10(p) + (1 - y_true) * np.log10(1 - p)))\n",
        "sum_not_mean": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return float(-np.sum({_TERMS}))\n",
        "missing_minus": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return float(np.mean({_TERMS}))\n",
        "no_clip": _HEAD + "    p = y_pred\n    with np.errstate(all='ignore'):\n"
        f"        return float(-np.mean({_TERMS}))\n",
        "swapped_args": _HEAD + "    y, p = y_pred, np.clip(y_true, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))\n",
        "forgot_one_minus_y": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y_true * np.log(p)))\n",
        "clip_1e-3": _HEAD + "    p = np.clip(y_pred, 1e-3, 1 - 1e-3)\n"
        f"    return float(-np.mean({_TERMS}))\n",
    },
    # The ways tests/fixtures/submissions/ex01/bad_*.py are wrong that "wrong" lacks.
    "wrong_more": {
        "log2_and_sum": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.sum(y_true * np.log2(p) + (1 - y_true) * np.log2(1 - p)))\n",
        "no_clip_where": _HEAD + "    with np.errstate(all='ignore'):\n"
        "        return float(np.mean(np.where(y_true == 1, -np.log(y_pred), "
        "-np.log(1 - y_pred))))\n",
        "clip_low_only": _HEAD + "    p = np.maximum(y_pred, 1e-7)\n"
        "    with np.errstate(all='ignore'):\n"
        f"        return float(-np.mean({_TERMS}))\n",
        "clip_high_only": _HEAD + "    p = np.minimum(y_pred, 1 - 1e-7)\n"
        "    with np.errstate(all='ignore'):\n"
        f"        return float(-np.mean({_TERMS}))\n",
        "float32_tiny_eps": _HEAD + "    p = np.clip(y_pred, 1e-8, 1 - 1e-8)\n"
        "    with np.errstate(all='ignore'):\n"
        f"        return float(-np.mean({_TERMS}))\n",
        "hard_predictions": _HEAD + "    p = np.clip(np.round(y_pred), 1e-7, 1 - 1e-7)\n"
        f"    return float(-np.mean({_TERMS}))\n",
        "zeros_like_int_labels": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    losses = np.zeros_like(y_true)\n"
        f"    losses[:] = -({_TERMS})\n"
        "    return float(np.mean(losses))\n",
        "mutates_input": _HEAD + "    np.clip(y_pred, 1e-7, 1 - 1e-7, out=y_pred)\n"
        "    return float(-np.mean(y_true * np.log(y_pred) + (1 - y_true) * "
        "np.log(1 - y_pred)))\n",
        "returns_array": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return -({_TERMS})\n",
        "raises_on_one": _HEAD + "    if len(y_true) < 2:\n"
        "        raise ValueError('need at least two examples')\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return float(-np.mean({_TERMS}))\n",
        "log2_loops": "import math\n\n\ndef binary_cross_entropy(y_true, y_pred):\n"
        "    s = 0.0\n    for y, p in zip(y_true, y_pred):\n"
        "        p = min(max(p, 1e-12), 1 - 1e-12)\n"
        "        s += -(y * math.log(p) / math.log(2) + (1 - y) * math.log(1 - p) / math.log(2))\n"
        "    return s / len(y_true)\n",
    },
    "erroring": {
        "raises": _HEAD + '    raise NotImplementedError("TODO: write the loss")\n',
        "syntax_error": "import numpy as np\n\n\ndef binary_cross_entropy(y_true, y_pred)\n"
        f"    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n    return -np.mean({_TERMS})\n",
        "missing_module": "import numpy as np\nfrom helpers import safe_log\n\n\n"
        "def binary_cross_entropy(y_true, y_pred):\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y_true * safe_log(p) + (1 - y_true) * safe_log(1 - p)))\n",
        "returns_list": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return (-({_TERMS})).tolist()\n",
    },
    "hanging": {
        "while_true": _HEAD + "    while True:\n        pass\n",
        "sleep": "import time\n\n" + _HEAD + "    time.sleep(3600)\n",
        # A counter never increased: the loop never ends, on every input.
        "forgot_increment": _HEAD + "    total, i = 0.0, 0\n    while i < len(y_true):\n"
        "        p = min(max(y_pred[i], 1e-7), 1 - 1e-7)\n"
        "        total -= y_true[i] * np.log(p) + (1 - y_true[i]) * np.log(1 - p)\n"
        "    return total / len(y_true)\n",
    },
    # An N x N table: (N, 1) against (N,) broadcasts (tests/fixtures/submissions/ex04/
    # bad_broadcast.py). Wrong values on small inputs, gigabytes on large ones.
    "broadcasting": {
        "column_labels": _HEAD + "    y = y_true.reshape(-1, 1)\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))\n",
        "none_axis": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)[None, :]\n"
        "    y = y_true[:, None]\n"
        "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))\n",
        "diagonal_of_outer": _HEAD + "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        "    table = np.outer(y_true, np.log(p)) + np.outer(1 - y_true, np.log(1 - p))\n"
        "    return float(-np.mean(np.diag(table)))\n",
    },
    # Debugging output left in: right values, megabytes printed on the large cases.
    "printing": {
        "print_each": _HEAD + "    for y, p in zip(y_true, y_pred):\n        print(y, p)\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return float(-np.mean({_TERMS}))\n",
        "print_lists": _HEAD + "    print('y_true', y_true.tolist())\n"
        "    print('y_pred', y_pred.tolist())\n"
        "    p = np.clip(y_pred, 1e-7, 1 - 1e-7)\n"
        f"    return float(-np.mean({_TERMS}))\n",
    },
}

#: A class's shares of each kind, and what a kind draws its styles from.
DRAWN_FROM = {
    "correct": ("correct",),
    "loops": ("loops",),
    "wrong": ("wrong", "wrong_more"),
    "erroring": ("erroring",),
    "hanging": ("hanging",),
    "broadcasting": ("broadcasting",),
    "printing": ("printing",),
}
#: realistic: about a third wrong in the ways the fixtures are wrong, a few loops, and 3 %
#: that hang, build an N x N table or print megabytes (issue 24). mostly-correct: the class
#: of issue 15 (the hanging ones there are a count, --hanging).
MIXES: dict[str, dict[str, float]] = {
    "realistic": {
        "wrong": 0.33,
        "loops": 0.05,
        "erroring": 0.04,
        "hanging": 0.01,
        "broadcasting": 0.01,
        "printing": 0.01,
    },
    "mostly-correct": {"wrong": 0.30, "erroring": 0.08},
}
KINDS = tuple(DRAWN_FROM)
PATHOLOGICAL = ("hanging", "broadcasting", "printing")


@dataclass(frozen=True)
class Student:
    name: str
    kind: str
    style: str
    path: Path


# --- the class ---------------------------------------------------------------------------------


def make_class(directory: Path, n: int, mix: str, hanging: int, seed: int) -> list[Student]:
    """N submissions, deterministic for a seed: the kinds in the mix's shares (rounded; the
    rest correct), shuffled, and a style drawn for each. In the mostly-correct mix the
    hanging ones are a count, the first of them looping and the others sleeping; in the
    realistic one they loop."""
    shares = MIXES[mix]
    counts = dict.fromkeys(KINDS, 0)
    if mix == "mostly-correct":
        counts["hanging"] = min(hanging, n)
    for kind, share in shares.items():
        counts[kind] = min(round(share * n), n - sum(counts.values()))
    counts["correct"] = n - sum(counts.values())
    kinds = [kind for kind in KINDS for _ in range(counts[kind])]
    rng = random.Random(seed)
    rng.shuffle(kinds)
    students, loops = [], 0
    for i, kind in enumerate(kinds):
        styles = {s: (group, s) for group in DRAWN_FROM[kind] for s in STYLES[group]}
        if kind == "hanging" and mix == "mostly-correct":
            style = "while_true" if loops == 0 else "sleep"
            loops += 1
        elif kind == "hanging":
            style = rng.choice(["while_true", "forgot_increment"])
        else:
            style = rng.choice(sorted(styles))
        group = styles[style][0]
        name = f"s{i:05d}"
        path = directory / name / f"{EXERCISE}.py"
        path.parent.mkdir(parents=True)
        path.write_text(f"# {EXERCISE}, student {name} ({kind}: {style})\n{STYLES[group][style]}")
        students.append(Student(name, kind, style, path))
    return students


def by_kind(students: Sequence[Student]) -> str:
    counts = Counter(s.kind for s in students)
    return ", ".join(f"{counts[k]} {k}" for k in KINDS)


# --- memory --------------------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    """root and all its descendants: from the process tree's own children files where the
    kernel keeps them (supervisor.descendants: only the tree's 30 processes read, not every
    process of the machine; a sample, 20 a second, costs 1 ms of CPU instead of 2, taken
    from the runs it measures), else from every /proc/<pid>/stat's ppid."""
    if os.path.exists(f"/proc/{root}/task/{root}/children"):
        return [root, *descendants(root)]
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_rss(root: int, *, include_root: bool = True) -> tuple[int, int]:
    """Summed resident set size in bytes of root's process tree, and how many processes."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = count = 0
    for pid in _tree(root):
        if pid == root and not include_root:
            continue
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        count += 1
    return total, count


class PeakRSS:
    """The largest tree_rss(root) seen, sampled every `interval` seconds by a thread."""

    def __init__(self, root: int, *, include_root: bool = True, interval: float = 0.05) -> None:
        self.root, self.include_root, self.interval = root, include_root, interval
        self.peak = 0
        self.processes = 0  # the most processes seen at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            rss, count = tree_rss(self.root, include_root=self.include_root)
            self.peak, self.processes = max(self.peak, rss), max(self.processes, count)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _load(name: str, path: Path) -> ModuleType:
    """The module at path, imported under name (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


# --- grade batch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    method: str
    submissions: int
    seconds: float
    peak_bytes: int
    processes: int  # the most processes of its tree seen at once
    outcomes: dict[str, Counter[str]]  # kind -> outcome -> count
    #: CPU seconds of every process of the run, where the machine can count them (CpuCount).
    cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.submissions / self.seconds


class CpuCount:
    """The CPU time of a process and all it starts, sandboxes included (whose processes are
    reaped where wait4 cannot see them): a cgroup of the cpuacct hierarchy of its own
    (cgroup v1, as root), which changes no scheduling. Elsewhere nothing is counted.
    Less sensitive than wall time to what else runs on the machine: a run that keeps the
    cores busy takes its CPU time divided by the cores."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self.path: Path | None = self.ROOT / f"bench-batch-{os.getpid()}-{time.monotonic_ns()}"
        try:
            self.path.mkdir()
        except OSError:
            self.path = None

    def join(self) -> None:
        """In the child, before exec."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float | None:
        if self.path is None:
            return None
        used = int((self.path / "cpuacct.usage").read_text()) / 1e9
        for _ in range(50):  # the last processes may still be leaving it
            try:
                self.path.rmdir()
                break
            except OSError:
                time.sleep(0.1)
        return used


def copy_course(work: Path) -> Path:
    """The course's exercises and solutions in a folder of the run's own: a regrade needs
    an exercise that changes, and this repository's must not."""
    course = work / "course"
    for folder in ("exercises", "solutions"):
        shutil.copytree(REPO / folder, course / folder)
    return course


def grade_batch(
    students: Sequence[Student],
    class_dir: Path,
    db: Path,
    jobs: int | None,
    course: Path,
    *,
    method: str | None = None,
    attempts: int = 1,
) -> tuple[Measured, str]:
    command = [sys.executable, "-m", "grader", "batch", EXERCISE, str(class_dir)]
    command += ["--gradebook", str(db)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    count = CpuCount()
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env={**_env(), "GRADER_COURSE": str(course)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=count.join,
    )
    with PeakRSS(proc.pid) as peak:
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"grade batch exited {proc.returncode}\n{out}\n{err}")
    status = check_gradebook(db, students, attempts)
    outcomes = _crosstab(students, status)
    return Measured(
        method or f"grade batch, N={len(students)}",
        len(students),
        seconds,
        peak.peak,
        peak.processes,
        outcomes,
        count.seconds(),
    ), out


def median_run(runs: Sequence[Measured]) -> Measured:
    """The run of median wall time, its method naming how many runs it is the median of."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    middle = ordered[len(ordered) // 2]
    if len(runs) == 1:
        return middle
    spread = f"{ordered[-1].rate:.0f}-{ordered[0].rate:.0f}/s"
    return replace(middle, method=f"{middle.method} (median of {len(runs)}: {spread})")


def check_gradebook(db: Path, students: Sequence[Student], attempts: int = 1) -> dict[str, str]:
    """Exactly `attempts` rows per student, all of ex01, or exit 1; the status of each
    student's newest."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT student, item, status FROM attempts ORDER BY id").fetchall()
    per_student = Counter(student for student, _, _ in rows)
    expected = {s.name for s in students}
    problems = []
    if missing := sorted(expected - per_student.keys()):
        problems.append(f"{len(missing)} students without a row (first: {missing[:5]})")
    if extra := sorted(per_student.keys() - expected):
        problems.append(f"{len(extra)} rows of unknown students (first: {extra[:5]})")
    if twice := sorted(s for s, k in per_student.items() if k != attempts and s in expected):
        problems.append(
            f"{len(twice)} students without exactly {attempts} row(s) (first: {twice[:5]})"
        )
    if items := sorted({item for _, item, _ in rows} - {EXERCISE}):
        problems.append(f"rows of other items: {items}")
    if problems:
        print(f"GRADEBOOK CHECK FAILED ({db}, {len(rows)} rows for {len(expected)} students):")
        for problem in problems:
            print(f"  {problem}")
        sys.exit(1)
    return {student: status for student, _, status in rows}


def _crosstab(students: Sequence[Student], outcome: dict[str, str]) -> dict[str, Counter[str]]:
    table: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    for s in students:
        if s.name in outcome:
            table[s.kind][outcome[s.name]] += 1
    return table


# --- the cases of the baseline and the floor -----------------------------------------------------


@dataclass(frozen=True)
class Case:
    y: np.ndarray[Any, Any]
    p: np.ndarray[Any, Any]
    lo: float  # the accepted values; lo == hi but for predictions of exactly 0 or 1
    hi: float


def load_reference() -> Callable[..., float]:
    """ex01's reference, as exercises/ex01.yaml names it (solutions.bce.binary_cross_entropy),
    loaded from its file in this repository."""
    dotted = load_exercise(REPO / "exercises" / f"{EXERCISE}.yaml").reference
    if dotted is None:
        sys.exit(f"exercises/{EXERCISE}.yaml names no reference")
    module_name, function = dotted.rsplit(".", 1)
    path = REPO.joinpath(*module_name.split(".")).with_suffix(".py")
    reference: Callable[..., float] = getattr(_load(f"bench_ref_{EXERCISE}", path), function)
    return reference


def make_cases(seed: int) -> list[Case]:
    """Inputs like ex01's visible cases, the expected values from its reference."""
    reference = load_reference()
    rng = np.random.default_rng(seed)
    f64, f32, i64 = np.float64, np.float32, np.int64
    fixed: list[tuple[list[float], list[float], Any, Any]] = [
        ([1.0], [0.8], f64, f64),
        ([0.0], [0.1], f64, f64),
        ([1.0], [0.4878441320948962], f64, f64),
        ([0.0], [0.4878441320948962], f64, f64),
        ([1.0, 0.0], [0.8, 0.1], f64, f64),
        ([1, 0, 1, 1, 0, 0], [0.9, 0.3, 0.45, 0.02, 0.6, 0.999], f64, f64),
        ([1, 0, 1, 1, 0], [0.8, 0.1, 0.6, 0.35, 0.45], i64, f64),
        ([1.0], [0.3], f64, f64),
        ([0], [0.35], i64, f64),
        ([1.0], [0.6], f32, f32),
    ]
    clipped = [
        ([1.0, 0.0, 1.0], [1.0, 0.0, 0.7]),
        ([0.0, 1.0], [1.0, 0.6]),
        ([1.0, 0.0], [0.0, 0.4]),
    ]
    fixed += [(y, p, dt, dt) for dt in (f64, f32) for y, p in clipped]
    fixed.append(([1, 0, 1, 0, 1], [1.0, 0.0, 0.0, 1.0, 0.3], i64, f64))
    arrays = [(np.array(y, dtype=ydt), np.array(p, dtype=pdt)) for y, p, ydt, pdt in fixed]
    for size, ydt, pdt in [
        *((int(rng.integers(2, 10_001)), f64, f64) for _ in range(4)),
        *((int(rng.integers(2, 10_001)), i64, f64) for _ in range(2)),
        (int(rng.integers(100, 5_001)), f32, f32),
        (int(rng.integers(100, 5_001)), i64, f32),
        (50_000, f64, f64),
    ]:
        y = rng.integers(0, 2, size=size).astype(ydt)
        arrays.append((y, rng.uniform(0.005, 0.995, size=size).astype(pdt)))
    cases = []
    for y, p in arrays:
        values = [reference(y, p, eps) for eps in (*EPS_RANGE, 1e-7)]
        cases.append(Case(y, p, min(values), max(values)))
    return cases


def accepted(got: Any, lo: float, hi: float) -> bool:
    """What the pytest files assert: np.isclose to the expected value (to either end of
    the range of accepted clipping constants, or inside it)."""
    return bool(
        np.isclose(got, lo, rtol=RTOL, atol=ATOL)
        or np.isclose(got, hi, rtol=RTOL, atol=ATOL)
        or lo <= got <= hi
    )


# --- the baseline: pytest, one run per submission ------------------------------------------------

_PYTEST_FILE = '''\
"""pytest for {student}'s {exercise}.py: written by benchmarks/bench_batch.py."""

import importlib.util

import numpy as np
import pytest

SUBMISSION = {path!r}
CASES = np.load({cases!r})
RTOL, ATOL = {rtol!r}, {atol!r}


@pytest.fixture(scope="module")
def loss():
    spec = importlib.util.spec_from_file_location("submission", SUBMISSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.{function}


@pytest.mark.parametrize("i", range({n_cases}))
def test_case(loss, i):
    lo, hi = CASES["lo"][i], CASES["hi"][i]
    got = loss(CASES[f"y{{i}}"], CASES[f"p{{i}}"])
    assert (
        np.isclose(got, lo, rtol=RTOL, atol=ATOL)
        or np.isclose(got, hi, rtol=RTOL, atol=ATOL)
        or lo <= got <= hi
    )
'''


def _pytest_memory_limit() -> None:
    """In each pytest process: the exercise's memory limit, and room for Python, numpy and
    pytest themselves (about 190 MB of address space), as `ulimit -v` in a course's CI.
    Without it, a submission that broadcasts 50,000 rows into an N x N table asks for 20 GB."""
    limit = MEMORY_BYTES + PYTEST_OWN_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def sample(students: Sequence[Student], k: int) -> list[Student]:
    """k submissions spread over the mix: each kind in proportion (largest remainders), at
    least one of each kind present, evenly spaced within a kind."""
    k = min(k, len(students))
    groups = {kind: [s for s in students if s.kind == kind] for kind in KINDS}
    groups = {kind: group for kind, group in groups.items() if group}
    share = {kind: k * len(group) / len(students) for kind, group in groups.items()}
    take = {kind: max(1, int(x)) for kind, x in share.items()}
    for kind in sorted(share, key=lambda kd: share[kd] - int(share[kd]), reverse=True):
        if sum(take.values()) >= k:
            break
        take[kind] += 1
    while sum(take.values()) > k:  # the minimum of one overshot: take from the largest
        take[max(take, key=lambda kd: take[kd])] -= 1
    chosen = []
    for kind, group in groups.items():
        if not take[kind]:  # a sample smaller than the number of kinds
            continue
        step = len(group) / take[kind]
        chosen += [group[int((j + 0.5) * step)] for j in range(take[kind])]
    return sorted(chosen, key=lambda s: s.name)


def pytest_baseline(
    students: Sequence[Student], cases: Sequence[Case], work: Path, timeout: float
) -> Measured:
    directory = work / "pytest"
    directory.mkdir()
    data = directory / "cases.npz"
    arrays = {"lo": np.array([c.lo for c in cases]), "hi": np.array([c.hi for c in cases])}
    for i, case in enumerate(cases):
        arrays[f"y{i}"], arrays[f"p{i}"] = case.y, case.p
    np.savez(data, **arrays)  # type: ignore[arg-type]
    files = {}
    for s in students:
        files[s.name] = directory / f"test_{s.name}.py"
        files[s.name].write_text(
            _PYTEST_FILE.format(
                student=s.name,
                exercise=EXERCISE,
                path=str(s.path),
                cases=str(data),
                rtol=RTOL,
                atol=ATOL,
                function=FUNCTION,
                n_cases=len(cases),
            )
        )
    env = _env()

    def run(s: Student) -> tuple[str, str]:
        command = [sys.executable, "-m", "pytest", "-q", str(files[s.name])]
        try:
            proc = subprocess.run(
                command,
                cwd=directory,
                env=env,
                capture_output=True,
                timeout=timeout,
                check=False,
                preexec_fn=_pytest_memory_limit,
            )
        except subprocess.TimeoutExpired:
            return s.name, f"timed out ({timeout:g} s)"
        if proc.returncode == 1:  # failures, or errors (a module-scoped fixture that raised)
            last = proc.stdout.decode(errors="replace").strip().rsplit("\n", 1)[-1]
            return s.name, "error" if " error" in last else "failed"
        return s.name, "passed" if proc.returncode == 0 else f"exit {proc.returncode}"

    started = time.perf_counter()
    with (
        PeakRSS(os.getpid(), include_root=False) as peak,
        ThreadPoolExecutor(PYTEST_PARALLEL) as pool,
    ):
        outcome = dict(pool.map(run, students))
    seconds = time.perf_counter() - started
    method = f"pytest per submission, {PYTEST_PARALLEL} at a time (sample)"
    outcomes = _crosstab(students, outcome)
    return Measured(method, len(students), seconds, peak.peak, peak.processes, outcomes)


# --- the floor: in this process, no isolation ----------------------------------------------------


def floor(students: Sequence[Student], cases: Sequence[Case]) -> Measured:
    """The class in this process, the hanging submissions left out, what the others print
    thrown away, and the exercise's memory limit over what this process has mapped: an
    N x N table of 50,000 rows (20 GB) raises MemoryError at once, as in the sandbox,
    instead of filling the machine."""
    runnable = [s for s in students if s.kind != "hanging"]
    outcome = {}
    started = time.perf_counter()
    with (
        PeakRSS(os.getpid()) as peak,
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        _address_space(_mapped_bytes() + MEMORY_BYTES),
    ):
        warnings.simplefilter("ignore")
        for s in runnable:
            outcome[s.name] = _floor_one(s, cases)
    seconds = time.perf_counter() - started
    method = "in-process floor, no isolation"
    outcomes = _crosstab(runnable, outcome)
    return Measured(method, len(runnable), seconds, peak.peak, peak.processes, outcomes)


def _mapped_bytes() -> int:
    """The address space this process maps now (VmSize)."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def _address_space(limit: int) -> Iterator[None]:
    """RLIMIT_AS lowered to `limit` for a while, then restored."""
    saved = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, saved[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, saved)


def _floor_one(s: Student, cases: Sequence[Case]) -> str:
    try:
        loss: Callable[..., Any] = getattr(_load(f"bench_{s.name}", s.path), FUNCTION)
    except Exception:  # SyntaxError, ImportError: the whole submission errs
        return "error"
    failed = False
    for case in cases:
        try:
            ok = accepted(loss(case.y.copy(), case.p.copy()), case.lo, case.hi)
        except Exception:
            ok = False
        failed = failed or not ok
    return "failed" if failed else "passed"


def _loadavg() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine slows every method."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- the report ----------------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f}"


def print_outcomes(m: Measured) -> None:
    print(f"{m.method}: outcome by kind of submission")
    for kind in KINDS:
        if counts := m.outcomes[kind]:
            print(f"  {kind:9} " + ", ".join(f"{o} {c}" for o, c in sorted(counts.items())))


def print_table(rows: Sequence[Measured]) -> None:
    header = (
        "method",
        "submissions",
        "seconds",
        "submissions/s",
        "CPU ms each",
        "peak RSS (MB)",
        "processes",
    )
    cells = [header] + [
        (
            m.method,
            str(m.submissions),
            f"{m.seconds:.1f}",
            f"{m.rate:.1f}",
            f"{1000 * m.cpu / m.submissions:.1f}" if m.cpu is not None else "-",
            _mb(m.peak_bytes),
            str(m.processes),
        )
        for m in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for j, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if j == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="submissions in the class")
    parser.add_argument(
        "--mix",
        choices=sorted(MIXES),
        default="realistic",
        help="realistic: a third wrong, 3%% pathological; mostly-correct: issue 15's class",
    )
    parser.add_argument(
        "--hanging", type=int, default=3, help="mostly-correct mix: how many hang (sleep, loop)"
    )
    parser.add_argument("--seed", type=int, default=15, help="seed of the mix and the cases")
    parser.add_argument("--jobs", type=int, help="passed to grade batch [default: its own]")
    parser.add_argument("--pytest-sample", type=int, default=100)
    parser.add_argument("--pytest-timeout", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="grade batch runs of N (the median is shown)"
    )
    parser.add_argument(
        "--regrade",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="grade the class again after the exercise changes (slowest first)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.n < 4:
        parser.error("--n must be at least 4")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    jobs = args.jobs if args.jobs is not None else "default (all cores)"
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores, "
        f"grade batch --jobs {jobs}, mix {args.mix}, seed {args.seed}; load average "
        f"{_loadavg()}"
    )
    quarter = max(1, args.n // 4)
    small_hanging = max(1, args.hanging // 4)
    small = make_class(work / "class_small", quarter, args.mix, small_hanging, args.seed + 1)
    students = make_class(work / "class", args.n, args.mix, args.hanging, args.seed)
    print(f"class of {len(students)}: {by_kind(students)}")
    styles = Counter(f"{s.kind}/{s.style}" for s in students)
    print("  styles: " + ", ".join(f"{k} {v}" for k, v in sorted(styles.items())))
    print(f"class of {len(small)} (N/4, same shares): {by_kind(small)}")
    print()

    # The small class first: the big one, the headline, then finds the disk caches warm.
    course = copy_course(work)
    exercise = course / "exercises" / f"{EXERCISE}.yaml"
    measured_small, _ = grade_batch(
        small, work / "class_small", work / "small.db", args.jobs, course
    )
    firsts: list[Measured] = []
    regrades: list[Measured] = []
    summary = ""
    for i in range(args.repeat):
        # Each time into a new gradebook, and an exercise changed (a comment is enough):
        # the whole class is graded.
        exercise.write_text(exercise.read_text() + f"\n# run {i} of bench_batch.py\n")
        book = work / f"gradebook-{i}.db"
        first, summary = grade_batch(students, work / "class", book, args.jobs, course)
        firsts.append(first)
        if args.regrade:
            # The exercise changes again: every submission is graded again into the same
            # gradebook, the slowest of the first run first.
            exercise.write_text(exercise.read_text() + "\n# changed by bench_batch.py\n")
            method = f"grade batch, regrade N={len(students)}"
            again, _ = grade_batch(
                students, work / "class", book, args.jobs, course, method=method, attempts=2
            )
            regrades.append(again)
        print(
            f"run {i + 1} of {args.repeat}: {first.rate:.1f}/s"
            + (f", regrade {regrades[-1].rate:.1f}/s" if regrades else "")
            + f"; load average {_loadavg()}"
        )
    measured = median_run(firsts)
    regrade = median_run(regrades) if regrades else None
    print(f"grade batch, N={len(students)}, said:")
    print("\n".join(f"  {line}" for line in summary.splitlines()))
    for m in (measured, measured_small, *([regrade] if regrade else [])):
        statuses = Counter[str]()
        for counts in m.outcomes.values():
            statuses.update(counts)
        print(
            f"gradebook, {m.method}: the rows expected; status "
            + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        )
    print_outcomes(measured)

    cases = make_cases(args.seed)
    chosen = sample(students, args.pytest_sample)
    print(
        f"\npytest: a SAMPLE of {len(chosen)} of the {len(students)} ({by_kind(chosen)}), "
        f"{len(cases)} cases each, timeout {args.pytest_timeout:g} s"
    )
    baseline = pytest_baseline(chosen, cases, work, args.pytest_timeout)
    print_outcomes(baseline)
    timed_out = sum(c for k in baseline.outcomes.values() for o, c in k.items() if "timed" in o)
    rest = baseline.seconds - timed_out * args.pytest_timeout / PYTEST_PARALLEL
    print(
        f"  {timed_out} run(s) killed at the timeout; without them about "
        f"{(baseline.submissions - timed_out) / rest:.1f} submissions/s"
    )

    hanging = sum(s.kind == "hanging" for s in students)
    print(f"\nfloor: {len(cases)} cases in this process; {hanging} hanging submissions skipped")
    bottom = floor(students, cases)
    print_outcomes(bottom)

    print(f"\nload average at the end: {_loadavg()}")
    print()
    rows = [measured, measured_small, *([regrade] if regrade else []), baseline, bottom]
    print_table(rows)
    ratio = measured.rate / baseline.rate
    print(f"\ngrade batch / pytest: {ratio:.1f}x the submissions per second")
    if regrade is not None:
        print(f"regrade / pytest: {regrade.rate / baseline.rate:.1f}x")
    extra = measured.submissions - measured_small.submissions
    if extra > 0 and measured.seconds > measured_small.seconds:
        marginal = extra / (measured.seconds - measured_small.seconds)
        print(
            f"grade batch, marginal rate from N={measured_small.submissions} to "
            f"N={measured.submissions}: {marginal:.1f} submissions/s (fixed costs taken out)"
        )
    print(
        f"peak RSS: {_mb(measured.peak_bytes)} MB at N={measured.submissions}, "
        f"{_mb(measured_small.peak_bytes)} MB at N={measured_small.submissions} "
        "(summed over the process tree, shared pages counted per process)"
    )
    redone = f"{regrade.seconds:.1f} s, {regrade.rate:.1f}/s" if regrade else "-"
    print(
        "\nREADME row (mix | N | grade batch | regrade | peak RSS, N and N/4 | pytest, sample "
        "| ratio | floor):"
    )
    print(
        f"| {args.mix} | {measured.submissions} | {measured.seconds:.1f} s, "
        f"{measured.rate:.1f}/s | {redone} "
        f"| {_mb(measured.peak_bytes)} MB, {_mb(measured_small.peak_bytes)} MB "
        f"| {baseline.rate:.1f}/s ({baseline.submissions} sampled) | {ratio:.1f}x "
        f"| {bottom.rate:.0f}/s |"
    )


if __name__ == "__main__":
    main()
