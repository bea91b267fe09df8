"""Printing: the ledger workbook and an annotated copy, printed to PDF by LibreOffice (as a
finance officer prints them from Excel or WPS), read back page by page: how many pages,
which way up, no table split across pages by its width, and the text all there.

LibreOffice prints every sheet of a workbook into one PDF; each page's first line is its
header, the sheet's name."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from pypdf import PdfReader
from typer.testing import CliRunner

from perfxl.cli import app
from tests.conftest import libreoffice_resave

ROOT = Path(__file__).resolve().parent.parent
INBOX, ROSTER = ROOT / "samples" / "inbox", ROOT / "samples" / "roster.csv"
FIRST_TRY = INBOX / "440100003-广州市老人院-第1次.xlsx"  # three errors
PUBLISHED = INBOX / "440100001-广州市民政局-项目支出绩效目标表.xlsx"  # 28 issues
A4 = (595, 842)  # points
TABLES = ("部门汇总", "项目明细", "指标明细", "部门整体", "重点任务明细", "预算构成明细")
TABLES += ("校验问题", "提交情况")
# The most pages each sheet of the samples' ledger may take: measured with LibreOffice 7.4,
# WenQuanYi Micro Hei and Carlito (.ci/run installs them) at 2, 1, 3, 4, 1, 1, 1, 2, 1 (16
# in all; 43 before the ledger had a page setup), with a page to spare where a sheet
# takes more than one.
MOST_PAGES = {"汇总": 2, "部门汇总": 1, "项目明细": 4, "指标明细": 5, "部门整体": 1}
MOST_PAGES |= {"重点任务明细": 1, "预算构成明细": 1, "校验问题": 3, "提交情况": 1}
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def to_pdf(files: list[Path], outdir: Path) -> list[Path]:
    """Print each workbook to PDF with LibreOffice, with a profile of its own. LibreOffice
    and a Chinese font are required: without the font every character prints as a box."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is required: apt-get install libreoffice-calc-nogui")
    fonts = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    if not fonts.stdout.strip():
        pytest.fail("a Chinese font is required to print: apt-get install fonts-wqy-microhei")
    return libreoffice_resave(files, outdir, "pdf")


class Page:
    """A printed page: its sheet (the header's text), size in points and text."""

    def __init__(self, page: object) -> None:
        box = page.mediabox  # type: ignore[attr-defined]
        self.width, self.height = round(float(box.width)), round(float(box.height))
        self.text: str = page.extract_text()  # type: ignore[attr-defined]
        self.sheet = self.text.splitlines()[0].strip() if self.text else ""
        self.flat = re.sub(r"\s+", "", self.text)  # wrapped lines joined again

    @property
    def landscape(self) -> bool:
        return (self.width, self.height) == A4[::-1]

    @property
    def portrait(self) -> bool:
        return (self.width, self.height) == A4


def pages(pdf: Path) -> list[Page]:
    return [Page(p) for p in PdfReader(pdf).pages]


def by_sheet(printed: list[Page]) -> dict[str, list[Page]]:
    sheets: dict[str, list[Page]] = defaultdict(list)
    for page in printed:
        sheets[page.sheet].append(page)
    return sheets


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples collected and the ledger workbook written, as the README has it."""
    work = tmp_path_factory.mktemp("print")
    inbox = work / "inbox"
    shutil.copytree(INBOX, inbox)
    for path in inbox.iterdir():  # one time for every file, so names give the order
        os.utime(path, (1_700_000_000, 1_700_000_000))
    store = work / "ledger.db"
    code, output = run(
        "collect", str(inbox), "--roster", str(ROSTER), "--ledger", str(store), "--year", "2026"
    )
    assert code == 1, output  # some files were rejected
    out = work / "ledger.xlsx"
    code, output = run("ledger", "--ledger", str(store), "--roster", str(ROSTER), "-o", str(out))
    assert code == 0, output
    return out


@pytest.fixture(scope="module")
def printed(ledger: Path) -> dict[str, list[Page]]:
    [pdf] = to_pdf([ledger], ledger.parent / "pdf")
    return by_sheet(pages(pdf))


def test_the_ledger_prints_on_a_few_pages_each_sheet(printed: dict[str, list[Page]]) -> None:
    counts = {sheet: len(p) for sheet, p in printed.items()}
    assert set(counts) == set(MOST_PAGES), counts  # every page has its sheet's name on top
    assert all(counts[s] <= n for s, n in MOST_PAGES.items()), counts
    assert sum(counts.values()) <= 18, counts


def test_the_tables_print_landscape_and_the_summary_portrait(
    printed: dict[str, list[Page]],
) -> None:
    assert all(p.portrait for p in printed["汇总"])
    for table in TABLES:
        assert all(p.landscape for p in printed[table]), table


def test_no_table_is_split_across_pages_by_its_width(
    ledger: Path, printed: dict[str, list[Page]]
) -> None:
    """Every page of a table carries its header row, every column of it: the columns fit
    the page's width, and the header is repeated on each page down."""
    wb = openpyxl.load_workbook(ledger, read_only=True)
    for table in TABLES:
        header = [str(c.value) for c in next(wb[table].iter_rows(max_row=1))]
        for n, page in enumerate(printed[table], start=1):
            missing = [title for title in header if title not in page.flat]
            assert not missing, f"{table}, page {n}: {missing}"
    assert len(printed["项目明细"]) > 1 and len(printed["指标明细"]) > 1  # checked on more


