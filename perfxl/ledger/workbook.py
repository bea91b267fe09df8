"""The consolidated ledger: who submitted what, and the bureau's figures from the accepted
submissions, right to the cent and traceable to each source cell.

- `department_status`: against the roster, which departments have an accepted submission,
  which were rejected, which never submitted, and which files came from departments not on
  the roster.
- `write_ledger`: the consolidated workbook, in Chinese (汇总, 部门汇总, 项目明细, 指标明细,
  校验问题, 提交情况). Rows stream from SQLite to xlsxwriter in constant-memory mode, so memory
  does not grow with the number of submissions; totals are formulas whose cached values are
  the `Decimal` sums, since a returned workbook's cached values are never recomputed on load.
- `write_published_ledger`: the official layout, one sheet per department or one table.
- `write_details`: the detail tables as CSV or Parquet for other tools.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.amounts import ZERO
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Department, Project, TargetTable
from perfxl.domain.values import parse_value
from perfxl.errors import FileError, InputError
from perfxl.formats.grid import column_letter
from perfxl.formats.published import write_published
from perfxl.formats.roster import RosterEntry
from perfxl.ledger.store import Store, Submission, to_decimal

AMOUNT_KEYS = ("total", "fiscal", "special", "other")
AMOUNT_HEADERS = ("总计", "财政拨款", "财政专户拨款", "其他资金")
STATUS_TEXT = {
    "accepted": "已接收",
    "rejected": "已退回",
    "missing": "未提交",
    "superseded": "已被替代",
    "unknown": "不在名单",
}


@dataclass
class DepartmentStatus:
    code: str
    name: str
    status: str  # accepted / rejected / missing
    submission: Submission | None = None
    submissions: int = 0
    projects: int = 0
    indicators: int = 0
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AMOUNT_KEYS, ZERO))
    errors: int = 0
    warnings: int = 0


@dataclass
class StatusReport:
    departments: list[DepartmentStatus]
    unknown: list[Submission]  # files from departments not on the roster

    def count(self, status: str) -> int:
        return sum(1 for d in self.departments if d.status == status)


def _accepted_where(year: int | None) -> tuple[str, tuple[object, ...]]:
    if year is None:
        return "status = 'accepted'", ()
    return "status = 'accepted' AND fiscal_year = ?", (year,)


def department_status(
    store: Store, roster: list[RosterEntry] | None, year: int | None = None
) -> StatusReport:
    """Each roster department's standing (or each department seen, without a roster)."""
    where, params = ("1", ()) if year is None else ("fiscal_year = ?", (year,))
    submissions = store.submissions(where, params)
    entries = (
        roster
        if roster is not None
        else [
            RosterEntry(code=code, name=name or code)
            for code, name in dict.fromkeys(
                (s.department_code, s.department_name) for s in submissions if s.department_code
            )
        ]
    )
    by_department: dict[str, list[Submission]] = {}
    for s in submissions:
        if s.department_code:
            by_department.setdefault(s.department_code, []).append(s)
    out = []
    for entry in entries:
        mine = by_department.get(entry.code, [])
        status = DepartmentStatus(entry.code, entry.name, "missing", submissions=len(mine))
        in_force = [s for s in mine if s.status == "accepted"]
        latest_rejected = [s for s in mine if s.status == "rejected"]
        chosen = in_force[-1] if in_force else (latest_rejected[-1] if latest_rejected else None)
        if chosen is not None:
            status.status, status.submission = chosen.status, chosen
            status.errors, status.warnings = chosen.errors, chosen.warnings
            if chosen.status == "accepted":
                _add_figures(store, status, chosen.id)
        out.append(status)
    known = {e.code for e in entries}
    unknown = [s for s in submissions if s.department_code not in known]
    return StatusReport(out, unknown)


