"""The command line. Each command calls one library function, renders its result, and
maps failures to an exit code: 0 nothing wrong, 1 errors found in the data, 2 a file or an
argument could not be used at all."""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from perfxl import __version__
from perfxl.checks.annotate import ANNOTATABLE, annotate
from perfxl.checks.config import load_config
from perfxl.checks.validate import FileReport, expand, validate_file
from perfxl.domain.codesets import DEFAULT_CODESET, load_codeset
from perfxl.domain.model import Department, Issue, ReadResult
from perfxl.errors import InputError, PerfxlError
from perfxl.formats.published import read_published, write_published
from perfxl.formats.roster import read_roster
from perfxl.formats.spec import DEFAULT_SPEC, load_spec
from perfxl.formats.structured import write_structured
from perfxl.formats.template_reader import Expected, read_any
from perfxl.formats.template_writer import TemplateOptions, write_templates
from perfxl.ledger.collect import Event, collect, keep_freed_memory
from perfxl.ledger.store import Store
from perfxl.ledger.workbook import (
    STATUS_TEXT,
    csv_safe,
    department_status,
    write_details,
    write_ledger,
    write_published_ledger,
)

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


SpecOption = Annotated[str, typer.Option("--spec", help="模板定义：department，或 TOML 文件路径。")]
SpecCodesetOption = Annotated[
    str | None, typer.Option("--codeset", help="指标体系（默认取模板定义中的设置）。")
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="配置文件（默认当前目录的 perfxl.toml）。")
]


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


def _issue_table(issues: list[Issue]) -> Table:
    table = Table(title=f"发现的问题（{len(issues)}）", show_lines=False)
    for column in ("级别", "位置", "代码", "说明"):
        table.add_column(column, overflow="fold")
    for issue in issues:
        where = "!".join(x for x in (issue.sheet, issue.cell) if x) or (
            f"第{issue.row}行" if issue.row else ""
        )
        level = "[red]错误[/]" if issue.severity == "error" else "[yellow]提示[/]"
        table.add_row(level, where, issue.code, issue.message)
    return table


def _summary(result: ReadResult) -> None:
    table = result.table
    kinds = {
        "published": "公开表",
        "structured": "perfxl 结构化数据",
        "json": "JSON",
        "template": "perfxl 模板",
        "plain": "普通工作表",
    }
    out.print(f"[bold]{result.file}[/]（{kinds[result.kind]}）")
    out.print(
        f"部门：{table.department.name or '（未知）'}　项目 {len(table.projects)} 个　"
        f"指标 {table.indicator_count} 条　错误 {len(result.errors)}　提示 {len(result.warnings)}"
    )
    if result.issues:
        out.print(_issue_table(result.issues))


def result_json(result: ReadResult) -> str:
    table = result.table
    data = {
        "file": result.file,
        "kind": result.kind,
        "department": table.department.model_dump(mode="json"),
        "fiscal_year": table.fiscal_year,
        "codeset": table.codeset,
        "projects": [p.model_dump(mode="json") for p in table.projects],
        "issues": [i.model_dump(mode="json", exclude_none=True) for i in result.issues],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _fail(exc: PerfxlError) -> typer.Exit:
    err.print(f"[red]错误：[/]{exc}")
    return typer.Exit(EXIT_UNUSABLE)


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="公开的项目支出绩效目标表：.xlsx、.csv、.tsv 或 .txt。")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出到标准输出。")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="写出结构化工作簿（.xlsx）。")
    ] = None,
    codeset: CodesetOption = DEFAULT_CODESET,
) -> None:
    """读入公开的项目支出绩效目标表，转为结构化数据，并报告发现的问题。

    Read a published project table into structured data and report what is wrong in it.
    Exit code 0: no errors; 1: errors found; 2: the file could not be read.
    """
    try:
        result = read_published(file, load_codeset(codeset))
        if output is not None:
            write_structured(result, output)
    except PerfxlError as exc:
        raise _fail(exc) from exc
    if as_json:
        sys.stdout.write(result_json(result) + "\n")
    else:
        _summary(result)
        if output is not None:
            out.print(f"已写出：{output}")
    raise typer.Exit(EXIT_ERRORS if result.errors else EXIT_OK)


