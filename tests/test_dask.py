"""`grade batch --dask ADDRESS`: a class graded on a Dask cluster (here a LocalCluster of
worker processes) lands in the gradebook exactly as a local run does."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SUBMISSIONS, run_grade, write

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

SOURCES = ["good_vectorised.py", "bad_log2.py", "bad_sum_not_mean.py", "good_loops_math.py"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def _rows(book: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(book) as db:
        return db.execute(
            "SELECT student, item, submission_hash, exercise_hash, score, max_score, status, "
            "mistakes, cases FROM attempts ORDER BY student"
        ).fetchall()


def test_a_class_graded_on_dask_gives_the_gradebook_of_a_local_run(
    cluster: str, tmp_path: Path
) -> None:
    klass = tmp_path / "class"
    for i in range(12):
        source = (SUBMISSIONS / "ex01" / SOURCES[i % len(SOURCES)]).read_text()
        write(klass / f"s{i:02d}" / "ex01.py", source + f"\n# student {i}\n")
    write(klass / "s99" / "ex01.py", "def binary_cross_entropy(y_true, y_pred):\n    return (\n")
    local, remote = tmp_path / "local.db", tmp_path / "dask.db"
    first = run_grade("batch", "ex01", str(klass), "--gradebook", str(local))
    assert first.returncode == 0, first.stderr
    on_dask = run_grade(
        "batch", "ex01", str(klass), "--gradebook", str(remote), "--dask", cluster, timeout=300
    )
    assert on_dask.returncode == 0, on_dask.stderr
    assert "graded 13, skipped 0" in on_dask.stdout
    assert _rows(remote) == _rows(local)
    statuses = {row[6] for row in _rows(remote)}
    assert statuses == {"passed", "failed", "error"}  # s99 does not compile
    # Graded again on the cluster: everything is already there, nothing is sent.
    again = run_grade("batch", "ex01", str(klass), "--gradebook", str(remote), "--dask", cluster)
    assert "graded 0, skipped 13" in again.stdout


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    write(klass / "s1" / "ex01.py", (SUBMISSIONS / "ex01" / "good_vectorised.py").read_text())
    result = run_grade(
        "batch",
        "ex01",
        str(klass),
        "--gradebook",
        str(tmp_path / "b.db"),
        "--dask",
        "tcp://127.0.0.1:9",
        timeout=120,
    )
    assert result.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
