"""YAML with line numbers, read within bounds, and the JSON Schema step: what exercise
and quiz files (and quiz answers files) share.

Every value keeps the file:line:col it was written at, so each problem names its place.
A file is bounded before anything is built from it (size, depth, values, aliases), so no
file an author or a student hands in can exhaust the grader.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema
    import yaml

from grader.errors import Problem, SpecError

YAML_HELP = "See the exercise YAML reference: docs/yaml-reference.md."

PathKey = tuple[str | int, ...]
#: (line, column), both from 1, of a key or value in the YAML text.
Position = tuple[int, int]


def locate(source: Path, lines: Mapping[PathKey, Position], path: PathKey) -> str:
    """'file:line:col' of the nearest written ancestor of a key path."""
    line, column = _position(lines, path)
    return f"{source}:{line}:{column}"


# --- YAML with line numbers ------------------------------------------------------------------


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


@functools.cache
def _loader() -> Any:
    """Safe loader that reads 1e-7 as a number (YAML 1.1 would read it as text); libyaml's
    parser where PyYAML was built with it (five times faster on our files). Built on first
    use: a run whose exercise comes from the cache never imports yaml."""
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            # A scalar the resolver reads as a number or date that Python will not build
            # (an int of 5,000 digits, 2020-13-45, !!int abc): a fault at its place.
            try:
                return super().construct_object(node, deep)
            except (ValueError, OverflowError, TypeError) as exc:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"cannot read {str(node.value)[:40]!r} as YAML's "
                    f"{node.tag.rsplit(':', 1)[-1]} ({str(exc)[:120]})",
                    node.start_mark,
                ) from None

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
    return Loader


def _mark(mark: yaml.Mark) -> Position:
    return (mark.line + 1, mark.column + 1)


def _node_lines(
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, Position],
    source: Path,
    dups: list[Problem],
) -> None:
    import yaml

    lines[path] = _mark(node.start_mark)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line, column = _mark(key_node.start_mark)
                dups.append(
                    Problem(
                        f"{source}:{line}:{column}",
                        f"duplicate key {key!r} (first at line {seen[key][0]})",
                        "Each key may appear once in a mapping; remove or rename one of them.",
                    )
                )
                continue
            seen[key] = _mark(key_node.start_mark)
            _node_lines(value_node, (*path, key), lines, source, dups)
            # A key's own position: errors about it point at the key, not its value.
            key_path: PathKey = (*path, key)
            lines[key_path] = _mark(key_node.start_mark)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), lines, source, dups)


def _yaml_problem(exc: yaml.YAMLError, source: Path, text: str = "") -> Problem:
    """A parser's complaint in an author's words, at the place it points to."""
    import yaml

    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml counts bytes of the UTF-8 text; the pure-Python reader, characters.
        if exc.encoding == "unicode":
            before = text[: exc.position]
        else:
            before = text.encode("utf-8")[: exc.position].decode("utf-8", "ignore")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        return Problem(
            f"{source}:{line}:{column}",
            f"character U+{exc.character:04X} is not allowed in YAML text",
            "Remove it; NUL characters (U+0000) mean the file is not text or was saved as "
            "UTF-16: save it as UTF-8 text.",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = _mark(mark) if mark is not None else (1, 1)
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    opened = getattr(exc, "context_mark", None)
    where = f"{source}:{line}:{column}"
    if problem.startswith("cannot read ") and "as YAML's" in problem:
        return Problem(where, problem, "Quote it to keep it as text.")
    if "'\\t'" in problem or "tab character" in problem:
        return Problem(where, "a tab character", "YAML indents with spaces only: replace the tab.")
    if "another document" in problem:
        return Problem(
            where,
            "a second YAML document (a '---' line): an exercise file holds one",
            "Remove the '---' line, or move the second document to a file of its own.",
        )
    if "quoted scalar" in context and opened is not None:
        return Problem(
            f"{source}:{opened.line + 1}:{opened.column + 1}",
            "a quoted string is never closed",
            "Close the quote on the same line (or use a block scalar: key: |).",
        )
    if "flow sequence" in context or "flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        start = f" opened at line {opened.line + 1}" if opened is not None else ""
        return Problem(
            where,
            f"the {bracket} {start.strip()} is not closed where expected ({problem})".replace(
                "  ", " "
            ),
            "Close the bracket, and separate items with commas.",
        )
    if "mapping values are not allowed" in problem or "block" in context + problem:
        return Problem(
            where,
            f"bad indentation or a missing ':' ({problem})",
            "Keys of one mapping line up in one column; a nested block is indented "
            "further than its key.",
        )
    return Problem(where, f"invalid YAML: {problem}", "Check indentation and quoting there.")


@dataclass(frozen=True)
class YamlLimits:
    """How much YAML a file may hold before it is refused, checked before anything is built
    from it: a file too big, nested too deep, or whose aliases repeat one value into
    millions ("billion laughs") would otherwise cost the grader its memory, its time or
    its stack. An answers file is a student's, so its limits are tight; a course's files
    get more room."""

    #: What the file is, for messages: "an answers file".
    name: str
    max_bytes: int
    #: Collections (mappings, lists) inside one another, the top level counting 1.
    max_depth: int
    #: Keys and values, counted as built: an alias counts every value it repeats.
    max_nodes: int
    #: Aliases (*name); 0: none at all.
    max_aliases: int
    #: What to do, said after every refusal.
    fix: str


#: Exercise and quiz files of a course (and a bundle's copies): about 1,000 values and a
#: depth of 7 today, so these limits leave a hundredfold room.
COURSE_YAML = YamlLimits(
    name="an exercise or quiz file",
    max_bytes=2 * 1024 * 1024,
    max_depth=32,
    max_nodes=100_000,
    max_aliases=1_000,
    fix=YAML_HELP,
)

#: A student's answers file: a few keys and one value or short list per question.
ANSWERS_YAML = YamlLimits(
    name="an answers file",
    max_bytes=256 * 1024,
    max_depth=50,
    max_nodes=10_000,
    max_aliases=0,
    fix="Keep one value (or a short list) per question: start again from 'grade QUIZ --template'.",
)


def read_text(source: Path, limits: YamlLimits = COURSE_YAML) -> str:
    """The text of a YAML file, refused (SpecError) when it is not a regular file, is larger
    than the limits allow or is not UTF-8. Never more than the limit is read, and a FIFO
    or device is refused without waiting on it."""
    import os
    import stat

    where = f"{source}:1:1"
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", where=where) from None
    with os.fdopen(fd, "rb") as handle:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SpecError(
                    "not a regular file (a directory, FIFO or device)",
                    where=str(source),
                    fix="Pass the path of a file saved on disk.",
                )
            raw = handle.read(limits.max_bytes + 1)
        except OSError as exc:
            raise SpecError(f"cannot read the file: {exc.strerror or exc}", where=where) from None
    if len(raw) > limits.max_bytes:
        raise SpecError(
            f"the file is larger than {limits.max_bytes // 1024} KiB, the most "
            f"{limits.name} may hold",
            where=str(source),
            fix=limits.fix,
        )
    return _decode(raw, source)


def _decode(raw: bytes, source: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            # Excel's "Unicode Text" and Notepad's "Unicode" save UTF-16, marked so.
            raise SpecError(
                "the file is UTF-16 text, not UTF-8",
                where=f"{source}:1:1",
                fix="Save it again as UTF-8 (in Excel: 'CSV UTF-8'; most editors: 'Save "
                "with encoding' > UTF-8).",
            ) from None
        raise SpecError(
            f"byte 0x{raw[exc.start]:02x} is not UTF-8 text",
            where=f"{source}:{line}:{column}",
            fix="Save the file as UTF-8 (most editors: 'Save with encoding').",
        ) from None


def _check_size(text: str, source: Path, limits: YamlLimits) -> None:
    """Refuse, from the parser's events and before any node is built, a document nested
    deeper than the limits allow, with more values than they allow once aliases are
    expanded, or with an alias inside the value it names (a loop). One pass, constant
    stack; a YAML syntax error is left for the composer to report."""
    import yaml

    loader = _loader()(text)
    # Per open collection: its anchor, the count of values before it, its tallest child.
    open_: list[list[Any]] = []
    #: anchor -> (values it expands to, its height in collections)
    anchors: dict[str, tuple[int, int]] = {}
    count = aliases = 0

    def refuse(event: Any, what: str) -> SpecError:
        line, column = _mark(event.start_mark)
        return SpecError(what, where=f"{source}:{line}:{column}", fix=limits.fix)

    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, before, tallest = open_.pop()
                if anchor is not None:
                    anchors[anchor] = (count - before, tallest + 1)
                if open_:
                    open_[-1][2] = max(open_[-1][2], tallest + 1)
                continue
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if limits.max_aliases == 0:
                    raise refuse(
                        event,
                        f"an alias (*{event.anchor}): {limits.name} may not use aliases",
                    )
                if aliases > limits.max_aliases:
                    raise refuse(event, f"more than {limits.max_aliases} aliases (*name)")
                if any(frame[0] == event.anchor for frame in open_):
                    raise refuse(event, f"the alias *{event.anchor} is inside the value it names")
                size, height = anchors.get(str(event.anchor), (1, 0))
                count += size
                if open_:
                    open_[-1][2] = max(open_[-1][2], height)
                depth = len(open_) + height
            elif isinstance(event, yaml.ScalarEvent):
                count += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 0)
                depth = len(open_)
            elif isinstance(event, yaml.CollectionStartEvent):
                open_.append([event.anchor, count, 0])
                count += 1
                depth = len(open_)
            else:
                continue
            if depth > limits.max_depth:
                raise refuse(
                    event, f"values nested more than {limits.max_depth} deep in {limits.name}"
                )
            if count > limits.max_nodes:
                raise refuse(
                    event,
                    f"more than {limits.max_nodes:,} keys and values in {limits.name}"
                    + (" (counting those aliases repeat)" if aliases else ""),
                )
    except yaml.YAMLError as exc:
        # libyaml's scanner reads ahead, so it may meet its own depth limit (1,000) first.
        mark = getattr(exc, "problem_mark", None)
        if "nesting depth" in str(exc) and mark is not None:
            line, column = _mark(mark)
            raise SpecError(
                f"values nested more than {limits.max_depth} deep in {limits.name}",
                where=f"{source}:{line}:{column}",
                fix=limits.fix,
            ) from None
        return  # the composer reports it, in an author's words
    finally:
        loader.dispose()


def read_yaml(
    source: Path, limits: YamlLimits = COURSE_YAML
) -> tuple[Any, dict[PathKey, Position]]:
    """Parse one YAML file into plain data and a map from key paths to positions."""
    return parse_yaml(read_text(source, limits), source, limits)


def parse_yaml(
    text: str, source: Path, limits: YamlLimits = COURSE_YAML
) -> tuple[Any, dict[PathKey, Position]]:
    """Parse the text of `source` (from read_text) into plain data and a map from key paths
    to positions; SpecError, with file:line:col, for text that is not YAML or that goes
    beyond the limits."""
    import yaml

    _check_size(text, source, limits)
    loader = _loader()(text)
    dups: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError(
                "the file is empty", where=f"{source}:1:1", fix="Start from 'grade new ID'."
            )
        lines: dict[PathKey, Position] = {}
        _node_lines(node, (), lines, source, dups)
        if dups:
            raise SpecError(problems=dups)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise SpecError(problems=[_yaml_problem(exc, source, text)]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        found = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"[:60]
        raise SpecError(
            f"the top level must be a mapping of keys (id: ..., title: ...), found {found}",
            where=f"{source}:{lines[()][0]}:{lines[()][1]}",
            fix=YAML_HELP,
        )
    return data, lines


# --- schema ----------------------------------------------------------------------------------


def schema(kind: str = "exercise") -> dict[str, Any]:
    """The published JSON Schema of an exercise (or quiz) file."""
    text = resources.files("grader").joinpath(f"schema/{kind}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _pattern_words(path: PathKey) -> str:
    """What a key's pattern asks for, in words rather than a regular expression."""
    if "imports" in path:
        return "an import line: 'import numpy as np' or 'from scipy import special'"
    last = next((str(k) for k in reversed(path) if isinstance(k, str)), "")
    if last in ("reference", "implementation"):
        return "a dotted path into solutions/: solutions.<module>.<function>"
    if last == "id":
        return "an id: lower case letters, digits and '_' (and '-' for an exercise), from a letter"
    if last == "release":
        return "a relative path to a .json file"
    return "a Python identifier (letters, digits and '_', not starting with a digit)"


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant ('titel' -> 'title'), if any is close."""
    import difflib

    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _flow(value: Any) -> str:
    """A value as one line of YAML flow style (numbers and nested lists)."""
    text = json.dumps(value) if isinstance(value, (list, int, float)) else str(value)
    return text if len(text) <= 40 else text[:36] + " ...]"


def _param_names(data: Any) -> list[str]:
    """The declared parameters of an exercise's function, where the file names them."""
    try:
        return [str(p["name"]) for p in data["entry"]["params"]]
    except (KeyError, TypeError, IndexError):
        return []


