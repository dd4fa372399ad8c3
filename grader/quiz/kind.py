"""Whether a file of exercises/ is a quiz, decided without loading the quiz machinery: the
course lists its items on every `grade` run, and an exercise run should not pay for it."""

from __future__ import annotations

import re
from pathlib import Path

_KIND_LINE = re.compile(r"^kind:\s*['\"]?quiz['\"]?\s*(#.*)?$", re.MULTILINE)


def is_quiz(path: Path) -> bool:
    """Whether a file of exercises/ is a quiz: a top-level 'kind: quiz' line. Read as text,
    not parsed, so that listing a course never fails on a broken file of the other kind."""
    try:
        return bool(_KIND_LINE.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False
