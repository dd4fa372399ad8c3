"""The class as CSV: one row per student, one column per exercise (`grade gradebook export`).

This module is CSV's boundary for student text. A spreadsheet runs a cell that starts with
`=`, `+`, `-` or `@` as a formula (tab and carriage return too, in some), so a folder named
`=HYPERLINK(...)` would run on the instructor's machine: such a text cell is written with a
leading `'` (OWASP's rule for CSV injection), which spreadsheets show as text. Numbers the
grader writes are written as numbers, never prefixed. Rows end in CRLF (RFC 4180), so the
csv module quotes any cell holding a carriage return or a line feed and no cell can split a
row. Other unseen characters (an escape sequence would act on a terminal that shows the
file) are shown as escapes, and lone surrogates replaced (untrusted.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from grader.render.untrusted import visible, well_formed

#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Cell = str | float | int | None


def text_cell(text: str) -> str:
    """A text cell no spreadsheet runs: a formula's first character is kept, after a `'`."""
    # A carriage return stays (the cell is quoted): it is part of the name an LMS matches.
    safe = "\r".join(well_formed(visible(part)) for part in text.split("\r"))
    # A text that starts with the quote itself gets one too: '=x and =x stay two cells.
    return "'" + safe if safe.startswith((*FORMULA_START, "'")) else safe


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return text_cell(value)
    return f"{value:g}"


def render_rows(rows: Iterable[Sequence[Cell]]) -> str:
    """CSV of text and number cells: text made inert (text_cell), numbers as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def render_class(
    latest: Mapping[tuple[str, str], Mapping[str, Any]],
    titles: Mapping[str, str],
    sections: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """Each student's score per exercise, one row per student: the plain layout for a
    spreadsheet (render/lms.py writes the ones Canvas and Moodle import). Per exercise a
    score column titled 'Title (id)' and a note beside it: why a submission scored nothing
    (no submission, the load error and its line, out of time) or the known mistakes its
    results match, so that a 0 read in a spreadsheet says why. `names` and `sections` come
    from a roster, when there is one."""
    items = sorted({item for _, item in latest})
    students = sorted({student for student, _ in latest})
    header: list[Cell] = ["Student", "Name", "Section"]
    for item in items:
        title = f"{titles.get(item, item)} ({item})"
        header += [title, f"{title}: note"]
    rows: list[Sequence[Cell]] = [header]
    for student in students:
        row: list[Cell] = [
            student,
            (names or {}).get(student, ""),
            (sections or {}).get(student, ""),
        ]
        for item in items:
            found = latest.get((student, item))
            if found is None:
                row += [None, None]
            else:
                # Not graded yet: no score a spreadsheet would read as a grade.
                score = None if found["status"] == "pending" else float(found["score"])
                row += [score, _note(found)]
        rows.append(row)
    return render_rows(rows)


def _note(row: Mapping[str, Any]) -> str:
    """Why a row scored what it did, in one line ("" for a submission graded as usual)."""
    if row.get("error"):
        return (str(row["error"]).splitlines() or [""])[0]
    titles = list(row.get("mistake_titles") or row.get("mistakes") or [])
    if titles:
        return "matches a known mistake: " + "; ".join(titles)
    cases = list(row.get("cases") or [])
    lost = [c for c in cases if c.get("status") != "passed"]
    if not lost:
        return ""
    first = lost[0]
    why = (str(first.get("message") or first.get("status") or "").splitlines() or [""])[0]
    return f"{len(lost)} of {len(cases)} cases not passed, first {first.get('name')}: {why[:120]}"
