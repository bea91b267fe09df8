"""The published project table (项目支出绩效目标表): read it into structured data.

A published table has title lines, a `部门名称：…` or `单位名称：…` line, `单位：万元`, a header
row, a 合计 row (the sum of all projects), and one row per project with its indicators
packed into one cell. 资金使用单位 appear as subtotal rows: amounts, no goal, no
indicators; they group the projects below them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.domain import packed
from perfxl.domain.amounts import ZERO, AmountError, fmt, parse_amount, rounding_tolerance
from perfxl.domain.codesets import CodeSet, load_codeset
from perfxl.domain.fields import PROJECT
from perfxl.domain.model import Department, Indicator, Issue, Project, ReadResult, TargetTable
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, read_sheets

AMOUNT_FIELDS = tuple(f.key for f in PROJECT.money)
# The columns a published table must have (项目编码 and 资金使用单位 are optional).
REQUIRED = ("name", *AMOUNT_FIELDS, "goal", "indicators")
_DEPARTMENT = re.compile(r"^\s*(?:部门|单位)名称\s*[:：]\s*(?P<name>.*?)\s*$")
_DEPARTMENT_LABEL = re.compile(r"^\s*(?:部门|单位)名称\s*[:：]?\s*$")
_YEAR = re.compile(r"(20\d\d)\s*年")
_TOTAL_NAMES = frozenset({"合计", "总计", "合 计", "总 计"})


def _text(value: Cell) -> str:
    """A cell as text as it stands (numbers as Excel shows them)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _header_key(value: Cell) -> str | None:
    field = PROJECT.lookup(_text(value))
    return field.key if field else None


def find_header(sheet: Sheet) -> tuple[int, dict[str, int]] | None:
    """The header row (0-based) and each known column's index, or None."""
    for r, row in enumerate(sheet.rows[:50]):
        columns: dict[str, int] = {}
        for c, value in enumerate(row):
            key = _header_key(value)
            if key is not None and key not in columns:
                columns[key] = c
        if "name" in columns and len(columns) >= 3:
            return r, columns
    return None


def _find_department(sheet: Sheet, header_row: int) -> tuple[Department, int | None]:
    """The department named above the header, and the fiscal year of the title."""
    name: str | None = None
    year: int | None = None
    for row in sheet.rows[:header_row]:
        cells = [_text(v).strip() for v in row]
        for i, text in enumerate(cells):
            if not text:
                continue
            found = _DEPARTMENT.match(text)
            if found and found.group("name") and name is None:
                name = found.group("name")
            elif _DEPARTMENT_LABEL.match(text) and name is None:
                following = [t for t in cells[i + 1 :] if t]
                if following:
                    name = following[0]
            elif year is None and (y := _YEAR.search(text)):
                year = int(y.group(1))
    return Department(name=name), year


@dataclass
class _Row:
    """A data row being read: where it is and what its columns say."""

    index: int
    cells: dict[str, Cell]
    texts: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.texts = {k: _text(v).strip() for k, v in self.cells.items()}

    @property
    def has_amounts(self) -> bool:
        return any(self.texts.get(k) for k in AMOUNT_FIELDS)

    @property
    def has_content(self) -> bool:
        return bool(self.texts.get("goal") or self.texts.get("indicators"))


