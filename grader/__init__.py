"""grader: auto-graded exercises on the loss functions of neural networks.

The library API lives in :mod:`grader.grading`; the ``grade`` command is a thin shell over it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("grader")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
