"""Any tabular file as sheets of rows of cell values, positioned from A1.

Workbooks (.xlsx, .xlsm, .xls, .ods) are read with python-calamine, which is an order of
magnitude faster than openpyxl for values. Text tables (.csv, .tsv, .txt) are read in UTF-8,
UTF-8 with BOM, or GBK/GB18030, which Chinese Excel and WPS write.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from python_calamine import CalamineWorkbook

from perfxl.errors import FileError
from perfxl.formats.flagged import Flagged
from perfxl.formats.inspect import (
    DEFAULT_LIMITS,
    FileRefused,
    Inspection,
    Limits,
    inspect_workbook,
    read_limited,
    sniff,
)

# What a cell can hold; calamine gives dates and times for date-formatted cells.
Cell = str | float | int | bool | datetime | date | time | timedelta | None
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
ENCODINGS = ("utf-8-sig", "gb18030")


class Sheet:
    """A sheet's rows from A1. A workbook's sheets load when first used, so that reading a
    template never parses the sheets nobody looks at (填报说明, _lists)."""

    def __init__(
        self,
        name: str,
        rows: list[list[Cell]] | None = None,
        loader: Callable[[], list[list[Cell]]] | None = None,
        data: bytes | None = None,
        inspection: Inspection | None = None,
    ) -> None:
        self.name = name
        self._inspection = inspection
        self._rows = rows
        self._loader = loader
        self.data = data  # the bytes of the workbook the sheet was read from, if any
        self._number_formats: dict[tuple[int, int], str] | None = None

    @property
    def flagged(self) -> Flagged | None:
        """The cells whose values cannot be trusted (an error value, a formula saved
        without its result, a link to another workbook); xlsx only."""
        return self._inspection.flagged(self.name) if self._inspection else None

    @property
    def controls(self) -> bool:
        """May a text of this sheet hold a control character? (Always, unless the workbook's
        parts were looked through and hold none.)"""
        return self._inspection.controls if self._inspection else True

    @property
    def part(self) -> bytes | None:
        """The sheet's XML as inflated when the workbook was checked (xlsx only)."""
        return self._inspection.parts.get(self.name) if self._inspection else None

    @property
    def rows(self) -> list[list[Cell]]:
        if self._rows is None:
            self._rows = self._loader() if self._loader is not None else []
        return self._rows

    def cell(self, row: int, col: int) -> Cell:
        """The value at 0-based (row, col), None beyond the data."""
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def shown(self, row: int, col: int) -> str:
        """A cell as the spreadsheet shows it: a number formatted as a percentage (`0%`) as
        one (`95%`), which its value alone (0.95) does not say; other cells as text_of."""
        value = self.cell(row, col)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not self.data:
            return text_of(value)
        if "%" in self._formats().get((row, col), ""):
            number = Decimal(format(value, ".15g")).scaleb(2).normalize()
            return f"{number:f}%"
        return text_of(value)

    def _formats(self) -> dict[tuple[int, int], str]:
        """The number formats of this sheet's number cells (xlsx only), read once when a
        number is asked for where a value is expected (rare: most values are text)."""
        if self._number_formats is None:
            self._number_formats = {}
            try:
                from openpyxl import load_workbook

                book = load_workbook(io.BytesIO(self.data or b""), read_only=True)
                sheet = book[self.name]
                for cells in sheet.iter_rows():
                    for cell in cells:
                        if isinstance(getattr(cell, "value", None), (int, float)):
                            where = (cell.row - 1, cell.column - 1)
                            self._number_formats[where] = cell.number_format or ""
                book.close()
            except Exception:  # not an xlsx openpyxl reads: values stand as they are
                pass
        return self._number_formats


def column_letter(col: int) -> str:
    """0-based column index to letters: 0 → A, 26 → AA."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """0-based (row, col) to A1 notation."""
    return f"{column_letter(col)}{row + 1}"


def read_sheets(
    path: Path, data: bytes | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[Sheet]:
    """Every sheet of a workbook, or the one table of a text file, by what the bytes are
    (a workbook renamed .csv, or a CSV renamed .xlsx, is read as what it is). `data`, when
    given, is the file's content, already read; a workbook beyond `limits` is refused."""
    if data is None and not path.exists():
        raise FileError(path, "文件不存在")
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES | WORKBOOK_SUFFIXES:
        raise FileError(path, f"不支持的文件类型“{path.suffix}”：请使用 .xlsx、.xls、.csv 或 .txt")
    data = data if data is not None else read_limited(path, limits)
    if not data:
        raise FileError(path, "文件是空的")
    if sniff(data) == "text":
        if len(data) > limits.file_mb << 20:
            raise FileRefused(path, f"文件超过 {limits.file_mb} MiB 的上限")
        if suffix in WORKBOOK_SUFFIXES:
            _text_as_workbook(path, data)
        # At most one cell for each separator and line break (a byte count, the same in
        # UTF-8, UTF-16 and GBK): a table beyond the limit is refused before it is parsed.
        lines = max(data.count(b"\n"), data.count(b"\r"))  # \r\n, \n, or \r alone
        cells = data.count(b",") + data.count(b"\t") + lines
        if cells > limits.cells:
            raise FileRefused(
                path, f"文本表格约有 {cells:,} 个单元格，超过 {limits.cells:,} 个的上限"
            )
        return [Sheet(path.stem, read_text_table(path, data))]
    return _read_workbook(path, data, limits)


