"""Reports read right: labels apart from values, shortened case names that stay distinct,
numbers never cut, a diagnosis that explains its two counts, and a plot that fits and
reads on a phone. Through `grade` as a student runs it, and the HTML in a real browser."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_reports import BROWSER_FLAGS, _browser

from conftest import REPO, SUBMISSIONS, run_grade, write

#: A shrunk random case: the report shows the smallest failing input, then the full one.
SHRUNK = SUBMISSIONS / "ex05" / "bad_naive_softplus.py"
#: ex02 with a base-2 log: long case names that differ only at their ends, clip-range cases.
LOG2_EX02 = SUBMISSIONS / "ex02" / "bad_log2.py"
#: ex02 with the minus missing: 4 of its failing cases (the clip-range ones) agree with the
#: mistake without setting it apart from the right answer.
MINUS_EX02 = SUBMISSIONS / "ex02" / "bad_missing_minus.py"
#: Where a value starts in a case's details: 4 spaces, then a 10-column label.
VALUE_COLUMN = 14


def _text(exercise: str, submission: Path, columns: int = 100, seed: int = 1) -> str:
    result = run_grade(
        exercise, "--file", str(submission), "--seed", str(seed), env={"COLUMNS": str(columns)}
    )
    assert result.returncode == 1, result.stderr
    return result.stdout


@pytest.mark.slow
def test_a_label_as_wide_as_its_column_never_runs_into_its_value() -> None:
    out = _text("ex05", SHRUNK)
    assert "smallest  the smallest input found" in out, "a case was shrunk"
    assert "full inputy_true" not in out
    lines = out.splitlines()
    at = lines.index("    full input")
    assert lines[at + 1].startswith(" " * VALUE_COLUMN + "y_true = [")
    details = out[out.index("First failing cases") : out.index("All cases")].splitlines()
    for line in details:
        if line.startswith("    ") and line[4] != " " and len(line.rstrip()) > VALUE_COLUMN:
            assert line[VALUE_COLUMN - 1] == " ", f"a label runs into its value: {line!r}"


def _listed(out: str) -> list[tuple[str, str, str]]:
    """The list of cases: (name as shown, points, brief) per line."""
    rows = []
    for line in out[out.index("All cases\n") :].splitlines()[1:]:
        if not line.startswith("  "):
            break
        found = re.match(r"^  [✓✗!] (.*?)\s+(\d+(?:\.\d+)?/\d+(?:\.\d+)?)(?:  (.*))?$", line)
        assert found, line
        name, score, brief = found.groups()
        rows.append((name, score, brief or ""))
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("columns", [60, 80, 100, 120])
def test_shortened_case_names_stay_distinct_and_numbers_stay_whole(columns: int) -> None:
    out = _text("ex02", LOG2_EX02, columns)
    report = run_grade("ex02", "--file", str(LOG2_EX02), "--seed", "1", "--format", "json").json()
    tests = report["tests"]
    rows = _listed(out)
    assert len(rows) == len(tests)
    assert all(len(line) <= columns for line in out.splitlines())
    full = [t["name"] + (" (hidden)" if t["visibility"] == "hidden" else "") for t in tests]
    shown = [name for name, _, _ in rows]
    assert len(set(shown)) == len(set(full)), "two different cases print alike"
    if columns <= 100:
        assert any(" ... " in name for name in shown), "some name is shortened at this width"
    for (name, _, brief), case, whole in zip(rows, tests, full, strict=True):
        head, _, tail = name.partition(" ... ")
        assert whole.startswith(head), (name, whole)
        assert whole.endswith(tail), (name, whole)
        for number in re.findall(r"\d[\d.]*", name):
            assert number in re.findall(r"\d[\d.]*", whole), f"{number!r} is cut in {name!r}"
        assert not re.search(r"\d\.\.\.|\.\.\.\d", brief), brief
        if "expected" in brief:
            low, high = case["details"]["expected_low"], case["details"]["expected_high"]
            wanted = f"{low:.5g}" if low == high else f"{low:.5g} to {high:.5g}"
            assert brief.endswith(f"expected {wanted}"), (brief, wanted)
        elif brief.startswith("got"):
            assert re.fullmatch(r"got \S+", brief), brief


@pytest.mark.slow
def test_at_100_columns_the_cases_of_the_issue_print_distinct_and_whole() -> None:
    rows = _listed(_text("ex02", LOG2_EX02, 100))
    zeros = [name for name, _, _ in rows if name.startswith("random batch with zero")]
    assert len(zeros) == 2
    assert zeros[0].endswith("#1")
    assert zeros[1].endswith("#2")
    exactly_one = [b for n, _, b in rows if n.endswith("probability exactly 1")]
    assert exactly_one == ["got 0.5, expected 0.34657 to 0.34658"]


@pytest.mark.slow
def test_a_wrong_value_never_reads_as_the_expected_one(tmp_path: Path) -> None:
    """Under a tolerance tighter than five digits, a value off in its sixth digit is wrong,
    and the one-line brief shows the digits that make it so."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises", course / "exercises")
    shutil.copytree(REPO / "solutions", course / "solutions")
    ex01 = course / "exercises" / "ex01.yaml"
    ex01.write_text(
        ex01.read_text().replace(
            "tolerance: {rtol: 1.0e-4, atol: 1.0e-9}", "tolerance: {rtol: 1.0e-7, atol: 1.0e-12}"
        )
    )
    submission = write(
        tmp_path / "ex01.py",
        "import numpy as np\n\n\ndef binary_cross_entropy(y_true, y_pred):\n"
        "    y, p = np.asarray(y_true, float), np.clip(np.asarray(y_pred, float), 1e-7, 1 - 1e-7)\n"
        "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) * (1 + 3e-6))\n",
    )
    result = run_grade(
        "ex01", "--file", str(submission), "--seed", "1", "--course", str(course),
        env={"COLUMNS": "120"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    briefs = re.findall(r"got ([-\d.e+]+), expected ([-\d.e+]+)\s*$", result.stdout, re.MULTILINE)
    assert briefs, result.stdout
    assert all(got != expected for got, expected in briefs), briefs
    assert ("0.223144", "0.223144") not in briefs
    assert any(len(got.lstrip("0.")) > 5 for got, _ in briefs)


@pytest.mark.slow
def test_the_diagnosis_says_why_it_rests_on_fewer_cases_than_fail(tmp_path: Path) -> None:
    out = _text("ex02", MINUS_EX02, 100)
    flat = " ".join(out.split())
    total = re.search(r"match a known mistake on all (\d+) failing cases:", flat)
    parts = re.search(
        r"\((\d+) of them tell it from the right answer; the other (\d+) agree with it as "
        r"well, but there the right answer is a range, or too close to the mistake's, to tell "
        r"the two apart\)",
        flat,
    )
    assert total, flat[:600]
    assert parts, flat[:600]
    assert int(parts.group(1)) + int(parts.group(2)) == int(total.group(1))
    assert int(parts.group(2)) > 0
    # The same words in every format that shows the diagnosis.
    md = tmp_path / "feedback.md"
    made = run_grade("ex02", "--file", str(MINUS_EX02), "--seed", "1", "--report", str(md))
    assert made.returncode == 1
    markdown = " ".join(md.read_text().split())
    assert f"the other {parts.group(2)} agree with it as well" in markdown
    assert "tell the two apart" in markdown


@pytest.mark.slow
def test_a_diagnosis_counts_only_the_failing_cases_that_returned_a_number(
    tmp_path: Path,
) -> None:
    """A base-2 log that raises on predictions of exactly 0 or 1: those cases fail with an
    error and are no evidence, and the head says which failing cases it counts."""
    submission = write(
        tmp_path / "ex01.py",
        "import numpy as np\n\n\ndef binary_cross_entropy(y_true, y_pred):\n"
        "    if np.any((y_pred == 0) | (y_pred == 1)):\n"
        "        raise ValueError('a prediction of exactly 0 or 1')\n"
        "    terms = y_true * np.log2(y_pred) + (1 - y_true) * np.log2(1 - y_pred)\n"
        "    return float(-np.mean(terms))\n",
    )
    flat = " ".join(_text("ex01", submission).split())
    assert re.search(r"on all \d+ failing cases that returned a number:", flat), flat[:400]
    assert "[log2]" in flat


# --- the HTML plot, in a real browser ---------------------------------------------------------

VIEWPORTS = [{"width": 375, "height": 812}, {"width": 390, "height": 844}]
DESKTOP = {"width": 1280, "height": 900}
#: A plot label long enough to wrap on any screen, with minus signs spaced and unary.
LONG_LABEL = (
    "one-hot [1, 0], prediction [p, 1 - p], p swept over the whole range from -0 up to 1, "
    "a label much longer than any legend row"
)

_MEASURE = """() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const svg = document.querySelector('svg.plot');
  const scale = svg.getScreenCTM().a;
  const ticks = [...svg.querySelectorAll('text.tick')].map(t => ({
    text: t.textContent, box: box(t), px: parseFloat(getComputedStyle(t).fontSize) * scale}));
  const legend = [...document.querySelectorAll('.legend li')].map(li => ({
    swatch: box(li.querySelector('svg')), text: box(li.querySelector('span')),
    px: parseFloat(getComputedStyle(li.querySelector('span')).fontSize)}));
  const label = document.querySelector('.x-label');
  return {svg: box(svg), figure: box(document.querySelector('figure.plot')),
          ticks, legend, label: {box: box(label), px: parseFloat(getComputedStyle(label).fontSize)},
          scroll: document.documentElement.scrollWidth, width: window.innerWidth};
}"""

#: For each minus sign (U+2212) in the legend and the axis label: whether the character
#: after it, and the one before a spaced minus, is on the same line (same top).
_MINUS_LINES = """() => {
  const found = [];
  for (const el of document.querySelectorAll('.legend span:not(.nowrap), .x-label')) {
    const chars = [];
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode())
      for (let i = 0; i < node.textContent.length; i++) chars.push([node, i]);
    const text = chars.map(([node, i]) => node.textContent[i]).join('');
    const top = k => { const [node, i] = chars[k]; const r = document.createRange();
                       r.setStart(node, i); r.setEnd(node, i + 1);
                       return r.getClientRects()[0].top; };
    for (let k = 0; k < text.length; k++) {
      if (text[k] !== '\\u2212') continue;
      // A spaced minus ("1 - p") stays with both operands, a negative number ("-0") whole.
      const spaced = /\\s/.test(text[k + 1]);
      const next = spaced ? k + 2 : k + 1;
      const prev = spaced ? k - 2 : -1;
      found.push({same_next: Math.abs(top(k) - top(next)) < 1,
                  same_prev: prev < 0 || Math.abs(top(k) - top(prev)) < 1});
    }
  }
  return found;
}"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["l"] < b["r"] - 0.5
        and b["l"] < a["r"] - 0.5
        and a["t"] < b["b"] - 0.5
        and b["t"] < a["b"] - 0.5
    )


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["l"] >= outer["l"] - 0.5
        and inner["r"] <= outer["r"] + 0.5
        and inner["t"] >= outer["t"] - 0.5
        and inner["b"] <= outer["b"] + 0.5
    )


def _check_layout(found: dict[str, Any], *, phone: bool) -> None:
    where = f"at {found['width']} px"
    assert found["scroll"] <= found["width"], f"sideways scrolling {where}"
    ticks = found["ticks"]
    assert len(ticks) == 11
    for tick in ticks:
        assert _inside(tick["box"], found["svg"]), f"tick {tick['text']!r} leaves the chart {where}"
        assert tick["px"] >= 12, f"tick {tick['text']!r} is {tick['px']:.1f} px {where}"
    for i, a in enumerate(ticks):
        for b in ticks[i + 1 :]:
            assert not _overlap(a["box"], b["box"]), f"{a['text']!r} on {b['text']!r} {where}"
    assert found["label"]["px"] >= (12 if phone else 14)
    assert _inside(found["label"]["box"], found["figure"])
    legend = found["legend"]
    assert len(legend) == 2, "reference and yours"
    boxes = [part for entry in legend for part in (entry["swatch"], entry["text"])]
    for i, a in enumerate(boxes):
        assert _inside(a, found["figure"]), f"a legend entry reaches past the plot {where}"
        for b in boxes[i + 1 :]:
            assert not _overlap(a, b), f"legend parts overlap {where}: {a} {b}"
    for entry in legend:
        assert entry["px"] >= (12 if phone else 14)
        assert not _overlap(entry["swatch"], found["label"]["box"])


def _ex02_report(tmp_path: Path, course: Path | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "feedback.html"
    extra = ["--course", str(course)] if course is not None else []
    made = run_grade("ex02", "--file", str(LOG2_EX02), "--seed", "1", "--report", str(path), *extra)
    assert made.returncode == 1, made.stderr
    return path


def _long_label_course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    shutil.copytree(REPO / "exercises", course / "exercises")
    shutil.copytree(REPO / "solutions", course / "solutions")
    yaml_path = course / "exercises" / "ex02.yaml"
    text = yaml_path.read_text()
    old = '    - label: "one-hot [1, 0], prediction [p, 1 - p]"'
    assert old in text
    yaml_path.write_text(text.replace(old, f'    - label: "{LONG_LABEL}"'))
    return course


@pytest.mark.slow
@pytest.mark.browser
def test_the_plot_fits_and_reads_on_a_phone_and_a_desktop(tmp_path: Path) -> None:
    executable = _browser()
    from playwright.sync_api import sync_playwright

    plain = _ex02_report(tmp_path / "plain")
    long = _ex02_report(tmp_path / "long", _long_label_course(tmp_path))
    assert "1\u00a0\u2212\u00a0p" in plain.read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        try:
            for viewport, phone in [(v, True) for v in VIEWPORTS] + [(DESKTOP, False)]:
                page = browser.new_page(viewport=viewport)
                for report in (plain, long):
                    page.goto(report.as_uri())
                    page.locator("figure.plot").scroll_into_view_if_needed()
                    _check_layout(page.evaluate(_MEASURE), phone=phone)
                page.close()
        finally:
            browser.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_minus_sign_never_wraps_away_from_its_operands(tmp_path: Path) -> None:
    executable = _browser()
    from playwright.sync_api import sync_playwright

    report = _ex02_report(tmp_path, _long_label_course(tmp_path))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        try:
            page = browser.new_page(viewport=VIEWPORTS[0])
            page.goto(report.as_uri())
            for width in range(60, 360, 3):  # every place a line can end
                page.evaluate(
                    "w => { for (const el of document.querySelectorAll('.legend, .x-label'))"
                    " el.style.width = w + 'px'; }",
                    width,
                )
                minus = page.evaluate(_MINUS_LINES)
                assert len(minus) >= 4, "the long label's minus signs, in both entries"
                for sign in minus:
                    assert sign["same_next"], f"a minus wraps from what follows at {width} px"
                    assert sign["same_prev"], f"a minus wraps from what precedes at {width} px"
                if width == 60:
                    lines = page.evaluate(
                        "() => { const r = document.createRange();"
                        " r.selectNodeContents(document.querySelector('.legend li > span'));"
                        " const tops = [...r.getClientRects()].map(x => Math.round(x.top));"
                        " return new Set(tops).size; }"
                    )
                    assert lines > 5, "the label wraps onto many lines at this width"
        finally:
            browser.close()
