"""Tables as the country lays them out (layouts.md): the packed published table, the grid,
the per-project form, and a layout a user describes, in every file type perfxl reads, read
into the same model exactly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from perfxl.checks.config import Config
from perfxl.checks.validate import validate_file
from perfxl.cli import app
from perfxl.domain.codesets import load_codeset
from perfxl.domain.model import ReadResult
from perfxl.formats.detect import read_any
from perfxl.formats.mapping import load_layout
from perfxl.formats.spec import load_spec
from tests.conftest import SEED_TXT, libreoffice_resave
from tests.layout_variants import V as VARIANTS
from tests.layout_variants import compare, write
from tests.layout_variants_more import V as MORE
from tests.layouts import GRID, LAYOUTS, Layout

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Layout, Path]]:
    """Each layout as .xlsx (openpyxl, merged cells), .xls and .ods (saved by LibreOffice),
    and the one-sheet ones as CSV in GBK (as Excel on Chinese Windows exports it) and as
    tab-separated UTF-16 text."""
    folder = tmp_path_factory.mktemp("layouts")
    xlsx = [layout.xlsx(folder) for layout in LAYOUTS]
    files = list(zip(LAYOUTS, xlsx, strict=True))
    for target in ("xls:MS Excel 97", "ods"):
        out = libreoffice_resave(xlsx, folder / target.split(":")[0], target)
        files += list(zip(LAYOUTS, out, strict=True))
    for layout in LAYOUTS:
        if layout.one_sheet:
            files.append((layout, layout.text(folder, "gbk")))
            files.append((layout, layout.text(folder, "utf-16", ".txt")))
    return files


def _indicators(result: ReadResult) -> dict[str, tuple[Decimal | None, list[tuple[object, ...]]]]:
    out = {}
    for p in result.table.projects:
        indicators = [
            (
                i.level1,
                i.level2,
                i.name,
                i.annual_value.operator,
                None if i.annual_value.number is None else str(i.annual_value.number),
                i.annual_value.unit,
            )
            for i in p.indicators
        ]
        out[p.code or p.name] = (p.total, indicators)
    return out


def test_every_layout_in_every_file_type_is_read_exactly(
    built: list[tuple[Layout, Path]],
) -> None:
    seen = set()
    for layout, path in built:
        result = read_any(path)
        where = f"{layout.name} {path.suffix}"
        assert result.kind == layout.kind, where
        assert [i.code for i in result.issues if i.severity == "error"] == [], (
            where,
            result.issues,
        )
        assert result.table.department.name == layout.department, where
        assert result.table.codeset == layout.codeset, where
        assert _indicators(result) == layout.projects, where
        seen.add(path.suffix)
    assert seen == {".xlsx", ".xls", ".ods", ".csv", ".txt"}


def test_the_grid_keeps_codes_weights_directions_and_subtotals(tmp_path: Path) -> None:
    result = read_any(GRID.xlsx(tmp_path))
    first, second = result.table.projects
    assert (first.code, first.name, first.unit) == (
        "51000021R000000019951",
        "工资性支出",
        "某某镇人民政府",
    )
    assert result.table.department.code == "820001"
    assert [(i.weight, i.direction) for i in first.indicators] == [
        (Decimal("20.00"), "正向"), (Decimal("30.00"), "正向"),
        (Decimal("20.00"), "正向"), (Decimal("20.00"), "正向"),
    ]  # fmt: skip
    assert second.indicators[0].direction == "反向"
    # The 820 subtotal (4,309,840.00 元) adds up: no issue; a wrong one is found.
    assert not [i for i in result.issues if i.code.startswith("subtotal")]
    wrong = [
        *GRID.sheets["Sheet1"][:3],
        ["820-某某镇部门", "", 4309841.0],
        *GRID.sheets["Sheet1"][4:],
    ]
    broken = Layout("broken", "grid", {"Sheet1": wrong}, one_sheet=True)
    issues = read_any(broken.text(tmp_path, "utf-8")).issues
    # 1 元 off in a table in 元 is no rounding of 万元: an error.
    assert [(i.code, i.cell) for i in issues] == [("subtotal-mismatch", "C4")]


def test_a_published_table_with_unit_subtotals_and_legacy_codes(
    built: list[tuple[Layout, Path]],
) -> None:
    layout, path = built[0]
    assert layout.name == "district-packed"
    result = read_any(path)
    projects = result.table.projects
    assert [p.unit for p in projects] == ["某区救助管理站", "某区福利中心"]
    # 不适用 (`*`, `——`) is no amount, not zero and not an error.
    assert (projects[1].special, projects[1].other) == (None, None)
    report = validate_file(path, None, Config(), load_spec())
    codes = {i.code for i in report.issues}
    assert not codes & {"level2-unknown", "level2-mismatch", "amount-invalid", "amount-places"}


def test_prose_values_are_warnings_where_the_nature_is_a_guess(tmp_path: Path) -> None:
    """The seed, a real published table the national system accepted, has values such as
    `50` (no unit): warnings there; in our template, where 定量 was chosen, an error."""
    report = validate_file(SEED_TXT, None, Config(), load_spec())
    severities = {(i.code, i.severity) for i in report.issues}
    assert ("quantitative-no-unit", "warning") in severities
    assert not [
        i for i in report.issues if i.code.startswith("quantitative") and i.severity == "error"
    ]
    template = tmp_path / "t.xlsx"
    code, output = _run(
        "template", "--department-code", "D1", "--department-name", "单位", "-o", str(template)
    )
    assert code == 0, output
    wb = openpyxl.load_workbook(template)
    wb["项目"]["B4"], wb["项目"]["C4"], wb["项目"]["F4"] = "P1", "项目甲", 1
    wb["项目"]["I4"] = "为辖区群众提供服务，全年不少于一万人次。"
    rows = [
        ("1、项目甲", "1-产出指标", "11-数量指标", "服务人次", "定量", "≥", "", "一万人次左右", ""),
        ("1、项目甲", "2-效益指标", "22-社会效益", "群众获得感", "定性", "定性", "", "增强", ""),
        ("1、项目甲", "3-满意度指标", "31-服务对象满意度", "满意度", "定量", "≥", "", "90", "%"),
    ]
    for r, row in enumerate(rows, start=4):
        for c, value in enumerate(row, start=1):
            wb["指标"].cell(r, c, value)
    wb.save(template)
    report = validate_file(template, None, Config(), load_spec())
    assert ("quantitative-not-number", "error", "H4") in {
        (i.code, i.severity, i.cell) for i in report.issues
    }


def test_ocr_misreadings_are_named(built: list[tuple[Layout, Path]]) -> None:
    path = next(p for layout, p in built if layout.name == "forms-down-a-sheet")
    report = validate_file(path, None, Config(), load_spec())
    found = [(i.code, i.value) for i in report.issues if i.code == "value-ocr-suspect"]
    assert ("value-ocr-suspect", "≥1000学") in found
    assert all(i.severity == "warning" for i in report.issues if i.code == "value-ocr-suspect")
    seed = read_any(SEED_TXT).table
    seed.projects[0].indicators[0].annual = "292%"
    seed.projects[0].indicators[0].period = "≥92%"
    from perfxl.checks.rules import check_table

    issues = check_table(seed, load_codeset(), Config())
    [ocr] = [i for i in issues if i.code == "value-ocr-suspect"]
    assert "≥92%" in ocr.message


MAPPING = """
name = "某市考核表"
kind = "grid"
unit = "元"
header_row = 3

