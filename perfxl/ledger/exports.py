"""The ledger for other readers: the official published layout (one sheet per department,
or one bureau-wide table), and the detail tables as CSV or Parquet for other tools."""

from __future__ import annotations

import contextlib
import csv
import os
import zoneinfo
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.model import Department, OverallTable, Project, TargetTable
from perfxl.errors import FileError, InputError
from perfxl.formats.overall_published import write_overall_published
from perfxl.formats.published_writer import write_published
from perfxl.formats.templates import OVERALL_SUFFIX
from perfxl.ledger.columnar import COPIED, keeper, write_copied
from perfxl.ledger.details import Table, detail_tables, local_text
from perfxl.ledger.store import Store


def accepted_tables(store: Store, year: int | None = None) -> Iterator[TargetTable]:
    """Each accepted submission as a table, one department at a time, by department code."""
    accepted = store.submissions(year, status="accepted", form="project")
    for s in sorted(accepted, key=lambda s: s.department_code or ""):
        yield TargetTable(
            department=Department(code=s.department_code, name=s.department_name),
            fiscal_year=s.fiscal_year,
            projects=store.projects(s.id),
        )


def accepted_overall(store: Store, year: int | None = None) -> list[OverallTable]:
    """Each accepted department-wide form, by department code."""
    accepted = store.submissions(year, status="accepted", form="department")
    out = []
    for s in sorted(accepted, key=lambda s: s.department_code or ""):
        table = store.overall(s.id)
        table.department = Department(code=s.department_code, name=s.department_name)
        table.fiscal_year = s.fiscal_year
        out.append(table)
    return out


def write_published_ledger(
    store: Store, path: Path, year: int | None = None, bureau: str | None = None
) -> list[Path]:
    """The official layout: one sheet per department, or (with `bureau`, the bureau's
    name) one table in which each department is a 资金使用单位 group. Fields a template
    spec added get columns of their own. The department-wide forms, where the ledger
    holds any, go beside it in their own layout (`<name>-部门整体.xlsx`)."""
    with store.snapshot():  # one state of the ledger
        tables = list(accepted_tables(store, year))
        overall = accepted_overall(store, year)
    if not tables and not overall:
        raise InputError("台账中还没有已接收的提交")
    written = [_write_projects(store, tables, path, year, bureau)] if tables else []
    if overall:
        beside = path.with_name(f"{path.stem}{OVERALL_SUFFIX}{path.suffix}")
        written.append(write_overall_published(overall, beside))
    return written


def _write_projects(
    store: Store, tables: list[TargetTable], path: Path, year: int | None, bureau: str | None
) -> Path:
    fields = store.fields("project")
    if bureau is not None:
        projects: list[Project] = []
        for table in tables:
            projects += [
                p.model_copy(update={"unit": table.department.name}) for p in table.projects
            ]
        merged = TargetTable(
            department=Department(name=bureau), fiscal_year=year, projects=projects
        )
        return write_published(merged, path, fields)
    return write_published(tables, path, fields)


def csv_safe(value: object) -> str:
    """Text a spreadsheet opening the CSV will never take for a formula: a leading `=`, `+`,
    `-`, `@`, tab or carriage return gets a `'` in front (the usual defence). A time is its
    local text (`2026-11-26 19:46:46`)."""
    text = _text(value) or ""
    return f"'{text}" if text[:1] in _FORMULA else text


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_FIRST = "".join(_FORMULA)


def write_details(store: Store, out_dir: Path, fmt: str, year: int | None = None) -> list[Path]:
    """The detail tables (projects, indicators, …, issues, submissions) as CSV (UTF-8 with
    BOM, so that Excel opens it right) or Parquet, each column typed by its kind. Statuses,
    severities, kinds of file and forms are in Chinese, as in the workbook; times are local.

    CSV: amounts and numbers as exact decimal text (`4684.03`, never `4.68403E+3`), times
    as `2026-11-26 19:46:46`. Parquet: amounts and numbers as decimal128 (precision 18,
    scale 6: every amount to the cent of 元; a column holding a value with more places or
    digits is written with as many as it needs), counts, years and ids as int64, times as
    timestamp[us] in the local zone, text as string; rows streamed in batches of 50,000,
    so memory does not grow with the ledger."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"未知的导出格式“{fmt}”：可用 csv、parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    with store.snapshot():
        return _write_details(store, out_dir, fmt, year)


def _write_details(store: Store, out_dir: Path, fmt: str, year: int | None) -> list[Path]:
    written = []
    with keeper(store) if fmt == "parquet" else contextlib.nullcontext() as kept:
        for table in detail_tables(store, year, for_people=False):
            path = out_dir / f"{table.name}.{fmt}"
            if fmt == "csv":
                _write_csv(path, table)
            elif table.name in COPIED:
                _write_parquet_copied(store, kept, path, year, table)
            else:
                _write_parquet(path, table, _again(store, year, table.name))
            written.append(path)
    return written


def _again(store: Store, year: int | None, name: str) -> Callable[[], Table]:
    """The table of that name afresh, its rows from the start."""
    return lambda: next(t for t in detail_tables(store, year, for_people=False) if t.name == name)


def _write_csv(path: Path, table: Table) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.title for c in table.columns])
        writer.writerows(_csv_rows(table))


def _csv_rows(table: Table) -> Iterator[list[object]]:
    """The rows as the CSV holds them. An int is written by the csv module as it is, and a
    Decimal as its exact text, in full where str() would take an exponent (`1E+3`); a
    negative amount is a number, no formula, and takes no `'`. Any other value is
    `csv_safe`. (Names bound locally: the loop runs for every cell.)"""
    decimals = [c for c, col in enumerate(table.columns) if col.kind in ("money", "number")]
    others = [c for c in range(len(table.columns)) if c not in decimals]
    first, str_, int_, decimal = _FIRST, str, int, Decimal
    for row in table.rows:
        for c in others:
            value = row[c]
            kind = value.__class__
            if kind is str_:
                if value and value[0] in first:  # type: ignore[index]
                    row[c] = "'" + value  # type: ignore[operator]
            elif value is not None and kind is not int_:
                row[c] = csv_safe(value)
        for c in decimals:
            value = row[c]
            kind = value.__class__
            if kind is decimal:
                text = str_(value)
                row[c] = f"{value:f}" if "E" in text else text
            elif value is not None and kind is not int_:
                row[c] = csv_safe(value)
        yield row


# Parquet: rows per record batch (and row group); an amount's digits and places.
BATCH = 50_000
PRECISION, SCALE, MAX_PRECISION = 18, 6, 38


def _write_parquet(path: Path, table: Table, again: Callable[[], Table]) -> None:
    """The table as Parquet, typed by its columns' kinds. Should a value not fit its
    column's type (an amount with more than six places, a text where a number was due),
    that column's type is widened and the table written again from its first row."""
    pa, pq = _pyarrow(path)
    types = [_arrow_type(pa, c.kind) for c in table.columns]
    while True:
        try:
            _write_batches(pa, pq, path, table, types)
            return
        except _Widen as widen:
            types[widen.column] = widen.type
            table = again()


