"""The structured workbook: one row per project (项目), one row per indicator (指标), the
issues found (问题), and what the data is (说明). perfxl writes it from any import and
reads it back, so it can stand in for the published table it came from.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.amounts import AmountError, parse_amount
from perfxl.domain.fields import PROJECT, Field
from perfxl.domain.model import (
    Department,
    Extra,
    ExtraField,
    Indicator,
    Issue,
    Project,
    ReadResult,
    TargetTable,
)
from perfxl.formats.grid import Cell, Sheet, read_sheets

MARKER = "perfxl 结构化数据"
PROJECT_SHEET, INDICATOR_SHEET, ISSUE_SHEET, INFO_SHEET = "项目", "指标", "问题", "说明"
FIELD_SHEET = "字段"  # the extra fields a template spec added: entity, key, caption, type
SEQ, COUNT, RAW = "项目序号", "指标数", "无法识别的原文"
SOURCE_SHEET, SOURCE_CELL = "来源工作表", "来源单元格"
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


def write_structured(result: ReadResult, path: Path) -> Path:
    """The structured workbook of what was read: one row per project and per indicator,
    each field in its columns (domain/fields.py), the issues, and what the data is."""
    import xlsxwriter

    table = result.table
    fields = table.fields("project").modelled
    indicator_fields = table.fields("indicator").modelled
    money = {t for f in (*fields, *indicator_fields) if f.is_money for t in f.titles}
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    try:
        head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        money_format = workbook.add_format({"num_format": "#,##0.00"})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})

        def sheet(name: str, headers: list[str], rows: list[list[Any]]) -> None:
            ws = workbook.add_worksheet(name)
            for c, label in enumerate(headers):
                ws.write_string(0, c, label, head)
                wide = label in (PROJECT["goal"].title, "说明")
                ws.set_column(c, c, 50 if wide else 14, wrap if wide else None)
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    _write(ws, r, c, value, money_format if headers[c] in money else None)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)

        projects = table.projects
        sheet(
            PROJECT_SHEET,
            [SEQ, *(t for f in fields for t in f.titles), COUNT, SOURCE_SHEET, SOURCE_CELL],
            [
                [n, *_shown(fields, p), len(p.indicators), p.sheet, p.cell]
                for n, p in enumerate(projects, 1)
            ],
        )
        sheet(
            INDICATOR_SHEET,
            [SEQ, *(t for f in indicator_fields for t in f.titles), RAW, SOURCE_CELL],
            [
                [n, *_shown(indicator_fields, i), i.raw, i.cell]
                for n, p in enumerate(projects, 1)
                for i in p.indicators
            ],
        )
        sheet(
            ISSUE_SHEET,
            [h for h, _ in ISSUE_COLUMNS],
            [[getattr(issue, attr) for _, attr in ISSUE_COLUMNS] for issue in result.issues],
        )
        sheet(
            FIELD_SHEET,
            ["对象", "键", "列名", "类型"],
            [[e.entity, e.key, e.header, e.type] for e in table.extras],
        )
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


def _shown(fields: tuple[Field, ...], row: Project | Indicator) -> list[object]:
    return [v for f in fields for v in f.shown(row.get)]


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


def _amount(value: Cell) -> Decimal | None:
    try:
        return parse_amount(value)
    except AmountError:
        return None


def _values(fields: tuple[Field, ...], record: dict[str, Cell]) -> tuple[dict[str, Any], Extra]:
    """A row's model attributes and extra fields, by the fields' captions."""
    own: dict[str, Any] = {}
    extra: Extra = {}
    for field in fields:
        value = record.get(field.title)
        if field.is_money:
            parsed: Any = _amount(value)
        elif field.type == "level":
            own[f"{field.key}_label"] = _opt(record.get(field.titles[1]))
            parsed = _opt(record.get(field.titles[0]))
        else:
            parsed = _str(value) if field.key in _TEXTS else _opt(value)
        if field.extra:
            if parsed not in (None, ""):
                extra[field.key] = parsed
        else:
            own[field.key] = parsed
    return own, extra


# Attributes that are "" rather than None when blank.
_TEXTS = frozenset(
    k for model in (Project, Indicator) for k, f in model.model_fields.items() if f.default == ""
)


def read_structured(path: Path, sheets: list[Sheet] | None = None) -> ReadResult:
    """Read back a workbook written by write_structured."""
    sheets = sheets if sheets is not None else read_sheets(path)
    by_name = {s.name: s for s in sheets}
    info = {_str(r.get("项")): r.get("值") for r in _records(by_name[INFO_SHEET])}
    extras = [
        ExtraField(
            entity="indicator" if _str(r.get("对象")) == "indicator" else "project",
            key=_str(r.get("键")),
            header=_str(r.get("列名")),
            money=_str(r.get("类型")) == "amount",
        )
        for r in _records(by_name.get(FIELD_SHEET, Sheet(FIELD_SHEET, [])))
    ]
    year = _str(info.get("年度"))
    table = TargetTable(
        department=Department(code=_opt(info.get("部门编码")), name=_opt(info.get("部门名称"))),
        fiscal_year=int(year) if year.isdigit() else None,
        codeset=_opt(info.get("指标体系")),
        extras=extras,
    )
    fields = table.fields("project").modelled
    for record in _records(by_name[PROJECT_SHEET]):
        own, extra = _values(fields, record)
        table.projects.append(
            Project(
                **own,
                extra=extra,
                sheet=_opt(record.get(SOURCE_SHEET)),
                cell=_opt(record.get(SOURCE_CELL)),
            )
        )
    fields = table.fields("indicator").modelled
    for record in _records(by_name[INDICATOR_SHEET]):
        number = int(float(_str(record.get(SEQ)) or 0))
        if not 1 <= number <= len(table.projects):
            continue
        own, extra = _values(fields, record)
        table.projects[number - 1].indicators.append(
            Indicator(
                **own, extra=extra, raw=_opt(record.get(RAW)), cell=_opt(record.get(SOURCE_CELL))
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
    return ReadResult(file=str(path), kind="structured", table=table, issues=issues)
