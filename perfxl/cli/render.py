"""How results look on the terminal: rich tables in Chinese, each issue at its place."""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from perfxl.checks.validate import ISSUE_FIELDS, FileReport
from perfxl.cli.app import err, out
from perfxl.domain.model import Issue, ReadResult
from perfxl.ledger.collect import CollectReport
from perfxl.ledger.database import Location
from perfxl.ledger.database import shown as shown_location
from perfxl.ledger.details import KIND_TEXT
from perfxl.ledger.exports import csv_safe
from perfxl.ledger.status import STATUS_TEXT, StatusReport

KINDS = KIND_TEXT  # the kinds of file, as every output names them


def print_json(data: object) -> None:
    """A result's JSON shape (the library gives it) on standard output."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def issue_table(issues: list[Issue]) -> Table:
    table = Table(title=f"发现的问题（{len(issues)}）", show_lines=False)
    for column in ("级别", "位置", "代码", "说明", "修改建议"):
        table.add_column(column, overflow="fold", no_wrap=column in ("级别", "代码"))
    for issue in issues:
        where = "!".join(x for x in (issue.sheet, issue.cell) if x) or (
            f"第{issue.row}行" if issue.row else ""
        )
        level = "[red]错误[/]" if issue.severity == "error" else "[yellow]提示[/]"
        table.add_row(level, escape(where), issue.code, escape(issue.message),
                      escape(issue.hint or ""))  # fmt: skip
    return table


def read_summary(result: ReadResult) -> None:
    table, overall = result.table, result.overall
    out.print(f"[bold]{escape(result.file)}[/]（{KINDS[result.kind]}）")
    if overall is not None:  # a department-wide table
        total = "（未写明）" if overall.total is None else f"{overall.total:,.2f} 万元"
        held = (f"部门整体：预算总额 {total}　预算构成 {len(overall.budget)} 项　"
                f"重点任务 {len(overall.tasks)} 项　指标 {len(overall.indicators)} 条")  # fmt: skip
    else:
        held = f"项目 {len(table.projects)} 个　指标 {table.indicator_count} 条"
    out.print(
        f"部门：{escape(table.department.name or '（未知）')}　{held}　"
        f"错误 {len(result.errors)}　提示 {len(result.warnings)}"
    )
    if result.issues:
        out.print(issue_table(result.issues))


def read_table(results: list[ReadResult], unreadable: list[tuple[Path, str]]) -> None:
    """Several files read: one row each, with its layout and what it holds."""
    table = Table(title=f"读入了 {len(results) + len(unreadable)} 个文件")
    for column in ("文件", "格式", "单位", "项目", "指标", "总计（万元）", "错误", "提示"):
        table.add_column(column, overflow="fold")
    for result in results:
        row = result.summary()
        table.add_row(
            escape(Path(result.file).name),
            KINDS.get(result.kind, result.kind),
            escape(row["department"] or ""),
            str(row["projects"]),
            str(row["indicators"]),
            f"{Decimal(row['total']):,.2f}",
            f"[red]{row['errors']}[/]" if row["errors"] else "0",
            str(row["warnings"]),
        )
    for path, why in unreadable:
        table.add_row(escape(path.name), "[red]无法读取[/]", escape(why), "", "", "", "", "")
    out.print(table)


def issues_csv(reports: list[FileReport]) -> None:
    """The issues as CSV on standard output, with a byte order mark, so that Excel opening
    the saved output reads the Chinese right."""
    sys.stdout.write("\ufeff")
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(ISSUE_FIELDS)
    for report in reports:
        for issue in report.issues:
            writer.writerow([csv_safe(getattr(issue, k)) for k in ISSUE_FIELDS])


def reports_table(reports: list[FileReport]) -> None:
    summary = Table(title=f"校验了 {len(reports)} 个文件")
    for column in ("文件", "类型", "项目", "指标", "错误", "提示"):
        summary.add_column(column, overflow="fold")
    for r in reports:
        summary.add_row(
            escape(r.file),
            KINDS.get(r.kind, r.kind or ""),
            str(len(r.table.projects)) if r.table and not r.overall else "-",
            str(len(r.overall.indicators))
            if r.overall
            else (str(r.table.indicator_count) if r.table else "-"),
            f"[red]{r.errors}[/]" if r.errors else "0",
            str(r.warnings),
        )
    out.print(summary)
    for r in reports:
        if r.issues:
            out.print(f"\n[bold]{escape(r.file)}[/]")
            out.print(issue_table(r.issues))


OUTCOMES = {
    "accepted": "[green]已接收[/]",
    "rejected": "[red]已退回[/]",
    "superseded": "已被替代",
    "duplicate": "重复（已有）",
}
CHANGES = {"added": "新增", "removed": "删除", "changed": "修改"}


LONG = 50  # files a run lists on the terminal; beyond, a summary and the list in a file


def collect_report(report: CollectReport, ledger: Location) -> None:
    """The files of a run in their order of arrival, with their outcome and changes; for a
    long run, the files that were not accepted, and every file in a CSV beside the ledger."""
    events = report.events
    shown = events if len(events) <= LONG else [e for e in events if e.outcome == "rejected"]
    title = (
        f"收集了 {len(events)} 个文件"
        if shown is events
        else f"收集了 {len(events)} 个文件，其中已退回 {len(shown)} 个"
        + (f"（列出前 {LONG} 个）" if len(shown) > LONG else "")
    )
    table = Table(title=title)
    for column in ("文件", "单位", "结果", "错误", "提示"):
        table.add_column(column, overflow="fold")
    for event in shown[:LONG]:
        table.add_row(
            escape(Path(event.file).name),
            escape(event.department or ""),
            OUTCOMES[event.outcome],
            str(event.errors),
            str(event.warnings),
        )
    if shown:
        out.print(table)
    for issue in report.skipped:
        err.print(f"[yellow]{escape(issue.file or '')}[/]：{escape(issue.message)}（{issue.code}）")
    if report.roster_dropped:
        dropped = report.roster_dropped
        err.print(
            f"[yellow]名单已更换[/]：这次给出的名单比台账中记住的少了 {len(dropped)} 个单位"
            f"（{escape('、'.join(dropped[:10]))}{'等' if len(dropped) > 10 else ''}），"
            "此后按这次的名单对照"
        )
    changed = [event for event in events if event.changes]
    for event in changed[:LONG] if shown is events else []:
        out.print(f"[bold]{escape(Path(event.file).name)}[/] 相对上次提交的变化：")
        for change in event.changes:
            out.print("  " + escape(change_text(change)))
    if shown is not events:
        listing = _collect_csv(report, ledger)
        out.print(f"每个文件的结果和变化已写入：{escape(str(listing))}")
    out.print(
        f"台账：{escape(shown_location(ledger))}（已接收 {report.count('accepted')}，"
        f"已退回 {report.count('rejected')}，重复 {report.count('duplicate')}）"
    )


def change_text(change: dict[str, object]) -> str:
    """`修改 项目“社区服务”（编码 4401000032026001）：总计 187.38 → 40.00；…`"""
    fields = change.get("fields") or {}
    assert isinstance(fields, dict)
    detail = "；".join(f"{k}：{v[0] or '（空）'} → {v[1] or '（空）'}" for k, v in fields.items())
    name, key = str(change.get("name") or ""), str(change.get("project") or "")
    what = f"“{name}”（{key}）" if name and key.startswith("编码 ") else f"“{name or key}”"
    return f"{CHANGES[str(change['change'])]} {what}" + (f"：{detail}" if detail else "")


def _collect_csv(report: CollectReport, ledger: Location) -> Path:
    """Every file of a run, with its outcome and changes, as CSV (with a byte order mark,
    for Excel) beside the ledger: `ledger-收集-20261126-174501.csv`."""
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    beside = ledger if isinstance(ledger, Path) else Path("ledger")  # a server's: here
    path = beside.with_name(f"{beside.stem}-收集-{stamp}.csv")
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["文件", "单位", "结果", "错误", "提示", "变化"])
        for event in report.events:
            writer.writerow([csv_safe(v) for v in (
                event.file, event.department or "", _PLAIN[event.outcome], event.errors,
                event.warnings, "\n".join(change_text(c) for c in event.changes),
            )])  # fmt: skip
    return path


_PLAIN = {"accepted": "已接收", "rejected": "已退回", "superseded": "已被替代", "duplicate": "重复"}


def status_table(report: StatusReport) -> None:
    table = Table(title="提交情况：项目支出绩效目标")
    total, caption = next(iter(report.money.items()))  # the first amount: 总计
    for column in ("单位编码", "单位名称", "状态", "项目", f"{caption}（万元）", "错误", "文件"):
        table.add_column(column, overflow="fold")
    colours = {"accepted": "green", "rejected": "red", "missing": "yellow"}
    for d in report.departments:
        table.add_row(
            escape(d.code),
            escape(d.name),
            f"[{colours[d.status]}]{STATUS_TEXT[d.status]}[/]",
            str(d.projects),
            f"{d.amounts.get(total, 0):,.2f}",
            str(d.errors),
            escape(d.submission.file_name) if d.submission else "",
        )
    out.print(table)
    if report.overall:
        table = Table(title="提交情况：部门整体支出绩效目标")
        for column in ("单位编码", "单位名称", "状态", "预算总额（万元）", "任务", "指标", "错误",
                       "文件"):  # fmt: skip
            table.add_column(column, overflow="fold")
        for d in report.departments:
            o = d.overall
            if o is None:
                continue
            table.add_row(
                escape(d.code),
                escape(d.name),
                f"[{colours[o.status]}]{STATUS_TEXT[o.status]}[/]",
                "" if o.total is None else f"{o.total:,.2f}",
                str(o.tasks),
                str(o.indicators),
                str(o.errors),
                escape(o.submission.file_name) if o.submission else "",
            )
        out.print(table)
    for s in report.unknown:
        out.print(
            f"[yellow]不在名单的单位[/]：{escape(s.file_name)}（文件中的单位："
            f"{escape(s.file_department_name or s.file_department_code or '未写明')}）"
        )
    unknown = "不详"
    out.print(
        f"项目表：已接收 {report.count('accepted')}，已退回 {report.count('rejected')}，"
        f"未提交 {report.count('missing') if report.roster else unknown}，"
        f"名单外 {len(report.unknown)}"
    )
    if report.overall:
        standing = [d.overall.status for d in report.departments if d.overall]
        out.print(
            f"部门整体：已接收 {standing.count('accepted')}，已退回 {standing.count('rejected')}，"
            f"未提交 {standing.count('missing') if report.roster else unknown}"
        )
    if not report.roster:
        out.print(
            "[yellow]没有单位名单[/]：只列出已提交的单位，谁未提交无从知道。"
            "请用 --roster 给出名单（collect 时给出的名单会记在台账中）。"
        )
