"""HTML and Markdown reports: written by `--report`, self-contained, shown in a real browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import SUBMISSIONS, GradeRunner

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


def test_markdown_report_has_score_diagnosis_and_a_row_per_case(
    grade: GradeRunner, tmp_path: Path
) -> None:
    text = _report(grade, tmp_path, LOG2, "feedback.md")
    assert text.startswith("## ex01 · Binary cross-entropy: 3/20")
    assert "**Diagnosis.**" in text
    assert "log base 2 instead of the natural log" in text
    rows = [line for line in text.splitlines() if re.match(r"^\| (✅|❌|⚠️) \|", line)]
    assert len(rows) == 20
    assert "expected `0.2231435513142097`, got `0.3219280948873623`" in text


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


def test_a_correct_submission_gets_no_diagnosis_in_any_format(
    grade: GradeRunner, tmp_path: Path
) -> None:
    html = _report(grade, tmp_path, GOOD, "ok.html")
    markdown = _report(grade, tmp_path, GOOD, "ok.md")
    text = grade("ex01", "--file", str(GOOD)).stdout
    for output in (html, markdown, text):
        assert "Diagnosis" not in output
    assert "20 / 20" in html


def test_no_known_mistake_is_said_plainly(grade: GradeRunner, tmp_path: Path) -> None:
    result = grade("ex04", "--file", str(CUBES), "--seed", "1")
    assert "No known mistake matches your results" in result.stdout
    markdown = _report(grade, tmp_path, CUBES, "cubes.md", ex="ex04")
    assert "No known mistake matches your results" in markdown


def test_an_unknown_report_suffix_is_a_usage_error(grade: GradeRunner, tmp_path: Path) -> None:
    result = grade("ex01", "--file", str(GOOD), "--report", str(tmp_path / "r.pdf"))
    assert result.returncode == 2
    assert "must end in .html or .md" in result.stderr


def _browser() -> str:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")


def test_the_html_report_shows_plot_and_diagnosis_in_a_real_browser(
    grade: GradeRunner, tmp_path: Path
) -> None:
    executable = _browser()
    from playwright.sync_api import sync_playwright

    _report(grade, tmp_path, LOG2, "feedback.html")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=flags)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto((tmp_path / "feedback.html").as_uri())
            assert page.get_by_text("3 / 20").is_visible()
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
