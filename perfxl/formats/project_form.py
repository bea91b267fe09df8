"""The per-project form (G2, 项目支出绩效目标申报表): one form per project, one per sheet or
several down a sheet.

A form is a block of labels and values (项目名称, 主管部门, 实施单位, 项目负责人, 项目属性
`新增项目□ 延续项目√`, 资金总额 `10606.7522万元`, 其中：财政拨款 …, 项目起止时间), the goals
(长期目标 / 年度目标, `目标1：… 目标2：…`), and an indicator grid (一级 · 二级 · 三级 · 指标值,
sometimes 备注 or 绩效标准); some forms have two grids, 长期绩效指标 and 年度绩效指标, instead
of two value columns. A label and its value may share a cell (`开始时间2019/1/1`); level
cells are merged down; `★` marks a core indicator; one form puts the 二级 names in the
column captioned 一级指标 and the indicators in the one captioned 二级指标, which their
vocabulary tells. Labels that are no field of perfxl's are kept as extra fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import AmountError, parse_money, unit_of
from perfxl.domain.codesets import DEFAULT_CODESET, CodeSet, load_codeset
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
from perfxl.domain.values import compose_value
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, text_of
from perfxl.formats.tables import (
    Header,
    apply_codeset,
    match_header,
    parse_weight,
    read_preamble,
    sources_disagree,
    split_code,
    split_level,
)

LAYOUT = "项目绩效目标申报表（每个项目一张表）"
_DEPARTMENT_LABELS = frozenset({"主管部门", "部门名称", "主管单位", "预算部门", "主管部门及代码"})
_SECTION_LONG = re.compile(r"(长期|实施期|中长期|总体)绩效指标")
_SECTION_YEAR = re.compile(r"(年度|当年)绩效指标")
_CHECKED = re.compile(r"([^□√☑■☐✓✔\s]+)\s*[√☑■✓✔]")
_LABEL_PREFIX = re.compile(r"^(开始时间|结束时间|起始时间|截止时间)\s*[:：]?\s*(.+)$")
_MONEY = {f.key for f in PROJECT.money}


@dataclass
class _Form:
    """One form's rows: its label block, and each indicator grid (header row, rows, and
    which value a one-value grid gives: annual or period)."""

    start: int
    end: int
    grids: list[tuple[Header, int, int, str]] = field(default_factory=list)


def _is_name_row(row: list[Cell]) -> bool:
    """Does the row give a project's name as a label and a value (`项目名称 | XX项目`)?"""
    texts = [text_of(v) for v in row]
    for c, text in enumerate(texts):
        found = PROJECT.lookup(text)
        if found is not None and found.key == "name":
            return any(t and PROJECT.lookup(t) is None for t in texts[c + 1 :])
        if _LABEL_PREFIX.match(text) is None and text.startswith("项目名称") and len(text) > 5:
            return True  # `项目名称：XX项目` in one cell
    return False


def _grid_header(row: list[Cell]) -> Header | None:
    header = match_header(row, [("indicator", INDICATOR)])
    found = set(header.columns)
    if {"level1", "level2"} <= found or ({"name"} <= found and ({"level1", "level2"} & found)):
        return header
    return None


def find_forms(sheet: Sheet) -> list[_Form]:
    """The forms down a sheet: each from a 项目名称 row to the next."""
    starts = [r for r, row in enumerate(sheet.rows) if _is_name_row(row)]
    forms = [
        _Form(s, starts[n + 1] if n + 1 < len(starts) else len(sheet.rows))
        for n, s in enumerate(starts)
    ]
    for form in forms:
        value = "annual"
        r = form.start
        while r < form.end:
            row = sheet.rows[r]
            joined = "".join(text_of(v) for v in row)
            if _SECTION_LONG.search(joined) and _grid_header(row) is None:
                value = "period"
            elif _SECTION_YEAR.search(joined) and _grid_header(row) is None:
                value = "annual"
            header = _grid_header(row)
            if header is not None:
                end = r + 1
                while end < form.end and _grid_row(sheet.rows[end], header):
                    end += 1
                header.row = r
                form.grids.append((header, r + 1, end, value))
                r = end
                continue
            r += 1
    return [f for f in forms if f.grids]


