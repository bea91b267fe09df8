"""Collecting the samples into the ledger, and the ledger's figures read back from the
written workbook, to the cent."""

from __future__ import annotations

import multiprocessing
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from perfxl.checks.config import Config
from perfxl.cli import app
from perfxl.domain.amounts import from_float
from perfxl.domain.codesets import load_codeset
from perfxl.domain.model import Department, Project, TargetTable
from perfxl.formats.detect import read_any
from perfxl.formats.overall_spec import load_overall_spec
from perfxl.formats.roster import read_roster
from perfxl.formats.spec import load_spec
from perfxl.formats.template_writer import TemplateOptions, write_template
from perfxl.ledger.collect import collect
from perfxl.ledger.store import Store

ROOT = Path(__file__).resolve().parent.parent
INBOX, ROSTER = ROOT / "samples" / "inbox", ROOT / "samples" / "roster.csv"
ACCEPTED = [
    "440100002-广州市社会福利院.xlsx",
    "440100003-广州市老人院-第2次.xlsx",
    "440100004-广州市救助管理站.xlsx",
]
runner = CliRunner()
SPEC, CODESET, OVERALL = load_spec(), load_codeset(), load_overall_spec()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("ledger")
    inbox = work / "inbox"
    shutil.copytree(INBOX, inbox)
    # As a fresh clone gives them: one time for every file, so names give the order.
    for path in inbox.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    ledger = work / "ledger.db"
    code, output = run(
        "collect", str(inbox), "--roster", str(ROSTER), "--ledger", str(ledger), "--year", "2026"
    )
    assert code == 1, output  # some files were rejected
    return ledger


def submissions(ledger: Path) -> dict[str, tuple[str, int | None, int]]:
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT file_name, status, superseded_by, id FROM submissions")
        return {name: (status, by, id_) for name, status, by, id_ in rows}


def test_statuses_supersession_and_rejections(collected: Path) -> None:
    subs = submissions(collected)
    assert {k: v[0] for k, v in subs.items()} == {
        "440100001-广州市民政局-项目支出绩效目标表.xlsx": "rejected",
        "440100002-广州市社会福利院.xlsx": "accepted",
        "440100003-广州市老人院-第1次.xlsx": "superseded",
        "440100003-广州市老人院-第2次.xlsx": "accepted",
        "440100004-广州市救助管理站.xlsx": "accepted",
        "440199001-越秀区民政局.xlsx": "rejected",
        "440100002-广州市社会福利院-部门整体.xlsx": "accepted",
        "440100004-广州市救助管理站-部门整体.xlsx": "rejected",
    }
    assert (
        subs["440100003-广州市老人院-第1次.xlsx"][1] == subs["440100003-广州市老人院-第2次.xlsx"][2]
    )
    with sqlite3.connect(collected) as db:
        identity = db.execute(
            "SELECT DISTINCT template_id, template_version, form FROM submissions"
            " WHERE kind = 'template' ORDER BY form"
        ).fetchall()
        assert identity == [
            ("perfxl-department-overall", "1", "department"),
            ("perfxl-department-targets", "1", "project"),
        ]
        published = db.execute("SELECT template_id FROM submissions WHERE kind = 'published'")
        assert published.fetchone() == (None,)
    with Store(collected) as store:
        second = subs["440100003-广州市老人院-第2次.xlsx"][2]
        changes = {(c["change"], c["project"]): c["fields"] for c in store.changes(second)}
        # Each change is told by its field's caption, old → new.
        assert changes[("changed", "编码 4401000032026001")]["财政拨款"] == ["187.38", "40.00"]
        assert changes[("changed", "编码 4401000032026002")]["财政专户拨款"] == ["-20.00", "0.00"]
        assert ("added", "编码 4401000032026007") in changes
        first = subs["440100003-广州市老人院-第1次.xlsx"][2]
        assert sorted(i.code for i in store.issues(first)) == [
            "amount-negative",
            "annual-blank",
            "required-missing",
        ]
        unknown = subs["440199001-越秀区民政局.xlsx"][2]
        assert next(i.code for i in store.issues(unknown)) == "department-unknown"


def test_status_lists_missing_and_unknown(collected: Path) -> None:
    code, output = run("status", "--roster", str(ROSTER), "--ledger", str(collected), "--json")
    assert code == 1
    import json

    data = json.loads(output)
    assert {d["code"]: d["status"] for d in data["departments"]} == {
        "440100001": "rejected",
        "440100002": "accepted",
        "440100003": "accepted",
        "440100004": "accepted",
        "440100005": "missing",
    }
    assert data["unknown"] == [
        {"file": "440199001-越秀区民政局.xlsx", "department": "越秀区民政局"}
    ]
    # Both forms per department: the department-wide one has its own standing.
    overall = {d["code"]: d["overall"] for d in data["departments"]}
    assert {code: o["status"] for code, o in overall.items()} == {
        "440100001": "missing",
        "440100002": "accepted",
        "440100003": "missing",
        "440100004": "rejected",
        "440100005": "missing",
    }
    assert overall["440100002"] == {
        "status": "accepted",
        "file": "440100002-广州市社会福利院-部门整体.xlsx",
        "total": "5000.00",
        "tasks": 3,
        "tasks_amount": "5000.00",
        "indicators": 4,
        "errors": 0,
        "warnings": 0,
    }


