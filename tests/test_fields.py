"""A column added to a copy of the template spec travels the whole round trip: the template,
the reader, the rules, the ledger, every ledger output, and the change report."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.formats.spec import load_spec
from perfxl.ledger.store import Store

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

PROJECT_COLUMNS = """
[[projects.columns]]
key = "bond"
header = "债券资金"
type = "amount"

[[projects.columns]]
key = "remark"
header = "备注"
type = "text"
"""
INDICATOR_COLUMNS = """
[[indicators.columns]]
key = "cost"
header = "测算金额"
type = "amount"

[[indicators.columns]]
key = "basis"
header = "指标说明"
type = "longtext"
"""
PROJECT = {
    "项目编码": "P001",
    "项目名称": "社区养老服务",
    "财政拨款": 10,
    "绩效目标": "为辖区老人提供助餐服务，全年不少于一万人次。",
}
INDICATOR_HEADER = (
    "一级指标",
    "二级指标",
    "三级指标",
    "指标性质",
    "计算符号",
    "年度指标值",
    "计量单位",
)
INDICATORS = [
    dict(zip(INDICATOR_HEADER, row, strict=True))
    for row in (
        ("1-产出指标", "11-数量指标", "助餐人次", "定量", "≥", "10000", "人次"),
        ("2-效益指标", "22-社会效益", "老人就餐便利度", "定性", "定性", "明显提升", ""),
        ("3-满意度指标", "31-服务对象满意度", "服务对象满意度", "定量", "≥", "90", "%"),
    )
]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def spec_with(tmp_path: Path, columns: str) -> Path:
    spec = tmp_path / "spec.toml"
    text = (ROOT / "templates" / "department.toml").read_text(encoding="utf-8")
    spec.write_text(text + columns, encoding="utf-8")
    return spec


def fill(path: Path, sheet: str, rows: list[dict[str, object]]) -> None:
    """Type rows into a template's sheet, each value under the header that names it."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    headers = {cell.value: cell.column for cell in ws[3] if cell.value}
    for r, row in enumerate(rows, start=4):
        for header, value in row.items():
            ws.cell(r, headers[header], value)
    wb.save(path)


def returned(tmp_path: Path, spec: Path, name: str, mtime: int, project: dict[str, object],
             indicators: list[dict[str, object]], department: str = "D01") -> Path:  # fmt: skip
    """A department's template, written with the spec, filled in and sent back."""
    path = tmp_path / "inbox" / name
    code, output = run(
        "template", "--spec", str(spec), "--year", "2026", "--department-code", department,
        "--department-name", f"测试单位{department}", "-o", str(path),
    )  # fmt: skip
    assert code == 0, output
    fill(path, "项目", [project])
    label = f"1、{project['项目名称']}"
    fill(path, "指标", [{"所属项目": label, **i} for i in indicators])
    os.utime(path, (mtime, mtime))
    return path


def collect(tmp_path: Path, spec: Path, ledger: Path) -> str:
    code, output = run(
        "collect", str(tmp_path / "inbox"), "--spec", str(spec), "--ledger", str(ledger),
        "--year", "2026",
    )  # fmt: skip
    assert code == 0, output
    return output


def records(path: Path, sheet: str) -> list[dict[str, object]]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def outputs(tmp_path: Path, ledger: Path) -> tuple[Path, Path, Path]:
    """The ledger workbook, and the CSV and Parquet folders."""
    book, folder_csv, folder_parquet = tmp_path / "l.xlsx", tmp_path / "csv", tmp_path / "pq"
    assert run("ledger", "--ledger", str(ledger), "-o", str(book))[0] == 0
    for fmt, folder in (("csv", folder_csv), ("parquet", folder_parquet)):
        assert run("ledger", "--ledger", str(ledger), "--format", fmt, "-o", str(folder))[0] == 0
    return book, folder_csv, folder_parquet


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_spec_with_no_extra_column_has_the_registry_fields_only() -> None:
    spec = load_spec()
    assert spec.projects.fields.extras == () and spec.indicators.fields.extras == ()
    total = spec.projects.column("total")
    assert total is not None and total.sums == ("fiscal", "special", "other")