def _grid_row(row: list[Cell], header: Header) -> bool:
    """A row of the grid: something in its columns, and not a new section or header."""
    joined = "".join(text_of(v) for v in row)
    if not joined or _SECTION_LONG.search(joined) or _SECTION_YEAR.search(joined):
        return False
    return _grid_header(row) is None and any(
        text_of(row[c]) for c in header.columns.values() if c < len(row)
    )


class _Reader:
    def __init__(self, path: Path, sheet: Sheet, unit: str | None) -> None:
        self.path, self.sheet, self.unit = path, sheet, unit
        self.form_unit = unit
        self.label_units: dict[str, str] = {}  # field → the unit its label gives (资金总额（元）)
        self.column_units: dict[int, str] = {}  # column → the unit its caption gives
        self.issues: list[Issue] = []
        self.extras: dict[tuple[str, str], str] = {}  # (entity, key) → caption
        self.department: str | None = None

    def issue(self, rule: cat.Rule, r: int, c: int | None, caption: str, value: str) -> None:
        self.issues.append(
            rule.issue(
                file=str(self.path),
                sheet=self.sheet.name,
                row=r + 1,
                cell=a1(r, c) if c is not None else None,
                column=caption,
                value=value,
                column_name=caption,
                text=value,
            )
        )

    def form(self, form: _Form, unit: str | None) -> Project:
        """One form's project; `unit`: the money unit a line above the form gives."""
        self.form_unit = unit or self.unit
        self.label_units, self.column_units = {}, {}
        first_grid = form.grids[0][0].first
        values: dict[str, tuple[str, int, int]] = {}  # field key → (text, row, column)
        extra: dict[str, str | Decimal] = {}
        rows = self.sheet.rows
        r = form.start
        while r < first_grid:
            pairs = _pairs(rows[r])
            if pairs and all(not v for _, _, v, _ in pairs) and r + 1 < first_grid:
                below = rows[r + 1]  # captions over a row of values
                pairs = [(c, label, text_of(below[c]) if c < len(below) else "", c)
                         for c, label, _, _ in pairs]  # fmt: skip
                # A small table (项目 | 金额（元）): a caption's unit holds down its column.
                self.column_units.update(
                    {c: unit for c, label, _, _ in pairs if (unit := unit_of(label))}
                )
                r += 1
            for c, label, value, vc in pairs:
                self.pair(label, value, r, vc if value else c, values, extra)
            r += 1
        project = self.project(values, extra, form)
        self.indicators(project, form)
        return project

    def pair(
        self,
        label: str,
        value: str,
        r: int,
        c: int,
        values: dict[str, tuple[str, int, int]],
        extra: dict[str, str | Decimal],
    ) -> None:
        key = caption_key(label)
        found = PROJECT.lookup(label)
        unit = unit_of(label)
        if unit is not None and not value:  # `项目资金（万元）` over the amounts below it
            self.form_unit = unit
        unit = unit or (self.column_units.get(c) if value else None)
        if found is not None and found.model:
            if found.key not in values or (value and not values[found.key][0]):
                values[found.key] = (value, r, c)
                if unit is not None:
                    self.label_units[found.key] = unit
        elif key in _DEPARTMENT_LABELS:
            self.department = self.department or value or None
        elif value:
            checked = _CHECKED.findall(value) if "□" in value or "√" in value else []
            name = key or label
            extra[name] = "、".join(checked) if checked else value
            self.extras[("project", name)] = label

    def project(
        self, values: dict[str, tuple[str, int, int]], extra: dict[str, str | Decimal],
        form: _Form,
    ) -> Project:  # fmt: skip
        amounts: dict[str, Decimal | None] = {}
        for key in _MONEY & set(values):
            written, r, c = values[key]
            try:
                amounts[key] = parse_money(written, self.label_units.get(key) or self.form_unit)
            except AmountError:
                self.issue(cat.AMOUNT_INVALID, r, c, PROJECT.header(key), written)
                amounts[key] = None
        if "total" not in amounts and amounts:
            amounts["total"] = sum((v for v in amounts.values() if v is not None), Decimal(0))
        text = {k: v[0] for k, v in values.items() if k not in _MONEY}
        code = text.get("code") or None
        name = text.get("name", "")
        if code is None:
            code, name = split_code(name)
        where = values.get("name")
        r, c = (where[1], where[2]) if where else (form.start, 0)
        project = Project(
            code=code,
            name=name,
            unit=split_code(text.get("unit", ""))[1] or None,
            goal=clean_cell(text.get("goal", "")),
            long_goal=clean_cell(text.get("long_goal", "")),
            extra=extra,
            sheet=self.sheet.name,
            row=r + 1,
            cell=a1(r, c),
            columns={k: column_letter(v[2]) for k, v in values.items()},
            **amounts,
        )
        figures = sources_disagree(project, _MONEY & set(values))
        if figures is not None:
            written, tr, tc = values["total"]
            self.issues.append(
                cat.TOTAL_SOURCES_MISMATCH.issue(
                    file=str(self.path),
                    sheet=self.sheet.name,
                    row=tr + 1,
                    cell=a1(tr, tc),
                    column=PROJECT.header("total"),
                    value=written,
                    **figures,
                )
            )
        return project

    def indicators(self, project: Project, form: _Form) -> None:
        by_key: dict[tuple[str | None, str | None, str], Indicator] = {}
        for header, first, end, value in form.grids:
            columns = _shifted(self.sheet, header, first, end)
            extras = {c: caption_key(cap) or cap for c, cap in header.unknown.items()}
            for c, caption in header.unknown.items():
                self.extras[("indicator", extras[c])] = caption
            letters = {k: column_letter(c) for k, c in columns.items()}
            before: Indicator | None = None
            for r in range(first, end):
                row = self.sheet.rows[r]
                cells = {k: text_of(row[c]) if c < len(row) else "" for k, c in columns.items()}

                def cell(key: str, cells: dict[str, str] = cells) -> str:
                    return cells.get(key, "")

                name = cell("name")
                if not name and not cell("annual") and not cell("period"):
                    continue
                level1 = split_level(cell("level1"))
                level2 = split_level(cell("level2"), 2)
                if level1 == (None, None) and before is not None:
                    level1 = (before.level1, before.level1_label)
                if (
                    level2 == (None, None)
                    and before is not None
                    and level1 == (before.level1, before.level1_label)
                ):
                    level2 = (before.level2, before.level2_label)
                core = name.startswith(("★", "☆"))
                name = name.lstrip("★☆*※ ")
                ident = (level1[1], level2[1], name)
                annual = cell("annual") if "annual" in columns else ""
                period = cell("period") if "period" in columns else ""
                if "operator" in columns or "unit" in columns:  # ≥ | 95 | %
                    annual, period = (compose_value(cell("operator"), v, cell("unit")) if v else v
                                      for v in (annual, period))  # fmt: skip
                if value == "period" and "period" not in columns:
                    annual, period = "", annual
                found = by_key.get(ident)
                if found is not None:  # the same indicator in the other grid
                    found.period = found.period or period
                    found.annual = found.annual or annual
                    before = found
                    continue
                extra: dict[str, str | Decimal] = {
                    extras[c]: t for c in extras if c < len(row) and (t := text_of(row[c]))
                }
                if core:
                    extra["核心指标"] = "★"
                    self.extras[("indicator", "核心指标")] = "核心指标"
                try:
                    weight = parse_weight(cell("weight"))
                except ValueError:
                    weight = None
                    c = columns["weight"]
                    self.issue(cat.WEIGHT_INVALID, r, c, INDICATOR.header("weight"), cell("weight"))
                indicator = Indicator(
                    level1=level1[0],
                    level1_label=level1[1],
                    level2=level2[0],
                    level2_label=level2[1],
                    name=name,
                    period=period,
                    annual=annual,
                    weight=weight,
                    direction=cell("direction") or None,
                    extra=extra,
                    sheet=self.sheet.name,
                    row=r + 1,
                    cell=a1(r, columns.get("name", 0)),
                    columns=letters,
                )
                by_key[ident] = indicator
                project.indicators.append(indicator)
                before = indicator


