"""The process backend with real child processes: every way a call can end."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import backends
from grader.sandbox import Backend, Job, RunResult, SandboxLimits, get_backend
from grader.sandbox.process import UID_RANGE, ProcessBackend, _open_to_others
from grader.sandbox.protocol import CallStatus, ProblemKind, ReturnProblem, Stop, StopKind

PARAMS = ("y_true", "y_pred")


@pytest.fixture(params=backends("process", "bwrap"))
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every sandbox test runs on both backends; bwrap is skipped, with the reason, where
    this machine cannot run it."""
    return get_backend(request.param)


def run(
    backend: Backend,
    tmp_path: Path,
    body: str,
    cases: int = 2,
    *,
    seconds: float = 3.0,
    output_chars: int = 2000,
    import_seconds: float = 5.0,
    seconds_total: float = 20.0,
    per_case: dict[str, float] | None = None,
) -> RunResult:
    source = tmp_path / "sub.py"
    source.write_text(textwrap.dedent(body), encoding="utf-8")
    limits = SandboxLimits(
        seconds_per_case=seconds,
        memory_bytes=1024 * 2**20,
        output_chars=output_chars,
        import_seconds=import_seconds,
        seconds_total=seconds_total,
    )
    job = Job(submission=source, entry="loss", params=PARAMS, limits=limits)
    inputs = {f"c{i}": (np.array([1.0, 0.0]), np.array([0.8, 0.1 * (i + 1)])) for i in range(cases)}
    with backend.start(job) as session:
        return session.run(inputs, per_case)


@pytest.mark.slow
def test_returned_numbers_of_every_accepted_type_come_back(
    backend: Backend, tmp_path: Path
) -> None:
    result = run(
        backend,
        tmp_path,
        """
        import numpy as np
        def loss(y_true, y_pred):
            kind = round(float(y_pred[1]) * 10)
            return [0.5, np.float32(0.25), np.array(0.125), 3][kind - 1]
        """,
        cases=4,
    )
    values = [result.outcomes[f"c{i}"] for i in range(4)]
    assert [v.status for v in values] == [CallStatus.RETURNED] * 4
    assert [v.value for v in values] == [0.5, 0.25, 0.125, 3.0]
    assert [v.value_type for v in values] == ["float", "numpy.float32", "numpy.ndarray", "int"]
    assert result.fault is None
    assert result.backend == backend.name


@pytest.mark.slow
@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("np.array([0.5])", ReturnProblem(ProblemKind.ARRAY, shape=(1,), dtype="float64")),
        ("np.zeros((2, 3), np.float32)", ReturnProblem(ProblemKind.ARRAY, (2, 3), "float32")),
        ("[0.5]", ReturnProblem(ProblemKind.SEQUENCE, length=1, type="list")),
        ("(1, 2)", ReturnProblem(ProblemKind.SEQUENCE, length=2, type="tuple")),
        ("None", ReturnProblem(ProblemKind.NONE)),
        ("True", ReturnProblem(ProblemKind.BOOL)),
        ("Liar()", ReturnProblem(ProblemKind.OTHER, type="submission.Liar")),
        ("np.array('x')", ReturnProblem(ProblemKind.ARRAY, shape=(), dtype="<U1")),
        ("10 ** 400", ReturnProblem(ProblemKind.TOO_LARGE, type="int")),
    ],
)
def test_anything_but_one_real_number_is_a_bad_return_with_a_typed_problem(
    backend: Backend, tmp_path: Path, expression: str, problem: ReturnProblem
) -> None:
    result = run(
        backend,
        tmp_path,
        f"""
        import numpy as np
        class Liar(float):
            def __eq__(self, other): return True
            def __float__(self): return 0.0
        def loss(y_true, y_pred):
            return {expression}
        """,
        cases=1,
    )
    outcome = result.outcomes["c0"]
    assert outcome.status is CallStatus.BAD_RETURN
    assert outcome.problem == problem