def read_bytes(path: Path) -> bytes:
    return read_limited(path)


def _text_as_workbook(path: Path, data: bytes) -> None:
    """A workbook's name on a text file: a table exported as CSV under an .xls name is read
    as the table it is; a web page or a line of text is no workbook."""
    head = data[:4096].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<table", b"<?xml")) or b"<table" in head:
        raise FileError(
            path, "文件是网页（HTML/XML）格式，不是 Excel 工作簿：请在 Excel 中另存为 .xlsx"
        )
    if not any(mark in data[:65536] for mark in (b"\n", b",", b"\t")):
        raise FileError(path, "文件不是有效的 Excel 工作簿（内容只是文本，可能只是改了扩展名）")


def _read_workbook(path: Path, data: bytes, limits: Limits) -> list[Sheet]:
    inspection = inspect_workbook(path, data, limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
    except Exception as exc:  # calamine raises its own error types for every bad file
        raise FileError(path, f"工作簿无法读取（{type(exc).__name__}: {exc}）") from exc
    if not names:
        raise FileError(path, "工作簿中没有任何工作表（文件已损坏）")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:  # which one a reader sees is a guess
        raise FileError(path, f"工作簿已损坏：有两张同名的工作表“{twice[0]}”")
    return [
        Sheet(name, loader=_loader(path, workbook, name), data=data, inspection=inspection)
        for name in names
    ]  # fmt: skip


def _loader(path: Path, workbook: Any, name: str) -> Callable[[], list[list[Cell]]]:
    def load() -> list[list[Cell]]:
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine's own error types, for a damaged sheet
            raise FileError(path, f"工作表“{name}”无法读取（{type(exc).__name__}: {exc}）") from exc
        return cast(list[list[Cell]], rows)

    return load


def decode(data: bytes, path: Path) -> str:
    """A text table's text: UTF-16 by its byte-order mark (or, without one, by its zero
    bytes, as some tools write it), else UTF-8 (with or without a mark), else GBK."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    elif len(data) >= 4 and data[1::2].count(0) > len(data) // 4:
        encodings = ("utf-16-le",)
    elif len(data) >= 4 and data[0::2].count(0) > len(data) // 4:
        encodings = ("utf-16-be",)
    else:
        encodings = ENCODINGS
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileError(path, "文本编码无法识别：请另存为 UTF-8、UTF-16 或 GBK 编码")


def read_text_table(path: Path, data: bytes | None = None) -> list[list[Cell]]:
    if data is None:
        data = read_bytes(path)
    text = decode(data, path)
    if "\x00" in text:
        raise FileError(path, "文件不是文本表格（含有二进制内容）")
    suffix = path.suffix.lower()
    sample = text[:8192]
    tab = suffix in {".tsv", ".txt"} or sample.count("\t") > sample.count(",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if tab else ",")
    try:
        return [list(row) for row in reader]
    except csv.Error as exc:
        raise FileError(path, f"文本表格格式错误：{exc}") from exc


# --- cells as text -------------------------------------------------------------------


def text_of(value: Cell) -> str:
    """A cell as text: numbers as Excel shows them, `_x000D_` and stray spaces gone."""
    if value.__class__ is str:  # the common case first: this runs for every cell read
        text = value.strip()
        if "_x000D_" in text or "\r" in text:
            text = text.replace("_x000D_", "").replace("\r\n", "\n").strip()
        return text
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()  # a date cell: the date, as Excel shows it
    return str(value).strip()


def column_texts(values: list[Cell]) -> list[str]:
    """text_of for each cell of a column; at C speed when the column holds clean text only,
    as most do."""
    if set(map(type, values)) <= {str}:
        joined = "".join(values)  # type: ignore[arg-type]
        if "\r" not in joined and "_x000D_" not in joined:
            return list(map(str.strip, values))  # type: ignore[arg-type]
    return list(map(text_of, values))
