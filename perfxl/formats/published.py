"""The published project table (项目支出绩效目标表), the packed layout: read it into
structured data.

A published table has title lines, a `部门名称：…` or `单位名称：…` line, `单位：万元` (or 元),
a header row, a 合计 row (the sum of all projects), and one row per project with its
indicators packed into one cell. 资金使用单位 appear as subtotal rows: amounts, no goal, no
indicators; they group the projects below them (the header then often reads
`项目名称（资金使用单位）`). Columns are found by what their captions mean; a column that is
no field of perfxl's is kept as an extra field, never dropped. Amounts in 元 are converted
to 万元 exactly; `*`, `——`, `/` are amounts that do not apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.domain import packed
from perfxl.domain.amounts import ZERO, AmountError, fmt, parse_money, rounding_tolerance
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import PROJECT, caption_key
from perfxl.domain.model import Department, ExtraField, Issue, Project, ReadResult, TargetTable
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, read_sheets
from perfxl.formats.tables import (
    Header,
    apply_codeset,
    first_header,
    is_organisation,
    read_preamble,
    sources_disagree,
    split_code,
    sum_row,
)

_LIST_START = re.compile(r"^\s*(?:1\s*[、.．]|一\s*、|[（(]\s*[1一]\s*[)）]|①)")
LAYOUT = "公开表（每个项目一行，指标合并在一个单元格）"
AMOUNT_FIELDS = tuple(f.key for f in PROJECT.money)
# The columns the layout cannot do without (项目编码, 资金使用单位 and the sources may be
# absent: a table that has no 财政专户拨款 has none).
REQUIRED = ("name", "goal", "indicators")


def _text(value: Cell) -> str:
    """A cell as text as it stands (numbers as Excel shows them)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def find_header(sheet: Sheet, aliases: dict[str, str] | None = None) -> Header | None:
    """The header row: one naming 项目名称, 绩效指标 and at least one more field (`aliases`:
    captions a user's layout gives the fields)."""

    def accept(header: Header) -> bool:
        return {"name", "indicators"} <= set(header.columns) and len(header.columns) >= 3

    return first_header(sheet.rows, [("project", PROJECT)], accept, aliases)


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
    def extras(self) -> dict[str, str]:
        return {k[1:]: v for k, v in self.texts.items() if k.startswith("+") and v}

    @property
    def has_content(self) -> bool:
        return bool(self.texts.get("goal") or self.texts.get("indicators"))


