"""`grade batch`: a class's submissions, graded in parallel into the gradebook.

Submissions are DIR/<student>/<ID>.py (and DIR/<student>.py for one exercise). This
process reads each one, skips those the gradebook already holds with the same submission
and exercise hashes, and sends the rest, as content, in chunks to workers: processes of
its own (`--jobs`) or the workers of a Dask cluster (`--dask`). A worker grades a chunk
the way `grade ID` grades one file, on the warm engine (sandbox/warm.py) where bwrap
works, and sends plain results back; this process, the gradebook's one writer, records
each attempt as soon as its chunk is back. A run killed at any moment and started again
grades what is missing and nothing twice.

The class folder and the gradebook are never handed to a sandbox: a worker writes each
submission's content to a private file, from which the sandbox takes its own copy.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import hashlib
import os
import re
import signal
import stat
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import __version__
from grader.classroom.gradebook import Attempt, Gradebook, file_hash
from grader.course import Course
from grader.errors import GraderError

#: Submissions per task: few enough for a steady progress bar, enough that sending a task
#: (a millisecond with Dask) is small beside grading it.
CHUNK = 8


@dataclass(frozen=True)
class Submission:
    #: The student's name as it is recorded and printed (see visible_name).
    student: str
    item: str
    path: Path


#: What a submission may be, in the order preferred when a student has both.
SUFFIXES = (".py", ".ipynb")


def visible_name(name: str) -> str:
    """A file or folder name as a class run records and prints it: the name itself when it
    is valid UTF-8 without a backslash; otherwise each byte that is not UTF-8 written as
    `\\xNN` and each backslash doubled. A folder b'caf\\xe9' (from a zip made on Windows;
    Python names it with a lone surrogate, which SQLite and strict JSON refuse) is
    `caf\\xe9`, and one really named `caf\\xe9` is `caf\\\\xe9`: two different names
    never record as one student."""
    raw = os.fsencode(name)
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def find_submissions(directory: Path, exercise_id: str, *, flat: bool = True) -> list[Submission]:
    """DIR/<student>/<ID>.py or .ipynb, and with `flat` DIR/<student>.py or .ipynb (the
    student's name from the path); a .py file wins over a notebook of the same student.
    A student's folder that cannot be listed stands for its submission, which then cannot
    be read: its row says why."""
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a directory", fix="Pass the class's folder.")
    found: dict[str, Submission] = {}
    for suffix in SUFFIXES:
        for path in sorted(directory.glob(f"*/{exercise_id}{suffix}")):
            student = visible_name(path.parent.name)
            found.setdefault(student, Submission(student, exercise_id, path))
    try:
        folders = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise GraderError(f"cannot list {directory}: {exc.strerror}") from None
    for folder in folders:
        student = visible_name(folder.name)
        if student not in found and _unlistable(folder):
            found[student] = Submission(student, exercise_id, folder / f"{exercise_id}.py")
    if flat:
        for suffix in SUFFIXES:
            for path in sorted(directory.glob(f"*{suffix}")):
                student = visible_name(path.stem)
                found.setdefault(student, Submission(student, exercise_id, path))
    return sorted(found.values(), key=lambda s: s.student)


def _unlistable(folder: Path) -> bool:
    """A folder (glob passes over those it cannot list, silently) that cannot be listed."""
    try:
        if not folder.is_dir():
            return False
        os.listdir(folder)
    except OSError:
        return True
    return False


def exercise_hash(course: Course, exercise_id: str) -> str:
    """The exercise's YAML and every solutions/ module it names: a change to any of them
    grades the class again."""
    exercise = course.load(exercise_id)
    dotted = [exercise.reference, *(m.implementation for m in exercise.mistakes)]
    modules = sorted({d.rsplit(".", 1)[0] for d in dotted if d})
    paths = [course.root.joinpath(*m.split(".")).with_suffix(".py") for m in modules]
    return file_hash(course.exercise_path(exercise_id), *paths)


def default_seed(ex_hash: str) -> int:
    """One seed for the whole class, the same on every run while the exercise is unchanged:
    every student gets the same cases, and a re-run grades as the first run did."""
    return int(ex_hash[:8], 16) % 10**6


# --- in a worker -----------------------------------------------------------------------------

#: Per worker process: the backend (a warm sandbox lives in it) and prepared exercises.
_WORKER: dict[str, Any] = {}


def _worker_backend(sandbox: str) -> Any:
    key = f"backend:{sandbox}"
    if key not in _WORKER:
        from multiprocessing import util

        from grader.sandbox import get_backend

        # 'auto' is decided where the sandbox runs (a Dask worker may be another machine).
        backend = get_backend(sandbox, many=True)
        _WORKER[key] = backend
        # A pool's worker ends through multiprocessing, which runs these, not atexit.
        util.Finalize(backend, backend.close, exitpriority=10)
    return _WORKER[key]


def grade_chunk(
    course_root: str,
    exercise_id: str,
    seed: int,
    sandbox: str,
    items: Sequence[tuple[str, bytes]],
) -> list[dict[str, Any]]:
    """In a worker (a process of the pool, or of a Dask cluster): grade each (file name,
    content) and return plain results, in order. Never raises for a
    submission: a fault of the grader is that submission's error."""
    from grader.exercise.grading import grade

    course = Course(Path(course_root))
    key = f"prepared:{course_root}:{exercise_id}"
    results = []
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        for name, content in items:
            path = Path(tmp) / name
            try:
                path.write_bytes(content)
                if key not in _WORKER:
                    _WORKER[key] = course.prepare(exercise_id)
                    # Kept for the worker's life: out of the collector's sight.
                    gc.freeze()
                report = grade(
                    exercise_id,
                    path,
                    seed=seed,
                    backend=_worker_backend(sandbox),
                    prepared=_WORKER[key],
                    shrink=False,
                )
                results.append(_plain(report))
            except GraderError as exc:
                results.append({"error": str(exc)})
            except Exception as exc:  # RecursionError, MemoryError...: this file's row, not the run
                results.append({"error": _unexpected(name, exc)})
            finally:
                path.unlink(missing_ok=True)
    return results


def _unexpected(name: str, exc: Exception) -> str:
    """What a student's row says when reading or grading their file failed in a way the
    grader did not foresee (a notebook that makes the reader recurse too deep, say)."""
    try:
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    except Exception:  # an exception that cannot say what it is
        detail = ""
    kind = type(exc).__name__ + (f": {detail}" if detail else "")
    return (
        f"the grader could not read {name} ({kind}); it was not graded. Submit it again "
        "as a plain .py file, or report this to your instructor."
    )


def _plain(report: Any) -> dict[str, Any]:
    status = "passed" if report.passed else ("error" if report.error else "failed")
    return {
        "score": report.score,
        "max_score": report.max_score,
        "status": status,
        "mistakes": [m.id for m in report.diagnosis.mistakes] if report.diagnosis else [],
        "seconds": report.execution_time,
        "cases": [
            {
                "name": t.name,
                "status": t.status.value,
                "score": t.score,
                "seed": report.seed,
                "message": t.message,
            }
            for t in report.tests
        ],
    }


# --- in the batch process --------------------------------------------------------------------


@dataclass
class Summary:
    graded: int = 0
    skipped: int = 0
    errors: int = 0
    #: Scores and the maximum by exercise: a class run of `all` mixes exercises whose
    #: points differ, so each gets its own line.
    scores: dict[str, list[float]] = field(default_factory=dict)
    max_score: dict[str, float] = field(default_factory=dict)
    passed: int = 0
    mistakes: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"graded {self.graded}, skipped {self.skipped} (already in the gradebook)"]
        for item, scores in sorted(self.scores.items()):
            prefix = f"{item}: " if len(self.scores) > 1 else ""
            out.append(
                f"{prefix}mean {statistics.mean(scores):.2f}, median "
                f"{statistics.median(scores):g} of {self.max_score[item]:g}"
            )
        if self.graded:
            rates = f"pass rate {self.passed / self.graded:.0%}; errors {self.errors}"
            if len(self.scores) == 1:
                out[-1] += f"; {rates}"
            else:
                out.append(f"all: {rates}")
        if self.mistakes:
            common = ", ".join(f"{m} ({k})" for m, k in self.mistakes.most_common(5))
            out.append(f"most frequent mistakes: {common}")
        if self.slowest:
            slow = ", ".join(f"{s} {t:.1f} s" for t, s in sorted(self.slowest)[-3:][::-1])
            out.append(f"slowest: {slow}")
        return out


