"""The indicator grid (G1): one row per indicator, as the national budget system exports and
imports them, and as many provinces publish them.

    部门预算项目绩效目标申报表(2023年度)
    金额单位:元
    单位名称 | 项目名称 | 预算数 | 年度目标 | 一级指标 | 二级指标 | 三级指标 | 指标性质 |
    指标值 | 度量单位 | 权重 | 指标方向性

A project's fields (unit, name, amount, goal) are merged down over its indicator rows, or
blank on them in a CSV export or a re-typed copy; a row with a unit and an amount but no
project and no indicator is a subtotal. Units and projects may carry their codes before
their names (`820001-某某镇人民政府`, `51000021R000000019951-工资性支出`). A value is one cell
(`≥95%`) or three (`≥ | 95 | %`); the column captioned 指标性质 holds 定量/定性, or, in some
provinces, the operator: its content says which. Weights and directions are kept; a column
that is no field is kept as an extra field of the project (left of the indicators) or of
the indicator (right of them).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import ZERO, AmountError, fmt, parse_money, rounding_tolerance
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import INDICATOR, PROJECT, caption_key
from perfxl.domain.model import (
    Department,
    ExtraField,
    Indicator,
    Issue,
    Project,
    ReadResult,
    TargetTable,
)
from perfxl.domain.packed import clean_cell
from perfxl.domain.values import OPERATORS, QUALITATIVE, compose_value, fold, parse_value
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, text_of
from perfxl.formats.tables import (
    Header,
    apply_codeset,
    first_header,
    is_organisation,
    parse_weight,
    read_preamble,
    sources_disagree,
    split_code,
    split_level,
    sum_row,
)

LAYOUT = "指标明细表（每个指标一行）"
KINDS = (("project", PROJECT), ("indicator", INDICATOR))
_PROJECT = ("project.code", "project.name", "project.unit", "project.goal", "project.long_goal")
_MONEY = tuple(f"project.{f.key}" for f in PROJECT.money)
_OPERATOR_SYMBOLS = {fold(op) for op in OPERATORS} | {"=", ">", "<", ">=", "<=", "≥", "≤", "定性"}
_SERIALS = ("序号", "项目序号", "编号")
_NATURES: dict[str, Literal["定量", "定性"]] = {"定量": "定量", "定性": "定性"}


def find_header(sheet: Sheet, aliases: dict[str, str] | None = None) -> Header | None:
    """A header naming a project (项目名称) and an indicator (三级指标) with a level and a
    value: the grid's."""

    def accept(header: Header) -> bool:
        found = set(header.columns)
        level = {"indicator.level1", "indicator.level2"} & found
        value = {"indicator.annual", "indicator.period"} & found
        return {"project.name", "indicator.name"} <= found and bool(level) and bool(value)

    header = first_header(sheet.rows, KINDS, accept, aliases)
    if header is not None:
        _by_content(sheet, header)
    return header


def _by_content(sheet: Sheet, header: Header) -> None:
    """A column captioned 指标性质 that holds operators is the operator column (and one
    captioned 计算符号 that holds 定量/定性 is the nature); a column captioned 单位 that holds
    the names of units is the 资金使用单位, and a later one is the 计量单位."""
    columns = header.columns
    unit = columns.get("indicator.unit")
    if unit is not None:
        values = [text_of(row[unit]) for row in sheet.rows[header.row + 1 :] if unit < len(row)]
        if _organisations([v for v in values if v]):
            columns.pop("indicator.unit")
            columns.setdefault("project.unit", unit)
            later = header.others.get("indicator.unit", [])
            if later:
                columns["indicator.unit"] = later[0]
    for key, other, test in (
        ("indicator.nature", "indicator.operator", _is_operator),
        ("indicator.operator", "indicator.nature", lambda t: t in _NATURES),
    ):
        c = columns.get(key)
        if c is None or other in columns:
            continue
        values = [text_of(row[c]) for row in sheet.rows[header.row + 1 :] if c < len(row)]
        values = [v for v in values if v]
        if values and sum(map(test, values)) * 2 > len(values):
            columns[other] = columns.pop(key)


def _organisations(values: list[str]) -> bool:
    """Do a column's cells name units (某市档案馆) rather than units of measure (卷, %)?"""
    return bool(values) and sum(map(is_organisation, values)) * 2 > len(values)


