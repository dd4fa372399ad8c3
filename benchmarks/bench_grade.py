"""Wall time of `grade exNN` on a correct submission, as a student runs it.

Run by hand (never in the test suite) and record the result in README.md:

    python benchmarks/bench_grade.py [--runs 20]

Each run is a fresh `grade` process, so interpreter start, imports, the sandbox child,
the reference and the rendering are all counted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