class _Reader:
    """Reads one sheet; collects issues as it goes."""

    def __init__(self, path: Path, sheet: Sheet, header: Header, unit: str | None = None) -> None:
        self.path = path
        self.unit = unit  # the money unit a user's layout gives
        self.sheet = sheet
        self.issues: list[Issue] = []
        self.columns = dict(header.columns)
        # A column that is no field is kept as an extra one, under its caption (`+caption`).
        self.extras = {caption_key(c) or f"列{n + 1}": c for n, c in header.unknown.items()}
        for n, caption in header.unknown.items():
            self.columns.setdefault("+" + (caption_key(caption) or f"列{n + 1}"), n)
        self.letters = {key: column_letter(col) for key, col in self.columns.items()}
        self.header = header
        self.units: dict[str, str] = {}  # amount field → 元 / 万元
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

    def read(self) -> TargetTable:
        header_row = self.header.row
        for key in REQUIRED:
            if key not in self.columns:
                self.issue(cat.COLUMN_MISSING, header_row, None, column_name=PROJECT.header(key))
        preamble = read_preamble(self.sheet.rows[: self.header.first])
        for key in AMOUNT_FIELDS:
            if key in self.columns:
                unit = (
                    self.unit or self.header.units.get(self.columns[key]) or preamble.unit or "万元"
                )
                self.units[key] = unit
        code, name = split_code(preamble.department) if preamble.department else (None, None)
        if name is None:
            self.issue(cat.DEPARTMENT_NOT_FOUND, None)
        self.declared_total: dict[str, Decimal] = {}
        rows = [
            _Row(r, {key: self.sheet.cell(r, c) for key, c in self.columns.items()})
            for r in range(header_row + 1, len(self.sheet.rows))
        ]
        projects = self._projects(rows)
        return TargetTable(
            department=Department(code=code, name=name),
            fiscal_year=preamble.year,
            projects=projects,
            declared_total=self.declared_total,
            extras=[
                ExtraField(entity="project", key=key, header=caption)
                for key, caption in self.extras.items()
            ],
        )

    def _projects(self, rows: list[_Row]) -> list[Project]:
        projects: list[Project] = []
        total_row: _Row | None = None
        groups: list[tuple[_Row, list[Project]]] = []
        closing: list[tuple[_Row, list[Project]]] = []  # 小计 rows, under their projects
        since = 0  # the first project a 小计 row would add up
        # Lines of goal or indicator text with no name and no amounts: a long cell split by
        # a PDF conversion. They continue the project above, or, where they start a list of
        # their own (`1、…`) or come first, the next one (a cell centred on its name's line).
        lines: list[_Row] = []

        def place(following: _Row | None) -> None:
            ahead = len(lines)
            if following is not None:
                starts = [not projects or bool(_LIST_START.match(line.texts.get("indicators", "")))
                          for line in lines]  # fmt: skip
                ahead = starts.index(True) if True in starts else ahead
            for line in lines[:ahead]:
                if projects:
                    self._continue(projects[-1], line)
                else:
                    cells = self.sheet.rows[line.index]
                    self.issue(cat.ROW_NOT_RECOGNISED, line.index, value=_row_text(cells))
            if following is not None:
                for key in ("goal", "indicators"):
                    before = "".join(line.texts.get(key, "") for line in lines[ahead:])
                    following.texts[key] = before + following.texts.get(key, "")
            lines.clear()

        for i, row in enumerate(rows):
            name = row.texts.get("name", "")
            if not any(row.texts.values()):
                if any(_text(v).strip() for v in self.sheet.rows[row.index]):
                    self.issue(
                        cat.ROW_NOT_RECOGNISED,
                        row.index,
                        value=_row_text(self.sheet.rows[row.index]),
                    )
                continue
            if not name and not row.has_amounts and row.has_content:
                lines.append(row)
                continue
            kind = sum_row(name, row.texts.get("code", "")) if not row.has_content else None
            group = not kind and not row.has_content and row.has_amounts
            group = group and self._heads_group(rows, i)
            place(row if not kind and not group and (name or row.has_amounts) else None)
            if kind == "total" and total_row is None:
                total_row = row
                continue
            if kind == "subtotal":
                closing.append((row, projects[since:]))
                since = len(projects)
                continue
            if group:
                groups.append((row, []))  # a 资金使用单位 over its projects
                since = len(projects)
                continue
            if not name and not row.has_amounts and not row.has_content:
                self.issue(
                    cat.ROW_NOT_RECOGNISED, row.index, value=_row_text(self.sheet.rows[row.index])
                )
                continue
            unit = split_code(groups[-1][0].texts["name"])[1] if groups else None
            project = self._project(row, unit)
            projects.append(project)
            if groups:
                groups[-1][1].append(project)
        place(None)
        self._check_total(total_row, projects)
        for unit_row, members in [*groups, *closing]:
            self._check_subtotal(unit_row, members)
        return projects

    def _heads_group(self, rows: list[_Row], at: int) -> bool:
        """Is a row with amounts but no goal and no indicators a 资金使用单位 over the
        projects that follow it (its amounts are theirs added up, or it names a unit),
        rather than a project left without them?"""
        head, members = rows[at], []
        for row in rows[at + 1 :]:
            if not any(row.texts.values()):
                continue
            if not row.has_content and (row.has_amounts or sum_row(row.texts.get("name", ""))):
                break  # the next unit, a 小计 or a 合计
            if row.texts.get("name"):
                members.append(row)
        if not members:
            return False
        compared = []
        for key in AMOUNT_FIELDS:
            declared = self._quiet(head, key)
            if key in self.columns and declared is not None:
                summed = sum((self._quiet(m, key) or ZERO for m in members), ZERO)
                tolerance = rounding_tolerance(len(members), self.units.get(key))
                compared.append(abs(declared - summed) <= tolerance)
        return (bool(compared) and all(compared)) or is_organisation(head.texts.get("name", ""))

    def _quiet(self, row: _Row, key: str) -> Decimal | None:
        """An amount, or None where the cell holds none (reported when its row is read)."""
        try:
            return parse_money(row.cells.get(key), self.units.get(key))
        except AmountError:
            return None

    def _amount(self, row: _Row, key: str) -> Decimal | None:
        """An amount in 万元; a blank cell is zero, one that does not apply is none."""
        value = row.cells.get(key)
        if key not in self.columns:
            return None  # the table has no such column
        try:
            amount = parse_money(value, self.units.get(key))
            if amount is None and not _text(value).strip():
                return ZERO
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
        return amount

    def _project(self, row: _Row, unit: str | None) -> Project:
        amounts = {key: self._amount(row, key) for key in AMOUNT_FIELDS}
        if "total" not in self.columns and any(v is not None for v in amounts.values()):
            amounts["total"] = sum((v for v in amounts.values() if v is not None), ZERO)
        code, name = row.texts.get("code") or None, row.texts.get("name", "")
        if code is None:
            code, name = split_code(name)
        project = Project(
            code=code,
            name=name,
            unit=split_code(row.texts.get("unit", ""))[1] or unit or None,
            goal=packed.clean_cell(row.texts.get("goal", "")),
            long_goal=packed.clean_cell(row.texts.get("long_goal", "")),
            extra=row.extras,
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
        project.indicators = indicators

    def _check_sources(self, row: _Row, project: Project) -> None:
        figures = sources_disagree(project, self.columns)
        if figures is not None:
            value = row.texts["total"]
            self.issue(cat.TOTAL_SOURCES_MISMATCH, row.index, "total", value=value, **figures)

    def _compare(
        self,
        row: _Row,
        members: list[Project],
        rounding: cat.Rule,
        mismatch: cat.Rule,
        **params: Any,
    ) -> None:
        for key in AMOUNT_FIELDS:
            declared = self._amount(row, key) if key in self.columns else None
            if declared is None:
                continue
            summed = sum((getattr(p, key) or ZERO for p in members), ZERO)
            diff = abs(declared - summed)
            if diff == 0:
                continue
            tolerance = rounding_tolerance(len(members), self.units.get(key))
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
                tolerance=f"{tolerance.normalize():f}",
                rows=len(members),
                **params,
            )

    def _check_total(self, total_row: _Row | None, projects: list[Project]) -> None:
        if total_row is None:
            if projects:
                self.issue(cat.TOTAL_ROW_MISSING, None)
            return
        self._compare(total_row, projects, cat.DECLARED_TOTAL_ROUNDING, cat.DECLARED_TOTAL_MISMATCH)
        for key in AMOUNT_FIELDS:
            declared = self._quiet(total_row, key) if key in self.columns else None
            if declared is not None:
                self.declared_total[key] = declared

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


