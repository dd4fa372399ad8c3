"""Whether a file of exercises/ is a quiz, decided without loading the quiz machinery: the
course lists its items on every `grade` run, and an exercise run should not pay for it."""

from __future__ import annotations

import re
from pathlib import Path

_MAX_BYTES = 2 * 1024 * 1024 + 1
_KIND_LINE = re.compile(r"^kind:\s*['\"]?quiz['\"]?\s*(#.*)?$", re.MULTILINE)


def is_quiz(path: Path) -> bool:
    """Whether a file of exercises/ is a quiz: a top-level 'kind: quiz' line. Read as text,
    not parsed, so that listing a course never fails on a broken file of the other kind."""
    try:
        # Only a regular file, and no more of it than spec.COURSE_YAML lets any file hold:
        # a FIFO would block the listing, a huge file fill the memory.
        if not path.is_file():
            return False
        with path.open("rb") as handle:
            head = handle.read(_MAX_BYTES)
        return bool(_KIND_LINE.search(head.decode("utf-8", errors="replace")))
    except OSError:
        return False
