"""The order of a batch's work (classroom/batch.py): its submissions in chunks, each with the
seconds it is expected to take, the slowest first, so that a slow submission neither forms
the run's tail nor holds up those that would have shared its chunk."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from grader.classroom.submissions import Submission
from grader.exercise.prepare import CALL_FLOOR_SECONDS
from grader.sandbox.events import HANGING_CALLS

#: A submission to grade: the file, its digest, its content.
Todo = tuple[Submission, str, bytes]
#: Submissions per task: few enough for a steady progress bar, enough that sending a task
#: (a millisecond with Dask) is small beside grading it.
CHUNK = 8
#: Chunks shrink once fewer than TAIL_SHRINK * CHUNK submissions are left (see chunks).
TAIL_SHRINK = 8
#: A chunk expected to take this long (a call's time floor) ran into a time limit last
#: time, or may hang: it waits far more than it computes, and goes to a spare worker.
SLOW_SECONDS = CALL_FLOOR_SECONDS
#: What a submission takes in a worker when the gradebook knows nothing of the class yet
#: (a first run): measured, 0.03 s for correct, wrong and erroring ones alike (5 workers
#: on 2 cores, benchmarks/bench_batch.py's realistic class).
FIRST_SECONDS = 0.03
#: What a submission that hangs takes: calls in a row run out of time, each after the
#: floor of its limit, before its session stops (sandbox/events.py).
HANG_SECONDS = HANGING_CALLS * CALL_FLOOR_SECONDS
#: What may hang, read from a submission's text: a `while` statement (at a line's start,
#: or a JSON string's or after its escaped newline: a notebook's source), or a sleep not in
#: a comment. A guess that only orders the work: missed, the submission hangs where the
#: run meets it (in a class of 400 with four hanging submissions met late, they made the
#: last 1.5-2 s of a 6 s run); found where nothing hangs, it costs a chunk of one in a
#: spare worker, which a few can afford and a class cannot (see MAY_HANG_SHARE). No two
#: quantifiers that take the same characters side by side: a line of a million spaces is
#: read once, not a million times.
MAY_HANG = re.compile(rb'(?:^|\\n|")[ \t]*while\b|^[^#\n]*\bsleep[ \t]*\(', re.MULTILINE)
#: Where the guess looks: a submission is a few KB, and reading a whole MB
#: (submissions.MAX_SUBMISSION_BYTES) would take the batch process 50 ms.
GUESS_BYTES = 64 * 1024
#: More than this share of the new submissions (or CHUNK, in a small class) with what
#: may hang, and the guess says nothing: an exercise where many write `while` loops. 300
#: quick `while` loops in the realistic class of 1,000, each guessed, took it from
#: 10.9-13.3 s to 12.4-14.0 s (10 processes busy on 2 cores instead of 5).
MAY_HANG_SHARE = 0.1


def expected_seconds(todo: Sequence[Todo], previous: Mapping[str, float]) -> list[float]:
    """What each submission is expected to take: what the student's newest attempt took;
    a student new to the gradebook, the median of the others (none: FIRST_SECONDS), or
    HANG_SECONDS where the text has what may hang (and few of the others have)."""
    known = sorted(previous[sub.student] for sub, _, _ in todo if sub.student in previous)
    typical = known[len(known) // 2] if known else FIRST_SECONDS
    guessed = [
        sub.student not in previous and MAY_HANG.search(content, 0, GUESS_BYTES) is not None
        for sub, _, content in todo
    ]
    if sum(guessed) > max(CHUNK, MAY_HANG_SHARE * (len(todo) - len(known))):
        guessed = [False] * len(todo)
    return [
        previous.get(sub.student, max(typical, HANG_SECONDS) if hangs else typical)
        for (sub, _, _), hangs in zip(todo, guessed, strict=True)
    ]


def chunks(
    todo: Sequence[Todo], previous: Mapping[str, float]
) -> list[tuple[float, tuple[Todo, ...]]]:
    """The submissions in chunks, each with the seconds it is expected to take (see
    expected_seconds). The slowest come first, and a chunk holds at most CHUNK submissions
    (fewer near the end) and at most the time of CHUNK typical ones: a submission that hung
    or looped last time, or may hang, is a chunk of its own, started before the rest."""
    expected = expected_seconds(todo, previous)
    ordered = sorted(expected)
    # CHUNK typical ones, with room for rounding: eight times 0.03 s is a chunk, not seven.
    room = CHUNK * ordered[len(ordered) // 2] * (1 + 1e-9) if ordered else 0.0
    order = sorted(range(len(todo)), key=lambda i: -expected[i])
    made: list[tuple[float, tuple[Todo, ...]]] = []
    chunk: list[int] = []
    total = 0.0
    for position, i in enumerate(order):
        # Smaller chunks towards the end (the last TAIL_SHRINK * CHUNK submissions): the
        # workers then finish together instead of waiting for the last one's whole chunk.
        size = min(CHUNK, max(1, (len(order) - position) // TAIL_SHRINK))
        if chunk and (len(chunk) >= size or total + expected[i] > room):
            made.append((total, tuple(todo[j] for j in chunk)))
            chunk, total = [], 0.0
        chunk.append(i)
        total += expected[i]
    if chunk:
        made.append((total, tuple(todo[j] for j in chunk)))
    return made