def _name_keyed(path: PathKey, instance: Any, data: Any) -> str | None:
    """Why `args` (or `dtype`) written as a list is refused, and the same values written by
    parameter name: what a list would leave to guess (which input is which) stated."""
    key = path[-1] if path else None
    if key not in ("args", "dtype") or isinstance(instance, dict):
        return None
    names = _param_names(data) or ["y_true", "y_pred"]
    if key == "args":
        values = instance if isinstance(instance, list) and len(instance) == len(names) else None
        shown = ", ".join(
            f"{n}: {_flow(values[i]) if values is not None else '...'}" for i, n in enumerate(names)
        )
        return (
            f"{_format_path(path)}: args must name each input by its parameter, not list them "
            f"in order: write args: {{{shown}}}"
        )
    one = instance if isinstance(instance, str) else "float32"
    shown = ", ".join(f"{n}: {one}" for n in names)
    return (
        f"{_format_path(path)}: dtype must name the parameter each dtype is for: write "
        f"dtype: {{{shown}}} (only the parameters that need one)"
    )


def _schema_errors(error: jsonschema.ValidationError, data: Any) -> list[tuple[PathKey, str, str]]:
    """The most useful path and sentence for a schema violation, and for an unknown key
    the key it most likely meant ("" when none): one per unknown key."""
    # oneOf failures hide the real cause in their context; pick the deepest.
    if error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            error = deepest
    path: PathKey = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # Point at each unexpected key itself, not at the mapping that holds it.
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        extra = sorted(set(error.instance) - known, key=str)
        if extra and known:
            found = []
            for key in extra:
                guess = nearest(str(key), known)
                what = f"{_format_path((*path, key))}: unknown key {key!r}"
                if guess is not None:
                    found.append(((*path, key), what, guess))
                else:
                    found.append(
                        ((*path, key), f"{what} (expected one of: {', '.join(sorted(known))})", "")
                    )
            return found
    if error.validator == "type":
        keyed = _name_keyed(path, error.instance, data)
        if keyed is not None:
            return [(path, keyed, "")]
    if (
        error.validator == "required"
        and isinstance(error.validator_value, list)
        and isinstance(error.instance, dict)
    ):
        # jsonschema reports each missing key as an error of its own, named in its message.
        missing = [k for k in error.validator_value if k not in error.instance]
        named = re.match(r"'(.+)' is a required property", error.message)
        if named is not None and named[1] in missing:
            missing = [named[1]]
        if missing:
            return [(path, f"{_format_path(path)}: missing key {missing[0]!r}", "")]
    if error.validator == "pattern":
        return [
            (path, f"{_format_path(path)}: {error.instance!r} is not {_pattern_words(path)}", "")
        ]
    if error.validator == "oneOf" and path and path[0] == "cases":
        return [(path, "a case needs exactly one of 'args' (literal inputs) or 'generate'", "")]
    return [(path, f"{_format_path(path)}: {error.message}", "")]


