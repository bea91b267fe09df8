"""The department-wide table (部门整体绩效目标表): the Guangzhou seed, converted from a web
page with its shifted columns and split labels, and the same table re-typed in a workbook
with merged label cells, read to the same figures; its rules."""

# ruff: noqa: E501  (rows of the seed, as the table has them)
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from perfxl.checks.config import Config
from perfxl.checks.validate import validate_file
from perfxl.cli import app
from perfxl.formats.spec import load_spec
from tests.conftest import FIXTURES

SEED = FIXTURES / "guangzhou-minzheng-department-targets.txt"
runner = CliRunner()

# Read by hand from the seed.
BUDGET = [
    ("部门预算支出", "基本支出", "117897.50"),
    ("收入来源", "财政拨款", "381681.03"),
    ("部门预算支出", "项目支出", "96313.27"),
    ("收入来源", "其他资金", "67158.50"),
    ("事业发展性支出", "财政专项资金", "0.00"),
    ("按预算级次划分", "市本级使用资金", "214409.60"),
    ("事业发展性支出", "其他事业发展性支出", "167470.27"),
    ("按预算级次划分", "拟用于对下转移支付资金", "167271.43"),
]
TASKS = [
    ("社会养老服务计划", "77694.26", "提升老有颐养服务品质，在老有颐养上走前列"),
    ("儿童福利保障计划", "16170.22", "优化幼有善育工作网络，推动全市未成年人保护工作再上新台阶"),
    ("基层政权与社区治理和社会工作计划", "98536.91", "提升基层治理精细程度，加强社工服务站规范化管理"),
    ("社会组织管理计划", "2432.00", "引领社会组织高质量发展，提升社会组织登记管理业务“一件事”联办覆盖率"),
    ("民政专项事务支出计划", "44770.21", "推动实现更高水平的民政公共服务，在当好为民服务表率上走前列"),
    ("社会救助支出计划", "10281.80", "强化温暖救助贴心服务，助力广州“穗救易”服务品牌更深更实"),
]  # fmt: skip
_OUTPUT = [
    ("11", "全年社工服务人次", "400万人次", "400万人次"),
    ("11", "地级行政区域界线联检完成率", "100%", "100%"),
    ("11", "城市社区的基层自治组织动员体系建设覆盖率。", "100%", "100%"),
    ("12", "救助业务信息化率", "100%", "100%"),
    ("12", "养老机构护理型床位比例", "70%", "70%"),
    ("12", "市本级社会组织抽查监督率", "4%", "4%"),
    ("12", "市本级社会组织基本信息公示率", "100%", "100%"),
    ("13", "资金发放及时率", "100%", "100%"),
]
_EFFECT = [
    ("21", "社会力量运营的养老床位数占比", "70%", "70%"),
    ("22", "城乡低保标准.", "不低于省要求的一类地区城乡低保最低标准", "不低于省要求的一类地区城乡低保最低标准"),
    ("22", "社会救助对象政策认可程度", "≥90%", "≥90%"),
    ("22", "社区居家养老服务设施覆盖率", "100%", "100%"),
    ("22", "孤儿生活保障标准", "不低于全省最低保障标准", "不低于全省最低保障标准"),
    ("22", "事实无人抚养儿童生活保障标准", "和孤儿基本生活保障标准齐平", "和孤儿基本生活保障标准齐平"),
    ("22", "散居孤儿、事实无人抚养儿童基本生活保障金发放率", "100%", "100%"),
    ("22", "建立民主协商机制的城乡社区比例", "100%", "100%"),
    ("22", "社工服务在全市镇（街）覆盖率", "99%", "95%"),
    ("22", "注册志愿者人数占常住人口比例", "20%", "20%"),
    ("22", "自愿并符合救助条件的救助率", "100%", "100%"),
    ("22", "婚姻登记“跨省通办”服务覆盖率", "100%", "100%"),
    ("22", "市本级社会组织党的组织和党的工作覆盖率", "100%", "100%"),
]  # fmt: skip
INDICATORS = [("1", *i) for i in _OUTPUT] + [("2", *i) for i in _EFFECT]


