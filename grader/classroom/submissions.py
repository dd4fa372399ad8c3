"""A class folder's submissions: who submitted what, read safely.

DIR/<student>/<ID>.py or .ipynb, and DIR/<student>.py for one exercise. Only regular files
inside the folder are read, checked before opening and again on what was opened (a named
pipe would block the run, a link could point at the solutions); a name that is not UTF-8
is recorded under a visible escaped form; whatever goes wrong reading one file is that
student's row, never the run's end.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError
from grader.exercise.submission_file import kind_of, max_bytes


@dataclass(frozen=True)
class Submission:
    #: The student's name as it is recorded and printed (see visible_name).
    student: str
    item: str
    path: Path


#: What a submission may be, in the order preferred when a student has both.
SUFFIXES = (".py", ".ipynb")


def visible_name(name: str) -> str:
    """A file or folder name as a class run records and prints it: the name itself when it
    is valid UTF-8 without a backslash; otherwise each byte that is not UTF-8 written as
    `\\xNN` and each backslash doubled. A folder b'caf\\xe9' (from a zip made on Windows;
    Python names it with a lone surrogate, which SQLite and strict JSON refuse) is
    `caf\\xe9`, and one really named `caf\\xe9` is `caf\\\\xe9`: two different names
    never record as one student. Accented letters are recorded composed (NFC)."""
    raw = os.fsencode(name)
    shown = raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    # One form of each accented letter (NFC): macOS writes 'é' as 'e' and a combining
    # accent, and a roster typed elsewhere has the one character.
    return unicodedata.normalize("NFC", shown)


def find_submissions(directory: Path, exercise_id: str, *, flat: bool = True) -> list[Submission]:
    """DIR/<student>/<ID>.py or .ipynb, and with `flat` DIR/<student>.py or .ipynb (the
    student's name from the path); a .py file wins over a notebook of the same student.
    A student's folder that cannot be listed stands for its submission, which then cannot
    be read: its row says why."""
    if not directory.is_dir():
        raise GraderError(f"{directory} is not a directory", fix="Pass the class's folder.")
    found: dict[str, Submission] = {}
    for suffix in SUFFIXES:
        for path in sorted(directory.glob(f"*/{exercise_id}{suffix}")):
            student = visible_name(path.parent.name)
            found.setdefault(student, Submission(student, exercise_id, path))
    try:
        folders = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        raise GraderError(f"cannot list {directory}: {exc.strerror}") from None
    for folder in folders:
        student = visible_name(folder.name)
        if student in found:
            continue
        if _unlistable(folder):
            found[student] = Submission(student, exercise_id, folder / f"{exercise_id}.py")
            continue
        for suffix in SUFFIXES:
            # A link to nothing (glob passes over it): the student's row says what it is.
            path = folder / f"{exercise_id}{suffix}"
            if student not in found and path.is_symlink():
                found[student] = Submission(student, exercise_id, path)
    if flat:
        for suffix in SUFFIXES:
            for path in sorted(directory.glob(f"*{suffix}")):
                if path.is_dir() and not path.is_symlink():
                    continue  # a folder named zed.py: a student folder, read above
                student = visible_name(path.stem)
                found.setdefault(student, Submission(student, exercise_id, path))
    return sorted(found.values(), key=lambda s: s.student)


#: The kinds of what a class folder holds and no run grades, as the summary groups them.
LEFT_OUT_KINDS = {
    "twins": "names written two ways",
    "misnamed": "folders without the exercise's file",
    "empty": "empty folders",
    "twice": "students with two submissions",
    "stray": "files that are no submission",
    "other": "links and special files",
}


def left_out(directory: Path, items: Sequence[str], *, flat: bool = True) -> list[tuple[str, str]]:
    """What a class folder holds that no run of `items` grades, one line each, for the
    summary: a student folder without any of the files looked for (what it holds instead:
    'Ex01.py', 'ex01 (1).py', a subfolder), a student with two submissions of one exercise
    (the one graded named), and names that only differ in how an accent is written. The
    class's grade hides nothing that was handed in. Each as (kind, words): LEFT_OUT_KINDS."""
    try:
        entries = sorted(p for p in directory.iterdir() if not p.name.startswith("."))
    except OSError:
        return []
    wanted = [f"{item}{suffix}" for item in items for suffix in SUFFIXES]
    notes: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for entry in entries:
        try:
            notes += _entry_notes(entry, seen, items, wanted, flat, directory)
        except OSError:  # a name too long to add a suffix to, a file gone meanwhile
            continue
    return notes


def _entry_notes(
    entry: Path,
    seen: dict[str, str],
    items: Sequence[str],
    wanted: list[str],
    flat: bool,
    directory: Path,
) -> list[tuple[str, str]]:
    """One entry of the class folder's notes (see left_out)."""
    notes: list[tuple[str, str]] = []
    shown = visible_name(entry.name)
    if seen.setdefault(shown, entry.name) != entry.name:
        # Recorded alike (see visible_name): only the first is graded.
        notes.append(
            ("twins", f"{shown}: two of this name, their accents written two ways; one graded")
        )
    if entry.is_symlink():
        # A student folder or flat file that is a link has a row saying so; any other:
        inside = any((entry / name).is_symlink() or (entry / name).exists() for name in wanted)
        if not inside and entry.suffix not in SUFFIXES:
            notes.append(("other", f"{shown}: a symbolic link, left out"))
    elif entry.is_dir():
        notes += _folder_notes(entry, shown, items, wanted, flat, directory)
    elif not entry.is_file():
        notes.append(("other", f"{shown}: not a file or a folder (a pipe, socket or device)"))
    elif entry.suffix not in SUFFIXES:
        notes.append(("stray", f"{shown}: not a .py or .ipynb file, left out"))
    elif not flat:
        # Several exercises: each student's files are in a folder of their own.
        notes.append(("stray", f"{shown}: a file beside the students' folders, left out"))
    return notes


def _folder_notes(
    folder: Path, shown: str, items: Sequence[str], wanted: list[str], flat: bool, top: Path
) -> list[tuple[str, str]]:
    try:
        names = sorted(
            visible_name(n) + ("/" if (folder / n).is_dir() else "")
            for n in os.listdir(folder)
            if not n.startswith(".")
        )
    except OSError:
        return []  # its row says it cannot be listed
    held = [n for n in wanted if n in names]
    if not held:
        if not names:
            return [("empty", f"{shown}/: empty")]
        listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if names[3:] else "")
        looked = " or ".join(wanted[:2]) + (" (or another exercise's)" if wanted[2:] else "")
        return [("misnamed", f"{shown}/: no {looked}; it holds {listed}")]
    notes = []
    for item in items:
        both = [f"{item}{suffix}" for suffix in SUFFIXES if f"{item}{suffix}" in held]
        if len(both) > 1:
            notes.append(("twice", f"{shown}/: {' and '.join(both)}; {both[0]} graded"))
        for suffix in SUFFIXES:
            if flat and (top / f"{folder.name}{suffix}").is_file() and both:
                graded = f"{shown}/{both[0]}"
                notes.append(("twice", f"{shown}{suffix} and {graded}; {graded} graded"))
    return notes


