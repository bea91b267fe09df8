"""Read any file perfxl understands into structured data, and say which kind it was: one
of our templates, filled in; a published table; perfxl's own structured workbook; or the
JSON that `import` prints.

Nothing in a returned workbook is trusted: columns are found by their header text, totals
are recomputed from the amounts (a formula's cached value may be missing or stale), and
every value is re-read as text or `Decimal`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from perfxl import catalogue as cat
from perfxl.amounts import ZERO, AmountError, parse_amount
from perfxl.codesets import CodeSet
from perfxl.errors import FileError
from perfxl.grid import Cell, Sheet, a1, read_sheets
from perfxl.model import Department, Indicator, Issue, Project, ReadResult, TargetTable
from perfxl.packed import clean_cell
from perfxl.published import read_published, resolve_levels
from perfxl.spec import (
    INDICATOR_KEYS,
    PROJECT_KEYS,
    ROW_ID_HEADER,
    SheetSpec,
    TemplateSpec,
    load_spec,
)
from perfxl.structured import is_structured, read_structured
from perfxl.template import META_SHEET, compose_cell

_PROJECT_LABEL = re.compile(r"^\s*(\d+)\s*、\s*(.*)$", re.DOTALL)
_LEVEL = re.compile(r"^\s*(\d{1,2})\s*[-－—–]\s*(.*?)\s*$")


def read_json(path: Path) -> ReadResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        table = TargetTable(
            department=data.get("department") or {},
            fiscal_year=data.get("fiscal_year"),
            codeset=data.get("codeset"),
            projects=[Project.model_validate(p) for p in data.get("projects", [])],
        )
        issues = [Issue.model_validate(i) for i in data.get("issues", [])]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise FileError(path, f"不是 perfxl 导出的 JSON：{exc}") from exc
    except ValidationError as exc:
        raise FileError(path, f"JSON 内容不符合格式：{exc.error_count()} 处错误") from exc
    return ReadResult(file=str(path), kind="json", table=table, issues=issues)


def text_of(value: Cell) -> str:
    """A cell as text: numbers as Excel shows them, `_x000D_` and stray spaces gone."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value).replace("_x000D_", "").strip()


def read_meta(sheets: list[Sheet]) -> dict[str, str] | None:
    """The key/value pairs of the hidden `_meta` sheet, or None when there is none."""
    meta = next((s for s in sheets if s.name == META_SHEET), None)
    if meta is None:
        return None
    return {
        text_of(row[0]): text_of(row[1])
        for row in meta.rows[1:]
        if len(row) >= 2 and text_of(row[0])
    }


def _header_columns(sheet: Sheet, spec: SheetSpec) -> tuple[int, dict[str, int]] | None:
    """The header row and each column's index, found by header text."""
    wanted = {c.header: c.key for c in spec.columns}
    for r, row in enumerate(sheet.rows[:15]):
        found = {wanted[t]: c for c, v in enumerate(row) if (t := text_of(v)) in wanted}
        if len(found) * 2 >= len(wanted):
            for c, v in enumerate(row):
                if text_of(v) == ROW_ID_HEADER:
                    found["_rowid"] = c
            return r, found
    return None