def _content(data: dict[str, object]) -> dict[str, object]:
    """What a department-wide table says, without where it says it."""
    return {
        "department": data["department"],
        "budget": [(b["group"], b["label"], b["amount"]) for b in data["budget"]],  # type: ignore[attr-defined]
        "total": data["total"],
        "goal": data["goal"],
        "tasks": [(t["name"], t["amount"], t["goal"]) for t in data["tasks"]],  # type: ignore[attr-defined]
        "indicators": [
            (i["level1"], i["level2"], i["name"], i["period"], i["annual"])
            for i in data["indicators"]  # type: ignore[attr-defined]
        ],
    }


def _imported(path: Path, errors: bool = False) -> dict[str, object]:
    """What `import --json` prints (exit 1 where the file has errors, if they are expected)."""
    result = runner.invoke(app, ["import", str(path), "--json"])
    assert result.exit_code == (1 if errors else 0), result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_seed_is_read_with_its_overview_tasks_goal_and_indicators() -> None:
    data = _imported(SEED)
    assert data["kind"] == "department"
    assert data["department"] == {"code": None, "name": "广州市民政局"}
    content = _content(data)
    assert content["budget"] == [list(b) for b in BUDGET] or content["budget"] == BUDGET
    assert content["total"] is None  # the seed declares none
    assert str(content["goal"]).startswith(
        "2023年，我局将坚持以习近平新时代中国特色社会主义思想为指导"
    )
    assert "<p>" not in str(content["goal"])
    assert content["tasks"] == TASKS
    assert content["indicators"] == INDICATORS
    assert data["info"] == {"下属二级单位数": "18"}
    tasks = data["tasks"]
    assert tasks[0]["content"].startswith("深入开展街镇综合养老服务中心")  # type: ignore[index]
    assert "<p>" not in tasks[2]["content"]  # type: ignore[index]
    # The rows the conversion shifted, their levels lost, are read under the levels above
    # and each is said.
    carried = [i for i in data["issues"] if i["code"] == "level-carried"]  # type: ignore[attr-defined]
    assert [i["cell"] for i in carried] == [f"B{r}" for r in range(37, 47)] + ["A47"]


