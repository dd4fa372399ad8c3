"""`grade new ID`: a new exercise that validates and self-tests before its author edits it.

Starting from a working example teaches the YAML by showing it, and every later edit can
be checked at once with `grade validate` and `grade selftest`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from grader.errors import GraderError
from grader.exercise.spec import RESERVED_IDS

_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")
SCHEMA_NAME = "exercise.schema.json"


def scaffold(course_root: Path, exercise_id: str, *, title: str) -> list[Path]:
    """Write the exercise and its solutions; never overwrite a file."""
    import jinja2

    if not _ID.fullmatch(exercise_id) or exercise_id in RESERVED_IDS:
        raise GraderError(
            f"{exercise_id!r} cannot be an exercise id",
            fix="Use lowercase letters, digits, '_' or '-', starting with a letter (ex05), "
            f"and none of: {', '.join(sorted(RESERVED_IDS))}.",
        )
    module = exercise_id.replace("-", "_")
    files = {
        course_root / "exercises" / f"{exercise_id}.yaml": "exercise.yaml.j2",
        course_root / "solutions" / f"{module}.py": "reference.py.j2",
        course_root / "solutions" / f"mistakes_{module}.py": "mistakes.py.j2",
        course_root / "solutions" / f"variants_{module}.py": "variants.py.j2",
    }
    existing = [str(p) for p in files if p.exists()]
    if existing:
        raise GraderError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written",
            fix="Choose another id, or remove those files first.",
        )
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates/new"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # YAML and Python, not HTML
    )
    values = {"id": exercise_id, "title": title, "module": module, "function": "loss"}
    written = []
    try:
        for path, template in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(env.get_template(template).render(**values), encoding="utf-8")
            written.append(path)
        written += _schema_beside(course_root / "exercises")
    except OSError as exc:
        raise GraderError(f"cannot write {exc.filename}: {exc.strerror}") from None
    return written


def _schema_beside(exercises: Path) -> list[Path]:
    """The JSON Schema next to the files, for the editor line each file starts with;
    refreshed so that it matches the grader installed."""
    target = exercises / SCHEMA_NAME
    text = resources.files("grader").joinpath(f"schema/{SCHEMA_NAME}").read_text("utf-8")
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return []
    target.write_text(text, encoding="utf-8")
    return [target]
