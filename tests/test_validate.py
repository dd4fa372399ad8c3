"""`grade validate`: every problem of every broken exercise file, with file:line:col, exit 2.

One course holds a broken file of every kind at once, as an author's typos would leave it;
validate must name each, in the one format an editor can jump to, and never a traceback.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_grade, write
from grader.quiz.kind import is_quiz

GOOD = (REPO / "exercises" / "ex01.yaml").read_text(encoding="utf-8")
LINE = re.compile(r"^(?P<file>[^:\n]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<what>.+)$")


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions", course / "solutions")
    (course / "exercises").mkdir()
    return course


def _broken(course: Path, name: str, text: str | bytes) -> None:
    path = course / "exercises" / f"{name}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _as(name: str, text: str = GOOD) -> str:
    return text.replace("id: ex01\n", f"id: {name}\n")


#: file -> (its text, a phrase its problem must contain, the line the problem points at)
SYNTAX: dict[str, tuple[str | bytes, str, int]] = {
    "tabs": ("id: tabs\n\ttitle: x\n", "tab character", 2),
    "indent": ("id: indent\ntitle: x\n  statement: y\n", "indentation", 3),
    "bracket": ("id: bracket\npoints: [3\ntitle: x\n", "[ opened at line 2", 3),
    "quote": ('id: quote\ntitle: "abc\npoints: 3\n', "quoted string is never closed", 2),
    "dupkey": ("id: dupkey\ntitle: a\ntitle: b\n", "duplicate key 'title'", 3),
    "empty": ("", "empty", 1),
    "toplist": ("- id: toplist\n", "top level must be a mapping", 1),
    "latin1": (b"id: latin1\ntitle: caf\xe9\n", "not UTF-8", 2),
    "twodocs": ("id: twodocs\n---\nid: other\n", "second YAML document", 2),
}


def _semantic(course: Path) -> dict[str, tuple[str, str]]:
    """Files that parse but break a rule: name -> (phrase, the text the line must hold)."""
    cases = {
        "unknown": (_as("unknown").replace("title:", "titel: x\ntitle:", 1), "unknown key 'titel'"),
        "missing": (re.sub(r"\ntitle: [^\n]*", "", _as("missing"), count=1), "missing key 'title'"),
        "wrongtype": (_as("wrongtype").replace("points: 30", "points: thirty"), "points"),
        "idname": (GOOD, "does not match the file name"),
        "points": (_as("points").replace("points: 30", "points: 31"), "cases add up to 30"),
        # Points no sum, score or Canvas column can hold: an infinity, or beyond any course.
        "infinite": (_as("infinite").replace("points: 30", "points: .inf"), "points"),
        "vast": (_as("vast").replace("points: 30", "points: 1.0e+308"), "10000"),
        "loose": (_as("loose").replace("rtol: 1.0e-4", "rtol: 0.5", 1), "rtol 0.5"),
        "generator": (
            _as("generator").replace("generator: binary", "generator: binry", 1),
            "unknown generator 'binry'",
        ),
        "options": (
            _as("options").replace("generator: binary", "generator: binary, p_mn: 1", 1),
            "no option(s) ['p_mn']",
        ),
        "noref": (
            _as("noref").replace("solutions.bce.", "solutions.nothere.", 1),
            "does not exist",
        ),
        "nomistake": (
            _as("nomistake").replace("mistakes_bce.log2", "mistakes_bce.log3"),
            "no function 'log3'",
        ),
        "promise": (
            _as("promise").replace("expect: 0.2231435513142097", "expect: 0.32", 1),
            "promises 0.32",
        ),
        "package": (
            _as("package").replace("points: 30", "packages: [numpy, nosuchpkg]\npoints: 30"),
            "nosuchpkg",
        ),
        "list": (_as("list"), "is a command of 'grade'"),
        "plotargs": (
            _as("plotargs").replace(
                '{y_true: [1.0], y_pred: ["x"]}', '{y_true: [one], y_pred: ["x"]}'
            ),
            "not a rectangular array of numbers",
        ),
        "huge": (
            _as("huge").replace("n: [2, 10000]}", "n: 1000000000}", 1),
            "must be from 1 to 1,000,000",
        ),
        "casemap": (_as("casemap").replace("\ncases:\n", "\ncases: {}\nold_cases:\n"), "cases"),
    }
    for name, (text, _) in cases.items():
        _broken(course, name, text)
    return {name: (phrase, name) for name, (_, phrase) in cases.items()}


@pytest.mark.slow
def test_every_problem_of_every_file_is_reported_with_file_line_and_column(
    tmp_path: Path,
) -> None:
    course = _course(tmp_path)
    for name, (text, _, _) in SYNTAX.items():
        _broken(course, name, text)
    semantic = _semantic(course)
    result = run_grade("validate", "--course", str(course))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    problems = [m for m in map(LINE.match, result.stdout.splitlines()) if m]
    assert len(problems) == len(result.stdout.splitlines()), result.stdout
    by_file: dict[str, list[re.Match[str]]] = {}
    for match in problems:
        by_file.setdefault(Path(match["file"]).stem, []).append(match)
    for name, (_, phrase, line) in SYNTAX.items():
        found = by_file.get(name, [])
        assert any(phrase in m["what"] and int(m["line"]) == line for m in found), (name, found)
    for name, (phrase, _) in semantic.items():
        found = [m["what"] for m in by_file.get(name, [])]
        assert any(phrase in what for what in found), (name, phrase, found)
    # What to do, after the semicolon, for every problem.
    assert all("; " in m["what"] for m in problems)
    assert f"in {len(SYNTAX) + len(semantic)} of" in result.stderr


@pytest.mark.slow
def test_a_yml_file_is_named_not_silently_ignored(tmp_path: Path) -> None:
    course = _course(tmp_path)
    write(course / "exercises" / "ex01.yml", GOOD)
    result = run_grade("validate", "--course", str(course))
    assert result.returncode == 2
    assert "ex01.yml is not found by grade: exercise files end in .yaml" in result.stdout


@pytest.mark.slow
def test_two_exercises_of_one_title_are_a_problem_and_no_lms_column_pair(tmp_path: Path) -> None:
    """An LMS export titles each exercise's column by its title: two alike would be one
    column (Moodle) or one assignment (Canvas, without ids), and a title such as 'Student'
    would be read as Canvas's own column."""
    course = _course(tmp_path)
    write(course / "exercises" / "ex01.yaml", GOOD)
    write(course / "exercises" / "ex07.yaml", _as("ex07"))  # ex01's title
    result = run_grade("validate", "--course", str(course))
    assert result.returncode == 2
    assert "title 'Binary cross-entropy' is also the title of" in result.stdout
    klass = tmp_path / "class"
    good = (REPO / "tests" / "fixtures" / "submissions" / "ex01" / "good_vectorised.py").read_text()
    write(klass / "ana" / "ex01.py", good)
    write(klass / "ana" / "ex07.py", good)
    book = str(tmp_path / "book.db")
    batch = ("batch", "all", str(klass), "--gradebook", book)
    graded = run_grade(*batch, "--course", str(course))
    assert graded.returncode == 0, graded.stderr
    roster = write(tmp_path / "roster.csv", "student,canvas_id,email\nana,1,a@x.edu\n")
    export = ("gradebook", "export", "--gradebook", book, "--roster", str(roster))
    for args, words in (
        (("--format", "canvas"), "Canvas would not read it as an assignment of its own"),
        (("--format", "moodle", "--identifier", "email"), "Moodle would not read it as a grade"),
    ):
        refused = run_grade(*export, *args, "--course", str(course))
        assert refused.returncode == 2
        assert "the column of ex07 would be titled 'Binary cross-entropy'" in refused.stderr
        assert words in refused.stderr
    # With an assignment id each, each column names its own assignment.
    ids = ("--format", "canvas", "--assignment", "ex01=1", "--assignment", "ex07=2")
    assert run_grade(*export, *ids, "--course", str(course)).returncode == 0
    write(
        course / "exercises" / "ex07.yaml",
        _as("ex07").replace("title: Binary cross-entropy", "title: Student", 1),
    )
    stale = run_grade(*export, "--format", "canvas", "--course", str(course))
    assert "1 grade(s) of ex07 were made against an earlier version" in stale.stderr
    assert run_grade(*batch, "--course", str(course)).returncode == 0
    student = run_grade(*export, "--format", "canvas", "--course", str(course))
    assert "as Canvas's own column is" in student.stderr


