"""`grade EXERCISE --watch`: grade again on every save, and say what changed since the last run.

Beside the flow, not in it: the loop is given the grading and the rendering as functions,
so it knows nothing of exercises, sandboxes or formats, and the report it shows is the one
the command prints without --watch. It reads the result model only, to compare two runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import watchfiles

from grader.errors import GraderError
from grader.render.untrusted import visible
from grader.results import Report, Status

if TYPE_CHECKING:
    from watchfiles.main import AbstractEvent

#: Erase the screen, cursor to the top left: each run replaces the last one.
CLEAR = "\x1b[2J\x1b[H"
#: Names listed per line of `changes`; the report itself lists every case.
NAMES_SHOWN = 5
#: An editor's save is a burst of events (write a temporary file, rename it over the
#: original): grade once they stop for STEP_MS, and at the latest DEBOUNCE_MS after the first.
STEP_MS, DEBOUNCE_MS = 50, 400
#: How long the watcher waits for a save before it wakes up with nothing (and notices
#: `stop`); also how long the first run waits for the watcher to be in place.
WAKE_MS = 100


def changes(before: Report | None, after: Report) -> list[str]:
    """What a student needs to know about the new run against the last one: the score, and
    the cases (by name) that pass or fail now and did not before. Empty for the first run.

    Cases are matched by name and order of appearance: random cases are named after their
    values, so the runs compared must share a seed (`grade --watch` keeps its first one)."""
    if before is None:
        return []
    delta = round(after.score - before.score, 9)  # 0.3 - 0.1 - 0.2 is no change
    score = f"score {_number(before.score)} -> {_number(after.score)} "
    score += f"({'+' if delta > 0 else ''}{_number(delta)})" if delta else "(unchanged)"
    if after.max_score != before.max_score:
        score += f", out of {_number(after.max_score)} instead of {_number(before.max_score)}"
    lines = [score]
    if before.error is not None and after.error is None:
        lines.append("the submission loads again")
    elif after.error is not None and before.error is None:
        why = after.error.message.partition("\n")[0]
        lines.append(f"the submission does not load any more: {why}")
    was = dict(_keyed(before))
    now = list(_keyed(after))
    # A case of one run only (the exercise was edited meanwhile) did not change: it is new.
    flipped = [
        (key[0], _passes(status))
        for key, status in now
        if key in was and _passes(status) != _passes(was[key])
    ]
    passing = [name for name, passes in flipped if passes]
    failing = [name for name, passes in flipped if not passes]
    lines += _named("now passing", passing, len(now))
    lines += _named("now failing", failing, len(now))
    return lines


def watch(
    path: Path,
    grade_once: Callable[[], Report],
    show: Callable[[Report], str],
    *,
    out: TextIO,
    clear: bool,
    stop: AbstractEvent | None = None,
) -> None:
    """Show `show(grade_once())` now and after every save of `path` until Ctrl-C (or `stop`
    is set), each below a cleared screen when `clear`, followed by `changes`.

    The directory is watched, not the file: an editor saves by renaming a new file over
    the old one, and a file deleted then written again is a new file. Saves made while a
    run is going on are taken together by the next one. A GraderError of a run (the file
    is gone, the exercise is broken) is printed, and the watch goes on."""
    folder = path.absolute().parent
    if not folder.is_dir():
        raise GraderError(f"cannot watch {path}: {folder} is not a directory")
    name = path.name

    def only_the_file(_: watchfiles.Change, changed: str) -> bool:
        return os.path.basename(changed) == name

    last: Report | None = None
    first = True
    try:
        # The first run waits for the watcher's first wake-up: from then on no save is
        # missed, not even one made while the first run goes on.
        for batch in watchfiles.watch(
            folder,
            watch_filter=only_the_file,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            rust_timeout=WAKE_MS,
            yield_on_timeout=True,
            stop_event=stop,
            recursive=False,
        ):
            if first:
                first = False
                _say(out, f"grading {name}...")
            elif not batch:
                continue
            else:
                happened = "changed" if path.exists() else "deleted"
                _say(out, f"\n{happened}: {name}, grading...")
            last = _run(grade_once, show, last, name, out=out, clear=clear)
    except KeyboardInterrupt:
        _say(out, f"\nstopped watching {name}")


def _run(
    grade_once: Callable[[], Report],
    show: Callable[[Report], str],
    last: Report | None,
    name: str,
    *,
    out: TextIO,
    clear: bool,
) -> Report | None:
    """One run shown; the report the next one is compared with."""
    try:
        report = grade_once()
    except GraderError as exc:
        # The last report still on screen is the one the next run is compared with.
        _say(out, f"grade: {exc}")
        _say(out, f"\nwatching {name}: saving it grades it again (Ctrl-C stops)")
        return last
    text = (CLEAR if clear else "") + show(report)
    what = changes(last, report)
    if what:
        text += "\nsince the last run:\n" + "".join(f"  {line}\n" for line in what)
    out.write(text)
    _say(out, f"\nwatching {name}: saving it grades it again (Ctrl-C stops)")
    return report


def _say(out: TextIO, line: str) -> None:
    """A line for the terminal; it may name cases and quote errors: shown, never acted on."""
    out.write(visible(line) + "\n")
    out.flush()


def _keyed(report: Report) -> Iterable[tuple[tuple[str, int], Status]]:
    """Each case keyed by its name and which of that name it is (names may repeat)."""
    seen: dict[str, int] = {}
    for test in report.tests:
        nth = seen[test.name] = seen.get(test.name, 0) + 1
        yield (test.name, nth), test.status


def _passes(status: Status) -> bool:
    return status is Status.PASSED


def _named(what: str, names: list[str], total: int) -> list[str]:
    if not names:
        return []
    if len(names) == total and total > 1:
        return [f"{what}: every case ({total})"]
    shown = "; ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return [f"{what}: {shown}" + (f"; and {more} more" if more > 0 else "")]


def _number(value: float) -> str:
    return f"{value:g}"
