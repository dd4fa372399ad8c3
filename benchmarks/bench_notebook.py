"""Reading a notebook submission: N small cells, each using the one before, and the function.

Run by hand (never in the test suite):

    python benchmarks/bench_notebook.py [--cells 10000] [--runs 5]

Issue 22: a notebook of 10,000 cells in a chain took more than 28 s to read, because the
statements the function needs were found by a fixed point over every statement at once
(quadratic in the length of the chain). The goal is well under a second for the cell
dependency resolution (`notebook_source._needed`) and about a second for the whole read
(nbformat's validation and one `ast.parse` a cell). Prints the median of each part.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grader.exercise import notebook_source

ENTRY = "binary_cross_entropy"


def _write(path: Path, cells: int) -> None:
    chain = ["x0 = 0.0", *(f"x{i} = x{i - 1} * 1.0" for i in range(1, cells))]
    body = f"def {ENTRY}(y_true, y_pred):\n    return x{cells - 1}"
    notebook = new_notebook(cells=[new_code_cell(c) for c in [*chain, body]])
    nbformat.write(notebook, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.ipynb"
        _write(path, options.cells)
        print(f"{options.cells} cells, {path.stat().st_size / 2**20:.1f} MiB")
        cells_s, needed_s, read_s = [], [], []
        for _ in range(options.runs):
            started = time.perf_counter()
            cells, _ = notebook_source._code_cells(path)
            cells_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            chosen = notebook_source._needed(cells, cells[-1], ENTRY)
            needed_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            module = notebook_source.read(path, ENTRY)
            read_s.append(time.perf_counter() - started)
        assert len(chosen) == options.cells + 1, len(chosen)
        assert len(module.origin) == options.cells + 2
    print(f"cells read and parsed: {statistics.median(cells_s):.3f} s")
    print(f"dependency resolution: {statistics.median(needed_s):.3f} s")
    print(f"whole read:            {statistics.median(read_s):.3f} s")


if __name__ == "__main__":
    main()