class _Reader:
    """Reads one sheet; collects issues as it goes."""

    def __init__(self, path: Path, sheet: Sheet, codeset: CodeSet) -> None:
        self.path = path
        self.sheet = sheet
        self.codeset = codeset
        self.issues: list[Issue] = []
        self.columns: dict[str, int] = {}
        self.letters: dict[str, str] = {}
        # The 绩效指标 text of each project as read, so a continuation row joins the text.
        self._indicator_text: dict[int, str] = {}

    def issue(
        self,
        rule: cat.Rule,
        row: int | None,
        key: str | None = None,
        value: object = None,
        **params: Any,
    ) -> None:
        col = self.columns.get(key) if key else None
        self.issues.append(
            rule.issue(
                file=str(self.path),
                sheet=self.sheet.name,
                row=None if row is None else row + 1,
                cell=a1(row, col) if row is not None and col is not None else None,
                column=PROJECT.header(key) if key else None,
                value=value,
                **params,
            )
        )

    def read(self, header_row: int) -> TargetTable:
        for key in REQUIRED:
            if key not in self.columns:
                self.issue(cat.COLUMN_MISSING, header_row, None, column_name=PROJECT.header(key))
        department, year = _find_department(self.sheet, header_row)
        if department.name is None:
            self.issue(cat.DEPARTMENT_NOT_FOUND, None)
        rows = [
            _Row(r, {key: self.sheet.cell(r, c) for key, c in self.columns.items()})
            for r in range(header_row + 1, len(self.sheet.rows))
        ]
        projects = self._projects(rows)
        return TargetTable(
            department=department, fiscal_year=year, codeset=self.codeset.name, projects=projects
        )

    def _projects(self, rows: list[_Row]) -> list[Project]:
        projects: list[Project] = []
        total_row: _Row | None = None
        groups: list[tuple[_Row, list[Project]]] = []
        pending_unit: _Row | None = None
        for row in rows:
            name = row.texts.get("name", "")
            if not any(row.texts.values()):
                if any(_text(v).strip() for v in self.sheet.rows[row.index]):
                    self.issue(
                        cat.ROW_NOT_RECOGNISED,
                        row.index,
                        value=_row_text(self.sheet.rows[row.index]),
                    )
                continue
            if name.replace(" ", "") in {"合计", "总计"} and total_row is None:
                total_row = row
                continue
            if not row.has_content and row.has_amounts and not row.texts.get("code"):
                # A 资金使用单位 subtotal, unless nothing follows it (then a bare project).
                if pending_unit is not None:
                    projects.append(self._project(pending_unit, None))
                pending_unit = row
                continue
            if not name and not row.has_amounts and row.has_content and projects:
                self._continue(projects[-1], row)
                continue
            if not name and not row.has_amounts and not row.has_content:
                self.issue(
                    cat.ROW_NOT_RECOGNISED, row.index, value=_row_text(self.sheet.rows[row.index])
                )
                continue
            if pending_unit is not None:
                groups.append((pending_unit, []))
                pending_unit = None
            unit = groups[-1][0].texts["name"] if groups else None
            project = self._project(row, unit)
            projects.append(project)
            if groups:
                groups[-1][1].append(project)
        if pending_unit is not None:
            projects.append(self._project(pending_unit, None))
        self._check_total(total_row, projects)
        for unit_row, members in groups:
            self._check_subtotal(unit_row, members)
        return projects

    def _amount(self, row: _Row, key: str) -> Decimal | None:
        value = row.cells.get(key)
        try:
            amount = parse_amount(value)
        except AmountError:
            self.issue(
                cat.AMOUNT_INVALID,
                row.index,
                key,
                value=_text(value),
                column_name=PROJECT.header(key),
                text=_text(value),
            )
            return None
        return ZERO if amount is None else amount

    def _project(self, row: _Row, unit: str | None) -> Project:
        amounts = {key: self._amount(row, key) for key in AMOUNT_FIELDS}
        project = Project(
            code=row.texts.get("code") or None,
            name=row.texts.get("name", ""),
            unit=(row.texts.get("unit") or unit) or None,
            goal=packed.clean_cell(row.texts.get("goal", "")),
            sheet=self.sheet.name,
            row=row.index + 1,
            cell=a1(row.index, self.columns["name"]),
            columns=self.letters,
            **amounts,
        )
        self._set_indicators(project, row.index, row.texts.get("indicators", ""))
        self._check_sources(row, project)
        return project

    def _continue(self, project: Project, row: _Row) -> None:
        """A row with only goal or indicator text continues the project above it (a long
        cell split over two rows by a PDF conversion)."""
        assert project.row is not None
        project.goal = packed.clean_cell(project.goal + row.texts.get("goal", ""))
        text = self._indicator_text.get(id(project), "") + row.texts.get("indicators", "")
        # What the first part alone could not parse is judged again on the joined text.
        self.issues = [
            i
            for i in self.issues
            if not (i.code == cat.INDICATOR_UNPARSED.code and i.row == project.row)
        ]
        self._set_indicators(project, project.row - 1, text)

    def _set_indicators(self, project: Project, index: int, text: str) -> None:
        self._indicator_text[id(project)] = text
        indicators = packed.parse(text)
        cell = a1(index, self.columns["indicators"]) if "indicators" in self.columns else None
        for number, indicator in enumerate(indicators, start=1):
            indicator.sheet, indicator.row, indicator.cell = self.sheet.name, index + 1, cell
            if indicator.raw is not None:
                self.issue(
                    cat.INDICATOR_UNPARSED,
                    index,
                    "indicators",
                    value=indicator.raw,
                    number=number,
                    text=indicator.raw,
                )
            else:
                resolve_levels(indicator, self.codeset)
        project.indicators = indicators

    def _check_sources(self, row: _Row, project: Project) -> None:
        if project.total is None or None in (project.fiscal, project.special, project.other):
            return  # an amount that is not a number was reported already
        summed = project.sources_sum()
        if summed != project.total:
            self.issue(
                cat.TOTAL_SOURCES_MISMATCH,
                row.index,
                "total",
                value=row.texts["total"],
                total=fmt(project.total),
                summed=fmt(summed),
                diff=fmt(abs(project.total - summed)),
            )

    def _compare(
        self,
        row: _Row,
        members: list[Project],
        rounding: cat.Rule,
        mismatch: cat.Rule,
        **params: Any,
    ) -> None:
        for key in AMOUNT_FIELDS:
            declared = self._amount(row, key)
            if declared is None:
                continue
            summed = sum((getattr(p, key) or ZERO for p in members), ZERO)
            diff = abs(declared - summed)
            if diff == 0:
                continue
            tolerance = rounding_tolerance(len(members))
            rule = rounding if diff <= tolerance else mismatch
            self.issue(
                rule,
                row.index,
                key,
                value=row.texts.get(key),
                column_name=PROJECT.header(key),
                declared=fmt(declared),
                summed=fmt(summed),
                diff=fmt(diff),
                tolerance=f"{tolerance:.3f}",
                rows=len(members),
                **params,
            )

    def _check_total(self, total_row: _Row | None, projects: list[Project]) -> None:
        if total_row is None:
            if projects:
                self.issue(cat.TOTAL_ROW_MISSING, None)
            return
        self._compare(total_row, projects, cat.DECLARED_TOTAL_ROUNDING, cat.DECLARED_TOTAL_MISMATCH)

    def _check_subtotal(self, unit_row: _Row, members: list[Project]) -> None:
        self._compare(
            unit_row,
            members,
            cat.SUBTOTAL_ROUNDING,
            cat.SUBTOTAL_MISMATCH,
            unit=unit_row.texts["name"],
        )


