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
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.amounts import ZERO
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import INDICATOR, PROJECT
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
from perfxl.ledger.printing import DEFAULT_FORMAT, MEASURED_ROWS, Layout, page_setup
from perfxl.ledger.status import department_status
from perfxl.ledger.store import Store
from perfxl.ledger.summary import put, total_row, write_departments, write_summary

SHEET_ROWS = 1_048_576  # the rows of an Excel sheet


# 汇总, portrait: its columns A and B–E at least this wide, and its charts in pixels
# (xlsxwriter's default row; as wide as A–E) within a page (A4 less the margins, 96 an inch).
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
        dept_rows = write_departments(depts, status, f)
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
        write_summary(wb, summary, totals, status, projects, written.parts, dept_rows, codeset,
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
            put(ws, r, c, value, formats[c])
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
        total_row(ws, r + 1, label_col, sums, parts, f)
        last_rows[-1] += 1
        for c, value in sums.items():  # the totals' widths (columns can widen after rows)
            layout.widen(c, value)
        widths = layout.widths()
        for sheet, c in itertools.product(sheets, money):
            sheet.set_column(c, c, widths[c])
    for sheet, last in zip(sheets, last_rows, strict=True):
        page_setup(sheet, last, len(columns) - 1)
    return Written({money[c]: s for c, s in sums.items()}, count, parts)
