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
import math
import os
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import ONE_THREAD_ENV, __version__
from grader.classroom.exports import class_list
from grader.classroom.gradebook import (
    Attempt,
    Gradebook,
    default_seed,
    exercise_hash,
    graded_key,
)
from grader.classroom.lifeline import PARENT_ENV, die_with_parent, remove_run, sweep_dead_runs
from grader.classroom.result import outcome, refused
from grader.classroom.schedule import SLOW_SECONDS, Todo, chunks
from grader.classroom.statistics import class_stats
from grader.classroom.submissions import (
    SUFFIXES,
    Submission,
    find_submissions,
    left_out,
    read_submission,
    unexpected,
    visible_name,
)
from grader.classroom.summary import Summary
from grader.course import Course
from grader.errors import GraderError, SubmissionFileError
from grader.results import Outcome, Roster


def folder_key(directory: Path) -> str:
    """The class folder as the gradebook records it: its full path, as names are recorded
    (visible_name: bytes that are not UTF-8 escaped, which SQLite could not store)."""
    return visible_name(str(directory.resolve()))


def run_seed(ex_hash: str, seed: int | None) -> int:
    """The seed a run grades with: the one asked for, else the exercise's own."""
    return default_seed(ex_hash) if seed is None else seed


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
) -> list[Outcome]:
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
            points = 0.0
            try:
                path.write_bytes(content)
                if key not in _WORKER:
                    _WORKER[key] = course.prepare(exercise_id)
                    # Kept for the worker's life: out of the collector's sight.
                    gc.freeze()
                points = float(_WORKER[key].exercise.points)
                report = grade(
                    exercise_id,
                    path,
                    seed=seed,
                    backend=_worker_backend(sandbox),
                    prepared=_WORKER[key],
                    shrink=False,
                )
                results.append(outcome(report))
            except SubmissionFileError as exc:  # a notebook that is not one: the student's
                results.append(refused(exc.what, points, file=name))
            except GraderError as exc:
                results.append(refused(str(exc), points))
            except Exception as exc:  # RecursionError, MemoryError...: this file's row, not the run
                results.append(refused(unexpected(name, exc), points))
            finally:
                path.unlink(missing_ok=True)
    return results


# --- in the batch process --------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    """One chunk of one exercise's submissions, with what recording them needs."""

    item: str
    ex_hash: str
    seed: int
    subs: tuple[Todo, ...]
    #: How long grading it is expected to take (see schedule.expected_seconds).
    seconds: float = 0.0


def _tasks(
    course: Course,
    directory: Path,
    items: Sequence[str],
    book: Gradebook,
    seed: int | None,
    summary: Summary,
    run: int,
) -> list[_Task]:
    """The chunks still to grade; and, for each item, what this run found for every
    student (what the class's grade is then taken from: the file that is there)."""
    flat = len(items) == 1
    summary.left_out = tuple(left_out(directory, items, flat=flat))
    tasks = []
    for item in items:
        # An unknown or broken exercise stops here, before any work.
        points = float(course.load(item).points)
        # What an attempt is graded against: the exercise, and a seed asked for (the cases
        # it draws are others than the exercise's own seed's, so everyone is graded again).
        own = exercise_hash(course, item)
        ex_hash = graded_key(own, seed)
        todo = []
        item_seed = run_seed(own, seed)
        found: list[tuple[str, str | None]] = []
        for sub in find_submissions(directory, item, flat=flat):
            content, reason = read_submission(sub, directory)
            # The name's bytes: two names that differ only in bytes that are not UTF-8 differ.
            sub_hash = hashlib.sha256(os.fsencode(sub.path.name) + b"\0" + content + b"\0")
            digest = sub_hash.hexdigest()
            found.append((sub.student, digest))
            if book.has(sub.student, item, digest, ex_hash):
                summary.skipped += 1
            elif reason is not None:
                # Not graded, recorded: the class's row says why, and the run goes on.
                task = _Task(item, ex_hash, item_seed, ((sub, digest, b""),))
                result = refused(reason, points, file=visible_name(sub.path.name))
                book.record(_attempt(task, sub, digest, result))
                summary.graded += 1
            else:
                todo.append((sub, digest, content))
        book.record_found(run, item, found, ex_hash, folder_key(directory))
        for seconds, chunk in chunks(todo, book.previous_seconds(item)):
            tasks.append(_Task(item, ex_hash, item_seed, chunk, seconds))
    # The slowest first (a stable sort: a class graded for the first time keeps its order).
    return sorted(tasks, key=lambda task: -task.seconds)


