"""What crosses the sandbox boundary: inputs in, plain numbers and text out.

The sandbox knows nothing of exercises, references or expected values. Events from the
child are untrusted: each is parsed strictly (JSON, known keys, bounded sizes, numbers
from a fixed grammar); nothing the child sends is unpickled or evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads slowly; the sandbox starts its child before importing it
    import numpy as np


@dataclass(frozen=True)
class SandboxLimits:
    #: Wall time of one call, unless the run gives a case its own (see Session.run).
    seconds_per_case: float
    memory_bytes: int
    #: Captured output kept per call (and per stream of the process), in characters.
    output_chars: int
    #: Wall time of everything the submission runs in a session, restarts included: once it
    #: is used up, the call running is stopped and the calls left are not run.
    seconds_total: float = 20.0
    #: Time to start Python, import numpy and import the submission.
    import_seconds: float = 10.0
    file_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Job:
    """One submission and the function to call in it; the inputs come later (see Session)."""

    submission: Path
    entry: str
    params: tuple[str, ...]
    limits: SandboxLimits
    #: How many runs the caller will make at once: a child is started for each up front.
    runs: int = 1
    #: Installed packages the submission may import beside the standard library, exactly
    #: these; without numpy the inputs arrive as (nested) lists of Python numbers.
    packages: tuple[str, ...] = ("numpy",)


#: Inputs of a run, keyed by an opaque case id: one array per parameter, in call order.
Inputs = Mapping[str, tuple["np.ndarray", ...]]


class CallStatus(str, Enum):
    RETURNED = "returned"  # a number came back
    BAD_RETURN = "bad_return"  # something came back that is not one real number
    RAISED = "raised"  # the function raised
    TIMEOUT = "timeout"  # the call ran past its time
    CRASHED = "crashed"  # the process died during the call
    NOT_RUN = "not_run"  # the submission could not be loaded, or its time budget ran out


class ProblemKind(str, Enum):
    """What came back instead of one real number."""

    BOOL = "bool"
    ARRAY = "array"  # shape and dtype given; shape () for a 0-d array of another dtype
    SEQUENCE = "sequence"  # a list or tuple; type and length given
    NONE = "none"
    TOO_LARGE = "too_large"  # an int too large for a float
    OTHER = "other"  # any other type, named


@dataclass(frozen=True)
class ReturnProblem:
    """Why a returned value is not accepted, as facts: the grader words them."""

    kind: ProblemKind
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    length: int | None = None
    type: str | None = None


class StopKind(str, Enum):
    """Why a call ended without an answer, as the supervisor saw it."""

    TIME_LIMIT = "time_limit"  # the call ran past its own limit
    BUDGET = "budget"  # the submission's whole time budget ran out
    SIGNAL = "signal"  # the process was ended by a signal
    EXIT = "exit"  # the process exited during the call
    CHANNEL = "channel"  # the submission broke the grader's event channel
    NOT_LOADED = "not_loaded"  # the submission could not be loaded: no call was made
    HANGING = "hanging"  # calls in a row ran out of time: the calls left were not made


@dataclass(frozen=True)
class Stop:
    kind: StopKind
    #: The limit that ran out (TIME_LIMIT, BUDGET), or how long loading may take.
    seconds: float | None = None
    signal: int | None = None
    exit_code: int | None = None
    #: What was wrong with the channel (CHANNEL).
    detail: str | None = None


@dataclass(frozen=True)
class StudentError:
    """An exception from student code, with the student's own frames only."""

    type: str
    message: str
    traceback: str
    line: int | None
    #: The module an ImportError could not find.
    module: str | None = None


@dataclass(frozen=True)
class CallOutcome:
    case_id: str
    status: CallStatus
    value: float | None = None
    value_type: str | None = None
    #: Why the returned value is not accepted (BAD_RETURN).
    problem: ReturnProblem | None = None
    error: StudentError | None = None
    #: What ended the call (TIMEOUT, CRASHED, NOT_RUN).
    stop: Stop | None = None
    output: str = ""
    mutated: tuple[str, ...] = ()
    seconds: float | None = None


@dataclass(frozen=True)
class Fault:
    """Why the submission could not be loaded: no call was made."""

    # syntax, too_complex, import, missing, signature, unreadable, timeout, crashed, protocol
    kind: str
    message: str
    line: int | None = None
    column: int | None = None
    text: str | None = None
    traceback: str | None = None
    #: For an exception while importing: its type, and the module an ImportError missed.
    error_type: str | None = None
    module: str | None = None
    #: For timeout and crashed: what the supervisor saw.
    stop: Stop | None = None


@dataclass(frozen=True)
class RunResult:
    outcomes: Mapping[str, CallOutcome]
    fault: Fault | None
    #: Output printed while the submission was imported.
    import_output: str
    #: What reached the process's real stdout and stderr (C extensions, os.write), bounded.
    stdout: str
    stderr: str
    backend: str
    seconds: float
    #: The names the submission gives its positional parameters (None: not known), so the
    #: grader can warn when they differ from the statement's.
    param_names: tuple[str, ...] | None = None


