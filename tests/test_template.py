"""The locked department template, checked by reading the files: as perfxl wrote them and
after LibreOffice opened and saved them."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.domain.codesets import load_codeset
from perfxl.domain.model import Indicator
from perfxl.formats.detect import read_any
from perfxl.formats.published import read_published
from perfxl.formats.spec import load_spec
from perfxl.formats.template_cells import compose_cell, split_indicator
from tests.conftest import SEED_TXT, libreoffice_resave

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "samples" / "roster.csv"
runner = CliRunner()
PASSWORD = "s3cret-pw"
SPEC = load_spec()
# Layout of the bundled spec: header on row 3, input from row 4; 60 project rows and 400
# indicator rows (the seed's 38 projects and 187 indicators fit within them).
P_ROWS, I_ROWS = 60, 400


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    out = tmp_path_factory.mktemp("templates")
    result = runner.invoke(
        app,
        [
            "template",
            "--roster",
            str(ROSTER),
            "--year",
            "2026",
            "-o",
            str(out),
            "--prefill",
            str(SEED_TXT),
            "--password",
            PASSWORD,
            "--deadline",
            "2025年12月20日",
            "--contact",
            "计划财务处 王敏",
        ],
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    files = sorted(out.glob("*.xlsx"))
    saved = libreoffice_resave(files, out / "libreoffice")
    return {"raw": {f.stem: f for f in files}, "libreoffice": {f.stem: f for f in saved}}


def test_one_template_per_roster_department_named_by_code(made) -> None:  # type: ignore[no-untyped-def]
    assert sorted(made["raw"]) == ["440100001", "440100002", "440100003", "440100004", "440100005"]


KINDS = ["raw", "libreoffice"]


def open_wb(made, kind: str, code: str = "440100002", **kw: bool) -> openpyxl.Workbook:  # type: ignore[no-untyped-def]
    return openpyxl.load_workbook(made[kind][code], **kw)


@pytest.mark.parametrize("kind", KINDS)
def test_sheets_and_hidden_sheets(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    wb = open_wb(made, kind)
    assert [(ws.title, ws.sheet_state) for ws in wb.worksheets] == [
        ("填报说明", "visible"),
        ("项目", "visible"),
        ("指标", "visible"),
        ("_lists", "hidden"),
        ("_meta", "hidden"),
    ]


def _range_values(wb: openpyxl.Workbook, name: str) -> list[str]:
    [(sheet, ref)] = list(wb.defined_names[name].destinations)
    return [row[0].value for row in wb[sheet][ref.replace("$", "")]]


@pytest.mark.parametrize("kind", KINDS)
def test_defined_names_feed_every_list(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    wb = open_wb(made, kind)
    assert {
        "LST_L1",
        "L2_1",
        "L2_2",
        "L2_3",
        "L2_4",
        "LST_OPS",
        "LST_NATURE",
        "LST_PROJECTS",
    } <= set(wb.defined_names)
    assert _range_values(wb, "LST_L1") == ["1-产出指标", "2-效益指标", "3-满意度指标", "4-成本指标"]
    assert _range_values(wb, "L2_1") == ["11-数量指标", "12-质量指标", "13-时效指标"]
    assert _range_values(wb, "L2_2") == [
        "21-经济效益",
        "22-社会效益",
        "23-生态效益",
        "24-可持续影响",
    ]
    assert _range_values(wb, "L2_3") == ["31-服务对象满意度"]
    assert _range_values(wb, "L2_4") == [
        "41-经济成本指标",
        "42-社会成本指标",
        "43-生态环境成本指标",
    ]
    assert _range_values(wb, "LST_OPS") == ["≥", "＞", "＝", "＜", "≤", "定性"]
    assert _range_values(wb, "LST_NATURE") == ["定量", "定性"]
    [(sheet, ref)] = list(wb.defined_names["LST_PROJECTS"].destinations)
    assert (sheet, ref) == ("_lists", f"$H$2:$H${P_ROWS + 1}")


def _validations(ws) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


@pytest.mark.parametrize("kind", KINDS)
def test_indicator_drop_downs_and_the_cascade(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    dvs = _validations(open_wb(made, kind)["指标"])
    last = 3 + I_ROWS
    expect = {
        f"A4:A{last}": ("list", "LST_PROJECTS"),
        f"B4:B{last}": ("list", "LST_L1"),
        f"C4:C{last}": ("list", 'INDIRECT("L2_"&LEFT($B4,1))'),
        f"E4:E{last}": ("list", "LST_NATURE"),
        f"F4:F{last}": ("list", "LST_OPS"),
        f"D4:D{last}": ("textLength", "200"),
        f"I4:I{last}": ("textLength", "20"),
    }
    for sqref, (kind_, formula) in expect.items():
        dv = dvs[sqref]
        assert (dv.type, dv.formula1) == (kind_, formula), sqref  # type: ignore[attr-defined]
        assert dv.showErrorMessage and dv.errorStyle in (None, "stop")  # type: ignore[attr-defined]
        assert dv.error and dv.prompt and dv.promptTitle  # type: ignore[attr-defined]
    assert dvs[f"C4:C{last}"].error.endswith("请先选择一级指标。")  # type: ignore[attr-defined]
    # Every column says in Chinese what goes in it.
    headers = [c.header for c in SPEC.indicators.columns]
    assert sorted(dv.promptTitle for dv in dvs.values()) == sorted(headers)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_amounts_must_be_numbers_with_two_places(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    dvs = _validations(open_wb(made, kind)["项目"])
    last = 3 + P_ROWS
    for col in "FGH":
        dv = dvs[f"{col}4:{col}{last}"]
        assert dv.type == "custom"  # type: ignore[attr-defined]
        assert dv.formula1 == f"AND(ISNUMBER({col}4),{col}4>=0,ROUND({col}4,2)={col}4)"  # type: ignore[attr-defined]
        assert "最多两位小数" in dv.error  # type: ignore[attr-defined]
    assert dvs[f"C4:C{last}"].type == "textLength"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_protection_and_the_unlocked_input_range(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    wb = open_wb(made, kind)
    for name in ("填报说明", "项目", "指标", "_lists", "_meta"):
        assert wb[name].protection.sheet, name
    for name in ("项目", "指标"):
        protection = wb[name].protection
        assert protection.password or protection.hashValue, "protected with the password"
        # In the file format these attributes name what is *forbidden*; unset means forbidden.
        assert protection.insertRows in (True, None) and protection.deleteRows in (True, None)
        assert protection.insertColumns in (True, None)
        assert protection.deleteColumns in (True, None)
    projects, indicators = wb["项目"], wb["指标"]
    last_p, last_i = 3 + P_ROWS, 3 + I_ROWS
    locked = {
        "项目!B3": True,
        "项目!A1": True,
        "项目!A4": True,
        "项目!E4": True,
        "项目!J4": True,
        f"项目!B{last_p + 1}": True,
        "项目!B4": False,
        "项目!C4": False,
        "项目!F4": False,
        "项目!I4": False,
        f"项目!H{last_p}": False,
        "指标!A3": True,
        "指标!A4": False,
        "指标!I4": False,
        f"指标!H{last_i}": False,
        f"指标!A{last_i + 1}": True,
        "指标!J4": True,
    }
    for ref, expected in locked.items():
        sheet, cell = ref.split("!")
        ws = projects if sheet == "项目" else indicators
        assert ws[cell].protection.locked is expected, ref


@pytest.mark.parametrize("kind", KINDS)
def test_identity_metadata_in_meta_sheet_and_properties(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    wb = open_wb(made, kind)
    meta = {row[0].value: row[1].value for row in wb["_meta"].iter_rows(min_row=2)}
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    expected = {
        "template_id": "perfxl-department-targets",
        "spec_version": "1",
        "codeset": "2021",
        "department_code": "440100002",
        "department_name": "广州市社会福利院",
        "fiscal_year": "2026",
        "structure_hash": SPEC.structure_hash(P_ROWS, I_ROWS),
    }
    for key, value in expected.items():
        assert meta[key] == value, key
        assert props[f"perfxl_{key}"] == value, key


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_locked_row_ids(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    wb = open_wb(made, kind)
    for name, prefix, rows in (("项目", "P", P_ROWS), ("指标", "I", I_ROWS)):
        ws = wb[name]
        assert ws["J3"].value == "行标识"
        assert [ws.cell(row=r, column=10).value for r in (4, 5, 3 + rows)] == [
            f"{prefix}00001",
            f"{prefix}00002",
            f"{prefix}{rows:05d}",
        ]
        hidden = [
            d
            for d in ws.column_dimensions.values()
            if d.hidden and (d.min or 0) <= 10 <= (d.max or 0)
        ]
        assert hidden, f"row-id column hidden in {name}"


def test_department_and_year_filled_in_and_locked(made) -> None:  # type: ignore[no-untyped-def]
    ws = open_wb(made, "raw")["项目"]
    assert ws["A2"].value.startswith("填报单位：广州市社会福利院（440100002）")
    assert "2026" in ws["A2"].value and ws["A2"].protection.locked
    assert ws["A1"].value == "2026年项目支出绩效目标"


def test_frozen_header_and_print_setup(made) -> None:  # type: ignore[no-untyped-def]
    wb = open_wb(made, "raw")
    for name in ("项目", "指标"):
        ws = wb[name]
        assert ws.freeze_panes == "A4"
        assert (ws.page_setup.orientation, ws.page_setup.paperSize) == ("landscape", 9)
        assert ws.print_title_rows == "$1:$3"


@pytest.mark.parametrize("kind", KINDS)
def test_total_is_a_formula_with_its_correct_cached_value(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    formulas = open_wb(made, kind, "440100001")["项目"]
    values = open_wb(made, kind, "440100001", data_only=True)["项目"]
    assert str(formulas["E4"].value).replace(" ", "").startswith("=IF(COUNT(F4,G4,H4)=0")
    assert values["E4"].value == pytest.approx(247.57)
    assert values["E11"].value == pytest.approx(1100.00)  # project 8, 社会组织公益创投项目
    lists = open_wb(made, kind, "440100001", data_only=True)["_lists"]
    assert lists["H2"].value == "1、机构综合业务运行经费"
    assert lists["H40"].value in (None, "")


@pytest.mark.parametrize("kind", KINDS)
def test_prefilled_template_reads_back_unchanged(made, kind: str) -> None:  # type: ignore[no-untyped-def]
    seed = read_published(SEED_TXT)
    back = read_any(made[kind]["440100001"], load_codeset())
    assert back.kind == "template" and back.issues == []
    assert len(back.table.projects) == 38 and back.table.indicator_count == 187
    assert [p.content() for p in back.table.projects] == [p.content() for p in seed.table.projects]
    assert back.table.department.code == "440100001" and back.table.fiscal_year == 2026


def test_templates_not_prefilled_are_empty(made) -> None:  # type: ignore[no-untyped-def]
    back = read_any(made["raw"]["440100003"])
    assert back.table.projects == [] and back.issues == []


@pytest.mark.parametrize(
    ("period", "annual", "row"),
    [
        ("≥90%", "≥90%", ("定量", "≥", "90", "90", "%")),
        ("25篇", "25篇", ("定量", "", "25", "25", "篇")),
        ("", "100%", ("定量", "", "", "100", "%")),
        ("95%以上", "95%以上", ("定量", "", "95%以上", "95%以上", "")),
        ("无", "80家", ("定量", "", "无", "80家", "")),
        ("稳步提高", "稳步提高", ("定性", "定性", "稳步提高", "稳步提高", "")),
        ("≥ 80%", "≥ 80%", ("定量", "", "≥ 80%", "≥ 80%", "")),
    ],
)
def test_split_values_only_where_lossless(period: str, annual: str, row: tuple[str, ...]) -> None:
    ind = Indicator(level1="1", level2="11", name="x", period=period, annual=annual)
    split = split_indicator(ind)
    assert (split.nature, split.operator, split.period, split.annual, split.unit) == row
    assert compose_cell(split.operator, split.period, split.unit) == period
    assert compose_cell(split.operator, split.annual, split.unit) == annual


def test_a_single_template_without_roster(tmp_path: Path) -> None:
    out = tmp_path / "one.xlsx"
    result = runner.invoke(
        app,
        [
            "template",
            "-o",
            str(out),
            "--year",
            "2027",
            "--department-code",
            "D01",
            "--department-name",
            "某某局",
        ],
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    meta = {row[0].value: row[1].value for row in wb["_meta"].iter_rows(min_row=2)}
    assert (meta["department_code"], meta["department_name"], meta["fiscal_year"]) == (
        "D01",
        "某某局",
        "2027",
    )


def test_roster_with_chinese_headers_in_gbk(tmp_path: Path) -> None:
    roster = tmp_path / "名单.csv"
    roster.write_bytes(
        "单位编码,单位名称,主管部门,联系人\nA1,甲单位,某局,张三\nA2,乙单位,某局,李四\n".encode(
            "gbk"
        )
    )
    result = runner.invoke(app, ["template", "--roster", str(roster), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["A1.xlsx", "A2.xlsx"]


def test_a_bad_roster_names_its_rows(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("code,name\nA1,甲\nA1,乙\n,丙\nA/3,丁\n", encoding="utf-8")
    result = runner.invoke(app, ["template", "--roster", str(roster), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    for fragment in ("第3行", "重复", "第4行缺少单位编码", "第5行"):
        assert fragment in result.output


def test_prefill_that_matches_no_department_is_reported(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("code,name\nA1,甲单位\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "template",
            "--roster",
            str(roster),
            "-o",
            str(tmp_path / "o"),
            "--prefill",
            str(SEED_TXT),
        ],
    )
    assert result.exit_code == 0 and "广州市民政局" in result.output and "对不上" in result.output


def test_an_edited_spec_adds_a_column_changes_code_set_and_rows(tmp_path: Path) -> None:
    text = (ROOT / "templates" / "department.toml").read_text(encoding="utf-8")
    text = text.replace('codeset = "2021"', 'codeset = "legacy"')
    text = text.replace("rows = 60", "rows = 10")
    text = text.replace(
        "[indicators]",
        '[[projects.columns]]\nkey = "note"\nheader = "备注"\n'
        'type = "text"\nhelp = "其他需要说明的情况。"\n\n[indicators]',
    )
    spec = tmp_path / "my.toml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "t.xlsx"
    result = runner.invoke(
        app,
        [
            "template",
            "--spec",
            str(spec),
            "-o",
            str(out),
            "--department-code",
            "X1",
            "--department-name",
            "某单位",
        ],
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    ws = wb["项目"]
    assert [c.value for c in ws[3]][:11] == [
        "序号",
        "项目编码",
        "项目名称",
        "资金使用单位",
        "总计",
        "财政拨款",
        "财政专户拨款",
        "其他资金",
        "绩效目标",
        "备注",
        "行标识",
    ]
    assert ws["K13"].value == "P00010" and ws["K14"].value is None
    assert _range_values(wb, "L2_1") == ["11-数量指标", "12-质量指标", "13-时效指标", "14-成本指标"]
    assert "L2_4" not in wb.defined_names
    # A department fills in the added column; the reader carries it along.
    ws.protection.sheet = False
    ws["C4"], ws["F4"], ws["I4"], ws["J4"] = "新项目", 12.5, "目标", "需追加预算"
    wb.save(out)
    back = read_any(out, spec=load_spec(str(spec)))
    [project] = back.table.projects
    assert (project.name, str(project.total), project.extra) == (
        "新项目",
        "12.50",
        {"note": "需追加预算"},
    )


def test_a_bad_spec_is_a_clear_error(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    shutil.copy(ROOT / "templates" / "department.toml", spec)
    spec.write_text(
        spec.read_text(encoding="utf-8").replace('type = "total"', 'type = "sum"'), encoding="utf-8"
    )
    result = runner.invoke(app, ["template", "--spec", str(spec), "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "模板定义文件" in result.output and "type" in result.output