def test_project_columns_added_to_the_spec_reach_every_output(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, PROJECT_COLUMNS)
    # The total sums every amount column, the new one too, and says so to the department.
    total = load_spec(spec).projects.column("total")
    assert total is not None and total.sums == ("fiscal", "special", "other", "bond")
    assert "债券资金" in total.help
    first = {**PROJECT, "债券资金": 5, "备注": "第一版备注"}
    returned(tmp_path, spec, "first.xlsx", 1_000, first, INDICATORS)
    ledger = tmp_path / "ledger.db"
    collect(tmp_path, spec, ledger)

    with Store(ledger) as store:
        [submission] = store.submissions()
        assert submission.status == "accepted", store.issues(submission.id)
        [project] = store.projects(submission.id)
    assert project.extra == {"bond": Decimal("5.00"), "remark": "第一版备注"}
    assert (project.total, project.fiscal) == (Decimal("15.00"), Decimal("10.00"))

    book, folder_csv, folder_parquet = outputs(tmp_path, ledger)
    [row] = [r for r in records(book, "项目明细") if r["单位编码"]]
    assert (row["总计"], row["财政拨款"], row["债券资金"], row["备注"]) == (15, 10, 5, "第一版备注")
    summary_rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("汇总").to_python()
    summary = {r[0]: r[1] for r in summary_rows if r[0]}
    assert (summary["总计"], summary["债券资金"]) == (15, 5)
    [dept] = [r for r in records(book, "部门汇总") if r["单位编码"] == "D01"]
    assert (dept["总计"], dept["债券资金"]) == (15, 5)
    [row] = csv_rows(folder_csv / "projects.csv")
    assert (row["总计"], row["债券资金"], row["备注"]) == ("15.00", "5.00", "第一版备注")
    frame = pd.read_parquet(folder_parquet / "projects.parquet")
    assert (frame["债券资金"][0], frame["备注"][0]) == (Decimal("5.00"), "第一版备注")
    published = tmp_path / "published.xlsx"
    assert run("ledger", "--ledger", str(ledger), "--published", "-o", str(published))[0] == 0
    rows = CalamineWorkbook.from_path(str(published)).get_sheet_by_index(0).to_python()
    header = next(r for r in rows if "项目名称" in r)
    project_row = next(r for r in rows if "社区养老服务" in r)
    values = dict(zip(header, project_row, strict=False))
    assert (values["总计"], values["债券资金"], values["备注"]) == (15, 5, "第一版备注")

    # The department sends the file again, with only the 备注 changed.
    second = {**first, "备注": "第二版备注"}
    returned(tmp_path, spec, "second.xlsx", 2_000, second, INDICATORS)
    output = collect(tmp_path, spec, ledger)
    with Store(ledger) as store:
        latest = store.submissions()[-1]
        assert latest.status == "accepted"
        [change] = store.changes(latest.id)
    assert change["change"] == "changed" and change["name"] == "社区养老服务"
    assert change["fields"] == {"备注": ["第一版备注", "第二版备注"]}
    assert "备注：第一版备注→第二版备注" in "".join(output.split())


def test_indicator_columns_added_to_the_spec_reach_every_output(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, INDICATOR_COLUMNS)
    indicators = [
        {**i, "测算金额": w, "指标说明": f"反映{i['三级指标']}情况"}
        for i, w in zip(INDICATORS, (40, 30, 20), strict=True)
    ]
    returned(tmp_path, spec, "first.xlsx", 1_000, PROJECT, indicators)
    ledger = tmp_path / "ledger.db"
    collect(tmp_path, spec, ledger)
    with Store(ledger) as store:
        [submission] = store.submissions()
        assert submission.status == "accepted", store.issues(submission.id)
        [project] = store.projects(submission.id)
    assert [i.extra for i in project.indicators] == [
        {"cost": Decimal("40.00"), "basis": "反映助餐人次情况"},
        {"cost": Decimal("30.00"), "basis": "反映老人就餐便利度情况"},
        {"cost": Decimal("20.00"), "basis": "反映服务对象满意度情况"},
    ]
    book, folder_csv, folder_parquet = outputs(tmp_path, ledger)
    rows = [r for r in records(book, "指标明细") if r["单位编码"]]
    assert [(r["三级指标"], r["测算金额"], r["指标说明"]) for r in rows] == [
        ("助餐人次", 40, "反映助餐人次情况"),
        ("老人就餐便利度", 30, "反映老人就餐便利度情况"),
        ("服务对象满意度", 20, "反映服务对象满意度情况"),
    ]
    costs = [r["测算金额"] for r in csv_rows(folder_csv / "indicators.csv")]
    assert costs == ["40.00", "30.00", "20.00"]
    frame = pd.read_parquet(folder_parquet / "indicators.parquet")
    assert list(frame["指标说明"]) == [r["指标说明"] for r in rows]

    # Sent again with one indicator's 指标说明 changed, nothing else.
    indicators[1] = {**indicators[1], "指标说明": "反映老人就餐是否方便"}
    returned(tmp_path, spec, "second.xlsx", 2_000, PROJECT, indicators)
    collect(tmp_path, spec, ledger)
    with Store(ledger) as store:
        [change] = store.changes(store.submissions()[-1].id)
    assert change["fields"] == {
        "指标“老人就餐便利度”的指标说明": ["反映老人就餐便利度情况", "反映老人就餐是否方便"]
    }