def test_the_printed_text_is_the_workbook_s_chinese_and_figures(
    ledger: Path, printed: dict[str, list[Page]]
) -> None:
    summary = printed["汇总"][0].text
    assert "资金来源" in summary and "总计 4,684.03" in summary  # the bureau's, #,##0.00
    assert "单位名称" in printed["部门汇总"][0].text
    assert "项目名称" in printed["项目明细"][0].text
    last = printed["项目明细"][-1].text
    assert "合计" in last and "4,684.03" in last
    assert "合计" in printed["部门汇总"][0].text and "4,684.03" in printed["部门汇总"][0].text
    # Long texts wrap, whole: each 绩效目标 and each issue's 说明 and 修改建议 prints entire.
    wb = openpyxl.load_workbook(ledger, read_only=True)
    for table, columns in (("项目明细", ["绩效目标"]), ("校验问题", ["说明", "修改建议"])):
        rows = list(wb[table].iter_rows(values_only=True))
        flat = "".join(p.flat for p in printed[table])
        for column in columns:
            c = list(rows[0]).index(column)
            texts = {re.sub(r"\s+", "", str(r[c])) for r in rows[1:] if r[c]}
            assert max(len(t) for t in texts) > 30  # more than a line's worth
            cut = [t for t in texts if t not in flat]
            assert not cut, f"{table} {column}: {cut}"