class _TemplateReader:
    def __init__(
        self, path: Path, sheets: list[Sheet], spec: TemplateSpec, codeset: CodeSet | None
    ) -> None:
        self.path, self.spec, self.codeset = path, spec, codeset
        self.sheets = {s.name: s for s in sheets}
        self.issues: list[Issue] = []

    def issue(
        self,
        rule: cat.Rule,
        sheet: str | None,
        row: int | None = None,
        col: int | None = None,
        header: str | None = None,
        value: object = None,
        **params: Any,
    ) -> None:
        self.issues.append(
            rule.issue(
                file=str(self.path),
                sheet=sheet,
                row=None if row is None else row + 1,
                cell=a1(row, col) if row is not None and col is not None else None,
                column=header,
                value=value,
                **params,
            )
        )

    def rows(self, spec: SheetSpec) -> list[tuple[int, dict[str, Cell]]]:
        """The filled rows of a data sheet, as (row index, cells by key)."""
        sheet = self.sheets.get(spec.name)
        if sheet is None:
            self.issue(cat.FILE_UNREADABLE, None, reason=f"缺少工作表“{spec.name}”")
            return []
        found = _header_columns(sheet, spec)
        if found is None:
            self.issue(cat.HEADER_NOT_FOUND, spec.name)
            return []
        header_row, columns = found
        self.columns = getattr(self, "columns", {})
        self.columns[spec.name] = columns
        for column in spec.columns:
            if column.key not in columns:
                self.issue(
                    cat.COLUMN_MISSING, spec.name, header_row, None, column_name=column.header
                )
        inputs = [c.key for c in spec.columns if not c.locked and c.key in columns]
        out = []
        for r in range(header_row + 1, len(sheet.rows)):
            cells = {k: sheet.cell(r, c) for k, c in columns.items()}
            if any(text_of(cells.get(k)) for k in inputs):
                out.append((r, cells))
        return out

    def read(self, meta: dict[str, str]) -> TargetTable:
        projects = self._projects()
        self._indicators(projects)
        year = meta.get("fiscal_year", "")
        return TargetTable(
            department=Department(
                code=meta.get("department_code") or None, name=meta.get("department_name") or None
            ),
            fiscal_year=int(year) if year.isdigit() else None,
            codeset=meta.get("codeset") or None,
            projects=list(projects.values()),
        )

    def _amount(self, sheet: str, r: int, key: str, value: Cell) -> Decimal | None:
        column = self.spec.projects.column(key)
        try:
            amount = parse_amount(value)
        except AmountError:
            col = self.columns[sheet].get(key)
            header = column.header if column else key
            self.issue(
                cat.AMOUNT_INVALID,
                sheet,
                r,
                col,
                header,
                text_of(value),
                column_name=header,
                text=text_of(value),
            )
            return None
        return ZERO if amount is None else amount

    def _projects(self) -> dict[int, Project]:
        spec = self.spec.projects
        projects: dict[int, Project] = {}
        for n, (r, cells) in enumerate(self.rows(spec), start=1):
            seq_text = text_of(cells.get("seq"))
            seq = int(seq_text) if seq_text.isdigit() else n
            amounts: dict[str, Decimal | None] = {}
            extra: dict[str, str] = {}
            for column in spec.columns:
                if column.type == "amount":
                    amounts[column.key] = self._amount(
                        spec.name, r, column.key, cells.get(column.key)
                    )
                elif column.key not in PROJECT_KEYS:
                    extra[column.key] = text_of(cells.get(column.key))
            total_spec = next((c for c in spec.columns if c.type == "total"), None)
            if total_spec is not None:
                # Recomputed, never read: the cached value may be absent or stale.
                parts = [amounts.get(k) for k in total_spec.sums]
                amounts[total_spec.key] = (
                    None if None in parts else sum((p for p in parts if p is not None), ZERO)
                )
            name_col = self.columns[spec.name].get("name", 0)
            projects[seq] = Project(
                code=text_of(cells.get("code")) or None,
                name=text_of(cells.get("name")),
                unit=text_of(cells.get("unit")) or None,
                goal=clean_cell(text_of(cells.get("goal")))
                if "\n" in text_of(cells.get("goal"))
                else text_of(cells.get("goal")),
                sheet=spec.name,
                row=r + 1,
                cell=a1(r, name_col),
                extra=extra,
                **{k: v for k, v in amounts.items() if k in Project.model_fields},
            )
        return projects

    def _indicators(self, projects: dict[int, Project]) -> None:
        spec = self.spec.indicators
        for r, cells in self.rows(spec):
            label = text_of(cells.get("project"))
            match = _PROJECT_LABEL.match(label)
            project = projects.get(int(match.group(1))) if match else None
            if project is None:
                col = self.columns[spec.name].get("project")
                column = spec.column("project")
                self.issue(
                    cat.INDICATOR_PROJECT_UNKNOWN,
                    spec.name,
                    r,
                    col,
                    column.header if column else None,
                    label,
                    text=label,
                )
                continue
            level1 = _level(text_of(cells.get("level1")))
            level2 = _level(text_of(cells.get("level2")))
            op, unit = text_of(cells.get("operator")), text_of(cells.get("unit"))
            indicator = Indicator(
                level1=level1[0],
                level1_label=level1[1],
                level2=level2[0],
                level2_label=level2[1],
                name=text_of(cells.get("name")),
                period=compose_cell(op, text_of(cells.get("period")), unit),
                annual=compose_cell(op, text_of(cells.get("annual")), unit),
                extra={
                    c.key: text_of(cells.get(c.key))
                    for c in spec.columns
                    if c.key not in INDICATOR_KEYS
                },
                sheet=spec.name,
                row=r + 1,
                cell=a1(r, self.columns[spec.name].get("name", 0)),
            )
            if self.codeset is not None:
                resolve_levels(indicator, self.codeset)
            project.indicators.append(indicator)


def _level(text: str) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    match = _LEVEL.match(text)
    if match:
        return match.group(1), match.group(2) or None
    return (text, None) if text.isdigit() else (None, text)


def read_template(
    path: Path,
    sheets: list[Sheet] | None = None,
    spec: TemplateSpec | None = None,
    codeset: CodeSet | None = None,
) -> ReadResult:
    """Read a filled template back into structured data."""
    sheets = sheets if sheets is not None else read_sheets(path)
    meta = read_meta(sheets) or {}
    reader = _TemplateReader(path, sheets, spec or load_spec(), codeset)
    table = reader.read(meta)
    return ReadResult(file=str(path), kind="template", table=table, issues=reader.issues)


def read_any(
    path: Path, codeset: CodeSet | None = None, spec: TemplateSpec | None = None
) -> ReadResult:
    """Read a file of any supported kind. Raises FileError only for an unreadable file."""
    if path.suffix.lower() == ".json":
        return read_json(path)
    sheets = read_sheets(path)
    meta = read_meta(sheets)
    if meta is not None and meta.get("template_id"):
        return read_template(path, sheets, spec, codeset)
    if is_structured(sheets):
        return read_structured(path, sheets)
    return read_published(path, codeset, sheets)
