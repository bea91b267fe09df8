"""Docs are generated from the code and must not drift from it."""

from __future__ import annotations

import re
from pathlib import Path

from perfxl.checks.catalogue import RULES
from perfxl.docgen import generated

ROOT = Path(__file__).resolve().parent.parent


def test_generated_docs_are_up_to_date() -> None:
    for path, text in generated().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is out of date: run python -m perfxl.docgen"
        )


def test_every_rule_is_documented_with_messages_and_hint() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for code, rule in RULES.items():
        assert f"### `{code}`" in page
        assert rule.zh and rule.en and rule.hint and rule.severity in {"error", "warning"}
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code)


def test_every_command_is_in_the_reference() -> None:
    from perfxl.cli import app

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        assert f"## perfxl {command.name}" in page


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "samples/" in commands[0] and "pytest" in commands[1]
