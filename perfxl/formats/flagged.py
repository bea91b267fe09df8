"""The cells of a sheet whose value cannot be trusted, found in the sheet's XML: cells that
show an error value (`#N/A`, `#REF!`), formulas saved without their result, and formulas
that read another workbook. Found by byte patterns that match only such cells, so that a
sheet of sound formulas costs a few C-speed searches; each match looks no further than its
own cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A cell's reference, in either quotes, spaces around `=` allowed (calamine reads them
# all), and the start of a cell element.
REF = re.compile(rb"""\br\s*=\s*["']([A-Z]*)(\d*)["']""")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
# The type of a cell that shows an error (`<c r="B4" t="e"><v>#N/A</v></c>`), a text
# formula's type, a cell's value, and the end of a cell.
_ERROR_TYPE = re.compile(rb"""\bt\s*=\s*["']e["']""")
_STR_TYPE = re.compile(rb"""\bt\s*=\s*["']str["']""")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
# A formula followed by no value, or by an empty one (group 1: the empty value).
# Patterns that begin with literal text, which the regex engine finds at C speed; those
# for elements with a prefix (`<x:f>`) run only where a prefix is there at all.
_EMPTY = rb"(?:</c>|(<v></v>|<v\s*/>))"
_EMPTY_PREFIXED = rb"(?:</(?:\w+:)?c>|(<(?:\w+:)?v></(?:\w+:)?v>|<(?:\w+:)?v\s*/>))"
_NO_VALUE = (
    re.compile(rb"</f>" + _EMPTY),
    re.compile(rb"<f\b[^>]*/>" + _EMPTY),
)
_NO_VALUE_PREFIXED = (
    re.compile(rb"</\w+:f>" + _EMPTY_PREFIXED),
    re.compile(rb"<\w+:f\b[^>]*/>" + _EMPTY_PREFIXED),
)
# A formula that reads another workbook: `[1]Sheet1!A1`.
_LINKED = re.compile(rb"<(?:\w+:)?f\b[^>]*>[^<]*\[\d+\][^<]*</(?:\w+:)?f>")


@dataclass
class Flagged:
    """The cells of one sheet whose value cannot be trusted, by A1 reference."""

    errors: dict[str, str] = field(default_factory=dict)  # cell → the error value (#N/A)
    no_value: set[str] = field(default_factory=set)  # formulas saved without a result
    external: set[str] = field(default_factory=set)  # formulas that read another workbook


def flag(body: bytes) -> Flagged | None:
    """The cells of a sheet that hold an error value, a formula with no saved result, or a
    reference to another workbook: found by patterns that match only such cells, so that a
    sheet of sound formulas costs a few C-speed searches. Each match looks no further than
    its own cell."""
    flagged = Flagged()
    if b'"e"' in body or b"'e'" in body:  # each pattern runs only where its mark is there
        for match in _ERROR_TYPE.finditer(body):
            start = body.rfind(b"<", 0, match.start())
            if not _CELL_TAG.match(body, start):
                continue  # a `t` of another element
            tag_end = body.find(b">", match.end())
            end = _CELL_END.search(body, tag_end)
            if tag_end < 0 or body[tag_end - 1 : tag_end] == b"/" or end is None:
                continue  # no value
            value = _VALUE.search(body, tag_end, end.start())
            if value is not None:
                flagged.errors[_ref(body, match.start())] = value.group(1).decode(
                    "utf-8", "replace"
                )
    patterns = (_NO_VALUE if b"<f" in body else ()) + (_NO_VALUE_PREFIXED if b":f" in body else ())
    for pattern in patterns:
        for match in pattern.finditer(body):
            start = _cell_start(body, match.start())
            head = body[start : body.find(b">", start) + 1]
            if _STR_TYPE.search(head) is None or match.group(1) is None:  # "": a text result
                flagged.no_value.add(_ref(body, match.start()))
    for match in _LINKED.finditer(body) if b"]" in body else ():
        flagged.external.add(_ref(body, match.start()))
    return flagged if (flagged.errors or flagged.no_value or flagged.external) else None


def _cell_start(body: bytes, at: int) -> int:
    """Where the cell whose content stands at `at` begins (its `<c`)."""
    start = body.rfind(b"<c", 0, at)  # the common case: a cell without a prefix
    if start >= 0 and body[start + 2 : start + 3] in (b" ", b">", b"/"):
        return start
    start = body.rfind(b"<", 0, at)
    while start > 0 and not _CELL_TAG.match(body, start):
        start = body.rfind(b"<", 0, start)
    return max(start, 0)


def _ref(body: bytes, at: int) -> str:
    """The reference of the cell whose content stands at `at`."""
    start = _cell_start(body, at)
    found = REF.search(body, start, body.find(b">", start) + 1)
    return (found.group(1) + found.group(2)).decode("ascii") if found else "?"