def test_collecting_the_same_files_again_changes_nothing(collected: Path) -> None:
    with Store(collected) as store:
        before = store.counts()
    code, output = run("collect", str(INBOX), "--roster", str(ROSTER), "--ledger", str(collected))
    assert code == 0 and "重复8" in "".join(output.split())  # however the console wraps it
    with Store(collected) as store:
        assert store.counts() == before


def expected_sums() -> tuple[dict[str, dict[str, Decimal]], int, int]:
    """The accepted inputs, read straight from the files: sums per department."""
    sums: dict[str, dict[str, Decimal]] = {}
    projects = indicators = 0
    for name in ACCEPTED:
        table = read_any(INBOX / name, CODESET).table
        code = table.department.code or ""
        mine = sums.setdefault(
            code, dict.fromkeys(("total", "fiscal", "special", "other"), Decimal("0.00"))
        )
        for project in table.projects:
            for key in mine:
                mine[key] += getattr(project, key)
        projects += len(table.projects)
        indicators += table.indicator_count
    return sums, projects, indicators


def money(value: object) -> Decimal:
    assert isinstance(value, (int, float)), value
    return from_float(float(value)).quantize(Decimal("0.01"))


def test_ledger_totals_equal_the_accepted_inputs_to_the_cent(
    collected: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ledger.xlsx"
    code, output = run(
        "ledger", "--ledger", str(collected), "--roster", str(ROSTER), "-o", str(out)
    )
    assert code == 0, output
    sums, projects, indicators = expected_sums()
    bureau = {
        k: sum((d[k] for d in sums.values()), Decimal("0.00"))
        for k in ("total", "fiscal", "special", "other")
    }
    assert bureau["total"] == Decimal("4684.03")
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == [
        "汇总", "部门汇总", "项目明细", "指标明细", "部门整体", "重点任务明细", "预算构成明细",
        "校验问题", "提交情况",
    ]  # fmt: skip
    summary = wb.get_sheet_by_name("汇总").to_python(skip_empty_area=False)
    labelled = {row[0]: row[1] for row in summary if row[0]}
    assert {k: money(labelled[k]) for k in ("总计", "财政拨款", "财政专户拨款", "其他资金")} == {
        "总计": bureau["total"],
        "财政拨款": bureau["fiscal"],
        "财政专户拨款": bureau["special"],
        "其他资金": bureau["other"],
    }
    assert labelled["项目"] == projects == 19 and labelled["指标"] == indicators == 103
    counts = tuple(labelled[k] for k in ("已接收", "已退回", "未提交", "不在名单的提交"))
    assert counts == (3, 1, 1, 1)
    depts = records(wb, "部门汇总")
    by_code = {row["单位编码"]: row for row in depts if row["单位编码"]}
    for code_, mine in sums.items():
        assert money(by_code[code_]["总计"]) == mine["total"]
        assert money(by_code[code_]["财政拨款"]) == mine["fiscal"]
    assert by_code["440100005"]["状态"] == "未提交" and by_code["440100001"]["状态"] == "已退回"
    total_row = next(row for row in depts if row["单位名称"] == "合计")
    assert money(total_row["总计"]) == bureau["total"]
    details = records(wb, "项目明细")
    rows = [r for r in details if r["单位编码"]]
    assert len(rows) == projects
    assert sum((money(r["总计"]) for r in rows), Decimal(0)) == bureau["total"]
    assert all(r["来源工作表"] and r["来源单元格"] for r in rows), "every row names its source"
    assert money(next(r for r in details if r["项目名称"] == "合计")["总计"]) == bureau["total"]
    every_indicator = [r for r in records(wb, "指标明细") if r["单位编码"]]
    indicator_rows = [r for r in every_indicator if r["项目名称"] != "（部门整体）"]
    assert len(indicator_rows) == 103
    # The department-wide indicators follow, under （部门整体）, with their own count.
    overall_rows = [r for r in every_indicator if r["项目名称"] == "（部门整体）"]
    assert [(r["单位编码"], r["三级指标"]) for r in overall_rows] == [
        ("440100002", "服务对象人数"), ("440100002", "补助资金发放及时率"),
        ("440100002", "服务对象基本生活"), ("440100002", "服务对象满意度"),
    ]  # fmt: skip
    assert labelled["部门整体指标"] == 4
    assert tuple(labelled[f"部门整体：{k}"] for k in ("已接收", "已退回", "未提交")) == (1, 1, 3)
    overall = {r["单位编码"]: r for r in records(wb, "部门整体") if r["单位编码"]}
    assert overall["440100002"]["状态"] == "已接收" and overall["440100004"]["状态"] == "已退回"
    assert [money(overall["440100002"][k]) for k in ("预算总额", "基本支出", "项目支出",
                                                     "任务资金合计")] == [
        Decimal("5000.00"), Decimal("3000.00"), Decimal("2000.00"), Decimal("5000.00")]  # fmt: skip
    tasks = records(wb, "重点任务明细")
    assert [(t["任务名称"], money(t["拟投入资金"]), t["来源单元格"]) for t in tasks] == [
        ("院内供养服务", Decimal("3100.00"), "B4"),
        ("康复医疗服务", Decimal("1200.00"), "B5"),
        ("安全生产与设施维护", Decimal("700.00"), "B6"),
    ]
    # 年度指标值, then its operator, number and unit, derived from the text as written.
    parts = ("年度指标值", "年度计算符号", "年度数值", "年度计量单位")
    parsed = {tuple(r[k] for k in parts) for r in indicator_rows}
    assert {
        ("100%", "", 100.0, "%"),
        ("95%以上", "≥", 95.0, "%"),
        ("合格以上", "定性", "", ""),
    } <= parsed
    assert sum(1 for r in indicator_rows if r["年度数值"] != "") == 82
    # The totals are formulas; the cached values above are their results.
    formulas = openpyxl.load_workbook(out)["汇总"]
    assert str(formulas["B4"].value).startswith("=SUM('项目明细'!F2:F20)")


def test_a_table_longer_than_a_sheet_continues_on_the_next_and_nothing_is_dropped(
    collected: Path, tmp_path: Path
) -> None:
    """The same code path as Excel's 1,048,576 rows, with sheets of 10 rows set in the
    configuration: 指标明细 goes on to 指标明细 (2) …, each with its header, and the 合计 and
    汇总 formulas sum every part."""
    whole, split = tmp_path / "whole.xlsx", tmp_path / "split.xlsx"
    config = tmp_path / "perfxl.toml"
    config.write_text("[limits]\nsheet_rows = 10\n", encoding="utf-8")
    assert run("ledger", "--ledger", str(collected), "-o", str(whole))[0] == 0
    code, output = run("ledger", "--ledger", str(collected), "-o", str(split), "--config",
                       str(config))  # fmt: skip
    assert code == 0, output
    assert "指标 103 条" in output and "指标明细 续写于 指标明细 (2)、指标明细 (3)" in output
    one, many = CalamineWorkbook.from_path(str(whole)), CalamineWorkbook.from_path(str(split))
    for table in ("项目明细", "指标明细", "提交情况", "校验问题"):
        parts = [n for n in many.sheet_names if n == table or n.startswith(f"{table} (")]
        assert parts == [table] + [f"{table} ({n})" for n in range(2, len(parts) + 1)]
        rows = [many.get_sheet_by_name(n).to_python() for n in parts]
        assert all(len(r) <= 10 and r[0] == rows[0][0] for r in rows), "a header on each"
        joined = [row for r in rows for row in r[1:]]
        expected = one.get_sheet_by_name(table).to_python()[1:]
        assert joined == expected, table  # every row, once, in order (合计 last)
    assert len([n for n in many.sheet_names if n.startswith("指标明细")]) == 107 // 8 + 1
    # The formulas name every part; summed here from the cells they name, they give the
    # cached totals, to the cent.
    book = openpyxl.load_workbook(split)
    values = openpyxl.load_workbook(split, data_only=True)
    formula = str(book["汇总"]["B4"].value)
    assert formula.count("'项目明细") == 3
    named = Decimal("0.00")
    for ref in formula.removeprefix("=SUM(").removesuffix(")").split(","):
        sheet, cells = ref.split("!")
        for (cell,) in values[sheet.strip("'")][cells]:
            named += from_float(float(cell.value or 0)).quantize(Decimal("0.01"))
    assert named == money(values["汇总"]["B4"].value) == Decimal("4684.03")


def records(wb: CalamineWorkbook, sheet: str) -> list[dict[str, object]]:
    """A sheet's rows as dicts by the captions of its first row."""
    rows = wb.get_sheet_by_name(sheet).to_python()
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def test_ledger_published_and_detail_formats(collected: Path, tmp_path: Path) -> None:
    out = tmp_path / "published.xlsx"
    assert run("ledger", "--ledger", str(collected), "--published", "-o", str(out))[0] == 0
    assert CalamineWorkbook.from_path(str(out)).sheet_names == [
        "广州市社会福利院",
        "广州市老人院",
        "广州市救助管理站",
    ]
    bureau = tmp_path / "bureau.xlsx"
    assert (
        run(
            "ledger",
            "--ledger",
            str(collected),
            "--published",
            "--bureau",
            "广州市民政局",
            "-o",
            str(bureau),
        )[0]
        == 0
    )
    # The department-wide forms go beside, in their own layout, and read back the same.
    overall = tmp_path / "published-部门整体.xlsx"
    assert CalamineWorkbook.from_path(str(overall)).sheet_names == ["广州市社会福利院"]
    back = read_any(overall, CODESET)
    assert back.kind == "department" and back.issues == [] and back.overall is not None
    assert str(back.overall.total) == "5000.00"
    tasks = [
        ("院内供养服务", "3100.00"),
        ("康复医疗服务", "1200.00"),
        ("安全生产与设施维护", "700.00"),
    ]
    assert [(t.name, str(t.amount)) for t in back.overall.tasks] == tasks
    assert len(back.overall.indicators) == 4
    table = read_any(bureau, CODESET)
    assert len(table.table.projects) == 19 and table.issues == []
    assert {p.unit for p in table.table.projects} == {
        "广州市社会福利院",
        "广州市救助管理站",
        "广州市老人院",
    }
    for fmt in ("csv", "parquet"):
        folder = tmp_path / fmt
        assert run("ledger", "--ledger", str(collected), "--format", fmt, "-o", str(folder))[0] == 0
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            f"{n}.{fmt}"
            for n in (
                "projects",
                "indicators",
                "overall",
                "tasks",
                "budget",
                "issues",
                "submissions",
            )
        )
    import pandas as pd

    projects = pd.read_parquet(tmp_path / "parquet" / "projects.parquet")
    assert len(projects) == 19
    assert sum(Decimal(v) for v in projects["总计"]) == Decimal("4684.03")


