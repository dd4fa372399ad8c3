"""The program that runs inside the sandbox child: load a submission, call it on each input.

It is started as ``python -I -S -c <this source> <manifest-json>`` as early as possible, so
that Python and numpy load while the grader is still building the cases; it then waits for
one JSON line on standard input naming the cases and the file holding their inputs,
and only then imports the submission. Events go out on the pipe named in the manifest. It
imports nothing of grader (the child must hold nothing worth finding) and never sees an
expected value: it only reports what the student's function returned, as plain JSON.

Everything before the submission is imported is trusted; everything after may be forged
by the student, which is why the grader checks values itself and parses events strictly.

One file of more than 500 lines on purpose: it is handed to the child as source text
(`python -c`) and imports nothing of grader, so it cannot be split into modules; both of
its programs (the cold child and the warm server, which forks children that run the cold
child's code) must be in it.

The manifest names the packages the submission may import. The child needs numpy itself (to
read the inputs and to check what comes back); when numpy is not among those packages, it
imports numpy first and then, before loading the submission, drops it from ``sys.modules``
(with every ``numpy.*`` module) and its directory from ``sys.path``, keeping its own
reference, so that ``import numpy`` in the submission raises ModuleNotFoundError. The inputs
then arrive as (nested) lists of Python floats and ints. This is a teaching restriction, not
a security boundary: a determined submission could still reach the module (through gc, for
instance), as it could the files of the process backend.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import json
import linecache
import os
import resource
import sys
import time
import tokenize
import traceback
import types
from collections.abc import Callable
from types import TracebackType
from typing import Any

MAX_TRACEBACK_FRAMES = 8


def _emit(fd: int, *events: dict[str, Any]) -> None:
    """Events in one write: the grader wakes once for them. A call's end goes out before
    the next call runs, which the grader takes as that call's start (only a run's first
    call has a start event of its own)."""
    data = "".join(json.dumps(e, allow_nan=False) + "\n" for e in events).encode("utf-8")
    while data:
        data = data[os.write(fd, data) :]


class _CappedText(io.TextIOBase):
    """A stdout/stderr stand-in that keeps the first `cap` characters and counts the rest
    (and, once full, the print() calls that no longer write to it: see _quick_print)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.unprinted = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.size >= self.cap and type(text) is str:
            # Full: counted only. A submission that prints every row of a large case calls
            # this millions of times (print writes each item and separator): half its time.
            self.dropped += len(text)
            return len(text)
        text = str(text)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def getvalue(self) -> str:
        text = "".join(self.parts)
        more = [f"{self.dropped} more characters"] if self.dropped else []
        if self.unprinted:
            calls = "call" if self.unprinted == 1 else "calls"
            more.append(f"the output of {self.unprinted} more print() {calls}")
        if more:
            text += f"\n[... {' and '.join(more)} not shown]"
        return text


def _quick_print() -> None:
    """print() that returns at once when what it would write to is a full capture: a
    submission that prints every row of a large case spent most of its time turning numbers
    into text that was thrown away (numpy scalars: microseconds each). Only the count of
    such calls is kept. Anything else goes to the real print()."""
    import builtins
    import functools

    real = builtins.print

    @functools.wraps(real)
    def print(
        *values: object, sep: Any = " ", end: Any = "\n", file: Any = None, flush: Any = False
    ) -> None:
        target = sys.stdout if file is None else file
        if type(target) is _CappedText and target.size >= target.cap:
            target.unprinted += 1
            return
        real(*values, sep=sep, end=end, file=file, flush=flush)

    builtins.print = print


def _limit(kind: int, value: int) -> None:
    # Not supported on this system: the grader's wall clock still applies.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(kind, (value, value))


