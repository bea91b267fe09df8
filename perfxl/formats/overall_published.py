"""The department-wide table (部门整体支出绩效目标表) written in the official layout, one
sheet per department, as the published ones read: 部门名称, the budget overview in pairs
under their group captions (部门预算支出 | 预算金额（万元） over 基本支出 | 117,897.50), the
declared total, 总体绩效目标, 年度重点工作任务 (名称 · 主要实施内容 · 拟投入的资金（万元） ·
期望达到的目标（概述）) and 绩效指标 (一级 · 二级 · 三级 · 实施周期指标值 · 年度指标值), each
section's label in the first column. perfxl reads it back as it reads the published ones."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.model import BudgetLine, OverallTable
from perfxl.errors import FileError
from perfxl.formats.published_writer import sheet_names

TITLE = "部门整体支出绩效目标表"
_AMOUNT_CAPTION = "预算金额（万元）"


def _groups(lines: list[BudgetLine]) -> list[tuple[str, list[BudgetLine]]]:
    """The overview's lines by group caption, in the order the groups first appear."""
    out: dict[str, list[BudgetLine]] = {}
    for line in lines:
        out.setdefault(line.group or "预算情况", []).append(line)
    return list(out.items())


def write_overall_published(tables: list[OverallTable], path: Path) -> Path:
    """Write the official department-wide layout to an .xlsx workbook: one sheet per
    department."""
    import xlsxwriter

    if path.suffix.lower() != ".xlsx":
        raise FileError(path, "公开表格式只能写成 .xlsx 工作簿")
    names = sheet_names(tables)  # type: ignore[arg-type]  # by department, as the project ones
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    try:
        base = {"border": 1, "valign": "top", "text_wrap": True}
        f = {
            "title": workbook.add_format({"bold": True, "font_size": 16, "align": "center"}),
            "head": workbook.add_format({**base, "bold": True, "bg_color": "#DDEBF7"}),
            "text": workbook.add_format(base),
            "money": workbook.add_format({**base, "num_format": "#,##0.00"}),
        }
        for name, table in zip(names, tables, strict=True):
            _sheet(workbook.add_worksheet(name), table, f)
    finally:
        workbook.close()
    return path


def _sheet(ws: Any, table: OverallTable, f: dict[str, Any]) -> None:
    for c, width in enumerate((16, 22, 60, 16, 36, 16)):
        ws.set_column(c, c, width)
    ws.merge_range(0, 0, 0, 5, TITLE, f["title"])
    if table.fiscal_year:
        ws.write_string(1, 0, f"年度：{table.fiscal_year}年")
    r = 2

    def put(row: int, col: int, value: object, fmt: str = "text") -> None:
        if isinstance(value, Decimal):
            ws.write_number(row, col, float(value), f["money"])  # Excel stores doubles
        elif value not in (None, ""):
            ws.write_string(row, col, str(value), f[fmt])  # user text: `=` stays text
        else:
            ws.write_blank(row, col, None, f[fmt])

    put(r, 0, "部门名称", "head")
    put(r, 1, table.department.name)
    r += 2
    if table.total is not None:
        put(r, 0, "预算整体情况", "head")
        put(r, 1, "预算总额")
        put(r, 2, table.total)
        r += 1
    groups = _groups(table.budget)
    for n in range(0, len(groups), 2):  # two groups side by side, as published
        pair = groups[n : n + 2]
        put(r, 0, "预算整体情况", "head")
        for k, (caption, _) in enumerate(pair):
            put(r, 1 + 2 * k, caption, "head")
            put(r, 2 + 2 * k, _AMOUNT_CAPTION, "head")
        for m in range(max(len(lines) for _, lines in pair)):
            r += 1
            put(r, 0, "预算整体情况", "head")
            for k, (_, lines) in enumerate(pair):
                if m < len(lines):
                    put(r, 1 + 2 * k, lines[m].label)
                    put(r, 2 + 2 * k, lines[m].amount if lines[m].amount is not None else "——")
        r += 1
    put(r, 0, "总体绩效目标", "head")
    put(r, 1, table.goal)
    r += 2
    for c, caption in enumerate(("年度重点工作任务", "名称", "主要实施内容",
                                 "拟投入的资金（万元）", "期望达到的目标（概述）")):  # fmt: skip
        put(r, c, caption, "head")
    for task in table.tasks:
        r += 1
        put(r, 0, "年度重点工作任务", "head")
        for c, value in enumerate((task.name, task.content, task.amount, task.goal), start=1):
            put(r, c, value)
    r += 2
    for c, caption in enumerate(("绩效指标", "一级指标", "二级指标", "三级指标",
                                 "实施周期指标值", "年度指标值")):  # fmt: skip
        put(r, c, caption, "head")
    for indicator in table.indicators:
        r += 1
        put(r, 0, "绩效指标", "head")
        levels = [
            f"{code}-{label}" if code and label else (label or code or "")
            for code, label in ((indicator.level1, indicator.level1_label),
                                (indicator.level2, indicator.level2_label))
        ]  # fmt: skip
        name = indicator.raw or indicator.name
        for c, value in enumerate((*levels, name, indicator.period, indicator.annual), start=1):
            put(r, c, value)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
