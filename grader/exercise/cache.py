"""Exercise files already validated, remembered by their content: `grade exNN` starts fast.

A run after the first skips the JSON Schema step (and the import of jsonschema) for a file
whose bytes, and grader version, it has seen validate. The cache holds plain JSON, never
pickle; an entry whose key does not match, or that cannot be read, is rebuilt rather than
trusted. The rules that depend on where the file lives (its id against its name) are
checked on every load: they cost microseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from grader import __version__
from grader.errors import SpecError
from grader.exercise.spec import Exercise, exercise_from, parse_exercise
from grader.exercise.yamlfile import PathKey, Position, read_text, schema

#: Set to 0 to read every file afresh (a course author debugging the cache itself).
ENV_VAR = "GRADER_CACHE"


def cache_dir() -> Path | None:
    if os.environ.get(ENV_VAR, "1") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grader"


def _key(raw: bytes) -> str:
    """Same bytes, same grader and same schema: the same verdict on the file."""
    digest = hashlib.sha256(f"grader {__version__}\n".encode())
    digest.update(json.dumps(schema(), sort_keys=True).encode())
    digest.update(raw)
    return digest.hexdigest()


def _read(path: Path, key: str) -> tuple[dict[str, Any], dict[PathKey, Position]] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("key") != key:
            return None
        data = document["data"]
        lines = {tuple(k): (int(v[0]), int(v[1])) for k, v in document["lines"]}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    if not isinstance(data, dict):
        return None
    return data, lines


def _write(path: Path, key: str, data: dict[str, Any], lines: dict[PathKey, Position]) -> None:
    """Best effort: a read-only or full home directory only costs speed."""
    try:
        document = json.dumps(
            {"key": key, "data": data, "lines": [[list(k), list(v)] for k, v in lines.items()]}
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".exercise-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(document)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        return


def load_exercise(source: Path) -> Exercise:
    """The exercise in a file, validated now or on an earlier run of the same bytes."""
    directory = cache_dir()
    try:
        # Bounded as the parser's read is: a huge file is refused there, not hashed here.
        raw = read_text(source).encode("utf-8")
    except SpecError:
        raw = None
    if directory is None or raw is None:
        return parse_exercise(source)[0]
    key = _key(raw)
    entry = directory / f"exercise-{key[:40]}.json"
    cached = _read(entry, key)
    if cached is not None:
        try:
            return exercise_from(cached[0], source, cached[1])
        except Exception:
            # An entry that does not build (edited by hand, or the file now fails a rule
            # that depends on its place): the file itself gives the verdict.
            pass
    exercise, data, lines = parse_exercise(source)
    _write(entry, key, data, lines)
    return exercise
