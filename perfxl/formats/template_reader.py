"""Read any file perfxl understands into structured data, and say which kind it was: one
of our templates, filled in; a plain sheet with the template's headers; a published table;
perfxl's own structured workbook; or the JSON that `import` prints.

Nothing in a returned workbook is trusted. Columns are found by their header text; the
template's identity (`_meta` against the document properties), headers, row ids and
protection are checked again; totals are recomputed (a formula's cached value may be
missing or stale); every value is re-read as text or `Decimal`, and every coercion is
recorded as an issue rather than guessed silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import ZERO, AmountError, fmt, parse_amount
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import Field
from perfxl.domain.model import Department, Indicator, Issue, Project, ReadResult, TargetTable
from perfxl.domain.packed import clean_cell
from perfxl.errors import FileError
from perfxl.formats.grid import Cell, Sheet, a1, column_letter, read_sheets
from perfxl.formats.package import read_guards
from perfxl.formats.published import read_published, resolve_levels
from perfxl.formats.spec import ROW_ID_HEADER, ColumnSpec, SheetSpec, TemplateSpec, load_spec
from perfxl.formats.structured import is_structured, read_structured
from perfxl.formats.template_writer import (
    INDICATOR_ROW_PREFIX,
    META_PREFIX,
    META_SHEET,
    PROJECT_ROW_PREFIX,
    compose_cell,
)

_PROJECT_LABEL = re.compile(r"^\s*(\d+)\s*、\s*(.*)$", re.DOTALL)
_LEVEL = re.compile(r"^\s*(\d{1,2})\s*[-－—–]\s*(.*?)\s*$")
_ROW_ID = re.compile(r"^([A-Z])(\d{5})$")
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


def read_json(path: Path, content: bytes | None = None) -> ReadResult:
    try:
        raw = content if content is not None else path.read_bytes()
        data = json.loads(raw.decode("utf-8-sig"))
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
    if value.__class__ is str:  # the common case first: this runs for every cell read
        text = value.strip()
        if "_x000D_" in text or "\r" in text:
            text = text.replace("_x000D_", "").replace("\r\n", "\n").strip()
        return text
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value).strip()


def column_texts(values: list[Cell]) -> list[str]:
    """text_of for each cell of a column; at C speed when the column holds clean text only,
    as most do."""
    if set(map(type, values)) <= {str}:
        joined = "".join(values)  # type: ignore[arg-type]
        if "\r" not in joined and "_x000D_" not in joined:
            return list(map(str.strip, values))  # type: ignore[arg-type]
    return list(map(text_of, values))


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


# --- templates and plain sheets ----------------------------------------------------------


def _find_header(sheet: Sheet, spec: SheetSpec) -> tuple[int, dict[str, int]] | None:
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


class _TemplateReader:
    def __init__(
        self,
        path: Path,
        sheets: list[Sheet],
        spec: TemplateSpec,
        codeset: CodeSet | None,
        meta: dict[str, str] | None,
        expected: Expected | None,
    ) -> None:
        self.path, self.spec, self.codeset = path, spec, codeset
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

    # --- identity ------------------------------------------------------------------------

    def identity(self) -> None:
        if self.meta is None:
            return
        names = [self.spec.projects.name, self.spec.indicators.name]
        # The bytes of the workbook the sheets were read from (none for a text table).
        data = next((s.data for s in self.sheets if s.data is not None), None)
        package = read_guards(data, names)
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
        rows = [int(self.meta.get(k, "0") or 0) for k in ("project_rows", "indicator_rows")]
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
            return next((s for s in self.sheets if _find_header(s, spec)), None)
        return None

    def rows(self, spec: SheetSpec, prefix: str) -> tuple[list[tuple[int, list[Cell]]], Columns]:
        """The filled rows of a data sheet, as (row index, cells), after checking the header
        and the row ids; and where each spec column is in those cells (a column that is
        missing points at a cell that is always blank)."""
        sheet = self._sheet(spec)
        if sheet is None:
            self.issue(cat.SHEET_MISSING, spec.name, name=spec.name)
            return [], Columns({}, 0)
        found = _find_header(sheet, spec)
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
        width = blank + 1
        inputs = [columns[c.key] for c in spec.columns if not c.locked and c.key in columns]
        take = itemgetter(*inputs) if len(inputs) > 1 else None
        ids_at = id_col if self.is_template and id_col is not None else -1
        meta = self.meta or {}
        total = int(
            meta.get("project_rows" if prefix == PROJECT_ROW_PREFIX else "indicator_rows", "0") or 0
        )
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
        return out, Columns(columns, blank)

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
        )

    def _amount(
        self, spec: SheetSpec, r: int, key: str, col: int | None, value: Cell
    ) -> Decimal | None:
        """An amount cell (row r, column col), blank as zero; text that is not an amount,
        or an amount written as text, is an issue."""
        try:
            amount = parse_amount(value)
        except AmountError:
            self._amount_issue(spec, cat.AMOUNT_INVALID, r, key, col, text_of(value))
            return None
        if amount is None:
            return ZERO
        if value.__class__ is str:
            self._amount_issue(spec, cat.AMOUNT_AS_TEXT, r, key, col, value, amount=fmt(amount))
        return amount

    def _amount_issue(
        self,
        spec: SheetSpec,
        rule: cat.Rule,
        r: int,
        key: str,
        col: int | None,
        text: Cell,
        **params: Any,
    ) -> None:
        header = spec.fields.header(key)
        self.issue(rule, spec.name, r, col, header, text, column_name=header, text=text, **params)

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
            level1 = _level(l1)
            level2 = _level(l2)
            found.append(
                {
                    "level1": level1[0],
                    "level1_label": level1[1],
                    "level2": level2[0],
                    "level2_label": level2[1],
                    "name": name,
                    "period": compose_cell(op, period, unit),
                    "annual": compose_cell(op, annual, unit),
                    "nature": _NATURES.get(nature),
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


@lru_cache(maxsize=64)
def _row_ids(prefix: str, count: int) -> tuple[str, ...]:
    """The row ids a template was written with: P00001, P00002, …"""
    return tuple(f"{prefix}{n:05d}" for n in range(1, count + 1))


def _is_row_id(value: Cell, prefix: str) -> bool:
    return isinstance(value, str) and len(value) == 6 and value[0] == prefix and value[1:].isdigit()


@lru_cache(maxsize=4096)
def _project_seq(label: str) -> int | None:
    """The project number of an indicator's 所属项目 (`3、城市基层党建…` → 3)."""
    match = _PROJECT_LABEL.match(label)
    return int(match.group(1)) if match else None


