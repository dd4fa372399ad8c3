"""Between the spec and grading: an exercise made ready to grade, each check written once.

`grade exNN`, `grade validate`, `grade selftest` and `grade release` all start here. An
exercise's answers come from one of two places: the course's reference and mistakes in
solutions/ (a full course), or the values a release bundle stored for its seeds (what
students get: no solution source, no hidden case). Grading reads them the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError, ReferenceSolutionError, raised
from grader.exercise import cache
from grader.exercise.spec import Exercise, Mistake, Visibility

if TYPE_CHECKING:
    import numpy as np

    from grader.exercise.cases import Case
    from grader.exercise.compare import Expected
    from grader.exercise.reference import Reference

#: Answers of every declared mistake to some cases, by mistake then case id (None: the
#: mistake cannot run on that input).
MistakeAnswers = list[tuple[Mistake, dict[str, "Expected | None"]]]

#: A call may take this much longer than the reference did on the same input, plus a floor:
#: a plain Python loop is 100 to 300 times slower than numpy on these losses, and a loaded
#: CI machine slower again. Bounded so that a slow reference cannot make a case wait long.
CALL_FLOOR_SECONDS = 1.0
CALL_FACTOR = 1000.0
CALL_CEILING_SECONDS = 10.0
#: A call still running this long after what the factor allows it, and still using the CPU,
#: yields the cores to other work, its limit unchanged (see sandbox/supervisor.py): in a
#: class, a submission that hangs waits out the floor on the cores nothing else needs,
#: instead of taking a share of them for two seconds. On inputs of a few elements a correct
#: call takes microseconds (this is a thousand times that); on 50,000 rows the slowest
#: plain loop takes 0.3 s, where this gives 1.01 s or more; and a call slowed down by a busy
#: machine uses little CPU, so it keeps its priority.
CALL_YIELD_SECONDS = 0.01

#: A call may add this much more memory than the reference needed on the same input, plus a
#: floor: a correct solution makes more temporaries than the reference (float32 copies,
#: one-hot tables, lists of Python floats: 30 to 150 bytes an element where the reference
#: needs 40), and a process's first matrix product maps OpenBLAS's 32 MB buffer. An N x N
#: table of the inputs' rows (50,000 rows: 20 GB; 10,000: 800 MB) is far over it and fails at
#: once, where it would take a second to fill. Bounded by the exercise's memory_mb.
CALL_MEMORY_FLOOR_BYTES = 64 * 2**20
CALL_MEMORY_FACTOR = 50

#: The file, beside exercises/, that marks a release bundle and lists what it holds.
RELEASE_MANIFEST = "release.json"
RELEASE_FORMAT = 1


def call_seconds(exercise: Exercise, reference_seconds: float) -> float:
    """The wall-time limit of one call: the exercise's, else derived from the reference."""
    declared = exercise.limits.seconds_per_case
    if declared is not None:
        return declared
    derived = CALL_FLOOR_SECONDS + CALL_FACTOR * reference_seconds
    return min(CALL_CEILING_SECONDS, round(derived, 1))


def call_patience(exercise: Exercise, reference_seconds: float) -> float | None:
    """How long a call runs at full priority (None: until its limit, as with a limit the
    exercise declares)."""
    if exercise.limits.seconds_per_case is not None:
        return None
    return min(
        call_seconds(exercise, reference_seconds),
        CALL_YIELD_SECONDS + CALL_FACTOR * reference_seconds,
    )


def call_memory(exercise: Exercise, reference_bytes: int) -> int:
    """The memory one call may add to its process, in bytes: derived from what the
    reference allocated on the same input (numpy's arrays included), as the time limit
    is from its time; never more than the exercise's memory limit."""
    derived = CALL_MEMORY_FLOOR_BYTES + CALL_MEMORY_FACTOR * max(0, reference_bytes)
    return min(exercise.limits.memory_mb * 2**20, derived)


