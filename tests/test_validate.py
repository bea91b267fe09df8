"""The validator on a corpus of filled templates with known mistakes at known cells, built
from the Guangzhou seed through the template; some saved by LibreOffice after editing."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from perfxl.checks import rules
from perfxl.checks.config import VAGUE_WORDS, Config, load_config
from perfxl.checks.rules import _FUND_ENDINGS, check_table, fund_core
from perfxl.checks.validate import validate_file
from perfxl.cli import app
from perfxl.domain.codesets import load_codeset
from perfxl.domain.model import Department, Project, TargetTable
from perfxl.errors import InputError
from perfxl.formats.published import read_published
from perfxl.formats.spec import load_spec
from perfxl.formats.template_frame import Expected
from perfxl.formats.template_writer import TemplateOptions, write_template
from tests.conftest import ENCRYPTED, SEED_TXT, libreoffice_resave

runner = CliRunner()
SPEC, CODESET = load_spec(), load_codeset()
Expect = list[tuple[str, str | None, str | None]]  # (code, sheet, cell)


def clean_table() -> TargetTable:
    """The seed's projects that pass every rule (18 of 38, 100 indicators), with codes."""
    seed = read_published(SEED_TXT).table
    keep = [
        p for p in seed.projects if not check_table(TargetTable(projects=[p]), CODESET, Config())
    ]
    for n, project in enumerate(keep, start=1):
        project.code = f"4401002026{n:04d}"
    return TargetTable(
        department=Department(code="440100001", name="广州市民政局"),
        fiscal_year=2026,
        projects=keep,
    )


CLEAN = clean_table()


def irow(project: int, nth: int = 1, level1: str | None = None) -> int:
    """The 指标 sheet row of a project's nth indicator (of a 一级, if given); 1-based."""
    row = 4
    for p, project_ in enumerate(CLEAN.projects, start=1):
        for indicator in project_.indicators:
            if p == project and (level1 is None or indicator.level1 == level1):
                nth -= 1
                if nth == 0:
                    return row
            row += 1
    raise LookupError((project, nth, level1))


def prow(project: int) -> int:
    return 3 + project


def find(level2: str | None = None, unit: str | None = None, nature: str = "定量") -> int:
    """The 指标 row of the first indicator with this 二级 code / unit, whose project keeps
    another indicator of the same 一级."""
    row = 4
    for project in CLEAN.projects:
        for indicator in project.indicators:
            same = sum(1 for i in project.indicators if i.level1 == indicator.level1)
            value = indicator.annual_value
            if (
                same > 1
                and (level2 is None or indicator.level2 == level2)
                and (unit is None or value.unit == unit)
                and (nature != "定量" or value.number is not None)
                and (nature != "定性" or value.kind == "定性")
                and indicator.annual == indicator.period
            ):
                return row
            row += 1
    raise LookupError((level2, unit, nature))


def edit_projects(wb: openpyxl.Workbook) -> Expect:
    ws = wb["项目"]
    ws[f"F{prow(2)}"] = "12,345.60"  # amount as text
    ws[f"G{prow(3)}"] = -5  # negative
    ws[f"F{prow(4)}"] = 1.234  # three places
    ws[f"B{prow(5)}"] = ws[f"B{prow(1)}"].value  # duplicate code
    ws[f"C{prow(6)}"] = ws[f"C{prow(1)}"].value  # duplicate name
    ws[f"I{prow(7)}"] = None  # goal missing
    ws[f"I{prow(8)}"] = "做好工作"  # goal too short
    ws[f"B{prow(9)}"] = 440100123  # code as a number
    return [
        ("amount-as-text", "项目", f"F{prow(2)}"),
        ("amount-negative", "项目", f"G{prow(3)}"),
        ("amount-places", "项目", f"F{prow(4)}"),
        ("project-code-duplicate", "项目", f"B{prow(5)}"),
        ("project-name-duplicate", "项目", f"C{prow(6)}"),
        ("required-missing", "项目", f"I{prow(7)}"),
        ("goal-too-short", "项目", f"I{prow(8)}"),
        ("code-as-number", "项目", f"B{prow(9)}"),
    ]