def filled_rows(path: Path, form: str = "project") -> set[tuple[str, int]]:
    """Every (sheet, row) of a template that has something typed in an input column (for the
    department-wide form, its 总体情况 lines too)."""
    wb = CalamineWorkbook.from_path(str(path))
    out = set()
    specs = (SPEC.projects, SPEC.indicators)
    if form == "department":
        specs = (OVERALL.tasks, OVERALL.indicators)
        lines = wb.get_sheet_by_name(OVERALL.overview.name).to_python(skip_empty_area=False)
        for n in range(len(OVERALL.overview.items)):
            r = OVERALL.overview.header_row + 1 + n
            if str(lines[r][2]).strip():
                out.add((OVERALL.overview.name, r + 1))
    for spec in specs:
        inputs = [n for n, c in enumerate(spec.columns) if not c.locked]
        rows = wb.get_sheet_by_name(spec.name).to_python(skip_empty_area=False)
        for r, row in enumerate(rows[spec.first_data_row :], start=spec.first_data_row + 1):
            if any(str(row[c]).strip() for c in inputs if c < len(row)):
                out.add((spec.name, r))
    return out


def test_every_input_row_is_in_the_ledger_or_the_issues(collected: Path) -> None:
    with sqlite3.connect(collected) as db:
        for name, form in db.execute(
            "SELECT file_name, form FROM submissions WHERE kind = 'template'"
        ).fetchall():
            sid = db.execute("SELECT id FROM submissions WHERE file_name = ?", (name,)).fetchone()[
                0
            ]
            recorded = set(
                db.execute(
                    "SELECT goal_sheet, goal_row FROM overviews WHERE submission_id = ?1 UNION"
                    " SELECT total_sheet, total_row FROM overviews WHERE submission_id = ?1",
                    (sid,),
                )
            )
            for table in (
                "projects", "indicators", "issues", "tasks", "overall_indicators", "budget_lines"
            ):  # fmt: skip
                recorded |= set(
                    db.execute(
                        f"SELECT sheet, row FROM {table} WHERE submission_id"
                        " = ? AND row IS NOT NULL",
                        (sid,),
                    )
                )
            assert filled_rows(INBOX / name, form) <= recorded, name