#: What seed_of reads of an upload: a submission is a few hundred bytes.
SEED_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Answers:
    """What each case should give, how long a call of it may take, how much memory it may
    add (bytes; a case without an entry is held to the exercise's memory_mb only) and how
    long it runs at full priority (a case without an entry: until its limit)."""

    expected: dict[str, Expected]
    seconds: dict[str, float]
    memory: dict[str, int] = field(default_factory=dict)
    patience: dict[str, float] = field(default_factory=dict)


def input_digest(case: Case) -> str:
    """A case's inputs, summarised: a bundle checks it draws what its release drew."""
    digest = hashlib.sha256()
    for name, array in case.args.items():
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:32]


@dataclass
class Released:
    """A bundle's stored answers, by seed and case name (visible cases only)."""

    source: Path
    seeds: tuple[int, ...]
    cases: Mapping[str, Mapping[str, Any]]
    hidden_cases: int
    hidden_points: float
    curve: list[list[float]] | None

    @classmethod
    def read(cls, path: Path) -> Released:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                source=path,
                seeds=tuple(int(s) for s in data["seeds"]),
                cases=data["cases"],
                hidden_cases=int(data["hidden"]["cases"]),
                hidden_points=float(data["hidden"]["points"]),
                curve=data.get("curve"),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GraderError(
                f"the bundle's answers cannot be read: {exc}",
                where=str(path),
                fix="Download the bundle again, or ask your instructor for a new release.",
            ) from None

    def entry(self, seed: int, case: Case) -> Mapping[str, Any]:
        stored = self.cases.get(str(seed), {}).get(case.name)
        if stored is None:
            raise GraderError(
                f"the bundle holds no answer for case {case.name!r} with seed {seed}",
                where=str(self.source),
                fix="Ask your instructor for a new release.",
            )
        if not _well_formed(stored):
            raise GraderError(
                f"the bundle's answer for case {case.name!r} is malformed",
                where=str(self.source),
                fix="Download the bundle again, or ask your instructor for a new release.",
            )
        if stored["digest"] != input_digest(case):
            raise GraderError(
                f"case {case.name!r} draws other inputs here than when the bundle was made "
                "(another numpy version?)",
                where=str(self.source),
                fix="Install the numpy version the course names, or ask for a new release.",
            )
        entry: Mapping[str, Any] = stored
        return entry


def _interval(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, (int, float)) for v in value)
    )


def _well_formed(stored: Any) -> bool:
    """A stored answer as release writes it: the grader reads it without surprises."""
    return (
        isinstance(stored, dict)
        and isinstance(stored.get("digest"), str)
        and _interval(stored.get("expected"))
        and isinstance(stored.get("seconds"), (int, float))
        and (stored.get("memory") is None or type(stored["memory"]) is int)
        and (stored.get("patience") is None or isinstance(stored["patience"], (int, float)))
        and isinstance(stored.get("mistakes"), dict)
        and all(v is None or _interval(v) for v in stored["mistakes"].values())
    )


def _stored_form(forms: Mapping[str, Any], mistake_id: str, index: int) -> Expected | None:
    """One form of a mistake as a bundle stored it; None where it is missing or malformed."""
    found = forms.get(mistake_id)
    if not isinstance(found, list) or index >= len(found) or not _interval(found[index]):
        return None
    return _expected(found[index])


def _expected(raw: list[float] | None) -> Expected | None:
    from grader.exercise.compare import Expected

    return None if raw is None else Expected(float(raw[0]), float(raw[1]))


