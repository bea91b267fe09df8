"""The ledger workbook's first two sheets: 汇总 (the figures, as formulas over the detail
sheets, and two charts, each whole on its page) and 部门汇总 (a row per department); and
the ways of writing cells the other sheets share (a value, a total row, the ranges of a
table continued on more sheets)."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perfxl.domain.amounts import ZERO
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import INDICATOR
from perfxl.formats.grid import column_letter
from perfxl.ledger.details import Table
from perfxl.ledger.printing import Layout, page_setup, text_width
from perfxl.ledger.status import STATUS_TEXT, StatusReport

if TYPE_CHECKING:
    from perfxl.ledger.workbook import LedgerTotals

SUMMARY_WIDTHS = (22, 16)
ROW_HEIGHT = 20
CHART_HEIGHT = 320
PAGE_HEIGHT = 900


def put(ws: Any, r: int, c: int, value: object, fmt: Any = None) -> None:
    """One cell, typed: money and counts as numbers, everything else as text (a leading
    `=` stays text)."""
    if value is None or value == "":
        return
    if isinstance(value, Decimal):
        ws.write_number(r, c, float(value), fmt)  # doubles, as Excel stores numbers
    elif isinstance(value, int) and not isinstance(value, bool):
        ws.write_number(r, c, value, fmt)
    elif isinstance(value, datetime):  # local time, as the office reads it
        ws.write_datetime(r, c, value.replace(tzinfo=None), fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def total_row(
    ws: Any, r: int, label_col: int, sums: dict[int, Decimal], parts: list[tuple[str, int]],
    f: dict[str, Any],
) -> None:  # fmt: skip
    """A 合计 row: SUM formulas over the rows of every part of the table (one sheet, or
    several where it outgrew one), with their Decimal sums cached."""
    ws.write_string(r, label_col, "合计", f["bold"])
    for c, value in sums.items():
        ws.write_formula(r, c, "=SUM(" + ranges(parts, c) + ")", f["money_bold"], float(value))


def ranges(parts: list[tuple[str, int]], c: int) -> str:
    """A column's data rows in every part of a table: `'项目明细'!F2:F40,…`."""
    letter = column_letter(c)
    return ",".join(f"'{title}'!{letter}2:{letter}{max(last, 2)}" for title, last in parts)


def write_departments(ws: Any, status: StatusReport, f: dict[str, Any]) -> tuple[int, int]:
    money = list(status.money)
    titles = [
        "单位编码",
        "单位名称",
        "状态",
        "项目数",
        *status.money.values(),
        "指标数",
        "错误",
        "提示",
        "提交次数",
        "采用的文件",
    ]
    kinds = ["text", "text", "text", "count", *("money" for _ in money)]
    kinds += ["count", "count", "count", "count", "text"]
    layout = Layout(titles, kinds, [12, 24, 12, 12, *(14 for _ in money), 12, 12, 12, 12, 30])
    first_money = 4
    sums = dict.fromkeys(money, ZERO)
    rows: list[list[object]] = []
    for d in status.departments:
        rows.append(
            [
                d.code,
                d.name,
                STATUS_TEXT[d.status],
                d.projects,
                *(d.amounts.get(k, ZERO) for k in money),
                d.indicators,
                d.errors,
                d.warnings,
                d.submissions,
                d.submission.file_name if d.submission else "",
            ]
        )
        for k in money:
            sums[k] += d.amounts.get(k, ZERO)
    money_cols = {first_money + n: sums[k] for n, k in enumerate(money)}
    for values in rows:
        layout.see(values)
    for c, total in money_cols.items():
        layout.widen(c, total)
    layout.apply(ws, f)
    r = 0
    for r, (d, values) in enumerate(zip(status.departments, rows, strict=True), start=1):
        height = layout.height(values)
        if height is not None:
            ws.set_row(r, height)
        for c, value in enumerate(values):
            if kinds[c] == "money":
                fmt = f["money"]
            else:
                fmt = f["error"] if d.status != "accepted" and c == 2 else None
            put(ws, r, c, value, fmt)
    last = r
    total_row(ws, last + 1, 1, money_cols, [("部门汇总", last + 1)], f)
    ws.autofilter(0, 0, max(last, 1), len(titles) - 1)
    page_setup(ws, last + 1, len(titles) - 1)
    return 1, last  # first and last data row (0-based) for the chart


