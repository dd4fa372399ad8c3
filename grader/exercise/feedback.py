"""Between comparison and results: every sentence a student reads about a case, in one place.

It takes typed facts (a comparison's finding, the kind of value the child returned, what
ended a call) and words them; it never reads the prose of another module. Hidden cases are
worded from the same facts without the ones that would reveal their data (shapes, exception
messages, the values), so a student always reads whole sentences.
"""

from __future__ import annotations

import builtins
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from grader.audience import Audience
from grader.exercise.compare import Finding
from grader.results import Stopped
from grader.sandbox.protocol import (
    CallOutcome,
    CallStatus,
    Fault,
    ProblemKind,
    ReturnProblem,
    Stop,
    StopKind,
    StudentError,
)

#: Friendly names of packages students reach for instead of writing the loss.
_PACKAGE_NAMES = {
    "sklearn": "scikit-learn",
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "keras": "Keras",
    "jax": "JAX",
    "scipy": "SciPy",
    "pandas": "pandas",
    "tf_keras": "Keras",
}

MUTATION_HINT = (
    "Never modify the arrays you are given: the caller still needs them. "
    "np.clip(p, eps, 1 - eps) returns a new array; avoid out=, -=, *= and "
    "assigning into the inputs."
)


@dataclass(frozen=True)
class Words:
    """What a student reads about one case: one sentence, and a hint where one helps."""

    message: str
    hint: str | None = None


# --- a number came back ----------------------------------------------------------------------


#: The hint of a value no declared mistake explains, where the exercise gives none of its
#: own (its YAML's 'hints'). Loss-neutral: the advice that fits one loss (clip before the
#: log, the log-sum-exp trick, a mean of squares) is in that exercise's YAML, so that an
#: exercise without hints never tells its students to clip what it never logs.
DEFAULT_HINTS = {
    Finding.NAN: "NaN (not a number) comes from 0 / 0, inf - inf, 0 * inf or the log of a "
    "negative number: find the step of your computation that makes one.",
    Finding.INFINITE: "Infinity comes from a division by 0, an overflow or the log of 0: find "
    "the step of your computation that makes one.",
    Finding.OPPOSITE_SIGN: "Your value has the opposite sign of the expected one: look for a "
    "minus sign too many or too few.",
}


def finding(
    found: Finding, actual: float | None = None, hints: Mapping[str, str] | None = None
) -> Words:
    """A comparison's finding in words; `actual` gives infinity its sign. `hints` are the
    exercise's own (by finding), in place of DEFAULT_HINTS: a loss from logits has no
    probabilities to clip."""

    def hint(about: Finding) -> str:
        return (hints or {}).get(about.value) or DEFAULT_HINTS[about]

    if found is Finding.WITHIN:
        return Words("within tolerance")
    # The verdict only: every format that shows the value writes it after "got" itself
    # (a hidden case, whose value is not shown, still learns what kind of value it was).
    if found is Finding.NAN:
        return Words("wrong value (NaN, not a number)", hint(found))
    if found is Finding.INFINITE:
        sign = "negative " if actual is not None and actual < 0 else ""
        return Words(f"wrong value ({sign}infinity)", hint(found))
    if found is Finding.OPPOSITE_SIGN:
        return Words("wrong value (not within tolerance)", hint(found))
    if found is Finding.OUTSIDE_RANGE:
        return Words("wrong value (outside the accepted range)")
    return Words("wrong value (not within tolerance)")


def mutated(params: tuple[str, ...]) -> Words:
    return Words(f"changed its input {', '.join(params)} in place", MUTATION_HINT)


# --- something else came back ----------------------------------------------------------------


def _shape(shape: tuple[int, ...]) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


