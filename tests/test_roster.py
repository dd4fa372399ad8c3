"""A class with a roster, through the CLI: every student of the roster in the summary, the
dashboard and every export (graded, or "no submission" with 0 points), folders it does not
list named and still graded; the files Canvas and Moodle import, checked against the rules
their importers follow; every malformed roster row a file:line error."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from conftest import SUBMISSIONS, run_grade, write

pytestmark = pytest.mark.slow

EX01 = SUBMISSIONS / "ex01"
ROSTER = """\
student,name,canvas_id,sis_user_id,sis_login_id,section,email
ada,"Lovelace, Ada",101,S001,ada.l,Lab 1,ada@example.edu
bob,Bob Marley,102,S002,bob.m,Lab 2,bob@example.edu
cyd,=HYPERLINK(\"x\"),103,S003,cyd.c,Lab 1,cyd@example.edu
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ada right, bob log2, cyd (on the roster) nothing, zed (not on it) sum-not-mean."""
    root = tmp_path_factory.mktemp("roster")
    klass = root / "class"
    write(klass / "ada.py", (EX01 / "good_vectorised.py").read_text())
    write(klass / "bob" / "ex01.py", (EX01 / "bad_log2.py").read_text())
    write(klass / "zed" / "ex01.py", (EX01 / "bad_sum_not_mean.py").read_text())
    roster = write(root / "roster.csv", ROSTER)
    book, page = root / "book.db", root / "class.html"
    result = run_grade(
        "batch", "ex01", str(klass), "--roster", str(roster), "--gradebook", str(book),
        "--sandbox", "process", "--report", str(page),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {"root": root, "roster": roster, "book": book, "page": page, "out": result.stdout}


def export(graded: dict[str, Any], *args: str) -> Any:
    result = run_grade(
        "gradebook", "export", "--gradebook", str(graded["book"]),
        "--roster", str(graded["roster"]), *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def test_the_summary_names_who_handed_in_nothing_and_who_is_not_on_the_roster(
    graded: dict[str, Any],
) -> None:
    lines = graded["out"].splitlines()
    # The figures count the three submissions; cyd is counted apart.
    assert lines[0].startswith("3 submissions (1 not in the roster): mean 15.67, median 11 of 30")
    assert "no submission (1, 0 points each): cyd" in lines
    assert "not in the roster (1, graded all the same): zed" in lines
    assert lines[-1] == "this run: graded 3, skipped 0 (already in the gradebook)"


class _Page(HTMLParser):
    """The texts of the dashboard's lists of missing and unknown students."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.missing: list[str] = []
        self.unknown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.stack.append(found.get("id") or found.get("class") or tag)

    def handle_endtag(self, tag: str) -> None:
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack[-2:-1] == ["missing"] and self.stack[-1] == "li":
            self.missing.append(data)
        if "unknown" in self.stack and self.stack[-1] == "li":
            self.unknown.append(data)


def test_a_rerun_s_json_and_junit_describe_the_class_as_its_summary_does(
    graded: dict[str, Any], tmp_path: Path
) -> None:
    """Nothing new to grade: the run graded nothing, and its machine-readable outputs still
    give every student's grade now, the roster's students without a file among them."""
    klass = graded["root"] / "class"
    book = tmp_path / "book.db"
    shutil.copy(graded["book"], book)
    common = ("batch", "ex01", str(klass), "--roster", str(graded["roster"]), "--gradebook")
    junit = run_grade(*common, str(book), "--format", "junit", "--sandbox", "process")
    assert junit.returncode == 0, junit.stderr
    suites = {s.get("name"): s for s in ElementTree.fromstring(junit.stdout).iter("testsuite")}
    assert sorted(suites) == ["ada: ex01", "bob: ex01", "cyd: ex01", "zed: ex01"]
    (error,) = suites["cyd: ex01"].iter("error")
    assert error.get("type") == "NoSubmission"
    assert error.get("message", "").startswith("no submission")
    document = json.loads(
        run_grade(*common, str(book), "--format", "json", "--sandbox", "process").stdout
    )
    assert document["attempts"] == []
    assert {r["student"]: r["status"] for r in document["class"]} == {
        "ada": "passed", "bob": "failed", "cyd": "missing", "zed": "failed",
    }  # fmt: skip


def test_the_dashboard_lists_them_too(graded: dict[str, Any]) -> None:
    page = _Page()
    page.feed(graded["page"].read_text())
    assert page.missing == ["cyd"]
    assert page.unknown == ["zed"]
    text = graded["page"].read_text()
    assert re.search(r'class="submissions">3<', text)
    assert re.search(r'class="missing">1<', text)


def test_every_export_has_every_roster_student(graded: dict[str, Any]) -> None:
    table = list(csv.reader(io.StringIO(export(graded).stdout, newline="")))
    scores = {row[0]: (row[1], row[2], float(row[3])) for row in table[1:]}
    assert scores == {
        "ada": ("Lovelace, Ada", "Lab 1", 30.0),
        "bob": ("Bob Marley", "Lab 2", 6.0),
        "cyd": ('\'=HYPERLINK("x")', "Lab 1", 0.0),  # shown, never run
        "zed": ("", "", 11.0),
    }
    notes = {row[0]: row[4] for row in table[1:]}
    assert notes["ada"] == ""
    assert notes["bob"] == "matches a known mistake: log base 2 instead of the natural log"
    assert notes["cyd"].startswith("no submission")
    result = export(graded, "--format", "json")
    assert "zed" in result.stderr
    assert "not in the roster" in result.stderr
    rows = {row["student"]: row for row in json.loads(result.stdout)}
    assert (rows["cyd"]["status"], rows["cyd"]["score"]) == ("missing", 0.0)
    assert rows["cyd"]["error"].startswith("no submission")
    assert rows["ada"]["roster"]["sis_login_id"] == "ada.l"
    assert rows["zed"]["roster"] is None


# Canvas's GradebookImporter, as its source reads a file (instructure/canvas-lms,
# app/models/gradebook_importer.rb and Assignment.title_and_id).
CANVAS_TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")


def canvas_import(text: str) -> dict[str, Any]:
    """What Canvas takes from a gradebook CSV: the assignments (title, id, points) and, per
    student row, the identifiers it matches by and the grades."""
    first_lines = text.splitlines()[:3]
    counts = {len(next(csv.reader([line]))) for line in first_lines}
    assert len(counts) == 1, "Canvas would take this file for semicolon-separated"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    # header?: more than 3 cells, Student then ID; the SIS columns; Section closes them.
    assert len(header) > 3
    assert re.search("Student", header[0])
    assert re.search("ID", header[1])
    columns = 3
    if re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        columns += 2
    assert re.search("Section", header[columns - 1]), "Canvas: Invalid header row"
    assignments = []
    for cell in header[columns:]:
        match = CANVAS_TITLE_AND_ID.match(cell)
        assignments.append(
            {"title": match[1], "id": int(match[2])} if match else {"title": cell, "id": None}
        )
    students = []
    for row in rows[1:]:
        if re.search("Points Possible", row[0]):
            for assignment, points in zip(assignments, row[columns:], strict=True):
                assignment["points"] = float(points)
            continue
        if all(re.fullmatch(r"(?i)\s*(Muted|)\s*", cell) for cell in row):
            continue
        students.append(
            {
                "name": row[0],
                "id": int(row[1]) if row[1] else None,
                "sis_user_id": row[2],
                "sis_login_id": row[3],
                "grades": [float(g) for g in row[columns:]],
            }
        )
    return {"assignments": assignments, "students": students}


def test_the_canvas_file_imports_into_the_assignment_and_matches_every_student(
    graded: dict[str, Any],
) -> None:
    result = export(graded, "--format", "canvas", "--assignment", "ex01=12345")
    imported = canvas_import(result.stdout)
    assert imported["assignments"] == [
        {"title": "Binary cross-entropy", "id": 12345, "points": 30.0}
    ]
    students = {s["sis_login_id"]: s for s in imported["students"]}
    assert {k: (s["id"], s["grades"]) for k, s in students.items()} == {
        "ada.l": (101, [30.0]),
        "bob.m": (102, [6.0]),
        "cyd.c": (103, [0.0]),
    }
    # A name that a spreadsheet would run is text, and no one outside the roster is in it.
    assert students["cyd.c"]["name"] == '\'=HYPERLINK("x")'
    assert "zed" in result.stderr
    assert "left out" in result.stderr


def test_without_an_assignment_id_canvas_is_told_to_create_one(graded: dict[str, Any]) -> None:
    result = export(graded, "--format", "canvas")
    assert canvas_import(result.stdout)["assignments"] == [
        {"title": "Binary cross-entropy", "id": None, "points": 30.0}
    ]
    assert "ex01 has no --assignment ex01=ID: Canvas will create a new assignment" in (
        result.stderr
    )


def moodle_import(text: str, identifier_column: str, known: set[str]) -> dict[str, list[float]]:
    """Moodle's gradeimport_csv with the identifier column mapped to a user field: headers
    trimmed; a row whose identifier is blank is skipped; one it cannot find stops the whole
    import; a grade is '', '-' or a number, at most 100."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip() for h in rows[0]]
    at = header.index(identifier_column)
    grades: dict[str, list[float]] = {}
    for row in rows[1:]:
        if not row[at]:
            continue
        assert row[at] in known, f"usermappingerror: {row[at]}"
        values = [v for i, v in enumerate(row) if i != at and header[i] != "Full name"]
        assert all(v in ("", "-") or 0 <= float(v) <= 100 for v in values)
        grades[row[at]] = [float(v) for v in values]
    return grades


@pytest.mark.parametrize(
    ("identifier", "column", "values"),
    [
        ("email", "Email address", ["ada@example.edu", "bob@example.edu", "cyd@example.edu"]),
        ("username", "Username", ["ada.l", "bob.m", "cyd.c"]),
        ("idnumber", "ID number", ["S001", "S002", "S003"]),
    ],
)
def test_the_moodle_file_maps_by_the_identifier_chosen(
    graded: dict[str, Any], identifier: str, column: str, values: list[str]
) -> None:
    result = export(graded, "--format", "moodle", "--identifier", identifier)
    grades = moodle_import(result.stdout, column, set(values))
    assert grades == dict(zip(values, [[30.0], [6.0], [0.0]], strict=True))


def test_an_lms_export_needs_what_it_matches_by(graded: dict[str, Any], tmp_path: Path) -> None:
    book = str(graded["book"])
    moodle = run_grade("gradebook", "export", "--gradebook", book, "--format", "moodle")
    assert moodle.returncode == 2
    assert "Pass --roster" in moodle.stderr
    names_only = write(tmp_path / "names.csv", "student,name\nada,Ada\nbob,Bob\n")
    canvas = run_grade(
        "gradebook", "export", "--gradebook", book, "--format", "canvas", "--roster",
        str(names_only),
    )  # fmt: skip
    assert canvas.returncode == 2
    assert f"{names_only} has no canvas_id, sis_user_id or sis_login_id column" in canvas.stderr
    some_ids = write(tmp_path / "some.csv", "student,canvas_id\nada,101\nbob,\n")
    canvas = run_grade(
        "gradebook", "export", "--gradebook", book, "--format", "canvas", "--roster",
        str(some_ids),
    )  # fmt: skip
    assert canvas.returncode == 2
    assert f"{some_ids}:3: 'bob' has no canvas_id, sis_user_id or sis_login_id" in canvas.stderr
    assert f"{some_ids}:2" not in canvas.stderr
    moodle = run_grade(
        "gradebook", "export", "--gradebook", book, "--format", "moodle", "--roster",
        str(some_ids), "--identifier", "email",
    )  # fmt: skip
    assert moodle.returncode == 2
    assert f"{some_ids} has no email column" in moodle.stderr
    unknown = run_grade(
        "gradebook", "export", "--gradebook", book, "--roster", str(graded["roster"]),
        "--format", "canvas", "--assignment", "ex09=7",
    )  # fmt: skip
    assert unknown.returncode == 2
    assert "ex09 is no exercise of the course, and the gradebook holds no grade of it" in (
        unknown.stderr
    )
    # An exercise of the course no one handed in: its column, 0 for every student.
    nobody = run_grade(
        "gradebook", "export", "--gradebook", book, "--roster", str(graded["roster"]),
        "--format", "canvas", "--assignment", "ex01=7", "--assignment", "ex04=8",
    )  # fmt: skip
    assert nobody.returncode == 0, nobody.stderr
    imported = canvas_import(nobody.stdout)
    assert [a["id"] for a in imported["assignments"]] == [7, 8]
    assert imported["assignments"][1]["points"] == 30
    assert {s["grades"][1] for s in imported["students"]} == {0.0}


def test_an_assignment_id_is_one_number_of_ascii_digits(graded: dict[str, Any]) -> None:
    for args, words in (
        (("ex01=1", "ex01=2"), "ex01 is given two assignment ids (1 and 2)"),
        (("ex01=\u0661\u0662\u0663",), "is not EXERCISE=ID with ID a number"),
        (("ex01=5", "ex03=5"), "ex01 and ex03 are given one assignment id (5)"),
    ):
        result = run_grade(
            "gradebook", "export", "--gradebook", str(graded["book"]), "--roster",
            str(graded["roster"]), "--format", "canvas",
            *(f"--assignment={a}" for a in args),
        )  # fmt: skip
        assert result.returncode == 2
        assert words in result.stderr


def test_moodle_without_an_identifier_is_refused(graded: dict[str, Any]) -> None:
    result = run_grade(
        "gradebook", "export", "--gradebook", str(graded["book"]), "--roster",
        str(graded["roster"]), "--format", "moodle",
    )  # fmt: skip
    assert result.returncode == 2
    assert "--identifier username" in result.stderr


def test_every_malformed_row_is_a_file_line_error_before_anyone_is_graded(
    tmp_path: Path,
) -> None:
    klass = tmp_path / "class"
    write(klass / "ada.py", (EX01 / "good_vectorised.py").read_text())
    roster = write(
        tmp_path / "roster.csv",
        "student,nmae,canvas_id\n",
    )
    book = tmp_path / "book.db"
    result = run_grade(
        "batch", "ex01", str(klass), "--roster", str(roster), "--gradebook", str(book)
    )
    assert result.returncode == 2
    assert f"{roster}:1: unknown column 'nmae'; did you mean 'name'?" in result.stderr
    assert not book.exists()
    write(
        roster,
        "student,name,canvas_id\nada,A,1x\n,B,2\nbob,C\nbob,D,4\nbob,E,5\n../x,F,6\n",
    )
    result = run_grade(
        "batch", "ex01", str(klass), "--roster", str(roster), "--gradebook", str(book)
    )
    assert result.returncode == 2, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(roster))]
    assert [line.split(": ")[0].rsplit(":", 1)[1] for line in errors] == [
        "2", "3", "4", "6", "7"
    ]  # fmt: skip
    assert "canvas_id '1x' is not a number" in errors[0]
    assert "2 cells where the header has 3" in errors[2]
    assert "'bob' is listed twice (first at line 5)" in errors[3]
    assert "Traceback" not in result.stderr
    assert not book.exists()
    write(roster, 'student,name\nada,"Lovelace, Ada\n')
    result = run_grade("gradebook", "export", "--roster", str(roster), "--gradebook", str(book))
    assert result.returncode == 2
    assert f"{roster}:2: not CSV" in result.stderr
    # Two students with one LMS identifier: the LMS would give both grades to one of them.
    write(roster, "student,canvas_id,email\nada,1,a@x.edu\nbob,1,b@x.edu\ncyd,3,A@X.edu\n")
    for lines in _refused(klass, roster, book):
        assert lines == [
            f"{roster}:3: canvas_id '1' is also that of the student at line 2; each student's "
            "LMS identifiers are their own: correct one of the two rows.",
            f"{roster}:4: email 'A@X.edu' is also that of the student at line 2; each "
            "student's LMS identifiers are their own: correct one of the two rows.",
        ]
    # As the export writes them, =a@x and '=a@x stay two (it quotes each); an escape
    # character, or a zero-width space, would match no user: each refused for itself.
    write(
        roster,
        "student,email\nada,=a@x.edu\nbob,'=a@x.edu\ncyd,c\x1bx@x.edu\ndan,d\u200bx@x.edu\n",
    )
    for lines in _refused(klass, roster, book):
        assert [line.split(": ")[0] for line in lines] == [f"{roster}:4", f"{roster}:5"]
        assert all("holds a character that shows as nothing" in line for line in lines)
    write(roster, "student\n" + "".join(f"s{i}\n" for i in range(100_001)) + "\n\n")
    for lines in _refused(klass, roster, book):
        assert lines[0].startswith(f"{roster}:100002: the roster lists more than 100,000")
    write(roster, "student,name\n\n")
    for lines in _refused(klass, roster, book):
        assert lines[0].startswith(f"{roster}:1: the roster lists no students")
    # A header of 100,000 columns is one error, read in linear time (counting each column's
    # repeats took minutes); a cell of 200,000 characters is not a roster's either.
    write(roster, "student," + ",".join(["x"] * 100_000) + "\nada\n")
    for lines in _refused(klass, roster, book):
        assert lines[0].startswith(f"{roster}:1: 100,000 unknown columns ('x', 'x', 'x', ...)")
    write(roster, "student,name\nada," + "x" * 200_000 + "\n")
    for lines in _refused(klass, roster, book):
        assert lines[0].startswith(f"{roster}:2: a cell longer than 131,072 characters")
    write(roster, "student,canvas_id\nada,\u0661\u0662\u0663\n")  # Arabic-Indic digits
    for lines in _refused(klass, roster, book):
        assert lines[0].startswith(f"{roster}:2: canvas_id '\u0661\u0662\u0663' is not a number")
    roster.write_bytes("student,name\nada,A\n".encode("utf-16"))  # Excel's "Unicode Text"
    for lines in _refused(klass, roster, book):
        assert lines[0].startswith(f"{roster}:1:1: the file is UTF-16 text, not UTF-8")
    write(roster, "ada,Lovelace\nbob,Marley\n")  # no header
    for lines in _refused(klass, roster, book):
        assert lines == [
            f"{roster}:1: the first line is not a header: none of its cells ('ada', "
            "'lovelace') names a column; add a header line above the students. A roster is "
            "a CSV with a header, e.g. 'student,name,canvas_id,sis_user_id,sis_login_id,"
            "section,email' (only 'student' is required)."
        ]


def _refused(klass: Path, roster: Path, book: Path) -> list[list[str]]:
    """The roster's error lines from both commands that read one (each refuses it)."""
    out = []
    for args in (
        ("batch", "ex01", str(klass), "--gradebook", str(book)),
        ("gradebook", "export", "--gradebook", str(book)),
    ):
        result = run_grade(*args, "--roster", str(roster))
        assert result.returncode == 2, result.stdout
        assert "Traceback" not in result.stderr
        out.append([line for line in result.stderr.splitlines() if line.startswith(str(roster))])
    return out


def test_a_roster_saved_by_a_spreadsheet_reads_alike(
    graded: dict[str, Any], tmp_path: Path
) -> None:
    """A byte-order mark, CRLF line ends, capitalised headers, semicolons (a European
    locale's CSV), blank trailing lines: the same roster."""
    lines = ROSTER.replace("Student", "student").splitlines()
    header = lines[0].replace("student", "Student").replace("name", " Name ")
    text = "\ufeff" + "\r\n".join([header, *lines[1:]]).replace(",", ";") + "\r\n\r\n"
    text = text.replace('"Lovelace; Ada"', '"Lovelace, Ada"')
    roster = tmp_path / "excel.csv"
    roster.write_bytes(text.encode("utf-8"))
    result = run_grade(
        "gradebook", "export", "--gradebook", str(graded["book"]), "--roster", str(roster),
        "--format", "moodle", "--identifier", "username",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == 'ada.l,"Lovelace, Ada",30'
    # Headers as Canvas's own export writes them ("SIS Login ID"): the same columns.
    roster.write_text(
        ROSTER.replace("sis_user_id,sis_login_id", "SIS User ID,SIS Login ID"), encoding="utf-8"
    )
    assert _moodle_by_username(graded, roster) == result.stdout
    # Saved as tab-separated text, or pasted from a spreadsheet: the same roster.
    tabs = ROSTER.replace('"Lovelace, Ada"', "Lovelace, Ada").replace(",", "\t")
    roster.write_text(tabs.replace("Lovelace\t Ada", "Lovelace, Ada"), encoding="utf-8")
    assert _moodle_by_username(graded, roster) == result.stdout


def _moodle_by_username(graded: dict[str, Any], roster: Path) -> str:
    exported = run_grade(
        "gradebook", "export", "--gradebook", str(graded["book"]), "--roster", str(roster),
        "--format", "moodle", "--identifier", "username",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    return exported.stdout


def test_options_that_belong_to_another_format_are_refused(graded: dict[str, Any]) -> None:
    book = str(graded["book"])
    for args in (
        ("--all-attempts",),
        ("--assignment", "ex01=1"),
        ("--format", "csv", "--identifier", "email"),
    ):
        result = run_grade("gradebook", "export", "--gradebook", book, *args)
        assert result.returncode == 2, args
        assert "Usage:" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_name_written_another_way_is_matched_or_pointed_at(tmp_path: Path) -> None:
    """The roster's 'José' typed with a combining accent (as macOS writes it) is the
    folder's 'José'; a roster's 'ALICE' and a folder 'Alice' are shown side by side."""
    klass = tmp_path / "class"
    write(klass / "Jos\u00e9" / "ex01.py", (EX01 / "good_vectorised.py").read_text())
    write(klass / "Alice" / "ex01.py", (EX01 / "good_vectorised.py").read_text())
    roster = write(tmp_path / "roster.csv", "student,canvas_id\nJose\u0301,101\nALICE,102\n")
    book = tmp_path / "book.db"
    result = run_grade(
        "batch", "ex01", str(klass), "--roster", str(roster), "--gradebook", str(book),
        "--sandbox", "process",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no submission (1, 0 points each): ALICE" in result.stdout
    assert "not in the roster (1, graded all the same): Alice" in result.stdout
    assert (
        "the roster's 'ALICE' and the folder 'Alice' differ only in case: correct the "
        "roster's student column to the folder's name" in result.stdout
    )
    canvas = run_grade(
        "gradebook", "export", "--gradebook", str(book), "--roster", str(roster),
        "--format", "canvas", "--assignment", "ex01=7",
    )  # fmt: skip
    assert canvas.returncode == 0, canvas.stderr
    rows = {row[1]: row[-1] for row in csv.reader(io.StringIO(canvas.stdout)) if row[1:]}
    assert rows["101"] == "30"  # José's folder, matched
