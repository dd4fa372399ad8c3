"""grader: auto-graded exercises on the loss functions of neural networks.

The library API is `grader.exercise.grading.grade`; the `grade` command (grader.cli) is a thin
shell over it.
"""

#: The single source of the version (pyproject.toml reads it from here); a literal because
#: importlib.metadata costs 35 ms at every start of `grade`.
__version__ = "0.1.0"
