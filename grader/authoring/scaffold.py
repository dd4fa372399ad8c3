"""`grade new ID`: a new exercise that validates and self-tests before its author edits it.

Starting from a working example teaches the YAML by showing it, and every later edit can
be checked at once with `grade validate` and `grade selftest`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from grader.course import COURSE_FILE
from grader.errors import GraderError
from grader.exercise.spec import RESERVED_IDS

_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")
SCHEMA_NAME = "exercise.schema.json"
#: The schemas copied beside the exercises: an exercise file's, and the course file's.
SCHEMA_NAMES = (SCHEMA_NAME, "course.schema.json")


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
    course_file = course_root / COURSE_FILE
    if not course_file.exists():
        # The course's own words start neutral and named after its folder; an existing
        # course file is the author's, never rewritten.
        files[course_file] = "course.yaml.j2"
    written = []
    try:
        for path, template in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            own = {"title": _course_title(course_root)} if path == course_file else {}
            text = env.get_template(template).render(**{**values, **own})
            path.write_text(text, encoding="utf-8")
            written.append(path)
        for name in SCHEMA_NAMES:
            written += _schema_beside(course_root / "exercises", name)
    except OSError as exc:
        raise GraderError(f"cannot write {exc.filename}: {exc.strerror}") from None
    return written


def _course_title(course_root: Path) -> str:
    name = course_root.resolve().name.replace("-", " ").replace("_", " ").strip()
    return name[:1].upper() + name[1:] if name else "Exercises"


def _schema_beside(exercises: Path, name: str) -> list[Path]:
    """A JSON Schema next to the files, for the editor line each file starts with;
    refreshed so that it matches the grader installed."""
    target = exercises / name
    text = resources.files("grader").joinpath(f"schema/{name}").read_text("utf-8")
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return []
    target.write_text(text, encoding="utf-8")
    return [target]
