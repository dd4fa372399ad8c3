"""HTML and Markdown reports: written by `--report`, self-contained, shown in a real browser."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBMISSIONS, GradeRunner, write
from grader.render.html import render_html
from grader.render.markdown import render_markdown
from grader.results import CaseResult, Report, Status

LOG2 = SUBMISSIONS / "ex01" / "bad_log2.py"
GOOD = SUBMISSIONS / "ex01" / "good_vectorised.py"
CUBES = SUBMISSIONS / "ex04" / "bad_cubes.py"


def _report(
    grade: GradeRunner, tmp_path: Path, submission: Path, name: str, ex: str = "ex01"
) -> str:
    path = tmp_path / name
    result = grade(ex, "--file", str(submission), "--seed", "2", "--report", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert f"report written to {path}" in result.stderr
    assert "Score" in result.stdout, "the terminal report is still printed"
    return path.read_text(encoding="utf-8")


def _counts(report: str) -> tuple[int, int, int]:
    """Passed, failed and errors as the report's summary line states them: the exercise's
    cases change more often than what these tests check."""
    found = re.search(r"(\d+) passed, (\d+) failed, (\d+) errors", report)
    assert found is not None, "the summary line"
    passed, failed, errors = (int(n) for n in found.groups())
    return passed, failed, errors


@pytest.mark.slow
def test_markdown_report_has_score_diagnosis_and_a_row_per_case(
    grade: GradeRunner, tmp_path: Path
) -> None:
    text = _report(grade, tmp_path, LOG2, "feedback.md")
    passed, failed, errors = _counts(text)
    assert failed > 3
    assert text.startswith(f"## ex01 · Binary cross-entropy: {passed}/")
    assert "**Diagnosis.**" in text
    assert "log base 2 instead of the natural log" in text
    rows = [line for line in text.splitlines() if re.match(r"^\| (✅|❌|⚠️) \|", line)]
    assert len(rows) == passed + failed + errors
    assert "expected `0.2231435513142097`, got `0.3219280948873623`" in text


@pytest.mark.slow
def test_html_report_is_self_contained(grade: GradeRunner, tmp_path: Path) -> None:
    html = _report(grade, tmp_path, LOG2, "feedback.html")
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html
    assert '<meta name="viewport"' in html
    assert 'class="student"' in html, "the plot of the student's function"
    assert "log base 2 instead of the natural log" in html
    assert "natural" in html, "the statement and its formula"


@pytest.mark.slow
def test_a_correct_submission_gets_no_diagnosis_in_any_format(
    grade: GradeRunner, tmp_path: Path
) -> None:
    html = _report(grade, tmp_path, GOOD, "ok.html")
    markdown = _report(grade, tmp_path, GOOD, "ok.md")
    text = grade("ex01", "--file", str(GOOD)).stdout
    for output in (html, markdown, text):
        assert "Diagnosis" not in output
    assert re.search(r'class="score passed">.*?(\d+) / \1</p>', html), "full marks"


@pytest.mark.slow
def test_no_known_mistake_is_said_plainly(grade: GradeRunner, tmp_path: Path) -> None:
    result = grade("ex04", "--file", str(CUBES), "--seed", "1")
    assert "No known mistake matches your results" in result.stdout
    markdown = _report(grade, tmp_path, CUBES, "cubes.md", ex="ex04")
    assert "No known mistake matches your results" in markdown


@pytest.mark.slow
def test_an_unknown_report_suffix_is_a_usage_error(grade: GradeRunner, tmp_path: Path) -> None:
    result = grade("ex01", "--file", str(GOOD), "--report", str(tmp_path / "r.pdf"))
    assert result.returncode == 2
    assert "must end in .html or .md" in result.stderr
    # A quiz refuses it before asking anything (no answers file is written either).
    quiz = grade("q01", "--report", str(tmp_path / "r.pdf"), "--out", str(tmp_path / "a.yaml"))
    assert quiz.returncode == 2
    assert "must end in .html or .md" in quiz.stderr
    assert not (tmp_path / "a.yaml").exists()


def _positions(text: str, *markers: str) -> list[int]:
    """Where each marker first occurs, so a test can say in which order things come."""
    missing = [marker for marker in markers if marker not in text]
    assert not missing, f"missing: {missing}"
    return [text.find(marker) for marker in markers]


@pytest.mark.slow
def test_reports_put_score_diagnosis_first_failure_then_the_case_table(
    grade: GradeRunner, tmp_path: Path
) -> None:
    markdown = _report(grade, tmp_path, LOG2, "feedback.md")
    first_row = re.search(r"^\| (✅|❌|⚠️) \|", markdown, re.MULTILINE)
    assert first_row is not None
    score, diagnosis, detail = _positions(
        markdown, "## ex01 · Binary cross-entropy: ", "**Diagnosis.**", "expected `0.2231435"
    )
    assert score < diagnosis < detail < first_row.start()

    html = _report(grade, tmp_path, LOG2, "feedback.html")
    positions = _positions(
        html, 'class="score', 'id="diagnosis"', "<details", "0.2231435513142097", "<table"
    )
    assert positions == sorted(positions), "score, diagnosis, first failure, then the table"
    after = _positions(html, 'id="statement"', "</main>", "<footer")
    assert positions[-1] < after[0] < after[1] < after[2], "then the statement and the footer"


@pytest.mark.slow
def test_only_the_first_three_failures_are_shown_in_full(
    grade: GradeRunner, tmp_path: Path
) -> None:
    html = _report(grade, tmp_path, LOG2, "feedback.html")
    _, failed, errors = _counts(html)
    assert failed + errors > 4
    details = re.findall(r"<details\b[^>]*>", html)
    assert len(details) == failed + errors, "one per failing case"
    assert sum(1 for tag in details if re.search(r"\bopen\b", tag)) == 3
    assert f"{failed + errors - 3} more failing cases" in html

    markdown = _report(grade, tmp_path, LOG2, "feedback.md")
    assert len(re.findall(r"^\*\*.+\*\*: ", markdown, re.MULTILINE)) == 3, "three in full"
    rest = markdown.split(f"{failed + errors - 3} more failing cases:")[1].split("### Cases")[0]
    folded = [line for line in rest.splitlines() if line.startswith("- ")]
    assert len(folded) == failed + errors - 3, "the others on one line each"
    assert all(": " in line and "`" not in line for line in folded), "name: message"
    assert markdown.count("got `") == 3


@pytest.mark.slow
def test_a_submission_that_does_not_load_shows_its_error_after_the_score(
    grade: GradeRunner, tmp_path: Path
) -> None:
    broken = write(tmp_path / "broken.py", "def binary_cross_entropy(y_true, y_pred:\n")
    for name, score_marker in (("broken.md", "## ex01"), ("broken.html", 'class="score')):
        text = _report(grade, tmp_path, broken, name)
        score, error, table = _positions(text, score_marker, "cannot be graded", "textbook: y=1")
        assert score < error < table
        assert "What went wrong" not in text, "every case would repeat the one syntax error"


def _case(name: str, status: Status) -> CaseResult:
    wrong = status is not Status.PASSED
    return CaseResult(
        name=name,
        kind="fixed",
        visibility="visible",
        status=status,
        score=0.0 if wrong else 1.0,
        max_score=1.0,
        message="wrong value (not within tolerance)" if wrong else "passed",
        inputs={"y_true": "[1.0]", "y_pred": "[0.8]"},
        expected_low=0.2231435513142097,
        expected_high=0.2231435513142097,
        actual=0.5 if wrong else 0.2231435513142097,
        abs_error=0.2768564486857903 if wrong else 0.0,
        rel_error=1.2407 if wrong else 0.0,
        rtol=1e-4,
        atol=1e-9,
    )


NAMES_WARNING = "your parameters are named (y_pred, y_true); the grader passes y_true first"


def _warned_report(*warnings: str) -> Report:
    """Rendered in-process: warnings come from grading, and any report may carry them."""
    return Report(
        exercise="ex01",
        title="Binary cross-entropy",
        submission="bce.py",
        seed=1,
        score=1.0,
        max_score=2.0,
        execution_time=0.1,
        tests=(_case("textbook", Status.PASSED), _case("worked example", Status.FAILED)),
        backend="process",
        grader_version="0",
        statement="Write `binary_cross_entropy(y_true, y_pred)`.",
        warnings=warnings,
    )


def test_warnings_are_notes_between_the_score_and_the_failures() -> None:
    report = _warned_report(NAMES_WARNING, "a second note")
    markdown = render_markdown(report)
    positions = _positions(
        markdown, ": 1/2", f"> **Note:** {NAMES_WARNING}", "> **Note:** a second note", "**worked"
    )
    assert positions == sorted(positions)
    html = render_html(report)
    positions = _positions(html, 'class="score', "y_pred, y_true", "a second note", "<details")
    assert positions == sorted(positions)
    assert html.count('role="note"') == 2


def test_no_warning_no_note() -> None:
    report = _warned_report()
    assert "Note" not in render_markdown(report)
    assert 'role="note"' not in render_html(report)


def _browser() -> str:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")


BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.mark.slow
@pytest.mark.browser
def test_the_html_report_shows_plot_and_diagnosis_in_a_real_browser(
    grade: GradeRunner, tmp_path: Path
) -> None:
    executable = _browser()
    from playwright.sync_api import sync_playwright

    _report(grade, tmp_path, LOG2, "feedback.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        try:
            page = browser.new_page(viewport=PHONE)
            page.goto((tmp_path / "feedback.html").as_uri())
            score = page.locator("header .score")
            assert score.is_visible()
            assert re.fullmatch(r"Score: \d+ / \d+", score.text_content() or "")
            assert page.get_by_text("log base 2 instead of the natural log").is_visible()
            plot = page.locator("svg.plot")
            plot.scroll_into_view_if_needed()
            assert plot.is_visible()
            box = plot.bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 150
            student = page.locator("svg.plot polyline.student").first
            assert student.is_visible()
            length = student.evaluate("line => line.getTotalLength()")
            assert length > 100, "the student's curve is drawn"
            assert page.evaluate("document.documentElement.scrollWidth") <= 391, (
                "readable on a phone: no sideways scrolling"
            )
            shot = page.screenshot(full_page=True)
            assert len(shot) > 20_000, "the page is not blank"
        finally:
            browser.close()


def _axe_violations(page: Any) -> list[str]:
    """axe-core's violations on the page as it is now, one line each: rule, impact, nodes."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): "
        + "; ".join(" >>> ".join(node["target"]) for node in v["nodes"])
        for v in found
    ]