@dataclass(frozen=True)
class _Task:
    """One chunk of one exercise's submissions, with what recording them needs."""

    item: str
    ex_hash: str
    seed: int
    subs: tuple[tuple[Submission, str, bytes], ...]


def _tasks(
    course: Course,
    directory: Path,
    items: Sequence[str],
    book: Gradebook,
    seed: int | None,
    summary: Summary,
) -> list[_Task]:
    flat = len(items) == 1
    tasks = []
    for item in items:
        course.load(item)  # an unknown or broken exercise stops here, before any work
        ex_hash = exercise_hash(course, item)
        todo = []
        run_seed = default_seed(ex_hash) if seed is None else seed
        for sub in find_submissions(directory, item, flat=flat):
            content, refused = _read(sub, directory)
            # The name's bytes: two names that differ only in bytes that are not UTF-8 differ.
            sub_hash = hashlib.sha256(os.fsencode(sub.path.name) + b"\0" + content + b"\0")
            digest = sub_hash.hexdigest()
            if book.has(sub.student, item, digest, ex_hash):
                summary.skipped += 1
            elif refused is not None:
                # Not graded, recorded: the class's row says why, and the run goes on.
                task = _Task(item, ex_hash, run_seed, ((sub, digest, b""),))
                _record(book, summary, task, sub, digest, {"error": refused})
            else:
                todo.append((sub, digest, content))
        for start in range(0, len(todo), CHUNK):
            tasks.append(_Task(item, ex_hash, run_seed, tuple(todo[start : start + CHUNK])))
    return tasks