_HELP = {
    "exercise": YAML_HELP,
    "quiz": "See the quiz guide: docs/quizzes.md.",
    "course": "See the course file in docs/instructors.md.",
}


def schema_problems(
    data: Any, source: Path, lines: Mapping[PathKey, Position], kind: str = "exercise"
) -> list[Problem]:
    import jsonschema  # 40 ms: only a file not validated before pays for it

    validator = jsonschema.Draft202012Validator(schema(kind))
    errors = [e for error in validator.iter_errors(data) for e in _schema_errors(error, data)]
    # A key misspelt is one problem, not two: 'titel' (did you mean 'title'?) is also why
    # 'title' is missing, so the missing key is not reported again.
    meant = {(*path[:-1], guess) for path, _, guess in errors if guess}
    found = []
    for path, message, guess in errors:
        missing = re.fullmatch(r".*: missing key '(.+)'", message)
        if missing is not None and (*path, missing[1]) in meant:
            continue
        advice = f"Did you mean {guess!r}? {_HELP[kind]}" if guess else _HELP[kind]
        found.append(
            (_position(lines, path), Problem(locate(source, lines, path), message, advice))
        )
    # In the order an author reads the file: top to bottom.
    return [problem for _, problem in sorted(found, key=lambda item: item[0])]


def _position(lines: Mapping[PathKey, Position], path: PathKey) -> Position:
    """(line, column) of the nearest written ancestor of a key path."""
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, (1, 1))
