"""The ledger's detail tables (项目明细, 指标明细, 校验问题, 提交情况): their columns and their
rows, the same for the workbook, CSV and Parquet.

The columns of projects and indicators are the fields of the ledger (the registry's, and
those template specs added), by their captions, with each row's department and source
cell; an indicator value is shown as written, then its 计算符号, number and unit.

What people read is in Chinese in every output: statuses (已接收 …), severities (错误, 提示),
the kind of file (perfxl 模板, 公开表 …) and the form (项目支出, 部门整体); a time is the
machine's local time (`2026-11-26 19:46:46` for 11:46:46 UTC in Beijing). The workbook gets
a time as that text; the CSV and Parquet writers get it as a moment in the local zone, and
every value typed by its column's kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from perfxl.domain.fields import PROJECT, TASK, Field, caption_key
from perfxl.ledger.queries import Submission, decode_extra
from perfxl.ledger.rows import Rows, row_values
from perfxl.ledger.status import STATUS_TEXT, StatusReport, department_status
from perfxl.ledger.store import Store

# What a column's values are: text; money (Decimal, in 万元); another number (Decimal: an
# indicator value's number, a weight); a count; another whole number (a year, a sequence
# number, a submission's id); a time (local).
Kind = Literal["text", "money", "number", "count", "int", "time"]


@dataclass(frozen=True)
class Column:
    """A column of a detail table: its caption, what its values are, its width."""

    title: str
    kind: Kind = "text"
    width: int = 12


_WIDTHS = {
    "单位名称": 20,
    "文件": 24,
    "代码": 22,
    "说明": 60,
    "修改建议": 40,
    "接收时间": 22,
    "文件中的单位": 20,
}
_SOURCE = (Column("来源文件", width=24), Column("来源工作表"), Column("来源单元格"))
_SOURCE_NAMES = ("file_name", "sheet", "cell")  # where the store's rows hold them


def _column(title: str, kind: Kind = "text", width: int = 0) -> Column:
    return Column(title, kind, width or _WIDTHS.get(title, 14 if kind == "money" else 12))


def field_columns(field: Field) -> list[Column]:
    """The columns a field is shown in: money as money, a value's number (or a number
    field's value, such as a weight) as a number."""
    kind: Kind = "money" if field.is_money else "number" if field.is_decimal else "text"
    kinds: list[Kind] = [kind] * len(field.titles)
    if field.type == "value":
        kinds[2] = "number"
    return [
        _column(title, kind, field.width) for title, kind in zip(field.titles, kinds, strict=True)
    ]


@dataclass
class Table:
    """A detail table: its columns, and its rows streamed from the store."""

    name: str  # as a file: projects, indicators, issues, submissions
    title: str  # as a sheet
    columns: list[Column]
    rows: Iterator[list[object]]


def project_table(
    store: Store, year: int | None, submission: int | None = None, keyed: bool = False
) -> Table:
    """项目明细: the projects of the accepted submissions (or of one), by department; where
    `keyed`, each row ends with its submission's id (no column of its own)."""
    all_fields = store.fields("project")
    fields = all_fields.modelled
    columns = [
        _column("单位编码"),
        _column("单位名称"),
        *(c for f in fields for c in field_columns(f)),
        _column("指标数", "count"),
        *_SOURCE,
    ]

    head = ("department_code", "department_name")
    tail: tuple[str, ...] = ("indicator_count", *_SOURCE_NAMES, *(("submission_id",) * keyed))
    rows = map(Rows(all_fields, head, tail), store.project_rows(year, submission))
    return Table("projects", "项目明细", columns, rows)