#: A loss function is a few hundred bytes; more than this is not a submission to load.
MAX_SUBMISSION_BYTES = 1024 * 1024


def _read(sub: Submission, directory: Path) -> tuple[bytes, str | None]:
    """A submission's content, or why it is not graded (its content then stands for it in
    the hash). Never raises: whatever the file is, the student gets a row and the class
    goes on."""
    try:
        return _read_regular(sub.path, directory), None
    except _RefusedError as exc:
        reason = str(exc)
    except OSError as exc:
        reason = f"cannot read {visible_name(sub.path.name)}: {exc.strerror or exc}"
    except Exception as exc:
        reason = _unexpected(visible_name(sub.path.name), exc)
    return reason.encode(), reason


class _RefusedError(Exception):
    """A submission that is not read, and why."""


def _read_regular(path: Path, directory: Path) -> bytes:
    """The bytes of a regular file inside the class folder, and nothing else: a symbolic
    link could point at the course's solutions or at a classmate's file, and a named pipe,
    socket or device would block the run or never end (checked before opening, and again
    on what was opened: it could have been swapped meanwhile)."""
    name = visible_name(path.name)
    if any(p.is_symlink() for p in (path, *path.parents) if directory in p.parents or p == path):
        target = visible_name(os.readlink(path)) if path.is_symlink() else "a linked folder"
        raise _RefusedError(f"{name} is a symbolic link ({target}): submit the file itself")
    _regular(name, os.lstat(path).st_mode)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        _regular(name, info.st_mode)
        if info.st_size > MAX_SUBMISSION_BYTES:
            raise _RefusedError(
                f"{name} is {info.st_size} bytes, more than {MAX_SUBMISSION_BYTES} allowed"
            )
        chunks = []
        left = MAX_SUBMISSION_BYTES + 1  # one byte more: a file that grew meanwhile shows
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise _RefusedError(f"{name} is more than {MAX_SUBMISSION_BYTES} bytes allowed")
    return b"".join(chunks)


