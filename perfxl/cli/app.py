"""The application, its consoles, the options several commands share, and how a failure
becomes an exit code: 0 nothing wrong, 1 errors found in the data, 2 a file or an argument
could not be used at all."""

from __future__ import annotations

import errno
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

from perfxl import __version__
from perfxl.cli.usage import OPTIONS_METAVAR, SUBCOMMAND_METAVAR, chinese_errors, usage_line
from perfxl.errors import InputError, PerfxlError
from perfxl.ledger.database import Location, location_of

EXIT_OK, EXIT_ERRORS, EXIT_UNUSABLE = 0, 1, 2

# The help screens in Chinese, through the extension points typer offers: its panels'
# titles and fixed words are module settings; a command class names each value's kind.
rich_utils.ARGUMENTS_PANEL_TITLE, rich_utils.OPTIONS_PANEL_TITLE = "参数", "选项"
rich_utils.COMMANDS_PANEL_TITLE, rich_utils.ERRORS_PANEL_TITLE = "命令", "错误"
rich_utils.DEFAULT_STRING, rich_utils.REQUIRED_LONG_STRING = "[默认：{}]", "[必填]"
rich_utils.ABORTED_TEXT, rich_utils.ENVVAR_STRING = "已中止。", "[环境变量：{}]"
rich_utils.RICH_HELP = "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。"
_KINDS = {"Path": "路径", "int": "整数", "str": "文字", "float": "数字"}


def _chinese(command: Any) -> None:
    """Each value's kind in Chinese (`路径`, `整数`, `文字`; `路径…` for several); none for
    a switch."""
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.metavar is None and hasattr(param, "bare_type"):
            kind = param.bare_type()
            several = kind.startswith("list[")
            label = _KINDS.get(kind.removeprefix("list[").removesuffix("]"), "值")
            param.metavar = label + ("…" if several else "")
            if param.param_type_name == "argument":  # its name is its kind: `文件…`
                param.metavar = "文件" if label == "路径" else label
                param.display_type_rich = lambda ctx=None, shown=param.metavar + "…": shown


def _help_option(option: Any) -> Any:
    if option is not None:
        option.help, option.metavar = "显示本帮助并退出。", ""
    return option


class _Chinese:
    """What a command and the application share: help, usage line and usage errors in
    Chinese (a mixin, before typer's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setattr(self, "options_metavar", OPTIONS_METAVAR)  # noqa: B010  (typer's attribute)
        _chinese(self)

    def get_help_option(self, ctx: Any) -> Any:
        return _help_option(super().get_help_option(ctx))  # type: ignore[misc]

    def get_usage(self, ctx: Any) -> str:
        return usage_line(self, ctx)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with chinese_errors(ctx):
            return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]


class Command(_Chinese, TyperCommand):
    """A command whose help, usage line and usage errors speak Chinese."""


class Group(_Chinese, TyperGroup):
    """The application, its help, usage line and usage errors in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommand_metavar = SUBCOMMAND_METAVAR

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        with chinese_errors(ctx):
            return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=Group,
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
LedgerOption = Annotated[
    str,
    typer.Option(
        "--ledger",
        help="台账：SQLite 文件，或共用的 PostgreSQL 数据库（postgresql://用户@主机/库名）。",
        parser=str,
    ),
]


def existing_ledger(text: str) -> Location:
    """A ledger that must exist already (a PostgreSQL one is checked when opened)."""
    location = location_of(text)
    if isinstance(location, Path) and not location.is_file():
        raise InputError(f"台账 {location} 不存在：请先运行 perfxl collect")
    return location


def new_ledger(text: str) -> Location:
    """A ledger that may be made: a file's folder is checked to be writable first."""
    location = location_of(text)
    return output_file(location) or location if isinstance(location, Path) else location


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
    err.print(f"[red]错误：[/]{escape(str(exc))}")
    return typer.Exit(EXIT_UNUSABLE)


def next_year() -> int:
    return date.today().year + 1


def _year(value: int | None) -> int | None:
    """A budget year, checked: 2000 to 2100 (0 or none: not given)."""
    if value and not 2000 <= value <= 2100:
        raise fail(InputError(f"年度“{value}”不对：应为 2000 到 2100 之间的四位数年份"))
    return value


def _jobs(value: int) -> int:
    if not 0 <= value <= 256:
        raise fail(InputError(f"进程数“{value}”不对：应为 1 到 256（0 表示全部核心）"))
    return value


YearCallback, JobsCallback = _year, _jobs
JobsOption = Annotated[
    int,
    typer.Option("--jobs", help="并行读取的进程数。", callback=_jobs, show_default="全部核心"),
]


def _probe(folder: Path) -> None:
    """Can a file be written in this folder (made if need be)?"""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".perfxl-probe-"):
            pass
    except OSError as exc:
        why = _WHY.get(exc.errno or 0, exc.strerror or str(exc))
        raise fail(InputError(f"无法写入“{folder}”：{why}")) from None


_WHY = {
    errno.ENOENT: "该位置不存在，也无法在其中新建",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "所在磁盘是只读的",
    errno.ENOTDIR: "路径中有一部分是文件而不是文件夹",
    errno.ENOSPC: "磁盘已满",
}


def output_file(path: Path | None) -> Path | None:
    """An output file's path, checked before any work: not a folder, in a folder that can
    be written."""
    if path is None:
        return None
    if path.is_dir():
        raise fail(InputError(f"“{path}”是一个文件夹：请给出文件路径，如 {path / 'out.xlsx'}"))
    _probe(path.parent)
    return path


def output_dir(path: Path | None) -> Path | None:
    """An output folder's path, checked before any work: not a file, writable."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise fail(InputError(f"“{path}”是一个文件：这里需要文件夹路径"))
    _probe(path)
    return path


def output_path(path: Path) -> Path:
    """A path that names a file (.xlsx) or a folder (anything else), checked as such."""
    return (output_file if path.suffix else output_dir)(path) or path
