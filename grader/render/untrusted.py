"""The characters of untrusted text, classified once for every renderer.

Student text (exception messages, printed output, file and folder names, student ids,
answers) reaches terminals, CI logs, Markdown viewers, spreadsheets and JSON decoders. What
each reader must not receive differs, so each format's module decides what to do (text.py
shows these characters as escapes, json.py replaces what I-JSON forbids, ...); this module
only names the characters and walks the result model, so that a renderer can make a whole
report safe at its top in one call, and callers never escape anything themselves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")

#: What a terminal or a log viewer acts on rather than shows: C0 controls but tab and
#: newline, DEL, C1 controls (ESC's 8-bit forms among them), the Unicode line and
#: paragraph separators (a line break to some readers only), the bidirectional overrides
#: and isolates that make text read in another order than it runs ("Trojan Source"), and
#: lone surrogates, which no UTF-8 stream can carry; and what shows as nothing at all
#: (zero-width spaces and joiners, the byte-order mark): '\ufeffada' would read as 'ada'.
UNSEEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ud800-\udfff]"
)
#: What RFC 7493 (I-JSON) forbids in a string: surrogates and noncharacters.
NOT_I_JSON = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | low) for plane in range(17) for low in (0xFFFE, 0xFFFF))
    + "]"
)
_NAMED = {"\r": "\\r", "\x1b": "\\x1b"}


def escape_match(match: re.Match[str]) -> str:
    """A matched character as its escape: `\\x1b`, `\\r`, `\\u202e` (re.sub's callback)."""
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """Text a terminal shows as it is: every unseen character as its escape (`\\x1b`,
    `\\r`, `\\u202e`, `\\ud800`), so no sequence can act and nothing is silently lost."""
    return UNSEEN.sub(escape_match, text)


def well_formed(text: str) -> str:
    """Text every strict UTF-8 and JSON reader accepts: surrogates and noncharacters are
    written as their escapes (`\\ud800`, `\\ufffe`), as the other formats show them; a
    replacement character for each would make the folders U+FFFE and U+FFFD one name."""
    return NOT_I_JSON.sub(escape_match, text)


def map_text(value: T, fn: Callable[[str], str]) -> T:
    """`value` with `fn` applied to every string in it: dataclasses of the result model,
    dicts (keys too), lists and tuples; enums and numbers are left as they are."""
    return _map(value, fn)  # type: ignore[no-any-return]


def _map(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {_map(k, fn): _map(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _map(getattr(value, f.name), fn) for f in dataclasses.fields(value) if f.init
        }
        return dataclasses.replace(value, **changes)
    return value