def edit_indicators(wb: openpyxl.Workbook) -> Expect:
    ws = wb["指标"]
    percent = irow(10, 3)  # 100%
    rows = {
        "blank": irow(1, 1),
        "placeholder": irow(2, 1),
        "mismatch": irow(4, 2, "1"),
        "unknown": irow(6, 1, "1"),
        "number": find(unit="个"),
        "unit": find(unit="人"),
        "vague": find(nature="定性"),
        "repeat": irow(10, 1),
        "orphan": irow(13, 2, "1"),
    }
    assert len(set(rows.values()) | {percent}) == 10, "ten different rows"
    ws[f"H{rows['blank']}"] = None
    ws[f"H{rows['placeholder']}"] = "*"
    ws[f"C{rows['mismatch']}"] = "21-经济效益"
    ws[f"B{rows['unknown']}"] = "9-其他指标"
    ws[f"H{rows['number']}"] = "九十"
    ws[f"I{rows['unit']}"] = None
    ws[f"H{percent}"] = "120"
    ws[f"H{rows['vague']}"] = "进一步提高服务水平"
    ws[f"D{rows['repeat']}"] = CLEAN.projects[9].name
    ws[f"A{rows['orphan']}"] = "99、不存在的项目"
    return [
        ("annual-blank", "指标", f"H{rows['blank']}"),
        ("value-placeholder", "指标", f"H{rows['placeholder']}"),
        ("level2-mismatch", "指标", f"C{rows['mismatch']}"),
        ("level1-unknown", "指标", f"B{rows['unknown']}"),
        ("quantitative-not-number", "指标", f"H{rows['number']}"),
        ("quantitative-no-unit", "指标", f"I{rows['unit']}"),
        ("percent-out-of-range", "指标", f"H{percent}"),
        ("value-vague", "指标", f"H{rows['vague']}"),
        ("indicator-repeats-project", "指标", f"D{rows['repeat']}"),
        ("indicator-project-unknown", "指标", f"A{rows['orphan']}"),
    ]


def edit_no_effect(wb: openpyxl.Workbook) -> Expect:
    ws = wb["指标"]
    row = 4
    for p, project in enumerate(CLEAN.projects, start=1):
        for indicator in project.indicators:
            if p == 3 and indicator.level1 == "2":
                for col in "ABCDEFGHI":
                    ws[f"{col}{row}"] = None
            row += 1
    return [("project-no-effect", "项目", f"C{prow(3)}")]


def edit_header(wb: openpyxl.Workbook) -> Expect:
    wb["项目"]["D3"] = "使用单位"
    return [("header-changed", "项目", "D3"), ("column-missing", "项目", None)]


def edit_insert_row(wb: openpyxl.Workbook) -> Expect:
    ws = wb["指标"]
    ws.protection.sheet = False
    values = [ws.cell(5, c).value for c in range(1, 10)]
    ws.insert_rows(10)
    for c, value in enumerate(values, start=1):
        ws.cell(10, c).value = value
    return [("protection-removed", "指标", None), ("rows-inserted", "指标", "J10")]


def edit_delete_row(wb: openpyxl.Workbook) -> Expect:
    ws = wb["项目"]
    ws.protection.sheet = False
    ws.delete_rows(60)
    return [("protection-removed", "项目", None), ("rows-deleted", "项目", None)]