@pytest.mark.slow
def test_an_exception_reports_type_message_and_only_the_students_frames(
    backend: Backend, tmp_path: Path
) -> None:
    result = run(
        backend,
        tmp_path,
        """
        def helper(p):
            return p[5]

        def loss(y_true, y_pred):
            return helper(y_pred)
        """,
        cases=1,
    )
    error = result.outcomes["c0"].error
    assert error is not None
    assert error.type == "IndexError"
    assert "out of bounds" in error.message
    assert error.line == 3
    assert 'File "sub.py", line 6, in loss' in error.traceback
    assert 'File "sub.py", line 3, in helper' in error.traceback
    assert "child" not in error.traceback
    assert "grader" not in error.traceback


@pytest.mark.slow
def test_a_hanging_call_times_out_and_the_next_call_still_runs(
    backend: Backend, tmp_path: Path
) -> None:
    result = run(
        backend,
        tmp_path,
        """
        def loss(y_true, y_pred):
            if y_pred[1] < 0.15:
                while True:
                    pass
            return 1.0
        """,
        seconds=0.5,
    )
    assert result.outcomes["c0"].status is CallStatus.TIMEOUT
    assert result.outcomes["c0"].stop == Stop(StopKind.TIME_LIMIT, seconds=0.5)
    assert result.outcomes["c1"].status is CallStatus.RETURNED


@pytest.mark.slow
def test_a_case_may_have_a_time_limit_of_its_own(backend: Backend, tmp_path: Path) -> None:
    body = """
        import time
        def loss(y_true, y_pred):
            time.sleep(0.6)
            return 1.0
        """
    result = run(backend, tmp_path, body, seconds=3.0, per_case={"c0": 0.3})
    assert result.outcomes["c0"].stop == Stop(StopKind.TIME_LIMIT, seconds=0.3)
    assert result.outcomes["c1"].value == 1.0


@pytest.mark.slow
def test_a_submission_slow_everywhere_stops_at_its_time_budget(
    backend: Backend, tmp_path: Path
) -> None:
    body = "def loss(y_true, y_pred):\n    while True:\n        pass\n"
    result = run(backend, tmp_path, body, cases=30, seconds=1.0, seconds_total=1.5)
    # The first call waits out its own second; the second is stopped by the budget.
    assert result.outcomes["c0"].stop == Stop(StopKind.TIME_LIMIT, seconds=1.0)
    assert result.outcomes["c1"].status is CallStatus.TIMEOUT
    assert result.outcomes["c1"].stop == Stop(StopKind.BUDGET, seconds=1.5)
    assert {result.outcomes[f"c{i}"].status for i in range(2, 30)} == {CallStatus.NOT_RUN}
    assert {result.outcomes[f"c{i}"].stop for i in range(2, 30)} == {
        Stop(StopKind.BUDGET, seconds=1.5)
    }


@pytest.mark.slow
def test_a_submission_that_hangs_is_given_up_after_two_calls_in_a_row(
    backend: Backend, tmp_path: Path
) -> None:
    source = tmp_path / "sub.py"
    source.write_text("def loss(y_true, y_pred):\n    while True:\n        pass\n")
    limits = SandboxLimits(
        seconds_per_case=0.5, memory_bytes=1024 * 2**20, output_chars=100, seconds_total=20.0
    )
    inputs = {f"c{i}": (np.array([1.0]), np.array([0.5])) for i in range(30)}
    started = time.monotonic()
    with backend.start(Job(source, "loss", PARAMS, limits)) as session:
        first = session.run(inputs)
        second = session.run({"h0": (np.array([1.0]), np.array([0.5]))})
    elapsed = time.monotonic() - started
    hanging = Stop(StopKind.HANGING)
    assert [first.outcomes[f"c{i}"].status for i in range(2)] == [CallStatus.TIMEOUT] * 2
    assert {first.outcomes[f"c{i}"].stop for i in range(2, 30)} == {hanging}
    assert {first.outcomes[f"c{i}"].status for i in range(2, 30)} == {CallStatus.NOT_RUN}
    # The session's next run (the hidden cases) is not made either.
    assert second.outcomes["h0"].stop == hanging
    assert elapsed < 2 * 0.5 + 10.0, "two calls and loading, not 30 calls of 0.5 s"


