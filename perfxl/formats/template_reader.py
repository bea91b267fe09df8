"""Read a filled template (or a plain workbook with its headers) back into structured data.

Nothing in a returned workbook is trusted: the frame is checked first (template_frame.py);
columns are found by their header text; totals are recomputed (a formula's cached value may
be missing or stale); every value is re-read as text or `Decimal`, and every coercion is
recorded as an issue rather than guessed silently. Each column is read by its field
(domain/fields.py): the extra fields a spec adds are kept like the others.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import ZERO, fmt, parse_amount
from perfxl.domain.codesets import CodeSet, bundled_names, load_codeset
from perfxl.domain.fields import Field
from perfxl.domain.model import (
    Department,
    ExtraField,
    Indicator,
    Project,
    ReadResult,
    TargetTable,
)
from perfxl.domain.packed import clean_cell
from perfxl.formats.grid import Cell, Sheet, column_letter, column_texts, read_sheets, text_of
from perfxl.formats.spec import ColumnSpec, SheetSpec, TemplateSpec, load_spec
from perfxl.formats.tables import resolve_levels
from perfxl.formats.template_cells import INDICATOR_ROW_PREFIX, PROJECT_ROW_PREFIX, compose_cell
from perfxl.formats.template_frame import Columns, Expected, Frame, read_meta

_PROJECT_LABEL = re.compile(r"^\s*(\d+)\s*、\s*(.*)$", re.DOTALL)
_LEVEL = re.compile(r"^\s*(\d{1,2})\s*[-－—–]\s*(.*?)\s*$")


class _TemplateReader(Frame[TemplateSpec]):
    # --- content -------------------------------------------------------------------------

    def read(self) -> TargetTable:
        self.identity()
        projects = self._projects()
        self._indicators(projects)
        self.structure()
        meta = self.meta or {}
        year = meta.get("fiscal_year", "")
        return TargetTable(
            department=Department(
                code=meta.get("department_code") or None, name=meta.get("department_name") or None
            ),
            fiscal_year=int(year) if year.isdigit() else None,
            codeset=meta.get("codeset") or None,
            template_id=meta.get("template_id") or None,
            template_version=meta.get("spec_version") or None,
            projects=list(projects.values()),
            extras=[
                *(ExtraField.of("project", f) for f in self.spec.projects.fields.extras),
                *(ExtraField.of("indicator", f) for f in self.spec.indicators.fields.extras),
            ],
        )

    def _amount(
        self, spec: SheetSpec, r: int, key: str, col: int | None, value: Cell
    ) -> Decimal | None:
        """An amount cell (row r, column col), blank as zero."""
        return self.amount(spec.name, r, col, spec.fields.header(key), value)

    def _projects(self) -> dict[int, Project]:
        spec = self.spec.projects
        fields = spec.fields
        projects: dict[int, Project] = {}
        rows, at = self.rows(spec, PROJECT_ROW_PREFIX)
        letters = {k: column_letter(c) for k, c in at.found.items()}
        # Every input column, read by its type: amounts, and text.
        amounts_at = [
            (c.key, at.found.get(c.key), at[c.key]) for c in spec.columns if c.type == "amount"
        ]
        extras = frozenset(f.key for f in fields.extras)
        texts_at = [
            (c.key, at[c.key], c.key in extras, _BLANK.get(c.key, ""))
            for c in spec.columns
            if c.type in ("text", "longtext")
        ]
        money_extras = [k for k, _, _ in amounts_at if k in extras]
        total_spec = next((c for c in spec.columns if c.type == "total"), None)
        seq_c, code_c = at["seq"], at["code"]
        name_letter = column_letter(at.found.get("name", 0))
        for n, (r, row) in enumerate(rows, start=1):
            seq_text = text_of(row[seq_c])
            seq = int(seq_text) if seq_text.isdigit() else n
            values: dict[str, Any] = {
                key: self._amount(spec, r, key, col, row[c]) for key, col, c in amounts_at
            }
            if total_spec is not None:
                values[total_spec.key] = self._total(spec, total_spec, r, row, at, values)
            code_cell = row[code_c]
            if isinstance(code_cell, (int, float)) and not isinstance(code_cell, bool):
                header = fields.header("code")
                text = text_of(code_cell)
                self.issue(
                    cat.CODE_AS_NUMBER, spec.name, r, at.found.get("code"), header, text, text=text
                )
            extra = {k: v for k in money_extras if (v := values.pop(k)) is not None}
            for key, c, is_extra, blank in texts_at:
                text = text_of(row[c])
                if is_extra:
                    if text:
                        extra[key] = text
                else:
                    values[key] = text or blank  # None where the model has no text
            goal = values.get("goal", "")
            if "<" in goal:
                values["goal"] = clean_cell(goal)
            projects[seq] = Project(
                **values,
                extra=extra,
                sheet=spec.name,
                row=r + 1,
                cell=f"{name_letter}{r + 1}",
                columns=letters,
            )
        return projects

    def _total(
        self,
        spec: SheetSpec,
        total_spec: ColumnSpec,
        r: int,
        row: list[Cell],
        at: Columns,
        amounts: dict[str, Decimal | None],
    ) -> Decimal | None:
        """The total of a row, recomputed, never read: the cached value may be absent or
        stale (a stale one is an issue)."""
        parts = [amounts.get(k) for k in total_spec.sums]
        if None in parts:
            return None
        total = sum((p for p in parts if p is not None), ZERO)
        shown = row[at[total_spec.key]]
        if isinstance(shown, (int, float)) and not isinstance(shown, bool):
            shown_amount = parse_amount(shown)
            if shown_amount != total:
                self.issue(
                    cat.TOTAL_STALE,
                    spec.name,
                    r,
                    at.found.get(total_spec.key),
                    total_spec.header,
                    text_of(shown),
                    shown=fmt(shown_amount),
                    summed=fmt(total),
                )
        return total

    def _indicators(self, projects: dict[int, Project]) -> None:
        spec = self.spec.indicators
        rows, at = self.rows(spec, INDICATOR_ROW_PREFIX)
        letters = {k: column_letter(c) for k, c in at.found.items()}
        extras = spec.fields.extras
        name_letter = letters.get("name", "A")
        # Column by column: each column's cells as text in a few C-level passes.
        keys = ("project", "level1", "level2", "name", "nature", "operator", "period", "annual")
        cells = [row for _, row in rows]
        columns = [column_texts(list(map(itemgetter(at[k]), cells))) for k in (*keys, "unit")]
        extra_columns = [
            (f, at.found.get(f.key), list(map(itemgetter(at[f.key]), cells))) for f in extras
        ]
        resolve = self.codeset
        sheet = spec.name
        # Validated all at once: the same checks as the constructor, without its call
        # overhead for each of the many indicators.
        found: list[dict[str, Any]] = []
        owners: list[Project] = []
        for n, ((r, _), label, l1, l2, name, nature, op, period, annual, unit) in enumerate(
            zip(rows, *columns, strict=True)
        ):
            seq = _project_seq(label)
            project = projects.get(seq) if seq is not None else None
            if project is None:
                column = spec.column("project")
                self.issue(
                    cat.INDICATOR_PROJECT_UNKNOWN,
                    sheet,
                    r,
                    at.found.get("project"),
                    column.header if column else None,
                    label,
                    text=label or "（空）",
                )
                continue
            level1 = level_cell(l1)
            level2 = level_cell(l2)
            found.append(
                {
                    "level1": level1[0],
                    "level1_label": level1[1],
                    "level2": level2[0],
                    "level2_label": level2[1],
                    "name": name,
                    "period": compose_cell(op, period, unit),
                    "annual": compose_cell(op, annual, unit),
                    "nature": NATURE_OF.get(nature),
                    "extra": self._extras(spec, r, n, extra_columns) if extras else {},
                    "sheet": sheet,
                    "row": r + 1,
                    "cell": f"{name_letter}{r + 1}",
                    "columns": letters,
                }
            )
            owners.append(project)
        for project, indicator in zip(owners, _INDICATORS.validate_python(found), strict=True):
            if resolve is not None and (indicator.level1 is None or indicator.level2 is None):
                resolve_levels(indicator, resolve)
            project.indicators.append(indicator)

    def _extras(
        self,
        spec: SheetSpec,
        r: int,
        n: int,
        columns: list[tuple[Field, int | None, list[Cell]]],
    ) -> dict[str, str | Decimal]:
        """The values of the extra fields in the n-th row read (row r of the sheet)."""
        out: dict[str, str | Decimal] = {}
        for field, col, cells in columns:
            value = cells[n]
            if field.is_money:
                amount = self._amount(spec, r, field.key, col, value)
                if amount is not None:
                    out[field.key] = amount
            elif text := text_of(value):
                out[field.key] = text
        return out


_INDICATORS = TypeAdapter(list[Indicator])
# Project attributes that are None, not "", when their cell is blank.
_BLANK: dict[str, None] = {k: None for k, f in Project.model_fields.items() if f.default is None}


@lru_cache(maxsize=4096)
def _project_seq(label: str) -> int | None:
    """The project number of an indicator's 所属项目 (`3、城市基层党建…` → 3)."""
    match = _PROJECT_LABEL.match(label)
    return int(match.group(1)) if match else None


NATURE_OF: dict[str, Literal["定量", "定性"]] = {"定量": "定量", "定性": "定性"}


@lru_cache(maxsize=4096)
def level_cell(text: str) -> tuple[str | None, str | None]:
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
    expected: Expected | None = None,
    data: bytes | None = None,
) -> ReadResult:
    """Read a filled template back into structured data, checking it was not tampered with.
    `data`, when given, is the file's content, already read."""
    sheets = sheets if sheets is not None else read_sheets(path, data)
    meta = read_meta(sheets)
    spec = spec or load_spec()
    if codeset is None:  # the set the template was written with, where perfxl knows it
        named = (meta or {}).get("codeset") or spec.codeset
        codeset = load_codeset(named if named in bundled_names() else spec.codeset)
    reader = _TemplateReader(path, sheets, spec, codeset, meta, expected)
    table = reader.read()
    kind = "template" if meta is not None else "plain"
    return ReadResult(file=str(path), kind=kind, table=table, issues=reader.issues)