#: What a file that is not a regular one is, as a student's row names it.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def _regular(name: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _KINDS if test(mode)), "not a file")
        raise _RefusedError(f"{name} is {kind}, not a regular file: submit the file itself")


def class_items(course: Course, exercise_id: str, directory: Path) -> list[str]:
    """What a run of `exercise_id` ('all': every exercise; quizzes are answered, not
    submitted) grades, each exercise loaded (an unknown or broken one stops here), and the
    class folder checked: all before the gradebook or any other file is made."""
    items = course.exercise_ids() if exercise_id == "all" else [exercise_id]
    for item in items:
        course.load(item)
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a directory", fix="Pass the class's folder.")
    return items


def run_batch(
    course: Course,
    items: Sequence[str],
    directory: Path,
    book: Gradebook,
    *,
    jobs: int | None = None,
    seed: int | None = None,
    sandbox: str = "auto",
    dask: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    summary = Summary()
    local = _forkserver_context() if dask is None else None
    if local is not None:
        _start_forkserver(local)  # it loads the grader while this process reads the folder
    try:
        check_answers(course, items, seed)  # a fault of the course: before anyone is graded
        return _run(course, items, directory, book, jobs, seed, sandbox, dask, progress, summary)
    finally:
        if local is not None:
            _stop_forkserver()


def check_answers(course: Course, items: Sequence[str], seed: int | None) -> None:
    """Each exercise's answers with the run's seed, here, before any submission is read: a
    reference that raises (or is not finite) on the class's inputs is the course's fault,
    a ReferenceSolutionError that stops the run, never an error row against every student."""
    for item in items:
        run_seed = default_seed(exercise_hash(course, item)) if seed is None else seed
        course.prepare(item).graded(run_seed)


def _run(
    course: Course,
    items: Sequence[str],
    directory: Path,
    book: Gradebook,
    jobs: int | None,
    seed: int | None,
    sandbox: str,
    dask: str | None,
    progress: Callable[[int, int], None] | None,
    summary: Summary,
) -> Summary:
    tasks = _tasks(course, directory, items, book, seed, summary)
    if summary.graded + summary.skipped + sum(len(t.subs) for t in tasks) == 0:
        names = ", ".join(f"<student>/{i}.py" for i in items[:3]) + (", ..." if items[3:] else "")
        flat = f" or {directory}/<student>.py" if len(items) == 1 else ""
        names, flat = names + " (or .ipynb)", flat + (" (or .ipynb)" if flat else "")
        raise GraderError(
            f"{directory} holds no submission: looked for {directory}/{names}{flat}",
            fix="Pass the folder that holds one folder (or file) per student.",
        )
    total = sum(len(t.subs) for t in tasks)
    done = 0
    runner = _dask_results if dask else _local_results
    for task, results in runner(course, tasks, sandbox, jobs, dask):
        for (sub, digest, _), result in zip(task.subs, results, strict=True):
            _record(book, summary, task, sub, digest, result)
        done += len(task.subs)
        if progress is not None:
            progress(done, total)
    return summary


def _args(course: Course, task: _Task, sandbox: str) -> tuple[Any, ...]:
    items = [(_worker_name(s.path.name), content) for s, _, content in task.subs]
    return (str(course.root), task.item, task.seed, sandbox, items)


def _worker_name(name: str) -> str:
    """The name a worker writes a submission under, and its report cites: the visible
    name, cut where a file system would refuse it (its escapes make it up to four times
    longer than the name it stands for)."""
    shown = visible_name(name)
    if len(shown.encode()) <= 255:
        return shown
    suffix = Path(shown).suffix
    return shown.encode()[: 240 - len(suffix)].decode("utf-8", "ignore") + "..." + suffix


def _local_results(
    course: Course, tasks: Sequence[_Task], sandbox: str, jobs: int | None, _: str | None
) -> Iterator[tuple[_Task, list[dict[str, Any]]]]:
    """A pool of worker processes, a few chunks ahead of the results. Workers never are
    forks of this process, which holds the gradebook's connection: they are forked from a
    fresh server process that has loaded the grader and numpy once ('forkserver'; each
    'spawn' worker loaded them itself: 0.3 s of CPU each), or spawned where there is none."""
    import multiprocessing

    # A worker waits for its sandbox's child about half the time (and a hanging submission
    # holds one without using a core): two per core keep the cores busy (measured, 2 cores:
    # 1,000 submissions in 13 s with 4 workers, 17 s with 2, 27 s with 8).
    workers = jobs or 2 * (os.cpu_count() or 1)
    context = _forkserver_context() or multiprocessing.get_context("spawn")
    _sweep_dead_runs()
    token = str(os.getpid())
    run_dir = Path(tempfile.mkdtemp(prefix=f"grader-run-{token}-"))
    try:
        yield from _pool_results(course, tasks, sandbox, workers, context, run_dir, token)
    finally:
        _remove_run(run_dir, token)


#: What the workers' server loads before it forks them; and what must be in its
#: environment before numpy loads (one BLAS thread: the workers already fill every core,
#: and an idle OpenBLAS thread spins after each call, 8 % of a worker's time).
_PRELOAD = ["grader.classroom.batch", "grader.exercise.grading", "grader.sandbox.warm", "numpy"]
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _forkserver_context() -> Any:
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("forkserver")


def _start_forkserver(context: Any) -> None:
    """Start the workers' server with its own environment, leaving this one's as it was."""
    from multiprocessing import forkserver

    context.set_forkserver_preload(_PRELOAD)
    # The server imports this module first, and so learns whose death must end it.
    environment = {**_ONE_THREAD, _PARENT_ENV: str(os.getpid())}
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _stop_forkserver() -> None:
    """End the workers' server with the run (a library caller's process lives on)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        with contextlib.suppress(OSError, ChildProcessError):
            stop()


def _pool_results(
    course: Course,
    tasks: Sequence[_Task],
    sandbox: str,
    workers: int,
    context: Any,
    run_dir: Path,
    token: str,
) -> Iterator[tuple[_Task, list[dict[str, Any]]]]:
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(str(run_dir), token, _workers_parent(context)),
    ) as pool:
        queue = iter(tasks)
        pending: dict[Future[list[dict[str, Any]]], _Task] = {}

        def feed() -> None:
            for task in queue:
                pending[pool.submit(grade_chunk, *_args(course, task, sandbox))] = task
                if len(pending) >= workers * 2:
                    return

        feed()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise GraderError(
                        "a worker process of the batch stopped (killed from outside, or out "
                        "of memory); every submission graded before it is in the gradebook",
                        fix="Run the same command again: it grades only what is missing. "
                        "A script that calls run_batch must do so under "
                        "`if __name__ == '__main__':` (worker processes import it).",
                    ) from None
                yield pending.pop(future), result
            feed()


def _dask_results(
    course: Course, tasks: Sequence[_Task], sandbox: str, _: int | None, address: str | None
) -> Iterator[tuple[_Task, list[dict[str, Any]]]]:
    """Chunks sent to an existing Dask cluster; every task is new to it (pure=False), so a
    re-grade of identical content is graded again rather than taken from its cache."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise GraderError(
            "--dask needs the distributed package", fix="pip install 'grader[dask]'."
        ) from None
    try:
        client = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise GraderError(
            f"cannot reach the Dask scheduler at {address}: {exc}",
            fix="Check the address (tcp://HOST:8786) and that the scheduler is running.",
        ) from None
    with client:
        try:
            futures = {
                client.submit(grade_chunk, *_args(course, task, sandbox), pure=False): task
                for task in tasks
            }
            for future in as_completed(futures):  # type: ignore[no-untyped-call]
                yield futures[future], future.result()
        finally:
            client.run(close_worker)