def _retyped(path: Path) -> Path:
    """The seed as an office re-types it: aligned columns, label cells merged down."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["部门整体预算绩效目标申报表"])
    ws.append(["部门名称", "广州市民政局"])
    ws.append(["基本信息", "下属二级单位数", "18"])
    ws.append(["预算整体情况", "部门预算支出", "预算金额（万元）", "收入来源", "预算金额（万元）"])
    ws.append([None, "基本支出", 117897.5, "财政拨款", 381681.03])
    ws.append([None, "项目支出", 96313.27, "其他资金", 67158.5])
    ws.append([None, "事业发展性支出", "预算金额（万元）", "按预算级次划分", "预算金额（万元）"])
    ws.append([None, "财政专项资金", 0, "市本级使用资金", 214409.6])
    ws.append([None, "其他事业发展性支出", 167470.27, "拟用于对下转移支付资金", 167271.43])
    goal = next(line for line in lines if line.startswith("总体绩效目标")).split("\t")[1]
    ws.append(["总体绩效目标", goal])
    ws.append(
        [
            "年度重点工作任务",
            "名称",
            "主要实施内容",
            "拟投入的资金（万元）",
            "期望达到的目标（概述）",
        ]
    )
    contents = [
        line.split("\t")[2] for line in lines if line.startswith(("年度重点工作任务", "\t")) and
        len(line.split("\t")) >= 5 and line.split("\t")[1] in {t[0] for t in TASKS}
    ]  # fmt: skip
    for (name, amount, goal_), content in zip(TASKS, contents, strict=True):
        ws.append([None, name, content, float(amount), goal_])
    ws.append(["绩效指标", "一级指标", "二级指标", "三级指标", "实施周期指标值", "年度指标值"])
    first = ws.max_row + 1
    labels = {"1": "产出指标", "2": "效益指标"}
    level2 = {"11": "数量指标", "12": "质量指标", "13": "时效指标", "21": "经济效益指标",
              "22": "社会效益指标"}  # fmt: skip
    seen: tuple[str, str] = ("", "")
    for l1, l2, name, period, annual in INDICATORS:
        ws.append([
            None,
            labels[l1] if l1 != seen[0] else None,
            level2[l2] if (l1, l2) != seen else None,
            name, period, annual,
        ])  # fmt: skip
        seen = (l1, l2)
    last = ws.max_row
    ws.merge_cells("A4:A9")
    ws.merge_cells(f"A11:A{10 + len(TASKS) + 1}")
    ws.merge_cells(f"A{first - 1}:A{last}")
    ws.merge_cells(f"B{first}:B{first + 7}")
    ws.merge_cells(f"B{first + 8}:B{last}")
    ws.merge_cells(f"C{first + 9}:C{last}")
    path = path / "部门整体.xlsx"
    wb.save(path)
    return path


def test_the_same_table_retyped_in_a_workbook_reads_the_same(tmp_path: Path) -> None:
    seed = _content(_imported(SEED))
    retyped = _imported(_retyped(tmp_path))
    assert _content(retyped) == seed
    assert not [i for i in retyped["issues"] if i["code"] == "level-carried"]  # type: ignore[attr-defined]


def test_tasks_that_do_not_add_up_to_the_total_are_an_error(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in [
        ["部门整体支出绩效目标表"],
        ["部门名称：某区民政局", None, None, "单位：万元"],
        ["预算整体情况", "部门预算支出", "预算金额", "收入来源", "预算金额"],
        [None, "基本支出", 100, "财政拨款", 250],
        [None, "项目支出", 150, "其他资金", 0],
        [None, "预算总额", 250],
        ["总体绩效目标", "保障民政工作正常运转，提升为民服务水平。"],
        ["年度重点工作任务", "名称", "主要实施内容", "拟投入资金（万元）", "期望达到的目标"],
        [None, "养老服务", "建设养老服务站。", 120, "服务老人1万人次"],
        [None, "社会救助", "发放救助金。", 100, "应保尽保"],
        [None, "婚姻登记", "规范婚姻登记服务。", None, "登记准确率100%"],
        ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值"],
        [None, "产出指标", "数量指标", "服务人次", "≥1万人次"],
        [None, "效益指标", "社会效益指标", "群众获得感", "明显提升"],
    ]:
        ws.append(row)
    path = tmp_path / "d.xlsx"
    wb.save(path)
    report = validate_file(path, None, Config(), load_spec())
    assert report.overall is not None and report.overall.total == Decimal("250.00")
    found = {i.code: i for i in report.issues}
    mismatch = found["tasks-total-mismatch"]
    assert mismatch.severity == "error" and mismatch.cell == "D9"
    assert "220.00" in mismatch.message and "250.00" in mismatch.message
    assert "婚姻登记" in mismatch.message
    assert found["task-amount-missing"].cell == "D11"
    assert "budget-mismatch" not in found  # 100 + 150 = 250 = 250 + 0
    assert "department-no-output" not in found and "department-no-effect" not in found


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


SMALL = [
    ["部门整体支出绩效目标表"],
    ["部门名称：某区民政局", None, None, "单位：万元"],
    ["预算整体情况", "部门预算支出", "预算金额", "收入来源", "预算金额"],
    [None, "合计", 250, "合计", 250],
    [None, "基本支出", 100, "财政拨款", 250],
    [None, "项目支出", 150, "其他资金", 0],
    ["总体绩效目标", "保障民政工作正常运转，提升为民服务水平。"],
    ["年度重点工作任务", "名称", "主要实施内容", "拟投入资金（万元）", "期望达到的目标"],
    [None, "养老服务", "建设养老服务站。", 150, "服务老人1万人次"],
    [None, "社会救助", "发放救助金。", 100, "应保尽保"],
    [None, "合计", None, 250, None],
    ["绩效指标", "一级指标", "二级指标", "三级指标", "实施周期指标值", "年度指标值"],
    [None, "产出指标", "数量指标", "服务人次", "≥1万人次", "≥1万人次"],
    [None, "效益指标", "社会效益指标", "群众获得感", "明显提升", "明显提升"],
]


def test_totals_under_the_tasks_and_in_each_overview_group_are_checked_not_counted(
    tmp_path: Path,
) -> None:
    report = validate_file(
        _workbook(tmp_path / "a.xlsx", {"表": SMALL}), None, Config(), load_spec()
    )
    overall = report.overall
    assert overall is not None and overall.total == Decimal("250.00")
    assert [(t.name, t.amount) for t in overall.tasks] == [
        ("养老服务", Decimal("150.00")), ("社会救助", Decimal("100.00"))]  # fmt: skip
    assert "合计" not in {b.label for b in overall.budget}  # the income 合计 is no source
    assert [i for i in report.issues if i.severity == "error"] == []
    # A 合计 that is not what its rows add up to is an error at its cell.
    wrong = [list(r) for r in SMALL]
    wrong[10][3] = 260
    report = validate_file(
        _workbook(tmp_path / "b.xlsx", {"表": wrong}), None, Config(), load_spec()
    )
    mismatch = next(i for i in report.issues if i.code == "declared-total-mismatch")
    assert mismatch.cell == "D11" and "260.00" in mismatch.message and "250.00" in mismatch.message


def test_a_workbook_with_both_forms_reads_one_and_names_the_sheets_it_did_not(
    tmp_path: Path,
) -> None:
    project = [
        ["项目支出绩效目标表"],
        ["部门名称：某区民政局", None, None, "单位：万元"],
        ["项目名称", "总计", "财政拨款", "绩效目标", "绩效指标"],
        [
            "养老服务",
            150,
            150,
            "建设养老服务站。",
            "1、1-产出指标；11-数量指标；服务人次；实施周期指标值:≥1万人次；年度指标值:≥1万人次。",
        ],
    ]
    path = _workbook(
        tmp_path / "both.xlsx", {"部门整体": SMALL, "项目": project, "另一单位": SMALL}
    )
    data = _imported(path, errors=True)
    assert data["kind"] == "department" and len(data["tasks"]) == 2  # type: ignore[arg-type]
    skipped = [i for i in data["issues"] if i["code"] == "sheets-not-read"]  # type: ignore[attr-defined]
    assert len(skipped) == 1 and skipped[0]["severity"] == "error"
    assert "另一单位" in skipped[0]["message"] and "项目" in skipped[0]["message"]


def test_a_note_that_mentions_the_department_wide_form_is_no_title(tmp_path: Path) -> None:
    text = "注：部门整体绩效目标另行公开。\n" + (
        FIXTURES / "guangzhou-minzheng-project-targets.txt"
    ).read_text("utf-8")
    path = tmp_path / "note.txt"
    path.write_text(text, "utf-8")
    data = _imported(path)
    assert data["kind"] == "published" and len(data["projects"]) == 38  # type: ignore[arg-type]


def test_a_garbled_level_is_kept_as_written_and_reported_at_its_row(tmp_path: Path) -> None:
    rows = [list(r) for r in SMALL]
    rows[12][1] = "产出捐标"  # a conversion's misreading
    report = validate_file(
        _workbook(tmp_path / "g.xlsx", {"表": rows}), None, Config(), load_spec()
    )
    assert report.overall is not None
    first = report.overall.indicators[0]
    assert (first.level1_label, first.level2, first.name, first.annual) == (
        "产出捐标",
        "11",
        "服务人次",
        "≥1万人次",
    )
    unknown = next(i for i in report.issues if i.code == "level1-unknown")
    assert unknown.row == 13 and "产出捐标" in unknown.message


def test_a_form_without_tasks_or_indicators_or_with_a_nameless_task_is_an_error(
    tmp_path: Path,
) -> None:
    rows = [r for r in SMALL[:8]]
    report = validate_file(
        _workbook(tmp_path / "t.xlsx", {"表": rows}), None, Config(), load_spec()
    )
    codes = {i.code for i in report.issues if i.severity == "error"}
    assert {"department-no-output", "department-no-effect", "tasks-total-mismatch"} <= codes
    rows = [list(r) for r in SMALL]
    rows[9][1] = None  # money, and no name
    rows[10][3] = None
    report = validate_file(
        _workbook(tmp_path / "n.xlsx", {"表": rows}), None, Config(), load_spec()
    )
    missing = [i for i in report.issues if i.code == "required-missing"]
    assert [(i.cell, i.column) for i in missing] == [("B10", "任务名称")]


def test_the_json_of_import_and_export_carry_the_department_wide_table(tmp_path: Path) -> None:
    printed = runner.invoke(app, ["import", str(SEED), "--json"])
    assert printed.exit_code == 0
    json_path = tmp_path / "dept.json"
    json_path.write_text(printed.output, "utf-8")
    again = _imported(json_path)
    assert _content(again) == _content(_imported(SEED))
    out = tmp_path / "dept.xlsx"
    result = runner.invoke(app, ["export", str(SEED), "-o", str(out)])
    assert result.exit_code == 0 and "重点任务6项" in "".join(result.output.split())
    assert _content(_imported(out)) == _content(_imported(SEED))
