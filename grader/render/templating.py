"""The jinja2 environment of the HTML and Markdown reports, with the number filters."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jinja2

from grader.render.numbers import diagnosis_lines, expected_text, num, points, short

#: Failing cases shown in full; the rest fold to one line each (a closed <details> in
#: HTML), so the first screen holds what to fix first rather than twenty similar cases.
EXPANDED_FAILURES = 3


@functools.lru_cache(maxsize=4)
def environment(
    *, html: bool, finalize: Callable[[object], object] | None = None
) -> jinja2.Environment:
    """HTML escapes every expression (autoescape); Markdown passes its own `finalize`."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=finalize,
    )
    env.filters.update(num=num, short=short, points=points, expected=expected_text)
    env.globals.update(diagnosis_lines=diagnosis_lines, expanded_failures=EXPANDED_FAILURES)
    return env
