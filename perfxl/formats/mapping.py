"""A layout a user describes: a small TOML file that says which captions are which fields,
the money unit, and where the header is, so that an office can read a table perfxl does not
know without code. For example (`perfxl import table.xlsx --layout 某市.toml`):

    name = "某市项目绩效目标表"
    kind = "grid"          # grid: one row per indicator; packed: 绩效指标 in one cell
    unit = "元"            # the money unit, where the table does not say it
    header_row = 4         # the header's row (from 1); without it, the header is looked for

    [columns]              # caption as written → field (see perfxl/domain/fields.py)
    "项目"     = "project.name"
    "资金"     = "project.total"
    "考核内容" = "indicator.name"
    "指标类别" = "indicator.level1"
    "目标"     = "indicator.annual"

Captions the mapping does not name are still matched by what they mean; in a packed
table, fields are named without `project.`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import ENTITIES
from perfxl.domain.model import ReadResult
from perfxl.formats import grid_table, published
from perfxl.formats.grid import Sheet
from perfxl.formats.tables import Header, match_header
from perfxl.resources import load_toml


class Layout(BaseModel):
    """A user's description of a layout."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "自定义格式"
    kind: Literal["grid", "packed"] = "grid"
    unit: Literal["元", "千元", "万元", "百万元", "亿元"] | None = None
    header_row: int | None = Field(default=None, ge=1)
    columns: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Layout:
        for caption, target in self.columns.items():
            kind, _, key = target.rpartition(".")
            kinds = ("project", "indicator") if self.kind == "grid" else ("", "project")
            fields = ENTITIES.get(kind or "project")
            if kind not in kinds or fields is None or key not in fields:
                raise ValueError(f"列“{caption}”对应的“{target}”不是 perfxl 的字段")
        return self


def load_layout(path: Path) -> Layout:
    return load_toml(path, Layout, "表格格式文件")


def _header(sheet: Sheet, layout: Layout) -> Header | None:
    aliases = {c: t.removeprefix("project.") if layout.kind == "packed" else t
               for c, t in layout.columns.items()}  # fmt: skip
    if layout.header_row is None:
        if layout.kind == "grid":
            return grid_table.find_header(sheet, aliases)
        return published.find_header(sheet, aliases)
    r = layout.header_row - 1
    if r >= len(sheet.rows):
        return None
    kinds = grid_table.KINDS if layout.kind == "grid" else [("project", ENTITIES["project"])]
    header = match_header(sheet.rows[r], kinds, aliases)
    header.row = r
    return header


def read_mapped(
    path: Path, sheets: list[Sheet], layout: Layout, codeset: CodeSet | None = None
) -> ReadResult | None:
    """The first sheet the layout fits, read; None where it fits none."""
    for sheet in sheets:
        header = _header(sheet, layout)
        if header is None:
            continue
        if layout.kind == "grid":
            return grid_table.read_grid(path, sheet, header, codeset, layout.unit)
        return published.read_packed(path, sheet, header, codeset, layout.unit)
    return None