def test_an_amount_in_an_added_column_is_checked_like_the_others(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, PROJECT_COLUMNS)
    path = returned(tmp_path, spec, "bad.xlsx", 1_000, {**PROJECT, "债券资金": "五万"}, INDICATORS)
    code, output = run("validate", str(path), "--spec", str(spec), "--format", "csv")
    assert code == 1
    found = [r for r in csv.DictReader(output.splitlines()) if r["code"] == "amount-invalid"]
    assert [(r["cell"], r["column"], r["value"]) for r in found] == [("J4", "债券资金", "五万")]


def test_a_ledger_remembers_the_added_fields_of_older_submissions(tmp_path: Path) -> None:
    """Collected with a spec that has 备注, then with the plain spec: the ledger still shows
    备注 for the first department, by its caption."""
    spec = spec_with(tmp_path, PROJECT_COLUMNS)
    returned(tmp_path, spec, "first.xlsx", 1_000, {**PROJECT, "备注": "说明"}, INDICATORS)
    ledger = tmp_path / "ledger.db"
    collect(tmp_path, spec, ledger)
    shutil.rmtree(tmp_path / "inbox")
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT entity, key, header, type FROM fields").fetchall() == [
            ("project", "bond", "债券资金", "amount"),
            ("project", "remark", "备注", "text"),
        ]
    book, _, _ = outputs(tmp_path, ledger)
    [row] = [r for r in records(book, "项目明细") if r["单位编码"]]
    assert row["备注"] == "说明"


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        ('[[projects.columns]]\nkey = "fiscal"\ntype = "text"\n', "fiscal"),
        ('[[projects.columns]]\nkey = "x"\nheader = "X"\ntype = "list"\nlist = "nature"\n', "x"),
        ('[[projects.columns]]\nkey = "y"\ntype = "text"\n', "header"),
    ],
)
def test_a_spec_column_that_cannot_be_a_field_is_a_clear_error(
    tmp_path: Path, columns: str, said: str
) -> None:
    spec = spec_with(tmp_path, columns)
    code, output = run("template", "--spec", str(spec), "-o", str(tmp_path / "t.xlsx"))
    assert code == 2 and said in output and "Traceback" not in output


def test_the_structured_workbook_and_json_keep_the_added_fields(tmp_path: Path) -> None:
    """A filled template with added columns, exported as a structured workbook and read back
    (and the same through JSON): the added values come back, amounts as amounts."""
    from perfxl.domain.model import ReadResult
    from perfxl.formats.detect import read_any
    from perfxl.formats.jsonfile import read_json
    from perfxl.formats.structured import read_structured

    spec = spec_with(tmp_path, PROJECT_COLUMNS + INDICATOR_COLUMNS)
    indicators = [{**i, "测算金额": 30, "指标说明": "说明"} for i in INDICATORS]
    source = returned(
        tmp_path, spec, "a.xlsx", 1_000, {**PROJECT, "债券资金": 5, "备注": "甲"}, indicators
    )
    structured = tmp_path / "structured.xlsx"
    code, output = run("export", str(source), "--spec", str(spec), "-o", str(structured))
    assert code == 0, output
    first = read_any(source, spec=load_spec(spec))
    back = read_structured(structured)
    as_json = tmp_path / "table.json"
    as_json.write_text(
        json.dumps(
            ReadResult(file="x", kind="json", table=first.table).to_dict(), ensure_ascii=False
        ),
        encoding="utf-8",
    )
    for result in (back, read_json(as_json)):
        [project] = result.table.projects
        assert project.extra == {"bond": Decimal("5.00"), "remark": "甲"}
        assert project.total == Decimal("15.00")
        assert [i.extra for i in project.indicators] == [
            {"cost": Decimal("30.00"), "basis": "说明"}
        ] * 3
        assert [(e.entity, e.key, e.header, e.money) for e in result.table.extras] == [
            ("project", "bond", "债券资金", True),
            ("project", "remark", "备注", False),
            ("indicator", "cost", "测算金额", True),
            ("indicator", "basis", "指标说明", False),
        ]
        assert [p.content() for p in result.table.projects] == [
            p.content() for p in first.table.projects
        ]


