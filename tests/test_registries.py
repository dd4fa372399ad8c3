"""The registries the CLI reads: every entry is offered where it belongs, and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO, SUBMISSIONS, run_grade
from grader.classroom.exports import EXPORTERS
from grader.classroom.formats import EXPORT_FORMATS
from grader.render import BATCH_FORMATS, FORMATS, REPORT_SUFFIXES, STDOUT_FORMATS
from grader.sandbox import BACKENDS, CHOICES

MANUAL = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md")))
GOOD = SUBMISSIONS / "ex01" / "good_vectorised.py"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_output_format_is_in_the_manual(name: str) -> None:
    """A format on stdout has its row in the manual's table of --format; a report file
    format is shown in use, by its first suffix."""
    fmt = FORMATS[name]
    if fmt.stdout:
        table = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
        assert f"| `{name}` |" in table, f"docs/integrations.md has no row for --format {name}"
    else:
        assert re.search(rf"--report \S+\{fmt.suffixes[0]}\b", MANUAL), name


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_sandbox_backend_is_in_the_sandbox_page(name: str) -> None:
    page = (REPO / "docs" / "sandbox.md").read_text(encoding="utf-8")
    assert f"**{name}**" in page


@pytest.mark.slow
def test_the_cli_offers_what_the_registries_hold() -> None:
    helped = run_grade("ex01", "--help").stdout
    assert f"[{'|'.join(STDOUT_FORMATS)}]" in helped.replace("\n", "").replace(" ", "")
    assert f"[{'|'.join(CHOICES)}]" in helped.replace("\n", "").replace(" ", "")
    batch = run_grade("batch", "--help").stdout.replace("\n", "").replace(" ", "")
    assert f"[{'|'.join(BATCH_FORMATS)}]" in batch
    # The export formats the CLI names without loading the exporters are the exporters.
    assert tuple(EXPORTERS) == EXPORT_FORMATS
    exported = run_grade("gradebook", "export", "--help").stdout.replace("\n", "")
    assert f"[{'|'.join(EXPORT_FORMATS)}]" in exported.replace(" ", "")


@pytest.mark.slow
@pytest.mark.parametrize("suffix", sorted(REPORT_SUFFIXES))
def test_every_report_suffix_writes_its_format(suffix: str, tmp_path: Path) -> None:
    out = tmp_path / f"report{suffix}"
    result = run_grade("ex01", "--file", str(GOOD), "--sandbox", "process", "--report", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    if REPORT_SUFFIXES[suffix] == "html":
        assert text.startswith("<!DOCTYPE html>")
    else:
        assert text.startswith("## ex01")


def test_every_kind_of_item_has_a_command_a_validator_and_a_prover() -> None:
    from grader.authoring.selftest import PROVERS
    from grader.authoring.validate import VALIDATORS
    from grader.cli.grade import COMMANDS
    from grader.course import ITEM_KINDS

    for table in (COMMANDS, VALIDATORS, PROVERS):
        assert sorted(table) == sorted(ITEM_KINDS)


@pytest.mark.slow
@pytest.mark.parametrize(("item", "kind"), [("ex01", "exercise"), ("q01", "quiz")])
def test_each_kind_of_item_is_graded_validated_and_proven_through_its_entry(
    item: str, kind: str
) -> None:
    from grader.course import Course

    assert Course(REPO).kind_of(item) == kind
    assert run_grade(item, "--help").returncode == 0
    assert run_grade("selftest", item).returncode == 0
    validated = run_grade("validate", str(REPO / "exercises" / f"{item}.yaml"))
    assert validated.returncode == 0, validated.stdout + validated.stderr
