"""The commands on the ledger: collect an inbox into it, show who has submitted, write the
consolidated workbook and the exports."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from perfxl.checks.config import load_config
from perfxl.cli import render
from perfxl.cli.app import (
    EXIT_ERRORS,
    EXIT_OK,
    CodesetOption,
    Command,
    ConfigOption,
    JobsOption,
    LayoutOption,
    LedgerOption,
    OverallSpecOption,
    RosterOption,
    SpecCodesetOption,
    SpecOption,
    YearCallback,
    app,
    err,
    existing_ledger,
    fail,
    new_ledger,
    out,
    output_dir,
    output_file,
)
from perfxl.domain.codesets import DEFAULT_CODESET, load_codeset
from perfxl.errors import InputError, PerfxlError
from perfxl.formats.mapping import load_layout
from perfxl.formats.overall_spec import DEFAULT_OVERALL_SPEC, load_overall_spec
from perfxl.formats.roster import read_roster
from perfxl.formats.spec import DEFAULT_SPEC, load_spec
from perfxl.ledger.collect import collect
from perfxl.ledger.exports import write_details, write_published_ledger
from perfxl.ledger.processes import exclusive
from perfxl.ledger.recording import Event
from perfxl.ledger.status import department_status
from perfxl.ledger.store import Store
from perfxl.ledger.workbook import write_ledger


@app.command("collect", cls=Command)
def collect_command(
    inbox: Annotated[
        list[Path], typer.Argument(help="收到的文件：目录、文件或通配符（如 inbox/*.xlsx）。")
    ],
    roster: RosterOption = None,
    ledger: LedgerOption = "ledger.db",
    year: Annotated[
        int | None,
        typer.Option("--year", help="收集哪一年度（核对模板年度）。", callback=YearCallback),
    ] = None,
    accept_with_errors: Annotated[
        bool, typer.Option("--accept-with-errors", help="有错误的文件也计入汇总。")
    ] = False,
    jobs: JobsOption = 0,
    config: ConfigOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    overall_spec: OverallSpecOption = DEFAULT_OVERALL_SPEC,
    codeset: SpecCodesetOption = None,
    layout: LayoutOption = None,
    follow_links: Annotated[
        bool, typer.Option("--follow-links", help="也读取收件箱中指向其他位置的链接文件。")
    ] = False,
) -> None:
    """收集各单位报回的文件：逐一校验、对应到名单中的单位，记入台账。

    Read, validate and record every workbook of the inbox in the ledger. The same file twice
    changes nothing; a newer accepted file supersedes the older one; a file with errors is
    rejected. Exit code 0 when every new file was accepted, 1 when some were rejected.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    location = new_ledger(ledger)
    held = contextlib.ExitStack()  # one collect at a time on a ledger, from before it opens
    try:
        held.enter_context(exclusive(location))
        the_spec = load_spec(spec)
        the_codeset = load_codeset(codeset) if codeset else None
        the_config = load_config(config)
        entries = read_roster(roster) if roster else None
        the_layout = load_layout(layout) if layout else None
        the_overall = load_overall_spec(overall_spec)
        store = Store(location)
    except PerfxlError as exc:
        held.close()
        raise fail(exc) from exc
    counts = {"errors": 0}
    columns = (
        TextColumn("收集"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("已退回 {task.fields[errors]}"),
        TimeElapsedColumn(),
    )
    with (
        held,
        store,
        Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress,
    ):
        task = progress.add_task("collect", total=None, rate="", errors=0)
        started = time.perf_counter()

        def tick(event: Event) -> None:
            counts["errors"] += event.outcome == "rejected"
            done = progress.tasks[0].completed + 1
            rate = f"{done / max(time.perf_counter() - started, 1e-9):.1f} 个/秒"
            progress.update(task, advance=1, rate=rate, errors=counts["errors"])

        try:
            report = collect(
                inbox,
                store,
                the_codeset,
                the_config,
                the_spec,
                entries,
                year,
                accept_with_errors,
                jobs or None,
                tick,
                lambda n: progress.update(task, total=n),
                the_layout,
                the_overall,
                follow_links,
            )
        except PerfxlError as exc:
            raise fail(exc) from exc
    render.collect_report(report, location)
    raise typer.Exit(EXIT_ERRORS if report.count("rejected") else EXIT_OK)


@app.command("status", cls=Command)
def status_command(
    roster: RosterOption = None,
    ledger: LedgerOption = "ledger.db",
    year: Annotated[
        int | None, typer.Option("--year", help="只看这一年度。", callback=YearCallback)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """对照单位名单：哪些单位已接收、已退回、未提交，哪些文件来自名单之外的单位。

    Roster completeness. Exit code 0 when every roster department has an accepted submission,
    1 otherwise.
    """
    try:
        entries = read_roster(roster) if roster else None
        with Store(existing_ledger(ledger)) as store:
            report = department_status(store, entries, year)
    except PerfxlError as exc:
        raise fail(exc) from exc
    if as_json:
        render.print_json(report.to_dict())
    else:
        render.status_table(report)
    complete = all(d.complete for d in report.departments)
    raise typer.Exit(EXIT_OK if complete else EXIT_ERRORS)


@app.command("ledger", cls=Command)
def ledger_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件（.xlsx）或目录。")],
    ledger: LedgerOption = "ledger.db",
    roster: RosterOption = None,
    year: Annotated[
        int | None, typer.Option("--year", help="只汇总这一年度。", callback=YearCallback)
    ] = None,
    published: Annotated[
        bool, typer.Option("--published", help="按官方公开表格式写出，每个单位一张表。")
    ] = False,
    bureau: Annotated[
        str | None,
        typer.Option("--bureau", help="与 --published 同用：写成一张全局表，此为表头的部门名称。"),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="xlsx（默认）；csv 或 parquet 写出明细表到目录。")
    ] = "xlsx",
    codeset: CodesetOption = DEFAULT_CODESET,
    config: ConfigOption = None,
) -> None:
    """写出汇总台账：汇总、部门汇总、项目明细、指标明细、校验问题、提交情况。

    Write the consolidated ledger workbook, the official published layout (--published), or
    the detail tables as CSV or Parquet (--format).
    """
    (output_dir if fmt in ("csv", "parquet") else output_file)(output)
    try:
        location = existing_ledger(ledger)
        entries = read_roster(roster) if roster else None
        with Store(location) as store:
            if fmt in ("csv", "parquet"):
                written = write_details(store, output, fmt, year)
                out.print("已写出：" + "、".join(escape(str(p)) for p in written))
            elif fmt != "xlsx":
                raise InputError(f"未知的格式“{fmt}”：可用 xlsx、csv、parquet")
            elif published:
                written = write_published_ledger(store, output, year, bureau)
                out.print("已写出公开表：" + "、".join(escape(str(p)) for p in written))
            else:
                rows = load_config(config).limits.sheet_rows
                totals = write_ledger(
                    store, output, load_codeset(codeset), entries, year, sheet_rows=rows
                )
                out.print(
                    f"已写出台账：{escape(str(output))}（项目 {totals.projects} 个，指标 "
                    f"{totals.indicators} 条，{totals.headline()}）"
                )
                if totals.sheets:
                    out.print(f"超过一张工作表的行数（{rows:,} 行）：{totals.continued()}")
    except PerfxlError as exc:
        raise fail(exc) from exc