_NATURES: dict[str, Literal["定量", "定性"]] = {"定量": "定量", "定性": "定性"}


@lru_cache(maxsize=4096)
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
    expected: Expected | None = None,
    data: bytes | None = None,
) -> ReadResult:
    """Read a filled template back into structured data, checking it was not tampered with.
    `data`, when given, is the file's content, already read."""
    sheets = sheets if sheets is not None else read_sheets(path, data)
    meta = read_meta(sheets)
    reader = _TemplateReader(path, sheets, spec or load_spec(), codeset, meta, expected)
    table = reader.read()
    kind = "template" if meta is not None else "plain"
    return ReadResult(file=str(path), kind=kind, table=table, issues=reader.issues)


def _is_plain(sheets: list[Sheet], spec: TemplateSpec) -> bool:
    return any(_find_header(s, spec.projects) for s in sheets) and any(
        _find_header(s, spec.indicators) for s in sheets
    )


def read_any(
    path: Path,
    codeset: CodeSet | None = None,
    spec: TemplateSpec | None = None,
    expected: Expected | None = None,
    data: bytes | None = None,
) -> ReadResult:
    """Read a file of any supported kind (`data`: its content, when already read). Raises
    FileError only for an unreadable file."""
    if path.suffix.lower() == ".json":
        return read_json(path, data)
    sheets = read_sheets(path, data)
    meta = read_meta(sheets)
    spec = spec or load_spec()
    if meta is not None and meta.get("template_id"):
        return read_template(path, sheets, spec, codeset, expected, data)
    if is_structured(sheets):
        return read_structured(path, sheets)
    if _is_plain(sheets, spec):
        return read_template(path, sheets, spec, codeset, expected, data)
    return read_published(path, codeset, sheets)
