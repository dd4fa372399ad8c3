"""Who reads what the grader says, which decides what its advice may ask of them.

A student at a terminal runs `grade`: a command or an option is advice they can follow.
A student who uploaded a file to a service (Gradescope) has nothing to run: the same fact
is worded as something to do with the file. The caller that knows the reader decides once
(`grade gradescope` in grader/integrations/gradescope.py) and passes it to grading and to
the renderer; the model stays free of it.
"""

from __future__ import annotations

from enum import Enum


class Audience(Enum):
    #: Runs `grade` in a terminal (or CI): commands and options are advice.
    TERMINAL = "terminal"
    #: Uploaded a file to a grading service: no command or option to run.
    UPLOAD = "upload"