@dataclass
class Prepared:
    """One exercise, ready to grade: its spec and where its answers come from."""

    exercise: Exercise
    course_root: Path
    #: Set in a release bundle: answers stored at release time, no solutions/.
    released: Released | None = None
    #: Mistake answers by (seed, case id): selftest asks for them once per mistake graded.
    _mistake_memo: dict[tuple[int, str], dict[str, Expected | None]] = field(
        default_factory=dict, repr=False
    )
    #: Every form's answers by (seed, case id), then mistake id: a batch asks once per seed.
    _forms_memo: dict[tuple[int, str], dict[str, list[Expected | None]]] = field(
        default_factory=dict, repr=False
    )

    #: Cases and answers by seed, for graded(): a batch grades a class with one seed.
    _graded_memo: dict[int, tuple[list[Case], Answers]] = field(default_factory=dict, repr=False)

    @property
    def hidden_note(self) -> str | None:
        """What a bundle's report says of the cases it cannot run."""
        if self.released is None or not self.released.hidden_cases:
            return None
        n, points = self.released.hidden_cases, self.released.hidden_points
        cases = f"{n} hidden case ({points:g} point{'s' if points != 1 else ''}) runs"
        if n != 1:
            cases = f"{n} hidden cases ({points:g} point{'s' if points != 1 else ''}) run"
        return (
            f"This is the student bundle: it grades the visible cases. {cases} only in the "
            "course's CI."
        )

    def seed(self, seed: int | None) -> int:
        """The seed of a run: any seed in a course, one the bundle stored in a bundle."""
        if self.released is None:
            return random.SystemRandom().randrange(10**6) if seed is None else seed
        seeds = self.released.seeds
        if seed is None:
            return random.SystemRandom().choice(seeds)
        if seed not in seeds:
            raise GraderError(
                f"this bundle holds answers for seeds {', '.join(map(str, seeds))} only",
                fix="Leave out --seed, or pass one of those.",
            )
        return seed

    def seed_of(self, submission: Path) -> int:
        """A seed drawn from the exercise and the submission's bytes: grading the same file
        again (a regrade) draws the same random cases, and so gives the same score, while
        another file may draw others. In a bundle, one of the seeds it stored. Only the
        first SEED_BYTES and the size are read: an upload of any size costs no more."""
        digest = hashlib.sha256(f"{self.exercise.id}\0".encode())
        with submission.open("rb") as handle:
            digest.update(f"{os.fstat(handle.fileno()).st_size}\0".encode())
            digest.update(handle.read(SEED_BYTES))
        number = int.from_bytes(digest.digest()[:8], "big")
        if self.released is not None:
            return self.released.seeds[number % len(self.released.seeds)]
        return number % 10**6

    def cases(self, seed: int) -> list[Case]:
        from grader.exercise.cases import build_cases

        return build_cases(self.exercise, seed)

    def graded(self, seed: int) -> tuple[list[Case], Answers]:
        """cases(seed) and their answers, worked out once per seed (the last few kept).
        The inputs are made read-only: every submission graded with the seed shares them."""
        if seed not in self._graded_memo:
            cases = self.cases(seed)
            for case in cases:
                for array in case.args.values():
                    array.setflags(write=False)
            if len(self._graded_memo) >= 4:
                self._graded_memo.pop(next(iter(self._graded_memo)))
            self._graded_memo[seed] = (cases, self.answers(cases, seed))
        return self._graded_memo[seed]

    @cached_property
    def reference(self) -> Reference | None:
        """The trusted function; None in a bundle, which has none."""
        if self.released is not None:
            return None
        from grader.exercise.reference import load_reference

        return load_reference(self.exercise, self.course_root)

    def answers(self, cases: list[Case], seed: int) -> Answers:
        """Expected values and call limits; a promised value the reference misses is an
        error of the exercise, raised before any student code is judged."""
        expected: dict[str, Expected] = {}
        seconds: dict[str, float] = {}
        memory: dict[str, int] = {}
        patience: dict[str, float] = {}
        if self.released is not None:
            for case in cases:
                stored = self.released.entry(seed, case)
                answer = _expected(stored["expected"])
                assert answer is not None
                expected[case.id] = answer
                seconds[case.id] = float(stored["seconds"])
                if isinstance(stored.get("memory"), int):  # bundles made before: none
                    memory[case.id] = stored["memory"]
                if stored.get("patience") is not None:
                    patience[case.id] = float(stored["patience"])
            return Answers(expected, seconds, memory, patience)
        from grader.exercise.reference import expected_for

        reference = self.reference
        assert reference is not None
        if cases:
            # Once untimed: a process's first call of the reference costs it what loading
            # numpy's code paths costs (0.1 ms more: the first case's limit 1.2 s, not 1.0).
            expected_for(self.exercise, reference, cases[0], seed=seed)
        for case in cases:
            clock = time.perf_counter()
            expected[case.id] = expected_for(self.exercise, reference, case, seed=seed)
            took = time.perf_counter() - clock
            seconds[case.id] = call_seconds(self.exercise, took)
            if (after := call_patience(self.exercise, took)) is not None:
                patience[case.id] = after
        memory.update(self._memory(reference, cases))
        check_promises(cases, expected)
        return Answers(expected, seconds, memory, patience)

    def _memory(self, reference: Reference, cases: list[Case]) -> dict[str, int]:
        """Each case's call_memory, from one more call of the reference on it, traced:
        numpy reports its arrays to tracemalloc, so the peak is what the call allocates,
        arrays and Python objects alike (its copy of the inputs too). Apart from the timed
        calls, which tracing would slow down (a tenth of a second more on the smallest
        cases' limits)."""
        import tracemalloc

        from grader.exercise.reference import reference_value

        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
        memory: dict[str, int] = {}
        try:
            for case in cases:
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                try:
                    reference_value(reference, dict(case.args))
                except Exception:  # answered with other arguments (expected_for): the floor
                    peak = 0
                else:
                    peak = tracemalloc.get_traced_memory()[1] - before
                memory[case.id] = call_memory(self.exercise, peak)
        finally:
            if not tracing:
                tracemalloc.stop()
        return memory

    @cached_property
    def mistake_functions(self) -> list[tuple[Mistake, Reference]]:
        from grader.exercise.reference import load_mistakes

        return load_mistakes(self.exercise, self.course_root)

    def mistake_answers(self, cases: Iterable[Case], seed: int) -> MistakeAnswers:
        cases = list(cases)
        if self.released is not None:
            released = self.released
            stored = {c.id: released.entry(seed, c)["mistakes"] for c in cases}
            return [
                (m, {c.id: _expected(stored[c.id].get(m.id)) for c in cases})
                for m in self.exercise.mistakes
            ]
        from grader.exercise.reference import mistake_answer

        for case in cases:
            if (seed, case.id) not in self._mistake_memo:
                self._mistake_memo[seed, case.id] = {
                    m.id: mistake_answer(self.exercise, fn, case, clip=m.clip)
                    for m, fn in self.mistake_functions
                }
        return [
            (m, {c.id: self._mistake_memo[seed, c.id][m.id] for c in cases})
            for m, _ in self.mistake_functions
        ]

    @cached_property
    def mistake_forms_functions(self) -> list[tuple[Mistake, tuple[Reference, ...]]]:
        from grader.exercise.reference import load_mistake_forms

        return load_mistake_forms(self.exercise, self.course_root)

    def mistake_forms(self, cases: Iterable[Case], seed: int) -> MistakeAnswers:
        """What the diagnosis compares a student's results with: each declared mistake in
        every form students write it, one entry per form (a mistake repeats). A form is
        one of the mistake's implementations (Mistake.alternatives), computed in the
        inputs' dtype or from the inputs converted to float64 first: students often
        convert, and a float32 case then overflows or rounds where they do not. A form
        is one way of computing for every case, so the diagnosis can hold a student to
        one. A bundle has the forms its release stored, else the declared one only."""
        cases = list(cases)
        if self.released is not None:
            released = self.released
            stored = {c.id: released.entry(seed, c) for c in cases}
            if not all(isinstance(stored[c.id].get("forms"), dict) for c in cases):
                return self.mistake_answers(cases, seed)
            forms: MistakeAnswers = []
            for m in self.exercise.mistakes:
                count = min(len(stored[c.id]["forms"].get(m.id) or [None]) for c in cases)
                for i in range(count):
                    forms.append(
                        (m, {c.id: _stored_form(stored[c.id]["forms"], m.id, i) for c in cases})
                    )
            return forms
        from grader.exercise.reference import has_narrow_inputs, mistake_answer

        for case in cases:
            if (seed, case.id) in self._forms_memo:
                continue
            widen = has_narrow_inputs(case)
            by_mistake: dict[str, list[Expected | None]] = {}
            for m, functions in self.mistake_forms_functions:
                answers: list[Expected | None] = []
                for fn in functions:
                    native = mistake_answer(self.exercise, fn, case, clip=m.clip)
                    wide = (
                        mistake_answer(self.exercise, fn, case, widen=True, clip=m.clip)
                        if widen
                        else native
                    )
                    answers += [native, wide]
                by_mistake[m.id] = answers
            self._forms_memo[seed, case.id] = by_mistake
        return [
            (m, {c.id: self._forms_memo[seed, c.id][m.id][i] for c in cases})
            for m, functions in self.mistake_forms_functions
            for i in range(2 * len(functions))
        ]

    def stored_forms(
        self, cases: Iterable[Case], seed: int
    ) -> dict[str, dict[str, list[list[float] | None]]]:
        """mistake_forms as a release bundle stores them, by case id then mistake id: the
        intervals of each form in order (None: the form cannot run there). What a bundle's
        answers hold under each case's "forms", and mistake_forms reads back."""
        cases = list(cases)
        stored: dict[str, dict[str, list[list[float] | None]]] = {c.id: {} for c in cases}
        for mistake, by_case in self.mistake_forms(cases, seed):
            for case in cases:
                answer = by_case[case.id]
                interval = None if answer is None else [answer.low, answer.high]
                stored[case.id].setdefault(mistake.id, []).append(interval)
        return stored

    def curve(self, points: list[dict[str, np.ndarray]]) -> list[float] | None:
        """The reference over the plot's sweep (stored in a bundle)."""
        if self.released is not None:
            flat = [y for line in self.released.curve or [] for y in line]
            return flat if len(flat) == len(points) else None
        from grader.exercise.reference import COURSE_FAULT, reference_value

        reference = self.reference
        assert reference is not None
        try:
            return [reference_value(reference, arrays) for arrays in points]
        except Exception as exc:  # the course's reference, on the course's sweep
            raise ReferenceSolutionError(
                f"the reference {self.exercise.reference} raised {raised(exc)} on the plot's "
                "inputs",
                where=self.exercise.where("plot", "series"),
                fix=f"Fix the plot's args or its x range. {COURSE_FAULT}",
            ) from exc