def _add_figures(store: Store, status: DepartmentStatus, submission_id: int) -> None:
    for row in store.db.execute(
        "SELECT total, fiscal, special, other FROM projects WHERE submission_id = ?",
        (submission_id,),
    ):
        status.projects += 1
        for key in AMOUNT_KEYS:
            status.amounts[key] += to_decimal(row[key]) or ZERO
    status.indicators = store.db.execute(
        "SELECT COUNT(*) FROM projects p JOIN indicators i ON i.project_id = p.id"
        " WHERE p.submission_id = ?",
        (submission_id,),
    ).fetchone()[0]


# --- the consolidated workbook -----------------------------------------------------------

PROJECT_COLUMNS = (
    "单位编码",
    "单位名称",
    "项目编码",
    "项目名称",
    "资金使用单位",
    *AMOUNT_HEADERS,
    "绩效目标",
    "指标数",
    "来源文件",
    "来源工作表",
    "来源单元格",
)
INDICATOR_COLUMNS = (
    "单位编码",
    "单位名称",
    "项目编码",
    "项目名称",
    "一级指标代码",
    "一级指标",
    "二级指标代码",
    "二级指标",
    "三级指标",
    "指标性质",
    "实施周期指标值",
    "年度指标值",
    "年度计算符号",
    "年度数值",
    "年度计量单位",
    "来源文件",
    "来源工作表",
    "来源单元格",
)
ISSUE_COLUMNS = (
    "单位编码",
    "单位名称",
    "文件",
    "状态",
    "工作表",
    "单元格",
    "代码",
    "级别",
    "说明",
    "原值",
    "修改建议",
)
SUBMISSION_COLUMNS = (
    "序号",
    "单位编码",
    "单位名称",
    "文件中的单位",
    "年度",
    "文件",
    "接收时间",
    "类型",
    "状态",
    "错误",
    "提示",
    "被替代为",
    "sha256",
)


def _project_rows(store: Store, year: int | None) -> Iterator[Any]:
    where, params = _accepted_where(year)
    yield from store.db.execute(
        "SELECT s.department_code, s.department_name, s.file_name, p.id, p.code, p.name, p.unit,"
        " p.total, p.fiscal, p.special, p.other, p.goal, p.sheet, p.cell,"
        " (SELECT COUNT(*) FROM indicators i WHERE i.project_id = p.id) AS indicator_count"
        f" FROM projects p JOIN submissions s ON s.id = p.submission_id WHERE s.{where}"
        " ORDER BY s.department_code, s.id, p.position",
        params,
    )


def _indicator_rows(store: Store, year: int | None) -> Iterator[Any]:
    where, params = _accepted_where(year)
    yield from store.db.execute(
        "SELECT s.department_code, s.department_name, s.file_name, p.code AS project_code,"
        " p.name AS project_name, i.* FROM indicators i JOIN projects p ON p.id = i.project_id"
        f" JOIN submissions s ON s.id = p.submission_id WHERE s.{where}"
        " ORDER BY s.department_code, s.id, p.position, i.position",
        params,
    )


def _issue_rows(store: Store, year: int | None) -> Iterator[Any]:
    where, params = (
        ("s.status != 'superseded'", ())
        if year is None
        else ("s.status != 'superseded' AND s.fiscal_year = ?", (year,))
    )
    yield from store.db.execute(
        "SELECT s.department_code, s.department_name, s.file_name, s.status, i.*"
        f" FROM issues i JOIN submissions s ON s.id = i.submission_id WHERE {where}"
        " ORDER BY s.department_code, s.id, i.id",
        params,
    )


def project_values(row: Any) -> list[object]:
    """A 项目明细 row (PROJECT_COLUMNS), amounts as Decimal."""
    return [
        row["department_code"],
        row["department_name"],
        row["code"],
        row["name"],
        row["unit"],
        *(to_decimal(row[k]) for k in AMOUNT_KEYS),
        row["goal"],
        row["indicator_count"],
        row["file_name"],
        row["sheet"],
        row["cell"],
    ]


