"""`type: single` and `type: multiple`: options shuffled per student, answered by the letters
that student sees. A multiple-choice question gives partial credit by the rule it declares
(`partial`, formulas in docs/quizzes.md). In Moodle, a multichoice question (what Moodle
cannot express of `partial` is in grader.quiz.moodle).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar
from xml.etree.ElementTree import Element, SubElement

from grader.errors import GraderError
from grader.quiz.moodle_xml import PENALTY, head, html, moodle_fraction, percent, rich
from grader.quiz.type_base import BaseType, Flaw, Judged

if TYPE_CHECKING:
    import questionary

    from grader.quiz.grading import Posed
    from grader.quiz.spec import Question, Quiz


class Partial(str, Enum):
    """How a multiple-choice question gives partial credit (formulas in docs/quizzes.md)."""

    OFF = "off"
    NET_CORRECT = "net-correct"
    COVERAGE = "coverage"
    EACH_ANSWER = "each-answer"


class Choice(BaseType):
    """What single and multiple choice share: options, letters, their Moodle question."""

    keys = frozenset({"options", "shuffle"})
    #: Whether exactly one option is picked (and exactly one is correct).
    single: ClassVar[bool]

    @classmethod
    def check(cls, question: Question, raw: Mapping[str, Any]) -> Iterator[Flaw]:
        options = question.options
        right = sum(o.correct for o in options)
        if not options:
            yield Flaw("type", f"a {cls.name} question needs 'options'")
        elif cls.single and right != 1:
            yield Flaw(
                "options", f"a single-choice question has exactly 1 correct option, not {right}"
            )
        elif not cls.single and right == 0:
            yield Flaw("options", "a multiple-choice question needs at least 1 correct option")
        texts = [o.text for o in options]
        if len(set(texts)) != len(texts):
            yield Flaw("options", "two options have the same text")

    @classmethod
    def judge(cls, posed: Posed, raw: Any, *, practice: bool) -> Judged:
        question = posed.question
        picked = letters_of(raw)
        letters = posed.letters
        if picked is None or any(p not in letters for p in picked):
            return Judged(0.0, f"{raw!r} is not one of the letters {', '.join(letters)}", None)
        if cls.single and len(picked) != 1:
            return Judged(0.0, "pick exactly one option", None)
        chosen = {posed.order[letters.index(p)] for p in picked}
        right = {i for i, o in enumerate(question.options) if o.correct}
        fraction = cls.fraction(question, chosen, right)
        notes = [
            question.options[i].feedback for i in sorted(chosen) if question.options[i].feedback
        ]
        hint = " ".join(n for n in notes if n) or None
        if fraction == 1.0:
            return Judged(question.points, "correct", hint)
        key = ""
        if practice:
            in_order = sorted(right, key=posed.order.index)
            key = " (right: " + ", ".join(letters[posed.order.index(i)] for i in in_order) + ")"
        message = "partly right" + key if fraction > 0 else "wrong" + key
        return Judged(question.points * fraction, message, hint)

    @classmethod
    def fraction(cls, question: Question, chosen: set[int], right: set[int]) -> float:
        """The share of the points for choosing the options `chosen` (indices)."""
        return 1.0 if chosen == right else 0.0

    @classmethod
    def moodle(cls, root: Element, quiz: Quiz, posed: Posed, name: str) -> None:
        """Options in the file's order (Moodle shuffles them per attempt when the question
        does), each with its feedback."""
        question = posed.question
        element = head(root, "multichoice", name, html(question.text), question.points, PENALTY)
        SubElement(element, "single").text = "true" if cls.single else "false"
        SubElement(element, "shuffleanswers").text = "true" if question.shuffle else "false"
        SubElement(element, "answernumbering").text = "abc"
        for option, fraction in zip(question.options, cls.fractions(question), strict=True):
            answer = SubElement(element, "answer", fraction=percent(fraction), format="html")
            SubElement(answer, "text").text = html(option.text)
            rich(answer, "feedback", html(option.feedback or ""))
        rich(element, "correctfeedback", html(question.feedback.get("correct", "")))
        rich(element, "partiallycorrectfeedback", "")
        rich(element, "incorrectfeedback", html(question.feedback.get("wrong", "")))
        if not cls.single:
            SubElement(element, "shownumcorrect")

    @classmethod
    def fractions(cls, question: Question) -> list[float]:
        """Each option's Moodle grade, in the question's order."""
        return [1.0 if o.correct else 0.0 for o in question.options]


class Single(Choice):
    name = "single"
    how = "one letter"
    ask = "Your answer (one option):"
    single = True

    @classmethod
    def prompt(cls, posed: Posed, pointer: str) -> questionary.Question:
        import questionary

        # A letter points at its option, as the arrow keys do; Enter takes it. j and k are
        # letters of options here, not questionary's other arrow keys.
        return questionary.select(
            cls.ask,
            choices=_choices(posed),
            pointer=pointer,
            use_shortcuts=True,
            use_jk_keys=False,
            instruction="(a letter or the arrow keys, then <enter>)",
        )


class Multiple(Choice):
    name = "multiple"
    keys = Choice.keys | {"partial"}
    how = "every letter that applies, e.g. a, c"
    ask = "Your answer (every option that applies):"
    single = False

    @classmethod
    def fraction(cls, question: Question, chosen: set[int], right: set[int]) -> float:
        n = len(question.options)
        if question.partial is Partial.OFF:
            return 1.0 if chosen == right else 0.0
        if question.partial is Partial.NET_CORRECT:
            return max(0.0, (len(chosen & right) - len(chosen - right)) / len(right))
        if question.partial is Partial.COVERAGE:
            return len(chosen & right) / len(right) if not chosen - right else 0.0
        # each-answer: every option judged, chosen or not
        return sum((i in chosen) == (i in right) for i in range(n)) / n

    @classmethod
    def prompt(cls, posed: Posed, pointer: str) -> questionary.Question:
        import questionary

        prompt = questionary.checkbox(
            cls.ask,
            choices=_choices(posed, lettered=True),
            pointer=pointer,
            validate=_check_picked,
            use_jk_keys=False,
            instruction="(a letter or <space> ticks an option, <enter> confirms)",
        )
        return _letters_tick(prompt)

    @classmethod
    def given(cls, answer: Any) -> object:
        return [str(letter) for letter in answer]

    @classmethod
    def fractions(cls, question: Question) -> list[float]:
        """Moodle adds the grades of the ticked options and clips the sum to [0, 1]; see
        grader.quiz.moodle for how each `partial` rule maps onto that."""
        k = sum(o.correct for o in question.options)
        share = moodle_fraction(1 / k)
        if abs(share * k - 1) > 5e-3:  # Moodle's own check: positive grades add up to 100%
            raise GraderError(
                f"question {question.id!r}: Moodle cannot give each of {k} correct options "
                "an equal share of the grade",
                where=question.where,
                fix="Keep at most 10 correct options.",
            )
        exact = question.partial in (Partial.NET_CORRECT, Partial.EACH_ANSWER)
        wrong = -share if exact else -1.0
        return [share if o.correct else wrong for o in question.options]


def letters_of(raw: Any) -> list[str] | None:
    """'b', 'a, c', ['a', 'c'] -> letters in order; None for an answer that is not letters."""
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    out = []
    for item in items:
        letter = str(item).strip().lower().rstrip(")")
        if len(letter) != 1 or not letter.isalpha():
            return None
        out.append(letter)
    return out


def _choices(posed: Posed, *, lettered: bool = False) -> list[questionary.Choice]:
    """The options in this student's order, each one's letter its shortcut key: a select
    prompt shows it before the option as "a) "; `lettered` writes it into the title, for
    the checkbox, which shows no shortcuts."""
    import questionary

    question = posed.question
    return [
        questionary.Choice(
            f"{letter}) {question.options[index].text}"
            if lettered
            else question.options[index].text,
            value=letter,
            shortcut_key=letter,
        )
        for letter, index in zip(posed.letters, posed.order, strict=True)
    ]


def _letters_tick(prompt: questionary.Question) -> questionary.Question:
    """A multiple-choice prompt on which a letter ticks (or unticks) its option, as space
    does on the option pointed at. questionary's checkbox has no shortcut keys, and takes
    a and i for "all" and "invert": bindings added after its own win, in prompt_toolkit,
    so a and i are letters of options here too."""
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
    from questionary.prompts.common import InquirerControl

    app = prompt.application
    control = next(
        w.content for w in app.layout.find_all_windows() if isinstance(w.content, InquirerControl)
    )
    keys = KeyBindings()

    def tick(index: int, letter: str) -> None:
        @keys.add(letter, eager=True)
        def _(event: KeyPressEvent) -> None:
            control.pointed_at = index
            if letter in control.selected_options:
                control.selected_options.remove(letter)
            else:
                control.selected_options.append(letter)

    for letter in ("a", "i"):  # no option of that letter: the key does nothing, as others
        keys.add(letter, eager=True)(lambda event: None)
    for index, choice in enumerate(control.choices):
        if isinstance(choice.value, str):
            tick(index, choice.value)
    app.key_bindings = merge_key_bindings([app.key_bindings or KeyBindings(), keys])
    return prompt


def _check_picked(picked: list[str]) -> bool | str:
    """Every multiple-choice question has a right option, so none picked is a slip."""
    return bool(picked) or "Pick at least one: <space> marks an option, <enter> confirms."
