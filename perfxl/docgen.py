"""Generate docs/cli.md from the commands and docs/rules.md from the issue catalogue, so
the documentation cannot drift from the code. `python -m perfxl.docgen` rewrites both;
the test suite fails when they are out of date."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from perfxl.checks.catalogue import RULES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def cli_reference() -> str:
    from perfxl.cli import app

    # Typer carries its own copy of click: go by the objects' interface, not their classes.
    group: Any = typer.main.get_command(app)
    lines = [
        "# perfxl command reference",
        "",
        "Generated from the commands by `python -m perfxl.docgen`; do not edit.",
        "",
    ]
    ctx = group.context_class(group, info_name="perfxl")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        arguments = [p.name.upper() for p in command.params if p.param_type_name == "argument"]
        usage = " ".join(["perfxl", name, "[OPTIONS]", *arguments])
        lines += [
            f"## perfxl {name}",
            "",
            "```",
            usage,
            "```",
            "",
            (command.help or "").strip(),
            "",
        ]
        rows = []
        for param in command.params:
            if param.param_type_name == "option":
                names = ", ".join(f"`{o}`" for o in param.opts)
                default = (
                    ""
                    if param.default in (None, False) or param.required
                    else f" (默认 `{param.default}`)"
                )
                rows.append(f"| {names} | {param.help or ''}{default} |")
            elif param.param_type_name == "argument":
                rows.append(f"| `{param.name.upper()}` | {getattr(param, 'help', '')} |")
        if rows:
            lines += ["| 参数 | 说明 |", "| --- | --- |", *rows, ""]
    return "\n".join(lines)


def rules_reference() -> str:
    lines = [
        "# Issues perfxl reports",
        "",
        "Generated from `templates/rules.toml` by `python -m perfxl.docgen`; do not edit.",
        "Severity `error` blocks acceptance (强制性); `warning` informs (提示性).",
        "",
    ]
    groups: dict[str, list[str]] = {}
    for rule in RULES.values():
        groups.setdefault(rule.group, []).append(
            f"### `{rule.code}`\n\n- 级别：{rule.severity}\n- 说明：{rule.zh}\n"
            f"- English: {rule.en}\n- 修改建议：{rule.hint}\n"
        )
    for group, entries in groups.items():
        lines += [f"## {group}", "", *entries]
    return "\n".join(lines)


def generated() -> dict[Path, str]:
    return {DOCS / "cli.md": cli_reference(), DOCS / "rules.md": rules_reference()}


def main() -> int:
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