def edit_meta(wb: openpyxl.Workbook) -> Expect:
    ws = wb["_meta"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "fiscal_year":
            row[1].value = "2025"
    return [("template-mismatch", "_meta", None)]


def edit_rename(wb: openpyxl.Workbook) -> Expect:
    wb["指标"].title = "指标（改）"
    return [("sheet-missing", "指标", None)]


CASES: dict[str, tuple[Callable[[openpyxl.Workbook], Expect] | None, bool]] = {
    # name: (edits, saved by LibreOffice after editing)
    "clean": (None, False),
    "clean-libreoffice": (None, True),
    "projects": (edit_projects, False),
    "indicators-libreoffice": (edit_indicators, True),
    "no-effect": (edit_no_effect, False),
    "header": (edit_header, False),
    "insert-row": (edit_insert_row, False),
    "delete-row": (edit_delete_row, False),
    "meta": (edit_meta, False),
    "rename-libreoffice": (edit_rename, True),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Expect]]:
    base = tmp_path_factory.mktemp("corpus")
    clean = write_template(
        base / "base.xlsx",
        SPEC,
        CODESET,
        CLEAN.department,
        TemplateOptions(year=2026, password="pw"),
        CLEAN,
    )
    edited: dict[str, tuple[Path, Expect]] = {}
    to_resave: list[Path] = []
    for name, (edit, resave) in CASES.items():
        path = base / ("edited" if resave else "final") / f"{name}.xlsx"
        path.parent.mkdir(exist_ok=True)
        expect: Expect = []
        if edit is None:
            shutil.copyfile(clean, path)
        else:
            wb = openpyxl.load_workbook(clean)
            expect = edit(wb)
            wb.save(path)
        edited[name] = (path, expect)
        if resave:
            to_resave.append(path)
    saved = libreoffice_resave(to_resave, base / "final")
    for path in saved:
        edited[path.stem] = (path, edited[path.stem][1])
    return edited


def found(path: Path, expected: Expected | None = None) -> Expect:
    report = validate_file(path, CODESET, Config(), SPEC, expected)
    return sorted((i.code, i.sheet, i.cell) for i in report.issues)


@pytest.mark.parametrize("case", list(CASES))
def test_each_file_yields_exactly_its_mistakes(corpus, case: str) -> None:  # type: ignore[no-untyped-def]
    path, expect = corpus[case]
    assert found(path) == sorted(expect)


def test_the_clean_base_is_real_data() -> None:
    assert len(CLEAN.projects) == 18 and CLEAN.indicator_count == 100


def test_another_departments_or_years_template(corpus) -> None:  # type: ignore[no-untyped-def]
    path, _ = corpus["clean"]
    expected = Expected(department_code="440100002", department_name="广州市社会福利院", year=2027)
    assert found(path, expected) == [
        ("wrong-department", "_meta", None),
        ("wrong-year", "_meta", None),
    ]
    assert found(path, Expected(department_code="440100001", year=2026)) == []


def test_text_amounts_are_read_and_recorded(corpus) -> None:  # type: ignore[no-untyped-def]
    path, _ = corpus["projects"]
    report = validate_file(path, CODESET, Config(), SPEC)
    assert report.table is not None
    project = report.table.projects[1]
    assert str(project.fiscal) == "12345.60" and str(project.total) == "12345.60"
    [issue] = [i for i in report.issues if i.code == "amount-as-text"]
    assert issue.value == "12,345.60" and "12,345.60" in issue.message


def test_a_published_table_and_a_plain_sheet_are_read_and_named(tmp_path: Path) -> None:
    published = validate_file(SEED_TXT, CODESET, Config(), SPEC)
    assert published.kind == "published"
    assert published.issues[0].code == "not-a-template"
    plain = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "项目表"
    ws.append([c.header for c in SPEC.projects.columns])
    ws.append([1, "P1", "某项目", None, None, 10, None, None, "完成某某工作，达到某某效果。"])
    ws2 = wb.create_sheet("指标表")
    ws2.append([c.header for c in SPEC.indicators.columns])
    for row in (
        ["1、某项目", "1-产出指标", "11-数量指标", "场次", "定量", "≥", "2", "2", "场"],
        ["1、某项目", "2-效益指标", "22-社会效益", "覆盖率", "定量", "≥", "90", "90", "%"],
        ["1、某项目", "3-满意度指标", "31-服务对象满意度", "满意度", "定量", "≥", "90", "90", "%"],
    ):
        ws2.append(row)
    wb.save(plain)
    report = validate_file(plain, CODESET, Config(), SPEC)
    assert report.kind == "plain"
    assert [(i.code, i.severity) for i in report.issues] == [("not-a-template", "warning")]
    assert report.table is not None and report.table.indicator_count == 3
    assert str(report.table.projects[0].total) == "10.00"