def _is_operator(text: str) -> bool:
    """`≥`, `>=`, `＝`, or a word that stands for one (大于等于, 不低于, 小于或等于)."""
    folded = "".join(fold(text).split())
    if folded in _OPERATOR_SYMBOLS:
        return True
    if any(ch.isdigit() for ch in folded):
        return False
    return parse_value(f"{folded}1").operator not in (None, QUALITATIVE)


class _Reader:
    """Reads one sheet; collects issues as it goes."""

    def __init__(self, path: Path, sheet: Sheet, header: Header, unit: str | None) -> None:
        self.path, self.sheet, self.header = path, sheet, header
        self.unit = unit  # the money unit a user's layout gives
        self.columns = header.columns
        self.issues: list[Issue] = []
        first_indicator = min(
            (c for k, c in self.columns.items() if k.startswith("indicator.")), default=0
        )
        # Columns that are no field: the project's left of the indicators, the indicator's
        # right of them.
        self.extras: dict[int, tuple[str, str]] = {}
        for c, caption in header.unknown.items():
            entity = "project" if c < first_indicator else "indicator"
            self.extras[c] = (entity, caption_key(caption) or f"列{c + 1}")
        self.letters = {
            key.split(".", 1)[1]: column_letter(c)
            for key, c in self.columns.items()
            if key.startswith("indicator.")
        }
        self.project_letters = {
            key.split(".", 1)[1]: column_letter(c)
            for key, c in self.columns.items()
            if key.startswith("project.")
        }
        self.units: dict[str, str | None] = {}

    def issue(
        self, rule: cat.Rule, row: int | None, key: str | None = None, value: object = None,
        **params: Any,
    ) -> None:  # fmt: skip
        col = self.columns.get(key) if key else None
        kind, _, name = (key or "").partition(".")
        caption = (PROJECT if kind == "project" else INDICATOR).header(name) if key else None
        self.issues.append(
            rule.issue(
                file=str(self.path),
                sheet=self.sheet.name,
                row=None if row is None else row + 1,
                cell=a1(row, col) if row is not None and col is not None else None,
                column=caption,
                value=value,
                **params,
            )
        )

    def cell(self, row: list[Cell], key: str) -> str:
        c = self.columns.get(key)
        return text_of(row[c]) if c is not None and c < len(row) else ""

    def amount(self, r: int, row: list[Cell], key: str) -> Decimal | None:
        c = self.columns.get(key)
        value = row[c] if c is not None and c < len(row) else None
        try:
            amount = parse_money(value, self.units.get(key))
        except AmountError:
            text = text_of(value)
            header = PROJECT.header(key.split(".", 1)[1])
            self.issue(cat.AMOUNT_INVALID, r, key, text, column_name=header, text=text)
            return None
        if amount is None and not text_of(value):
            return ZERO
        return amount

    def read(self) -> TargetTable:
        header_row = self.header.row
        preamble = read_preamble(self.sheet.rows[: self.header.first])
        for key in _MONEY:
            c = self.columns.get(key)
            if c is not None:
                self.units[key] = self.unit or self.header.units.get(c) or preamble.unit or "万元"
        projects: list[Project] = []
        groups: list[tuple[int, list[Cell], list[Project]]] = []  # units over their projects
        closing: list[tuple[int, list[Cell], list[Project]]] = []  # 小计 rows under theirs
        total: tuple[int, list[Cell]] | None = None
        current: Project | None = None
        signature: tuple[str, ...] = ()
        # Where every indicator row repeats its project's cells, the rows may be sorted by
        # anything (by 一级 across projects): a row like an earlier project's is that one's.
        repeated = self.repeats_projects()
        seen: dict[tuple[str, ...], Project] = {}
        serial = [c for c, (e, key) in self.extras.items()
                  if e == "project" and key in _SERIALS and self.numbers_projects(c)]  # fmt: skip
        since = 0  # the first project a 小计 row would add up
        for r in range(header_row + 1, len(self.sheet.rows)):
            row = self.sheet.rows[r]
            name = self.cell(row, "project.name")
            indicator = self.cell(row, "indicator.name")
            own = tuple(self.cell(row, k) for k in (*_PROJECT, *_MONEY))
            own += tuple(text_of(row[c]) for c in serial if c < len(row))  # 序号 tells apart
            if not any(text_of(v) for v in row):
                continue
            labels = (name, self.cell(row, "project.code"), self.cell(row, "project.unit"))
            kind = sum_row(*labels) if not indicator else None
            if kind == "total":
                total = (r, row)
                continue
            if kind == "subtotal":  # under its projects
                closing.append((r, row, projects[since:]))
                since, current = len(projects), None
                continue
            if not name and not indicator:
                if any(self.cell(row, k) for k in _MONEY):  # a subtotal: a unit and its money
                    groups.append((r, row, []))
                    since = len(projects)
                else:
                    self.issue(cat.ROW_NOT_RECOGNISED, r, value=_row_text(row))
                continue
            if name and (current is None or own != signature):
                signature = own
                if repeated and own in seen:
                    current = seen[own]
                else:
                    current = seen[own] = self.project(r, row)
                    projects.append(current)
                    if groups:
                        groups[-1][2].append(current)
            if current is None:
                self.issue(cat.ROW_NOT_RECOGNISED, r, value=_row_text(row))
                continue
            values = self.cell(row, "indicator.annual") or self.cell(row, "indicator.period")
            if indicator or values:
                current.indicators.append(self.indicator(r, row, current))
        self.check_sums(total, projects, [*groups, *closing])
        department = self.department(preamble.department, projects)
        extras = {(e, key): caption for c, (e, key) in self.extras.items()
                  for caption in [self.header.unknown[c]]}  # fmt: skip
        return TargetTable(
            department=department,
            fiscal_year=preamble.year,
            projects=projects,
            extras=[
                ExtraField(entity=e, key=k, header=caption) for (e, k), caption in extras.items()
            ],
        )

    def repeats_projects(self) -> bool:
        """Does every indicator row give its project's name (a CSV export, a sorted copy),
        rather than only the first row of each project?"""
        named = rows = 0
        for row in self.sheet.rows[self.header.row + 1 :]:
            if self.cell(row, "indicator.name"):
                rows += 1
                named += bool(self.cell(row, "project.name"))
        return rows > 1 and named == rows

    def numbers_projects(self, c: int) -> bool:
        """Does a 序号 column number the projects (blank under each, or the same number on
        each of its rows), not every indicator row (1, 2, 3, … down the grid)?"""
        rows = self.sheet.rows[self.header.row + 1 :]
        values = [text_of(row[c]) if c < len(row) else "" for row in rows
                  if self.cell(row, "indicator.name")]  # fmt: skip
        return len(set(values)) < len(values)

    def project(self, r: int, row: list[Cell]) -> Project:
        amounts = {key.split(".", 1)[1]: self.amount(r, row, key) for key in _MONEY
                   if key in self.columns}  # fmt: skip
        if "total" not in amounts and amounts:
            amounts["total"] = sum((v for v in amounts.values() if v is not None), ZERO)
        code = self.cell(row, "project.code") or None
        name = self.cell(row, "project.name")
        if code is None:
            code, name = split_code(name)
        _, unit = split_code(self.cell(row, "project.unit"))
        project = Project(
            code=code,
            name=name,
            unit=unit or None,
            goal=clean_cell(self.cell(row, "project.goal")),
            long_goal=clean_cell(self.cell(row, "project.long_goal")),
            extra=self.extra(row, "project"),
            sheet=self.sheet.name,
            row=r + 1,
            cell=a1(r, self.columns["project.name"]),
            columns=self.project_letters,
            **amounts,
        )
        written = [key.split(".", 1)[1] for key in _MONEY if key in self.columns]
        figures = sources_disagree(project, written)
        if figures is not None:
            total = self.cell(row, "project.total")
            self.issue(cat.TOTAL_SOURCES_MISMATCH, r, "project.total", total, **figures)
        return project

    def indicator(self, r: int, row: list[Cell], project: Project) -> Indicator:
        before = project.indicators[-1] if project.indicators else None
        level1 = split_level(self.cell(row, "indicator.level1"))
        level2 = split_level(self.cell(row, "indicator.level2"), 2)
        if level1 == (None, None) and before is not None:  # merged down, or left blank
            level1 = (before.level1, before.level1_label)
        if level2 == (None, None) and before is not None and level1[1] == before.level1_label:
            level2 = (before.level2, before.level2_label)
        operator = self.cell(row, "indicator.operator")
        unit = self.cell(row, "indicator.unit")
        values = {}
        for key in ("period", "annual"):
            c = self.columns.get(f"indicator.{key}")
            text = self.sheet.shown(r, c) if c is not None else ""
            split = "indicator.operator" in self.columns or "indicator.unit" in self.columns
            values[key] = compose_value(operator, text, unit) if split and text else text
        nature = _NATURES.get(self.cell(row, "indicator.nature"))
        weight_text = self.cell(row, "indicator.weight")
        try:
            weight = parse_weight(weight_text)
        except ValueError:
            weight = None
            self.issue(cat.WEIGHT_INVALID, r, "indicator.weight", weight_text, text=weight_text)
        name = self.cell(row, "indicator.name")
        return Indicator(
            level1=level1[0],
            level1_label=level1[1],
            level2=level2[0],
            level2_label=level2[1],
            name=name.lstrip("★☆*※ "),
            period=values["period"],
            annual=values["annual"],
            nature=nature,
            weight=weight,
            direction=self.cell(row, "indicator.direction") or None,
            extra=self.extra(row, "indicator"),
            sheet=self.sheet.name,
            row=r + 1,
            cell=a1(r, self.columns["indicator.name"]),
            columns=self.letters,
        )

    def extra(self, row: list[Cell], entity: str) -> dict[str, str | Decimal]:
        return {
            key: text
            for c, (kind, key) in self.extras.items()
            if kind == entity and c < len(row) and (text := text_of(row[c]))
        }

    def department(self, named: str | None, projects: list[Project]) -> Department:
        """The department the table names above its header, else the one unit all of its
        rows give (its code split off)."""
        if named:
            code, name = split_code(named)
            return Department(code=code, name=name)
        units = {text_of(self.sheet.rows[p.row - 1][self.columns["project.unit"]])
                 for p in projects if p.row and "project.unit" in self.columns}  # fmt: skip
        if len(units) == 1:
            code, name = split_code(units.pop())
            return Department(code=code, name=name)
        self.issue(cat.DEPARTMENT_NOT_FOUND, None)
        return Department()

    def check_sums(
        self,
        total: tuple[int, list[Cell]] | None,
        projects: list[Project],
        groups: list[tuple[int, list[Cell], list[Project]]],
    ) -> None:
        """The declared 合计 and the subtotals against the projects they add up."""
        checks = [(total, projects, cat.DECLARED_TOTAL_ROUNDING, cat.DECLARED_TOTAL_MISMATCH)]
        checks += [((r, row), members, cat.SUBTOTAL_ROUNDING, cat.SUBTOTAL_MISMATCH)
                   for r, row, members in groups if members]  # fmt: skip
        for found, members, rounding, mismatch in checks:
            if found is None:
                continue
            r, row = found
            unit = self.cell(row, "project.unit") or self.cell(row, "project.name")
            for key in _MONEY:
                if key not in self.columns:
                    continue
                declared = self.amount(r, row, key)
                if declared is None:
                    continue
                attribute = key.split(".", 1)[1]
                summed = sum((_amount(p, attribute) for p in members), ZERO)
                diff = abs(declared - summed)
                if diff == 0:
                    continue
                tolerance = rounding_tolerance(len(members), self.units.get(key))
                self.issue(
                    rounding if diff <= tolerance else mismatch,
                    r,
                    key,
                    self.cell(row, key),
                    column_name=PROJECT.header(attribute),
                    declared=fmt(declared),
                    summed=fmt(summed),
                    diff=fmt(diff),
                    tolerance=f"{tolerance.normalize():f}",
                    rows=len(members),
                    unit=unit,
                )


def _amount(project: Project, key: str) -> Decimal:
    value = project.get(key)
    return value if isinstance(value, Decimal) else ZERO


def _row_text(row: list[Cell]) -> str:
    return " | ".join(t for t in (text_of(v) for v in row) if t)


def read_grid(
    path: Path, sheet: Sheet, header: Header, codeset: CodeSet | None = None,
    unit: str | None = None,
) -> ReadResult:  # fmt: skip
    """Read the grid of a sheet whose header `find_header` found."""
    reader = _Reader(path, sheet, header, unit)
    table = reader.read()
    mixed = apply_codeset(table, codeset, str(path))
    issues = [*reader.issues, *([mixed] if mixed else [])]
    return ReadResult(file=str(path), kind="grid", table=table, issues=issues)
