"""`grade qNN` taken in a real pseudo-terminal, keystroke by keystroke, as a student takes it.

The child runs `python -m grader` with its stdin, stdout and stderr on a pty (stdlib pty,
no pexpect). The test reads what it draws until a pattern appears, with a deadline, and
types keys only once the prompt they answer is on screen, as a person would.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import select
import shlex
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import isolated_environment, run_grade, write
from grader.course import find_course
from grader.quiz import interactive
from grader.quiz.answers import read_answers
from grader.quiz.grading import Posed
from grader.quiz.interactive import PROMPTS
from grader.quiz.run import open_quiz
from grader.quiz.spec import QuestionType, Quiz

STUDENT = "alice"
TIMEOUT = 60.0
DOWN, ENTER, SPACE, BACKSPACE, CTRL_C = "\x1b[B", "\r", " ", "\x7f", "\x03"

QUIZ = """\
kind: quiz
id: q01
title: A tiny quiz on BCE
mode: {mode}
intro: |
  Four questions, one of each kind.
questions:
  - id: one_example
    type: numeric
    points: 2
    text: "A model predicts p = {{p}} for a label y = 1. What is its BCE with the natural log?"
    params:
      p: {{uniform: [0.2, 0.8], digits: 2}}
    answer: solutions.quiz_tiny.bce
    misconceptions:
      - id: log2
        formula: solutions.quiz_tiny.bce_log2
        title: log base 2 instead of the natural log
        hint: Use the natural log, np.log.
  - id: which_loss
    type: single
    text: Which loss fits a regression task?
    options:
      - text: Binary cross-entropy
      - text: Mean squared error
        correct: true
      - text: Hinge loss
      - text: Categorical cross-entropy
  - id: properties
    type: multiple
    text: Which are true of binary cross-entropy?
    options:
      - text: It is never negative
        correct: true
      - text: It is bounded above
      - text: It is zero for a perfect prediction
        correct: true
  - id: log_zero
    type: truefalse
    text: "For y = 1, -log(p) tends to infinity as p tends to 0."
    answer: true
"""

SOLUTIONS = """\
import math


def bce(p):
    return -math.log(p)


def bce_log2(p):
    return -math.log2(p)