def indicator_values(row: Any) -> list[object]:
    """An 指标明细 row (INDICATOR_COLUMNS); an unparsed indicator shows its text as written."""
    annual = parse_value(row["annual"])
    return [
        row["department_code"],
        row["department_name"],
        row["project_code"],
        row["project_name"],
        row["level1"],
        row["level1_label"],
        row["level2"],
        row["level2_label"],
        row["name"] if row["raw"] is None else row["raw"],
        row["nature"],
        row["period"],
        row["annual"],
        annual.operator,
        annual.number,
        annual.unit,
        row["file_name"],
        row["sheet"],
        row["cell"],
    ]


def issue_values(row: Any, for_people: bool = True) -> list[object]:
    """A 校验问题 row (ISSUE_COLUMNS): status and severity in Chinese for people, as codes
    for tools."""
    status, severity = row["status"], row["severity"]
    if for_people:
        status = STATUS_TEXT.get(status, status)
        severity = "错误" if severity == "error" else "提示"
    return [
        row["department_code"],
        row["department_name"],
        row["file_name"],
        status,
        row["sheet"],
        row["cell"],
        row["code"],
        severity,
        row["message"],
        row["value"],
        row["hint"],
    ]


def submission_values(s: Submission, for_people: bool = True) -> list[object]:
    """A 提交情况 row (SUBMISSION_COLUMNS)."""
    return [
        s.id,
        s.department_code or ("（不在名单）" if for_people else None),
        s.department_name,
        s.file_department_name or s.file_department_code,
        s.fiscal_year,
        s.file_name,
        s.received_at,
        s.kind,
        STATUS_TEXT.get(s.status, s.status) if for_people else s.status,
        s.errors,
        s.warnings,
        s.superseded_by,
        s.sha256,
    ]


def _submissions(store: Store, year: int | None) -> list[Submission]:
    where, params = ("1", ()) if year is None else ("fiscal_year = ?", (year,))
    return store.submissions(where, params)


@dataclass
class LedgerTotals:
    """What the 汇总 sheet shows, summed as Decimal while the detail rows stream past."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AMOUNT_KEYS, ZERO))
    projects: int = 0
    indicators: int = 0
    by_level1: Counter[str] = field(default_factory=Counter)
    by_level2: Counter[str] = field(default_factory=Counter)


def write_ledger(
    store: Store,
    path: Path,
    codeset: CodeSet,
    roster: list[RosterEntry] | None = None,
    year: int | None = None,
    title: str = "预算绩效目标汇总",
) -> LedgerTotals:
    """Write the consolidated workbook; return the totals it shows."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    status = department_status(store, roster, year)
    totals = LedgerTotals()
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    try:
        f = _formats(wb)
        summary = wb.add_worksheet("汇总")  # first tab; written last, its numbers known then
        depts = wb.add_worksheet("部门汇总")
        projects = wb.add_worksheet("项目明细")
        indicators = wb.add_worksheet("指标明细")
        issues = wb.add_worksheet("校验问题")
        submissions = wb.add_worksheet("提交情况")
        dept_rows = _write_departments(depts, status, f)
        _write_projects(projects, store, year, totals, f)
        _write_indicators(indicators, store, year, totals, f)
        _write_issues(issues, store, year, f)
        _write_submissions(submissions, store, year, f)
        _write_summary(wb, summary, totals, status, dept_rows, codeset, f, title)
        summary.activate()
    finally:
        wb.close()
    return totals


def _formats(wb: Any) -> dict[str, Any]:
    return {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "head": wb.add_format(
            {
                "bold": True,
                "bg_color": "#DDEBF7",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
            }
        ),
        "money": wb.add_format({"num_format": "#,##0.00"}),
        "money_bold": wb.add_format({"num_format": "#,##0.00", "bold": True, "top": 1}),
        "bold": wb.add_format({"bold": True, "top": 1}),
        "text": wb.add_format({}),
        "error": wb.add_format({"font_color": "#C00000"}),
    }


def _header(ws: Any, columns: tuple[str, ...], f: dict[str, Any], widths: dict[str, int]) -> None:
    for c, name in enumerate(columns):
        ws.set_column(c, c, widths.get(name, 12))
        ws.write_string(0, c, name, f["head"])
    ws.freeze_panes(1, 0)


