"""How the ledger workbook prints: A4, fitted to the page width, header rows repeated; the
width of each column taken from a table's first rows, and each row as tall as its most
wrapped text (no program works that out on opening the file: LibreOffice and WPS do not).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

# Printing. Column widths are in Excel's units (the width of a digit; a Chinese character
# takes two), taken from a table's first rows.
MEASURED_ROWS = 1_000  # the rows a table's column widths are taken from
TEXT_WIDTH = 16  # the widest a text column gets (8 Chinese characters), then it wraps
LONG_TEXT_WIDTH = 44  # the same for a column of long text (绩效目标, 说明 …)
LONG_TEXT = 40  # a column declared at least this wide holds long text
MONEY_WIDTH = 12  # `9,999,999.99`
LINE_HEIGHT = 15  # points, a line of wrapped text
LINES_KNOWN = 10_000  # texts whose lines a column remembers
DEFAULT_FORMAT = {"font_name": "Calibri", "font_size": 11, "text_wrap": True, "valign": "top"}
NUMERIC = frozenset({"money", "number", "count", "int"})  # the kinds written as numbers


def text_width(text: str) -> int:
    """How wide a text is in Excel's units: a Chinese character (three bytes in UTF-8)
    counts two, a Latin one one; the longest line of several."""
    return max((len(line.encode()) + len(line)) // 2 for line in text.split("\n"))


def lines_of(text: str, width: int) -> int:
    """The lines a text takes wrapped in a column `width` wide: rather one too many than
    one too few, since a line too few is cut off in print."""
    room = max(width - 1, 1)
    return sum(
        max(1, -(-((len(line.encode()) + len(line)) // 2) // room)) for line in text.split("\n")
    )


class Layout:
    """A table's column widths and row heights. The widths come from the header and the
    values of the first rows (`see`): as wide as the widest value, up to `TEXT_WIDTH` for
    text (`LONG_TEXT_WIDTH` for a column declared as long text), past which it wraps; a
    number never narrower than it prints, money not under `MONEY_WIDTH`; a header wraps
    onto up to three lines. A row is then as tall as its most wrapped text (`height`), for
    no program works that out on opening the file (LibreOffice and WPS do not)."""

    def __init__(self, titles: list[str], kinds: list[str], declared: list[int]) -> None:
        self.titles, self.kinds, self.declared = titles, kinds, declared
        self.seen = [0] * len(titles)
        # The text columns: each one's index, width, the characters that always fit, and
        # the lines of the longer texts already seen.
        self.wrap: list[tuple[int, int, int, dict[str, int]]] | None = None

    def see(self, values: list[object]) -> None:
        for c, value in enumerate(values):
            if value is not None and value != "":
                self.widen(c, value)

    def widen(self, c: int, value: object) -> None:
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            width = len(f"{value:,.2f}" if self.kinds[c] == "money" else str(value))
        else:
            width = text_width(str(value))
        self.seen[c] = max(self.seen[c], width)

    def widths(self) -> list[int]:
        widths = []
        for title, kind, declared, seen in zip(
            self.titles, self.kinds, self.declared, self.seen, strict=True
        ):
            # The values with a margin; the header's third, or half when short.
            head = text_width(title[: math.ceil(len(title) / (3 if len(title) > 4 else 2))])
            if kind == "money":
                width = max(seen + 2, head + 1, MONEY_WIDTH)
            elif kind in NUMERIC:
                width = max(seen + 2, head + 1, 5)
            else:
                cap = LONG_TEXT_WIDTH if declared >= LONG_TEXT else TEXT_WIDTH
                width = min(max(seen + 2, head + 1, 5), cap + 2)
            widths.append(width)
        return widths

    def height(self, values: list[object]) -> float | None:
        """A row's height in points where its text wraps (None: one line). The text
        widths are those of the rows seen before the first call."""
        if self.wrap is None:
            widths = self.widths()
            self.wrap = [
                (c, widths[c], (widths[c] - 1) // 2, {})
                for c, kind in enumerate(self.kinds)
                if kind not in NUMERIC
            ]
        lines = 1
        for c, width, short, known in self.wrap:
            value = values[c]
            # A text of `short` characters fits, even all Chinese: the usual case, at once;
            # a longer one is worked out once (names and files come again and again).
            if isinstance(value, str) and (len(value) > short or "\n" in value):
                n = known.get(value)
                if n is None:
                    if len(known) >= LINES_KNOWN:
                        known.clear()
                    n = known[value] = lines_of(value, width)
                lines = max(lines, n)
        return LINE_HEIGHT * lines if lines > 1 else None

    def apply(self, ws: Any, f: dict[str, Any]) -> None:
        """The widths, and the header row (as tall as its most wrapped title)."""
        widths = self.widths()
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        lines = max((lines_of(t, w) for t, w in zip(self.titles, widths, strict=True)), default=1)
        ws.set_row(0, LINE_HEIGHT * lines if lines > 1 else None)
        for c, title in enumerate(self.titles):
            ws.write_string(0, c, title, f["head"])
        ws.freeze_panes(1, 0)


def page_setup(
    ws: Any, last_row: int, last_col: int, landscape: bool = True, table: bool = True
) -> None:
    """A4, fitted to the width of the page (as many pages down as it takes), centred, the
    sheet's name at the top and `第 1 页，共 3 页` at the foot of each page; a table with its
    header row on every page and its grid lines printed."""
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.75)
    ws.set_header("&C&A", {"margin": 0.3})
    ws.set_footer("&C第 &P 页，共 &N 页", {"margin": 0.3})
    ws.center_horizontally()
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, last_row, last_col)
    if table:
        ws.repeat_rows(0)
        ws.hide_gridlines(0)  # shown, and printed