@pytest.mark.parametrize(
    ("name", "content", "code", "fragment"),
    [
        ("corrupt.xlsx", b"PK\x03\x04 broken", "file-unreadable", "不是有效的 Excel 工作簿"),
        ("encrypted.xlsx", ENCRYPTED, "file-encrypted", "加密"),
        ("empty.xlsx", b"", "file-unreadable", "空"),
        ("notes.docx", b"PK", "file-unreadable", "不支持的文件类型"),
    ],
)
def test_an_unreadable_file_is_one_clear_issue(
    tmp_path: Path, name: str, content: bytes, code: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    report = validate_file(path, CODESET, Config(), SPEC)
    assert not report.readable
    [issue] = report.issues
    assert (issue.code, issue.severity) == (code, "error") and fragment in issue.message


def test_cli_exit_codes_and_formats(corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clean, _ = corpus["clean"]
    faulty, expect = corpus["projects"]
    assert runner.invoke(app, ["validate", str(clean)]).exit_code == 0
    result = runner.invoke(app, ["validate", str(clean), str(faulty), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    # amount-negative, amount-places, project-code-duplicate, required-missing
    assert [f["errors"] for f in data["files"]] == [0, 4]
    first = data["issues"][0]
    assert list(first) == [
        "file",
        "sheet",
        "cell",
        "row",
        "column",
        "code",
        "severity",
        "message",
        "value",
        "hint",
    ]
    assert sorted((i["code"], i["sheet"], i["cell"]) for i in data["issues"]) == sorted(expect)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    result = runner.invoke(app, ["validate", str(broken), str(faulty), "--format", "csv"])
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    # A byte order mark first, so that Excel opening the saved CSV reads the Chinese right.
    assert lines[0] == "\ufefffile,sheet,cell,row,column,code,severity,message,value,hint"
    assert len(lines) == 1 + 1 + len(expect)
    assert "file-unreadable" in lines[1]


def test_csv_never_carries_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "项目名称,总计,财政拨款,财政专户拨款,其他资金,绩效目标,绩效指标\n"
        '合计,1,1,,,,\n=HYPERLINK("x"),1,1,,,-,\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["validate", str(path), "--format", "csv"])
    for line in result.stdout.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "-", "@")), line


def test_configuration_switches_rules_off_and_changes_severity(corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = corpus["projects"]
    config = tmp_path / "perfxl.toml"
    config.write_text(
        '[rules]\nproject-name-duplicate = "off"\ngoal-too-short = "error"\n'
        "[checks]\ngoal_min_length = 3\n",
        encoding="utf-8",
    )
    report = validate_file(path, CODESET, load_config(config), SPEC)
    codes = {i.code: i.severity for i in report.issues}
    assert "project-name-duplicate" not in codes and "goal-too-short" not in codes
    config.write_text('[rules]\ngoal-too-short = "error"\n', encoding="utf-8")
    report = validate_file(path, CODESET, load_config(config), SPEC)
    assert {i.code: i.severity for i in report.issues}["goal-too-short"] == "error"
    config.write_text('[rules]\nno-such-rule = "off"\n', encoding="utf-8")
    with pytest.raises(InputError, match="no-such-rule"):
        load_config(config)


def test_annotated_copy(corpus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, expect = corpus["indicators-libreoffice"]
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = tmp_path / "annotated"
    result = runner.invoke(app, ["validate", str(path), "--annotate", str(out)])
    assert result.exit_code == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "original untouched"
    annotated = out / path.name
    wb = openpyxl.load_workbook(annotated)
    assert wb.sheetnames[0] == "校验结果"
    ws = wb["校验结果"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(expect)
    assert sorted((r[4], r[2], r[3]) for r in rows) == sorted(expect)
    for r in range(2, ws.max_row + 1):
        sheet, cell = ws.cell(r, 3).value, ws.cell(r, 4).value
        assert ws.cell(r, 4).hyperlink.location == f"'{sheet}'!{cell}"
        target = wb[sheet][cell]
        assert target.comment is not None and "perfxl" in target.comment.author
        colour = "FFC7CE" if ws.cell(r, 2).value == "错误" else "FFEB9C"
        assert target.fill.fgColor.rgb.endswith(colour)
    # Still our template: validations and hidden sheets kept, and it reads the same.
    assert wb["_meta"].sheet_state == "hidden"
    assert wb["指标"].data_validations.dataValidation
    assert sorted((c, s, x) for c, s, x in found(annotated)) == sorted(expect)
    # LibreOffice opens it without error.
    [pdf_source] = libreoffice_resave([annotated], tmp_path / "lo")
    assert openpyxl.load_workbook(pdf_source).sheetnames[0] == "校验结果"


def test_the_original_can_never_be_overwritten(corpus) -> None:  # type: ignore[no-untyped-def]
    path, _ = corpus["projects"]
    result = runner.invoke(app, ["validate", str(path), "--annotate", str(path.parent)])
    assert "不能覆盖原文件" in result.output


def test_rules_find_vague_and_repeated_names_in_published_data() -> None:
    table = TargetTable(
        projects=[Project(name="城市基层党建相关工作经费", goal="开展党建工作，提升基层组织力。")]
    )
    seed = read_published(SEED_TXT).table
    issues = check_table(seed, CODESET, Config())
    assert {i.code for i in issues} == {
        "project-no-satisfaction",
        "quantitative-no-unit",
        "value-vague",
        "project-no-output",
    }
    assert ("quantitative-no-unit", "G11") in {(i.code, i.cell) for i in issues}
    assert table.projects[0].name


PIECES = ["专项", "工作", "经费", "资金", "项目", "补助", "补贴", "党建", "a"]


@given(st.lists(st.sampled_from(PIECES), max_size=6).map("".join))
@example("城市基层党建专项工作经费")
@example("工作专项经费")
@example("经费经费")
def test_fund_suffix_as_the_pattern_defines_it(text: str) -> None:
    pattern = re.compile(r"(专项)?(工作)?(经费|资金|项目|补助|补贴)$")
    assert fund_core(text) == pattern.sub("", text)
    assert all(len(ending) == 2 for ending in _FUND_ENDINGS)  # fund_core counts on it
    assert text.endswith(("经费", "资金", "项目", "补助", "补贴")) == bool(pattern.search(text))


def test_what_values_hold_is_remembered_per_setting_and_within_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Findings are kept across files, apart for each setting, and never beyond a bound."""
    seed = read_published(SEED_TXT).table
    vague = {i.value for i in check_table(seed, CODESET, Config()) if i.code == "value-vague"}
    assert vague
    # A setting without those words finds none of them, though they were seen just before.
    quiet = Config(checks={"vague_words": ("并无此词",)})  # type: ignore[arg-type]
    assert not [i for i in check_table(seed, CODESET, quiet) if i.code == "value-vague"]
    assert {i.value for i in check_table(seed, CODESET, Config()) if i.code == "value-vague"} == (
        vague
    )
    # Bounded: with room for 5 values, no more than 5 are ever remembered, and the
    # findings do not change.
    monkeypatch.setattr(rules, "_FINDINGS_KEPT", 5)
    more = Config(checks={"vague_words": (*VAGUE_WORDS, "并无此词")})  # type: ignore[arg-type]
    issues = check_table(seed, CODESET, more)
    assert {i.value for i in issues if i.code == "value-vague"} == vague
    kept = rules._findings_seen(more.checks.placeholders, more.checks.vague_words)
    assert 0 < len(kept) <= 5
