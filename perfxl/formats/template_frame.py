"""Is a returned workbook still the template we sent? Its identity (the hidden `_meta`
sheet against the document properties: template, spec version, code set, department,
year, structure hash), its protection, its headers and its row ids (inserted or deleted
rows) are checked again; a plain workbook with the template's headers is read by the same
columns. Protection guides people and guarantees nothing: everything is checked here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Generic, TypeVar

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import ZERO, AmountError, fmt, parse_amount
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Issue
from perfxl.formats.grid import Cell, Sheet, a1, text_of
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.package import read_guards
from perfxl.formats.spec import ROW_ID_HEADER, SheetSpec, TemplateSpec
from perfxl.formats.template_cells import META_PREFIX, META_SHEET, ROW_COUNT_KEYS

# Identity keys that must agree between the `_meta` sheet and the document properties.
IDENTITY_KEYS = (
    "template_id",
    "spec_version",
    "codeset",
    "department_code",
    "fiscal_year",
    "structure_hash",
)


@dataclass(frozen=True)
class Expected:
    """What the office expects of a file: whose it is and for which year."""

    department_code: str | None = None
    department_name: str | None = None
    year: int | None = None


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


@dataclass(frozen=True)
class Columns:
    """Where each spec column was found in a sheet's (padded) rows: a column that is missing
    points at `blank`, a cell that is blank in every row."""

    found: dict[str, int]
    blank: int

    def __getitem__(self, key: str) -> int:
        return self.found.get(key, self.blank)


def find_header(sheet: Sheet, spec: SheetSpec) -> tuple[int, dict[str, int]] | None:
    """The header row and each column's index, found by header text."""
    wanted = {c.header: c.key for c in spec.columns}
    for r, row in enumerate(sheet.rows[:15]):
        found: dict[str, int] = {}
        for c, value in enumerate(row):
            key = wanted.get(text_of(value))
            if key is not None and key not in found:
                found[key] = c
        if len(found) * 2 >= len(wanted):
            return r, found
    return None


SpecT = TypeVar("SpecT", bound=TemplateSpec | OverallSpec)