def test_a_dropped_row_is_an_issue_with_its_reason(tmp_path: Path) -> None:
    table = TargetTable(
        department=Department(code="440100002", name="广州市社会福利院"),
        projects=[
            Project(
                code="X1",
                name="甲",
                fiscal=Decimal("1"),
                total=Decimal("1"),
                goal="完成甲项目的全部工作内容。",
            )
        ],
    )
    path = write_template(
        tmp_path / "in" / "a.xlsx",
        SPEC,
        CODESET,
        table.department,
        TemplateOptions(year=2026),
        table,
    )
    wb = openpyxl.load_workbook(path)
    wb["指标"]["A4"], wb["指标"]["D4"] = "5、乙", "人数"
    wb.save(path)
    with Store(tmp_path / "l.db") as store:
        collect([tmp_path / "in"], store, CODESET, Config(), SPEC, jobs=1)
        [issue] = [i for i in store.issues(1) if i.code == "indicator-project-unknown"]
        assert (issue.sheet, issue.row, issue.cell, issue.value) == ("指标", 4, "A4", "5、乙")


def test_formula_like_text_never_becomes_a_formula(tmp_path: Path) -> None:
    names = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)"]
    table = TargetTable(
        department=Department(code="440100002", name="广州市社会福利院"),
        projects=[
            Project(
                code=f"C{n}", name=name, fiscal=Decimal("1.00"), total=Decimal("1.00"), goal=name
            )
            for n, name in enumerate(names)
        ],
    )
    inbox = tmp_path / "in"
    write_template(
        inbox / "a.xlsx", SPEC, CODESET, table.department, TemplateOptions(year=2026), table
    )
    ledger = tmp_path / "l.db"
    with Store(ledger) as store:
        collect([inbox], store, CODESET, Config(), SPEC, accept_with_errors=True, jobs=1)
    out = tmp_path / "l.xlsx"
    assert run("ledger", "--ledger", str(ledger), "-o", str(out))[0] == 0
    ws = openpyxl.load_workbook(out)["项目明细"]
    cells = [ws.cell(r, 4) for r in range(2, 6)]
    assert [c.value for c in cells] == names and all(c.data_type == "s" for c in cells)
    published = tmp_path / "p.xlsx"
    assert run("ledger", "--ledger", str(ledger), "--published", "-o", str(published))[0] == 0
    ws = openpyxl.load_workbook(published).worksheets[0]
    texts = [c for row in ws.iter_rows() for c in row if c.value in names]
    assert len(texts) >= 4 and all(c.data_type == "s" for c in texts)
    assert (
        run("ledger", "--ledger", str(ledger), "--format", "csv", "-o", str(tmp_path / "c"))[0] == 0
    )
    content = (tmp_path / "c" / "projects.csv").read_text(encoding="utf-8-sig")
    for name in names:
        assert f"'{name}" in content or f"\"'{name}" in content.replace('""', '"')


