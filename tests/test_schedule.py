"""classroom/schedule.py: a batch's chunks, the slowest first; what a first run guesses of
a submission it knows nothing of (the CLI's side: tests/test_batch.py)."""

from __future__ import annotations

import json
from pathlib import Path

from grader.classroom import schedule
from grader.classroom.schedule import CHUNK, SLOW_SECONDS, TAIL_SHRINK, Todo, chunks
from grader.classroom.submissions import Submission

CORRECT = b"import numpy as np\n\ndef binary_cross_entropy(y, p):\n    return 0.5\n"
SPINS = b"def binary_cross_entropy(y, p):\n    while True:\n        pass\n"
SLEEPS = b"import time\n\ndef binary_cross_entropy(y, p):\n    time.sleep(60)\n"
NOTEBOOK = json.dumps(
    {"cells": [{"cell_type": "code", "source": ["def f(y, p):\n", "    while p:\n", "  pass\n"]}]},
    indent=1,
).encode()
#: nbformat's other form: a cell's source as one string, its newlines escaped.
NOTEBOOK_STRING = json.dumps(
    {"cells": [{"cell_type": "code", "source": "def f(y, p):\n    while p:\n        pass\n"}]}
).encode()


def _todo(contents: list[bytes]) -> list[Todo]:
    return [
        (Submission(f"s{i:03d}", "ex01", Path(f"s{i:03d}/ex01.py")), f"h{i}", content)
        for i, content in enumerate(contents)
    ]


def _students(made: list[tuple[float, tuple[Todo, ...]]]) -> list[list[str]]:
    return [[sub.student for sub, _, _ in chunk] for _, chunk in made]


def test_chunks_shrink_towards_the_end_so_that_workers_finish_together() -> None:
    todo = _todo([CORRECT] * 300)
    made = _students(chunks(todo, {}))
    sizes = [len(chunk) for chunk in made]
    # Every submission once, in the class's order (a first run knows no timings).
    assert [s for chunk in made for s in chunk] == [sub.student for sub, _, _ in todo]
    assert max(sizes) == CHUNK
    assert sizes == sorted(sizes, reverse=True)  # never larger than the one before
    assert sizes[-TAIL_SHRINK:] == [1] * TAIL_SHRINK
    # Full chunks until the tail: only the last TAIL_SHRINK * CHUNK submissions shrink.
    assert sum(sizes[: sizes.count(CHUNK)]) >= 300 - (TAIL_SHRINK + 1) * CHUNK


def test_a_first_run_starts_what_may_hang_first_each_alone_as_slow() -> None:
    # Found late in a class, each hanging submission held the run's end for its two
    # calls' time floors; guessed from the text, they start with the run.
    contents = [CORRECT] * 200
    contents[25], contents[131], contents[199] = SPINS, SLEEPS, NOTEBOOK
    made = chunks(_todo(contents), {})
    assert _students(made)[:3] == [["s025"], ["s131"], ["s199"]]
    assert all(seconds >= SLOW_SECONDS for seconds, _ in made[:3])
    assert all(seconds < SLOW_SECONDS for seconds, _ in made[3:])
    # The others as before: full chunks, the class's order.
    assert _students(made)[3][:CHUNK] == [f"s{i:03d}" for i in range(CHUNK)]


def test_a_while_in_a_comment_or_a_name_is_no_guess_of_a_hang() -> None:
    innocent = [
        b"# a loop would take a while here\ndef binary_cross_entropy(y, p):\n    return 0\n",
        b"def binary_cross_entropy(y, p):\n    meanwhile = 0\n    return meanwhile\n",
        b"def binary_cross_entropy(y, p):\n    asleep = 1  # no sleep(1) here\n    return 0\n",
    ]
    assert schedule.expected_seconds(_todo(innocent), {}) == [schedule.FIRST_SECONDS] * 3
    hangs = [SPINS, SLEEPS, NOTEBOOK, NOTEBOOK_STRING]
    assert schedule.expected_seconds(_todo(hangs), {}) == [schedule.HANG_SECONDS] * 4


def test_what_the_gradebook_measured_wins_over_the_guess() -> None:
    # A student's newest attempt took 0.05 s: the gradebook knows better than the text.
    todo = _todo([SPINS, CORRECT, SPINS])
    previous = {"s000": 0.05, "s001": 0.04}
    expected = schedule.expected_seconds(todo, previous)
    assert expected[:2] == [0.05, 0.04]
    # A student it does not know: the guess, never less than the class's typical time.
    assert expected[2] == schedule.HANG_SECONDS
    slow = {"s000": 5.0, "s001": 4.0}
    assert schedule.expected_seconds(todo, slow)[2] == 5.0


def test_the_guess_reads_a_hostile_file_in_linear_time() -> None:
    # A pattern with two quantifiers over spaces side by side took minutes on this line.
    spaces = b" " * 1_000_000 + b"x"
    quoted = (b'"' + b" " * 1000) * 1000
    todo = _todo([spaces, b"\t" * 500_000 + b'"' + b" " * 500_000, b"x" * 1_000_000, quoted])
    assert schedule.expected_seconds(todo, {}) == [schedule.FIRST_SECONDS] * 4


def test_a_guess_that_marks_many_says_nothing() -> None:
    # An exercise where many write quick `while` loops: each in a spare worker, the class
    # took longer (10 processes busy on 2 cores instead of 5); the run then orders them
    # as it would without the guess.
    many = [SPINS if i % 5 == 0 else CORRECT for i in range(200)]
    assert schedule.expected_seconds(_todo(many), {}) == [schedule.FIRST_SECONDS] * 200
    assert [len(chunk) for _, chunk in chunks(_todo(many), {})][:3] == [CHUNK] * 3
    # A small class: up to CHUNK guessed whatever their share.
    few = [SPINS] * CHUNK + [CORRECT] * 4
    assert schedule.expected_seconds(_todo(few), {})[:CHUNK] == [schedule.HANG_SECONDS] * CHUNK
    # Ten in 100 new submissions: guessed; the share is of those the gradebook does not know.
    tenth = [SPINS if i % 10 == 0 else CORRECT for i in range(100)]
    assert schedule.expected_seconds(_todo(tenth), {}).count(schedule.HANG_SECONDS) == 10
    known = {f"s{i:03d}": 0.02 for i in range(100) if i % 10 != 0 and i < 60}
    assert schedule.expected_seconds(_todo(tenth), known).count(schedule.HANG_SECONDS) == 0