def indicator_table(
    store: Store, year: int | None, submission: int | None = None, keyed: bool = False
) -> Table:
    """指标明细: the indicators of the accepted submissions (or of one), by department, then
    those of the department-wide forms; where `keyed`, each row ends with its submission's
    id (no column of its own)."""
    all_fields = store.fields("indicator")
    fields = all_fields.modelled
    columns = [
        _column("单位编码"),
        _column("单位名称"),
        _column(PROJECT["code"].title, width=PROJECT["code"].width),
        _column(PROJECT["name"].title, width=PROJECT["name"].width),
        *(c for f in fields for c in field_columns(f)),
        *_SOURCE,
    ]

    def rows() -> Iterator[list[object]]:
        head = ("department_code", "department_name", "project_code", "project_name")
        tail = (*_SOURCE_NAMES, "submission_id") if keyed else _SOURCE_NAMES
        rows = store.indicator_rows(year, submission)
        yield from map(Rows(all_fields, head, tail, True), rows)
        for row in store.overall_indicator_rows(year, submission):  # the department's own
            extra = decode_extra(row["extra"], all_fields)
            yield [
                row["department_code"],
                row["department_name"],
                None,
                OVERALL_PROJECT,
                *row_values(fields, row, extra, row["raw"]),
                row["file_name"],
                row["sheet"],
                row["cell"],
                *([row["submission_id"]] if keyed else []),
            ]

    return Table("indicators", "指标明细", columns, rows())


# What 指标明细 shows as the 项目名称 of a department-wide indicator.
OVERALL_PROJECT = "（部门整体）"
# The overview's usual lines, shown as columns of 部门整体 (the others in 预算构成明细).
OVERVIEW_LINES = ("基本支出", "项目支出", "财政拨款", "财政专户拨款", "其他资金")


def overall_table(store: Store, status: StatusReport) -> Table:
    """部门整体: one row per department, its department-wide form's standing and figures:
    the declared total, the usual overview lines, the tasks and their money, the
    indicators."""
    columns = [
        _column("单位编码"), _column("单位名称"), _column("状态"),
        _column("预算总额", "money"), *(_column(label, "money") for label in OVERVIEW_LINES),
        _column("任务数", "count"), _column("任务资金合计", "money"), _column("指标数", "count"),
        _column("总体绩效目标", width=60), _column("错误", "count"), _column("提示", "count"),
        _column("文件", width=24),
    ]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for d in status.departments:
            o = d.overall
            if o is None:
                continue
            table = (
                store.overall(o.submission.id) if o.status == "accepted" and o.submission else None
            )
            lines = {caption_key(b.label): b.amount for b in table.budget} if table else {}
            yield [
                d.code, d.name, STATUS_TEXT[o.status],
                o.total, *(lines.get(caption_key(label)) for label in OVERVIEW_LINES),
                o.tasks, o.tasks_amount if table else None, o.indicators,
                table.goal if table else None, o.errors, o.warnings,
                o.submission.file_name if o.submission else None,
            ]  # fmt: skip

    return Table("overall", "部门整体", columns, rows())


def task_table(store: Store, year: int | None) -> Table:
    """重点任务明细: every key task of the accepted department-wide forms."""
    columns = [_column("单位编码"), _column("单位名称"),
               *(_column(f.title, "money" if f.is_money else "text", f.width) for f in TASK),
               *_SOURCE]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for s in store.submissions(year, "accepted", "department"):
            for t in store.overall(s.id).tasks:
                values = [getattr(t, f.key) for f in TASK]
                yield [s.department_code, s.department_name, *values, s.file_name, t.sheet,
                       t.cell]  # fmt: skip

    return Table("tasks", "重点任务明细", columns, rows())


def budget_table(store: Store, year: int | None) -> Table:
    """预算构成明细: every labelled amount of the accepted department-wide forms' overviews,
    with the declared total first."""
    columns = [_column("单位编码"), _column("单位名称"), _column("类别", width=16),
               _column("项目", width=20), _column("金额（万元）", "money"), *_SOURCE]  # fmt: skip

    def rows() -> Iterator[list[object]]:
        for s in store.submissions(year, "accepted", "department"):
            table = store.overall(s.id)
            head = [s.department_code, s.department_name]
            yield [*head, "", "预算总额", table.total, s.file_name, None, None]
            for b in table.budget:
                yield [*head, b.group, b.label, b.amount, s.file_name, b.sheet, b.cell]

    return Table("budget", "预算构成明细", columns, rows())