def test_older_file_arriving_late_and_rejected_resubmission(tmp_path: Path) -> None:
    dept = Department(code="440100002", name="广州市社会福利院")

    def make(name: str, goal: str, mtime: int, fiscal: str = "5.00") -> Path:
        table = TargetTable(
            department=dept,
            projects=[
                Project(
                    code="P1", name="项目", fiscal=Decimal(fiscal), total=Decimal(fiscal), goal=goal
                )
            ],
        )
        path = write_template(
            tmp_path / name / f"{name}.xlsx", SPEC, CODESET, dept, TemplateOptions(year=2026), table
        )
        os.utime(path, (mtime, mtime))
        return path

    newer = make("newer", "第二版绩效目标，写明做什么和达到的效果。", 2_000)
    older = make("older", "第一版绩效目标，写明做什么和达到的效果。", 1_000)
    config = Config(
        rules={
            "project-no-output": "off",
            "project-no-effect": "off",
            "project-no-satisfaction": "off",
        }
    )
    with Store(tmp_path / "l.db") as store:
        collect([newer.parent], store, CODESET, config, SPEC, jobs=1)
        report = collect([older.parent], store, CODESET, config, SPEC, jobs=1)
        assert report.events[0].outcome == "superseded"
        bad = make("bad", "坏", 3_000, fiscal="-1")
        report = collect([bad.parent], store, CODESET, config, SPEC, jobs=1)
        assert report.events[0].outcome == "rejected"
        statuses = {s.file_name: s.status for s in store.submissions()}
        assert statuses == {
            "newer.xlsx": "accepted",
            "older.xlsx": "superseded",
            "bad.xlsx": "rejected",
        }
        late = standing(store)
    # The same files collected in their order of arrival, in one run and in parallel, or
    # one by one: the same statuses, and the newer file compared with the older one.
    for runs in ([[older.parent, newer.parent, bad.parent]], [[older.parent], [newer.parent]]):
        with Store(tmp_path / f"order{len(runs)}.db") as store:
            for inputs in runs:
                collect(inputs, store, CODESET, config, SPEC, jobs=2)
            if len(runs) == 1:
                assert standing(store) == late
            else:
                assert standing(store) == {
                    k: v for k, v in late.items() if k in {"newer.xlsx", "older.xlsx"}
                }
    assert late["newer.xlsx"][2] == [("changed", "编码 P1", ["绩效目标"])]
    assert late["older.xlsx"][1:] == ("newer.xlsx", [])


def standing(store: Store) -> dict[str, tuple[str, str | None, list[object]]]:
    """Each file's status, what superseded it, and its changes (kind, project, fields)."""
    subs = store.submissions()
    names = {s.id: s.file_name for s in subs}
    return {
        s.file_name: (
            s.status,
            names.get(s.superseded_by) if s.superseded_by else None,
            [(c["change"], c["project"], sorted(c["fields"])) for c in store.changes(s.id)],  # type: ignore[call-overload]
        )
        for s in subs
    }