@pytest.mark.slow
def test_slow_calls_that_are_not_in_a_row_do_not_stop_the_others(
    backend: Backend, tmp_path: Path
) -> None:
    body = """
        def loss(y_true, y_pred):
            if round(y_pred[1] * 10) % 2:
                while True:
                    pass
            return 1.0
        """
    result = run(backend, tmp_path, body, cases=6, seconds=0.3)
    statuses = [result.outcomes[f"c{i}"].status for i in range(6)]
    assert statuses == [CallStatus.TIMEOUT, CallStatus.RETURNED] * 3


@pytest.mark.slow
def test_the_time_budget_spans_every_run_of_a_session(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "sub.py"
    source.write_text("import time\ndef loss(a, b):\n    time.sleep(0.4)\n    return 1.0\n")
    limits = SandboxLimits(
        seconds_per_case=2.0, memory_bytes=1024 * 2**20, output_chars=100, seconds_total=1.0
    )
    inputs = {"c0": (np.array([1.0]), np.array([0.5]))}
    with backend.start(Job(source, "loss", PARAMS, limits)) as session:
        first = session.run(inputs)
        session.run(inputs)
        third = session.run(inputs)
    assert first.outcomes["c0"].value == 1.0
    assert third.outcomes["c0"].status in (CallStatus.TIMEOUT, CallStatus.NOT_RUN)
    assert third.outcomes["c0"].stop == Stop(StopKind.BUDGET, seconds=1.0)


@pytest.mark.slow
def test_a_crash_fails_that_call_and_the_child_is_restarted_for_the_rest(
    backend: Backend, tmp_path: Path
) -> None:
    result = run(
        backend,
        tmp_path,
        """
        import os, signal
        def loss(y_true, y_pred):
            if y_pred[1] < 0.15:
                os.kill(os.getpid(), signal.SIGSEGV)
            if y_pred[1] < 0.25:
                os._exit(0)
            return 2.0
        """,
        cases=3,
    )
    assert result.outcomes["c0"].status is CallStatus.CRASHED
    assert result.outcomes["c0"].stop == Stop(StopKind.SIGNAL, signal=signal.SIGSEGV)
    assert result.outcomes["c1"].status is CallStatus.CRASHED
    assert result.outcomes["c1"].stop == Stop(StopKind.EXIT, exit_code=0)
    assert result.outcomes["c2"].value == 2.0


@pytest.mark.slow
def test_sys_exit_in_a_call_is_reported_as_an_exception(backend: Backend, tmp_path: Path) -> None:
    result = run(backend, tmp_path, "import sys\ndef loss(a, b):\n    sys.exit(0)\n", cases=1)
    error = result.outcomes["c0"].error
    assert error is not None
    assert error.type == "SystemExit"


@pytest.mark.slow
def test_memory_beyond_the_limit_fails_the_call(backend: Backend, tmp_path: Path) -> None:
    result = run(
        backend,
        tmp_path,
        "import numpy as np\ndef loss(a, b):\n    return float(np.ones(2**31).sum())\n",
        cases=1,
    )
    outcome = result.outcomes["c0"]
    assert outcome.status in (CallStatus.RAISED, CallStatus.CRASHED)
    if outcome.error is not None:
        assert outcome.error.type == "MemoryError"


@pytest.mark.slow
def test_changing_an_input_in_place_is_detected(backend: Backend, tmp_path: Path) -> None:
    result = run(
        backend, tmp_path, "def loss(y_true, y_pred):\n    y_pred[0] = 0.5\n    return 1.0\n"
    )
    assert result.outcomes["c0"].mutated == ("y_pred",)


@pytest.mark.slow
def test_a_large_input_changed_in_place_is_detected_and_the_next_call_gets_it_whole(
    backend: Backend, tmp_path: Path
) -> None:
    # 20,000 floats a parameter: above the size the child maps instead of copying.
    source = tmp_path / "sub.py"
    source.write_text(
        "def loss(y_true, y_pred):\n    total = float(y_pred.sum())\n    y_pred *= 2\n"
        "    y_true[:] = 0\n    return total\n"
    )
    limits = SandboxLimits(seconds_per_case=3.0, memory_bytes=1024 * 2**20, output_chars=2000)
    job = Job(submission=source, entry="loss", params=PARAMS, limits=limits)
    y_true, y_pred = np.ones(20_000), np.linspace(0.0, 1.0, 20_000)
    inputs = {f"c{i}": (y_true, y_pred) for i in range(3)}
    with backend.start(job) as session:
        result = session.run(inputs)
    for case in inputs:  # each call saw the inputs as they were, not the last call's
        outcome = result.outcomes[case]
        assert outcome.value == pytest.approx(float(y_pred.sum()))
        assert outcome.mutated == ("y_true", "y_pred")


@pytest.mark.slow
def test_printed_output_is_captured_per_call_and_capped(backend: Backend, tmp_path: Path) -> None:
    result = run(
        backend,
        tmp_path,
        """
        import os
        print("loading")
        def loss(y_true, y_pred):
            print("x" * 5000)
            os.write(1, b"raw bytes")
            return 1.0
        """,
        cases=1,
        output_chars=100,
    )
    assert result.import_output == "loading\n"
    output = result.outcomes["c0"].output
    assert output.startswith("x" * 100)
    assert "more characters not shown" in output
    assert "raw bytes" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        ("def loss(a, b)\n    return 1\n", "syntax", "SyntaxError"),
        ("def other(a, b):\n    return 1\n", "missing", "defines no function 'loss'"),
        ("loss = 3\n", "missing", "is not a function"),
        ("def loss(a):\n    return 1\n", "signature", "cannot be called with 2"),
        ("def loss(a, *, b):\n    return 1\n", "signature", "cannot be called with 2"),
        ("import nosuchmodule\n", "import", "ModuleNotFoundError"),
        ("import sys\nsys.exit(3)\n", "import", "SystemExit"),
    ],
)
def test_a_submission_that_cannot_be_loaded_is_a_fault_and_no_call_runs(
    backend: Backend, tmp_path: Path, body: str, kind: str, message: str
) -> None:
    result = run(backend, tmp_path, body)
    assert result.fault is not None
    assert result.fault.kind == kind
    assert message in result.fault.message
    assert all(o.status is CallStatus.NOT_RUN for o in result.outcomes.values())