def bad_return(problem: ReturnProblem | None, *, hidden: bool) -> Words:
    """A value that is not one real number. A hidden case's shapes and lengths would tell
    the size of its inputs, so they are left out there."""
    kind = problem.kind if problem is not None else ProblemKind.OTHER
    single = "Return a single number: float(loss) or loss.item(), not a 1-element container."
    if problem is not None and kind is ProblemKind.ARRAY and problem.shape == ():
        # A dtype's text can carry field names the submission made up: not for hidden cases.
        dtype = "" if hidden else f" of dtype {problem.dtype}"
        what, hint = f"a 0-d array{dtype}", "Return one float."
    elif problem is not None and kind is ProblemKind.ARRAY:
        shape = problem.shape or ()
        what = "an array" if hidden else f"an array of shape {_shape(shape)}"
        if all(d == 1 for d in shape):
            hint = single
        else:
            hint = "You returned one value per example: take the mean over the examples."
    elif problem is not None and kind is ProblemKind.SEQUENCE:
        # The type comes from the child: only the two names it may send are repeated.
        name = problem.type if problem.type in ("list", "tuple") else "sequence"
        what = f"a {name}" if hidden else f"a {name} of {problem.length} item(s)"
        hint = single if problem.length == 1 else "Return one float, e.g. float(np.mean(...))."
    elif kind is ProblemKind.NONE:
        what, hint = "None (is a 'return' missing?)", "The function must end with 'return loss'."
    elif kind is ProblemKind.BOOL:
        what, hint = "a boolean", "Return the loss itself, a float, not a comparison."
    elif kind is ProblemKind.TOO_LARGE:
        what, hint = "an integer too large for a float", "Return one float."
    elif hidden:
        # A class can be named at run time after the inputs: its name stays out.
        what, hint = "a value that is not a number", "Return one float, e.g. float(np.mean(...))."
    else:
        name = problem.type if problem is not None and problem.type else "an unknown type"
        what, hint = f"a value of type {name}", "Return one float, e.g. float(np.mean(...))."
    return Words(f"returned {what}, not one real number", hint)


def _package(module: str) -> str:
    top = module.split(".")[0]
    return _PACKAGE_NAMES.get(top, top)


def _builtin_exception(name: str) -> bool:
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, BaseException)


def missing_module(module: str | None, packages: tuple[str, ...] = ("numpy",)) -> str:
    """Why an import fails in the sandbox although the package may be on the machine:
    `packages` are what this exercise lets a submission import."""
    what = _package(module) if module is not None else "That package"
    if not packages:
        return (
            f"{what} is not available here: only the standard library is available in this "
            "exercise, whatever is installed on your machine. The exercise asks for the loss "
            "written by hand in plain Python: your function receives lists of numbers; "
            "remove the import and use loops, sum() and the math module."
        )
    allowed = ", ".join(packages)
    return (
        f"{what} is not available here: only Python's standard library and {allowed} "
        "are available in this exercise, whatever is installed on your machine. "
        "The exercise asks for the loss written by hand: remove the import and compute "
        f"it with {allowed}."
    )


#: What a MemoryError's hint says of the memory a case allows (prepare.call_memory).
CALL_MEMORY_RULE = (
    "A call may use 50 times the memory the reference solution needs on the same input, "
    "and 64 MiB more."
)


def raised(
    error: StudentError,
    *,
    hidden: bool,
    memory_mb: int,
    packages: tuple[str, ...] = ("numpy",),
    call_memory_mb: int | None = None,
) -> Words:
    """An exception from the student's call. `call_memory_mb` is the memory this case's
    call could add (None: only the exercise's memory_mb held it)."""
    if error.type == "MemoryError":
        advice = "Avoid building large intermediate arrays (an N x N table, for instance)."
        if call_memory_mb is not None and call_memory_mb < memory_mb:
            return Words(
                f"ran out of memory: used more than the {_memory(call_memory_mb)} this case "
                "allows (MemoryError)",
                f"{advice} {CALL_MEMORY_RULE}",
            )
        return Words(f"used more than {_memory(memory_mb)} of memory (MemoryError)", advice)
    if hidden:
        # An exception's text may hold the inputs (shapes, values, or a student's own
        # message built from them), and so may the name of a class made at run time or the
        # module an ImportError names: a hidden case shows a built-in exception's type only.
        kind = error.type if _builtin_exception(error.type) else "an exception of its own class"
        hint = (
            missing_module(None, packages)
            if error.type in ("ModuleNotFoundError", "ImportError")
            else None
        )
        return Words(f"raised {kind} (the message of a hidden case is not shown)", hint)
    if error.module is not None and error.type in ("ModuleNotFoundError", "ImportError"):
        return Words(
            f"raised {error.type}: {_package(error.module)} cannot be imported here",
            missing_module(error.module, packages),
        )
    return Words(f"raised {error.type}: {error.message}".rstrip(": "))