def _distinct_inbox(inbox: Path, count: int) -> None:
    """`count` files with the samples' content, each from another department."""
    seed_files = [INBOX / n for n in ACCEPTED]
    for n in range(count):
        source = read_any(seed_files[n % 3], CODESET).table
        dept = Department(code=f"D{n:03d}", name=f"单位{n}")
        path = write_template(
            inbox / f"D{n:03d}.xlsx", SPEC, CODESET, dept, TemplateOptions(year=2026), source
        )
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))


@pytest.mark.parametrize("point", ["read", "transaction", "recorded"])
def test_killed_midway_a_second_run_completes_without_duplicates(
    tmp_path: Path, point: str
) -> None:
    """The whole run killed (as by a power cut) at its 12th file, once read, once its rows
    are written but not committed, and once committed: the ledger holds whole submissions
    only, and a second run ends where a run that was never killed ends."""
    inbox, count = tmp_path / "inbox", 40
    _distinct_inbox(inbox, count)
    ledger = tmp_path / "ledger.db"
    command = [sys.executable, "-m", "perfxl", "collect", str(inbox), "--ledger", str(ledger)]
    env = {**os.environ, "PERFXL_FAULT": f"kill-run:{point}:12"}
    killed = subprocess.run(
        [*command, "--jobs", "1"], env=env, start_new_session=True, capture_output=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with sqlite3.connect(ledger) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        recorded = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    # Batches are recorded whole: before the 12th file's commit, fewer than 12 are in.
    assert (recorded >= 12) if point == "recorded" else (0 < recorded < 12), recorded
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert code == 0, output
    with Store(ledger) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts, recorded_after = store.counts(), standing(store)
        orphans = store.db.execute(
            "SELECT COUNT(*) FROM projects WHERE submission_id NOT IN (SELECT id FROM submissions)"
        ).fetchone()[0]
        assert orphans == 0
    with Store(tmp_path / "clean.db") as store:
        collect([inbox], store, CODESET, Config(), SPEC, jobs=2)
        assert store.counts() == counts and standing(store) == recorded_after
    assert counts["submissions"] == count


def test_roster_matches_a_published_table_by_its_department_name(collected: Path) -> None:
    with Store(collected) as store:
        [sub] = [s for s in store.submissions() if s.kind == "published"]
        assert (sub.department_code, sub.file_department_name) == ("440100001", "广州市民政局")
    assert next(e.code for e in read_roster(ROSTER)) == "440100001"


def test_a_ledger_of_an_older_schema_is_migrated(tmp_path: Path) -> None:
    from perfxl.ledger.migrations import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    MIGRATIONS[0](db)  # the first schema, as perfxl 0.1.0 wrote it
    db.execute(
        "INSERT INTO submissions (id, file_name, file_path, sha256, received_at, recorded_at,"
        " status, errors, warnings) VALUES (1, 'a.xlsx', 'a.xlsx', 'x', 't', 't', 'accepted',"
        " 0, 0)"
    )
    db.execute(
        "INSERT INTO projects VALUES (1, 1, 1, 'P1', '项目', NULL, '1.00', '1.00',"
        " '0.00', '0.00', '目标', '{}', '项目', 'C4', 4)"
    )
    db.execute(
        "INSERT INTO indicators (submission_id, project_id, position, name, period, annual,"
        " annual_operator, annual_number, annual_unit, extra) VALUES (1, 1, 1, '人数', '≥10人',"
        " '≥10人', '≥', '10', '人', '{}')"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {
            r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert "indicators_project" in indexes and "indicators_submission" not in indexes
        # v3 derives each value's operator, number and unit instead of storing them.
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(indicators)")}
        assert {"period", "annual"} <= columns and "annual_number" not in columns
        assert store.counts()["indicators"] == 1
        # …and keeps each submission's own verdict beside its status.
        assert [
            tuple(r) for r in store.db.execute("SELECT verdict, previous_id FROM submissions")
        ] == [("accepted", None)]
        # v4 knows the fields a template spec added (none yet).
        assert store.fields("project").extras == ()
        [project] = store.projects(1)
        assert (project.code, project.total, project.indicators[0].annual) == (
            "P1",
            Decimal("1.00"),
            "≥10人",
        )


def test_a_file_that_is_not_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_text("not a database", encoding="utf-8")
    code, output = run("collect", str(INBOX), "--ledger", str(path))
    assert code == 2 and "台账" in output


def _inbox_copy(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(INBOX, inbox)
    for n, path in enumerate(sorted(inbox.iterdir())):  # arrival order: by name
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
    return inbox


def test_the_inbox_holds_each_file_once_whatever_its_names(tmp_path: Path) -> None:
    from perfxl.ledger.inbox import inbox_files

    inbox = _inbox_copy(tmp_path)
    first = sorted(inbox.glob("*.xlsx"))[0]
    (tmp_path / "link.xlsx").symlink_to(first)
    os.link(first, tmp_path / "hard.xlsx")
    found = inbox_files(
        [
            inbox,
            Path(f"{inbox}/*.xlsx"),  # a pattern the shell did not expand
            inbox / ".." / "inbox" / first.name,
            tmp_path / "link.xlsx",
            tmp_path / "hard.xlsx",
        ]
    )
    assert found.files == sorted(inbox.glob("*.xlsx")) and found.skipped == []


def test_links_out_of_the_inbox_are_skipped_and_a_missing_path_is_an_argument_error(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    sample = INBOX / "440100002-广州市社会福利院.xlsx"
    shutil.copy(sample, outside / "secret.xlsx")
    shutil.copy(INBOX / "440100004-广州市救助管理站.xlsx", inbox / "mine.xlsx")
    (inbox / "out.xlsx").symlink_to(outside / "secret.xlsx")
    (inbox / "loop.xlsx").symlink_to(inbox / "loop.xlsx")
    (inbox / "dir").symlink_to(outside)
    (inbox / "inside.xlsx").symlink_to(inbox / "mine.xlsx")  # the same file: once
    ledger = tmp_path / "ledger.db"
    code, output = run("collect", str(inbox), "--roster", str(ROSTER), "--ledger", str(ledger))
    assert code == 0, output
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT file_name FROM submissions").fetchall() == [("mine.xlsx",)]
    flat = "".join(output.split())
    assert "已跳过" in flat and "out.xlsx" in flat and "loop.xlsx" in flat
    # The same through a pattern, as the shell would not expand it.
    for pattern in (f"{inbox}/*.xlsx", f"{inbox}/**/*.xlsx"):
        code, output = run("collect", pattern, "--ledger", str(ledger))
        assert code == 0 and "link-outside-inbox" in output, output
        with sqlite3.connect(ledger) as db:
            names = db.execute("SELECT file_name FROM submissions").fetchall()
            assert names == [("mine.xlsx",)]
    # Asked for, links are followed.
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--follow-links")
    with sqlite3.connect(ledger) as db:
        assert ("out.xlsx",) in db.execute("SELECT file_name FROM submissions").fetchall()
    # A path that does not exist is no submission.
    before = Store(ledger).counts()
    code, output = run("collect", str(tmp_path / "nosuch"), "--ledger", str(ledger))
    assert code == 2 and "找不到" in output and Store(ledger).counts() == before


def test_in_parallel_the_report_follows_the_order_of_arrival(tmp_path: Path) -> None:
    inbox = _inbox_copy(tmp_path)
    with Store(tmp_path / "l.db") as store:
        report = collect([inbox], store, CODESET, Config(), SPEC, read_roster(ROSTER), jobs=2)
    assert [Path(e.file).name for e in report.events] == sorted(p.name for p in inbox.iterdir())


_SPAWNED = """
import multiprocessing, sys
from pathlib import Path

from perfxl.domain.codesets import load_codeset
from perfxl.ledger.collect import collect
from perfxl.checks.config import Config
from perfxl.formats.spec import load_spec
from perfxl.ledger.store import Store

if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[3])
    with Store(Path(sys.argv[2])) as store:
        report = collect([Path(sys.argv[1])], store, load_codeset(), Config(), load_spec(), jobs=2)
    for event in report.events:
        print(Path(event.file).name, event.outcome)
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_started_afresh_as_on_windows_and_macos(tmp_path: Path, method: str) -> None:
    """Where processes are not forked by the collecting process (spawned, as on Windows and
    macOS, or forked by a server, as Python 3.14 does on Linux), each worker starts afresh
    and is handed what it needs: the run gives what one process gives."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    inbox = _inbox_copy(tmp_path)
    script = tmp_path / "spawned.py"
    script.write_text(_SPAWNED, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script), str(inbox), str(tmp_path / "spawned.db"), method],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    with Store(tmp_path / "one.db") as store:
        report = collect([inbox], store, CODESET, Config(), SPEC, jobs=1)
        recorded = standing(store)
    assert out.stdout.split() == [x for e in report.events for x in (Path(e.file).name, e.outcome)]
    with Store(tmp_path / "spawned.db") as store:
        assert standing(store) == recorded


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_worker_killed_while_reading_costs_one_read_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    """A worker killed while it reads (out of memory, say): the files it was reading are
    read again, each alone; the run completes as if nothing had happened."""
    inbox = _inbox_copy(tmp_path)
    monkeypatch.setenv("PERFXL_FAULT", "kill-worker:read:2")  # every worker, at its 2nd file
    ledger = tmp_path / "ledger.db"
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", jobs)
    assert code in (0, 1) and "Traceback" not in output and "收集中断" not in output, output
    # A file the dead worker had recorded is reported as recorded, never as a duplicate.
    assert "重复0）" in "".join(output.split()), output
    monkeypatch.delenv("PERFXL_FAULT")
    assert_as_a_clean_run(ledger, inbox, tmp_path)


def assert_as_a_clean_run(ledger: Path, inbox: Path, tmp_path: Path) -> None:
    """The ledger holds what one clean run of the inbox records: counts and statuses."""
    with Store(ledger) as store:
        counts, recorded = store.counts(), standing(store)
    with Store(tmp_path / "at-once.db") as store:
        collect([inbox], store, CODESET, Config(), SPEC, jobs=1)
        assert store.counts() == counts and standing(store) == recorded


def test_a_worker_killed_once_it_recorded_reports_its_files_as_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed just after it committed its files, before it could say so: those
    files are read again and reported as they were recorded, never as duplicates."""
    inbox = _inbox_copy(tmp_path)
    monkeypatch.setenv("PERFXL_FAULT", "kill-worker:recorded:1")
    ledger = tmp_path / "ledger.db"
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "1")
    assert code in (0, 1) and "Traceback" not in output, output
    assert "重复0）" in "".join(output.split()) and "重复（已有）" not in output, output
    monkeypatch.delenv("PERFXL_FAULT")
    assert_as_a_clean_run(ledger, inbox, tmp_path)


def test_a_file_that_kills_every_worker_is_recorded_unreadable_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose reading kills a worker each time (beyond the workers' memory): recorded
    as unreadable, the run goes on, and the next run does not read it again."""
    inbox = _inbox_copy(tmp_path)
    victim = "440100004-广州市救助管理站.xlsx"
    monkeypatch.setenv("PERFXL_FAULT_FILE", victim)
    ledger = tmp_path / "ledger.db"
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert code == 1 and "收集中断" not in output, output
    with Store(ledger) as store:
        subs = {s.file_name: s for s in store.submissions()}
        assert len(subs) == len(list(inbox.iterdir()))
        assert subs[victim].status == "rejected"
        [issue] = store.issues(subs[victim].id)
        assert issue.code == "file-unreadable" and "内存上限" in issue.message
        before = store.counts()
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert code == 0 and "重复8" in "".join(output.split()), output  # not read again
    with Store(ledger) as store:
        assert store.counts() == before


def test_a_ledger_that_fails_stops_the_run_clearly_and_a_second_run_completes(
    tmp_path: Path,
) -> None:
    """The ledger failing (a disk I/O error on one file's row): the run stops with a
    message, not a traceback; what was recorded is whole; the next run completes."""
    inbox = _inbox_copy(tmp_path)
    victim = sorted(inbox.iterdir())[3].name
    ledger = tmp_path / "ledger.db"
    with Store(ledger) as store:
        store.db.execute(
            "CREATE TRIGGER failing BEFORE INSERT ON submissions"
            f" WHEN NEW.file_name = '{victim}' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert code == 2 and "Traceback" not in output, output
    flat = "".join(output.split())  # as the console wrapped it
    assert "收集中断" in flat and "diskI/Oerror" in flat, output
    with Store(ledger) as store:
        assert victim not in {s.file_name for s in store.submissions()}
        for sub in store.submissions():  # whatever was recorded, was recorded whole
            assert len(store.projects(sub.id)) == len(read_any(Path(sub.file_path)).table.projects)
        store.db.execute("DROP TRIGGER IF EXISTS failing")
    code, output = run("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert code in (0, 1) and "收集中断" not in output, output  # 1: a file was rejected
    with Store(ledger) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts, recorded = store.counts(), standing(store)
    with Store(tmp_path / "at-once.db") as store:  # as if nothing had gone wrong
        collect([inbox], store, CODESET, Config(), SPEC, jobs=1)
        assert store.counts() == counts and standing(store) == recorded


_CHURN = """
import resource, sys
from perfxl.ledger.processes import keep_freed_memory
if sys.argv[1] == "keep":
    keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):  # what reading a workbook allocates and frees: blocks of 100-400 KiB
    parts = [b"a" * 100_000, b"b" * 200_000]
    copy, buffer = b"".join(parts), bytearray(400_000)
    del parts, copy, buffer
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap settings")
def test_a_worker_keeps_the_memory_it_frees_for_the_next_file() -> None:
    faults = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("default", "keep")
    }
    # Each round faults in its blocks anew by default; kept, they are faulted in once.
    assert faults["default"] > 100 * 200 and faults["keep"] < 1_000, faults


def test_batches_shrink_and_keep_every_file_once() -> None:
    from perfxl.ledger.collect import batches

    items = list(range(1000))
    found = batches(items, 2)
    assert [i for b in found for i in b] == items
    sizes = [len(b) for b in found]
    assert sizes[0] == 8 and sizes[-8:] == [1] * 8
    assert sizes == sorted(sizes, reverse=True)
    assert batches([], 2) == [] and batches([1], 2) == [[1]]