@pytest.mark.slow
def test_parameters_in_another_order_are_called_by_position_and_their_names_reported(
    backend: Backend, tmp_path: Path
) -> None:
    result = run(backend, tmp_path, "def loss(y_pred, y_true):\n    return float(y_pred[1])\n")
    assert result.fault is None
    assert result.param_names == ("y_pred", "y_true")
    assert result.outcomes["c0"].value == 0.0  # y_pred here is y_true = [1.0, 0.0]


_DECORATED = """\
import functools
def deco(f):
    @functools.wraps(f)
    def inner(*args, **kwargs):
        return f(*args, **kwargs)
    return inner
@deco
def loss(p, q):
    return 1.0
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("def loss(a, b, c=1):\n    return 1.0\n", ("a", "b")),
        ("def loss(a, b, /):\n    return 1.0\n", ("a", "b")),
        ("def loss(a, *rest):\n    return 1.0\n", ("a", "*rest")),
        ("def loss(a, b, *, c=2):\n    return 1.0\n", ("a", "b")),
        (_DECORATED, ("p", "q")),  # through functools.wraps to the function inside
        ("loss = lambda x, y: 1.0\n", ("x", "y")),
        ("class L:\n    def __call__(self, u, v):\n        return 1.0\nloss = L()\n", ("u", "v")),
    ],
)
def test_the_names_reported_are_the_parameters_the_arguments_arrive_under(
    backend: Backend, tmp_path: Path, body: str, names: tuple[str, ...]
) -> None:
    result = run(backend, tmp_path, body, cases=1)
    assert result.fault is None
    assert result.param_names == names
    assert result.outcomes["c0"].value == 1.0


@pytest.mark.slow
def test_an_import_that_fails_names_the_module_while_loading_and_in_a_call(
    backend: Backend, tmp_path: Path
) -> None:
    loading = run(backend, tmp_path, "import sklearn.metrics\ndef loss(a, b):\n    return 1\n")
    assert loading.fault is not None
    assert (loading.fault.kind, loading.fault.error_type) == ("import", "ModuleNotFoundError")
    assert loading.fault.module == "sklearn"
    calling = run(backend, tmp_path, "def loss(a, b):\n    import torch\n    return 1\n")
    error = calling.outcomes["c0"].error
    assert error is not None
    assert (error.type, error.module) == ("ModuleNotFoundError", "torch")


@pytest.mark.slow
def test_a_syntax_error_gives_line_column_and_text(backend: Backend, tmp_path: Path) -> None:
    result = run(backend, tmp_path, "import numpy\n\ndef loss(a, b):\n    return (a +\n")
    assert result.fault is not None
    assert result.fault.line == 4
    assert result.fault.text == "    return (a +"


@pytest.mark.slow
def test_a_submission_that_hangs_while_loading_is_stopped(backend: Backend, tmp_path: Path) -> None:
    result = run(backend, tmp_path, "while True:\n    pass\n", import_seconds=1.0)
    assert result.fault is not None
    assert result.fault.kind == "timeout"


def test_as_root_the_process_backend_runs_the_submission_as_a_uid_of_its_own(
    tmp_path: Path,
) -> None:
    backend = ProcessBackend()
    if not backend.drops_privileges:
        reason = "not root" if os.geteuid() != 0 else backend.limitations()[0]
        pytest.skip(f"no uid of its own on this machine: {reason}")
    result = run(
        backend,
        tmp_path,
        """
        import os
        def loss(y_true, y_pred):
            return float(os.getuid())
        """,
        cases=1,
    )
    uid = result.outcomes["c0"].value
    assert uid is not None
    assert UID_RANGE[0] <= uid <= UID_RANGE[1]


def test_open_to_others_needs_search_rights_on_every_parent() -> None:
    # Not under tmp_path: pytest's own base directory is private to its user.
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        private, target = base / "private", base / "private" / "lib"
        target.mkdir(parents=True)
        base.chmod(0o755)
        target.chmod(0o755)
        private.chmod(0o700)
        assert not _open_to_others(target)
        private.chmod(0o711)
        assert _open_to_others(target)
        target.chmod(0o711)
        assert not _open_to_others(target)
    finally:
        shutil.rmtree(base)


@pytest.mark.slow
def test_print_past_a_full_capture_is_counted_not_formatted(
    backend: Backend, tmp_path: Path
) -> None:
    # Once a call's capture is full, print() neither formats nor writes: the object below
    # would say so if its __str__ ran. What print() would have written to a file is not
    # affected, and the report counts what it left out.
    result = run(
        backend,
        tmp_path,
        """
        import io
        calls = []
        class Loud:
            def __str__(self):
                calls.append(1)
                return "loud"
        def loss(y_true, y_pred):
            calls.clear()
            print("y" * 150)
            for _ in range(1000):
                print(Loud(), Loud())
            elsewhere = io.StringIO()
            print(Loud(), file=elsewhere)
            print("z", flush=True)
            return float(len(calls) * 1000 + len(elsewhere.getvalue()))
        """,
        cases=2,
        output_chars=100,
    )
    for outcome in result.outcomes.values():
        assert outcome.value == 1005.0  # one __str__, for the file; "loud\\n" is 5 characters
        assert outcome.output.startswith("y" * 100)
        assert outcome.output.endswith(
            "\n[... 51 more characters and the output of 1001 more print() calls not shown]"
        )


def test_a_python_without_a_site_packages_of_its_own_is_sandboxed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A system Python (Debian's: /usr/lib/python3.11 has no site-packages, its packages
    are in dist-packages) under the read-only /usr: the sandbox hid a site-packages folder
    there, which bwrap could not make, and `auto` fell back to the process backend."""
    import subprocess
    import sysconfig

    from grader.sandbox import bwrap

    if bwrap.probe() is not None:
        pytest.skip(f"bwrap cannot run here: {bwrap.probe()}")
    assert not Path("/usr/lib/site-packages").exists()
    real = sysconfig.get_paths
    monkeypatch.setattr(
        bwrap.sysconfig, "get_paths", lambda *a, **k: {**real(*a, **k), "stdlib": "/usr/lib"}
    )
    backend = bwrap.BwrapBackend()
    io = Path(tempfile.gettempdir())
    layout = bwrap.Layout(root=io, io=io, submission=io, cgroups=False, site=backend.numpy)
    argv = [backend.python, "-I", "-S", "-c", "print('sandboxed')"]
    command = backend.command(layout, bwrap.WORK_DIR, argv)
    proc = subprocess.run(command, capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == b"sandboxed"
