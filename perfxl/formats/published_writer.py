"""The published project table (项目支出绩效目标表) written in the official layout: title,
部门名称, 单位：万元, the header, 合计, 资金使用单位 subtotals, and the projects with their
indicators packed into one cell. Fields a template spec added get columns of their own:
amounts after the registry's, text after 绩效指标."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain import packed
from perfxl.domain.amounts import ZERO
from perfxl.domain.fields import PROJECT, Field, Fields
from perfxl.domain.model import Project, TargetTable
from perfxl.errors import FileError

TITLE = "项目支出绩效目标表"


def _unit_groups(projects: Iterable[Project]) -> list[tuple[str | None, list[Project]]]:
    """Consecutive projects of the same 资金使用单位, in order."""
    groups: list[tuple[str | None, list[Project]]] = []
    for project in projects:
        if groups and groups[-1][0] == project.unit:
            groups[-1][1].append(project)
        else:
            groups.append((project.unit, [project]))
    return groups


def published_columns(table: TargetTable, fields: Fields = PROJECT) -> list[Field]:
    """The layout's columns: 项目编码 where any project has one, 项目名称, the amounts, 绩效目标,
    绩效指标, then the extra text fields."""
    money = list(fields.money)
    texts = [f for f in fields.extras if not f.is_money]
    code = [fields["code"]] if any(p.code for p in table.projects) else []
    return [*code, fields["name"], *money, fields["goal"], fields["indicators"], *texts]


def published_rows(
    table: TargetTable, fields: Fields = PROJECT
) -> list[list[str | Decimal | None]]:
    """The official layout as rows of cells: header, 合计, then units and projects."""
    columns = published_columns(table, fields)
    rows: list[list[str | Decimal | None]] = [[f.header for f in columns]]

    def sums(
        members: list[Project], label: str, declared: dict[str, Decimal] | None = None
    ) -> list[str | Decimal | None]:
        values: list[str | Decimal | None] = []
        for f in columns:
            if f.is_money:
                summed = sum((_amount(p, f) for p in members), ZERO)
                if declared and f.key in declared:  # as its source said it
                    summed = declared[f.key]
                values.append(summed if f.type == "total" or summed else None)
            else:
                values.append(label if f.key == "name" else None)
        return values

    rows.append(sums(table.projects, "合计", table.declared_total))
    for unit, members in _unit_groups(table.projects):
        if unit:
            rows.append(sums(members, unit))
        for p in members:
            row: list[str | Decimal | None] = []
            for f in columns:
                if f.key == "indicators":
                    row.append(packed.render(p.indicators))
                elif f.is_money:
                    amount = p.get(f.key)
                    row.append(amount if f.type == "total" or amount else None)  # type: ignore[arg-type]
                else:
                    value = p.get(f.key)
                    row.append(None if value is None else str(value))
            rows.append(row)
    return rows


def _amount(project: Project, field: Field) -> Decimal:
    value = project.get(field.key)
    return value if isinstance(value, Decimal) else ZERO


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_names(tables: list[TargetTable]) -> list[str]:
    """A valid, unique sheet name per table: the department's name, cut to 31 characters."""
    names: list[str] = []
    for n, table in enumerate(tables, start=1):
        base = _SHEET_FORBIDDEN.sub("_", table.department.name or table.department.code or "")
        base = base.strip("'")[:28] or f"单位{n}"
        name, k = base, 2
        while name in names:
            name, k = f"{base[:26]}({k})", k + 1
        names.append(name)
    return names


def write_published(
    tables: TargetTable | list[TargetTable], path: Path, fields: Fields = PROJECT
) -> Path:
    """Write the official layout to an .xlsx workbook: one sheet per table. `fields` are
    those of the projects (with the extra fields a template spec added)."""
    import xlsxwriter

    if path.suffix.lower() != ".xlsx":
        raise FileError(path, "公开表格式只能写成 .xlsx 工作簿")
    many = tables if isinstance(tables, list) else [tables]
    names = sheet_names(many) if len(many) > 1 else [TITLE[:31]]
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    try:
        formats = {
            "title": workbook.add_format({"bold": True, "font_size": 16, "align": "center"}),
            "head": workbook.add_format(
                {
                    "bold": True,
                    "border": 1,
                    "align": "center",
                    "valign": "vcenter",
                    "text_wrap": True,
                    "bg_color": "#DDEBF7",
                }
            ),
            "text": workbook.add_format({"border": 1, "valign": "top", "text_wrap": True}),
            "money": workbook.add_format({"border": 1, "valign": "top", "num_format": "#,##0.00"}),
            "bold_text": workbook.add_format({"border": 1, "valign": "top", "bold": True}),
            "bold_money": workbook.add_format(
                {"border": 1, "valign": "top", "bold": True, "num_format": "#,##0.00"}
            ),
        }
        for name, table in zip(names, many, strict=True):
            _write_published_sheet(workbook.add_worksheet(name), table, fields, formats)
    finally:
        workbook.close()
    return path


def _write_published_sheet(ws: Any, table: TargetTable, fields: Fields, f: dict[str, Any]) -> None:
    rows = published_rows(table, fields)
    header = rows[0]
    last = len(header) - 1
    ws.merge_range(0, 0, 0, last, TITLE, f["title"])
    if table.fiscal_year:
        ws.write_string(1, 0, f"年度：{table.fiscal_year}年")
    ws.write_string(2, 0, f"部门名称：{table.department.name or ''}")
    ws.write_string(3, 0, "单位：万元")
    for c, (label, field) in enumerate(zip(header, published_columns(table, fields), strict=True)):
        ws.write_string(4, c, str(label), f["head"])
        ws.set_column(c, c, field.width or 13)
    indicators_col = header.index(fields["indicators"].header)
    for r, row in enumerate(rows[1:], start=5):
        is_sum = row[indicators_col] is None  # 合计 and 资金使用单位 rows
        text, money = (f["bold_text"], f["bold_money"]) if is_sum else (f["text"], f["money"])
        for c, value in enumerate(row):
            if isinstance(value, Decimal):
                # The one place a float meets money: Excel stores numbers as doubles.
                ws.write_number(r, c, float(value), money)
            elif value:
                ws.write_string(r, c, value, text)  # user text: a leading `=` stays text
            else:
                ws.write_blank(r, c, None, text)
    ws.freeze_panes(5, 0)
    ws.repeat_rows(4)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
