"""The consolidated workbook: who submitted what, and the bureau's figures from the accepted
submissions, right to the cent and traceable to each source cell.

Sheets, in Chinese: 汇总 (totals by funding source, counts, charts), 部门汇总 (one row per
department), 项目明细, 指标明细, 校验问题, 提交情况 (ledger/details.py). Rows stream from
SQLite to xlsxwriter in constant-memory mode, so memory does not grow with the number of
submissions; totals are formulas whose cached values are the `Decimal` sums, since a
returned workbook's cached values are never recomputed on load.

Every sheet prints on A4, fitted to the width of the page: the tables landscape, with their
header row on every page, text wrapped in columns as wide as their first rows need (up to a
limit, so that a long 绩效目标 wraps rather than widening the table); 汇总 portrait, its
figures on the first page and its charts on the next, never cut by a page break.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.amounts import ZERO
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import INDICATOR, PROJECT
from perfxl.formats.grid import column_letter
from perfxl.formats.roster import RosterEntry
from perfxl.ledger.details import (
    OVERALL_PROJECT,
    Table,
    budget_table,
    indicator_table,
    issue_table,
    overall_table,
    project_table,
    submission_table,
    task_table,
)
from perfxl.ledger.printing import DEFAULT_FORMAT, MEASURED_ROWS, Layout, page_setup, text_width
from perfxl.ledger.status import STATUS_TEXT, StatusReport, department_status
from perfxl.ledger.store import Store

SHEET_ROWS = 1_048_576  # the rows of an Excel sheet

# 汇总, portrait: its columns A and B–E at least this wide, and its charts in pixels
# (xlsxwriter's default row; as wide as A–E) within a page (A4 less the margins, 96 an inch).
SUMMARY_WIDTHS = (22, 16)
ROW_HEIGHT = 20
CHART_HEIGHT = 320
PAGE_HEIGHT = 900


@dataclass
class LedgerTotals:
    """What the 汇总 sheet shows, summed as Decimal while the detail rows stream past."""

    money: dict[str, str]  # the amount fields: key → caption
    amounts: dict[str, Decimal]  # by field key
    projects: int = 0
    indicators: int = 0  # of the projects
    overall_indicators: int = 0  # of the department-wide forms
    by_level1: Counter[str] = field(default_factory=Counter)
    by_level2: Counter[str] = field(default_factory=Counter)
    overall: int = 0  # accepted department-wide forms
    overall_total: Decimal = ZERO  # their declared 预算总额, added up
    sheets: dict[str, list[str]] = field(default_factory=dict)  # a table → its sheets, >1

    def continued(self) -> str:
        """The tables that outgrew one sheet: `指标明细 续写于 指标明细 (2)、指标明细 (3)`."""
        return "；".join(f"{t} 续写于 {'、'.join(s[1:])}" for t, s in self.sheets.items())

    def headline(self) -> str:
        """The first amount (总计) and its sum: `总计 4,684.03 万元`; and the department-wide
        forms, where there are any."""
        key, caption = next(iter(self.money.items()))
        line = f"{caption} {self.amounts[key]:,.2f} 万元"
        if self.overall:
            line += f"；部门整体 {self.overall} 份，预算总额 {self.overall_total:,.2f} 万元"
        return line


def write_ledger(
    store: Store,
    path: Path,
    codeset: CodeSet,
    roster: list[RosterEntry] | None = None,
    year: int | None = None,
    title: str = "预算绩效目标汇总",
    sheet_rows: int = SHEET_ROWS,
) -> LedgerTotals:
    """Write the consolidated workbook; return the totals it shows. A detail table longer
    than `sheet_rows` (Excel's limit) continues on the next sheet. The workbook is one
    state of the ledger, whatever is recorded while it is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with store.snapshot():
        return _write_ledger(store, path, codeset, roster, year, title, sheet_rows)


def _write_ledger(
    store: Store,
    path: Path,
    codeset: CodeSet,
    roster: list[RosterEntry] | None,
    year: int | None,
    title: str,
    sheet_rows: int,
) -> LedgerTotals:
    import xlsxwriter

    status = department_status(store, roster, year)
    totals = LedgerTotals(status.money, dict.fromkeys(status.money, ZERO))
    accepted = [
        d.overall for d in status.departments if d.overall and d.overall.status == "accepted"
    ]
    totals.overall = len(accepted)
    totals.overall_total = sum((o.total for o in accepted if o.total is not None), ZERO)
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            # Every cell's text wraps, at the top of its row, unless its format says not:
            # as the default, it costs nothing a cell (a format of its own would).
            "default_format_properties": DEFAULT_FORMAT,
        },
    )
    try:
        f = _formats(wb)
        summary = wb.add_worksheet("汇总")  # first tab; written last, its numbers known then
        depts = wb.add_worksheet("部门汇总")
        dept_rows = _write_departments(depts, status, f)
        projects = project_table(store, year)
        written = _write_table(wb, projects, f, total_label="合计", sheet_rows=sheet_rows)
        tables = [written]
        totals.projects = written.rows
        totals.amounts = {key: written.sums[title] for key, title in status.money.items()}
        indicators = indicator_table(store, year)
        codes = [indicators.columns.index(c) for c in indicators.columns if c.title in _LEVELS]
        owner = [c.title for c in indicators.columns].index(PROJECT["name"].title)

        def count_levels(values: list[object]) -> None:
            if values[owner] == OVERALL_PROJECT:  # a department-wide one, counted apart
                totals.overall_indicators += 1
                return
            totals.indicators += 1
            totals.by_level1[str(values[codes[0]] or "?")] += 1
            totals.by_level2[str(values[codes[1]] or "?")] += 1

        tables.append(_write_table(wb, indicators, f, on_row=count_levels, sheet_rows=sheet_rows))
        if status.overall:  # the department-wide forms: one row each, their tasks, overviews
            tables.append(_write_table(wb, overall_table(store, status), f, "合计", "单位名称",
                                       sheet_rows=sheet_rows))  # fmt: skip
            for table in (task_table(store, year), budget_table(store, year)):
                tables.append(_write_table(wb, table, f, sheet_rows=sheet_rows))
        for table in (issue_table(store, year), submission_table(store, year)):
            tables.append(_write_table(wb, table, f, sheet_rows=sheet_rows))
        totals.sheets = {t.parts[0][0]: [p[0] for p in t.parts] for t in tables if len(t.parts) > 1}
        _write_summary(wb, summary, totals, status, projects, written.parts, dept_rows, codeset,
                       f, title)  # fmt: skip
        summary.activate()
    finally:
        wb.close()
    return totals


