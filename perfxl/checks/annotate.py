"""Annotated copies: the submitted workbook with every flagged cell highlighted (errors
red, warnings yellow) and a note, and a first sheet 校验结果 listing every issue with a link
to its cell. The original file is never touched: the copy is written elsewhere.

校验结果 prints on A4 landscape, fitted to the width of the page, its header row on every
page, its long texts wrapped in rows as tall as they need; the department's own sheets keep
their own page setup, except that they print no further than their last filled row (a
template's hundreds of blank rows made ten pages), and that a sheet set to print at its
full size (a department's own table) is fitted to the width of the page, landscape where
wide, rather than cut into columns across pages."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from perfxl.domain.model import Issue
from perfxl.errors import FileError

RESULT_SHEET = "校验结果"
ANNOTATABLE = (".xlsx", ".xlsm")
RED, YELLOW = "FFC7CE", "FFEB9C"
HEADERS = ("序号", "级别", "工作表", "单元格", "代码", "说明", "原值", "修改建议")
WIDTHS = (6, 6, 10, 9, 24, 50, 20, 40)  # the columns', in Excel's units (a digit's width)
LINE_HEIGHT = 15  # points, a line of wrapped text


def _lines(text: str, width: int) -> int:
    """The lines a text takes wrapped in a column `width` wide, a Chinese character (three
    bytes in UTF-8) counting two: rather one too many than one too few, since a line too
    few is cut off in print (no program works out a row's height on opening the file)."""
    room = max(width - 1, 1)
    return sum(
        max(1, -(-((len(line.encode()) + len(line)) // 2) // room)) for line in text.split("\n")
    )


def annotate(
    source: Path, issues: list[Issue], out_dir: Path, data_rows: dict[str, int] | None = None
) -> Path:
    """Write the annotated copy of `source` into `out_dir`, under the same name.
    `data_rows`: the last row of data on each sheet, where the sheets hold prepared rows
    beyond it that are not content (our template's numbered blank rows); a sheet not named
    there prints to its last row with a value."""
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink
    from openpyxl.worksheet.page import PageMargins

    if source.suffix.lower() not in ANNOTATABLE:
        raise FileError(source, "只有 .xlsx/.xlsm 工作簿可以生成标注副本")
    target = out_dir / source.name
    if target.resolve() == source.resolve():
        raise FileError(source, "标注副本不能覆盖原文件：请指定另一个目录")
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)  # work on the copy; the original is only read
    try:
        wb = load_workbook(target, keep_vba=source.suffix.lower() == ".xlsm", rich_text=True)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise FileError(source, f"无法生成标注副本（{type(exc).__name__}）") from exc
    fills = {
        "error": PatternFill("solid", fgColor=RED),
        "warning": PatternFill("solid", fgColor=YELLOW),
    }
    by_cell: dict[tuple[str, str], list[Issue]] = defaultdict(list)
    for issue in issues:
        if issue.sheet is not None and issue.sheet in wb.sheetnames and issue.cell:
            by_cell[(issue.sheet, issue.cell)].append(issue)
    for (sheet, ref), found in by_cell.items():
        cell = wb[sheet][ref]
        worst = "error" if any(i.severity == "error" for i in found) else "warning"
        cell.fill = fills[worst]
        text = "\n".join(
            f"【{'错误' if i.severity == 'error' else '提示'}】{i.message}"
            + (f"\n修改建议：{i.hint}" if i.hint else "")
            for i in found
        )
        comment = Comment(text, "perfxl")
        comment.width, comment.height = 320, min(60 + 40 * len(found), 400)
        cell.comment = comment
    for sheet in wb.worksheets:
        if sheet.sheet_state == "visible" and sheet.title != RESULT_SHEET:
            flagged = [_row_of(ref) for (name, ref) in by_cell if name == sheet.title]
            data = (data_rows or {}).get(sheet.title)
            _fit_to_print(sheet, max(flagged, default=0), data)
    if RESULT_SHEET in wb.sheetnames:  # an annotated copy annotated again
        del wb[RESULT_SHEET]
    ws = wb.create_sheet(RESULT_SHEET, 0)
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    if not issues:  # a clean file says so, rather than an empty list
        ws.append(["", "", "", "", "", "未发现问题：校验通过，可以提交。", "", ""])
    for n, issue in enumerate(issues, start=1):
        ws.append(
            [
                n,
                "错误" if issue.severity == "error" else "提示",
                issue.sheet or "",
                issue.cell or "",
                issue.code,
                issue.message,
                issue.value or "",
                issue.hint or "",
            ]
        )
        row = ws.max_row
        ws.cell(row, 2).fill = fills[issue.severity]
        for c in (6, 7, 8):
            ws.cell(row, c).data_type = "s"  # text, whatever it looks like
        if issue.sheet in wb.sheetnames and issue.cell:
            link = ws.cell(row, 4)
            # `location` is a link inside the workbook; a `#…` target would be external.
            link.hyperlink = Hyperlink(
                ref=link.coordinate, location=f"'{issue.sheet}'!{issue.cell}"
            )
            plain = link.font  # the workbook's font, blue and underlined
            link.font = Font(name=plain.name, size=plain.sz, color="0563C1", underline="single")
    for letter, width in zip("ABCDEFGH", WIDTHS, strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        lines = max(
            (
                _lines(str(cell.value), width)
                for cell, width in zip(row, WIDTHS, strict=True)
                if cell.value is not None
            ),
            default=1,
        )
        if lines > 1:
            ws.row_dimensions[row[0].row].height = LINE_HEIGHT * lines
    ws.freeze_panes = "A2"
    # Printed: A4 landscape, as wide as the page and as many pages down as it takes, the
    # header row on each, the grid lines, the sheet's name and the page number.
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.horizontalCentered = True
    ws.print_options.gridLines = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.75, bottom=0.75)
    ws.oddHeader.center.text = "&A"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet.title == RESULT_SHEET
    try:
        wb.save(target)
    except OSError as exc:
        raise FileError(target, f"无法写入标注副本：{exc.strerror or exc}") from exc
    return target


# The width of an A4 page in portrait, in Excel's column units, less the margins.
PORTRAIT_WIDTH = 90
DEFAULT_WIDTH = 9.14  # a column of no width of its own (8.43 characters and padding)


def _row_of(ref: str) -> int:
    from openpyxl.utils.cell import coordinate_from_string

    return int(coordinate_from_string(ref)[1])


def _fit_to_print(ws: Any, flagged: int, data: int | None) -> None:
    """A department's sheet printed no further than its last filled (or flagged) row, and,
    where it prints at its full size, fitted to the width of the page (landscape if wider
    than a portrait page)."""
    from openpyxl.utils import get_column_letter, range_boundaries
    from openpyxl.worksheet.properties import PageSetupProperties

    last = max(flagged, _last_filled_row(ws) if data is None else data)
    if last == 0:
        return
    if ws.print_area:  # each of its ranges, no further down than the last filled row
        ranges = []
        for part in str(ws.print_area).split(","):
            first_col, first_row, last_col, last_row = range_boundaries(
                part.split("!")[-1].replace("$", "")
            )
            if first_row > last:
                continue  # wholly below what was filled
            ranges.append(f"{get_column_letter(first_col)}{first_row}:"
                          f"{get_column_letter(last_col)}{min(last_row, last)}")  # fmt: skip
        if ranges:
            ws.print_area = ranges
    elif ws.max_row > last:
        ws.print_area = f"A1:{get_column_letter(ws.max_column)}{last}"
    setup = ws.sheet_properties.pageSetUpPr
    if setup is not None and setup.fitToPage:
        return  # the department chose how it fits
    widths = sum(
        (ws.column_dimensions[get_column_letter(c)].width or DEFAULT_WIDTH)
        for c in range(1, ws.max_column + 1)
        if not ws.column_dimensions[get_column_letter(c)].hidden
    )
    if widths > PORTRAIT_WIDTH:
        ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.page_setup.paperSize or ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    if setup is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    else:
        setup.fitToPage = True


def _last_filled_row(ws: Any) -> int:
    """The last row with a value (blank text is no value)."""
    last = 0
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            if value is not None and not (isinstance(value, str) and not value.strip()):
                last = cell.row
                break
    return last