def test_a_key_recorded_as_an_amount_may_later_hold_text(tmp_path: Path) -> None:
    """One department's spec makes 债券资金 an amount, another's makes the same key text:
    both are collected, and the ledger shows each value as it came."""
    ledger = tmp_path / "ledger.db"
    spec = spec_with(tmp_path, PROJECT_COLUMNS)
    returned(tmp_path, spec, "a.xlsx", 1_000, {**PROJECT, "债券资金": 5}, INDICATORS)
    collect(tmp_path, spec, ledger)
    shutil.rmtree(tmp_path / "inbox")
    text_spec = tmp_path / "text.toml"
    text_spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            'type = "amount"\n\n[[projects.columns]]\nkey = "remark"',
            'type = "text"\n\n[[projects.columns]]\nkey = "remark"',
        ),
        encoding="utf-8",
    )
    project = {**PROJECT, "债券资金": "见附件"}
    path = returned(tmp_path, text_spec, "b.xlsx", 2_000, project, INDICATORS, "D02")
    code, output = run(
        "collect", str(path), "--spec", str(text_spec), "--ledger", str(ledger), "--year", "2026"
    )
    assert code == 0, output
    book, _, _ = outputs(tmp_path, ledger)
    assert sorted(str(r["债券资金"]) for r in records(book, "项目明细") if r["单位编码"]) == [
        "5.0",
        "见附件",
    ]


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        ('[[projects.columns]]\nkey = "row"\nheader = "行"\ntype = "text"\n', "保留"),
        ('[[projects.columns]]\nkey = "goal"\ntype = "amount"\n', "goal"),
        ('[[indicators.columns]]\nkey = "p"\nheader = "项目名称"\ntype = "text"\n', "已有他用"),
        ('[[projects.columns]]\nkey = "f"\nheader = "来源文件"\ntype = "text"\n', "已有他用"),
    ],
)
def test_an_added_column_may_not_take_a_reserved_key_type_or_caption(
    tmp_path: Path, columns: str, said: str
) -> None:
    spec = spec_with(tmp_path, columns)
    code, output = run("template", "--spec", str(spec), "-o", str(tmp_path / "t.xlsx"))
    assert code == 2 and said in "".join(output.split()), output


def test_a_required_added_indicator_column_left_blank_is_an_error(tmp_path: Path) -> None:
    spec = spec_with(
        tmp_path,
        INDICATOR_COLUMNS.replace('type = "longtext"', 'type = "longtext"\nrequired = true'),
    )
    indicators = [{**i, "指标说明": "说明"} for i in INDICATORS]
    indicators[1] = {k: v for k, v in indicators[1].items() if k != "指标说明"}
    path = returned(tmp_path, spec, "a.xlsx", 1_000, PROJECT, indicators)
    code, output = run("validate", str(path), "--spec", str(spec), "--format", "csv")
    found = [
        (r["cell"], r["column"])
        for r in csv.DictReader(output.splitlines())
        if r["code"] == "required-missing"
    ]
    assert code == 1 and found == [("K5", "指标说明")]


GOOD = {"name": "项目甲", "goal": "完成甲项目的全部建设内容。", "total": "1.00", "fiscal": "1.00"}


def test_json_with_added_amounts_is_checked_like_the_others(tmp_path: Path) -> None:
    data = {
        "department": {"name": "测试单位"},
        "extras": [{"entity": "project", "key": "bond", "header": "债券资金", "money": True}],
        "projects": [{**GOOD, "extra": {"bond": "-5.555"}}],
    }
    path = tmp_path / "table.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    _, output = run("validate", str(path), "--format", "json")
    issues = json.loads(output)["issues"]
    assert {(i["code"], i["column"]) for i in issues} >= {("amount-negative", "债券资金")}
