"""Wall time of `grade exNN` on a correct submission, as a student runs it.

Run by hand (never in the test suite) and record the result in README.md:

    python benchmarks/bench_grade.py [--runs 20]
    python benchmarks/bench_grade.py --hanging     # a submission that never returns

Each run is a fresh `grade` process, so interpreter start, imports, the sandbox child,
the reference and the rendering are all counted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.exercise.spec import load_exercise

REPO = Path(__file__).resolve().parents[1]
GOOD = {
    "ex01": "tests/fixtures/submissions/ex01/good_vectorised.py",
    "ex02": "tests/fixtures/submissions/ex02/good_vectorised.py",
    "ex03": "tests/fixtures/submissions/ex03/good_fancy_indexing.py",
    "ex04": "tests/fixtures/submissions/ex04/good_vectorised.py",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "process"], default="auto")
    parser.add_argument(
        "--hanging",
        action="store_true",
        help="grade a submission whose function never returns (once per exercise): the "
        "time budget bounds it",
    )
    args = parser.parse_args()
    if args.hanging:
        hanging(args.sandbox)
        return
    grade = shutil.which("grade") or f"{sys.executable} -m grader"
    print(
        f"python {sys.version.split()[0]}, {args.runs} runs each, sandbox {args.sandbox}, "
        f"command: {grade}"
    )
    for exercise, submission in GOOD.items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run(
                [
                    *grade.split(),
                    exercise,
                    *("--file", str(REPO / submission), "--seed", "1"),
                    *("--sandbox", args.sandbox),
                ],
                capture_output=True,
                check=False,
            )
            times.append(time.perf_counter() - started)
            if proc.returncode != 0:
                sys.exit(f"{exercise}: grade exited {proc.returncode}\n{proc.stdout.decode()}")
        print(
            f"{exercise}: median {statistics.median(times):.3f} s, "
            f"min {min(times):.3f} s, max {max(times):.3f} s"
        )


def hanging(sandbox: str) -> None:
    """One run per exercise of a function that loops forever in every call."""
    grade = shutil.which("grade") or f"{sys.executable} -m grader"
    with tempfile.TemporaryDirectory() as tmp:
        for exercise in GOOD:
            entry = load_exercise(REPO / "exercises" / f"{exercise}.yaml").entry.function
            path = Path(tmp) / f"{exercise}.py"
            path.write_text(f"def {entry}(y_true, y_pred):\n    while True:\n        pass\n")
            started = time.perf_counter()
            subprocess.run(
                [*grade.split(), exercise, "--file", str(path), "--sandbox", sandbox],
                capture_output=True,
                check=False,
            )
            print(f"{exercise}: hanging submission graded in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
