"""The command line. Each command calls one library function, renders its result, and
maps failures to an exit code: 0 nothing wrong, 1 errors found in the data, 2 a file or an
argument could not be used at all."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from perfxl import __version__
from perfxl.codesets import DEFAULT_CODESET, load_codeset
from perfxl.errors import PerfxlError
from perfxl.model import Department, Issue, ReadResult
from perfxl.published import read_published, write_published
from perfxl.reader import read_any
from perfxl.roster import read_roster
from perfxl.spec import DEFAULT_SPEC, load_spec
from perfxl.structured import write_structured
from perfxl.template import TemplateOptions, write_templates

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
    spec: Annotated[
        str, typer.Option("--spec", help="模板定义：department，或 TOML 文件路径。")
    ] = DEFAULT_SPEC,
    codeset: Annotated[
        str | None, typer.Option("--codeset", help="指标体系（默认取模板定义中的设置）。")
    ] = None,
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
    try:
        app()
    except PerfxlError as exc:  # a library error that escaped a command
        err.print(f"[red]错误：[/]{exc}")
        sys.exit(EXIT_UNUSABLE)