[columns]
"工程名称" = "project.name"
"投资额" = "project.total"
"考核项" = "indicator.name"
"类别" = "indicator.level1"
"子类" = "indicator.level2"
"目标" = "indicator.annual"
"""


def test_a_layout_a_user_describes(tmp_path: Path) -> None:
    rows = [
        ["某市重点工程绩效考核表"],
        ["填报单位：某市住建局"],
        ["序", "工程名称", "投资额", "类别", "子类", "考核项", "目标"],
        [1, "道路改造", 25000000, "产出", "数量", "改造里程", "≥12公里"],
        ["", "", "", "效益", "社会效益", "通行效率", "明显提升"],
        ["", "", "", "满意度", "服务对象满意度", "市民满意度", "≥85%"],
    ]
    table = Layout("made-up", "grid", {"Sheet1": rows})
    path = table.xlsx(tmp_path)
    assert [i.code for i in read_any(path).issues] == ["layout-unknown"]
    mapping = tmp_path / "layout.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    result = read_any(path, layout=load_layout(mapping))
    [project] = result.table.projects
    assert (project.name, project.total, result.table.department.name) == (
        "道路改造",
        Decimal("2500"),
        "某市住建局",
    )
    assert [(i.level1, i.level2, i.name, i.annual) for i in project.indicators] == [
        ("1", "11", "改造里程", "≥12公里"),
        ("2", "22", "通行效率", "明显提升"),
        ("3", "31", "市民满意度", "≥85%"),
    ]
    assert project.extra == {"序": "1"}
    code, output = _run("import", str(path), "--layout", str(mapping), "--json")
    assert code == 0 and json.loads(output)["projects"][0]["total"] == "2500.00"
    bad = tmp_path / "bad.toml"
    bad.write_text(MAPPING.replace("indicator.annual", "indicator.target"), encoding="utf-8")
    code, output = _run("import", str(path), "--layout", str(bad))
    assert code == 2 and "indicator.target" in output and "Traceback" not in output


def test_import_of_a_folder_says_each_file_layout(built: list[tuple[Layout, Path]]) -> None:
    folder = built[0][1].parent
    code, output = _run("import", str(folder), "--json")
    assert code == 0, output
    files = {Path(f["file"]).name: f for f in json.loads(output)["files"]}
    for layout in LAYOUTS:
        row = files[f"{layout.name}.xlsx"]
        total = sum((t for t, _ in layout.projects.values() if t is not None), Decimal(0))
        assert (row["kind"], row["projects"], Decimal(row["total"])) == (
            layout.kind,
            len(layout.projects),
            total,
        )
        assert row["indicators"] == sum(len(i) for _, i in layout.projects.values())
    code, output = _run("import", str(folder))
    flat = "".join(output.split())
    assert "指标明细表" in flat and "项目申报表" in flat and "公开表" in flat


def test_a_file_that_fits_no_layout_says_what_was_looked_for(tmp_path: Path) -> None:
    path = Layout("other", "published", {"Sheet1": [["姓名", "年龄"], ["张三", 30]]}).xlsx(tmp_path)
    code, output = _run("import", str(path), "--json")
    [issue] = json.loads(output)["issues"]
    assert code == 1 and issue["code"] == "layout-unknown"
    assert "指标明细表" in issue["message"] and "公开表" in issue["message"]


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_collect_and_prefill_take_every_layout(tmp_path: Path) -> None:
    """A grid whose unit is `820001-某某镇人民政府` belongs to roster department 820: it is
    collected as that department's, and prefills that department's template."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    grid = GRID.xlsx(inbox)
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name\n820,某某镇\n830,另一个镇\n", encoding="utf-8")
    ledger = tmp_path / "ledger.db"
    code, output = _run("collect", str(inbox), "--roster", str(roster), "--ledger", str(ledger))
    from perfxl.ledger.store import Store

    with Store(ledger) as store:
        [submission] = store.submissions()
        assert (submission.department_code, submission.kind) == ("820", "grid")
        assert sum((p.total or 0 for p in store.projects(submission.id)), Decimal(0)) == Decimal(
            "430.984"
        )
    out = tmp_path / "templates"
    code, output = _run("template", "--roster", str(roster), "--prefill", str(grid), "-o", str(out))
    assert code == 0 and "820已用上年数据预填" in "".join(output.split()), output
    prefilled = read_any(out / "820.xlsx")
    assert [p.name for p in prefilled.table.projects] == ["工资性支出", "办公经费"]
    assert prefilled.table.indicator_count == 6


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["name"] for v in VARIANTS])
def test_more_tables_as_they_come(variant: dict[str, object], tmp_path: Path) -> None:
    """34 more tables as offices make them (tests/layout_variants.py): each read as a
    careful person reads it, with no error that is not in the table."""
    path = write(variant, tmp_path)
    assert compare(variant, read_any(path).to_dict()) == []


