"""The one file a student hands in, checked before anything reads it for grading.

`grade --file`, Gradescope's upload and a class run's files all meet these rules (a class
run reads each file itself: classroom/submissions.py): a regular file (a named pipe would
block, a device never end), of a loss function's size, and not the course's own reference
solution. Gradescope runs the grader with the course's secrets beside the upload, so there
a symbolic link is refused outright: it could name the solutions or any file of the
machine, whose text would come back in the student's feedback.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from grader.audience import Audience
from grader.errors import SubmissionFileError

#: A loss function is a few hundred bytes; more than this is not a submission to load.
MAX_SUBMISSION_BYTES = 1024 * 1024


def max_bytes(path: Path) -> int:
    """The most a submission of this kind may be: a .py file MAX_SUBMISSION_BYTES, a
    notebook what the notebook reader takes (its outputs and metadata weigh more)."""
    from grader.exercise.notebook_source import MAX_NOTEBOOK_BYTES

    return MAX_NOTEBOOK_BYTES if path.suffix.lower() == ".ipynb" else MAX_SUBMISSION_BYTES


#: What a file that is not a regular one is, as the error names it.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind_of(mode: int) -> str | None:
    """What a file of this mode is when it is not a regular file (None: it is one)."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a file")


def check_submission(path: Path, course_root: Path, audience: Audience) -> None:
    """Raise SubmissionFileError when `path` (which exists) is not a file to grade."""
    name = path.name
    if audience is Audience.UPLOAD and path.is_symlink():
        raise SubmissionFileError(
            f"{name} is a symbolic link, not a file", fix=f"Upload the file {name} itself."
        )
    resolved = path.resolve()
    solutions = (course_root / "solutions").resolve()
    info = os.stat(resolved)
    if resolved.is_relative_to(solutions) or _same_file_in(solutions, info):
        raise SubmissionFileError(
            f"{name} is the course's own reference solution, not a submission",
            fix="Grade a student's own file.",
        )
    kind = kind_of(info.st_mode)
    if kind is not None:
        raise SubmissionFileError(
            f"{name} is {kind}, not a regular file", fix=f"Hand in the file {name} itself."
        )
    if path.suffix.lower() == ".py" and info.st_size > MAX_SUBMISSION_BYTES:
        raise SubmissionFileError(
            f"{name} is {info.st_size:,} bytes, more than the {MAX_SUBMISSION_BYTES:,} a "
            "submission may be",
            fix="Hand in the function and what it uses, without data or output pasted in.",
        )


def _same_file_in(folder: Path, info: os.stat_result) -> bool:
    """Whether a file of `folder` (a hard link reaches the solution under another path) is
    the file `info` describes."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    for entry in entries:
        try:
            found = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (found.st_dev, found.st_ino) == (info.st_dev, info.st_ino):
            return True
    return False
