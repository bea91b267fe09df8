"""The locked department-wide template (部门整体支出绩效目标申报表): written beside the project
one for a roster, prefilled from last year's published table, filled and saved in
LibreOffice, read back with no error, and its planted faults found at their cells."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.domain.fields import INDICATOR
from perfxl.formats.detect import read_any
from perfxl.formats.overall_spec import load_overall_spec
from perfxl.ledger.settle import diff_overall
from tests.conftest import FIXTURES, libreoffice_resave

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "samples" / "roster.csv"
SEED = FIXTURES / "guangzhou-minzheng-department-targets.txt"
runner = CliRunner()
# The bundled spec: 总体情况 items from row 4 (预算总额 C4, 基本支出 C5, 项目支出 C6, 财政拨款 C7,
# 财政专户拨款 C8, 其他资金 C9, 总体绩效目标 C10); 重点任务 and 指标 rows from row 4.
OVERVIEW = {"total": "C4", "basic": "C5", "project": "C6", "fiscal": "C7", "special": "C8",
            "other": "C9", "goal": "C10"}  # fmt: skip


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("overall")
    result = runner.invoke(
        app,
        ["template", "--form", "both", "--roster", str(ROSTER), "--year", "2027",
         "-o", str(out), "--prefill", str(SEED)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "440100001-部门整体 已用上年数据预填（广州市民政局）" in result.output
    return out


def test_both_forms_for_every_roster_department(made: Path) -> None:
    codes = [line.split(",")[0] for line in ROSTER.read_text("utf-8").splitlines()[1:]]
    names = sorted(p.name for p in made.glob("*.xlsx"))
    assert names == sorted([f"{c}.xlsx" for c in codes] + [f"{c}-部门整体.xlsx" for c in codes])


def test_sheets_lists_protection_and_identity(made: Path) -> None:
    wb = openpyxl.load_workbook(made / "440100002-部门整体.xlsx")
    assert wb.sheetnames == ["填报说明", "总体情况", "重点任务", "指标", "_lists", "_meta"]
    assert [wb[n].sheet_state for n in ("_lists", "_meta")] == ["hidden", "hidden"]
    assert all(wb[n].protection.sheet for n in ("总体情况", "重点任务", "指标"))
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(min_row=2, values_only=True)}
    assert (meta["form"], meta["department_code"], meta["fiscal_year"]) == (
        "department",
        "440100002",
        "2027",
    )
    assert {"LST_L1", "L2_1", "L2_2", "L2_3", "LST_OPS", "LST_NATURE"} <= set(wb.defined_names)
    ws = wb["总体情况"]
    labels = [
        "预算总额",
        "基本支出",
        "项目支出",
        "财政拨款",
        "财政专户拨款",
        "其他资金",
        "总体绩效目标",
    ]
    assert [ws.cell(r, 2).value for r in range(4, 11)] == labels
    assert ws["B5"].protection.locked and not ws["C5"].protection.locked
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert "ROUND(C5,2)=C5" in rules["C5"].formula1
    indicators = {str(dv.sqref): dv for dv in wb["指标"].data_validations.dataValidation}
    cascade = next(dv for dv in indicators.values() if "INDIRECT" in (dv.formula1 or ""))
    assert str(cascade.sqref).startswith("B4")
    tasks = wb["重点任务"]
    assert [tasks.cell(3, c).value for c in range(1, 7)] == [
        "序号", "任务名称", "主要实施内容", "拟投入资金", "期望达到的目标", "行标识"]  # fmt: skip


def test_prefilled_from_last_years_published_table(made: Path) -> None:
    seed = read_any(SEED).overall
    back = read_any(made / "440100001-部门整体.xlsx")
    assert back.kind == "template" and back.overall is not None
    got = back.overall
    assert [(t.name, t.amount) for t in got.tasks] == [(t.name, t.amount) for t in seed.tasks]  # type: ignore[union-attr]
    assert [(i.level1, i.level2, i.name, i.annual) for i in got.indicators] == [
        (i.level1, i.level2, i.name, i.annual)
        for i in seed.indicators  # type: ignore[union-attr]
    ]
    assert got.goal == seed.goal  # type: ignore[union-attr]
    budget = {b.label: b.amount for b in got.budget}
    assert (str(budget["基本支出"]), str(budget["项目支出"])) == ("117897.50", "96313.27")
    assert got.total is None  # the seed declares none: left for the department


def fill(path: Path, overview: dict[str, object], tasks: list[list[object]],
         indicators: list[list[object]]) -> None:  # fmt: skip
    wb = openpyxl.load_workbook(path)
    ws = wb["总体情况"]
    for key, value in overview.items():
        ws[OVERVIEW[key]] = value
    for n, row in enumerate(tasks):
        for c, value in enumerate(row, start=2):
            wb["重点任务"].cell(4 + n, c, value)
    for n, row in enumerate(indicators):
        for c, value in enumerate(row, start=1):
            wb["指标"].cell(4 + n, c, value)
    wb.save(path)


CLEAN_OVERVIEW = {"total": 1000, "basic": 400, "project": 600, "fiscal": 950, "special": 0,
                  "other": 50, "goal": "保障全区民政事业平稳运行，兜牢民生底线。"}  # fmt: skip
CLEAN_TASKS = [
    ["养老服务", "建设社区养老服务站点。", 520.5, "新增站点10个"],
    ["社会救助", "发放最低生活保障金。", 300, "应保尽保"],
    ["社区治理", "开展社区工作者培训。", 179.5, "培训全覆盖"],
]
CLEAN_INDICATORS = [
    ["1-产出指标", "11-数量指标", "新增养老服务站点", "定量", "≥", "10", "10", "个"],
    ["1-产出指标", "13-时效指标", "救助金发放及时率", "定量", "＝", "100", "100", "%"],
    [
        "2-效益指标",
        "22-社会效益指标",
        "困难群众基本生活",
        "定性",
        "定性",
        "有效保障",
        "有效保障",
        "",
    ],
    ["3-满意度指标", "31-服务对象满意度指标", "服务对象满意度", "定量", "≥", "90", "90", "%"],
]


def _validate(path: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["validate", str(path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_filled_in_libreoffice_reads_back_with_no_error(made: Path, tmp_path: Path) -> None:
    source = tmp_path / "440100003-部门整体.xlsx"
    source.write_bytes((made / source.name).read_bytes())
    fill(source, CLEAN_OVERVIEW, CLEAN_TASKS, CLEAN_INDICATORS)
    [saved] = libreoffice_resave([source], tmp_path / "saved")
    report = _validate(saved)
    assert [i for i in report["issues"] if i["severity"] == "error"] == []
    overall = read_any(saved).overall
    assert overall is not None
    assert str(overall.total) == "1000.00"
    assert [str(t.amount) for t in overall.tasks] == ["520.50", "300.00", "179.50"]
    assert [i.annual for i in overall.indicators] == ["≥10个", "＝100%", "有效保障", "≥90%"]
    assert [(i.level1, i.level2) for i in overall.indicators] == [
        ("1", "11"), ("1", "13"), ("2", "22"), ("3", "31")]  # fmt: skip


def test_planted_faults_are_found_at_their_cells(made: Path, tmp_path: Path) -> None:
    source = tmp_path / "440100004-部门整体.xlsx"
    source.write_bytes((made / source.name).read_bytes())
    tasks = [row[:] for row in CLEAN_TASKS]
    tasks[1][2] = "三百万"  # no amount
    tasks[2][2] = 179.555  # three places
    indicators = [row[:] for row in CLEAN_INDICATORS]
    indicators[2][1] = "12-质量指标"  # a 产出 二级 under 效益
    fill(source, {**CLEAN_OVERVIEW, "goal": None, "basic": "400"}, tasks, indicators)
    [saved] = libreoffice_resave([source], tmp_path / "saved")
    report = _validate(saved)
    found = {(i["code"], i.get("cell")) for i in report["issues"]}
    assert ("amount-invalid", "D5") in found
    assert ("amount-places", "D6") in found
    assert ("tasks-total-mismatch", "D4") in found
    assert ("level2-mismatch", "B6") in found
    assert ("amount-as-text", "C5") in found
    assert ("department-goal-missing", "C10") in found
    mismatch = next(i for i in report["issues"] if i["code"] == "tasks-total-mismatch")
    assert "700.055" in mismatch["message"] and "1,000.00" in mismatch["message"]
    assert ("task-amount-missing", "D5") not in found  # reported once, as no amount


def test_a_label_changed_in_the_overview_is_reported(made: Path, tmp_path: Path) -> None:
    path = tmp_path / "440100005-部门整体.xlsx"
    wb = openpyxl.load_workbook(made / path.name)
    wb["总体情况"]["B6"] = "专项支出"
    wb.save(path)
    found = {(i["code"], i.get("cell")) for i in _validate(path)["issues"]}
    assert ("header-changed", "B6") in found


def test_resubmission_supersedes_within_its_form_and_tells_what_changed(
    made: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = ROOT / "samples" / "inbox" / "440100002-广州市社会福利院.xlsx"
    (inbox / project.name).write_bytes(project.read_bytes())
    template = made / "440100002-部门整体.xlsx"
    first, second = inbox / "440100002-部门整体-第1次.xlsx", inbox / "440100002-部门整体-第2次.xlsx"
    for path in (first, second):
        path.write_bytes(template.read_bytes())
    fill(first, CLEAN_OVERVIEW, CLEAN_TASKS, CLEAN_INDICATORS)
    tasks = [row[:] for row in CLEAN_TASKS]
    tasks[0][2], tasks[2][2] = 500.5, 199.5  # money moved between two tasks
    fill(second, {**CLEAN_OVERVIEW, "goal": "兜牢民生底线，提升养老服务质量。"}, tasks,
         CLEAN_INDICATORS[:3])  # fmt: skip
    ledger = tmp_path / "ledger.db"
    result = runner.invoke(
        app, ["collect", str(inbox), "--roster", str(ROSTER), "--ledger", str(ledger)]
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT file_name, form, status FROM submissions ORDER BY file_name")
        assert rows.fetchall() == [
            ("440100002-广州市社会福利院.xlsx", "project", "accepted"),  # not touched
            ("440100002-部门整体-第1次.xlsx", "department", "superseded"),
            ("440100002-部门整体-第2次.xlsx", "department", "accepted"),
        ]
        changes = {
            key: json.loads(fields)
            for key, fields in db.execute("SELECT project_key, fields FROM changes")
        }
    assert changes["任务 养老服务"] == {"拟投入资金": ["520.50", "500.50"]}
    assert changes["任务 社区治理"] == {"拟投入资金": ["179.50", "199.50"]}
    assert changes["总体情况"]["总体绩效目标"][1] == "兜牢民生底线，提升养老服务质量。"
    assert list(changes["部门整体指标"]) == ["指标“服务对象满意度”"]


def test_an_edited_spec_is_used_to_write_and_to_read(tmp_path: Path) -> None:
    text = (ROOT / "templates" / "overall.toml").read_text("utf-8")
    text = text.replace("rows = 30", "rows = 5")
    text += '\n[[indicators.columns]]\nkey = "remark"\nheader = "备注"\ntype = "text"\n'
    spec = tmp_path / "my-overall.toml"
    spec.write_text(text, "utf-8")
    out = tmp_path / "t.xlsx"
    result = runner.invoke(app, ["template", "--form", "department", "--overall-spec", str(spec),
                                 "--department-code", "9", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb["指标"].cell(3, 9).value == "备注" and wb["重点任务"].max_row == 8  # 5 rows
    fill(out, CLEAN_OVERVIEW, CLEAN_TASKS, [[*row, "已核实"] for row in CLEAN_INDICATORS])
    result = runner.invoke(
        app, ["validate", str(out), "--overall-spec", str(spec), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["issues"] == []
    overall = read_any(out, overall_spec=load_overall_spec(spec)).overall
    assert overall is not None and overall.indicators[0].extra == {"remark": "已核实"}
    # Read with the bundled spec, the workbook is not the template it was written as.
    codes = {i["code"] for i in _validate(out)["issues"]}
    assert "header-changed" in codes or "structure-changed" in codes


def test_a_task_amount_cleared_is_a_change(made: Path) -> None:
    before = read_any(
        ROOT / "samples" / "inbox" / "440100002-广州市社会福利院-部门整体.xlsx"
    ).overall
    assert before is not None
    after = before.model_copy(deep=True)
    before.tasks[0].amount = Decimal("0.00")
    after.tasks[0].amount = None
    changes = diff_overall(before, after, INDICATOR)
    name = after.tasks[0].name
    assert changes == [
        {"change": "changed", "project": f"任务 {name}", "name": name,
         "fields": {"拟投入资金": ["0.00", "（无）"]}}
    ]  # fmt: skip


def test_without_a_roster_one_code_is_one_department_whatever_its_names(
    made: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = ROOT / "samples" / "inbox" / "440100002-广州市社会福利院.xlsx"
    (inbox / project.name).write_bytes(project.read_bytes())
    args = ["--department-code", "440100002", "--department-name", "社会福利院"]
    runner.invoke(app, ["template", "--form", "department", *args, "-o", str(inbox / "d.xlsx")])
    fill(inbox / "d.xlsx", CLEAN_OVERVIEW, CLEAN_TASKS, CLEAN_INDICATORS)
    ledger = tmp_path / "ledger.db"
    assert runner.invoke(app, ["collect", str(inbox), "--ledger", str(ledger)]).exit_code == 0
    result = runner.invoke(app, ["status", "--ledger", str(ledger), "--json"])
    departments = json.loads(result.output)["departments"]
    assert [(d["code"], d["status"], d["overall"]["status"]) for d in departments] == [
        ("440100002", "accepted", "accepted")]  # fmt: skip
    assert departments[0]["overall"]["total"] == "1000.00"