def _unlistable(folder: Path) -> bool:
    """A folder (glob passes over those it cannot list, silently) that cannot be listed."""
    try:
        if not folder.is_dir():
            return False
        os.listdir(folder)
    except OSError:
        return True
    return False


def unexpected(name: str, exc: Exception) -> str:
    """What a student's row says when reading or grading their file failed in a way the
    grader did not foresee (a notebook that makes the reader recurse too deep, say)."""
    try:
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    except Exception:  # an exception that cannot say what it is
        detail = ""
    kind = type(exc).__name__ + (f": {detail}" if detail else "")
    return (
        f"the grader could not read {name} ({kind}); it was not graded. Submit it again "
        "as a plain .py file, or report this to your instructor."
    )


def read_submission(sub: Submission, directory: Path) -> tuple[bytes, str | None]:
    """A submission's content, or why it is not graded (its content then stands for it in
    the hash). Never raises: whatever the file is, the student gets a row and the class
    goes on."""
    try:
        return _read_regular(sub.path, directory), None
    except _RefusedError as exc:
        reason = str(exc)
    except OSError as exc:
        reason = f"cannot read {visible_name(sub.path.name)}: {exc.strerror or exc}"
    except Exception as exc:
        reason = unexpected(visible_name(sub.path.name), exc)
    return reason.encode(), reason


class _RefusedError(Exception):
    """A submission that is not read, and why."""


def _read_regular(path: Path, directory: Path) -> bytes:
    """The bytes of a regular file inside the class folder, and nothing else: a symbolic
    link could point at the course's solutions or at a classmate's file, and a named pipe,
    socket or device would block the run or never end (checked before opening, and again
    on what was opened: it could have been swapped meanwhile)."""
    name = visible_name(path.name)
    if any(p.is_symlink() for p in _below(path, directory)):
        target = visible_name(os.readlink(path)) if path.is_symlink() else "a linked folder"
        raise _RefusedError(f"{name} is a symbolic link ({target}): submit the file itself")
    _regular(name, os.lstat(path).st_mode)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        _regular(name, info.st_mode)
        most = max_bytes(path)
        if info.st_size > most:
            raise _RefusedError(f"{name} is {info.st_size:,} bytes, more than the {most:,} allowed")
        chunks = []
        left = most + 1  # one byte more: a file that grew meanwhile shows
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise _RefusedError(f"{name} is more than the {max_bytes(path):,} bytes allowed")
    return b"".join(chunks)


def _below(path: Path, directory: Path) -> list[Path]:
    """`path` and each folder between it and `directory`, nearest the class folder first
    (one lstat each: asking each of them whether `directory` is among its parents cost
    the batch process 0.07 ms a file three folders deep, more the deeper the folder)."""
    try:
        parts = path.relative_to(directory).parts
    except ValueError:
        return [path]
    return [directory.joinpath(*parts[: i + 1]) for i in range(len(parts))]


def _regular(name: str, mode: int) -> None:
    kind = "a symbolic link" if stat.S_ISLNK(mode) else kind_of(mode)
    if kind is not None:
        raise _RefusedError(f"{name} is {kind}, not a regular file: submit the file itself")