def _record(
    book: Gradebook,
    summary: Summary,
    task: _Task,
    sub: Submission,
    digest: str,
    result: dict[str, Any],
) -> None:
    if "error" in result:
        result = {"score": 0.0, "max_score": 0.0, "status": "error", "mistakes": [],
                  "seconds": 0.0, "cases": [{"error": result["error"]}]}  # fmt: skip
    attempt = Attempt(
        student=sub.student,
        item=task.item,
        submission_hash=digest,
        exercise_hash=task.ex_hash,
        score=float(result["score"]),
        max_score=float(result["max_score"]),
        status=result["status"],
        mistakes=result["mistakes"],
        grader_version=__version__,
        graded_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        seconds=float(result["seconds"]),
        cases=result["cases"],
    )
    book.record(attempt)
    summary.graded += 1
    summary.scores.setdefault(task.item, []).append(attempt.score)
    summary.max_score[task.item] = max(summary.max_score.get(task.item, 0.0), attempt.max_score)
    summary.passed += attempt.status == "passed"
    summary.errors += attempt.status == "error"
    summary.mistakes.update(attempt.mistakes)
    summary.slowest.append((attempt.seconds, sub.student))


def close_worker() -> None:
    """End this worker's sandboxes and remove their files (a Dask worker, after a run)."""
    for key in [k for k in _WORKER if k.startswith("backend:")]:
        _WORKER.pop(key).close()
    _WORKER.clear()


