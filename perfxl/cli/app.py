"""The application, its consoles, the options several commands share, and how a failure
becomes an exit code: 0 nothing wrong, 1 errors found in the data, 2 a file or an argument
could not be used at all."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from perfxl import __version__
from perfxl.errors import PerfxlError

EXIT_OK, EXIT_ERRORS, EXIT_UNUSABLE = 0, 1, 2

app = typer.Typer(
    name="perfxl",
    help="预算绩效目标：模板、收集、校验与汇总。Budget performance targets in Excel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

CodesetOption = Annotated[
    str,
    typer.Option("--codeset", help="指标体系：2021、legacy，或 TOML 文件路径。Indicator code set."),
]
ReadCodesetOption = Annotated[
    str | None,
    typer.Option(
        "--codeset",
        help="指标体系：2021、legacy，或 TOML 文件路径"
        "（默认按文件中的代码判断，如 14-成本指标 为旧版）。",
    ),
]
SpecOption = Annotated[str, typer.Option("--spec", help="模板定义：department，或 TOML 文件路径。")]
OverallSpecOption = Annotated[
    str,
    typer.Option("--overall-spec", help="部门整体模板定义：overall，或 TOML 文件路径。"),
]
SpecCodesetOption = Annotated[
    str | None,
    typer.Option(
        "--codeset",
        help="指标体系（默认：模板按其生成时的设置，其他表格按文件中的代码判断，"
        "否则取模板定义的设置）。",
    ),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="配置文件（默认当前目录的 perfxl.toml）。")
]
LayoutOption = Annotated[
    Path | None,
    typer.Option(
        "--layout",
        help="描述特殊表格格式的 TOML 文件：列名与字段的对应、金额单位、表头所在行（见 README）。",
    ),
]
LedgerOption = Annotated[Path, typer.Option("--ledger", help="台账数据库（SQLite）。")]
RosterOption = Annotated[Path | None, typer.Option("--roster", help="单位名单（CSV 或 xlsx）。")]


def _version(value: bool) -> None:
    if value:
        out.print(f"perfxl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="显示版本。")
    ] = False,
) -> None:
    """预算绩效目标：模板、收集、校验与汇总。"""


def fail(exc: PerfxlError) -> typer.Exit:
    """A library error, said in one line: the file or argument could not be used."""
    err.print(f"[red]错误：[/]{exc}")
    return typer.Exit(EXIT_UNUSABLE)


def next_year() -> int:
    return date.today().year + 1