def _put(ws: Any, r: int, c: int, value: object, fmt: Any = None) -> None:
    """One cell, typed: money and counts as numbers, everything else as text (a leading
    `=` stays text)."""
    if value is None or value == "":
        return
    if isinstance(value, Decimal):
        ws.write_number(r, c, float(value), fmt)  # doubles, as Excel stores numbers
    elif isinstance(value, int) and not isinstance(value, bool):
        ws.write_number(r, c, value, fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def _total_row(
    ws: Any,
    r: int,
    first_col: int,
    label_col: int,
    sums: list[Decimal],
    first_row: int,
    f: dict[str, Any],
) -> None:
    """A 合计 row: SUM formulas over the rows above, with their Decimal sums cached."""
    ws.write_string(r, label_col, "合计", f["bold"])
    for k, value in enumerate(sums):
        letter = column_letter(first_col + k)
        formula = f"=SUM({letter}{first_row + 1}:{letter}{max(r, first_row + 1)})"
        ws.write_formula(r, first_col + k, formula, f["money_bold"], float(value))


def _write_departments(ws: Any, status: StatusReport, f: dict[str, Any]) -> tuple[int, int]:
    columns = (
        "单位编码",
        "单位名称",
        "状态",
        "项目数",
        *AMOUNT_HEADERS,
        "指标数",
        "错误",
        "提示",
        "提交次数",
        "采用的文件",
    )
    _header(ws, columns, f, {"单位名称": 24, "采用的文件": 30})
    sums = dict.fromkeys(AMOUNT_KEYS, ZERO)
    r = 0
    for r, d in enumerate(status.departments, start=1):
        values: list[object] = [
            d.code,
            d.name,
            STATUS_TEXT[d.status],
            d.projects,
            *(d.amounts[k] for k in AMOUNT_KEYS),
            d.indicators,
            d.errors,
            d.warnings,
            d.submissions,
            d.submission.file_name if d.submission else "",
        ]
        for c, value in enumerate(values):
            fmt = (
                f["money"]
                if 4 <= c < 8
                else (f["error"] if d.status != "accepted" and c == 2 else None)
            )
            _put(ws, r, c, value, fmt)
        for k in AMOUNT_KEYS:
            sums[k] += d.amounts[k]
    last = r
    _total_row(ws, last + 1, 4, 1, [sums[k] for k in AMOUNT_KEYS], 1, f)
    ws.autofilter(0, 0, max(last, 1), len(columns) - 1)
    return 1, last  # first and last data row (0-based) for the chart


def _write_projects(
    ws: Any, store: Store, year: int | None, totals: LedgerTotals, f: dict[str, Any]
) -> None:
    _header(
        ws, PROJECT_COLUMNS, f, {"单位名称": 20, "项目名称": 30, "绩效目标": 50, "来源文件": 24}
    )
    r = 0
    for r, row in enumerate(_project_rows(store, year), start=1):
        values = project_values(row)
        for key, amount in zip(AMOUNT_KEYS, values[5:9], strict=True):
            totals.amounts[key] += amount or ZERO  # type: ignore[operator]
        totals.projects += 1
        for c, value in enumerate(values):
            _put(ws, r, c, value, f["money"] if 5 <= c < 9 else None)
    _total_row(ws, r + 1, 5, 3, [totals.amounts[k] for k in AMOUNT_KEYS], 1, f)


def _write_indicators(
    ws: Any, store: Store, year: int | None, totals: LedgerTotals, f: dict[str, Any]
) -> None:
    _header(
        ws, INDICATOR_COLUMNS, f, {"单位名称": 20, "项目名称": 28, "三级指标": 28, "来源文件": 24}
    )
    for r, row in enumerate(_indicator_rows(store, year), start=1):
        totals.indicators += 1
        totals.by_level1[row["level1"] or "?"] += 1
        totals.by_level2[row["level2"] or "?"] += 1
        for c, value in enumerate(indicator_values(row)):
            _put(ws, r, c, value)


def _write_issues(ws: Any, store: Store, year: int | None, f: dict[str, Any]) -> None:
    _header(
        ws, ISSUE_COLUMNS, f, {"单位名称": 20, "文件": 24, "代码": 22, "说明": 60, "修改建议": 40}
    )
    for r, row in enumerate(_issue_rows(store, year), start=1):
        for c, value in enumerate(issue_values(row)):
            _put(ws, r, c, value, f["error"] if row["severity"] == "error" and c == 7 else None)


def _write_submissions(ws: Any, store: Store, year: int | None, f: dict[str, Any]) -> None:
    _header(
        ws,
        SUBMISSION_COLUMNS,
        f,
        {"单位名称": 20, "文件中的单位": 20, "文件": 28, "接收时间": 22, "sha256": 20},
    )
    for r, submission in enumerate(_submissions(store, year), start=1):
        for c, value in enumerate(submission_values(submission)):
            _put(ws, r, c, value)


def _write_summary(
    wb: Any,
    ws: Any,
    totals: LedgerTotals,
    status: StatusReport,
    dept_rows: tuple[int, int],
    codeset: CodeSet,
    f: dict[str, Any],
    title: str,
) -> None:
    ws.set_column(0, 0, 22)
    ws.set_column(1, 4, 16)
    ws.write_string(0, 0, title, f["title"])
    ws.write_string(2, 0, "资金来源", f["head"])
    ws.write_string(2, 1, "金额（万元）", f["head"])
    last_project_row = totals.projects + 1  # 1-based row of the detail sheet's last row
    for k, (key, header) in enumerate(zip(AMOUNT_KEYS, AMOUNT_HEADERS, strict=True)):
        letter = column_letter(5 + k)
        ws.write_string(3 + k, 0, header)
        ws.write_formula(
            3 + k,
            1,
            f"=SUM('项目明细'!{letter}2:{letter}{max(last_project_row, 2)})",
            f["money"],
            float(totals.amounts[key]),
        )
    ws.write_string(8, 0, "单位", f["head"])
    ws.write_string(8, 1, "个数", f["head"])
    counts = (
        ("名单中的单位", len(status.departments)),
        ("已接收", status.count("accepted")),
        ("已退回", status.count("rejected")),
        ("未提交", status.count("missing")),
        ("不在名单的提交", len(status.unknown)),
        ("项目", totals.projects),
        ("指标", totals.indicators),
    )
    for n, (label, value) in enumerate(counts):
        ws.write_string(9 + n, 0, label)
        ws.write_number(9 + n, 1, value)
    r = 17
    ws.write_string(r, 0, "一级指标", f["head"])
    ws.write_string(r, 1, "指标数", f["head"])
    ws.write_string(r, 3, "二级指标", f["head"])
    ws.write_string(r, 4, "指标数", f["head"])
    level1 = [(f"{i.code}-{i.label}", totals.by_level1.get(i.code, 0)) for i in codeset.level1]
    level1 += [
        (f"{code}（不在指标体系中）", n)
        for code, n in sorted(totals.by_level1.items())
        if codeset.l1(code) is None
    ]
    level2 = [(f"{i.code}-{i.label}", totals.by_level2.get(i.code, 0)) for i in codeset.level2]
    level2 += [
        (f"{code}（不在指标体系中）", n)
        for code, n in sorted(totals.by_level2.items())
        if codeset.l2(code) is None
    ]
    for n in range(max(len(level1), len(level2))):
        if n < len(level1):
            ws.write_string(r + 1 + n, 0, level1[n][0])
            ws.write_number(r + 1 + n, 1, level1[n][1])
        if n < len(level2):
            ws.write_string(r + 1 + n, 3, level2[n][0])
            ws.write_number(r + 1 + n, 4, level2[n][1])
    first, last = dept_rows
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "总计（万元）",
            "categories": ["部门汇总", first, 1, last, 1],
            "values": ["部门汇总", first, 4, last, 4],
        }
    )
    chart.set_title({"name": "各单位项目资金"})
    chart.set_legend({"none": True})
    ws.insert_chart("G3", chart, {"x_scale": 1.3, "y_scale": 1.2})
    pie = wb.add_chart({"type": "column"})
    pie.add_series(
        {
            "name": "指标数",
            "categories": ["汇总", r + 1, 0, r + len(level1), 0],
            "values": ["汇总", r + 1, 1, r + len(level1), 1],
        }
    )
    pie.set_title({"name": "指标按一级分布"})
    pie.set_legend({"none": True})
    ws.insert_chart("G22", pie, {"x_scale": 1.3})


