"""grader.notebook: `check("ex03")` in real Jupyter kernels, and the module it builds."""

from __future__ import annotations

import html
import json
import linecache
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from grader.course import Course
from grader.notebook import SourceError, build_module, check
from grader.render.numbers import points

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLE = REPO / "examples" / "loss_in_a_notebook.ipynb"
KERNEL = "grader-test-python"
ENTRY = "sparse_categorical_cross_entropy"

GOOD = """\
import numpy as np


def sparse_categorical_cross_entropy(y_true, y_pred):
    picked = y_pred[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1 - 1e-7))))
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernelspec for this very interpreter, in a folder of this run only (nothing is
    installed for the user), and Jupyter's and IPython's own files kept there too."""
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / KERNEL / "kernel.json"
    spec.parent.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(home))
        env.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))
        env.setenv("JUPYTER_PLATFORM_DIRS", "1")
        env.setenv("IPYTHONDIR", str(home / "ipython"))
        env.delenv("GRADER_COURSE", raising=False)
        try:
            execute(nbformat.v4.new_notebook(), home)
        except Exception as exc:  # any way a kernel fails to start
            pytest.skip(f"no IPython kernel starts here: {type(exc).__name__}: {exc}")
        yield KERNEL


def execute(nb: Any, folder: Path) -> Any:
    """Run every cell in a kernel whose working directory is `folder`; a cell that raises
    fails the test with its traceback."""
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name=KERNEL, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return nb


def notebook(*cells: str) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return nb


def shown(cell: Any, mime: str) -> str:
    """What a cell displayed as `mime`; the cell printed no traceback and nothing to stderr."""
    kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
    assert ("error", None) not in kinds
    assert ("stream", "stderr") not in kinds
    found = [
        o.data[mime]
        for o in cell.outputs
        if o.output_type in ("execute_result", "display_data") and mime in o.data
    ]
    assert len(found) == 1, cell.outputs
    text: str = found[0]
    return text


def report_document(output: str) -> str:
    """The report inside the inline frame."""
    match = re.fullmatch(r'<iframe [^>]*srcdoc="([^"]*)"></iframe>', output)
    assert match, output[:300]
    return html.unescape(match.group(1))


def score_text(exercise: str, score: float) -> str:
    total = Course(REPO).load(exercise).points
    return f'<span class="visually-hidden">Score: </span>{points(score)} / {points(total)}'


# --- in real kernels ---------------------------------------------------------------------


@pytest.mark.slow
def test_example_notebook_shows_full_marks_inline(kernel: str) -> None:
    """The kernel starts in examples/, and check finds the course upwards as the CLI does."""
    nb = execute(nbformat.read(EXAMPLE, as_version=4), EXAMPLE.parent)
    cell = next(c for c in nb.cells if c.get("id") == "grade")
    document = report_document(shown(cell, "text/html"))
    assert document.startswith("<!DOCTYPE html>")
    assert score_text("ex03", 25) in document
    assert '<section id="plot">' in document
    assert "not passed to the grader" not in document  # the toy data is not needed
    assert "Score 25/25" in shown(cell, "text/plain")