def _mib(n: int) -> int:
    """Bytes in whole MiB, rounded up."""
    return -(-n // 2**20)


def _memory(mb: int) -> str:
    return f"{mb // 1024} GiB" if mb % 1024 == 0 else f"{mb} MiB"


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.3g}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def stopped(stop: Stop | None, *, memory_mb: int) -> str:
    """What ended a process or a call, in words."""
    if stop is None:
        return "did not run"
    if stop.kind is StopKind.TIME_LIMIT:
        return f"ran longer than {_seconds(stop.seconds)} s"
    if stop.kind is StopKind.BUDGET:
        return f"the submission used its time budget of {_seconds(stop.seconds)} s"
    if stop.kind is StopKind.CHANNEL:
        return f"the submission interfered with the grader's channel ({stop.detail})"
    if stop.kind is StopKind.NOT_LOADED:
        return "the submission could not be loaded"
    if stop.kind is StopKind.HANGING:
        return "two calls in a row ran out of time, so the calls left were not made"
    if stop.kind is StopKind.SIGNAL and stop.signal is not None:
        sig = stop.signal
        if sig == signal.SIGSEGV:
            return "the Python process crashed (segmentation fault)"
        if sig == signal.SIGXCPU:
            return "the process used more CPU time than allowed"
        if sig == signal.SIGKILL:
            limit = _memory(memory_mb)
            return f"the process was killed (it may have used more than {limit} of memory)"
        if sig == signal.SIGXFSZ:
            return "the process wrote a file larger than allowed"
        return f"the process was ended by {_signal_name(sig)}"
    code = f" with code {stop.exit_code}" if stop.exit_code is not None else ""
    return (
        f"the process exited{code} before the call returned "
        "(sys.exit(), os._exit() or exit() in your code?)"
    )


def no_answer(outcome: CallOutcome, *, memory_mb: int) -> Words:
    """A call that ended without a value: timed out, crashed, or was not run."""
    stop = outcome.stop
    loops = "look for a loop that never ends, or use numpy operations instead of loops."
    if outcome.status is CallStatus.NOT_RUN and stop is not None and stop.kind is StopKind.HANGING:
        return Words(
            f"not run: {stopped(stop, memory_mb=memory_mb)}",
            f"Your code never returns, or is very slow: {loops}",
        )
    if outcome.status is CallStatus.NOT_RUN:
        return Words(f"not run: {stopped(stop, memory_mb=memory_mb)}")
    if outcome.status is CallStatus.TIMEOUT:
        if stop is not None and stop.kind is StopKind.BUDGET:
            return Words(
                f"stopped: {stopped(stop, memory_mb=memory_mb)}",
                f"Your code is slow or never returns on several cases: {loops}",
            )
        return Words(stopped(stop, memory_mb=memory_mb), loops.capitalize())
    return Words(stopped(stop, memory_mb=memory_mb))


# --- the submission as a whole -----------------------------------------------------------------

_FAULT_HINTS = {
    "syntax": "Fix the line shown; Python stops reading the file at the first syntax error.",
    "import": "The file fails while it loads, before any test runs: fix the error shown.",
    "unreadable": "Save the file as UTF-8 text.",
    "too_complex": "Split long expressions into several statements, and keep data out of "
    "the source file.",
    "timeout": "Code at the top level of your file runs when it is loaded: move slow code "
    "into functions, or remove it.",
    "crashed": "Code at the top level of your file runs when it is loaded: remove test code "
    "that ends the program.",
}


def fault(
    found: Fault,
    *,
    signature: str,
    exercise_id: str,
    memory_mb: int,
    packages: tuple[str, ...] = ("numpy",),
    audience: Audience = Audience.TERMINAL,
) -> Words:
    """Why the submission could not be loaded at all, and what to do; `packages` are what
    the exercise lets a submission import. Only a terminal's reader can run `grade start`."""
    if found.kind in ("missing", "signature"):
        starter = (
            f"\n'grade start {exercise_id}' writes a starter file with it."
            if audience is Audience.TERMINAL
            else ""
        )
        return Words(found.message, f"Define exactly:\n    {signature}{starter}")
    if found.kind in ("timeout", "crashed") and found.stop is not None:
        reason = stopped(found.stop, memory_mb=memory_mb)
        if found.stop.kind is StopKind.TIME_LIMIT:
            reason = f"took longer than {_seconds(found.stop.seconds)} s to load"
        elif found.stop.kind is StopKind.EXIT and found.stop.exit_code is None:
            reason = "the process ended before any call was made"
        return Words(f"the submission could not be loaded: {reason}", _FAULT_HINTS[found.kind])
    if (
        found.kind == "import"
        and found.module
        and found.error_type
        in (
            "ModuleNotFoundError",
            "ImportError",
        )
    ):
        return Words(found.message, missing_module(found.module, packages))
    return Words(found.message, _FAULT_HINTS.get(found.kind))


