"""The ledger for other readers: the official published layout (one sheet per department,
or one bureau-wide table), and the detail tables as CSV or Parquet for other tools."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from perfxl.domain.model import Department, OverallTable, Project, TargetTable
from perfxl.errors import FileError, InputError
from perfxl.formats.overall_published import write_overall_published
from perfxl.formats.published_writer import write_published
from perfxl.formats.templates import OVERALL_SUFFIX
from perfxl.ledger.details import Table, detail_tables
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
    `-`, `@`, tab or carriage return gets a `'` in front (the usual defence)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_details(store: Store, out_dir: Path, fmt: str, year: int | None = None) -> list[Path]:
    """projects, indicators, issues and submissions as CSV (UTF-8 with BOM, so that Excel
    opens it right) or Parquet. Amounts stay exact decimal text."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"未知的导出格式“{fmt}”：可用 csv、parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for table in detail_tables(store, year, for_people=False):
        path = out_dir / f"{table.name}.{fmt}"
        if fmt == "csv":
            _write_csv(path, table)
        else:
            _write_parquet(path, table)
        written.append(path)
    return written


def _write_csv(path: Path, table: Table) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.title for c in table.columns])
        for row in table.rows:
            writer.writerow([csv_safe(v) for v in row])


def _write_parquet(path: Path, table: Table) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise FileError(path, "写 Parquet 需要 pyarrow：pip install 'perfxl[parquet]'") from exc
    schema = pa.schema([(c.title, pa.string()) for c in table.columns])
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[list[object]] = []
        for row in table.rows:
            batch.append(row)
            if len(batch) >= 10_000:
                writer.write_table(_arrow_table(pa, schema, batch))
                batch = []
        writer.write_table(_arrow_table(pa, schema, batch))


def _arrow_table(pa: Any, schema: Any, rows: list[list[object]]) -> Any:
    return pa.table(
        {
            name: [None if row[c] is None else str(row[c]) for row in rows]
            for c, name in enumerate(schema.names)
        },
        schema=schema,
    )