"""

#: Escape sequences a terminal acts on and a person never reads: colours, cursor moves.
_ESCAPE = re.compile(
    r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])"
)


def make_course(root: Path, mode: str) -> Path:
    write(root / "exercises" / "q01.yaml", QUIZ.format(mode=mode))
    write(root / "solutions" / "__init__.py", "")
    write(root / "solutions" / "quiz_tiny.py", SOLUTIONS)
    return root


def quiz_of(course: Path) -> Quiz:
    return open_quiz(find_course(course), "q01").quiz


def posed_for(course: Path, student: str = STUDENT) -> dict[str, Posed]:
    """The questions as `student` sees them: their numbers, their option order."""
    opened = open_quiz(find_course(course), "q01")
    return {p.question.id: p for p in opened.posed(student)}


class Terminal:
    """`grade ARGS` on a pseudo-terminal of 120x40, read as a person reads the screen."""

    def __init__(
        self, args: list[str], cwd: Path, *, controlling: bool = False, columns: int = 120
    ) -> None:
        """With `controlling`, the terminal is the program's controlling terminal, as a
        shell's is: Ctrl-C typed there is a SIGINT to the program and its process group,
        not a key for the program to read."""
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        env = isolated_environment()
        # A terminal emulator answers prompt_toolkit's cursor position requests; this one
        # does not, so tell prompt_toolkit not to ask.
        env |= {
            "TERM": "xterm",
            "COLUMNS": str(columns),
            "LINES": "40",
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }

        def take_the_terminal() -> None:  # in the child, before exec
            os.setsid()  # as start_new_session does
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grader", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            cwd=cwd,
            env=env,
            # pytest's own terminal and its Ctrl-C stay out of it either way.
            start_new_session=not controlling,
            preexec_fn=take_the_terminal if controlling else None,
        )
        os.close(follower)
        self.fd = leader
        self.raw = ""
        self.seen = 0  # how far expect() has read the screen text
        self.eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    @property
    def text(self) -> str:
        """Everything drawn so far, without escape sequences and carriage returns. A
        sequence cut short at the end is held back until the rest of it arrives."""
        raw = self.raw
        tail = raw.rfind("\x1b")
        if tail != -1 and len(raw) - tail < 32 and not _ESCAPE.match(raw, tail):
            raw = raw[:tail]
        return _ESCAPE.sub("", raw).replace("\r", "")

    def _read(self, wait: float) -> None:
        if self.eof:
            return
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child has gone and closed its side
            chunk = b""
        if not chunk:
            self.eof = True
            self.raw += self._decoder.decode(b"", final=True)
            return
        self.raw += self._decoder.decode(chunk)

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Read until `pattern` (a regex) appears after what was matched before."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.compile(pattern).search(self.text, self.seen)
            if found:
                self.seen = found.end()
                return found
            if self.eof or time.monotonic() > deadline:
                why = "the program ended" if self.eof else f"{timeout:g} s passed"
                pytest.fail(f"{why} before {pattern!r} appeared; the screen:\n{self.text}")
            self._read(0.2)

    def send(self, *keys: str) -> None:
        os.write(self.fd, "".join(keys).encode())

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Read to the end, then the exit code."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() > deadline:
                pytest.fail(f"still running after {timeout:g} s; the screen:\n{self.text}")
            self._read(0.2)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        os.close(self.fd)


Spawn = Callable[..., Terminal]


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Spawn]:
    """Opens terminals in tmp_path; any left running at the end is killed."""
    opened: list[Terminal] = []

    def spawn(args: list[str], cwd: Path = tmp_path, columns: int = 120) -> Terminal:
        term = Terminal(args, cwd, columns=columns)
        opened.append(term)
        return term

    yield spawn
    for term in opened:
        term.close()


# --- keystrokes for one student's answers ---------------------------------------------------


def numeric_answer(posed: Posed) -> str:
    """The right value with a trailing zero: the saved text must keep it (0.79850)."""
    assert posed.variant.answer is not None
    return f"{round(posed.variant.answer, 4):.5f}"


def select_keys(position: int) -> list[str]:
    return [DOWN] * position + [ENTER]


def right_position(posed: Posed) -> int:
    """Where the single right option is in this student's order."""
    right = next(i for i, o in enumerate(posed.question.options) if o.correct)
    return posed.order.index(right)


def check_right_ones(posed: Posed) -> list[str]:
    """Space on every right option, in this student's order, then Enter."""
    keys = []
    for position, index in enumerate(posed.order):
        if posed.question.options[index].correct:
            keys.append(SPACE)
        if position < len(posed.order) - 1:
            keys.append(DOWN)
    return [*keys, ENTER]


def answer_first_two(term: Terminal, posed: dict[str, Posed]) -> None:
    term.expect(r"1/4")
    term.expect(r"Your answer \(a number\):")
    term.send(numeric_answer(posed["one_example"]), ENTER)
    term.expect(r"2/4")
    term.expect(r"Your answer \(one option\):")
    term.send(*select_keys(right_position(posed["which_loss"])))