def _init_worker(run_dir: str, token: str, parent: int | None) -> None:
    """A pool worker keeps every file and cgroup under names of this run, which the batch
    process removes at the end whatever happened to the worker; and it ends with its
    parent (the forkserver, which ends with the batch process)."""
    from grader.sandbox import cgroup

    _die_with_parent(parent)
    tempfile.tempdir = run_dir
    cgroup.set_run(token)
    os.environ.update(_ONE_THREAD)  # a spawned worker: numpy is not loaded yet


def _workers_parent(context: Any) -> int | None:
    """The pid of the process that starts the pool's workers: the forkserver, or this one."""
    if context.get_start_method() != "forkserver":
        return os.getpid()
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


# --- nothing outlives a batch ----------------------------------------------------------------
#
# A batch killed with SIGKILL cannot end what it started, and its processes would not end
# by themselves: every worker holds the write end of the forkserver's "alive" pipe (so the
# forkserver never sees its batch go), a busy worker never reads its empty task queue, and
# the resource tracker waits for all of them. So each ends with its parent, by Linux's
# parent-death signal, down the chain: the forkserver with the batch process, each worker
# with the forkserver, each sandbox with its worker (bwrap's --die-with-parent; the process
# backend's child sets it itself), and the resource tracker once none of them holds its
# pipe. The signal follows the thread that started a process: the batch's thread that runs
# run_batch, the forkserver's only thread, a worker's main thread; each lives as long as
# what it started must. What an older version left, or anything the signal missed, the
# next run ends (_end_orphans).

