"""The spec of the department-wide template (templates/overall.toml), beside the project
one: the 总体情况 sheet (the budget overview as labelled amounts under group captions, the
declared total, the overall goal), the 重点任务 sheet (one key task a row) and the 指标
sheet (the department's indicators, with no 所属项目). Its writer and reader work from it
as the project template's do from theirs; the sheets of rows are the same SheetSpec."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from perfxl.domain.fields import TASK
from perfxl.errors import InputError
from perfxl.formats.spec import ROW_ID_HEADER, InstructionsSpec, SheetSpec
from perfxl.resources import load_toml, templates_dir

DEFAULT_OVERALL_SPEC = "overall"
OVERVIEW_HEADERS = ("类别", "项目", "金额（万元）/内容")


class OverviewItem(BaseModel):
    """One line of the overview: a labelled amount under its group caption, or the overall
    goal (key `goal`); key `total` is the declared total."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    group: str = ""
    type: Literal["amount", "longtext"] = "amount"
    required: bool = False
    help: str = Field(default="", max_length=255)


class OverviewSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="总体情况", min_length=1, max_length=31)
    title: str = ""
    items: tuple[OverviewItem, ...]

    # Title on row 1, department and year on row 2, header on row 3, one item a row below.
    header_row: ClassVar[int] = 2

    def row_of(self, key: str) -> int:
        """The sheet row (0-based) of an item."""
        return self.header_row + 1 + next(i for i, item in enumerate(self.items) if item.key == key)

    @model_validator(mode="after")
    def _check(self) -> OverviewSpec:
        keys = [i.key for i in self.items]
        labels = [i.label for i in self.items]
        for values, what in ((keys, "key"), (labels, "label")):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"工作表 {self.name}: 项目的 {what} 重复：{', '.join(dupes)}")
        kinds = {i.key: i.type for i in self.items}
        if kinds.get("total") != "amount" or kinds.get("goal") != "longtext":
            raise ValueError(
                f'工作表 {self.name} 须有 key = "total"（金额）和 key = "goal"（longtext）两项'
            )
        return self


class OverallSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: str
    title: str
    codeset: str = "2021"
    form: Literal["department"] = "department"
    instructions: InstructionsSpec = InstructionsSpec()
    overview: OverviewSpec
    tasks: SheetSpec
    indicators: SheetSpec

    row_keys: ClassVar[tuple[str, ...]] = ("task_rows", "indicator_rows")

    @model_validator(mode="before")
    @classmethod
    def _entities(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, entity in (("tasks", "task"), ("indicators", "indicator")):
            if isinstance(out.get(key), dict):
                out[key] = {**out[key], "entity": entity}
        return out

    @model_validator(mode="after")
    def _check(self) -> OverallSpec:
        need = {
            "tasks": ("seq", "name", "amount"),
            "indicators": ("level1", "level2", "name", "annual"),
        }
        for sheet_key, keys in need.items():
            sheet: SheetSpec = getattr(self, sheet_key)
            missing = [k for k in keys if sheet.column(k) is None]
            if missing:
                raise ValueError(f"工作表 {sheet.name} 缺少必需的列：{', '.join(missing)}")
        if self.indicators.column("project") is not None:
            raise ValueError(f"工作表 {self.indicators.name}：部门整体指标没有“所属项目”列")
        added = [c.key for c in self.tasks.columns if c.key not in TASK and c.type != "seq"]
        if added:
            raise ValueError(f"工作表 {self.tasks.name}：不能新增列（{', '.join(added)}）")
        names = [self.instructions.name, *self.data_sheets]
        if len(set(names)) != len(names) or {"_lists", "_meta"} & set(names):
            raise ValueError("工作表名称重复或使用了保留名称 _lists/_meta")
        return self

    @property
    def data_sheets(self) -> list[str]:
        return [self.overview.name, self.tasks.name, self.indicators.name]

    def structure(self, task_rows: int, indicator_rows: int) -> dict[str, object]:
        """The locked structure a filled workbook must still have."""
        return {
            "sheets": [self.instructions.name, *self.data_sheets],
            self.overview.name: [i.label for i in self.overview.items],
            self.tasks.name: [c.header for c in self.tasks.columns] + [ROW_ID_HEADER],
            self.indicators.name: [c.header for c in self.indicators.columns] + [ROW_ID_HEADER],
            "rows": [task_rows, indicator_rows],
        }

    def structure_hash(self, task_rows: int, indicator_rows: int) -> str:
        text = json.dumps(self.structure(task_rows, indicator_rows), ensure_ascii=False,
                          sort_keys=True)  # fmt: skip
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_overall_spec(name_or_path: str | Path = DEFAULT_OVERALL_SPEC) -> OverallSpec:
    """The bundled department-wide spec by name (`overall`) or a user's TOML file by path."""
    text = str(name_or_path)
    bundled = templates_dir() / f"{text}.toml"
    if "/" not in text and "\\" not in text and not text.endswith(".toml") and bundled.is_file():
        return _load_bundled(text)
    path = Path(text)
    if not path.is_file():
        raise InputError(
            f"找不到部门整体模板定义“{text}”：可用 {DEFAULT_OVERALL_SPEC}，或给出 TOML 文件路径"
        )
    return load_toml(path, OverallSpec, "部门整体模板定义文件")


@cache
def _load_bundled(name: str) -> OverallSpec:
    return load_toml(templates_dir() / f"{name}.toml", OverallSpec, "部门整体模板定义文件")
