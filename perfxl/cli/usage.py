"""Mistakes on the command line said in Chinese: a missing file, an unknown option or
command, a value of the wrong kind. click and typer word them in English (and typer lets
pydantic word a value's); each is said again here from what the exception knows, and the
usage line reads 用法：perfxl validate [选项] 文件…

typer carries a click of its own: its exceptions are known by their public subclass
(`typer.BadParameter`) and by their class names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

# The base of every usage error typer's click raises (a missing or unknown option, …).
UsageError: type[Exception] = typer.BadParameter.__mro__[1]
USAGE = "用法："
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]…"

# A value of the wrong kind, by the type the option or argument takes.
_KIND = {"int": "整数", "float": "数字", "Path": "文件或文件夹的路径", "bool": "是或否"}
_EXTRA = re.compile(r"unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)", re.S)
_COMMAND = re.compile(r"No such command '(?P<name>.*?)'\.(?: Did you mean (?P<hint>.*)\?)?", re.S)
_NEEDS_VALUE = re.compile(r"Option '(?P<name>.*?)' requires (?:an argument|\d+ arguments)")
_NO_VALUE = re.compile(r"Option '(?P<name>.*?)' does not take a value")


def said_in_chinese(exc: Any) -> str:
    """What went wrong, in Chinese; a message not foreseen stays as click said it."""
    kind = type(exc).__name__
    if kind == "MissingParameter":
        what = "参数" if exc.param is None or exc.param.param_type_name == "argument" else "选项"
        return f"缺少{what}{_hint(exc)}"
    if kind == "NoSuchOption":
        text = f"没有选项“{exc.option_name}”"
        if exc.possibilities:
            text += "，是否想用 " + "、".join(f"“{p}”" for p in sorted(exc.possibilities)) + "？"
        return text
    if isinstance(exc, typer.BadParameter):
        wanted = _KIND.get(_type_of(exc.param), "")
        needs = f"应为{wanted}" if wanted else str(exc.message)
        return f"{_hint(exc) or '值'}的值不对：{needs}"
    message = str(exc.format_message())
    if found := _COMMAND.search(message):
        text = f"没有命令“{found['name']}”"
        if found["hint"]:
            text += f"，是否想用 {found['hint'].replace(chr(39), '“', 1)}".rstrip("'") + "”？"
        return text
    if found := _EXTRA.search(message):
        return f"多余的参数：{found['args']}"
    if found := _NEEDS_VALUE.search(message):
        return f"选项“{found['name']}”后面需要一个值"
    if found := _NO_VALUE.search(message):
        return f"选项“{found['name']}”不带值"
    if message.startswith("Missing command"):
        return "缺少命令"
    return message


def _type_of(param: Any) -> str:
    """The type a parameter takes, as typer names it (`int`, `Path`; `Path` for a list)."""
    if not hasattr(param, "bare_type"):
        return ""
    return str(param.bare_type()).removeprefix("list[").removesuffix("]")


def _hint(exc: Any) -> str:
    """The option's or argument's name as people typed it (`--jobs`, `文件`)."""
    param: Any = getattr(exc, "param", None)
    if param is None:
        return str(getattr(exc, "param_hint", "") or "")
    if param.param_type_name == "argument":
        return f"“{param.metavar or param.name}”".replace("…", "")
    return "“" + " / ".join(param.opts) + "”"


@contextmanager
def chinese_errors(ctx: Any) -> Iterator[None]:
    """Within: a usage error raised by click or typer is raised again, said in Chinese,
    with the context of the command (for its usage line) where it had none."""
    try:
        yield
    except UsageError as exc:
        if getattr(exc, "_said", False):
            raise
        where = getattr(exc, "ctx", None) or ctx
        again = UsageError(said_in_chinese(exc), ctx=where)  # type: ignore[call-arg]
        again._said = True  # type: ignore[attr-defined]
        raise again from None


def usage_line(command: Any, ctx: Any) -> str:
    """`用法：perfxl validate [选项] 文件…`"""
    pieces = " ".join(command.collect_usage_pieces(ctx)).replace("...", "…")
    return f"{USAGE}{ctx.command_path} {pieces}".rstrip()
