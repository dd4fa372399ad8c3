"""`type: truefalse`: true or false, with feedback keyed by the student's answer
(`feedback: {true, false}`). In Moodle, its truefalse question, keyed the same way."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, SubElement

from grader.quiz.moodle_xml import head, html, percent, rich
from grader.quiz.type_base import BaseType, Flaw, Judged

if TYPE_CHECKING:
    import questionary

    from grader.quiz.grading import Posed
    from grader.quiz.spec import Question, Quiz

#: The words an answers file may write for each (any case).
_WORDS = {"true": True, "t": True, "yes": True, "false": False, "f": False, "no": False}


class TrueFalse(BaseType):
    name = "truefalse"
    keys = frozenset({"answer"})
    how = "true or false"
    ask = "True or false?"

    @classmethod
    def check(cls, question: Question, raw: Mapping[str, Any]) -> Iterator[Flaw]:
        if not isinstance(raw.get("answer"), bool):
            yield Flaw("answer", "a true/false question needs answer: true or answer: false")

    @classmethod
    def judge(cls, posed: Posed, raw: Any, *, practice: bool) -> Judged:
        question = posed.question
        value = _WORDS.get(str(raw).strip().lower())
        if value is None:
            return Judged(0.0, f"{raw!r} is neither true nor false", None)
        hint = question.feedback.get("true" if value else "false")
        if value == question.truth:
            return Judged(question.points, "correct", hint)
        key = f" (it is {str(question.truth).lower()})" if practice else ""
        return Judged(0.0, "wrong" + key, hint)

    @classmethod
    def prompt(cls, posed: Posed, pointer: str) -> questionary.Question:
        import questionary

        return questionary.select(
            cls.ask,
            pointer=pointer,
            choices=[
                questionary.Choice("true", value=True, shortcut_key="t"),
                questionary.Choice("false", value=False, shortcut_key="f"),
            ],
            use_shortcuts=True,
            use_jk_keys=False,
            instruction="(t, f or the arrow keys, then <enter>)",
        )

    @classmethod
    def moodle(cls, root: Element, quiz: Quiz, posed: Posed, name: str) -> None:
        question = posed.question
        # Moodle fixes a true/false question's penalty at 100%: a second try tells nothing.
        element = head(root, "truefalse", name, html(question.text), question.points, 1.0)
        for word, value in (("true", True), ("false", False)):
            fraction = 1.0 if question.truth is value else 0.0
            answer = SubElement(
                element, "answer", fraction=percent(fraction), format="moodle_auto_format"
            )
            SubElement(answer, "text").text = word
            rich(answer, "feedback", html(question.feedback.get(word, "")))