def _student_frames(tb: TracebackType | None, path: str, display: str) -> str:
    frames = [f for f in traceback.extract_tb(tb) if f.filename == path]
    lines = []
    for frame in frames[-MAX_TRACEBACK_FRAMES:]:
        lines.append(f'  File "{display}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return "\n".join(lines)


def _describe_error(exc: BaseException, path: str, display: str) -> dict[str, Any]:
    # str() runs the exception's own __str__, which is the student's code too.
    try:
        message = str(exc)
    except Exception as failed:
        message = f"(its message could not be shown: its __str__ raised {type(failed).__name__})"
    if len(message) > 2000:
        message = message[:2000] + " [...]"
    frames = _student_frames(exc.__traceback__, path, display)
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    # A class name is the student's text too: a 5 MB one would not fit an event line.
    error = {
        "type": type(exc).__name__[:200],
        "message": message,
        "traceback": frames,
        "line": line,
    }
    # The module an import could not find, as data: the grader words the explanation.
    try:
        module = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    except Exception:
        module = None
    if type(module) is str:
        error["module"] = module[:200]
    return error


def _type_name(value: object) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _as_number(value: Any, np: Any) -> tuple[float | None, dict[str, Any] | None]:
    """The returned value as a float, if it is one real number of a plain type; else a typed
    problem (its kind and plain facts: shape, dtype, length), which the grader words.

    Only exact types are accepted (no subclasses), and the float is taken by numpy or
    float() on a known type, so no method of the student's runs during the conversion.
    """
    cls = type(value)
    if cls is bool or cls is np.bool_:
        return None, {"kind": "bool"}
    if cls in (float, int):
        return float(value), None
    if cls in (np.float16, np.float32, np.float64, np.longdouble):
        return float(value), None
    if cls in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        return float(value), None
    if cls is np.ndarray:
        if value.ndim == 0 and value.dtype.kind in "fiu":
            return float(value[()]), None
        if value.ndim == 0:
            return None, {"kind": "array", "shape": [], "dtype": str(value.dtype)}
        return None, {"kind": "array", "shape": list(value.shape)[:32], "dtype": str(value.dtype)}
    if cls in (list, tuple):
        return None, {"kind": "sequence", "type": cls.__name__, "length": len(value)}
    if value is None:
        return None, {"kind": "none"}
    return None, {"kind": "other", "type": _type_name(value)[:200]}


def _same(before: Any, after: Any, np: Any) -> bool:
    if type(after) is not np.ndarray or after.shape != before.shape:
        return False
    if after.dtype != before.dtype:
        return False
    # The same bytes first, for the small inputs a call gets as copies: a fifth of what
    # array_equal costs there (60 calls a submission). Then plain equality: with
    # equal_nan, numpy looks for NaNs in both arrays, 50 times slower (0.8 ms for 50,000
    # floats); only inputs holding a NaN need it.
    if before.nbytes < _MAPPED_BYTES and before.tobytes() == after.tobytes():
        return True
    return bool(
        np.array_equal(before, after)
        or (before.dtype.kind == "f" and np.array_equal(before, after, equal_nan=True))
    )


def _same_plain(before: Any, after: Any) -> bool:
    """Whether an input given as a list is unchanged (NaN equal to NaN). Types are checked
    exactly before comparing, so no method of the student's runs."""
    if type(before) is list:
        return (
            type(after) is list
            and len(after) == len(before)
            and all(_same_plain(b, a) for b, a in zip(before, after, strict=True))
        )
    return type(after) is type(before) and (
        after == before or (after != after and before != before)
    )


class _Inputs:
    """The arrays of an inputs file (see layout.pack_inputs). The file is mapped, not
    read: its pages are the page cache's, not a copy (a large case is MBs)."""

    def __init__(self, path: str, np: Any) -> None:
        import mmap

        self.np = np
        self.file = open(path, "rb")  # noqa: SIM115  open for the run: see `fresh`
        self.data = mmap.mmap(self.file.fileno(), 0, prot=mmap.PROT_READ)
        if self.data[:8] != b"GRADERIN":
            raise ValueError(f"{path} is not an inputs file")
        size = int.from_bytes(self.data[8:16], "little")
        self.body = 16 + size
        self.index: dict[str, tuple[Any, list[int], int, int]] = {
            key: (np.dtype(dtype), shape, self.body + offset, length)
            for key, (dtype, shape, offset, length) in json.loads(self.data[16 : 16 + size]).items()
        }
        self.pristine = {key: self._array(self.data, key) for key in self.index}

    def _array(self, buffer: Any, key: str) -> Any:
        # One object straight onto the buffer (frombuffer and reshape made two: 50 page
        # faults and 0.3 ms more for a fresh child's 52 arrays).
        dtype, shape, offset, _ = self.index[key]
        return self.np.ndarray(shape, dtype, buffer, offset)

    def fresh(self, keys: list[str]) -> list[Any]:
        """Writable arrays of these inputs for one call, which may change them. A large case
        gets a private mapping of the file: its pages are copied only where the call writes
        (a copy of 50,000 rows costs a child 200 page faults and a memcpy)."""
        if sum(self.index[key][3] for key in keys) < _MAPPED_BYTES:
            return [self.pristine[key].copy() for key in keys]
        import mmap

        private = mmap.mmap(
            self.file.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE
        )
        return [self._array(private, key) for key in keys]

    def close(self) -> None:
        self.file.close()


#: A case of at least this many bytes of inputs is given to a call as a private mapping.
_MAPPED_BYTES = 1 << 16


def _hide_numpy(np: Any) -> None:
    """Make numpy unimportable for the submission; the caller keeps `np` for its own use.
    The backend puts numpy in a directory of its own in this case, so dropping that
    directory from the path drops nothing the submission may import."""
    home = os.path.dirname(os.path.dirname(os.path.abspath(np.__file__)))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p) != home]
    sys.path_importer_cache.pop(home, None)
    for name in [n for n in sys.modules if n == "numpy" or n.startswith("numpy.")]:
        del sys.modules[name]


def _source_text(data: bytes) -> str:
    """A source file's text as Python reads a module: UTF-8, a byte-order mark (as Windows
    editors write one) dropped, or the encoding its coding declaration names (PEP 263)."""
    if b"coding" in b"\n".join(data.split(b"\n", 2)[:2]):
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    return data.decode("utf-8-sig")


