"""`grade show EXERCISE --cases`: the inputs each case draws, before any student sees them.

An author writes a generator's options (a scale, a size, a share of extreme values) and
students meet what they draw; a hidden case whose draws are too gentle lets a declared
mistake pass unnoticed. This prints, for one seed, every case's inputs (their dtype,
shape, range and first values) and the reference's answer, as the grader will see them.
Hidden cases only when asked for, and only where the course's files are (a bundle holds
none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.errors import GraderError
from grader.exercise.spec import Visibility

if TYPE_CHECKING:
    import numpy as np

    from grader.exercise.cases import Case
    from grader.exercise.prepare import Prepared

#: The seed shown when none is given in a course: the same inputs on every run.
DEFAULT_SEED = 0


def drawn_cases(prepared: Prepared, *, seed: int | None = None, hidden: bool = False) -> list[str]:
    """The lines `grade show EXERCISE --cases` prints."""
    exercise = prepared.exercise
    if hidden and prepared.released is not None:
        raise GraderError(
            "this is a student bundle: its hidden cases are not in it",
            where=str(exercise.source),
            fix="Run 'grade show --cases --hidden' in the course the bundle was released from.",
        )
    if seed is None and prepared.released is None:
        seed = DEFAULT_SEED
    seed = prepared.seed(seed)
    cases, answers = prepared.graded(seed)
    shown = [c for c in cases if hidden or c.spec.visibility is Visibility.VISIBLE]
    left_out = len(cases) - len(shown)
    if prepared.released is not None and prepared.released.hidden_cases:
        left_out = prepared.released.hidden_cases
    head = f"{exercise.id}: the cases drawn with seed {seed} ({len(shown)} shown"
    if left_out:
        head += f"; {left_out} hidden not shown"
        head += "" if prepared.released is not None else ": --hidden shows them"
    again = "--seed N draws another set."
    if prepared.released is not None:
        stored = ", ".join(map(str, prepared.released.seeds))
        again = f"--seed picks another of the seeds the bundle holds: {stored}."
    lines = [head + ")", again]
    for case in shown:
        lines += ["", *_case_lines(case, answers.expected[case.id])]
    return lines


def _case_lines(case: Case, expected: Any) -> list[str]:
    spec = case.spec
    about = [
        spec.kind.value,
        spec.visibility.value,
        f"{spec.points:g} point" + "s" * (spec.points != 1),
    ]
    if spec.generate is not None:
        options = ", ".join(f"{k}: {v}" for k, v in spec.generate.options.items())
        about.append(
            f"generator {spec.generate.generator}" + (f" {{{options}}}" if options else "")
        )
    lines = [f"{case.name}  ({'; '.join(about)})"]
    width = max(len(name) for name in [*case.args, "expected"])
    for name, array in case.args.items():
        lines.append(f"  {name:<{width}}  {_array(array)}")
    if expected.is_exact:
        lines.append(f"  {'expected':<{width}}  {expected.low!r}")
    else:
        lines.append(f"  {'expected':<{width}}  from {expected.low!r} to {expected.high!r}")
    return lines


#: Arrays up to this size are printed whole and exactly; larger ones by their range and
#: ends, to 6 significant digits.
WHOLE = 8


def _array(array: np.ndarray) -> str:
    """Its dtype and shape, then its values (small) or its range and ends (large)."""
    import numpy as np

    from grader.exercise.cases import describe

    head = f"{array.dtype} {array.shape}"
    if array.size <= WHOLE:
        return f"{head}: {describe(array).split('  (shape')[0]}"
    flat = array.ravel()
    with np.errstate(all="ignore"):
        low, high = np.min(flat), np.max(flat)
    ends = ", ".join(f"{v:.6g}" for v in flat[:3]) + ", ..., "
    ends += ", ".join(f"{v:.6g}" for v in flat[-3:])
    return f"{head}, from {low:.6g} to {high:.6g}: [{ends}]"