@pytest.fixture(scope="module")
def resaved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The .xls and .ods tables of the second round, saved by LibreOffice from .xlsx."""
    folder = tmp_path_factory.mktemp("resaved")
    out: dict[str, Path] = {}
    for fmt, target in (("xls", "xls:MS Excel 97"), ("ods", "ods")):
        chosen = [v for v in MORE if v["fmt"] == fmt]
        sources = [write({**v, "fmt": "xlsx"}, folder) for v in chosen]
        saved = libreoffice_resave(sources, folder / fmt, target)
        out.update({v["name"]: path for v, path in zip(chosen, saved, strict=True)})
    return out


@pytest.mark.parametrize("variant", MORE, ids=[v["name"] for v in MORE])
def test_a_second_round_of_tables(
    variant: dict[str, Any], resaved: dict[str, Path], tmp_path: Path
) -> None:
    """40 more (tests/layout_variants_more.py): national exports, sorted grids, value
    groups, units in 元/千元 and ￥, ordinals before levels, forms per sheet in .xls and .ods,
    PDF text centred on its name's line; each read exactly, amounts nobody can be sure of
    reported at their cells, and 总计 against its sources."""
    path = resaved.get(variant["name"]) or write(variant, tmp_path)
    assert compare(variant, read_any(path).to_dict()) == []
