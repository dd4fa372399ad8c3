"""The `grade` command (root.py), one module per group of commands.

Every command parses its options, calls one library function, renders what it returns and
sets the exit code; what a library user or a second front end would need is in the library.
"""

from grader.cli import authoring, classroom, integrations, items  # noqa: F401 (registers)
from grader.cli.root import cli, main

__all__ = ["cli", "main"]
