"""The notebook's public name: `from grader.notebook import check` in a student's notebook.

The code lives in grader/integrations/notebook.py with the other places students work;
this name stays, since every handed-out notebook imports it.
"""

from grader.integrations.notebook import CheckResult, Module, SourceError, build_module, check

__all__ = ["CheckResult", "Module", "SourceError", "build_module", "check"]