def test_a_course_s_titles_and_statements_reach_a_terminal_shown_not_acted_on(
    tmp_path: Path,
) -> None:
    course = _course(tmp_path)
    hostile = "Binary \\e[31mcross\\u202e-entropy\\a"
    text = GOOD.replace("title: Binary cross-entropy", f'title: "{hostile}"', 1)
    write(course / "exercises" / "ex01.yaml", text)
    for args in (("list",), ("show", "ex01"), ("--help",)):
        result = run_grade(*args, env={"GRADER_COURSE": str(course)})
        assert result.returncode == 0, result.stderr
        assert "\\x1b[31mcross\\u202e-entropy\\x07" in result.stdout, args
        assert not any(c in result.stdout for c in "\x1b\u202e\x07"), args


@pytest.mark.slow
def test_several_problems_in_one_file_are_all_reported(tmp_path: Path) -> None:
    course = _course(tmp_path)
    text = GOOD.replace("points: 30", "points: 31").replace("rtol: 1.0e-4", "rtol: 0.5", 1)
    text = text.replace("generator: binary", "generator: binry", 1)
    _broken(course, "ex01", text)
    result = run_grade("validate", "--course", str(course))
    assert result.returncode == 2
    assert "cases add up to 30" in result.stdout
    assert "rtol 0.5" in result.stdout
    # The generator is checked once the file's own rules hold: fix, run again, see it.
    write(course / "exercises" / "ex01.yaml", GOOD.replace("generator: binary", "generator: x", 1))
    again = run_grade("validate", "--course", str(course))
    assert "unknown generator 'x'" in again.stdout


