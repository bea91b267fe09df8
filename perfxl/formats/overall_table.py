"""The department-wide table (G3, 部门整体支出绩效目标表 / 部门整体预算绩效目标申报表): the
budget overview, the overall goal, the year's key tasks and the department's indicators.

Published copies are mostly PDFs or web pages turned into text, so nothing is taken from
where a cell stands alone: sections are found by their labels (预算整体情况, 总体绩效目标,
年度重点工作任务, 绩效指标), budget lines as a label followed by its amount under a group
caption (部门预算支出 | 预算金额（万元）), tasks by the captions of their header, and each
indicator row by what its cells say (a 一级 label, a 二级 label, a name, then its values),
wherever the conversion shifted them. A level that spans rows stands for the rows under
it. What cannot be placed is kept verbatim and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import (
    ZERO,
    AmountError,
    fmt,
    parse_money,
    rounding_tolerance,
    unit_of,
)
from perfxl.domain.codesets import DEFAULT_CODESET, CodeSet, detect_codeset, load_codeset
from perfxl.domain.fields import INDICATOR, TASK, caption_key
from perfxl.domain.model import (
    BudgetLine,
    Department,
    Indicator,
    Issue,
    OverallTable,
    ReadResult,
    TargetTable,
    Task,
)
from perfxl.domain.packed import clean_cell
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, text_of
from perfxl.formats.tables import (
    match_header,
    read_preamble,
    resolve_levels,
    split_code,
    split_level,
)

LAYOUT = "部门整体绩效目标表"
_SECTIONS = {
    "budget": ("预算整体情况", "部门总体资金情况", "预算情况", "部门预算情况", "资金情况"),
    "goal": ("总体绩效目标", "部门整体绩效目标", "年度总体目标", "总体目标", "整体绩效目标"),
    "tasks": ("年度重点工作任务", "重点工作任务", "年度主要任务", "部门职能及年度重点工作"),
    "others": ("其他需完成的任务",),
    "indicators": ("绩效指标", "年度绩效指标", "部门整体绩效指标"),
    "info": ("基本信息",),
}
_TITLE = re.compile(r"部门整体(?:支出|预算)?绩效")
_TOTALS = ("合计", "总计", "预算总额", "部门预算总额", "支出合计", "总额", "预算合计", "资金总额")
_LEVEL1_WORDS = ("产出", "效益", "满意度", "成本")


def _section(text: str) -> str | None:
    key = caption_key(text)
    for name, labels in _SECTIONS.items():
        if any(key == caption_key(label) or key.startswith(caption_key(label)) for label in labels):
            return name
    return None


def is_overall(sheet: Sheet) -> bool:
    """Does the sheet hold a department-wide table: its title and one of its parts (the
    overview, the overall goal, the key tasks), or two of those parts? A line that only
    mentions the department-wide targets (`注：部门整体绩效目标另行公开`) is no title."""
    texts = [text_of(v) for row in sheet.rows[:80] for v in row]
    sections = {_section(t) for t in texts if t and len(t) <= 20} & {"goal", "tasks", "budget"}
    titled = any(_is_title(t) for t in texts[:200])
    return (titled and bool(sections)) or len(sections) >= 2


def _is_title(text: str) -> bool:
    """`2023年部门整体支出绩效目标表`, `部门整体预算绩效目标申报表（2024年）`."""
    folded = "".join(text.split())
    return len(folded) <= 40 and "表" in folded and bool(_TITLE.search(folded))


@dataclass
class _Place:
    sheet: str
    row: int  # 0-based
    col: int

    @property
    def cell(self) -> str:
        return a1(self.row, self.col)


@dataclass
class _Reader:
    path: Path
    sheet: Sheet
    codeset: CodeSet
    issues: list[Issue] = field(default_factory=list)
    unit: str | None = None

    def issue(self, rule: cat.Rule, r: int, c: int | None, value: str = "", **params: Any) -> None:
        self.issues.append(
            rule.issue(
                file=str(self.path),
                sheet=self.sheet.name,
                row=r + 1,
                cell=a1(r, c) if c is not None else None,
                value=value or None,
                **params,
            )
        )

    # --- the sections ---------------------------------------------------------------------

    def read(self) -> OverallTable:
        rows = self.sheet.rows
        preamble = read_preamble(rows[:10])
        self.unit = preamble.unit
        table = OverallTable(fiscal_year=preamble.year)
        if preamble.department:
            code, name = split_code(preamble.department)
            table.department = Department(code=code, name=name)
        where: dict[str, int] = {}
        for r, row in enumerate(rows):
            for value in row[:2]:
                section = _section(text_of(value))
                if section is not None and section not in where:
                    where[section] = r
        order = sorted(where.items(), key=lambda item: item[1])
        # A section runs to the next one's label; the tasks' and indicators' captions may
        # stand above their label (the label sits in the first column of the first row).
        bounds = {}
        for n, (name, start) in enumerate(order):
            end = order[n + 1][1] if n + 1 < len(order) else len(rows)
            if name in ("tasks", "indicators") and n > 0:
                start = min(start, order[n - 1][1] + 1)
            bounds[name] = (start, end)
        head_end = order[0][1] if order else len(rows)
        self.head(table, 0, head_end)
        if "info" in bounds:
            self.info(table, *bounds["info"])
        if "budget" in bounds:
            self.budget(table, *bounds["budget"])
        if "goal" in bounds:
            table.goal = self.goal(*bounds["goal"])
        if "tasks" in bounds:
            table.tasks = self.tasks(*bounds["tasks"])
        if "indicators" in bounds:
            table.indicators = self.indicators(*bounds["indicators"])
        return table

    def head(self, table: OverallTable, start: int, end: int) -> None:
        """The lines above the sections: the department (`部门名称 | 广州市民政局`)."""
        for r in range(start, end):
            cells = [text_of(v) for v in self.sheet.rows[r]]
            for c, text in enumerate(cells):
                if caption_key(text) in ("部门名称", "单位名称", "部门", "预算单位"):
                    value = next((t for t in cells[c + 1 :] if t), "")
                    if value and table.department.name is None:
                        code, name = split_code(value)
                        table.department = Department(code=code, name=name)

    def info(self, table: OverallTable, start: int, end: int) -> None:
        for r in range(start, end):
            cells = [text_of(v) for v in self.sheet.rows[r]][1:]
            cells = [t for t in cells if t]
            for label, value in zip(cells[::2], cells[1::2], strict=False):
                table.info[label] = value

    def budget(self, table: OverallTable, start: int, end: int) -> None:
        """Labelled amounts, in pairs across the row, each under the group caption of its
        column (`部门预算支出 | 预算金额（万元）` over `基本支出 | 117,897.50`)."""
        groups: dict[int, str] = {}
        for r in range(start, end):
            row = self.sheet.rows[r]
            cells = [(c, text_of(v)) for c, v in enumerate(row)]
            cells = [(c, t) for c, t in cells if t and not (c == 0 and _section(t))]
            n = 0
            while n < len(cells):
                c, label = cells[n]
                following = cells[n + 1] if n + 1 < len(cells) else None
                if following is not None and ("金额" in following[1] or unit_of(following[1])):
                    groups[c] = label  # a group caption over its lines
                    self.unit = unit_of(following[1]) or self.unit or None
                    n += 2
                    continue
                if following is None or not _is_amount(following[1]):
                    n += 1
                    continue
                amount = self.money(r, following[0], following[1])
                line = BudgetLine(
                    group=groups.get(c, ""),
                    label=label,
                    amount=amount,
                    sheet=self.sheet.name,
                    row=r + 1,
                    cell=a1(r, following[0]),
                )
                if caption_key(label) in _TOTALS and table.total is None:
                    # The declared total, not a line of the overview.
                    table.total, table.total_at = amount, line
                elif caption_key(label) in _TOTALS:  # a group's own total: checked, not a line
                    members = [b for b in table.budget if b.group == line.group]
                    self.group_total(line, following[0], members)
                else:
                    table.budget.append(line)
                n += 2

    def group_total(self, line: BudgetLine, c: int, members: list[BudgetLine]) -> None:
        """A 合计 under one group of the overview (收入合计 …) against the group's lines."""
        if line.amount is None or not members or line.row is None:
            return
        summed = sum((b.amount for b in members if b.amount is not None), ZERO)
        diff = abs(line.amount - summed)
        if diff > rounding_tolerance(len(members), self.unit):
            self.issue(cat.SUBTOTAL_MISMATCH, line.row - 1, c, fmt(line.amount),
                       unit=line.group or line.label, column_name=line.label,
                       declared=fmt(line.amount), summed=fmt(summed), diff=fmt(diff))  # fmt: skip

    def goal(self, start: int, end: int) -> str:
        """The text beside the label and under it, up to the captions of the next part."""
        texts = []
        for r in range(start, end):
            row = self.sheet.rows[r]
            if r > start and (
                len(match_header(row, [("task", TASK)]).columns) >= 2
                or len(match_header(row, [("indicator", INDICATOR)]).columns) >= 2
            ):
                break
            for value in row:
                text = text_of(value)
                if text and _section(text) is None:
                    texts.append(text)
        return clean_cell("\n".join(texts))

    def tasks(self, start: int, end: int) -> list[Task]:
        """The key tasks, under a header of their captions (名称 | 主要实施内容 | 拟投入的资金
        | 期望达到的目标); the section's label may stand in the first column of any row."""
        rows = self.sheet.rows
        header = None
        for r in range(start, end):
            found = match_header(rows[r], [("task", TASK)])
            if "name" in found.columns and len(found.columns) >= 2:
                header = found
                header.row = r
                break
        if header is None:
            return []
        columns = header.columns
        for c, unit in header.units.items():
            if c == columns.get("amount"):
                self.unit = unit
        letters = {k: column_letter(c) for k, c in columns.items()}
        tasks: list[Task] = []
        for r in range(header.row + 1, end):
            row = rows[r]

            def cell(key: str, row: list[Cell] = row) -> str:
                c = columns.get(key)
                return text_of(row[c]) if c is not None and c < len(row) else ""

            name = cell("name")
            if caption_key(name) in _TOTALS or caption_key(cell("content")) in _TOTALS:
                self.tasks_total(r, columns.get("amount"), cell("amount"), tasks)
                continue  # the tasks added up: checked, not a task
            # A row with money or a plan and no name is a task still (the rules name it).
            nameless = not name and any(cell(k) for k in ("content", "amount"))
            if (not name and not nameless) or _section(name):
                if any(text_of(v) for v in row[1:]) and not _section(text_of(row[0])):
                    self.issue(cat.ROW_NOT_RECOGNISED, r, None, _row_text(row))
                continue
            task = Task(
                name=name,
                content=clean_cell(cell("content")),
                goal=clean_cell(cell("goal")),
                sheet=self.sheet.name,
                row=r + 1,
                cell=a1(r, columns["name"]),
                columns=letters,
            )
            for key in ("amount", "fiscal", "other"):
                if key in columns and cell(key):
                    setattr(task, key, self.money(r, columns[key], cell(key)))
            tasks.append(task)
        return tasks

    def tasks_total(self, r: int, c: int | None, text: str, tasks: list[Task]) -> None:
        """A 合计 row under the tasks: their money added up, as the table declares it."""
        if c is None or not text:
            return
        declared = self.money(r, c, text)
        if declared is None:
            return
        summed = sum((t.amount for t in tasks if t.amount is not None), ZERO)
        diff = abs(declared - summed)
        if diff:
            tolerance = rounding_tolerance(len(tasks), self.unit)
            rule = cat.DECLARED_TOTAL_ROUNDING if diff <= tolerance else cat.DECLARED_TOTAL_MISMATCH
            self.issue(rule, r, c, text, column_name=TASK.header("amount"), declared=fmt(declared),
                       summed=fmt(summed), diff=fmt(diff), tolerance=f"{tolerance.normalize():f}",
                       rows=len(tasks))  # fmt: skip

    def indicators(self, start: int, end: int) -> list[Indicator]:
        """Each row by what its cells say: a 一级 label, a 二级 label, the indicator's name,
        then its values (实施周期, 年度); levels that span rows stand for the rows under."""
        rows = self.sheet.rows
        header_row = None
        two_values = True
        name_column = 0
        aligned: tuple[int, ...] = ()  # the header's columns, level1 to the last value
        for r in range(start, end):
            found = match_header(rows[r], [("indicator", INDICATOR)])
            if {"level1", "level2"} <= set(found.columns) or "name" in found.columns:
                header_row = r
                two_values = {"period", "annual"} <= set(found.columns)
                name_column = found.columns.get("name", 0)
                keys = ("level1", "level2", "name", "period", "annual")
                if all(k in found.columns for k in keys[:3]):
                    aligned = tuple(found.columns[k] for k in keys if k in found.columns)
                break
        if header_row is None:
            return []
        level1: tuple[str | None, str | None] = (None, None)
        level2: tuple[str | None, str | None] = (None, None)
        out: list[Indicator] = []
        for r in range(header_row + 1, end):
            cells = [(c, text_of(v)) for c, v in enumerate(rows[r])]
            cells = [(c, t) for c, t in cells if t and not (c == 0 and _section(t))]
            if not cells:
                continue
            n = 0
            if aligned and tuple(c for c, _ in cells) == aligned:
                # A whole row under its captions: its levels are what it says, known or not
                # (a garbled `产出捐标` is kept as written, and the rules report it).
                level1 = split_level("".join(cells[0][1].split()))
                level2 = split_level("".join(cells[1][1].split()), 2)
                n = 2
            elif self.is_level1(cells[0][1]):
                level1 = split_level("".join(cells[0][1].split()))
                level2 = (None, None)
                n = 1
            if n < 2 and n < len(cells) and self.is_level2(cells[n][1]):
                level2 = split_level("".join(cells[n][1].split()), 2)
                n += 1
            rest = cells[n:]
            if not rest:
                continue  # a row of labels only: they stand for the rows under them
            (c, name), values = rest[0], [t for _, t in rest[1:]]
            if n == 0 and c < name_column and level1 != (None, None):
                # Shifted left by the conversion, its levels lost: the ones above stand.
                shown = "-".join(x for x in (level1[1], level2[1]) if x)
                self.issue(cat.LEVEL_CARRIED, r, c, name, name=name, levels=shown)
            if len(values) > 2:
                self.issue(cat.ROW_NOT_RECOGNISED, r, None, _row_text(rows[r]))
            period, annual = _values(values, two_values)
            out.append(
                Indicator(
                    level1=level1[0],
                    level1_label=level1[1],
                    level2=level2[0],
                    level2_label=level2[1],
                    name=name,
                    period=period,
                    annual=annual,
                    sheet=self.sheet.name,
                    row=r + 1,
                    cell=a1(r, c),
                )
            )
        return out

    # --- cells ----------------------------------------------------------------------------

    def is_level1(self, text: str) -> bool:
        code, label = split_level("".join(text.split()))
        if code is not None and len(code) == 1 and self.codeset.l1(code):
            return True
        return label is not None and (
            self.codeset.l1_by_label(label) is not None or label.rstrip("指标") in _LEVEL1_WORDS
        )

    def is_level2(self, text: str) -> bool:
        code, label = split_level("".join(text.split()))
        if code is not None and len(code) == 2:
            return True
        return label is not None and self.codeset.l2_by_label(label) is not None

    def money(self, r: int, c: int, text: str) -> Decimal | None:
        try:
            return parse_money(text, self.unit)
        except AmountError:
            self.issue(cat.AMOUNT_INVALID, r, c, text, column_name="金额", text=text)
            return None


