"""The class dashboard: a class graded by `grade batch`, its gradebook rendered, read in a
real browser (figures, escaping, no network, axe-core)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_reports import BROWSER_FLAGS, PHONE, _axe_violations, _browser

from conftest import SUBMISSIONS, run_grade, write
from grader.classroom.gradebook import Gradebook
from grader.classroom.statistics import class_stats
from grader.render.dashboard import render_dashboard

EX01 = SUBMISSIONS / "ex01"
TITLES = {"ex01": "Binary cross-entropy"}
#: A legal folder name that runs a script wherever it is written into HTML unescaped.
HOSTILE = "eve<img src=x onerror=alert(1)>"
CLASS = {
    "ana": (EX01 / "good_vectorised.py").read_text(),
    "bob": (EX01 / "bad_log2.py").read_text(),
    "cy": (EX01 / "good_loops_math.py").read_text(),
    HOSTILE: (EX01 / "bad_sum_not_mean.py").read_text(),
    "zed": "def binary_cross_entropy(y_true, y_pred:\n",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The class graded once for the module: the dashboard's path and the gradebook's rows."""
    root = tmp_path_factory.mktemp("dashboard")
    for student, text in CLASS.items():
        write(root / "class" / student / "ex01.py", text)
    book_path = root / "book.db"
    result = run_grade(
        "batch", "ex01", str(root / "class"), "--gradebook", str(book_path), "--jobs", "2"
    )
    assert result.returncode == 0, result.stderr
    book = Gradebook(book_path)
    try:
        rows = list(book.latest().values())
    finally:
        book.close()
    page = write(
        root / "class.html",
        render_dashboard(class_stats(rows, TITLES), generated="2025-01-31 12:00 UTC"),
    )
    return page, rows


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.slow
def test_the_class_graded_as_the_dashboard_tests_assume(
    graded: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, rows = graded
    status = {row["student"]: row["status"] for row in rows}
    assert status == {
        "ana": "passed",
        "bob": "failed",
        "cy": "passed",
        HOSTILE: "failed",
        "zed": "error",
    }


@pytest.mark.slow
@pytest.mark.browser
def test_the_dashboard_shows_the_gradebook_in_a_real_browser(
    graded: tuple[Path, list[dict[str, Any]]], browser: Any
) -> None:
    path, rows = graded
    page = browser.new_page(viewport=PHONE)
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    section = page.locator('section[data-item="ex01"]')
    assert section.locator("h2").text_content() == "ex01 · Binary cross-entropy"
    assert section.locator("dd.submissions").text_content() == str(len(CLASS))
    assert section.locator("dd.errors").text_content() == "1"
    assert (section.locator("dd.pass-rate").text_content() or "").startswith("40%")

    # The histogram: its bars hold every student once, each as tall as its count.
    svg = section.locator("svg.histogram")
    svg.scroll_into_view_if_needed()
    assert svg.is_visible()
    assert svg.get_attribute("role") == "img"
    assert "Scores of ex01" in (svg.locator("title").first.text_content() or "")
    labels = [int(t) for t in svg.locator("text.count").all_text_contents()]
    assert sum(labels) == len(CLASS)
    bars = svg.locator("rect.bar").evaluate_all(
        "bars => bars.map(b => [Number(b.dataset.count), b.getBBox().height])"
    )
    assert sum(count for count, _ in bars) == len(CLASS)
    unit = max(height / count for count, height in bars if count)
    for count, height in bars:
        assert height == pytest.approx(count * unit, abs=0.2)
    full_marks = [count for count, _ in bars][-1]
    assert full_marks == 2, "ana and cy score full marks, in the last bin"

    # Pass rate per case, as the gradebook has it.
    expected = Counter(
        case["name"] for row in rows for case in row["cases"] if case.get("status") == "passed"
    )
    shown = {}
    for tr in section.locator("table.cases tbody tr").all():
        name = tr.locator("th").text_content() or ""
        found = re.fullmatch(r"(\d+) / (\d+)", tr.locator("td.passed-count").text_content() or "")
        assert found is not None
        assert int(found[2]) == len(CLASS)
        shown[name] = int(found[1])
    case_names = {case["name"] for row in rows for case in row["cases"]}
    assert shown == {name: expected[name] for name in case_names}

    mistakes = {
        tr.locator("th").text_content(): tr.locator("td.number").text_content()
        for tr in section.locator("table.mistakes tbody tr").all()
    }
    assert mistakes == {"log2": "1", "sum_not_mean": "1"}
    titles = section.locator("table.mistakes td.title").all_text_contents()
    assert "log base 2 instead of the natural log" in titles

    slowest = section.locator("table.slowest tbody th").all_text_contents()
    by_time = sorted(rows, key=lambda row: -row["seconds"])
    assert slowest == [row["student"] for row in by_time[:5]]

    erroring = section.locator("table.erroring tbody th").all_text_contents()
    assert erroring == ["zed"]

    # The hostile name is shown as text, and nothing it carries runs or loads.
    assert HOSTILE in slowest
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 0
    assert dialogs == []
    assert requests == [path.as_uri()], "nothing is loaded but the page itself"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, (
        "readable on a phone: no sideways scrolling"
    )
    page.close()


@pytest.mark.slow
@pytest.mark.browser
def test_the_dashboard_passes_axe_core(
    graded: tuple[Path, list[dict[str, Any]]], browser: Any, tmp_path: Path
) -> None:
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    path, _ = graded
    empty = write(tmp_path / "empty.html", render_dashboard(class_stats([], {}), generated="now"))
    page = browser.new_page(viewport=PHONE)
    problems = []
    for name, page_path in (("class", path), ("empty", empty)):
        page.goto(page_path.as_uri())
        problems += [f"{name}: {line}" for line in _axe_violations(page)]
    page.close()
    assert not problems, "axe-core violations:\n" + "\n".join(problems)


def _row(student: str, item: str, score: float, status: str, **more: Any) -> dict[str, Any]:
    return {
        "student": student,
        "item": item,
        "score": score,
        "max_score": 4.0,
        "status": status,
        "mistakes": [],
        "seconds": 0.1,
        "graded_at": "2025-01-31T12:00:00+00:00",
        "cases": [{"name": "one", "status": status, "score": score, "seed": 1}],
        "error": None,
        **more,
    }


def test_a_grader_error_is_shown_with_its_message_escaped() -> None:
    broken = _row(
        "ann",
        "ex02",
        0.0,
        "error",
        max_score=0.0,
        cases=[],
        error="cannot read <b>ex02.py</b>: not UTF-8",
    )
    html = render_dashboard(class_stats([broken], {}), generated="<now>")
    assert "cannot read &lt;b&gt;ex02.py&lt;/b&gt;: not UTF-8" in html
    assert "<b>" not in html
    assert "generated &lt;now&gt;" in html
    assert "ex02 · ex02" in html, "an exercise without a title is named by its id"


def test_every_exercise_gets_its_own_section_in_the_order_of_its_id() -> None:
    rows = [
        _row("ann", "ex02", 4.0, "passed"),
        _row("ann", "ex01", 2.0, "failed", mistakes=["log2"]),
        _row("bo", "ex01", 4.0, "passed"),
    ]
    html = render_dashboard(class_stats(rows, {"ex01": "BCE", "ex02": "MSE"}), generated="now")
    assert re.findall(r'data-item="(\w+)"', html) == ["ex01", "ex02"]
    assert html.count('class="bar"') == 8, "a 4-point exercise: one bin per point"
    ex01 = html[html.index('data-item="ex01"') : html.index('data-item="ex02"')]
    assert re.findall(r'data-count="(\d+)"', ex01) == ["0", "0", "1", "1"]
    assert "<code>log2</code>" in ex01


def test_no_rows_is_a_page_that_says_nothing_was_graded() -> None:
    html = render_dashboard(class_stats([], {}), generated="now")
    assert "No submissions were graded" in html
    assert "<section" not in html