def check_promises(cases: list[Case], expected: Mapping[str, Expected]) -> None:
    """A fixed case's 'expect' is a number the statement prints: the reference must agree."""
    from grader.exercise.compare import within

    for case in cases:
        promised = case.spec.expect
        if promised is None:
            continue
        got = expected[case.id]
        if not (within(promised, got.low, case.spec.tolerance) and got.is_exact):
            raise ReferenceSolutionError(
                f"case {case.name!r} promises {promised!r} but the reference gives {got.low!r}",
                where=case.spec.where,
                fix="Fix 'expect' (and the statement, if it prints this number) or the reference.",
            )


def prepare(course_root: Path, exercise_path: Path) -> Prepared:
    """An exercise of a course or a bundle, ready to grade. Only the file's own rules are
    checked here (cached by its content); `validate` checks the rest."""
    exercise = cache.load_exercise(exercise_path)
    released = None
    if exercise.release is not None:
        released = Released.read(course_root / exercise.release)
    return Prepared(exercise, course_root, released)


def is_release(course_root: Path) -> bool:
    return (course_root / RELEASE_MANIFEST).is_file()


def visible(cases: list[Case]) -> list[Case]:
    return [c for c in cases if c.spec.visibility is Visibility.VISIBLE]


def callable_with(
    fn: Callable[..., Any], count: int = 0, keywords: Iterable[str] = ()
) -> str | None:
    """Why fn cannot be called with `count` positional arguments and these keyword
    arguments, or None (a student's function by position; a quiz answer by keyword)."""
    import inspect

    try:
        inspect.signature(fn).bind(*range(count), **dict.fromkeys(keywords, 0))
    except TypeError as exc:
        return str(exc)
    except ValueError:
        return None  # no signature to read (a builtin): the first call will tell
    return None
