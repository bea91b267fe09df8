"""The command line, a thin adapter over the library: each command calls one library
function, renders its result, and maps failures to an exit code (cli/app.py)."""

from __future__ import annotations

import sys

from rich.markup import escape

from perfxl.cli import files, ledger, web  # noqa: F401  (their commands join the app)
from perfxl.cli.app import EXIT_UNUSABLE, app, err
from perfxl.errors import PerfxlError

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except PerfxlError as exc:  # a library error that escaped a command
        err.print(f"[red]错误：[/]{escape(str(exc))}")
        sys.exit(EXIT_UNUSABLE)