ISSUE_TITLES = (
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


def issue_table(store: Store, year: int | None) -> Table:
    """校验问题: every issue of the submissions not superseded, with its submission's status;
    status and severity in Chinese (the rule's code stays as it is)."""

    def rows() -> Iterator[list[object]]:
        for row in store.issue_rows(year):
            status, severity = row["status"], row["severity"]
            yield [
                row["department_code"],
                row["department_name"],
                row["file_name"],
                STATUS_TEXT.get(status, status),
                row["sheet"],
                row["cell"],
                row["code"],
                SEVERITY_TEXT.get(severity, severity),
                row["message"],
                row["value"],
                row["hint"],
            ]

    return Table("issues", "校验问题", [_column(t) for t in ISSUE_TITLES], rows())


SUBMISSION_COLUMNS = (
    _column("序号", "int"),
    _column("单位编码"),
    _column("单位名称"),
    _column("文件中的单位"),
    _column("年度", "int"),
    _column("文件", "text"),
    _column("接收时间", "time"),
    _column("表别"),
    _column("类型"),
    _column("状态"),
    _column("错误", "count"),
    _column("提示", "count"),
    _column("被替代为", "int"),
    Column("sha256", "text", 20),
)


def submission_values(s: Submission, for_people: bool = True) -> list[object]:
    """A row of 提交情况. For people (the workbook) a file from outside the roster says so
    under 单位编码; for files the code is none. The time is a moment in local time."""
    received = local_time(s.received_at)
    return [
        s.id,
        s.department_code or ("（不在名单）" if for_people else None),
        s.department_name,
        s.file_department_name or s.file_department_code,
        s.fiscal_year,
        s.file_name,
        received,  # a moment, in local time: a date in the workbook, text in the CSV
        FORMS.get(s.form, s.form),
        KIND_TEXT.get(s.kind, s.kind),
        STATUS_TEXT.get(s.status, s.status),
        s.errors,
        s.warnings,
        s.superseded_by,
        s.sha256,
    ]


def submission_table(store: Store, year: int | None, for_people: bool = True) -> Table:
    rows = (submission_values(s, for_people) for s in store.submissions(year))
    return Table("submissions", "提交情况", list(SUBMISSION_COLUMNS), rows)


FORMS = {"project": "项目支出", "department": "部门整体"}
# An issue's severity, as the terminal and the workbook say it.
SEVERITY_TEXT = {"error": "错误", "warning": "提示"}
# The kind of file a submission was read as, in every output (the terminal's too).
KIND_TEXT: dict[str | None, str] = {
    "template": "perfxl 模板",
    "plain": "普通工作表",
    "published": "公开表",
    "grid": "指标明细表",
    "form": "项目申报表",
    "department": "部门整体绩效目标表",
    "structured": "perfxl 结构化数据",
    "json": "JSON",
    None: "无法读取",
}
# A local time as people read it: no offset, no fraction of a second.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def local_time(text: str | None) -> datetime | str | None:
    """A time the store holds (ISO 8601, in UTC) as a moment in the machine's local time
    zone; text that is no such time, as it is."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone()


def local_text(moment: datetime | str | None) -> str | None:
    """`2026-11-26 19:46:46`: a moment as people read it, in its own (the local) zone."""
    return moment.strftime(TIME_FORMAT) if isinstance(moment, datetime) else moment


def detail_tables(store: Store, year: int | None, for_people: bool = True) -> list[Table]:
    """The detail tables; those of the department-wide form where the ledger holds one.
    `for_people`: values for the workbook's cells (a time as its local text); otherwise
    typed values for the CSV and Parquet writers (a time as a moment). The words are the
    same Chinese either way."""
    tables = [project_table(store, year), indicator_table(store, year)]
    if store.submissions(year, form="department"):  # (the status of every department: slow)
        status = department_status(store, None, year)
        tables += [overall_table(store, status), task_table(store, year),
                   budget_table(store, year)]  # fmt: skip
    return [
        *tables,
        issue_table(store, year),
        submission_table(store, year, for_people),
    ]