@app.command("export")
def export(
    source: Annotated[
        Path, typer.Argument(help="结构化数据：import 写出的 .xlsx 或 .json，或一张公开表。")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件（.xlsx）。")],
    published: Annotated[
        bool, typer.Option("--published", help="按官方公开表格式写出（默认写结构化工作簿）。")
    ] = False,
    codeset: CodesetOption = DEFAULT_CODESET,
) -> None:
    """把结构化数据写成官方公开表格式（--published）或结构化工作簿。

    Write structured data in the official published layout (--published) or as a
    structured workbook.
    """
    try:
        result = read_any(source, load_codeset(codeset))
        if published:
            write_published(result.table, output)
        else:
            write_structured(result, output)
    except PerfxlError as exc:
        raise _fail(exc) from exc
    out.print(
        f"已写出：{output}（项目 {len(result.table.projects)} 个，"
        f"指标 {result.table.indicator_count} 条）"
    )


def _next_year() -> int:
    return date.today().year + 1


@app.command("template")
def template(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="输出目录（有名单时），或 .xlsx 文件路径。")
    ],
    roster: Annotated[
        Path | None,
        typer.Option(
            "--roster",
            help="单位名单（CSV 或 xlsx）：code,name,parent,contact 或 "
            "单位编码,单位名称,主管部门,联系人。每个单位生成一个模板。",
        ),
    ] = None,
    year: Annotated[int, typer.Option("--year", help="预算年度（默认明年）。")] = 0,
    prefill: Annotated[
        list[Path] | None,
        typer.Option("--prefill", help="用上年数据预填：公开表、import 写出的文件等，可多次给出。"),
    ] = None,
    spec: SpecOption = DEFAULT_SPEC,
    codeset: SpecCodesetOption = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="PERFXL_PASSWORD",
            show_envvar=True,
            help="工作表保护密码（不会显示或写入日志）。",
        ),
    ] = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="填报截止时间。")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="财务部门联系人。")] = None,
    department_code: Annotated[
        str | None, typer.Option("--department-code", help="无名单时：单位编码。")
    ] = None,
    department_name: Annotated[
        str | None, typer.Option("--department-name", help="无名单时：单位名称。")
    ] = None,
) -> None:
    """生成锁定的部门填报模板：下拉选项、二级指标随一级联动、金额校验、工作表保护。

    Write locked department templates: one per roster department, or one.
    """
    try:
        the_spec = load_spec(spec)
        the_codeset = load_codeset(codeset or the_spec.codeset)
        entries = read_roster(roster) if roster else None
        tables = [read_any(path, the_codeset).table for path in prefill or []]
        options = TemplateOptions(
            year=year or _next_year(), password=password, deadline=deadline, contact=contact
        )
        run = write_templates(
            output,
            the_spec,
            the_codeset,
            options,
            entries,
            tables,
            Department(code=department_code, name=department_name),
        )
    except PerfxlError as exc:
        raise _fail(exc) from exc
    where = output if roster else run.files[0]
    out.print(f"已生成 {len(run.files)} 个模板（{options.year}年度）：{where}")
    for code, source in run.prefilled.items():
        out.print(f"  {code or '模板'} 已用上年数据预填（{source}）")
    for name in run.unmatched:
        err.print(f"[yellow]提示：[/]预填数据“{name}”与名单中的单位都对不上，未使用")


ISSUE_FIELDS = (
    "file",
    "sheet",
    "cell",
    "row",
    "column",
    "code",
    "severity",
    "message",
    "value",
    "hint",
)