#: In the environment of the batch's forkserver only: the batch process's pid, read (and
#: dropped) when the forkserver imports this module, the first it preloads.
_PARENT_ENV = "GRADER_BATCH_PARENT"
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int | None) -> None:
    """SIGKILL this process when its parent dies, and end it now if the parent `parent`
    died before this could be set (it has been reparented). Linux only; elsewhere the
    next run's sweep is what ends a killed run's processes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _sweep_dead_runs() -> None:
    """Remove what runs killed with SIGKILL left (their directory; cgroups named after
    them; processes): only those whose process is gone, so never anything of a run going
    on beside."""
    from grader.sandbox import cgroup

    _end_orphans()
    for path in Path(tempfile.gettempdir()).glob("grader-run-*-*"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            _remove_run(path, pid)
    cgroup.remove_dead_runs(_alive)


#: A batch's forkserver (and its workers, forked from it) as /proc shows its command line:
#: the descriptors of its listener and of its "alive" pipe, then what it preloads.
#: Both names this module has had (grader.batch before the package layout): an older version's
#: leftovers are ended too.
_FORKSERVER = re.compile(
    rb"from multiprocessing\.forkserver import main; main\((\d+), (\d+), "
    rb"\[[^\]]*'grader\.(?:classroom\.)?batch'"
)


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    started: int  # clock ticks after boot: with the pid, names one process for good
    uid: int
    cmdline: bytes


def _end_orphans() -> list[int]:
    """End every batch forkserver whose batch is gone, and every process under it (its
    workers, their sandboxes): what a batch killed before it could end them left, whatever
    version it was. A forkserver's batch, its parent, holds the write end of its "alive"
    pipe for as long as the batch lives; a forkserver whose parent does not (it was
    reparented: its batch died) is an orphan. A forkserver of a run going on beside, and
    that run's workers (the forkserver's children: judged by it), are never touched. Only
    this user's forkservers in this PID namespace are looked at. The pids ended."""
    procs = _processes()
    uid = os.getuid()
    ended = []
    for proc in procs.values():
        match = _FORKSERVER.search(proc.cmdline)
        if match is None or proc.uid != uid or proc.ppid == 0:
            continue  # not a forkserver of ours (ppid 0: started from outside this namespace)
        parent = procs.get(proc.ppid)
        if parent is not None and parent.cmdline == proc.cmdline:
            continue  # a worker: judged by its forkserver
        pipe = _fd_target(proc.pid, int(match[2]))
        if pipe is None or not pipe.startswith("pipe:"):
            continue  # gone meanwhile, or not as a forkserver is: left alone
        if pipe in _fd_targets(proc.ppid):  # (another user's init, say: none readable)
            continue  # its batch is alive
        for pid in _tree(procs, proc.pid):
            if _kill(procs[pid]):
                ended.append(pid)
    return ended


def _processes() -> dict[int, _Proc]:
    """The living processes of this PID namespace that /proc shows us."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return {}
    found = {}
    for entry in entries:
        try:
            uid = os.stat(f"/proc/{entry}").st_uid
            if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                continue
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if fields[0] in (b"Z", b"X"):
            continue  # dead already, only not reaped
        found[int(entry)] = _Proc(int(entry), int(fields[1]), int(fields[19]), uid, cmdline)
    return found


def _fd_target(pid: int, fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def _fd_targets(pid: int) -> set[str]:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    return {t for fd in fds if fd.isdigit() and (t := _fd_target(pid, int(fd))) is not None}


def _tree(procs: dict[int, _Proc], root: int) -> list[int]:
    """root and every process under it, parents first."""
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    order, index = [root], 0
    while index < len(order):
        order += children.get(order[index], [])
        index += 1
    return order


def _kill(proc: _Proc) -> bool:
    """SIGKILL the process `proc` names, if it is still that process (not a new one that
    took its pid meanwhile): through a pidfd, which cannot come to name another."""
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:
        return False
    try:
        with open(f"/proc/{proc.pid}/stat", "rb") as handle:
            started = int(handle.read().rsplit(b")", 1)[1].split()[19])
        if started != proc.started:
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_run(run_dir: Path, token: str) -> None:
    """What this run's workers may have left (one killed mid-run cannot clean up): its
    directory and its cgroups, tried again while they are still being let go of."""
    from grader.sandbox import cgroup
    from grader.sandbox.warm import remove_tree

    cgroup.remove_run(token)
    remove_tree(run_dir)


# A batch's forkserver, importing this before it forks any worker: it ends with the batch.
_batch_pid = os.environ.pop(_PARENT_ENV, "")
if _batch_pid.isdigit() and "multiprocessing.forkserver" in sys.modules:
    _die_with_parent(int(_batch_pid))