def read_packed(
    path: Path, sheet: Sheet, header: Header, codeset: CodeSet | None = None,
    unit: str | None = None,
) -> ReadResult:  # fmt: skip
    """Read the packed table of a sheet whose header `find_header` found."""
    reader = _Reader(path, sheet, header, unit)
    table = reader.read()
    mixed = apply_codeset(table, codeset, str(path))
    issues = [*reader.issues, *([mixed] if mixed else [])]
    return ReadResult(file=str(path), kind="published", table=table, issues=issues)


def read_published(
    path: Path, codeset: CodeSet | None = None, sheets: list[Sheet] | None = None
) -> ReadResult:
    """Read a published project table (.xlsx, .csv, .txt …) into structured data; the code
    set is `codeset`, else the one the table's codes tell.

    Raises FileError only when the file cannot be read at all; everything wrong inside it
    is an issue in the result.
    """
    sheets = sheets if sheets is not None else read_sheets(path)
    for sheet in sheets:
        header = find_header(sheet)
        if header is not None:
            return read_packed(path, sheet, header, codeset)
    issue = cat.HEADER_NOT_FOUND.issue(file=str(path), sheet=sheets[0].name if sheets else None)
    return ReadResult(file=str(path), kind="published", table=TargetTable(), issues=[issue])