def class_items(course: Course, exercise_id: str, directory: Path) -> list[str]:
    """What a run of `exercise_id` ('all': every exercise; quizzes are answered, not
    submitted) grades, each exercise loaded (an unknown or broken one stops here), and the
    class folder checked: all before the gradebook or any other file is made."""
    if exercise_id != "all" and course.is_quiz(exercise_id):
        exercises = ", ".join(course.exercise_ids()) or "none"
        raise GraderError(
            f"{exercise_id} is a quiz: each student answers it with 'grade {exercise_id}', "
            "and grade batch grades exercises handed in as files",
            fix=f"Pass an exercise ({exercises}) or 'all'.",
        )
    items = course.exercise_ids() if exercise_id == "all" else [exercise_id]
    for item in items:
        course.load(item)
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a directory", fix="Pass the class's folder.")
    names = {p.name.casefold(): p.name for p in directory.iterdir()}
    for item in items:
        for suffix in SUFFIXES:
            held = names.get(f"{item}{suffix}".casefold())
            if held is not None:
                # One student's folder, most likely: graded as a class it would be a student
                # named after the exercise, and every other student would count as gone.
                raise GraderError(
                    f"{directory} holds {held} itself: it looks like one student's "
                    "folder, not the class's",
                    fix="Pass the folder that holds one folder (or file) per student; to "
                    f"grade one file, run 'grade {item} --file {directory / held}'.",
                )
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
    roster: Roster | None = None,
) -> Summary:
    """Grade every submission in `directory` not graded before into `book`; the summary
    describes the class afterwards (with the roster's students who handed in nothing)."""
    summary = Summary()
    local = _forkserver_context() if dask is None else None
    if local is not None:
        # It loads the grader and prepares the exercises while this process reads the folder.
        _start_forkserver(local, _ahead(course, items, seed))
    try:
        check_answers(course, items, seed)  # a fault of the course: before anyone is graded
        _run(course, items, directory, book, jobs, seed, sandbox, dask, progress, summary)
    finally:
        if local is not None:
            _stop_forkserver()
    # The class, not the run: every student's grade for the file this run found.
    listed, described = class_list(book, course, items, roster)
    summary.stats = class_stats(list(listed.rows.values()), described.titles)
    summary.unknown = listed.unknown
    outside = set(listed.unknown)
    for (student, item), row in listed.rows.items():
        if student in outside and row["status"] not in ("missing", "pending"):
            summary.unknown_by_item[item] = summary.unknown_by_item.get(item, 0) + 1
    # Students whose grade comes from another folder's latest run than this one's (late/,
    # or the class folder under an earlier name): counted, but not in this folder.
    here = folder_key(directory)
    summary.elsewhere = tuple(
        sorted(
            {
                (student, Path(folder).name)
                for (student, item), folder in book.sources.items()
                if folder is not None and folder != here and item in items
            }
        )
    )
    return summary


def check_answers(course: Course, items: Sequence[str], seed: int | None) -> None:
    """Each exercise's answers with the run's seed, here, before any submission is read: a
    reference that raises (or is not finite) on the class's inputs is the course's fault,
    a ReferenceSolutionError that stops the run, never an error row against every student."""
    for item in items:
        course.prepare(item).graded(run_seed(exercise_hash(course, item), seed))


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
) -> None:
    tasks = _tasks(course, directory, items, book, seed, summary, book.next_run())
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
        pairs = zip(task.subs, results, strict=True)
        book.record(*(_attempt(task, sub, digest, result) for (sub, digest, _), result in pairs))
        summary.graded += len(task.subs)
        done += len(task.subs)
        if progress is not None:
            progress(done, total)


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


def default_workers(cores: int) -> int:
    """Two and a half workers per core (rounded up). A worker waits for its sandbox's child
    more than half the time (and lets a call's events gather: sandbox/supervisor.py), so
    fewer leave the cores idle and more only switch between them: measured on 2 cores, the
    realistic class of benchmarks/bench_batch.py took 12.2 s with 3 workers, 10.2 s with
    4, 9.6 s with 5 (better in 9 pairs of 10 against 4) and 10.0 s with 6; earlier, 1,000
    submissions took 17 s with 2 workers and 27 s with 8. A worker waiting for a hanging
    submission is made up for apart (see _pool_results)."""
    return (5 * cores + 1) // 2