def _load_submission(
    path: str, display: str, entry: str, params: list[str]
) -> tuple[Any, dict[str, Any]]:
    """The student's function and its positional parameter names, or None and a fault
    event saying why there is none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return None, {"kind": "unreadable", "message": f"cannot read {display}: {exc}"}
    try:
        source = _source_text(data)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        return None, {
            "kind": "unreadable",
            "message": f"{display} is not {exc.encoding.upper()} text: byte "
            f"0x{data[exc.start]:02x} on line {line}, column {column}",
            "line": line,
        }
    except SyntaxError as exc:  # a coding declaration Python refuses
        return None, {"kind": "unreadable", "message": f"cannot read {display}: {exc.msg}"}
    except (LookupError, ValueError, TypeError) as exc:  # a codec of bytes, not text (hex)
        return None, {
            "kind": "unreadable",
            "message": f"cannot read {display}: its coding declaration names no text "
            f"encoding ({type(exc).__name__}: {str(exc)[:200]})",
        }
    if not source.strip():
        return None, {
            "kind": "missing",
            "message": f"{display} is empty: it defines no function {entry!r}",
        }
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return None, {
            "kind": "syntax",
            "message": f"{type(exc).__name__}: {exc.msg}",
            "line": exc.lineno,
            "column": exc.offset,
            "text": (exc.text or "").rstrip("\n")[:500],
        }
    except ValueError as exc:  # e.g. source with NUL bytes
        return None, {"kind": "syntax", "message": f"cannot compile {display}: {exc}"}
    except (RecursionError, MemoryError) as exc:
        # Python's parser and compiler give up on an expression nested too deeply
        # (x = ----...1, 1+1+...+1), or on a file too long for the memory the child has:
        # the student's fault, worded as such.
        what = (
            "an expression is nested too deeply"
            if isinstance(exc, RecursionError)
            else f"an expression is nested too deeply, or the file ({len(source):,} "
            "characters) is too long"
        )
        return None, {
            "kind": "too_complex",
            "message": f"Python cannot compile {display}: {what} "
            f"({type(exc).__name__}{f': {exc}' if str(exc) else ''})",
        }
    module = type(sys)("submission")
    module.__file__ = path
    sys.modules["submission"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as exc:
        error = _describe_error(exc, path, display)
        message = f"{error['type']}: {error['message']}"
        return None, {**error, "kind": "import", "message": message}
    fn = module.__dict__.get(entry)
    if fn is None:
        return None, {"kind": "missing", "message": f"{display} defines no function {entry!r}"}
    if not callable(fn):
        return None, {"kind": "missing", "message": f"{entry!r} in {display} is not a function"}
    simple = _simple_names(fn, len(params))
    if simple is not None:
        return fn, {"names": simple}
    try:
        signature = inspect.signature(fn)
        signature.bind(*params)
    except TypeError:
        names = [str(p) for p in signature.parameters.values()]
        return None, {
            "kind": "signature",
            "message": f"{entry}({', '.join(names)}) cannot be "
            f"called with {len(params)} positional arguments",
        }
    except ValueError:
        return fn, {"names": None}  # builtins without a signature: call and see
    # The names the arguments arrive under, by position: the grader warns when they differ
    # from the statement's. Called by position, so they cost no point by themselves.
    return fn, {"names": _positional_names(signature, len(params))}


def _simple_names(fn: Any, count: int) -> list[str] | None:
    """The names of a plain function's parameters when it takes `count` arguments by
    position and nothing else is asked of it (no *args or **kwargs, no keyword-only
    parameter, nothing wrapped): what inspect.signature() and bind() would say, for a
    third of what they cost a fresh child. None otherwise: inspect decides."""
    if type(fn) is not types.FunctionType or {"__wrapped__", "__signature__"} & set(vars(fn)):
        return None
    code = fn.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_kwonlyargcount:
        return None
    if not code.co_argcount - len(fn.__defaults__ or ()) <= count <= code.co_argcount:
        return None  # a signature that does not fit: inspect words the error
    return [name[:100] for name in code.co_varnames[:count]]


def _positional_names(signature: inspect.Signature, count: int) -> list[str]:
    names: list[str] = []
    for parameter in signature.parameters.values():
        if len(names) == count:
            break
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            names.append(parameter.name[:100])
        elif parameter.kind is parameter.VAR_POSITIONAL:
            names += [f"*{parameter.name[:100]}"] * (count - len(names))
    return names


def _process_limits(limits: dict[str, Any]) -> None:
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, limits["open_files"])


class _CallMemory:
    """A limit on the memory one call may add (RLIMIT_DATA's soft limit, over what the
    process has in use when the call starts), lifted again when the call ends: an
    N x N table of a large case fails at once with a MemoryError, instead of filling
    hundreds of MB first. RLIMIT_DATA counts what a process writes (its heap and private
    writable mappings), not what it reserves (a thread's arena): a correct call is not
    refused for reservations. The limit is the grader's, per case; the address-space
    limit of the whole process (RLIMIT_AS) stays. Not a security boundary: the student's
    code may raise its own soft limit, as it could write any loop that costs time.

    What the C library keeps free in its heap (an earlier call's temporaries: the warm
    server's children keep up to 128 MB, see _warm_up) counts as data but is reused
    without growing it: it is taken off, so that it is part of a call's allowance, not
    room on top of it. Otherwise a call's verdict would depend on the calls before it and
    on the sandbox (a table refused by `grade` passed in a class's batch)."""

    def __init__(self) -> None:
        # Opened before the submission loads; read with pread, so nothing is buffered.
        try:
            self.fd: int | None = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            self.fd = None  # no /proc: calls run under the process's limits only
        # Read once: two system calls a call fewer (a submission that lowers its own hard
        # limit makes the grader's setrlimit fail, and runs under the limit it chose).
        self.hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        self.mallinfo2 = _mallinfo2()

    def _written(self) -> int | None:
        """Bytes of data and stack now (statm's sixth field, in pages), less what the C
        library holds free."""
        if self.fd is None:
            return None
        try:
            data = int(os.pread(self.fd, 256, 0).split()[5]) * resource.getpagesize()
        except (OSError, ValueError, IndexError):
            return None
        # Free chunks and tops of every arena of the C library (mallinfo2's fordblks).
        return data - (int(self.mallinfo2().fordblks) if self.mallinfo2 is not None else 0)

    def limit(self, allowance: int | None) -> None:
        written = self._written() if allowance is not None else None
        if allowance is None or written is None:
            return
        with contextlib.suppress(ValueError, OSError):
            soft = written + allowance
            if self.hard != resource.RLIM_INFINITY:
                soft = min(soft, self.hard)
            resource.setrlimit(resource.RLIMIT_DATA, (soft, self.hard))

    def lift(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_DATA, (self.hard, self.hard))


@functools.cache
def _mallinfo2() -> Callable[[], Any] | None:
    """glibc's mallinfo2 (its heap's statistics, fields as _MALLINFO_FIELDS), or None where
    there is none (not glibc, or older than 2.33). Made once per process: the warm
    server's children inherit it (see _warm_up)."""
    import ctypes

    class _Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO_FIELDS]

    try:
        function = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    function.restype = _Info
    function.argtypes = []
    return function


#: glibc's struct mallinfo2, in order.
_MALLINFO_FIELDS = [
    "arena",
    "ordblks",
    "smblks",
    "hblks",
    "hblkhd",
    "usmblks",
    "fsmblks",
    "uordblks",
    "fordblks",
    "keepcost",
]


def _load_numpy(sys_path: list[str]) -> Any:
    sys.path[:] = [p for p in sys.path if p] + sys_path
    import numpy as np

    return np


def main(manifest: dict[str, Any]) -> None:
    """One submission in a process of its own (the cold path)."""
    _die_with_parent(manifest.get("parent"))
    _process_limits(manifest["limits"])
    run(manifest, _load_numpy(manifest["sys_path"]))


def run(manifest: dict[str, Any], np: Any) -> None:
    """Wait for the work, load the submission and call it on each input. Shared by the
    cold path and by a child the warm server forked (numpy already loaded)."""
    out = manifest["event_fd"]
    limits = manifest["limits"]
    # Without numpy the submission gets its inputs as lists of Python numbers.
    plain = "numpy" not in manifest["packages"]

    # Wait for the work (the grader sends it once the cases are built), then read the inputs
    # before any student code runs, and leave the student an empty stdin. The work comes on
    # a descriptor of its own from then on: after a run that ends well, the grader may send
    # the next run's work to this same process (the hidden cases after the visible ones).
    lines = _Lines(os.dup(0))
    work = json.loads(lines.next() or b"{}")
    if not work:
        return  # the grader gave up on this child before sending anything
    _limit(resource.RLIMIT_CPU, work["cpu_seconds"])
    inputs = _Inputs(work["inputs"], np)
    memory = _CallMemory()
    empty, closed = os.pipe()  # an empty stdin, without /dev/null (bwrap has none)
    os.close(closed)
    os.dup2(empty, 0)
    os.close(empty)
    if work.get("quiet"):
        _quiet()
    uid = manifest["uid"]
    if uid is not None:
        # Started as root to read the inputs; the submission runs as a uid of its own, for
        # good: real, effective and saved uid all change, so it cannot come back.
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        _die_with_parent(manifest.get("parent"))  # a change of uid cleared it
        _limit(resource.RLIMIT_NPROC, limits["processes"])
    params = manifest["params"]
    path, display = manifest["submission"], manifest["display_name"]
    cap = limits["output_chars"]

    if plain:
        _hide_numpy(np)
    _quick_print()
    out_buf, err_buf = _CappedText(cap), _CappedText(cap)
    sys.stdout, sys.stderr = out_buf, err_buf
    fn, loaded = _load_submission(path, display, manifest["entry"], params)
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    output = out_buf.getvalue() + err_buf.getvalue()
    if fn is None:
        _emit(out, {"ev": "fault", "output": output, **loaded})
        return
    held: list[dict[str, Any]] = [{"ev": "ready", "output": output, **loaded}]
    where = (path, display)
    while True:
        held = _call_each(fn, work, inputs, held, out, params, plain, np, where, cap, memory)
        _emit(out, *held, {"ev": "done"})
        held = []
        line = lines.next()
        if not line:
            return  # no more work: the grader closed the pipe
        # The next run's inputs exist only now: its cases could not be read by any call of
        # the run before, whose results the grader has already taken.
        work = json.loads(line)
        inputs.close()
        inputs = _Inputs(work["inputs"], np)
        if work.get("quiet"):
            _quiet()


class _Lines:
    """Lines of a descriptor, read without a buffer that student code could reach."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.rest = b""

    def next(self) -> bytes:
        while b"\n" not in self.rest:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                line, self.rest = self.rest, b""
                return line
            self.rest += chunk
        line, _, self.rest = self.rest.partition(b"\n")
        return line


def _quiet() -> None:
    """What the process writes to its own stdout and stderr is thrown away from now on (the
    grader cannot tell which call wrote it; a hidden run's could carry its inputs). Output
    through print() is still captured per call. The grader also discards what arrives on
    those pipes during such a run, in case the submission kept copies of the descriptors."""
    try:
        sink = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return  # no /dev/null (the bwrap sandbox): the grader's discarding is enough
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)


def _call_each(
    fn: Any,
    work: dict[str, Any],
    inputs: _Inputs,
    held: list[dict[str, Any]],
    out: int,
    params: list[str],
    plain: bool,
    np: Any,
    where: tuple[str, str],
    cap: int,
    memory: _CallMemory,
) -> list[dict[str, Any]]:
    """Call the function on each case of the work (each under the memory the work allows
    it, if it says); returns the last call's end event, not yet sent."""
    path, display = where
    cases: list[str] = work["cases"]
    allowances: dict[str, int] = work.get("memory") or {}
    for case in cases:
        keys = [f"{case}/{p}" for p in params]
        pristine = [inputs.pristine[key] for key in keys]
        args = [a.tolist() for a in pristine] if plain else inputs.fresh(keys)
        # The run's first call says it starts; each later one starts as the last one ends.
        _emit(out, *held, *([{"ev": "start", "case": case}] if case is cases[0] else []))
        buf = _CappedText(cap)
        sys.stdout = sys.stderr = buf
        error = value = None
        raised: BaseException | None = None
        memory.limit(allowances.get(case))
        started = time.perf_counter()
        try:
            value = fn(*args)
        except BaseException as exc:
            raised = exc
        seconds = time.perf_counter() - started
        memory.lift()  # before anything of the child's own runs
        if raised is not None:
            error = _describe_error(raised, path, display)
            raised = None
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        event = {"ev": "end", "case": case, "seconds": seconds, "output": buf.getvalue()}
        if error is None:
            try:
                number, problem = _as_number(value, np)
            except (OverflowError, ValueError):
                number, problem = None, {"kind": "too_large", "type": _type_name(value)[:200]}
            event["type"] = _type_name(value)
            if problem is not None:
                event["problem"] = problem
            else:
                event["value"] = repr(number)
        else:
            event["error"] = error
        event["mutated"] = [
            p
            for p, a, b in zip(params, pristine, args, strict=True)
            if not (_same_plain(a.tolist(), b) if plain else _same(a, b, np))
        ]
        held = [event]
    return held


# --- the warm server -----------------------------------------------------------------------
#
# With ``--serve CONFIG`` this program is the warm process of a worker's sandbox (see warm.py):
# it loads Python and numpy once, then, for each submission the grader sends, forks a child
# that runs `run` exactly as the cold path does. Everything here is trusted: it runs before
# and apart from any student code, and a child closes the control socket before the
# submission loads. Between two submissions it kills every process the last one left (it
# is process 2 of the sandbox's PID namespace, and a subreaper), empties the one writable
# directory and removes every System V IPC object of the sandbox's IPC namespace; it
# reports, and the grader checks from outside, that nothing is left.

#: Control messages: one JSON object each, on a SOCK_SEQPACKET socket.
_MESSAGE_BYTES = 1 << 20
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def _die_with_parent(parent: int | None) -> None:
    """A child of the process backend (`parent`: the grader's pid, as the manifest gives
    it) is killed when the grader dies, even by SIGKILL, which leaves no time to end it;
    if the grader is gone already, it ends now. bwrap's children die with the sandbox."""
    if parent is None:
        return
    import signal

    with contextlib.suppress(OSError):
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(70)


#: The grader's request to lower the running child's CPU priority (a call outlived its
#: patience: see supervisor.supervise); every other request during a child ends it.
_LOWER = b'{"op": "lower"}'
_LOWEST = 19


def _lower(pid: int, nice: int) -> bool:
    """The child's session (its autogroup, where the kernel groups sessions: a process's
    own nice value orders it only within its session) to this nice value; whether that
    was done. Best effort: the kernel limits how often a process without privilege may
    change an autogroup (ten times a second, machine-wide), and only the way back to 0 is
    allowed to it."""
    for _ in range(3):
        try:
            with open(f"/proc/{pid}/autogroup", "w") as group:
                group.write(str(nice))
            return True
        except BlockingIOError:  # another change within the last tenth of a second
            time.sleep(0.05)
        except OSError:
            return False
    return False


def _send(sock: Any, message: dict[str, Any]) -> None:
    sock.send(json.dumps(message).encode())


def _start_child(
    fds: list[int], request: dict[str, Any], work: str, np: Any, env_differs: bool
) -> None:
    """In the forked child: its own session, streams, directory, environment and limits
    (its random state is new: see _reseed); then the submission. Never returns. Every step
    that writes to memory the server shares costs page copies (fork, then the first write
    to each page): the server installs no signal handler to undo, and its environment is
    already the child's unless `env_differs`."""
    try:
        os.setsid()  # no signal to the server's process group reaches it
        high = [os.dup(fd) for fd in fds]  # out of the way of 0-3 before placing them
        for target, fd in enumerate(high):
            os.dup2(fd, target)
        os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        os.chdir(work)
        os.umask(0o022)
        _HUGE.release()
        if env_differs:
            os.environ.clear()
            os.environ.update(request["env"])
        manifest = request["manifest"]
        manifest["event_fd"] = 3
        _process_limits(manifest["limits"])
        run(manifest, np)
    except BaseException:
        sys.stderr = sys.__stderr__
        traceback.print_exc()
        os._exit(70)
    os._exit(0)


def _end_all(pid: int) -> int | None:
    """Kill every process of the namespace but this one and init, reap them all, and return
    the wait status of the child `pid` (None if it was reaped before)."""
    import signal

    status = None
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
            signalled = True
        except ProcessLookupError:
            signalled = False
        try:
            while True:
                reaped, wait_status = os.waitpid(-1, 0)
                if reaped == pid:
                    status = wait_status
        except ChildProcessError:
            pass
        if not signalled:
            return status


def _wipe(directory: str) -> bool:
    """Remove everything in directory (a submission may have made entries unwritable);
    True when it is empty afterwards. Most submissions leave nothing: then nothing else
    runs (every page the server writes between two forks is a page fault)."""
    names = os.listdir(directory)
    if not names:
        return True
    import shutil
    import stat

    def unlock(function: Any, path: str, _: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
        with contextlib.suppress(OSError):
            function(path)

    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            with contextlib.suppress(OSError):
                os.chmod(path, stat.S_IRWXU)
            shutil.rmtree(path, onerror=unlock)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return not os.listdir(directory)


def _warm_up(np: Any, work: str) -> None:
    """Do once, here, what every forked child would otherwise do for itself on its first
    call: numpy sets up a ufunc's loops, a reduction's helpers and its lazy modules on first
    use, which costs a fresh child 10-20 ms of CPU (measured: 22 ms for a fork that calls a
    few ufuncs, 3 ms after this). Every ufunc and the common reductions and helpers of a
    loss function are called on float64, float32 and int64 arrays, and the child's own
    reading and checking of inputs once."""
    import math  # noqa: F401  imported by many submissions: a dictionary lookup in a child
    import random  # noqa: F401
    import signal  # noqa: F401

    f8 = np.linspace(0.1, 0.9, 12).reshape(3, 4)
    arrays = (f8, f8.astype(np.float32), np.arange(12).reshape(3, 4))
    reductions = [np.sum, np.mean, np.max, np.min, np.prod, np.std, np.var, np.argmax]
    helpers = [np.amax, np.amin, np.argmin, np.average, np.median, np.cumsum, np.diff]
    with np.errstate(all="ignore"):
        # vars(), not dir() and getattr(): numpy imports a submodule (testing, ma, f2py...)
        # the first time it is asked for one, and each would make every fork dearer.
        for ufunc in list(vars(np).values()):
            if not isinstance(ufunc, np.ufunc):
                continue
            # Every pair of types (int64 labels times float64 logs): resolving the loop
            # of a new pair is part of what a first call costs.
            for first in arrays:
                for second in arrays if ufunc.nin == 2 else (first,):
                    with contextlib.suppress(Exception):
                        ufunc(*(first, second)[: ufunc.nin])
        for function in reductions + helpers:
            for array in arrays:
                for keywords in ({}, {"axis": -1}, {"axis": 1, "keepdims": True}):
                    with contextlib.suppress(Exception):
                        function(array, **keywords)
        for array in arrays:
            labels = np.argmax(array, axis=1)
            np.clip(array, 1e-7, 1 - 1e-7)
            np.where(array > 0.5, array, 0.0)
            np.take_along_axis(array, labels[:, None], axis=1)
            array[np.arange(3), labels]
            np.eye(4)[labels]
            np.zeros_like(array), np.ones_like(array), np.full_like(array, 0.5)
            np.asarray(array.tolist(), dtype=array.dtype), np.array(array)
            array.astype(np.float64), array.reshape(-1), array.T @ array, np.dot(array, array.T)
            np.isclose(array, array), np.allclose(array, array), np.isnan(array).any()
            np.einsum("ij,ij->i", array, array), np.linalg.norm(array)
            np.finfo(np.float32), np.finfo(np.float64), np.iinfo(np.int64)
            float(array.sum()), float(np.mean(array))
            _same(array, array.copy(), np)
            _same_plain(array.tolist(), array.tolist())
            _as_number(array.sum(), np)
            _as_number(np.float32(array.sum()), np)
    _read_once(np, work)
    _mallinfo2()
    inspect.signature(_warm_up)
    np.random.seed()  # its first call sets up the legacy generator: 15 ms
    np.random.seed(1)  # and the way a child seeds it
    np.random.rand(3)
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        # Give back the heap the warm-up freed: fewer pages for every fork to map and unmap.
        libc.malloc_trim(0)
        # A child's large temporaries (a case of 50,000 rows) from the heap, where the next
        # one reuses them, not from a mapping made, faulted in and unmapped each time: 10 %
        # fewer page faults per child (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD).
        libc.mallopt(-3, 64 * 2**20)
        libc.mallopt(-1, 128 * 2**20)
    _HUGE.reserve()


class _HugeReserve:
    """A child's large arrays in transparent huge pages: one page fault for 2 MB, where
    4 KB pages cost one each (a case of 50,000 rows: 100 faults a temporary, 450 of a
    child's 1,200). The server keeps a block of its heap, on a 2 MB boundary and never
    touched, that the kernel may back with huge pages (MADV_HUGEPAGE); each child frees
    it first thing, and it joins the top of the child's heap, from which its large
    temporaries come. A child that never reaches it pays nothing. Performance only, best
    effort: glibc's heap as it lays out its chunks (a 16-byte header; the top chunk at the
    program break less mallinfo2's keepcost); when the layout is not as planned, or the C
    library is another, nothing is reserved."""

    BYTES = 4 * 2**20
    ALIGN = 2 * 2**20
    HEADER = 16
    MADV_HUGEPAGE = 14

    def __init__(self) -> None:
        self.address = 0
        self.free: Callable[[int], None] | None = None

    def reserve(self) -> None:
        import ctypes

        mallinfo2 = _mallinfo2()
        if mallinfo2 is None:
            return
        with contextlib.suppress(OSError, AttributeError, ValueError, TypeError):
            libc = ctypes.CDLL(None)
            libc.malloc.restype = ctypes.c_void_p
            libc.malloc.argtypes = [ctypes.c_size_t]
            libc.free.restype = None
            libc.free.argtypes = [ctypes.c_void_p]
            libc.sbrk.restype = ctypes.c_void_p
            libc.sbrk.argtypes = [ctypes.c_ssize_t]
            libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

            def top() -> int:
                return int(libc.sbrk(0)) - int(mallinfo2().keepcost)

            start = top()
            boundary = -(-(start + 4096) // self.ALIGN) * self.ALIGN
            # A spacer up to 16 bytes below the boundary, where the reserve's header goes:
            # the reserve's memory starts on it, and the top's header lies past its end.
            spacer = libc.malloc(boundary - start - 2 * self.HEADER)
            block = libc.malloc(self.BYTES)
            if block != boundary or top() != boundary + self.BYTES:
                libc.free(block)
                libc.free(spacer)
                return
            libc.madvise(block, self.BYTES, self.MADV_HUGEPAGE)  # refused: 4 KB pages
            self.address, self.free = block, libc.free

    def release(self) -> None:
        """In a child, before the submission loads."""
        if self.free is not None:
            self.free(self.address)


_HUGE = _HugeReserve()


def _read_once(np: Any, work: str) -> None:
    """Read an inputs file as a child does (both ways: copied and mapped), so that no child
    loads a module for it (mmap cost a child 100 page faults) or meets its first call. The
    file is written here in layout.pack_inputs's format: this program imports no grader."""
    big = np.linspace(0.0, 1.0, _MAPPED_BYTES // 8)
    head = json.dumps({"a": ["<f8", [2], 0, 16], "b": ["<f8", [len(big)], 64, big.nbytes]})
    head += " " * (-(16 + len(head)) % 64)
    path = os.path.join(work, "warm-up-inputs.bin")
    with open(path, "wb") as handle:
        handle.write(b"GRADERIN" + len(head).to_bytes(8, "little") + head.encode())
        handle.write(np.arange(2.0).tobytes() + bytes(48) + big.tobytes())
    inputs = _Inputs(path, np)
    for key in ("a", "b"):
        _same(inputs.pristine[key], inputs.fresh([key])[0], np)
    inputs.close()
    os.remove(path)


def _clear_ipc() -> bool:
    """Remove every System V shared memory segment, message queue and semaphore set: the
    sandbox has an IPC namespace of its own, so all of them are the last child's. True
    when none is left. Most submissions make none: then only the three tables are read."""
    left = False
    for kind in ("shm", "msg", "sem"):
        for _ in range(3):
            try:
                ids = _ipc_ids(kind)
            except (OSError, ValueError, IndexError):
                return False
            if not ids:
                break
            remove = _ipc_remover(kind)
            for ipc_id in ids:
                remove(ipc_id)
        else:
            left = True
    return not left


def _ipc_ids(kind: str) -> list[int]:
    """The ids in /proc/sysvipc/<kind>, read without Python's file objects (the server
    reads it after every child: each page it writes then is a page fault)."""
    fd = os.open(f"/proc/sysvipc/{kind}", os.O_RDONLY)
    try:
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
    finally:
        os.close(fd)
    return [int(line.split()[1]) for line in data.splitlines()[1:]]


def _ipc_remover(kind: str) -> Callable[[int], int]:
    import ctypes

    libc: Any = ctypes.CDLL(None, use_errno=True)
    ipc_rmid = 0
    removers: dict[str, Callable[[int], int]] = {
        "shm": lambda i: int(libc.shmctl(i, ipc_rmid, None)),
        "msg": lambda i: int(libc.msgctl(i, ipc_rmid, None)),
        "sem": lambda i: int(libc.semctl(i, 0, ipc_rmid)),
    }
    return removers[kind]


def _reseed(np: Any) -> None:
    """A child's random numbers are its own, as a cold child's are: the server draws a new
    state for each one before the fork (where a child would copy the pages it writes; from
    an int, seeding touches a third of the pages np.random.seed() does)."""
    import random

    random.seed(int.from_bytes(os.urandom(8), "little"))
    np.random.seed(int.from_bytes(os.urandom(4), "little"))


def _fork_function() -> Callable[[], int]:
    """libc's fork, called with the GIL held, where the server has one thread (it never
    starts one, and numpy's BLAS is kept to one): os.fork() also runs Python's after-fork
    work in the child (locks of other threads, at-fork hooks such as random's reseeding),
    which has nothing to do here and cost each child 200 page faults of 900."""
    import ctypes
    import threading

    if threading.active_count() != 1 or len(os.listdir("/proc/self/task")) != 1:
        return os.fork
    libc = ctypes.PyDLL(None, use_errno=True)
    raw = libc.fork
    raw.restype = ctypes.c_int
    raw.argtypes = []

    def fork() -> int:
        pid = int(raw())
        if pid < 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
        return pid

    return fork


def serve(config: dict[str, Any]) -> None:
    """The warm server's loop: one request, one forked child, one report."""
    import select
    import socket

    np = _load_numpy(config["sys_path"])
    _warm_up(np, config["work"])
    _prctl(_PR_SET_DUMPABLE, 0)  # no ptrace, no /proc/<pid>/mem or fd/ for the children
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # what a child leaves behind is reparented here
    work = config["work"]
    environment = dict(os.environ)
    sock = socket.socket(fileno=config["control_fd"])
    import gc

    # What is loaded now is shared by every child: kept out of the collector's sight, a
    # collection in a child does not touch (and so copy) every page of it.
    gc.freeze()
    fork = _fork_function()
    control = sock.fileno()
    watch = select.poll()
    watch.register(control, select.POLLIN)
    _send(sock, {"ev": "ready", "clean": _wipe(work) and _clear_ipc()})
    while True:
        data, fds, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 4)
        if not data:
            os._exit(0)  # the grader is gone
        request = json.loads(data)
        if request.get("op") != "run" or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue  # a kill for a child already reported
        env_differs = request.get("env") != environment
        _reseed(np)
        pid = fork()
        if pid == 0:
            sock.close()
            _start_child(fds, request, work, np, env_differs)
        for fd in fds:
            os.close(fd)
        # As little as can be while the child lives: every page the server writes now is
        # copied (the child still shares it), so one poll object serves every child.
        pidfd = os.pidfd_open(pid)
        watch.register(pidfd, select.POLLIN)
        lowered = False
        while any(fd == control for fd, _ in watch.poll()):
            message, more, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 4)
            for fd in more:
                os.close(fd)
            if not message:
                os.kill(-1, 9)
                os._exit(0)
            if message != _LOWER:
                break  # a kill
            lowered = _lower(pid, _LOWEST)  # the child runs on, at the lowest priority
        # The child ended, or the grader asked to end it: either way, end all it left.
        watch.unregister(pidfd)
        os.close(pidfd)
        if lowered:
            # A process's exit runs at its own priority: at the lowest, on busy cores,
            # dying would take a third of a second.
            _lower(pid, 0)
        status = _end_all(pid)
        code = os.waitstatus_to_exitcode(status) if status is not None else -9
        clean = _wipe(work) and _clear_ipc()
        _send(sock, {"ev": "exit", "status": code, "clean": clean})


if __name__ == "__main__":
    try:
        if sys.argv[1] == "--serve":
            serve(json.loads(sys.argv[2]))
        main(json.loads(sys.argv[1]))
    except BaseException:
        sys.stderr = sys.__stderr__
        traceback.print_exc()
        os._exit(70)
    # Skip interpreter shutdown: atexit hooks and finalizers of the student never run.
    os._exit(0)