class Frame(Generic[SpecT]):
    """A template's or plain workbook's sheets, checked for what makes them ours: the
    identity, the structure, the headers and the row ids. Collects issues as it goes."""

    def __init__(
        self,
        path: Path,
        sheets: list[Sheet],
        spec: SpecT,
        codeset: CodeSet | None,
        meta: dict[str, str] | None,
        expected: Expected | None,
    ) -> None:
        self.path, self.codeset = path, codeset
        self.spec: SpecT = spec
        self.sheets = sheets
        self.meta = meta
        self.expected = expected or Expected()
        self.is_template = meta is not None
        self.issues: list[Issue] = []
        self.actual: dict[str, object] = {}  # the structure found, for the hash

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

    def amount(
        self, sheet: str, r: int, col: int | None, header: str, value: Cell,
        blank: Decimal | None = ZERO,
    ) -> Decimal | None:  # fmt: skip
        """An amount cell (row r, column col); `blank` for a blank one. Text that is not an
        amount, or an amount written as text, is an issue."""
        try:
            amount = parse_amount(value)
        except AmountError:
            text = text_of(value)
            self.issue(cat.AMOUNT_INVALID, sheet, r, col, header, text, column_name=header,
                       text=text)  # fmt: skip
            return None
        if amount is None:
            return blank
        if value.__class__ is str:
            self.issue(cat.AMOUNT_AS_TEXT, sheet, r, col, header, value, column_name=header,
                       text=value, amount=fmt(amount))  # fmt: skip
        return amount

    # --- identity ------------------------------------------------------------------------

    def identity(self) -> None:
        if self.meta is None:
            return
        names = self.spec.data_sheets
        # The bytes of the workbook the sheets were read from (none for a text table).
        data = next((s.data for s in self.sheets if s.data is not None), None)
        parts = {s.name: part for s in self.sheets if s.name in names and (part := s.part)}
        package = read_guards(data, names, parts)
        for key in IDENTITY_KEYS:
            prop = package.properties.get(META_PREFIX + key)
            if prop is not None and prop != self.meta.get(key, ""):
                self.issue(
                    cat.TEMPLATE_MISMATCH, META_SHEET, key=key, meta=self.meta.get(key), props=prop
                )
        for name in names:
            if package.protected.get(name) is False:
                self.issue(cat.PROTECTION_REMOVED, name, name=name)
        expected = self.expected
        code = self.meta.get("department_code", "")
        if expected.department_code and code and code != expected.department_code:
            found = f"{self.meta.get('department_name', '')}（{code}）"
            want = f"{expected.department_name or ''}（{expected.department_code}）"
            self.issue(cat.WRONG_DEPARTMENT, META_SHEET, found=found, expected=want)
        year = self.meta.get("fiscal_year", "")
        if expected.year and year and year != str(expected.year):
            self.issue(cat.WRONG_YEAR, META_SHEET, found=year, expected=expected.year)

    def structure(self) -> None:
        """Compare the structure found with the hash the template was written with; a
        difference that no specific issue explains is reported as such."""
        if self.meta is None:
            return
        tampered = {
            cat.SHEET_MISSING.code,
            cat.HEADER_CHANGED.code,
            cat.ROWS_INSERTED.code,
            cat.ROWS_DELETED.code,
        }
        if any(i.code in tampered for i in self.issues):
            return
        rows = [_count(self.meta.get(k)) for k in self.spec.row_keys]
        expected_hash = self.meta.get("structure_hash", "")
        found = self.spec.structure(*rows)
        found.update(self.actual)
        text = json.dumps(found, ensure_ascii=False, sort_keys=True)
        if expected_hash and hashlib.sha256(text.encode("utf-8")).hexdigest() != expected_hash:
            self.issue(cat.STRUCTURE_CHANGED, META_SHEET)

    # --- sheets --------------------------------------------------------------------------

    def _sheet(self, spec: SheetSpec) -> Sheet | None:
        by_name = {s.name: s for s in self.sheets}
        if spec.name in by_name:
            return by_name[spec.name]
        if not self.is_template:  # a plain workbook: any sheet with the headers
            return next((s for s in self.sheets if find_header(s, spec)), None)
        return None

    def rows(self, spec: SheetSpec, prefix: str) -> tuple[list[tuple[int, list[Cell]]], Columns]:
        """The filled rows of a data sheet, as (row index, cells), after checking the header
        and the row ids; and where each spec column is in those cells (a column that is
        missing points at a cell that is always blank)."""
        sheet = self._sheet(spec)
        if sheet is None:
            self.issue(cat.SHEET_MISSING, spec.name, name=spec.name)
            return [], Columns({}, 0)
        found = find_header(sheet, spec)
        if found is None:
            self.issue(cat.HEADER_NOT_FOUND, sheet.name)
            return [], Columns({}, 0)
        header_row, columns = found
        headers = [
            text_of(v) for v in (sheet.rows[header_row] if header_row < len(sheet.rows) else [])
        ]
        if self.is_template:
            self.actual[spec.name] = [
                *headers[: len(spec.columns)],
                *headers[spec.row_id_col : spec.row_id_col + 1],
            ]
            for c, column in enumerate(spec.columns):
                found_text = headers[c] if c < len(headers) else ""
                if found_text != column.header:
                    self.issue(
                        cat.HEADER_CHANGED,
                        sheet.name,
                        header_row,
                        c,
                        column.header,
                        found_text,
                        expected=column.header,
                        found=found_text,
                    )
        for column in spec.columns:
            if column.key not in columns:
                self.issue(
                    cat.COLUMN_MISSING,
                    sheet.name,
                    header_row,
                    None,
                    column.header,
                    column_name=column.header,
                )
        id_col = next((c for c, h in enumerate(headers) if h == ROW_ID_HEADER), None)
        # Every row is padded to `width`; its last cell is always blank, for missing columns.
        blank = max(columns.values(), default=-1) + 1
        if len(columns) < len(spec.columns):  # one is missing: a cell beyond all others
            body_width = max((len(row) for row in sheet.rows[header_row:]), default=0)
            blank = max(blank, body_width, (id_col or 0) + 1)
        width = blank + 1
        inputs = [columns[c.key] for c in spec.columns if not c.locked and c.key in columns]
        take = itemgetter(*inputs) if len(inputs) > 1 else None
        ids_at = id_col if self.is_template and id_col is not None else -1
        meta = self.meta or {}
        total = _count(meta.get(ROW_COUNT_KEYS[prefix]))
        row_ids = _row_ids(prefix, total)
        expected_ids = frozenset(row_ids)
        count = len(inputs)
        body = sheet.rows[header_row + 1 :]
        out: list[tuple[int, list[Cell]]] = []
        for r, row in enumerate(body, start=header_row + 1):
            if len(row) < width:
                row = [*row, *([""] * (width - len(row)))]
            values = take(row) if take is not None else tuple(row[c] for c in inputs)
            # Most rows of a template are blank (""): count them out at C speed. A 0 typed
            # alone is falsy, so it is looked for apart.
            if values.count("") == count or not (any(values) or 0 in values):
                continue
            out.append((r, row))
            if ids_at >= 0:
                row_id = row[ids_at] if ids_at < len(row) else None
                if row_id not in expected_ids and not _is_row_id(row_id, prefix):
                    self.issue(cat.ROWS_INSERTED, sheet.name, r, id_col, ROW_ID_HEADER)
        if ids_at >= 0 and self.meta is not None:
            seen = {row[ids_at] for row in body if len(row) > ids_at}
            missing = [row_id for row_id in row_ids if row_id not in seen]
            if missing:
                shown = "、".join(missing[:5]) + (
                    f" 等 {len(missing)} 个" if len(missing) > 5 else ""
                )
                self.issue(cat.ROWS_DELETED, sheet.name, ids=shown)
        elif self.is_template and id_col is None:
            self.issue(
                cat.HEADER_CHANGED,
                sheet.name,
                header_row,
                spec.row_id_col,
                ROW_ID_HEADER,
                "",
                expected=ROW_ID_HEADER,
                found="（缺失）",
            )
        self._lengths(spec, sheet.name, out, columns)
        return out, Columns(columns, blank)

    def _lengths(
        self, spec: SheetSpec, sheet: str, rows: list[tuple[int, list[Cell]]],
        columns: dict[str, int],
    ) -> None:  # fmt: skip
        """The spec's text limits, checked again: a workbook's own checks may have been
        removed, or never run (a value pasted in, a file written by a program)."""
        for column in spec.columns:
            c = columns.get(column.key)
            if c is None:
                continue
            limit = column.max_length or CELL_CHARS
            for r, row in rows:
                value = row[c]
                if value.__class__ is str and len(value) > limit:
                    length = len(text_of(value))
                    if length > limit:
                        self.issue(cat.TEXT_TOO_LONG, sheet, r, c, column.header, value[:50] + "…",
                                   column_name=column.header, length=length,
                                   limit=limit)  # fmt: skip


CELL_CHARS = 32_767  # the most a cell of Excel holds: the limit of a text the spec leaves open


def _count(text: str | None) -> int:
    """A number of rows `_meta` gives; 0 where it gives none (or a tampered one, which the
    identity check reports)."""
    return int(text) if text and text.isdigit() and len(text) < 8 else 0


@lru_cache(maxsize=64)
def _row_ids(prefix: str, count: int) -> tuple[str, ...]:
    """The row ids a template was written with: P00001, P00002, …"""
    return tuple(f"{prefix}{n:05d}" for n in range(1, count + 1))


def _is_row_id(value: Cell, prefix: str) -> bool:
    return isinstance(value, str) and len(value) == 6 and value[0] == prefix and value[1:].isdigit()