def short_rows(ws: object) -> list[tuple[int, float, int]]:
    """The rows of a sheet not tall enough for their wrapped text, as (row, height, lines
    needed): a line of 11-point text takes 14 points at least, and a column `w` wide holds
    `w` digits or `w / 2` Chinese characters a line (counted here apart from perfxl's own
    reckoning). LibreOffice and WPS keep a row's height as the file has it: a row too short
    prints its text over the next."""
    widths: dict[int, float] = {}
    for dim in ws.column_dimensions.values():  # type: ignore[attr-defined]
        for c in range(dim.min, dim.max + 1):
            widths[c] = dim.width
    short = []
    for row in ws.iter_rows(min_row=2):  # type: ignore[attr-defined]
        needed = 1
        for cell in row:
            if isinstance(cell.value, str) and cell.column in widths:
                wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in cell.value)
                needed = max(needed, -(-wide // int(widths[cell.column])))
        height = ws.row_dimensions[row[0].row].height or 15  # type: ignore[attr-defined]
        if needed > 1 and height < 14 * needed:
            short.append((row[0].row, height, needed))
    return short


def test_each_row_is_as_tall_as_its_wrapped_text(ledger: Path) -> None:
    wb = openpyxl.load_workbook(ledger, data_only=True)  # the totals' values, not formulas
    for table in TABLES:
        assert not short_rows(wb[table]), table
    tall = [r for r in range(2, 20) if (wb["项目明细"].row_dimensions[r].height or 0) >= 60]
    assert tall  # the long 绩效目标 take several lines


def test_the_summary_s_charts_are_never_cut_by_a_page(
    ledger: Path, printed: dict[str, list[Page]]
) -> None:
    first, *rest = printed["汇总"]
    assert "各单位项目资金" not in first.text and "指标按一级分布" not in first.text
    departments = ["广州市民政局", "广州市社会福利院", "广州市老人院", "广州市救助管理站"]
    bars = [p for p in rest if "各单位项目资金" in p.text]
    assert len(bars) == 1 and all(d in bars[0].text for d in departments)
    assert sum("指标按一级分布" in p.text for p in rest) == 1
    # In the file: no page break falls inside a chart's rows.
    with zipfile.ZipFile(ledger) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        drawing = z.read("xl/drawings/drawing1.xml").decode()
    breaks = [int(b) for b in re.findall(r'<brk id="(\d+)"', sheet)]
    anchors = re.findall(
        r"<xdr:from>.*?<xdr:row>(\d+)</xdr:row>.*?<xdr:to>.*?<xdr:row>(\d+)</xdr:row>", drawing
    )
    assert breaks and len(anchors) == 2
    for top, bottom in anchors:
        assert not [b for b in breaks if int(top) < b <= int(bottom)], (top, bottom, breaks)


def test_a_table_continued_on_more_sheets_prints_the_same_way(ledger: Path) -> None:
    """指标明细 (2) … (a table longer than a sheet) get the page setup of 指标明细."""
    store, split = ledger.parent / "ledger.db", ledger.parent / "split.xlsx"
    config = ledger.parent / "perfxl.toml"
    config.write_text("[limits]\nsheet_rows = 10\n", encoding="utf-8")
    code, output = run("ledger", "--ledger", str(store), "-o", str(split), "--config",
                       str(config))  # fmt: skip
    assert code == 0, output
    wb = openpyxl.load_workbook(split)
    continued = [ws for ws in wb if re.fullmatch(r"\S+ \(\d+\)", ws.title)]
    assert len(continued) > 10
    for ws in wb:
        setup = ws.page_setup
        # (fitToWidth is left out of the file where it is 1, the default.)
        assert (setup.paperSize, setup.fitToWidth or 1, setup.fitToHeight) == (9, 1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.orientation == ("portrait" if ws.title == "汇总" else "landscape")
        if ws.title != "汇总":  # the table, its header row on every page
            last = f"${get_column_letter(ws.max_column)}${ws.max_row}"
            assert ws.print_area == f"'{ws.title}'!$A$1:{last}", ws.title
            assert ws.print_title_rows == "$1:$1", ws.title


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Annotated copies of a template with three errors and of a published table with 28
    issues, each with its PDF."""
    work = tmp_path_factory.mktemp("annotated")
    copies = []
    for source in (FIRST_TRY, PUBLISHED):
        code, output = run("validate", str(source), "--annotate", str(work / "copies"))
        assert code == 1, output  # errors found
        copies.append(work / "copies" / source.name)
    pdfs = to_pdf(copies, work / "pdf")
    return {"first": copies[0], "first.pdf": pdfs[0], "published": copies[1],
            "published.pdf": pdfs[1]}  # fmt: skip


def issues(copy: Path) -> list[tuple[object, ...]]:
    wb = openpyxl.load_workbook(copy, read_only=True)
    return list(wb["校验结果"].iter_rows(min_row=2, values_only=True))


def test_the_annotated_copy_s_results_print_on_one_landscape_page(
    annotated: dict[str, Path],
) -> None:
    printed = by_sheet(pages(annotated["first.pdf"]))
    [page] = printed["校验结果"]  # was three or four portrait pages
    assert page.landscape
    header = ("序号", "级别", "工作表", "单元格", "代码", "说明", "原值", "修改建议")
    assert all(title in page.flat for title in header)
    found = issues(annotated["first"])
    assert len(found) == 3
    for row in found:  # every message and hint, whole
        for text in (row[4], row[5], row[7]):
            assert re.sub(r"\s+", "", str(text)) in page.flat, text
    assert "“财政专户拨款”为负数" in page.text
    assert not short_rows(openpyxl.load_workbook(annotated["first"])["校验结果"])


def test_a_longer_list_of_results_repeats_its_header_on_each_page(
    annotated: dict[str, Path],
) -> None:
    printed = by_sheet(pages(annotated["published.pdf"]))
    results = printed["校验结果"]
    assert 1 < len(results) <= 3
    assert all(p.landscape and "序号" in p.text and "修改建议" in p.flat for p in results)
    flat = "".join(p.flat for p in results)
    found = issues(annotated["published"])
    assert len(found) == 28
    for row in found:
        assert re.sub(r"\s+", "", str(row[5])) in flat, row[5]
    assert not short_rows(openpyxl.load_workbook(annotated["published"])["校验结果"])


def test_the_department_s_own_sheets_keep_their_page_setup(
    annotated: dict[str, Path],
) -> None:
    original = openpyxl.load_workbook(FIRST_TRY)
    copy = openpyxl.load_workbook(annotated["first"])
    assert copy.sheetnames == ["校验结果", *original.sheetnames]
    for ws in original:
        other = copy[ws.title]
        for part in ("orientation", "paperSize", "fitToWidth", "fitToHeight", "scale"):
            assert getattr(other.page_setup, part) == getattr(ws.page_setup, part), ws.title
        assert other.print_title_rows == ws.print_title_rows, ws.title


def test_a_templates_blank_rows_are_not_printed(annotated: dict[str, Path]) -> None:
    """The template prepares 400 numbered rows for indicators and 60 for projects; the
    copy prints the rows the department filled (15 pages before: ten of blank rows)."""
    printed = pages(annotated["first.pdf"])
    assert len(printed) <= 4, [p.text[:40] for p in printed]
    flat = "".join(p.flat for p in printed)
    wb = openpyxl.load_workbook(FIRST_TRY)
    for sheet in ("项目", "指标"):
        ws = wb[sheet]
        filled = [r for r in ws.iter_rows(min_row=4) if r[1].value not in (None, "")]
        assert filled, sheet
        last = str(filled[-1][3].value if sheet == "指标" else filled[-1][2].value)
        assert re.sub(r"\s+", "", last) in flat, (sheet, last)  # the last filled row, printed


def test_a_departments_own_table_is_fitted_to_the_page_width(annotated: dict[str, Path]) -> None:
    """The published table prints at its full size, portrait, its columns cut across pages
    (17 pages in all before); the copy fits it to the width of a landscape page."""
    printed = pages(annotated["published.pdf"])
    assert len(printed) <= 5, len(printed)
    own = [p for p in printed if "校验结果" not in p.text[:20]]
    assert own and all(p.landscape for p in own)
    first = own[0].flat
    assert all(title in first for title in ("项目名称", "总计", "财政拨款", "绩效目标", "绩效指标"))