@contextlib.contextmanager
def _phone_page() -> Iterator[Any]:
    executable = _browser()
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        try:
            yield browser.new_page(viewport=PHONE)
        finally:
            browser.close()


@pytest.mark.slow
@pytest.mark.browser
def test_html_reports_pass_axe_core_with_no_violations(grade: GradeRunner, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.py", "def binary_cross_entropy(y_true, y_pred:\n")
    _report(grade, tmp_path, LOG2, "diagnosed.html")
    _report(grade, tmp_path, GOOD, "correct.html")
    _report(grade, tmp_path, broken, "does-not-load.html")
    write(tmp_path / "warned.html", render_html(_warned_report(NAMES_WARNING)))
    # A quiz's report: another student's blank answers file, then one answer given.
    answers = tmp_path / "q01-answers.yaml"
    made = grade("q01", "--template", "--student", "ana", "--out", str(answers))
    assert made.returncode == 0, made.stderr
    answers.write_text(
        answers.read_text().replace("  tutorial_positive:", "  tutorial_positive: 0.3219")
    )
    quiz = grade("q01", "--answers", str(answers), "--report", str(tmp_path / "quiz.html"))
    assert quiz.returncode == 1, quiz.stderr
    names = ("diagnosed.html", "correct.html", "does-not-load.html", "warned.html", "quiz.html")
    problems = []
    with _phone_page() as page:
        for name in names:
            page.goto((tmp_path / name).as_uri())
            problems += [f"{name}: {line}" for line in _axe_violations(page)]
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true })")
            problems += [f"{name}, all details open: {line}" for line in _axe_violations(page)]
    assert not problems, "axe-core violations:\n" + "\n".join(problems)