_LEVELS = (INDICATOR["level1"].titles[0], INDICATOR["level2"].titles[0])


def _formats(wb: Any) -> dict[str, Any]:
    return {
        "title": wb.add_format({"bold": True, "font_size": 14, "text_wrap": False}),
        "head": wb.add_format(
            {
                "bold": True,
                "bg_color": "#DDEBF7",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
            }
        ),
        "money": wb.add_format({"num_format": "#,##0.00"}),
        "time": wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),  # a date Excel sorts
        "money_bold": wb.add_format({"num_format": "#,##0.00", "bold": True, "top": 1}),
        "bold": wb.add_format({"bold": True, "top": 1}),
        "error": wb.add_format({"font_color": "#C00000"}),
    }  # each, as a cell with none, wraps its text at the top of the row (DEFAULT_FORMAT)


def _put(ws: Any, r: int, c: int, value: object, fmt: Any = None) -> None:
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


def _total_row(
    ws: Any, r: int, label_col: int, sums: dict[int, Decimal], parts: list[tuple[str, int]],
    f: dict[str, Any],
) -> None:  # fmt: skip
    """A 合计 row: SUM formulas over the rows of every part of the table (one sheet, or
    several where it outgrew one), with their Decimal sums cached."""
    ws.write_string(r, label_col, "合计", f["bold"])
    for c, value in sums.items():
        ws.write_formula(r, c, "=SUM(" + _ranges(parts, c) + ")", f["money_bold"], float(value))


def _ranges(parts: list[tuple[str, int]], c: int) -> str:
    """A column's data rows in every part of a table: `'项目明细'!F2:F40,…`."""
    letter = column_letter(c)
    return ",".join(f"'{title}'!{letter}2:{letter}{max(last, 2)}" for title, last in parts)