def answer_last_two(term: Terminal, posed: dict[str, Posed]) -> None:
    """The right options of question 3, and 'false' (wrong) to question 4."""
    term.expect(r"3/4")
    term.expect(r"Your answer \(every option that applies\):")
    term.send(*check_right_ones(posed["properties"]))
    term.expect(r"4/4")
    term.expect(r"True or false\?")
    term.send(*select_keys(1))


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_quiz_taken_with_keystrokes_grades_as_its_saved_answers_file(
    tmp_path: Path, terminal: Spawn
) -> None:
    course = make_course(tmp_path / "course", "graded")
    posed = posed_for(course)
    save = tmp_path / "mine.yaml"
    term = terminal(["q01", "--course", str(course), "--student", STUDENT, "--out", str(save)])
    term.expect(r"q01: A tiny quiz on BCE")
    term.expect(r"Four questions, one of each kind\.")
    answer_first_two(term, posed)
    answer_last_two(term, posed)
    term.expect(r"All 4 questions answered; the answers are saved in")
    asked = term.text[: term.seen]
    term.expect(r"Score 4/5")  # 2 + 1 + 1 + 0: 'false' is wrong
    assert term.wait() == 1  # not every question right
    p = posed["one_example"].variant.params["p"]
    assert f"A model predicts p = {p!r} for a label" in asked  # their own number
    assert "Traceback" not in term.text
    assert "correct" not in asked, "a graded quiz gave feedback before the end"

    typed = numeric_answer(posed["one_example"])
    assert f'one_example: "{typed}"' in save.read_text(encoding="utf-8"), "not saved as typed"
    answers, student = read_answers(save, quiz_of(course))
    assert student == STUDENT
    properties = posed["properties"]
    right = [
        letter
        for letter, index in zip(properties.letters, properties.order, strict=True)
        if properties.question.options[index].correct
    ]
    assert answers == {
        "one_example": typed,
        "which_loss": posed["which_loss"].letters[right_position(posed["which_loss"])],
        "properties": right,
        "log_zero": False,
    }
    graded = run_grade("q01", "--answers", str(save), "--format", "json", "--course", str(course))
    assert graded.returncode == 1, graded.stderr
    assert (graded.json()["score"], graded.json()["max_score"]) == (4.0, 5.0)


@pytest.mark.slow
def test_practice_tells_a_log2_answer_by_name_before_the_next_question(
    tmp_path: Path, terminal: Spawn
) -> None:
    course = make_course(tmp_path / "course", "practice")
    posed = posed_for(course)
    log2 = posed["one_example"].variant.wrong["log2"]
    term = terminal(["q01", "--course", str(course), "--student", STUDENT])
    term.expect(r"Your answer \(a number\):")
    term.send("0,5", ENTER)  # a comma: not taken, and told how to write a number
    term.expect(r"Write a number, e\.g\. 0\.2231")
    term.send(BACKSPACE * 3, f"{log2:.6g}", ENTER)
    term.expect(r"log base 2 instead of the natural log")
    term.expect(r"Use the natural log, np\.log\.")
    term.expect(r"2/4")  # after the feedback, not before it
    term.expect(r"Your answer \(one option\):")
    term.send(*select_keys(right_position(posed["which_loss"])))
    term.expect(r"correct  \(1/1 point\)")
    term.expect(r"3/4")
    term.expect(r"Your answer \(every option that applies\):")
    term.send(CTRL_C)
    assert term.wait() == 1


@pytest.mark.slow
def test_ctrl_c_leaves_cleanly_and_the_next_run_resumes(tmp_path: Path, terminal: Spawn) -> None:
    course = make_course(tmp_path / "course", "graded")
    posed = posed_for(course)
    first = terminal(["q01", "--course", str(course), "--student", STUDENT])
    answer_first_two(first, posed)
    first.expect(r"3/4")
    first.expect(r"Your answer \(every option that applies\):")
    first.send(CTRL_C)
    assert first.wait() == 1
    assert "Traceback" not in first.text
    first.expect(r"2 of 4 questions answered")
    first.expect(r"q01-answers\.yaml")
    again = first.expect(r"Run '([^']+)' again to go on")
    first.expect(r"grade what you have with 'grade q01 --answers [^']*q01-answers\.yaml")

    save = tmp_path / "q01-answers.yaml"  # the default: in the directory it was run from
    answers, _ = read_answers(save, quiz_of(course))
    assert {k for k, v in answers.items() if v is not None} == {"one_example", "which_loss"}

    command = shlex.split(again.group(1))
    assert command[:2] == ["grade", "q01"]
    assert "--student" in command
    second = terminal(command[1:])  # exactly what it said to run
    second.expect(r"resuming: 2 of 4 answered")
    answer_last_two(second, posed)
    second.expect(r"Score 4/5")
    assert second.wait() == 1
    resumed = second.text
    assert "1/4" not in resumed, "an answered question was asked again"
    assert "2/4" not in resumed, "an answered question was asked again"

    third = terminal(command[1:])  # nothing left to ask: straight to the report
    third.expect(r"Every question is answered already")
    third.expect(r"Score 4/5")
    assert third.wait() == 1


