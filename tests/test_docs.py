"""The manual (docs/, mkdocs.yml): it builds with --strict and its CLI reference is whole."""

from __future__ import annotations

import html
import inspect
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import REPO
from grader.cli import cli

#: Each test runs grade --help or mkdocs build, or reads the site it built.
pytestmark = pytest.mark.slow

# A command line in click's help: two spaces, the name, then two spaces or more and its summary.
COMMAND_LINE = re.compile(r"^  (\S+)(?:\s{2,}|$)")


def _help(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "grader", *args, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _commands_in_help(text: str) -> list[str]:
    """The names in the "Commands:" section of a --help output ([] when it has none)."""
    names: list[str] = []
    section = False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            section = True
        elif section and line and not line.startswith(" "):
            break
        elif section and (match := COMMAND_LINE.match(line)):
            names.append(match.group(1))
    return names


def _every_command() -> list[str]:
    """Every command path of `grade --help`, groups walked down: "batch", "gradebook export"."""
    paths: list[str] = []
    pending = [[name] for name in _commands_in_help(_help())]
    while pending:
        path = pending.pop(0)
        paths.append(" ".join(path))
        pending.extend([*path, sub] for sub in _commands_in_help(_help(*path)))
    return paths


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return out


def test_the_help_lists_commands_and_the_gradebook_group() -> None:
    commands = _every_command()
    assert {"batch", "validate", "gradebook", "gradebook export"} <= set(commands)


def test_the_manual_builds_strict_with_every_page(site: Path) -> None:
    pages = sorted(p.stem for p in (REPO / "docs").glob("*.md"))
    for page in pages:
        built = site / "index.html" if page == "index" else site / page / "index.html"
        assert built.is_file(), page


def test_the_cli_reference_names_every_command_of_grade_help(site: Path) -> None:
    page = html.unescape((site / "cli" / "index.html").read_text(encoding="utf-8"))
    missing = [
        command
        for command in _every_command()
        if f'id="grade-{command.replace(" ", "-")}"' not in page
        or f"grade {command} [OPTIONS]" not in page
    ]
    assert missing == []


def test_the_cli_reference_keeps_placeholders_and_kept_lines(site: Path) -> None:
    """docs/hooks.py: `<student>` is not read as a tag, and a `\\b` paragraph keeps its lines."""
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    blocks = [
        html.unescape(b) for b in re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", page, re.S)
    ]
    pending: list[click.Command] = [cli]
    placeholders: set[str] = set()
    kept: list[str] = []
    while pending:
        command = pending.pop()
        if isinstance(command, click.Group):
            pending.extend(command.commands.values())
        placeholders.update(re.findall(r"<[A-Za-z_]+>", command.help or ""))
        for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
            first, *rest = paragraph.split("\n")
            if first.strip() == "\b" and rest:
                kept.append("\n".join(rest))
    # Escaped in the page's source: a bare <student> would be a tag the browser hides.
    assert [p for p in sorted(placeholders) if html.escape(p) not in page] == []
    assert [k for k in kept if not any(k in block for block in blocks)] == []
