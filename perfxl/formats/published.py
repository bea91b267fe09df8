"""The published project table (项目支出绩效目标表): read it into structured data, and
write structured data back out in the official layout.

A published table has title lines, a `部门名称：…` or `单位名称：…` line, `单位：万元`, a header
row, a 合计 row (the sum of all projects), and one row per project with its indicators
packed into one cell. 资金使用单位 appear as subtotal rows: amounts, no goal, no
indicators; they group the projects below them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.domain import packed
from perfxl.domain.amounts import ZERO, AmountError, fmt, parse_amount, rounding_tolerance
from perfxl.domain.codesets import CodeSet, load_codeset
from perfxl.domain.model import Department, Indicator, Issue, Project, ReadResult, TargetTable
from perfxl.errors import FileError
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, read_sheets

TITLE = "项目支出绩效目标表"
AMOUNT_FIELDS = ("total", "fiscal", "special", "other")

# Column key → (official header, other headers seen for it).
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "code": ("项目编码", ("项目代码", "项目编号")),
    "name": ("项目名称", ("项目",)),
    "unit": ("资金使用单位", ("使用单位",)),
    "total": ("总计", ("合计", "金额合计", "资金总额", "预算金额")),
    "fiscal": ("财政拨款", ("一般公共预算", "财政拨款资金", "财政资金")),
    "special": ("财政专户拨款", ("财政专户管理资金", "财政专户")),
    "other": ("其他资金", ("其他",)),
    "goal": ("绩效目标", ("年度绩效目标", "项目绩效目标")),
    "indicators": ("绩效指标", ("年度绩效指标", "项目绩效指标")),
}
REQUIRED = ("name", "total", "fiscal", "special", "other", "goal", "indicators")
_HEADER_LOOKUP = {
    label: key for key, (main, others) in COLUMNS.items() for label in (main, *others)
}
_HEADER_NOISE = re.compile(r"\s+|[（(]\s*万元\s*[)）]")
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
    return _HEADER_LOOKUP.get(_HEADER_NOISE.sub("", _text(value)))


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
                column=COLUMNS[key][0] if key else None,
                value=value,
                **params,
            )
        )

    def read(self, header_row: int) -> TargetTable:
        for key in REQUIRED:
            if key not in self.columns:
                self.issue(cat.COLUMN_MISSING, header_row, None, column_name=COLUMNS[key][0])
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
                column_name=COLUMNS[key][0],
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
                column_name=COLUMNS[key][0],
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


# --- writing -----------------------------------------------------------------------------

EXPORT_KEYS = ("name", "total", "fiscal", "special", "other", "goal", "indicators")


def _unit_groups(projects: Iterable[Project]) -> list[tuple[str | None, list[Project]]]:
    """Consecutive projects of the same 资金使用单位, in order."""
    groups: list[tuple[str | None, list[Project]]] = []
    for project in projects:
        if groups and groups[-1][0] == project.unit:
            groups[-1][1].append(project)
        else:
            groups.append((project.unit, [project]))
    return groups


def published_rows(table: TargetTable) -> list[list[str | Decimal | None]]:
    """The official layout as rows of cells: header, 合计, then units and projects."""
    with_code = any(p.code for p in table.projects)
    keys = (("code",) if with_code else ()) + EXPORT_KEYS
    rows: list[list[str | Decimal | None]] = [[COLUMNS[k][0] for k in keys]]

    def amounts(
        members: list[Project], label: str, code: str | None = None
    ) -> list[str | Decimal | None]:
        values: dict[str, str | Decimal | None] = {"code": code, "name": label}
        for key in AMOUNT_FIELDS:
            summed = sum((getattr(p, key) or ZERO for p in members), ZERO)
            values[key] = summed if key == "total" or summed else None
        return [values.get(k) for k in keys]

    rows.append(amounts(table.projects, "合计"))
    for unit, members in _unit_groups(table.projects):
        if unit:
            rows.append(amounts(members, unit))
        for p in members:
            values: dict[str, str | Decimal | None] = {
                "code": p.code,
                "name": p.name,
                "goal": p.goal,
                "indicators": packed.render(p.indicators),
                "total": p.total,
                "fiscal": p.fiscal or None,
                "special": p.special or None,
                "other": p.other or None,
            }
            rows.append([values.get(k) for k in keys])
    return rows


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


def write_published(tables: TargetTable | list[TargetTable], path: Path) -> Path:
    """Write the official layout to an .xlsx workbook: one sheet per table."""
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
            _write_published_sheet(workbook.add_worksheet(name), table, formats)
    finally:
        workbook.close()
    return path


def _write_published_sheet(ws: Any, table: TargetTable, f: dict[str, Any]) -> None:
    rows = published_rows(table)
    header = rows[0]
    last = len(header) - 1
    ws.merge_range(0, 0, 0, last, TITLE, f["title"])
    if table.fiscal_year:
        ws.write_string(1, 0, f"年度：{table.fiscal_year}年")
    ws.write_string(2, 0, f"部门名称：{table.department.name or ''}")
    ws.write_string(3, 0, "单位：万元")
    widths = {"项目编码": 16, "项目名称": 28, "绩效目标": 50, "绩效指标": 80}
    for c, label in enumerate(header):
        ws.write_string(4, c, str(label), f["head"])
        ws.set_column(c, c, widths.get(str(label), 13))
    indicators_col = header.index("绩效指标")
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