def _row_text(row: list[Cell]) -> str:
    return " | ".join(t for t in (_text(v).strip() for v in row) if t)


def resolve_levels(indicator: Indicator, codeset: CodeSet) -> None:
    """Fill in a 一级 or 二级 code written as a label only (`产出指标`), from the code set.
    A code that was written is never changed."""
    if indicator.level1 is None and indicator.level1_label:
        found = codeset.l1_by_label(indicator.level1_label)
        indicator.level1 = found.code if found else None
    if indicator.level2 is None and indicator.level2_label:
        found = codeset.l2_by_label(indicator.level2_label)
        indicator.level2 = found.code if found else None


def read_published(
    path: Path, codeset: CodeSet | None = None, sheets: list[Sheet] | None = None
) -> ReadResult:
    """Read a published project table (.xlsx, .csv, .txt …) into structured data.

    Raises FileError only when the file cannot be read at all; everything wrong inside it
    is an issue in the result.
    """
    codeset = codeset or load_codeset()
    sheets = sheets if sheets is not None else read_sheets(path)
    for sheet in sheets:
        found = find_header(sheet)
        if found is None:
            continue
        header_row, columns = found
        reader = _Reader(path, sheet, codeset)
        reader.columns = columns
        reader.letters = {key: column_letter(col) for key, col in columns.items()}
        table = reader.read(header_row)
        return ReadResult(file=str(path), kind="published", table=table, issues=reader.issues)
    issue = cat.HEADER_NOT_FOUND.issue(file=str(path), sheet=sheets[0].name if sheets else None)
    return ReadResult(file=str(path), kind="published", table=TargetTable(), issues=[issue])