def _is_amount(text: str) -> bool:
    try:
        return parse_money(text) is not None
    except AmountError:
        return False


def _values(values: list[str], two: bool) -> tuple[str, str]:
    """(实施周期指标值, 年度指标值) from the values a row gives: two are both, one is the
    year's (or, where the table has one value column only, both)."""
    if len(values) >= 2:
        return values[0], values[1]
    if len(values) == 1:
        return ("", values[0]) if two else (values[0], values[0])
    return "", ""


def _row_text(row: list[Cell]) -> str:
    return " | ".join(t for t in (text_of(v) for v in row) if t)


def read_overall(path: Path, sheet: Sheet, codeset: CodeSet | None = None) -> ReadResult:
    """Read the department-wide table of a sheet `is_overall` found."""
    given = codeset
    reader = _Reader(path, sheet, given or load_codeset(DEFAULT_CODESET))
    table = reader.read()
    name, mixed = detect_codeset((i.level2, i.level2_label) for i in table.indicators)
    chosen = given or load_codeset(name or DEFAULT_CODESET)
    table.codeset = chosen.name
    for indicator in table.indicators:
        resolve_levels(indicator, chosen)
    issues = reader.issues
    if table.department.name is None:
        issues.append(cat.DEPARTMENT_NOT_FOUND.issue(file=str(path), sheet=sheet.name))
    if mixed and given is None:
        issues.append(cat.CODESET_MIXED.issue(file=str(path), codeset=chosen.name))
    summary = TargetTable(
        department=table.department, fiscal_year=table.fiscal_year, codeset=table.codeset
    )
    return ReadResult(
        file=str(path), kind="department", table=summary, issues=issues, overall=table
    )
