"""Allows ``python -m grader`` where the ``grade`` script is not on PATH."""

from grader.cli import main

main()