def _write_reports(reports: list[FileReport], fmt: str) -> None:
    issues = [i for r in reports for i in r.issues]
    if fmt == "json":
        data = {
            "files": [
                {
                    "file": r.file,
                    "kind": r.kind,
                    "readable": r.readable,
                    "projects": len(r.table.projects) if r.table else 0,
                    "indicators": r.table.indicator_count if r.table else 0,
                    "errors": r.errors,
                    "warnings": r.warnings,
                }
                for r in reports
            ],
            "issues": [{k: getattr(i, k) for k in ISSUE_FIELDS} for i in issues],
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(ISSUE_FIELDS)
        for issue in issues:
            writer.writerow([csv_safe(getattr(issue, k)) for k in ISSUE_FIELDS])
    else:
        kinds = {
            "template": "模板",
            "plain": "普通工作表",
            "published": "公开表",
            "structured": "结构化数据",
            "json": "JSON",
            None: "无法读取",
        }
        summary = Table(title=f"校验了 {len(reports)} 个文件")
        for column in ("文件", "类型", "项目", "指标", "错误", "提示"):
            summary.add_column(column, overflow="fold")
        for r in reports:
            summary.add_row(
                r.file,
                kinds.get(r.kind, r.kind or ""),
                str(len(r.table.projects)) if r.table else "-",
                str(r.table.indicator_count) if r.table else "-",
                f"[red]{r.errors}[/]" if r.errors else "0",
                str(r.warnings),
            )
        out.print(summary)
        for r in reports:
            if r.issues:
                out.print(f"\n[bold]{r.file}[/]")
                out.print(_issue_table(r.issues))


@app.command("validate")
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(help="要校验的文件或目录（目录中的 .xlsx/.xls/.csv 等全部校验）。"),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="输出格式：table（默认）、json 或 csv。")
    ] = "table",
    annotate_dir: Annotated[
        Path | None,
        typer.Option("--annotate", help="把标注了问题的副本写到此目录（原文件不会被修改）。"),
    ] = None,
    config: ConfigOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    codeset: SpecCodesetOption = None,
    year: Annotated[int | None, typer.Option("--year", help="应为哪一年度的模板。")] = None,
    department: Annotated[
        str | None, typer.Option("--department", help="应为哪个单位（编码）的模板。")
    ] = None,
) -> None:
    """校验填报的工作簿：一次找出所有问题，逐一指明单元格并说明如何修改。

    Validate filled workbooks. Exit code 0: no errors; 1: errors found; 2: a file could
    not be read (the others are still checked).
    """
    if fmt not in ("table", "json", "csv"):
        raise _fail(InputError(f"未知的输出格式“{fmt}”：可用 table、json、csv"))
    try:
        the_spec = load_spec(spec)
        the_codeset = load_codeset(codeset or the_spec.codeset)
        the_config = load_config(config)
        paths = expand(files)
        if not paths:
            raise InputError("没有找到要校验的文件")
        expected = Expected(department_code=department, year=year)
        reports = [validate_file(p, the_codeset, the_config, the_spec, expected) for p in paths]
    except PerfxlError as exc:
        raise _fail(exc) from exc
    _write_reports(reports, fmt)
    if annotate_dir is not None:
        for report in reports:
            path = Path(report.file)
            if not report.readable or path.suffix.lower() not in ANNOTATABLE:
                continue
            try:
                written = annotate(path, report.issues, annotate_dir)
            except PerfxlError as exc:
                err.print(f"[yellow]未生成标注副本：[/]{exc}")
                continue
            if fmt == "table":
                out.print(f"标注副本：{written}")
    if any(not r.readable for r in reports):
        raise typer.Exit(EXIT_UNUSABLE)
    raise typer.Exit(EXIT_ERRORS if any(r.errors for r in reports) else EXIT_OK)


LedgerOption = Annotated[Path, typer.Option("--ledger", help="台账数据库（SQLite）。")]
RosterOption = Annotated[Path | None, typer.Option("--roster", help="单位名单（CSV 或 xlsx）。")]