@pytest.mark.slow
def test_wrong_log_base_is_diagnosed_inline(
    kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_COURSE", str(REPO))
    log2 = GOOD.replace("np.log(", "np.log2(")
    nb = execute(notebook(log2, 'from grader.notebook import check\ncheck("ex03")'), tmp_path)
    document = report_document(shown(nb.cells[1], "text/html"))
    title = next(m.title for m in Course(REPO).load("ex03").mistakes if m.id == "log2")
    assert '<section class="box diagnosis" id="diagnosis">' in document
    assert title in document


@pytest.mark.slow
def test_function_using_a_notebook_array_fails_cleanly_with_a_note(
    kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_COURSE", str(REPO))
    weighted = GOOD.replace("return float(-np.mean(", "return float(-np.mean(weights[y_true] * ")
    nb = execute(
        notebook(
            "import numpy as np\nweights = np.ones(10)",
            weighted,
            'from grader.notebook import check\nresult = check("ex03")\nresult',
            "print(result.score, result.max_score)",
        ),
        tmp_path,
    )
    document = report_document(shown(nb.cells[2], "text/html"))
    assert (
        "`weights` (a numpy.ndarray) is not passed to the grader: the function must not "
        "depend on notebook state"
    ) in document
    assert score_text("ex03", 0) in document
    assert "NameError" in document
    assert nb.cells[3].outputs[0].text == "0.0 25.0\n"


@pytest.mark.slow
def test_notebook_without_the_function_gets_a_message(
    kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_COURSE", str(REPO))
    nb = execute(notebook('from grader.notebook import check\ncheck("ex03")'), tmp_path)
    wanted = f"define `{ENTRY}(y_true, y_pred)` in a cell and run it first"
    assert wanted in shown(nb.cells[0], "text/plain")
    assert f"define <code>{ENTRY}(y_true, y_pred)</code> in a cell" in shown(
        nb.cells[0], "text/html"
    )


# --- in this process -----------------------------------------------------------------------


def cells(*sources: str) -> dict[str, Any]:
    """A namespace filled as IPython fills one: each cell's source registered in linecache
    under its own file name, so inspect.getsource finds it."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for index, source in enumerate(sources):
        filename = f"<test-cell-{id(namespace)}-{index}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)
    return namespace


def test_module_holds_imports_helpers_and_constants_but_not_data() -> None:
    ns = cells(
        "import numpy as np\nfrom math import log as ln\nEPS = 1e-7\nCLIP = (EPS, 1 - EPS)\n"
        "TINY = np.finfo(np.float64).eps\ndata = np.ones(3)\n",
        "def pick(y_true, y_pred):\n    return y_pred[np.arange(len(y_true)), y_true]\n",
        "def sparse_categorical_cross_entropy(y_true, y_pred, eps=EPS):\n"
        "    p = np.clip(pick(y_true, y_pred), *CLIP) + 0 * TINY\n"
        "    return float(-np.mean(np.log(p))) + 0 * ln(2)\n",
    )
    module = build_module(ENTRY, ns[ENTRY])
    assert "import numpy as np\n" in module.source
    assert "from math import log as ln\n" in module.source
    assert "EPS = 1e-07\n" in module.source
    assert "CLIP = (1e-07, 0.9999999)\n" in module.source
    assert "TINY = numpy.float64(2.220446049250313e-16)\n" in module.source
    assert module.source.index("def pick(") < module.source.index(f"def {ENTRY}(")
    assert "data" not in module.source
    assert module.notes == ()
    built: dict[str, Any] = {}
    exec(compile(module.source, "ex03.py", "exec"), built)
    y_true, y_pred = ns["np"].array([0, 1]), ns["np"].array([[0.7, 0.3], [0.2, 0.8]])
    assert built[ENTRY](y_true, y_pred) == ns[ENTRY](y_true, y_pred)


def test_decorator_and_alias_come_with_their_source() -> None:
    ns = cells(
        "import functools\n"
        "def logged(f):\n    @functools.wraps(f)\n"
        "    def inner(*args):\n        return f(*args)\n    return inner\n",
        "@logged\ndef my_loss(y_true, y_pred):\n    return 0.0\n",
    )
    module = build_module(ENTRY, ns["my_loss"])
    assert "import functools\n" in module.source
    assert "def logged(f):" in module.source
    assert module.source.rstrip().endswith(f"{ENTRY} = my_loss")


def test_lambda_assigned_to_a_name_is_graded_whole() -> None:
    ns = cells(f"{ENTRY} = lambda y_true, y_pred: 0.0\n")
    assert f"{ENTRY} = lambda y_true, y_pred: 0.0" in build_module(ENTRY, ns[ENTRY]).source


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("losses = {'a': lambda y_true, y_pred: 0.0}\n", "lambda inside a larger statement"),
        ("def make():\n    def f(y_true, y_pred):\n        return 0.0\n    return f\n", "inside"),
    ],
)
def test_source_that_cannot_stand_alone_is_explained(source: str, message: str) -> None:
    ns = cells(source)
    function = ns["losses"]["a"] if "losses" in ns else ns["make"]()
    with pytest.raises(SourceError, match=message):
        build_module(ENTRY, function)


def test_function_without_source_is_explained() -> None:
    namespace: dict[str, Any] = {}
    exec("def f(y_true, y_pred):\n    return 0.0\n", namespace)
    with pytest.raises(SourceError, match="cannot be found"):
        build_module(ENTRY, namespace["f"])


def test_check_outside_ipython_looks_in_the_callers_globals() -> None:
    result = check("ex03", course=REPO)
    assert result.report is None
    assert result.score == 0
    assert result.max_score == 25
    assert f"define `{ENTRY}(y_true, y_pred)` in a cell and run it first" in repr(result)


@pytest.mark.slow
def test_inline_report_is_the_html_report_file() -> None:
    ns = cells(GOOD)
    result = check("ex03", course=REPO, function=ns[ENTRY], seed=1)
    assert result.report is not None
    assert result.passed
    assert report_document(result._repr_html_()) == result.html()
    assert result.report.submission == f"{ENTRY}() from the notebook"
    assert result._repr_markdown_().startswith("## ex03")