class ProtocolError(Exception):
    """The child sent something that is not a well-formed event."""


_NUMBER = re.compile(r"^-?(?:inf|nan|\d+(?:\.\d+)?(?:e[-+]?\d+)?)$")
_EVENTS = {"ready", "fault", "start", "end", "done"}
MAX_TEXT = 1_000_000


def _reject_constant(name: str) -> None:
    raise ProtocolError(f"non-standard JSON constant {name}")


def _text(event: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = event.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ProtocolError(f"{key} is not a bounded string")
    return value


def _int(event: Mapping[str, Any], key: str) -> int | None:
    value = event.get(key)
    if value is None:
        return None
    if type(value) is not int:
        raise ProtocolError(f"{key} is not an integer")
    return value


#: One decoder for every line: json.loads with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_event(line: bytes) -> dict[str, Any]:
    """One event line as a dict with checked 'ev' (and 'case' where it belongs)."""
    try:
        event = _DECODER.decode(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(event, dict) or event.get("ev") not in _EVENTS:
        raise ProtocolError("not an event")
    if b"\\ud" in line or b"\\uD" in line:
        event = dict(_without_surrogates(event))
    if event["ev"] in ("start", "end") and _text(event, "case") is None:
        raise ProtocolError("case is missing")
    return event


def _without_surrogates(value: Any) -> Any:
    """Every string of an event with its lone surrogates (JSON may escape half of a UTF-16
    pair: a submission's `raise ValueError("\\ud800")`) written as visible escapes: no
    file, database or terminal can hold them as text, and the grader stores and prints
    each message. Only lines that escape one are walked."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


def parse_number(text: str) -> float:
    if not _NUMBER.match(text):
        raise ProtocolError(f"not a number: {text[:40]!r}")
    return float(text)


def _names(event: Mapping[str, Any], key: str, limit: int = 64) -> tuple[str, ...] | None:
    value = event.get(key)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > limit
        or not all(isinstance(v, str) and len(v) <= 200 for v in value)
    ):
        raise ProtocolError(f"{key} is not a short list of names")
    return tuple(value)


def parse_ready(event: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The positional parameter names a 'ready' event reports."""
    return _names(event, "names")


def parse_fault(event: Mapping[str, Any]) -> Fault:
    return Fault(
        kind=_text(event, "kind") or "import",
        message=_text(event, "message") or "",
        line=_int(event, "line"),
        column=_int(event, "column"),
        text=_text(event, "text"),
        traceback=_text(event, "traceback"),
        error_type=_text(event, "type"),
        module=_text(event, "module"),
    )


def parse_problem(raw: Any) -> ReturnProblem:
    if not isinstance(raw, dict):
        raise ProtocolError("problem is not an object")
    try:
        kind = ProblemKind(raw.get("kind"))
    except ValueError:
        raise ProtocolError("unknown kind of problem") from None
    shape = raw.get("shape")
    if shape is not None and (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(type(d) is int and d >= 0 for d in shape)
    ):
        raise ProtocolError("shape is not a list of sizes")
    length = _int(raw, "length")
    return ReturnProblem(
        kind=kind,
        shape=tuple(shape) if shape is not None else None,
        dtype=_text(raw, "dtype"),
        length=length,
        type=_text(raw, "type"),
    )


def parse_end(event: Mapping[str, Any], case_id: str) -> CallOutcome:
    """The outcome of one call, from its 'end' event."""
    mutated = event.get("mutated", [])
    if type(mutated) is not list or (mutated and not all(type(m) is str for m in mutated)):
        raise ProtocolError("mutated is not a list of names")
    seconds = event.get("seconds")
    if not isinstance(seconds, float | int) or isinstance(seconds, bool):
        raise ProtocolError("seconds is not a number")
    common: dict[str, Any] = {
        "case_id": case_id,
        "output": _text(event, "output", ""),
        "mutated": tuple(mutated),
        "seconds": float(seconds),
        "value_type": _text(event, "type"),
    }
    if "error" in event:
        raw = event["error"]
        if not isinstance(raw, dict):
            raise ProtocolError("error is not an object")
        error = StudentError(
            type=_text(raw, "type") or "Exception",
            message=_text(raw, "message", "") or "",
            traceback=_text(raw, "traceback", "") or "",
            line=_int(raw, "line"),
            module=_text(raw, "module"),
        )
        return CallOutcome(status=CallStatus.RAISED, error=error, **common)
    if "problem" in event:
        problem = parse_problem(event["problem"])
        return CallOutcome(status=CallStatus.BAD_RETURN, problem=problem, **common)
    value = event.get("value")
    if not isinstance(value, str):
        raise ProtocolError("value is missing")
    return CallOutcome(status=CallStatus.RETURNED, value=parse_number(value), **common)