def _local_results(
    course: Course, tasks: Sequence[_Task], sandbox: str, jobs: int | None, _: str | None
) -> Iterator[tuple[_Task, list[Outcome]]]:
    """A pool of worker processes (see _pool_results). Workers never are forks of this
    process, which holds the gradebook's connection: they are forked from a fresh server
    process that has loaded the grader and numpy once ('forkserver'; each 'spawn' worker
    loaded them itself: 0.3 s of CPU each), or spawned where there is none."""
    import multiprocessing

    workers = jobs or default_workers(os.cpu_count() or 1)
    context = _forkserver_context() or multiprocessing.get_context("spawn")
    sweep_dead_runs()
    token = str(os.getpid())
    run_dir = Path(tempfile.mkdtemp(prefix=f"grader-run-{token}-"))
    # Passable, not listable (as each session's own folder in it): where the process
    # backend gives a child a uid of its own, the child must reach its session's files.
    run_dir.chmod(0o711)
    try:
        yield from _pool_results(course, tasks, sandbox, workers, context, run_dir, token)
    finally:
        remove_run(run_dir, token)


#: What the workers' server loads before it forks them (with ONE_THREAD_ENV in its
#: environment before numpy loads: an idle OpenBLAS thread spins after each call, 8 % of
#: a worker's time).
_PRELOAD = ["grader.classroom.batch", "grader.exercise.grading", "grader.sandbox.warm", "numpy"]


def _forkserver_context() -> Any:
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("forkserver")


