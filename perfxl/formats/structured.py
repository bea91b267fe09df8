"""The structured workbook: one row per project (项目), one row per indicator (指标), the
issues found (问题), and what the data is (说明). perfxl writes it from any import and
reads it back, so it can stand in for the published table it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.amounts import AmountError, parse_amount
from perfxl.domain.model import Department, Indicator, Issue, Project, ReadResult, TargetTable
from perfxl.formats.grid import Cell, Sheet, read_sheets

MARKER = "perfxl 结构化数据"
PROJECT_SHEET, INDICATOR_SHEET, ISSUE_SHEET, INFO_SHEET = "项目", "指标", "问题", "说明"

# (header, getter) per column; the reader finds columns by these headers.
PROJECT_COLUMNS: list[tuple[str, Callable[[int, Project], Any]]] = [
    ("项目序号", lambda n, p: n),
    ("项目编码", lambda n, p: p.code),
    ("项目名称", lambda n, p: p.name),
    ("资金使用单位", lambda n, p: p.unit),
    ("总计", lambda n, p: p.total),
    ("财政拨款", lambda n, p: p.fiscal),
    ("财政专户拨款", lambda n, p: p.special),
    ("其他资金", lambda n, p: p.other),
    ("绩效目标", lambda n, p: p.goal),
    ("指标数", lambda n, p: len(p.indicators)),
    ("来源工作表", lambda n, p: p.sheet),
    ("来源单元格", lambda n, p: p.cell),
]
INDICATOR_COLUMNS: list[tuple[str, Callable[[int, Indicator], Any]]] = [
    ("项目序号", lambda n, i: n),
    ("一级指标代码", lambda n, i: i.level1),
    ("一级指标", lambda n, i: i.level1_label),
    ("二级指标代码", lambda n, i: i.level2),
    ("二级指标", lambda n, i: i.level2_label),
    ("三级指标", lambda n, i: i.name),
    ("实施周期指标值", lambda n, i: i.period),
    ("实施周期计算符号", lambda n, i: i.period_value.operator),
    ("实施周期数值", lambda n, i: i.period_value.number),
    ("实施周期计量单位", lambda n, i: i.period_value.unit),
    ("年度指标值", lambda n, i: i.annual),
    ("年度计算符号", lambda n, i: i.annual_value.operator),
    ("年度数值", lambda n, i: i.annual_value.number),
    ("年度计量单位", lambda n, i: i.annual_value.unit),
    ("无法识别的原文", lambda n, i: i.raw),
    ("来源单元格", lambda n, i: i.cell),
]
ISSUE_COLUMNS: list[tuple[str, str]] = [
    ("文件", "file"),
    ("工作表", "sheet"),
    ("单元格", "cell"),
    ("行", "row"),
    ("列", "column"),
    ("代码", "code"),
    ("级别", "severity"),
    ("说明", "message"),
    ("原值", "value"),
    ("修改建议", "hint"),
]
AMOUNT_HEADERS = frozenset({"总计", "财政拨款", "财政专户拨款", "其他资金"})
NUMBER_HEADERS = frozenset({"实施周期数值", "年度数值"})


def write_structured(result: ReadResult, path: Path) -> Path:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        money = workbook.add_format({"num_format": "#,##0.00"})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

        def sheet(name: str, headers: list[str], rows: list[list[Any]]) -> None:
            ws = workbook.add_worksheet(name)
            for c, label in enumerate(headers):
                ws.write_string(0, c, label, head)
                ws.set_column(c, c, 40 if label in {"绩效目标", "说明"} else 14)
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    _write(ws, r, c, value, money if headers[c] in AMOUNT_HEADERS else None)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
            if name == PROJECT_SHEET:
                ws.set_column(headers.index("绩效目标"), headers.index("绩效目标"), 50, wrap)

        projects = result.table.projects
        sheet(
            PROJECT_SHEET,
            [h for h, _ in PROJECT_COLUMNS],
            [[get(n, p) for _, get in PROJECT_COLUMNS] for n, p in enumerate(projects, 1)],
        )
        sheet(
            INDICATOR_SHEET,
            [h for h, _ in INDICATOR_COLUMNS],
            [
                [get(n, i) for _, get in INDICATOR_COLUMNS]
                for n, p in enumerate(projects, 1)
                for i in p.indicators
            ],
        )
        sheet(
            ISSUE_SHEET,
            [h for h, _ in ISSUE_COLUMNS],
            [[getattr(issue, attr) for _, attr in ISSUE_COLUMNS] for issue in result.issues],
        )
        table = result.table
        sheet(
            INFO_SHEET,
            ["项", "值"],
            [
                ["格式", MARKER],
                ["部门编码", table.department.code],
                ["部门名称", table.department.name],
                ["年度", table.fiscal_year],
                ["指标体系", table.codeset],
                ["来源文件", result.file],
                ["来源格式", result.kind],
                ["项目数", len(projects)],
                ["指标数", table.indicator_count],
            ],
        )
    finally:
        workbook.close()
    return path


def _write(ws: Any, r: int, c: int, value: Any, money: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, Decimal):
        ws.write_number(r, c, float(value), money)  # Excel stores numbers as doubles
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int):
        ws.write_number(r, c, value)
    else:
        # write_string: user text beginning with `=` must never become a formula.
        ws.write_string(r, c, str(value))


def is_structured(sheets: list[Sheet]) -> bool:
    info = next((s for s in sheets if s.name == INFO_SHEET), None)
    return info is not None and any(MARKER in str(v) for row in info.rows for v in row)


def _records(sheet: Sheet) -> list[dict[str, Cell]]:
    if not sheet.rows:
        return []
    headers = [str(h or "").strip() for h in sheet.rows[0]]
    return [
        dict(zip(headers, row, strict=False))
        for row in sheet.rows[1:]
        if any(v not in (None, "") for v in row)
    ]


def _str(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _opt(value: Cell) -> str | None:
    return _str(value) or None


def read_structured(path: Path, sheets: list[Sheet] | None = None) -> ReadResult:
    """Read back a workbook written by write_structured."""
    sheets = sheets if sheets is not None else read_sheets(path)
    by_name = {s.name: s for s in sheets}
    info = {_str(r.get("项")): r.get("值") for r in _records(by_name[INFO_SHEET])}
    projects: list[Project] = []
    for record in _records(by_name[PROJECT_SHEET]):
        amounts: dict[str, Decimal | None] = {}
        for key, header in (
            ("total", "总计"),
            ("fiscal", "财政拨款"),
            ("special", "财政专户拨款"),
            ("other", "其他资金"),
        ):
            try:
                amounts[key] = parse_amount(record.get(header))
            except AmountError:
                amounts[key] = None
        projects.append(
            Project(
                code=_opt(record.get("项目编码")),
                name=_str(record.get("项目名称")),
                unit=_opt(record.get("资金使用单位")),
                goal=_str(record.get("绩效目标")),
                sheet=_opt(record.get("来源工作表")),
                cell=_opt(record.get("来源单元格")),
                **amounts,
            )
        )
    for record in _records(by_name[INDICATOR_SHEET]):
        number = int(float(_str(record.get("项目序号")) or 0))
        if not 1 <= number <= len(projects):
            continue
        projects[number - 1].indicators.append(
            Indicator(
                level1=_opt(record.get("一级指标代码")),
                level1_label=_opt(record.get("一级指标")),
                level2=_opt(record.get("二级指标代码")),
                level2_label=_opt(record.get("二级指标")),
                name=_str(record.get("三级指标")),
                period=_str(record.get("实施周期指标值")),
                annual=_str(record.get("年度指标值")),
                raw=_opt(record.get("无法识别的原文")),
                cell=_opt(record.get("来源单元格")),
            )
        )
    issues = [
        Issue.model_validate(
            {
                attr: (
                    _opt(r.get(h))
                    if attr != "row"
                    else (int(float(_str(r.get(h)))) if r.get(h) else None)
                )
                for h, attr in ISSUE_COLUMNS
            }
        )
        for r in _records(by_name.get(ISSUE_SHEET, Sheet(ISSUE_SHEET, [])))
    ]
    year = _str(info.get("年度"))
    table = TargetTable(
        department=Department(code=_opt(info.get("部门编码")), name=_opt(info.get("部门名称"))),
        fiscal_year=int(year) if year.isdigit() else None,
        codeset=_opt(info.get("指标体系")),
        projects=projects,
    )
    return ReadResult(file=str(path), kind="structured", table=table, issues=issues)