@pytest.mark.parametrize("layout", ["template", "plain"])
def test_the_saved_file_reads_back_as_the_answers_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """Numbers keep their digits, letters and booleans their type, in either layout: the
    template filled in, or the plain one written should the template's lines not be found."""
    course = make_course(tmp_path / "course", "graded")
    quiz = quiz_of(course)
    posed = list(posed_for(course, 'o"brien: #1').values())
    if layout == "plain":
        monkeypatch.setattr(interactive, "template", lambda *_: "# a layout of the future\n")
    given: dict[str, object] = {"one_example": "0.50", "properties": ["c", "a"], "log_zero": True}
    save = tmp_path / "saved.yaml"
    interactive._save(quiz, posed, 'o"brien: #1', given, save)
    answers, student = read_answers(save, quiz)
    assert student == 'o"brien: #1'
    assert {k: v for k, v in answers.items() if v is not None} == given
    if layout == "template":
        assert "A model predicts p = " in save.read_text(encoding="utf-8")


@pytest.mark.slow
def test_without_a_terminal_it_says_to_use_an_answers_file(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", "graded")
    result = subprocess.run(
        [sys.executable, "-m", "grader", "q01", "--course", str(course), "--student", STUDENT],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=TIMEOUT,
        env=isolated_environment(),
    )
    assert result.returncode == 2
    assert "not one" in result.stderr
    assert "--answers FILE, or --template to write one" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "q01-answers.yaml").exists()