def _start_forkserver(context: Any, ahead: str | None = None) -> None:
    """Start the workers' server with its own environment, leaving this one's as it was;
    `ahead`: what it prepares before it forks any worker (see _prepare_ahead)."""
    from multiprocessing import forkserver

    context.set_forkserver_preload(_PRELOAD)
    # The server imports this module first, and so learns whose death must end it.
    environment = {**ONE_THREAD_ENV, PARENT_ENV: str(os.getpid())}
    if ahead is not None:
        environment[PREPARE_ENV] = ahead
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
) -> Iterator[tuple[_Task, list[Outcome]]]:
    """`workers` chunks graded at once, and spare workers: one for each worker that waits
    for a submission that hangs (its child yields the cores: sandbox/supervisor.py; the
    worker tells this process through `waiting`, a counter they share), and the places of
    the chunks that hung last time or may hang. The pool starts a worker process when a
    chunk finds none idle, so there are never more than workers + spares, whatever the
    size of the class; a chunk is sent as soon as one finishes, before its results are
    recorded."""
    # Slowest first (see _tasks), each in a spare worker (a chunk that ran into time limits
    # last time, or may hang, mostly waits, its child yielding the cores), while the
    # `workers` others go on with the rest. As many spares as the slow ones need to end
    # with the rest (at most one per worker), and half as many as the workers for those
    # found waiting. (Started in the workers' own places, slow chunks left one or two of
    # them for the whole class.)
    slow = deque(t for t in tasks if t.seconds >= SLOW_SECONDS)
    fast = deque(t for t in tasks if t.seconds < SLOW_SECONDS)
    rest = sum(t.seconds for t in fast) / workers
    needed = math.ceil(sum(t.seconds for t in slow) / rest) if rest > 0 else len(slow)
    spares = max(1, workers // 2, min(workers, needed))
    waiting = context.Value("i", 0)
    with ProcessPoolExecutor(
        max_workers=workers + spares,
        mp_context=context,
        initializer=_init_worker,
        initargs=(str(run_dir), token, _workers_parent(context), waiting),
    ) as pool:
        pending: dict[Future[list[Outcome]], _Task] = {}

        def feed() -> None:
            while True:
                running = sum(t.seconds >= SLOW_SECONDS for t in pending.values())
                # The spare workers: those a slow chunk holds, else as many as wait.
                room = workers + max(running, min(spares, max(0, waiting.value)))
                if slow and (running < spares or (not fast and len(pending) < room)):
                    task = slow.popleft()
                elif fast and len(pending) < room:
                    task = fast.popleft()
                else:
                    return
                pending[pool.submit(grade_chunk, *_args(course, task, sandbox))] = task

        try:
            feed()
            while pending:
                # Woken now and then without a result: a worker may have started to wait.
                finished, _ = wait(pending, timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
                done = [(future, pending.pop(future)) for future in finished]
                feed()
                for future, task in done:
                    yield task, future.result()
        except BrokenProcessPool:
            raise GraderError(
                "a worker process of the batch stopped (killed from outside, or out "
                "of memory); every submission graded before it is in the gradebook",
                fix="Run the same command again: it grades only what is missing. "
                "A script that calls run_batch must do so under "
                "`if __name__ == '__main__':` (worker processes import it).",
            ) from None


#: How often the batch process looks whether a worker waits for a hanging submission.
WAKE_SECONDS = 0.05


def _dask_results(
    course: Course, tasks: Sequence[_Task], sandbox: str, _: int | None, address: str | None
) -> Iterator[tuple[_Task, list[Outcome]]]:
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


def _attempt(task: _Task, sub: Submission, digest: str, result: Outcome) -> Attempt:
    return Attempt(
        student=sub.student,
        item=task.item,
        submission_hash=digest,
        exercise_hash=task.ex_hash,
        outcome=result,
        grader_version=__version__,
        graded_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def close_worker() -> None:
    """End this worker's sandboxes and remove their files (a Dask worker, after a run)."""
    for key in [k for k in _WORKER if k.startswith("backend:")]:
        _WORKER.pop(key).close()
    _WORKER.clear()


def _init_worker(run_dir: str, token: str, parent: int | None, waiting: Any) -> None:
    """A pool worker keeps every file and cgroup under names of this run, which the batch
    process removes at the end whatever happened to the worker; it ends with its parent
    (the forkserver, which ends with the batch process); and it counts itself in `waiting`
    while its sandbox's child yields the cores (see _pool_results)."""
    from grader.sandbox import cgroup, supervisor

    die_with_parent(parent)
    # Ctrl-C is the batch process's to handle (it stops the pool and says how to go on);
    # a worker in the same foreground group would print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tempfile.tempdir = run_dir
    cgroup.set_run(token)
    os.environ.update(ONE_THREAD_ENV)  # a spawned worker: numpy is not loaded yet

    def count(yielding: bool) -> None:
        with waiting.get_lock():
            waiting.value += 1 if yielding else -1

    supervisor.on_yield = count


def _workers_parent(context: Any) -> int | None:
    """The pid of the process that starts the pool's workers: the forkserver, or this one."""
    if context.get_start_method() != "forkserver":
        return os.getpid()
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


# --- prepared once, before any worker --------------------------------------------------------

#: In the environment of the batch's forkserver only: what it prepares before it forks any
#: worker (JSON: the course's root, and each exercise with the run's seed).
PREPARE_ENV = "GRADER_BATCH_PREPARE"


def _ahead(course: Course, items: Sequence[str], seed: int | None) -> str | None:
    """What the forkserver is to prepare for this run (None: nothing, the workers will)."""
    import json

    try:
        seeds = [(item, run_seed(exercise_hash(course, item), seed)) for item in items]
    except GraderError:
        return None  # check_answers says what is wrong with the course
    return json.dumps({"course": str(course.root), "items": seeds})


def _prepare_ahead(wanted: str) -> None:
    """In the forkserver: each exercise prepared as a worker prepares it (grade_chunk), its
    cases, answers and known mistakes' answers worked out for the run's seed, where every
    worker forked afterwards finds them: a worker costs its sandbox only (a worker
    prepared them itself: 0.25 s of CPU each, and a batch starts one more for every
    submission that hangs). Best effort: a fault is left for the workers to meet, and the
    batch process has met it first (check_answers)."""
    import json

    # Ctrl-C during this preparation is the batch process's, as in the workers.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        spec = json.loads(wanted)
        course = Course(Path(spec["course"]))
        for item, seed in spec["items"]:
            prepared = course.prepare(item)
            cases, _ = prepared.graded(seed)
            prepared.mistake_forms(cases, seed)
            _WORKER[f"prepared:{spec['course']}:{item}"] = prepared
    except Exception:  # the workers prepare what is missing, and meet the fault
        return
    finally:
        signal.signal(signal.SIGINT, previous)
    gc.freeze()  # kept for the workers' lives: out of the collector's sight


_wanted = os.environ.pop(PREPARE_ENV, "")
if _wanted and "multiprocessing.forkserver" in sys.modules:
    _prepare_ahead(_wanted)