# --- the published layout and detail tables ----------------------------------------------


def accepted_tables(store: Store, year: int | None = None) -> Iterator[TargetTable]:
    """Each accepted submission as a table, one department at a time, by department code."""
    where, params = _accepted_where(year)
    for s in sorted(store.submissions(where, params), key=lambda s: s.department_code or ""):
        yield TargetTable(
            department=Department(code=s.department_code, name=s.department_name),
            fiscal_year=s.fiscal_year,
            projects=store.projects(s.id),
        )


def write_published_ledger(
    store: Store, path: Path, year: int | None = None, bureau: str | None = None
) -> Path:
    """The official layout: one sheet per department, or (with `bureau`, the bureau's
    name) one table in which each department is a 资金使用单位 group."""
    tables = list(accepted_tables(store, year))
    if not tables:
        raise InputError("台账中还没有已接收的提交")
    if bureau is not None:
        projects: list[Project] = []
        for table in tables:
            projects += [
                p.model_copy(update={"unit": table.department.name}) for p in table.projects
            ]
        merged = TargetTable(
            department=Department(name=bureau), fiscal_year=year, projects=projects
        )
        return write_published(merged, path)
    return write_published(tables, path)


DETAIL_QUERIES = {
    "projects": PROJECT_COLUMNS,
    "indicators": INDICATOR_COLUMNS,
    "issues": ISSUE_COLUMNS,
    "submissions": SUBMISSION_COLUMNS,
}