def write_summary(
    wb: Any,
    ws: Any,
    totals: LedgerTotals,
    status: StatusReport,
    projects: Table,
    parts: list[tuple[str, int]],
    dept_rows: tuple[int, int],
    codeset: CodeSet,
    f: dict[str, Any],
    title: str,
) -> None:
    ws.write_string(0, 0, title, f["title"])
    ws.write_string(2, 0, "资金来源", f["head"])
    ws.write_string(2, 1, "金额（万元）", f["head"])
    columns = [c.title for c in projects.columns]
    r = 3
    for key, caption in totals.money.items():
        cells = ranges(parts, columns.index(caption))  # every part of 项目明细
        ws.write_string(r, 0, caption)
        ws.write_formula(r, 1, f"=SUM({cells})", f["money"], float(totals.amounts[key]))
        r += 1
    r += 1
    ws.write_string(r, 0, "单位", f["head"])
    ws.write_string(r, 1, "个数", f["head"])
    unknown = "不详（没有单位名单）"  # without a roster, who has not sent is not known
    counts: tuple[tuple[str, int | str], ...] = (
        ("名单中的单位" if status.roster else "已提交的单位", len(status.departments)),
        ("已接收", status.count("accepted")),
        ("已退回", status.count("rejected")),
        ("未提交", status.count("missing") if status.roster else unknown),
        ("不在名单的提交", len(status.unknown)),
        ("项目", totals.projects),
        ("指标", totals.indicators),
    )
    if status.overall:  # the department-wide forms too
        standing = [d.overall.status for d in status.departments if d.overall]
        counts += (
            ("部门整体：已接收", standing.count("accepted")),
            ("部门整体：已退回", standing.count("rejected")),
            ("部门整体：未提交", standing.count("missing") if status.roster else unknown),
            ("部门整体指标", totals.overall_indicators),
        )
    for n, (label, value) in enumerate(counts, start=r + 1):
        ws.write_string(n, 0, label)
        if isinstance(value, str):
            ws.write_string(n, 1, value)
        else:
            ws.write_number(n, 1, value)
    r += len(counts) + 2
    ws.write_string(r, 0, INDICATOR["level1"].title, f["head"])
    ws.write_string(r, 1, "指标数", f["head"])
    ws.write_string(r, 3, INDICATOR["level2"].title, f["head"])
    ws.write_string(r, 4, "指标数", f["head"])
    level1 = [(f"{i.code}-{i.label}", totals.by_level1.get(i.code, 0)) for i in codeset.level1]
    level1 += [
        (f"{code}（不在指标体系中）", n)
        for code, n in sorted(totals.by_level1.items())
        if codeset.l1(code) is None
    ]
    level2 = [(f"{i.code}-{i.label}", totals.by_level2.get(i.code, 0)) for i in codeset.level2]
    level2 += [
        (f"{code}（不在指标体系中）", n)
        for code, n in sorted(totals.by_level2.items())
        if codeset.l2(code) is None
    ]
    # Columns A, B and D as wide as their texts; the charts as wide as A–E, in pixels.
    labels = [*totals.money.values(), *(label for label, _ in counts + tuple(level1))]
    widths = [SUMMARY_WIDTHS[0], *(SUMMARY_WIDTHS[1] for _ in range(4))]
    widths[0] = max([widths[0], *(text_width(label) + 2 for label in labels)])
    widths[1] = max([widths[1], *(text_width(v) + 2 for _, v in counts if isinstance(v, str))])
    widths[3] = max([widths[3], *(text_width(label) + 2 for label, _ in level2)])
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    chart_width = sum(width * 7 + 5 for width in widths)
    for n in range(max(len(level1), len(level2))):
        if n < len(level1):
            ws.write_string(r + 1 + n, 0, level1[n][0])
            ws.write_number(r + 1 + n, 1, level1[n][1])
        if n < len(level2):
            ws.write_string(r + 1 + n, 3, level2[n][0])
            ws.write_number(r + 1 + n, 4, level2[n][1])
    first, last = dept_rows
    total = next(iter(totals.money.values()))  # the first amount: 总计
    total_col = 4  # 部门汇总: the amounts start after 单位编码, 单位名称, 状态, 项目数
    # The charts below the figures, from the top of the next page, as wide as columns A–E:
    # the first as tall as its departments need (within a page), the second on the same
    # page where both fit, else on a page of its own; a page break is never inside one.
    top = r + max(len(level1), len(level2)) + 2
    bars = min(max(CHART_HEIGHT, 80 + 24 * (last - first + 1)), PAGE_HEIGHT)
    below = top + math.ceil(bars / ROW_HEIGHT) + 1
    breaks = [top]
    if (below - top) * ROW_HEIGHT + CHART_HEIGHT > PAGE_HEIGHT:
        breaks.append(below)
    end = below + math.ceil(CHART_HEIGHT / ROW_HEIGHT)
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": f"{total}（万元）",
            "categories": ["部门汇总", first, 1, last, 1],
            "values": ["部门汇总", first, total_col, last, total_col],
        }
    )
    chart.set_title({"name": "各单位项目资金"})
    chart.set_legend({"none": True})
    # A little below the page break: a chart's border on it would print on both pages.
    place = {"x_scale": chart_width / 480, "y_offset": 4}
    ws.insert_chart(top, 0, chart, {**place, "y_scale": bars / 288})
    column = wb.add_chart({"type": "column"})
    column.add_series(
        {
            "name": "指标数",
            "categories": ["汇总", r + 1, 0, r + len(level1), 0],
            "values": ["汇总", r + 1, 1, r + len(level1), 1],
        }
    )
    column.set_title({"name": "指标按一级分布"})
    column.set_legend({"none": True})
    ws.insert_chart(below, 0, column, {**place, "y_scale": CHART_HEIGHT / 288})
    ws.set_h_pagebreaks(breaks)
    page_setup(ws, end, 4, landscape=False, table=False)