@pytest.mark.slow
def test_another_students_answers_are_never_written_over(tmp_path: Path, terminal: Spawn) -> None:
    course = make_course(tmp_path / "course", "graded")
    save = tmp_path / "q01-answers.yaml"
    made = run_grade("q01", "--template", "--student", "bob", "--course", str(course), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    before = save.read_text(encoding="utf-8")
    term = terminal(["q01", "--course", str(course), "--student", STUDENT])
    term.expect(r"holds the answers of student 'bob', not 'alice'")
    term.expect(r"--student bob")
    assert term.wait() == 2
    assert save.read_text(encoding="utf-8") == before


SHIPPED = find_course(Path(__file__).resolve().parents[1]).quiz_ids()


def _keys_for_the_key(posed: Posed) -> list[str]:
    """The keystrokes of the right answer to one question, in this student's order."""
    question = posed.question
    if question.type is QuestionType.NUMERIC:
        assert posed.variant.answer is not None
        return [f"{posed.variant.answer:.10f}", ENTER]
    if question.type is QuestionType.TRUEFALSE:
        return select_keys(0 if question.truth else 1)
    if question.type is QuestionType.SINGLE:
        return select_keys(right_position(posed))
    return check_right_ones(posed)


@pytest.mark.slow
@pytest.mark.parametrize("quiz_id", SHIPPED)
def test_every_shipped_quiz_taken_in_a_terminal_scores_as_its_answers_file(
    quiz_id: str, tmp_path: Path, terminal: Spawn
) -> None:
    repo = Path(__file__).resolve().parents[1]
    opened = open_quiz(find_course(repo), quiz_id)
    posed = opened.posed("bob")
    save = tmp_path / "bob.yaml"
    term = terminal([quiz_id, "--course", str(repo), "--student", "bob", "--out", str(save)])
    total = len(posed)
    for n, question in enumerate(posed, 1):
        term.expect(rf"{n}/{total}")
        term.expect(re.escape(PROMPTS[question.question.type]))
        term.send(*_keys_for_the_key(question))
    points = f"{opened.quiz.points:g}"
    term.expect(rf"Score {points}/{points}")
    assert term.wait() == 0
    graded = run_grade(quiz_id, "--answers", str(save), "--format", "json", "--course", str(repo))
    assert graded.returncode == 0, graded.stdout
    assert graded.json()["score"] == opened.quiz.points


@pytest.mark.slow
def test_letters_choose_options_as_the_readme_says(tmp_path: Path, terminal: Spawn) -> None:
    """`c` then Enter records option c, wherever the pointer was; on a question with
    several answers each letter ticks its option; `f` answers false."""
    course = make_course(tmp_path / "course", "graded")
    posed = posed_for(course)
    save = tmp_path / "mine.yaml"
    term = terminal(["q01", "--course", str(course), "--student", STUDENT, "--out", str(save)])
    term.expect(r"Your answer \(a number\):")
    term.send(numeric_answer(posed["one_example"]), ENTER)
    term.expect(r"Your answer \(one option\):")
    term.expect(r"d\) ")  # every option drawn, each with its letter
    term.send("c", ENTER)
    term.expect(r"Your answer \(every option that applies\):")
    term.expect(r"c\) ")
    term.send("c", "a", ENTER)  # a and i are letters here, not questionary's all and invert
    term.expect(r"True or false\?")
    term.send("f", ENTER)
    term.expect(r"Score \d")
    term.wait()
    answers, _ = read_answers(save, quiz_of(course))
    assert answers["which_loss"] == "c"
    assert sorted(answers["properties"]) == ["a", "c"]
    assert answers["log_zero"] is False


LONG_QUIZ = """\
kind: quiz
id: q01
title: A quiz with long lines
mode: practice
intro: |
  Every loss below is the **mean** over a batch, and `ln` is the natural log, the one that
  `np.log` computes; the intro of a quiz often runs over several lines of its file, and a
  terminal narrower than them must still show every word of it.
questions:
  - id: one_example
    type: numeric
    text: >-
      A model that has barely started to learn predicts p = {p} for an example whose label
      is y = 1: what is the **binary cross-entropy** of this single example, computed with
      `np.log`, as a number?
    params:
      p: {uniform: [0.2, 0.8], digits: 2}
    answer: solutions.quiz_tiny.bce
    misconceptions:
      - id: log2
        formula: solutions.quiz_tiny.bce_log2
        title: log base 2 instead of the natural log
        hint: >-
          Use the natural log, `np.log`, which is what every framework computes: `np.log2`
          gives values 1/ln 2 = 1.4427 times too large, and **every** such answer is wrong
          by that same factor.
"""

WIDTH = 60


@pytest.mark.slow
def test_questions_and_feedback_are_wrapped_and_their_markdown_rendered(
    tmp_path: Path, terminal: Spawn
) -> None:
    course = tmp_path / "course"
    write(course / "exercises" / "q01.yaml", LONG_QUIZ)
    write(course / "solutions" / "__init__.py", "")
    write(course / "solutions" / "quiz_tiny.py", SOLUTIONS)
    student = "ned"  # whose p is 0.6: shown 0.60, as `digits: 2` declares
    posed = posed_for(course, student)["one_example"]
    assert posed.variant.params["p"] == 0.6
    term = terminal(["q01", "--course", str(course), "--student", student], columns=WIDTH)
    term.expect(r"Your answer \(a number\):")
    asked = term.text[: term.seen]
    term.send(f"{posed.variant.wrong['log2']:.6g}", ENTER)
    term.expect(r"log base 2 instead of the natural log")
    term.expect(r"same factor\.")
    shown = term.text
    term.expect(r"Score")
    term.wait()
    ours = [line for line in shown.splitlines() if "Your answer" not in line]
    assert all(len(line) <= WIDTH for line in ours), "\n".join(ours)
    assert "**" not in shown
    assert "`" not in shown
    words = " ".join(shown.split())
    assert "the binary cross-entropy of this single example, computed with np.log" in words
    assert "p = 0.60 for an example" in " ".join(asked.split())
    assert "Use the natural log, np.log, which is what every framework computes" in words
