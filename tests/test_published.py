"""Importing published tables and exporting the official layout."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from perfxl.formats.detect import read_any
from perfxl.formats.published import read_published
from perfxl.formats.published_writer import write_published
from perfxl.formats.structured import write_structured
from tests.conftest import IND, SEED_GBK_CSV, SEED_TXT, SEED_XLSX


def codes_at(result) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    return [(i.code, i.severity, i.cell) for i in result.issues]


@pytest.mark.parametrize(
    "path", [SEED_TXT, SEED_XLSX, SEED_GBK_CSV], ids=["txt", "xlsx", "gbk-csv"]
)
def test_the_guangzhou_seed(path: Path) -> None:
    result = read_published(path)
    table = result.table
    assert table.department.name == "广州市民政局"
    assert len(table.projects) == 38
    indicators = [i for p in table.projects for i in p.indicators]
    assert len(indicators) == 187
    by_level2 = Counter(i.level2 for i in indicators)
    assert by_level2["11"] == 56 and by_level2["22"] == 69
    # Counted independently with grep over the seed text (`、1-产出指标` …).
    assert Counter(i.level1 for i in indicators) == {"1": 81, "2": 76, "3": 27, "4": 3}
    # The 合计 rounding difference, for 总计 and 财政拨款, and nothing else.
    assert codes_at(result) == [
        ("declared-total-rounding", "warning", "B10"),
        ("declared-total-rounding", "warning", "C10"),
    ]
    assert "7,895.82" in result.issues[0].message and "7,895.80" in result.issues[0].message
    assert sum((p.total for p in table.projects), Decimal(0)) == Decimal("7895.80")
    first = table.projects[0]
    assert (first.name, first.total, first.fiscal, first.special, first.other) == (
        "机构综合业务运行经费",
        Decimal("247.57"),
        Decimal("247.57"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert first.cell == "A11" and first.row == 11
    assert [p.name for p in table.projects][-1] == "广州市民政局2025年升级改造项目"


def test_the_three_formats_give_the_same_content() -> None:
    contents = [
        [p.content() for p in read_published(path).table.projects]
        for path in (SEED_TXT, SEED_XLSX, SEED_GBK_CSV)
    ]
    assert contents[0] == contents[1] == contents[2]


def test_tags_and_line_breaks_are_gone_from_goals() -> None:
    projects = read_published(SEED_TXT).table.projects
    assert all("<p>" not in p.goal and "\n" not in p.goal for p in projects)
    assert projects[17].name == "农村颐康服务站赠阅民政报刊项目"
    assert projects[17].goal.startswith("通过为我市1144个农村颐康服务站")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_gives_the_same_projects(tmp_path: Path, suffix: str) -> None:
    source = SEED_TXT if suffix == ".xlsx" else SEED_GBK_CSV
    first = read_published(source)
    out = write_published(first.table, tmp_path / "published.xlsx")
    again = read_published(out)
    assert again.table.department == first.table.department
    assert [p.content() for p in again.table.projects] == [
        p.content() for p in first.table.projects
    ]
    # The exported 合计 is the source's (7,895.82 where the projects add up to 7,895.80):
    # read again, the same difference is said again, and nothing else.
    said = [(i.code, i.column, i.message) for i in first.issues]
    assert [(i.code, i.column, i.message) for i in again.issues] == said
    assert {i.code for i in again.issues} == {"declared-total-rounding"}


def test_export_from_the_structured_workbook_and_json(tmp_path: Path) -> None:
    first = read_published(SEED_TXT)
    structured = write_structured(first, tmp_path / "s.xlsx")
    back = read_any(structured)
    assert back.kind == "structured"
    assert [p.content() for p in back.table.projects] == [p.content() for p in first.table.projects]
    assert [i.code for i in back.issues] == [i.code for i in first.issues]
    published = write_published(back.table, tmp_path / "p.xlsx")
    assert [p.content() for p in read_published(published).table.projects] == [
        p.content() for p in first.table.projects
    ]


def test_header_found_under_any_title_lines_and_department_label(table_file) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "10.00", "10.00", "", "", "", ""],
            ["甲项目", "10.00", "10.00", "", "", "目标", IND],
        ],
        department=None,
        title="2026年 项目支出绩效目标表",
    )
    result = read_published(path)
    assert result.table.fiscal_year == 2026
    assert [i.code for i in result.issues] == ["department-not-found"]
    assert len(result.table.projects) == 1 and len(result.table.projects[0].indicators) == 2


def test_department_label_in_its_own_cell(tmp_path: Path) -> None:
    from tests.conftest import HEADER, write_table

    rows = [["部门名称", "", "某某局"], HEADER, ["合计", 1, 1], ["甲", 1, 1, None, None, "g", IND]]
    result = read_published(write_table(tmp_path / "t.xlsx", rows))
    assert result.table.department.name == "某某局" and result.issues == []


def test_amounts_as_numbers_or_text(table_file) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", 45979.29, "45,979.29", "", "", "", ""],
            ["甲", "44, 770. 21", "44770.21", "", "", "目标", IND],
            ["乙", 1209.08, "1,209.08", "", "", "目标", IND],
        ],
        suffix=".xlsx",
    )
    result = read_published(path)
    assert [p.total for p in result.table.projects] == [Decimal("44770.21"), Decimal("1209.08")]
    assert result.issues == []


def test_a_real_total_error_and_a_source_sum_error(table_file) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "100.00", "100.00", "", "", "", ""],
            ["甲", "50.00", "40.00", "5.00", "", "目标", IND],
            ["乙", "40.00", "40.00", "", "", "目标", IND],
        ]
    )
    result = read_published(path)
    assert codes_at(result) == [
        ("total-sources-mismatch", "error", "B7"),
        ("declared-total-mismatch", "error", "B6"),
        ("declared-total-mismatch", "error", "C6"),
        ("declared-total-mismatch", "error", "D6"),
    ]


def test_an_unreadable_amount_and_indicator_are_kept_and_reported(table_file) -> None:  # type: ignore[no-untyped-def]
    bad_item = "1、1-产出指标；11-数量指标；人数5人。"
    path = table_file(
        [
            ["合计", "20.00", "20.00", "", "", "", ""],
            [
                "甲",
                "十万",
                "10.00",
                "",
                "",
                "目标",
                bad_item + IND.replace("1、", "2、", 1).replace("2、2-", "3、2-"),
            ],
            ["乙", "10.00", "10.00", "", "", "目标", IND],
        ]
    )
    result = read_published(path)
    assert codes_at(result)[:2] == [
        ("amount-invalid", "error", "B7"),
        ("indicator-unparsed", "error", "G7"),
    ]
    first = result.table.projects[0]
    assert first.total is None and result.issues[0].value == "十万"
    assert first.indicators[0].raw == "1-产出指标；11-数量指标；人数5人"
    assert len(first.indicators) == 3


def test_unit_subtotal_rows_group_the_projects_below(table_file) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "30.00", "30.00", "", "", "", ""],
            ["市救助站", "20.00", "20.00", "", "", "", ""],
            ["甲", "12.00", "12.00", "", "", "目标", IND],
            ["乙", "8.00", "8.00", "", "", "目标", IND],
            ["市福利院", "9.00", "9.00", "", "", "", ""],
            ["丙", "10.00", "10.00", "", "", "目标", IND],
        ]
    )
    result = read_published(path)
    assert [(p.name, p.unit) for p in result.table.projects] == [
        ("甲", "市救助站"),
        ("乙", "市救助站"),
        ("丙", "市福利院"),
    ]
    assert codes_at(result) == [
        ("subtotal-mismatch", "error", "B10"),
        ("subtotal-mismatch", "error", "C10"),
    ]


def test_subtotals_round_trip_through_export(table_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "30.00", "30.00", "", "", "", ""],
            ["市救助站", "20.00", "20.00", "", "", "", ""],
            ["甲", "12.00", "12.00", "", "", "目标", IND],
            ["乙", "8.00", "8.00", "", "", "目标", IND],
            ["市福利院", "10.00", "10.00", "", "", "", ""],
            ["丙", "10.00", "10.00", "", "", "目标", IND],
        ]
    )
    first = read_published(path)
    assert first.issues == []
    again = read_published(write_published(first.table, tmp_path / "out.xlsx"))
    assert [p.content() for p in again.table.projects] == [
        p.content() for p in first.table.projects
    ]
    assert again.issues == []


def test_a_continuation_row_joins_the_project_above(table_file) -> None:  # type: ignore[no-untyped-def]
    half = IND.index("覆盖率")  # in the middle of the second item
    path = table_file(
        [
            ["合计", "10.00", "10.00", "", "", "", ""],
            ["甲", "10.00", "10.00", "", "", "目标前半", IND[:half]],
            ["", "", "", "", "", "后半", IND[half:]],
        ]
    )
    result = read_published(path)
    [project] = result.table.projects
    assert project.goal == "目标前半后半" and len(project.indicators) == 2
    assert result.issues == []


def test_a_note_row_is_listed_not_dropped(table_file) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "10.00", "10.00", "", "", "", ""],
            ["甲", "10.00", "10.00", "", "", "目标", IND],
            [],
            ["", "", "", "", "", "", "", "注：本表金额单位为万元"],
        ]
    )
    result = read_published(path)
    assert codes_at(result) == [("row-not-recognised", "warning", None)]
    assert result.issues[0].row == 9 and "注：本表" in (result.issues[0].value or "")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_text_encodings(table_file, encoding: str) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "10.00", "10.00", "", "", "", ""],
            ["甲项目≥", "10.00", "10.00", "", "", "目标", IND],
        ],
        suffix=".csv",
        encoding=encoding,
    )
    result = read_published(path)
    assert result.table.department.name == "测试局"
    assert result.table.projects[0].name == "甲项目≥" and result.issues == []


def test_no_header_is_one_clear_issue(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = read_published(path)
    assert [i.code for i in result.issues] == ["header-not-found"] and result.table.projects == []


def test_a_missing_column_is_reported(table_file) -> None:  # type: ignore[no-untyped-def]
    header = ["项目名称", "总计", "财政拨款", "财政专户拨款", "其他资金", "绩效指标"]
    path = table_file(
        [["合计", "10.00", "10.00", "", "", ""], ["甲", "10.00", "10.00", "", "", IND]],
        header=header,
    )
    result = read_published(path)
    assert [(i.code, i.message) for i in result.issues] == [
        ("column-missing", "表头缺少“绩效目标”列")
    ]
    assert len(result.table.projects[0].indicators) == 2


def test_label_only_levels_get_their_codes_from_the_code_set(table_file) -> None:  # type: ignore[no-untyped-def]
    cell = "1、产出指标；数量指标；人数；实施周期指标值:5人；年度指标值:5人。"
    path = table_file(
        [["合计", "1.00", "1.00", "", "", "", ""], ["甲", "1.00", "1.00", "", "", "目标", cell]]
    )
    [ind] = read_published(path).table.projects[0].indicators
    assert (ind.level1, ind.level1_label, ind.level2, ind.level2_label) == (
        "1",
        "产出指标",
        "11",
        "数量指标",
    )


def test_a_formula_like_name_stays_text(table_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = table_file(
        [
            ["合计", "1.00", "1.00", "", "", "", ""],
            ['=HYPERLINK("x")', "1.00", "1.00", "", "", "=1+1", IND],
        ]
    )
    first = read_published(path)
    out = write_published(first.table, tmp_path / "o.xlsx")
    again = read_published(out)
    assert again.table.projects[0].name == '=HYPERLINK("x")'
    assert again.table.projects[0].goal == "=1+1"
