"""grader: auto-graded exercises on the loss functions of neural networks.

The library API is `grader.exercise.grading.grade`; the `grade` command (grader.cli) is a thin
shell over it.
"""

#: The single source of the version (pyproject.toml reads it from here); a literal because
#: importlib.metadata costs 35 ms at every start of `grade`.
__version__ = "0.1.0"

#: One BLAS thread wherever numpy computes for the grader (its own processes, a class's
#: workers, the sandbox): its arrays are small, the cores are already busy, and an idle
#: OpenBLAS thread spins after numpy loads (0.1 s of CPU for every process that loads it).
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