def _pairs(row: list[Cell]) -> list[tuple[int, str, str, int]]:
    """A label row as (column, label, value, value's column): each label is followed by
    its value; a label and a value in one cell (`开始时间2019/1/1`) are split."""
    cells = [(c, text_of(v)) for c, v in enumerate(row)]
    cells = [(c, t) for c, t in cells if t]
    out: list[tuple[int, str, str, int]] = []
    i = 0
    while i < len(cells):
        c, text = cells[i]
        joined = _joined(text)
        if joined:
            out.append((c, joined[0], joined[1], c))
            i += 1
            continue
        if i + 1 < len(cells) and not _is_label(cells[i + 1][1]):
            out.append((c, text, cells[i + 1][1], cells[i + 1][0]))
            i += 2
            continue
        out.append((c, text, "", c))
        i += 1
    return out


def _joined(text: str) -> tuple[str, str] | None:
    """A label and its value in one cell: `开始时间2019/1/1`, `项目名称：XX项目`,
    `其中：财政拨款：350万元` (the label is the first that perfxl knows, up to a colon)."""
    prefixed = _LABEL_PREFIX.match(text)
    if prefixed:
        return prefixed.group(1), prefixed.group(2)
    for at, ch in enumerate(text):
        if ch in ":：" and at + 1 < len(text):
            label = text[:at]
            if label and _is_label(label):
                return label, text[at + 1 :].strip()
    return None