def _detail_rows(store: Store, name: str, year: int | None) -> Iterator[list[object]]:
    """The rows of a detail table, for tools: codes rather than Chinese labels."""
    if name == "projects":
        yield from (project_values(row) for row in _project_rows(store, year))
    elif name == "indicators":
        yield from (indicator_values(row) for row in _indicator_rows(store, year))
    elif name == "issues":
        yield from (issue_values(row, for_people=False) for row in _issue_rows(store, year))
    else:
        yield from (submission_values(s, for_people=False) for s in _submissions(store, year))


def csv_safe(value: object) -> str:
    """Text a spreadsheet opening the CSV will never take for a formula: a leading `=`, `+`,
    `-`, `@`, tab or carriage return gets a `'` in front (the usual defence)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_details(store: Store, out_dir: Path, fmt: str, year: int | None = None) -> list[Path]:
    """projects, indicators, issues and submissions as CSV (UTF-8 with BOM, so that Excel
    opens it right) or Parquet. Amounts stay exact decimal text."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, columns in DETAIL_QUERIES.items():
        if fmt == "csv":
            path = out_dir / f"{name}.csv"
            with path.open("w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                for row in _detail_rows(store, name, year):
                    writer.writerow([csv_safe(v) for v in row])
        elif fmt == "parquet":
            path = out_dir / f"{name}.parquet"
            _write_parquet(path, columns, _detail_rows(store, name, year))
        else:
            raise InputError(f"未知的导出格式“{fmt}”：可用 csv、parquet")
        written.append(path)
    return written


def _write_parquet(path: Path, columns: tuple[str, ...], rows: Iterator[list[object]]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise FileError(path, "写 Parquet 需要 pyarrow：pip install 'perfxl[parquet]'") from exc
    schema = pa.schema([(c, pa.string()) for c in columns])
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[list[object]] = []
        for row in rows:
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