def _write_parquet_copied(
    store: Store, kept: Store | None, path: Path, year: int | None, table: Table
) -> None:
    """A large detail table as Parquet, from the column copies of its rows (columnar.py)."""
    pa, pq = _pyarrow(path)

    def convert(types: list[Any], rows: list[tuple[object, ...]]) -> list[Any]:
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(types)
        arrays = []
        for n, values in enumerate(columns):
            while True:
                try:
                    arrays.append(_array(pa, n, values, types[n]))
                    break
                except _Widen as widen:
                    types[n] = widen.type if widen.type != types[n] else pa.string()
        return arrays

    usual = [_arrow_type(pa, c.kind) for c in table.columns]
    write_copied(pa, pq, store, kept, path, year, table, convert, usual, BATCH)


def _pyarrow(path: Path) -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise FileError(path, "写 Parquet 需要 pyarrow：pip install 'perfxl[parquet]'") from exc
    return pa, pq


def _write_batches(pa: Any, pq: Any, path: Path, table: Table, types: list[Any]) -> None:
    """The rows in record batches, each converted column by column; a batch's rows and
    arrays are let go before the next batch is read, so that one batch is held at a time."""
    schema = pa.schema([pa.field(c.title, t) for c, t in zip(table.columns, types, strict=True)])
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in _batches(table.rows):
            arrays = [
                _array(pa, n, values, types[n]) for n, values in enumerate(zip(*batch, strict=True))
            ]
            batch.clear()
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            arrays.clear()


def _batches(rows: Iterator[list[object]]) -> Iterator[list[tuple[object, ...]]]:
    """The rows in batches of `BATCH`, each row a tuple: a tuple of plain values leaves the
    garbage collector's watch, a list never does (collections took a sixth of the time)."""
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(tuple(row))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _arrow_type(pa: Any, kind: str) -> Any:
    if kind in ("money", "number"):
        return pa.decimal128(PRECISION, SCALE)
    if kind in ("count", "int"):
        return pa.int64()
    if kind == "time":
        return pa.timestamp("us", tz=local_zone())
    return pa.string()


class _Widen(Exception):
    """A value did not fit its column's type: the column takes `type` instead."""

    def __init__(self, column: int, type_: Any) -> None:
        super().__init__(column)
        self.column, self.type = column, type_


def _array(pa: Any, column: int, values: tuple[object, ...], type_: Any) -> Any:
    """A column of a batch as an Arrow array of its type, converted by pyarrow in one go.
    Text that is not all `str` is made so; a value that does not fit another type (pyarrow
    refuses to round an amount) widens the column."""
    try:
        return pa.array(values, type=type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        if pa.types.is_string(type_):
            return pa.array([_text(v) for v in values], type=type_)
        raise _Widen(column, _wider(pa, values, type_)) from exc


def _text(value: object) -> str | None:
    if value is None:
        return None
    return local_text(value) if isinstance(value, datetime) else str(value)


def _wider(pa: Any, values: tuple[object, ...], type_: Any) -> Any:
    """The type a column needs for `values`: a decimal with the digits and places they
    have (precision 18 where that suffices, else 38), else text."""
    if pa.types.is_decimal(type_):
        numbers = [v for v in values if v is not None]
        if all(isinstance(v, Decimal) and v.is_finite() for v in numbers):
            scale, whole = type_.scale, 1  # the whole digits the values have, not room
            for v in numbers:
                _, digits, exponent = Decimal(str(v)).as_tuple()
                assert isinstance(exponent, int)
                scale = max(scale, -exponent)
                whole = max(whole, len(digits) + exponent)
            precision = PRECISION if whole + scale <= PRECISION else MAX_PRECISION
            if whole + scale <= MAX_PRECISION:
                return pa.decimal128(precision, scale)
    return pa.string()


def local_zone() -> str:
    """The machine's time zone, as Parquet readers know it: its IANA name (`TZ`, else
    what /etc/localtime links to), else its offset now (`+08:00`)."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    for name in candidates:
        if name and _is_zone(name):
            return name
    offset = datetime.now().astimezone().strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def _is_zone(name: str) -> bool:
    """Is `name` an IANA zone that says what the local clock says now? (`TZ` set to a
    name the C library reads differently, say, is not taken.)"""
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    now = datetime.now(UTC)
    return now.astimezone(zone).utcoffset() == now.astimezone().utcoffset()