def _is_label(text: str) -> bool:
    key = caption_key(text)
    return (
        PROJECT.lookup(text) is not None
        or key in _DEPARTMENT_LABELS
        or key in _KNOWN_LABELS
        or _LABEL_PREFIX.match(text) is not None
    )


# Labels forms carry beside the fields, kept as extra fields.
_KNOWN_LABELS = frozenset(
    {"项目负责人", "联系人", "联系电话", "项目属性", "项目期", "项目起止时间", "项目类别",
     "项目类型", "开始时间", "结束时间", "资金情况", "项目资金"}
)  # fmt: skip


def _shifted(sheet: Sheet, header: Header, first: int, end: int) -> dict[str, int]:
    """The grid's columns; where the column captioned 一级指标 holds 二级 names (数量指标 …)
    and no column is captioned 三级指标, the captions are one level off: take them by
    what the cells say."""
    columns = dict(header.columns)
    if "name" in columns or "level1" not in columns:
        return columns
    codeset = load_codeset(DEFAULT_CODESET)
    texts = [text_of(sheet.rows[r][columns["level1"]]) for r in range(first, end)
             if columns["level1"] < len(sheet.rows[r])]  # fmt: skip
    texts = [split_level(t)[1] or "" for t in texts if t]
    second = sum(1 for t in texts if codeset.l2_by_label(t) and not codeset.l1_by_label(t))
    if texts and second * 2 > len(texts) and "level2" in columns:
        columns["name"] = columns.pop("level2")
        columns["level2"] = columns.pop("level1")
    return columns


def read_forms(
    path: Path, sheets: list[Sheet], found: list[tuple[Sheet, list[_Form]]],
    codeset: CodeSet | None = None,
) -> ReadResult:  # fmt: skip
    """Read every form `find_forms` found, in the order of the sheets."""
    projects: list[Project] = []
    issues: list[Issue] = []
    extras: dict[tuple[str, str], str] = {}
    department: str | None = None
    preamble = read_preamble(sheets[0].rows[: found[0][1][0].start]) if found else None
    for sheet, forms in found:
        reader = _Reader(path, sheet, read_preamble(sheet.rows[: forms[0].start]).unit)
        since = 0  # the rows above a form, from the end of the one before
        for form in forms:
            unit = read_preamble(sheet.rows[since : form.grids[0][0].first]).unit
            projects.append(reader.form(form, unit))
            since = form.grids[-1][2]
        issues += reader.issues
        extras.update(reader.extras)
        department = department or reader.department
    if department is None and preamble is not None:
        department = preamble.department
    code, name = split_code(department) if department else (None, None)
    table = TargetTable(
        department=Department(code=code, name=name),
        fiscal_year=preamble.year if preamble else None,
        projects=projects,
        extras=[ExtraField(entity=e, key=k, header=h) for (e, k), h in extras.items()],
    )
    if name is None:
        issues.append(cat.DEPARTMENT_NOT_FOUND.issue(file=str(path)))
    mixed = apply_codeset(table, codeset, str(path))
    return ReadResult(
        file=str(path), kind="form", table=table, issues=[*issues, *([mixed] if mixed else [])]
    )
