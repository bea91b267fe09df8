"""The roster (单位名单): the departments a finance office sends templates to.

A CSV or workbook with columns code, name, parent, contact, or their Chinese names
单位编码, 单位名称, 主管部门, 联系人, in any order, in UTF-8, UTF-8 with BOM or GBK.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from perfxl.domain.fields import ROSTER
from perfxl.errors import FileError
from perfxl.formats.grid import Cell, read_sheets

# A department code becomes a file name: keep it to what every file system accepts.
_CODE = re.compile(r"^[0-9A-Za-z_.\-]{1,64}$")


class RosterEntry(BaseModel):
    code: str
    name: str
    parent: str | None = None
    contact: str | None = None
    row: int | None = None


def _text(value: Cell) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _key(caption: Cell) -> str | None:
    field = ROSTER.lookup(_text(caption))
    return field.key if field else None


def read_roster(path: Path) -> list[RosterEntry]:
    """Every department of the roster. Raises FileError, naming the rows, when a code is
    missing, repeated or unusable as a file name, since the templates are named by code."""
    sheets = read_sheets(path)
    rows = sheets[0].rows if sheets else []
    header_at = next(
        (i for i, row in enumerate(rows[:20]) if {"code", "name"} <= {_key(v) for v in row}),
        None,
    )
    if header_at is None:
        raise FileError(path, "名单缺少表头：需要 code 和 name 列（或 单位编码 和 单位名称）")
    columns: dict[str, int] = {}
    for c, v in enumerate(rows[header_at]):
        key = _key(v)
        if key is not None:
            columns.setdefault(key, c)
    entries: list[RosterEntry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for r in range(header_at + 1, len(rows)):
        row = rows[r]
        values = {k: _text(row[c]) if c < len(row) else "" for k, c in columns.items()}
        if not any(values.values()):
            continue
        code, name = values.get("code", ""), values.get("name", "")
        if not code or not name:
            problems.append(f"第{r + 1}行缺少{ROSTER.header('code' if not code else 'name')}")
            continue
        if not _CODE.match(code):
            problems.append(f"第{r + 1}行的单位编码“{code}”只能含字母、数字、点、下划线和连字符")
            continue
        if code in seen:
            problems.append(f"第{r + 1}行的单位编码“{code}”与第{seen[code]}行重复")
            continue
        seen[code] = r + 1
        entries.append(
            RosterEntry(
                code=code,
                name=name,
                parent=values.get("parent") or None,
                contact=values.get("contact") or None,
                row=r + 1,
            )
        )
    if problems:
        raise FileError(path, "名单有误：" + "；".join(problems))
    if not entries:
        raise FileError(path, "名单中没有任何单位")
    return entries