@app.command("collect")
def collect_command(
    inbox: Annotated[
        list[Path], typer.Argument(help="收到的文件：目录、文件或通配符（如 inbox/*.xlsx）。")
    ],
    roster: RosterOption = None,
    ledger: LedgerOption = Path("ledger.db"),
    year: Annotated[
        int | None, typer.Option("--year", help="收集哪一年度（核对模板年度）。")
    ] = None,
    accept_with_errors: Annotated[
        bool, typer.Option("--accept-with-errors", help="有错误的文件也计入汇总。")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", help="并行读取的进程数（默认全部核心）。")] = 0,
    config: ConfigOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    codeset: SpecCodesetOption = None,
) -> None:
    """收集各单位报回的文件：逐一校验、对应到名单中的单位，记入台账。

    Read, validate and record every workbook of the inbox in the ledger. The same file twice
    changes nothing; a newer accepted file supersedes the older one; a file with errors is
    rejected. Exit code 0 when every new file was accepted, 1 when some were rejected.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        the_spec = load_spec(spec)
        the_codeset = load_codeset(codeset or the_spec.codeset)
        the_config = load_config(config)
        entries = read_roster(roster) if roster else None
        store = Store(ledger)
    except PerfxlError as exc:
        raise _fail(exc) from exc
    counts = {"errors": 0}
    columns = (
        TextColumn("收集"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("错误 {task.fields[errors]}"),
        TimeElapsedColumn(),
    )
    with (
        store,
        Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress,
    ):
        task = progress.add_task("collect", total=None, rate="", errors=0)
        started = time.perf_counter()

        def tick(event: Event) -> None:
            counts["errors"] += event.errors
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
            )
        except PerfxlError as exc:
            raise _fail(exc) from exc
    table = Table(title=f"收集了 {len(report.events)} 个文件")
    for column in ("文件", "单位", "结果", "错误", "提示"):
        table.add_column(column, overflow="fold")
    outcome = {
        "accepted": "[green]已接收[/]",
        "rejected": "[red]已退回[/]",
        "superseded": "已被替代",
        "duplicate": "重复（已有）",
    }
    for event in report.events:
        table.add_row(
            Path(event.file).name,
            event.department or "",
            outcome[event.outcome],
            str(event.errors),
            str(event.warnings),
        )
    out.print(table)
    for event in report.events:
        if event.changes:
            out.print(f"[bold]{Path(event.file).name}[/] 相对上次提交的变化：")
            for change in event.changes:
                kind = {"added": "新增", "removed": "删除", "changed": "修改"}[
                    str(change["change"])
                ]
                fields = change["fields"]
                assert isinstance(fields, dict)
                detail = "；".join(f"{k}: {v[0]} → {v[1]}" for k, v in fields.items())
                out.print(f"  {kind} {change['project']}" + (f"（{detail}）" if detail else ""))
    out.print(
        f"台账：{ledger}（已接收 {report.count('accepted')}，已退回 {report.count('rejected')}，"
        f"重复 {report.count('duplicate')}）"
    )
    raise typer.Exit(EXIT_ERRORS if report.count("rejected") else EXIT_OK)


@app.command("status")
def status_command(
    roster: RosterOption = None,
    ledger: LedgerOption = Path("ledger.db"),
    year: Annotated[int | None, typer.Option("--year", help="只看这一年度。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """对照单位名单：哪些单位已接收、已退回、未提交，哪些文件来自名单之外的单位。

    Roster completeness. Exit code 0 when every roster department has an accepted submission,
    1 otherwise.
    """
    try:
        entries = read_roster(roster) if roster else None
        if not ledger.is_file():
            raise InputError(f"台账 {ledger} 不存在：请先运行 perfxl collect")
        with Store(ledger) as store:
            report = department_status(store, entries, year)
    except PerfxlError as exc:
        raise _fail(exc) from exc
    if as_json:
        data = {
            "departments": [
                {
                    "code": d.code,
                    "name": d.name,
                    "status": d.status,
                    "file": d.submission.file_name if d.submission else None,
                    "projects": d.projects,
                    "indicators": d.indicators,
                    "errors": d.errors,
                    "warnings": d.warnings,
                    "amounts": {k: str(v) for k, v in d.amounts.items()},
                }
                for d in report.departments
            ],
            "unknown": [
                {
                    "file": s.file_name,
                    "department": s.file_department_name or s.file_department_code,
                }
                for s in report.unknown
            ],
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table(title="提交情况")
        for column in ("单位编码", "单位名称", "状态", "项目", "总计（万元）", "错误", "文件"):
            table.add_column(column, overflow="fold")
        colours = {"accepted": "green", "rejected": "red", "missing": "yellow"}
        for d in report.departments:
            table.add_row(
                d.code,
                d.name,
                f"[{colours[d.status]}]{STATUS_TEXT[d.status]}[/]",
                str(d.projects),
                f"{d.amounts['total']:,.2f}",
                str(d.errors),
                d.submission.file_name if d.submission else "",
            )
        out.print(table)
        for s in report.unknown:
            out.print(
                f"[yellow]不在名单的单位[/]：{s.file_name}（文件中的单位："
                f"{s.file_department_name or s.file_department_code or '未写明'}）"
            )
        out.print(
            f"已接收 {report.count('accepted')}，已退回 {report.count('rejected')}，"
            f"未提交 {report.count('missing')}，名单外 {len(report.unknown)}"
        )
    complete = all(d.status == "accepted" for d in report.departments)
    raise typer.Exit(EXIT_OK if complete else EXIT_ERRORS)


@app.command("ledger")
def ledger_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件（.xlsx）或目录。")],
    ledger: LedgerOption = Path("ledger.db"),
    roster: RosterOption = None,
    year: Annotated[int | None, typer.Option("--year", help="只汇总这一年度。")] = None,
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
) -> None:
    """写出汇总台账：汇总、部门汇总、项目明细、指标明细、校验问题、提交情况。

    Write the consolidated ledger workbook, the official published layout (--published), or
    the detail tables as CSV or Parquet (--format).
    """
    try:
        if not ledger.is_file():
            raise InputError(f"台账 {ledger} 不存在：请先运行 perfxl collect")
        entries = read_roster(roster) if roster else None
        with Store(ledger) as store:
            if fmt in ("csv", "parquet"):
                written = write_details(store, output, fmt, year)
                out.print("已写出：" + "、".join(str(p) for p in written))
            elif fmt != "xlsx":
                raise InputError(f"未知的格式“{fmt}”：可用 xlsx、csv、parquet")
            elif published:
                write_published_ledger(store, output, year, bureau)
                out.print(f"已写出公开表：{output}")
            else:
                totals = write_ledger(store, output, load_codeset(codeset), entries, year)
                out.print(
                    f"已写出台账：{output}（项目 {totals.projects} 个，指标 "
                    f"{totals.indicators} 条，总计 {totals.amounts['total']:,.2f} 万元）"
                )
    except PerfxlError as exc:
        raise _fail(exc) from exc


@app.command("codes")
def codes(codeset: CodesetOption = DEFAULT_CODESET) -> None:
    """列出指标体系的一级、二级指标代码。List the indicator codes of a code set."""
    try:
        found = load_codeset(codeset)
    except PerfxlError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"指标体系 {found.name}：{found.title}")
    for column in ("一级代码", "一级指标", "二级代码", "二级指标"):
        table.add_column(column)
    for level1 in found.level1:
        for n, level2 in enumerate(found.children(level1.code)):
            first = (level1.code, level1.label) if n == 0 else ("", "")
            table.add_row(*first, level2.code, level2.label)
    out.print(table)


def main() -> None:
    keep_freed_memory()  # the command reads file after file: validate, collect --jobs 1
    try:
        app()
    except PerfxlError as exc:  # a library error that escaped a command
        err.print(f"[red]错误：[/]{exc}")
        sys.exit(EXIT_UNUSABLE)
