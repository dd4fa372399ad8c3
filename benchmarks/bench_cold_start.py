"""Cold start: `grade ex03` on a correct submission against `python -c "import numpy"`.

Run by hand (never in the test suite) and record the result in README.md:

    python benchmarks/bench_cold_start.py [--runs 20] [--exercise ex03]

Both commands run in this interpreter's environment, interleaved, so that a machine
busier in one moment than another slows both alike. The goal (issue 13): the ratio of the
medians at most 2.5. The first `grade` run, which fills the cache of validated exercise
files, is reported apart and not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOOD = "tests/fixtures/submissions/{exercise}/good_vectorised.py"


def _seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, env=env, stdout=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--exercise", default="ex03")
    args = parser.parse_args()
    submission = REPO / GOOD.format(exercise=args.exercise)
    if not submission.is_file():
        submission = REPO / f"tests/fixtures/submissions/{args.exercise}/good_fancy_indexing.py"
    grade = shutil.which("grade")
    grade_cmd = [grade] if grade else [sys.executable, "-m", "grader"]
    grade_cmd += [args.exercise, "--file", str(submission), "--seed", "1"]
    numpy_cmd = [sys.executable, "-c", "import numpy"]
    with tempfile.TemporaryDirectory() as cache:
        # As a student's machine runs it: bytecode cached (some CI images set
        # PYTHONDONTWRITEBYTECODE, which makes every run compile grader from source).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["XDG_CACHE_HOME"] = cache
        first = _seconds(grade_cmd, env)
        grades, numpys = [], []
        for _ in range(args.runs):
            numpys.append(_seconds(numpy_cmd, env))
            grades.append(_seconds(grade_cmd, env))
    g, n = statistics.median(grades), statistics.median(numpys)
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, interleaved")
    print(f"grade {args.exercise} (first run, filling the cache): {first:.3f} s")
    print(f"grade {args.exercise}: median {g:.3f} s (min {min(grades):.3f}, max {max(grades):.3f})")
    print(f"import numpy: median {n:.3f} s (min {min(numpys):.3f}, max {max(numpys):.3f})")
    print(f"ratio of medians: {g / n:.2f} (goal: at most 2.5)")


if __name__ == "__main__":
    main()
