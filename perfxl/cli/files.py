"""The commands on files: import and export a table, write the templates, validate what
comes back, list a code set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from perfxl.checks.annotate import ANNOTATABLE, annotate
from perfxl.checks.config import load_config
from perfxl.checks.validate import expand, reports_to_dict, validate_file
from perfxl.cli import render
from perfxl.cli.app import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_UNUSABLE,
    CodesetOption,
    Command,
    ConfigOption,
    LayoutOption,
    OverallSpecOption,
    ReadCodesetOption,
    SpecCodesetOption,
    SpecOption,
    YearCallback,
    app,
    err,
    fail,
    next_year,
    out,
    output_dir,
    output_file,
    output_path,
)
from perfxl.domain.codesets import DEFAULT_CODESET, load_codeset
from perfxl.domain.model import Department, ReadResult
from perfxl.errors import InputError, PerfxlError
from perfxl.formats.detect import read_any
from perfxl.formats.mapping import load_layout
from perfxl.formats.overall_published import write_overall_published
from perfxl.formats.overall_spec import DEFAULT_OVERALL_SPEC, load_overall_spec
from perfxl.formats.published_writer import write_published
from perfxl.formats.roster import read_roster
from perfxl.formats.spec import DEFAULT_SPEC, load_spec
from perfxl.formats.structured import write_structured
from perfxl.formats.template_frame import Expected
from perfxl.formats.template_writer import TemplateOptions
from perfxl.formats.templates import write_templates


@app.command("import", cls=Command)
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="项目支出绩效目标表（公开表、指标明细表、项目申报表、perfxl 模板等），"
            ".xlsx、.xls、.ods、.csv、.tsv、.txt 或 .json；也可以是目录。",
            show_default=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出到标准输出。")] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="写出结构化工作簿（.xlsx；只读一个文件时）。"),
    ] = None,
    codeset: ReadCodesetOption = None,
    layout: LayoutOption = None,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """读入项目支出绩效目标表，识别其格式，转为结构化数据，并报告发现的问题。

    Read tables of any layout perfxl knows into structured data, say which layout each
    was, and report what is wrong in it. Several files or a folder: a table of file,
    layout, projects, indicators and total. Exit code 0: no errors; 1: errors found; 2: a
    file could not be read.
    """
    output_file(output)
    try:
        paths = expand(files)
        if not paths:
            raise InputError("没有找到要读入的文件")
        if output is not None and len(paths) > 1:
            raise InputError("-o 只能用于一个文件")
        given = load_codeset(codeset) if codeset else None
        the_layout = load_layout(layout) if layout else None
        the_spec = load_spec(spec)
    except PerfxlError as exc:
        raise fail(exc) from exc
    results: list[ReadResult] = []
    unreadable: list[tuple[Path, str]] = []
    for path in paths:
        try:
            results.append(read_any(path, given, the_spec, layout=the_layout))
        except PerfxlError as exc:
            if len(paths) == 1:
                raise fail(exc) from exc
            unreadable.append((path, str(exc)))
    if output is not None:
        try:
            write_structured(results[0], output)
        except PerfxlError as exc:
            raise fail(exc) from exc
    if len(paths) == 1:
        if as_json:
            render.print_json(results[0].to_dict())
        else:
            render.read_summary(results[0])
            if output is not None:
                out.print(f"已写出：{escape(str(output))}")
    elif as_json:
        render.print_json(
            {
                "files": [r.summary() for r in results],
                "unreadable": [{"file": str(p), "reason": why} for p, why in unreadable],
            }
        )
    else:
        render.read_table(results, unreadable)
    if unreadable:
        raise typer.Exit(EXIT_UNUSABLE)
    raise typer.Exit(EXIT_ERRORS if any(r.errors for r in results) else EXIT_OK)


@app.command("export", cls=Command)
def export(
    source: Annotated[
        Path, typer.Argument(help="结构化数据：import 写出的 .xlsx 或 .json，或一张公开表。")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件（.xlsx）。")],
    published: Annotated[
        bool, typer.Option("--published", help="按官方公开表格式写出（默认写结构化工作簿）。")
    ] = False,
    codeset: ReadCodesetOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    layout: LayoutOption = None,
) -> None:
    """把结构化数据写成官方公开表格式（--published）或结构化工作簿。

    Write structured data in the official published layout (--published) or as a
    structured workbook.
    """
    output_file(output)
    try:
        given = load_codeset(codeset) if codeset else None
        the_layout = load_layout(layout) if layout else None
        result = read_any(source, given, load_spec(spec), layout=the_layout)
        if result.overall is not None:  # a department-wide table: its own official layout
            write_overall_published([result.overall], output)
        elif published:
            write_published(result.table, output, result.table.fields("project"))
        else:
            write_structured(result, output)
    except PerfxlError as exc:
        raise fail(exc) from exc
    if result.issues:  # what the source says that does not add up is written as it was: said
        out.print(render.issue_table(result.issues))
    if result.overall is not None:
        o = result.overall
        out.print(f"已写出部门整体绩效目标表：{escape(str(output))}（重点任务 {len(o.tasks)} 项，"
                  f"指标 {len(o.indicators)} 条）")  # fmt: skip
        return
    out.print(
        f"已写出：{escape(str(output))}（项目 {len(result.table.projects)} 个，"
        f"指标 {result.table.indicator_count} 条）"
    )


@app.command("template", cls=Command)
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
    year: Annotated[
        int,
        typer.Option("--year", help="预算年度。", callback=YearCallback, show_default="明年"),
    ] = 0,
    prefill: Annotated[
        list[Path] | None,
        typer.Option("--prefill", help="用上年数据预填：公开表、import 写出的文件等，可多次给出。"),
    ] = None,
    form: Annotated[
        str,
        typer.Option(
            "--form",
            help="生成哪种模板：project（项目支出，默认）、department（部门整体）"
            "或 both（两种都生成）。",
        ),
    ] = "project",
    spec: SpecOption = DEFAULT_SPEC,
    overall_spec: OverallSpecOption = DEFAULT_OVERALL_SPEC,
    layout: LayoutOption = None,
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
    """生成锁定的填报模板（项目支出、部门整体，或两种）：下拉选项、二级指标随一级联动、
    金额校验、工作表保护。

    Write locked templates, project and/or department-wide: one per roster department,
    or one.
    """
    if form not in ("project", "department", "both"):
        raise fail(InputError(f"未知的模板种类“{form}”：可用 project、department、both"))
    output_path(output)
    try:
        the_spec = load_spec(spec)
        the_codeset = load_codeset(codeset or the_spec.codeset)
        the_overall = load_overall_spec(overall_spec) if form != "project" else None
        entries = read_roster(roster) if roster else None
        given = load_codeset(codeset) if codeset else None
        the_layout = load_layout(layout) if layout else None
        read = [read_any(path, given, the_spec, layout=the_layout, overall_spec=the_overall)
                for path in prefill or []]  # fmt: skip
        options = TemplateOptions(
            year=year or next_year(), password=password, deadline=deadline, contact=contact
        )
        run = write_templates(
            output,
            the_spec,
            the_codeset,
            options,
            entries,
            [r.table for r in read if r.overall is None],
            Department(code=department_code, name=department_name),
            form,  # type: ignore[arg-type]  # checked above
            (the_overall, load_codeset(codeset or the_overall.codeset)) if the_overall else None,
            [r.overall for r in read if r.overall is not None],
        )
    except PerfxlError as exc:
        raise fail(exc) from exc
    where = output if roster else run.files[0]
    out.print(f"已生成 {len(run.files)} 个模板（{options.year}年度）：{escape(str(where))}")
    for name, source in run.prefilled.items():
        out.print(f"  {escape(Path(name).stem)} 已用上年数据预填（{escape(str(source))}）")
    for name in run.unmatched:
        err.print(f"[yellow]提示：[/]预填数据“{escape(str(name))}”与名单中的单位都对不上，未使用")


@app.command("validate", cls=Command)
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
    overall_spec: OverallSpecOption = DEFAULT_OVERALL_SPEC,
    layout: LayoutOption = None,
    codeset: SpecCodesetOption = None,
    year: Annotated[
        int | None, typer.Option("--year", help="应为哪一年度的模板。", callback=YearCallback)
    ] = None,
    department: Annotated[
        str | None, typer.Option("--department", help="应为哪个单位（编码）的模板。")
    ] = None,
) -> None:
    """校验填报的工作簿：一次找出所有问题，逐一指明单元格并说明如何修改。

    Validate filled workbooks. Exit code 0: no errors; 1: errors found; 2: a file could
    not be read (the others are still checked).
    """
    if fmt not in ("table", "json", "csv"):
        raise fail(InputError(f"未知的输出格式“{fmt}”：可用 table、json、csv"))
    output_dir(annotate_dir)
    try:
        the_spec = load_spec(spec)
        the_codeset = load_codeset(codeset) if codeset else None
        the_config = load_config(config)
        paths = expand(files)
        if not paths:
            raise InputError("没有找到要校验的文件")
        expected = Expected(department_code=department, year=year)
        the_layout = load_layout(layout) if layout else None
        the_overall = load_overall_spec(overall_spec)
        reports = []
        bar = (TextColumn("校验"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*bar, console=err, transient=True,
                      disable=not err.is_terminal or len(paths) < 2) as progress:  # fmt: skip
            task = progress.add_task("validate", total=len(paths))
            for p in paths:
                report = validate_file(p, the_codeset, the_config, the_spec, expected,
                                       layout=the_layout, overall_spec=the_overall)  # fmt: skip
                reports.append(report)
                progress.advance(task)
    except PerfxlError as exc:
        raise fail(exc) from exc
    if fmt == "json":
        render.print_json(reports_to_dict(reports))
    elif fmt == "csv":
        render.issues_csv(reports)
    else:
        render.reports_table(reports)
    if annotate_dir is not None:
        for report in reports:
            path = Path(report.file)
            if not report.readable or path.suffix.lower() not in ANNOTATABLE:
                continue
            try:
                rows = report.data_rows() if report.kind == "template" else None
                written = annotate(path, report.issues, annotate_dir, rows)
            except PerfxlError as exc:
                err.print(f"[yellow]未生成标注副本：[/]{escape(str(exc))}")
                continue
            if fmt == "table":
                out.print(f"标注副本：{escape(str(written))}")
    if any(not r.readable for r in reports):
        raise typer.Exit(EXIT_UNUSABLE)
    raise typer.Exit(EXIT_ERRORS if any(r.errors for r in reports) else EXIT_OK)


@app.command("codes", cls=Command)
def codes(codeset: CodesetOption = DEFAULT_CODESET) -> None:
    """列出指标体系的一级、二级指标代码。List the indicator codes of a code set."""
    try:
        found = load_codeset(codeset)
    except PerfxlError as exc:
        raise fail(exc) from exc
    table = Table(title=f"指标体系 {found.name}：{found.title}")
    for column in ("一级代码", "一级指标", "二级代码", "二级指标"):
        table.add_column(column)
    for level1 in found.level1:
        for n, level2 in enumerate(found.children(level1.code)):
            first = (level1.code, level1.label) if n == 0 else ("", "")
            table.add_row(*first, level2.code, level2.label)
    out.print(table)
