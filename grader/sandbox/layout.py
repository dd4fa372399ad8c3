"""What a child is given: the child program's source, the packages it may import (as
links in its site directory), the places a backend lays out for it, and its inputs file.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import SandboxError

if TYPE_CHECKING:
    import numpy as np

CHILD_SOURCE = resources.files("grader.sandbox").joinpath("child.py").read_text("utf-8")


#: One thing to expose to the child: its name in the child's site directory, and where it
#: is on the host.
Entry = tuple[str, Path]


@functools.cache
def _distribution_names() -> dict[str, tuple[str, ...]]:
    """Import name -> the installed distributions providing it (scans every installed
    distribution: asked only when a package's shared libraries are not under its own name)."""
    import importlib.metadata

    found = importlib.metadata.packages_distributions()
    return {name: tuple(dict.fromkeys(dists)) for name, dists in found.items()}


@functools.cache
def _package_entries(name: str) -> tuple[Entry, ...]:
    if not name.isidentifier():
        raise SandboxError(f"{name!r} is not the name of a top-level package")
    try:
        # A top-level name: found without importing anything (numpy takes a while).
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise SandboxError(
            f"{name} is not installed, but the exercise lets submissions import it",
            fix=f"pip install {name}, or remove it from the exercise's packages.",
        )
    if spec.submodule_search_locations:
        where = Path(next(iter(spec.submodule_search_locations)))
    elif spec.has_location and spec.origin:
        where = Path(spec.origin)  # a module of one file
    else:
        return ()  # built into the interpreter: nothing to expose
    entries = [(where.name, where.resolve())]
    # Wheels keep the shared libraries of their extensions beside the package, named after
    # the package (numpy.libs) or after its distribution (scikit_learn.libs for sklearn).
    site = where.parent
    libs = [f"{name}.libs"]
    if not (site / libs[0]).is_dir() and any(site.glob("*.libs")):
        for dist in _distribution_names().get(name, ()):
            wheel = dist.replace("-", "_").replace(".", "_")
            libs += [f"{wheel}.libs", f"{wheel.lower()}.libs"]
    for lib in dict.fromkeys(libs):
        if (site / lib).is_dir():
            entries.append((lib, (site / lib).resolve()))
    return tuple(entries)


def package_entries(names: tuple[str, ...]) -> tuple[Entry, ...]:
    """What exposing these installed packages takes, and nothing else of site-packages: each
    one's top-level directory (or single-file module) and the shared-library directory its
    wheel keeps beside it. Raises SandboxError for a package that is not installed."""
    found: dict[str, Path] = {}
    for name in names:
        found.update(_package_entries(name))
    return tuple(found.items())


@dataclass(frozen=True)
class Layout:
    """A session's files, as the grader sees them."""

    root: Path  # private to the session, removed at the end
    io: Path  # the copy of the submission and the inputs: read-only for the child
    submission: Path  # the copy, inside io
    #: Whether each child gets a pids cgroup of its own, which bounds its processes and finds
    #: every one of them (False where the grader may not make one).
    cgroups: bool
    #: The uid the submission runs as (the grader runs as root), or None: the grader's own.
    uid: int | None = None
    #: What the submission may import beside the standard library (see package_entries).
    site: tuple[Entry, ...] = ()
    #: numpy for the child's own use (reading inputs, checking what came back) when the
    #: submission may not import it: kept in a directory of its own, which the child drops
    #: from its path before loading the submission. Empty when numpy is in `site`.
    own: tuple[Entry, ...] = ()


#: The inputs file: this, the length of a JSON index, the index ({key: [dtype, shape,
#: offset, size]}), then the arrays' bytes. numpy's .npz took 2-15 ms to read in the child
#: (a zip member and a header to parse per array); this takes microseconds.
INPUTS_MAGIC = b"GRADERIN"
_INPUTS_MEMO: dict[bytes, bytes] = {}
#: Every array starts at a multiple of this in the file: aligned for numpy's fast loops.
_ALIGN = 64
_INPUTS_BY_ID: dict[tuple[tuple[str, int], ...], tuple[tuple[object, ...], bytes]] = {}


def pack_inputs(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The inputs file of these arrays (numbers only: no object, no pickle). A batch sends
    the same inputs to every submission, so the last few files are kept by content."""
    import hashlib

    import numpy as np  # here, not at the top: the child starts before numpy loads

    # The same read-only arrays (a batch's shared cases) are the same file: found by
    # identity, kept alive in the memo so that no id is reused.
    same = tuple((name, id(a)) for name, a in arrays.items() if not a.flags.writeable)
    if len(same) == len(arrays) and same in _INPUTS_BY_ID:
        return _INPUTS_BY_ID[same][1]
    digest = hashlib.blake2b()
    index: dict[str, list[object]] = {}
    chunks = []
    offset = 0
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise SandboxError(f"input {name} is not numeric ({array.dtype})")
        raw = np.ascontiguousarray(array).tobytes()
        index[name] = [array.dtype.str, list(array.shape), offset, len(raw)]
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(raw)
        pad = -len(raw) % _ALIGN
        chunks += [raw, bytes(pad)]
        offset += len(raw) + pad
    key = digest.digest()
    if key not in _INPUTS_MEMO:
        head = json.dumps(index).encode()
        head += b" " * (-(16 + len(head)) % _ALIGN)  # JSON allows the trailing spaces
        if len(_INPUTS_MEMO) >= 8:
            _INPUTS_MEMO.pop(next(iter(_INPUTS_MEMO)))
        _INPUTS_MEMO[key] = b"".join([INPUTS_MAGIC, len(head).to_bytes(8, "little"), head, *chunks])
    if len(same) == len(arrays):
        if len(_INPUTS_BY_ID) >= 8:
            _INPUTS_BY_ID.pop(next(iter(_INPUTS_BY_ID)))
        _INPUTS_BY_ID[same] = (tuple(arrays.values()), _INPUTS_MEMO[key])
    return _INPUTS_MEMO[key]