@pytest.mark.slow
def test_the_shipped_course_validates(tmp_path: Path) -> None:
    result = run_grade("validate")
    assert result.returncode == 0, result.stdout
    # Every exercise and quiz, and the course file.
    count = len(list((REPO / "exercises").glob("*.yaml"))) + 1
    assert result.stdout.strip() == f"{count} files checked: no problems."


@pytest.mark.slow
def test_a_broken_file_is_reported_the_same_way_by_every_command(tmp_path: Path) -> None:
    course = _course(tmp_path)
    _broken(course, "ex01", GOOD.replace("points: 30", "points: 31"))
    sub = write(tmp_path / "ex01.py", "def binary_cross_entropy(y_true, y_pred):\n    return 0.0\n")
    validated = run_grade("validate", "--course", str(course))
    problem = validated.stdout.splitlines()[0]
    for args in (["ex01", "--file", str(sub)], ["show", "ex01"], ["start", "ex01"], ["list"]):
        result = run_grade("--course", str(course), *args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert problem in result.stderr.splitlines(), (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("params", "phrase"),
    [("y_true", "cannot be called with the 2 declared parameters"), ("a, b, *, c", "missing")],
)
def test_a_reference_that_cannot_take_the_parameters_is_named(
    tmp_path: Path, params: str, phrase: str
) -> None:
    course = _course(tmp_path)
    write(course / "solutions" / "odd.py", f"def f({params}):\n    return 0.0\n")
    _broken(course, "ex01", GOOD.replace("solutions.bce.binary_cross_entropy", "solutions.odd.f"))
    result = run_grade("validate", "--course", str(course))
    assert result.returncode == 2
    assert phrase in result.stdout
    assert re.search(r"ex01\.yaml:\d+:\d+: the reference", result.stdout)


def test_every_shipped_exercise_names_the_published_schema_for_editors() -> None:
    for path in (REPO / "exercises").glob("*.yaml"):
        kind = "quiz" if is_quiz(path) else "exercise"
        schema = REPO / "grader" / "schema" / f"{kind}.schema.json"
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target == schema.resolve(), path