def parameter_names(given: tuple[str, ...] | None, expected: tuple[str, ...]) -> str | None:
    """A warning when the student's parameters are not named as in the statement: they
    are passed by position, so this costs nothing by itself, but a swap usually does."""
    if given is None or tuple(given) == expected or any(n.startswith("*") for n in given):
        return None
    rest = "".join(f", then {name}" for name in expected[1:])
    return (
        f"your parameters are named ({', '.join(given)}); the grader passes "
        f"{expected[0]} first{rest}, by position, as in the statement"
        f" ({', '.join(expected)})."
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


def _stop_kind(outcome: CallOutcome) -> str | None:
    """Which of Stopped's kinds ended this call; None: it ended by itself."""
    stop = outcome.stop
    if stop is not None and stop.kind in (StopKind.BUDGET, StopKind.HANGING):
        return str(stop.kind.value)
    killed = stop is not None and stop.kind is StopKind.SIGNAL and stop.signal == signal.SIGKILL
    if killed or (outcome.error is not None and outcome.error.type == "MemoryError"):
        return "memory"
    if stop is not None and stop.kind is StopKind.TIME_LIMIT:
        return "time_limit"
    if outcome.status is CallStatus.CRASHED:
        return "crashed"
    return None


def stop_summary(
    outcomes: Iterable[CallOutcome],
    memory_mb: int,
    call_memory: Mapping[str, int] | None = None,
) -> Stopped | None:
    """What ended calls without an answer, the gravest first: the time budget, calls in a
    row out of time (both leave calls unmade: the submission could not be graded), memory,
    a call's own time limit, a crash. Worded here from the supervisor's Stop, not from the
    cases' sentences, so a class can tell a time-out from wrong answers. `call_memory` is
    the memory each case's call could add, in bytes (prepare.call_memory)."""
    outcomes = list(outcomes)
    by_kind: dict[str, list[CallOutcome]] = {}
    for outcome in outcomes:
        kind = _stop_kind(outcome)
        if kind is not None:
            by_kind.setdefault(kind, []).append(outcome)
    limits = [o.stop.seconds for o in outcomes if o.stop and o.stop.kind is StopKind.TIME_LIMIT]
    call_limit = max((x for x in limits if x is not None), default=None)
    per_call = f"{call_limit:.3g} s" if call_limit is not None else "their limit"
    memory = f"{memory_mb // 1024} GiB" if memory_mb % 1024 == 0 else f"{memory_mb} MiB"
    total = len(outcomes)
    if "budget" in by_kind:
        ended = by_kind["budget"]
        budget = next((o.stop.seconds for o in ended if o.stop and o.stop.seconds), None)
        limit = f"{budget:.3g} s" if budget is not None else "?"
        return Stopped(
            "budget",
            f"it ran out of time: its time budget of {limit} was used up, and "
            f"{len(ended)} of {_plural(total, 'call')} {_were(len(ended))} stopped or not made",
            len(ended),
            seconds=budget,
        )
    if "hanging" in by_kind:
        timed = len(by_kind.get("time_limit", []))
        return Stopped(
            "hanging",
            f"it ran out of time: calls in a row ran longer than {per_call} each, so "
            f"{len(by_kind['hanging'])} of {_plural(total, 'call')} "
            f"{_were(len(by_kind['hanging']))} not made",
            len(by_kind["hanging"]) + timed,
            seconds=call_limit,
        )
    if "memory" in by_kind:
        n = len(by_kind["memory"])
        allowed = [
            (call_memory or {}).get(o.case_id)
            for o in by_kind["memory"]
            if o.error is not None and o.error.type == "MemoryError"
        ]
        if allowed and None not in allowed:
            most = _mib(max(a for a in allowed if a is not None))
            if most < memory_mb:
                return Stopped(
                    "memory",
                    f"{_plural(n, 'call')} ran out of memory: more than "
                    f"{'its case allows' if n == 1 else 'their cases allow'} "
                    f"({_memory(most)} at most; MemoryError). {CALL_MEMORY_RULE}",
                    n,
                    memory_mb=most,
                )
        return Stopped(
            "memory",
            f"{_plural(n, 'call')} used more than {memory} of memory "
            "(a MemoryError, or the process was killed)",
            n,
            memory_mb=memory_mb,
        )
    if "time_limit" in by_kind:
        n = len(by_kind["time_limit"])
        return Stopped(
            "time_limit",
            f"{_plural(n, 'call')} ran out of time (longer than {per_call})",
            n,
            seconds=call_limit,
        )
    if "crashed" in by_kind:
        first = by_kind["crashed"][0]
        n = len(by_kind["crashed"])
        return Stopped(
            "crashed",
            f"{_plural(n, 'call')} ended the process: " + stopped(first.stop, memory_mb=memory_mb),
            n,
        )
    return None
