"""Annotated copies: the submitted workbook with every flagged cell highlighted (errors
red, warnings yellow) and a note, and a first sheet 校验结果 listing every issue with a link
to its cell. The original file is never touched: the copy is written elsewhere.

校验结果 prints on A4 landscape, fitted to the width of the page, its header row on every
page, its long texts wrapped in rows as tall as they need; the department's own sheets keep
their own page setup."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

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


def annotate(source: Path, issues: list[Issue], out_dir: Path) -> Path:
    """Write the annotated copy of `source` into `out_dir`, under the same name."""
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