@dataclass
class Written:
    """A detail table as written: the sum of each money column (by caption), its rows, and
    its parts (sheet title, last row, 1-based): one sheet, or more where it outgrew one."""

    sums: dict[str, Decimal]
    rows: int
    parts: list[tuple[str, int]]


def _write_table(
    wb: Any,
    table: Table,
    f: dict[str, Any],
    total_label: str | None = None,
    label_title: str = PROJECT["name"].title,
    on_row: Any = None,
    sheet_rows: int = SHEET_ROWS,
) -> Written:
    """A detail table, row by row, on its sheet and, past `sheet_rows` rows a sheet, on the
    next (`指标明细 (2)` …), each with the header; with `total_label`, a 合计 row under its
    money columns, summing every part. Every row is written: none is dropped. The column
    widths come from the first `MEASURED_ROWS` rows, held back until they are known."""
    columns = [c.title for c in table.columns]
    layout = Layout(columns, [c.kind for c in table.columns], [c.width for c in table.columns])
    rows = iter(table.rows)
    first = list(itertools.islice(rows, MEASURED_ROWS))
    for values in first:
        layout.see(values)
    money = {c: col.title for c, col in enumerate(table.columns) if col.kind == "money"}
    sums = dict.fromkeys(money, ZERO)
    formats = [
        f["money"] if c in money else f["time"] if col.kind == "time" else None
        for c, col in enumerate(table.columns)
    ]
    per_sheet = max(sheet_rows - 2, 1)  # the header, and room for the 合计 row
    parts: list[tuple[str, int]] = []
    sheets: list[Any] = []
    ws, r, count, title = None, 0, 0, table.title
    for values in itertools.chain(first, rows):
        if ws is None or r >= per_sheet:
            if ws is not None:
                parts.append((title, r + 1))
            title = table.title if not parts else f"{table.title} ({len(parts) + 1})"
            ws = wb.add_worksheet(title)
            sheets.append(ws)
            layout.apply(ws, f)
            r = 0
        r += 1
        count += 1
        height = layout.height(values)
        if height is not None:
            ws.set_row(r, height)
        for c, value in enumerate(values):
            _put(ws, r, c, value, formats[c])
        for c in money:
            amount = values[c]
            if isinstance(amount, Decimal):
                sums[c] += amount
        if on_row is not None:
            on_row(values)
    if ws is None:  # no rows: the sheet with its header
        title = table.title
        ws = wb.add_worksheet(title)
        sheets.append(ws)
        layout.apply(ws, f)
    parts.append((title, r + 1))
    last_rows = [last - 1 for _, last in parts]  # 0-based, each sheet's
    if total_label is not None and money:
        label_col = next(c for c, col in enumerate(table.columns) if col.title == label_title)
        _total_row(ws, r + 1, label_col, sums, parts, f)
        last_rows[-1] += 1
        for c, value in sums.items():  # the totals' widths (columns can widen after rows)
            layout.widen(c, value)
        widths = layout.widths()
        for sheet, c in itertools.product(sheets, money):
            sheet.set_column(c, c, widths[c])
    for sheet, last in zip(sheets, last_rows, strict=True):
        page_setup(sheet, last, len(columns) - 1)
    return Written({money[c]: s for c, s in sums.items()}, count, parts)


def _write_departments(ws: Any, status: StatusReport, f: dict[str, Any]) -> tuple[int, int]:
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
            _put(ws, r, c, value, fmt)
    last = r
    _total_row(ws, last + 1, 1, money_cols, [("部门汇总", last + 1)], f)
    ws.autofilter(0, 0, max(last, 1), len(titles) - 1)
    page_setup(ws, last + 1, len(titles) - 1)
    return 1, last  # first and last data row (0-based) for the chart


def _write_summary(
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
        ranges = _ranges(parts, columns.index(caption))  # every part of 项目明细
        ws.write_string(r, 0, caption)
        ws.write_formula(r, 1, f"=SUM({ranges})", f["money"], float(totals.amounts[key]))
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
