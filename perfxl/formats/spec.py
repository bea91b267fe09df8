"""The declarative template spec (templates/department.toml): sheets, columns, types,
lists, widths and help texts. The writer, the reader and the validator all work from it,
so adding a column is one edit of the TOML file.

A column whose key is a field of the registry (domain/fields.py) takes its caption and
whether it is required from there, unless the spec says otherwise; any other key adds an
*extra* field (text, or an amount), which travels the whole round trip: the reader keeps
it, the store records it, the ledger and the exports show it, and a change in it is
reported. The 总计 column sums every amount column of its sheet unless `sums` names them."""

from __future__ import annotations

import hashlib
import json
from functools import cache, cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from perfxl.domain.fields import ENTITIES, Fields, extra_field, taken_captions
from perfxl.domain.model import RESERVED_KEYS
from perfxl.errors import InputError
from perfxl.resources import load_toml, templates_dir

DEFAULT_SPEC = "department"
ColumnType = Literal["seq", "text", "longtext", "amount", "total", "list"]
ListName = Literal["projects", "level1", "level2", "operators", "nature"]
Entity = Literal["project", "indicator", "task"]
ROW_ID_HEADER = "行标识"
# The column types a registry field of each type may be written as.
_WRITTEN_AS: dict[str, frozenset[str]] = {
    "text": frozenset({"text", "longtext", "list"}),
    "code": frozenset({"text"}),
    "value": frozenset({"text"}),
    "amount": frozenset({"amount"}),
    "total": frozenset({"total", "amount"}),  # summed by a formula, or typed (a task's money)
    "level": frozenset({"list"}),
    "ref": frozenset({"list"}),
    "choice": frozenset({"list"}),
}


class ColumnSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    header: str = Field(min_length=1)  # the registry's caption, where the spec gives none
    type: ColumnType = "text"
    list: ListName | None = None
    sums: tuple[str, ...] = ()
    width: float = 14
    required: bool = False
    max_length: int | None = None
    help: str = Field(default="", max_length=255)  # Excel's limit for an input message

    @property
    def locked(self) -> bool:
        """Written by perfxl, not by the department."""
        return self.type in ("seq", "total")

    @model_validator(mode="after")
    def _check(self) -> ColumnSpec:
        if (self.type == "list") != (self.list is not None):
            raise ValueError(f'列 {self.key}: type = "list" 与 list 须同时给出')
        if (self.type == "total") != bool(self.sums):
            raise ValueError(f'列 {self.key}: type = "total" 须给出 sums')
        return self


class SheetSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: Entity  # what a row of the sheet is: set by the template spec
    name: str = Field(min_length=1, max_length=31)
    title: str = ""
    rows: int = Field(gt=0, le=100_000)
    columns: tuple[ColumnSpec, ...]

    # Fixed layout: title on row 1, department and year on row 2, header on row 3.
    title_row: int = 0
    info_row: int = 1
    header_row: int = 2

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    def column(self, key: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.key == key), None)

    def index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    @property
    def row_id_col(self) -> int:
        """The hidden, locked row-id column, right of the spec's columns."""
        return len(self.columns)

    @cached_property
    def fields(self) -> Fields:
        """The registry's fields of the sheet's rows, with the spec's captions, and the
        extra fields its columns add."""
        registry = ENTITIES[self.entity]
        extras = [
            extra_field(c.key, c.header, money=c.type == "amount")
            for c in self.columns
            if c.key not in registry and c.type != "seq"
        ]
        renamed = registry.renamed({c.key: c.header for c in self.columns if c.key in registry})
        return renamed.with_extras(extras)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """A registry field's caption and requiredness, where the spec gives none; the
        total's sources: every amount column."""
        if not isinstance(data, dict) or data.get("entity") not in ENTITIES:
            return data
        registry = ENTITIES[data["entity"]]
        columns = [dict(c) if isinstance(c, dict) else c for c in data.get("columns", ())]
        amounts = [
            c.get("key") for c in columns if isinstance(c, dict) and c.get("type") == "amount"
        ]
        for column in columns:
            if not isinstance(column, dict):
                continue
            field = registry.get(str(column.get("key")))
            if field is not None:
                column.setdefault("header", field.header)
                column.setdefault("required", field.required)
        headers = {c.get("key"): c.get("header") for c in columns if isinstance(c, dict)}
        for column in columns:
            if isinstance(column, dict) and column.get("type") == "total":
                column.setdefault("sums", amounts)
                parts = " + ".join(str(headers.get(k) or k) for k in column["sums"])
                column.setdefault("help", f"自动计算：{parts}。")
        return {**data, "columns": columns}

    @model_validator(mode="after")
    def _check(self) -> SheetSpec:
        keys = [c.key for c in self.columns]
        headers = [c.header for c in self.columns]
        for values, what in ((keys, "key"), (headers, "header")):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"工作表 {self.name}: 列的 {what} 重复：{', '.join(dupes)}")
        registry = ENTITIES[self.entity]
        for column in self.columns:
            missing = [k for k in column.sums if k not in keys]
            if missing:
                raise ValueError(f"列 {column.key} 的 sums 引用了不存在的列：{', '.join(missing)}")
            field = registry.get(column.key)
            allowed = _WRITTEN_AS.get(field.type) if field is not None else None
            if allowed is not None and column.type not in allowed:
                raise ValueError(f"列 {column.key} 的类型应为 {'/'.join(sorted(allowed))}")
            if field is None and column.type != "seq":
                _check_added(column)
        return self


def _check_added(column: ColumnSpec) -> None:
    """A column a spec adds: text or an amount, a key of its own, a caption no column of
    the ledger's outputs has already."""
    if column.type not in ("text", "longtext", "amount"):
        raise ValueError(f"列 {column.key}：新增的列只能是 text、longtext 或 amount 类型")
    if column.key in RESERVED_KEYS:
        raise ValueError(f"列 {column.key}：此 key 为 perfxl 保留，请换一个")
    if column.header in taken_captions():
        raise ValueError(f"列 {column.key}：列名“{column.header}”已有他用，请换一个")


class InstructionsSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="填报说明", max_length=31)
    lines: tuple[str, ...] = ()


class TemplateSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: str
    title: str
    codeset: str = "2021"
    instructions: InstructionsSpec = InstructionsSpec()
    projects: SheetSpec
    indicators: SheetSpec

    @model_validator(mode="before")
    @classmethod
    def _entities(cls, data: Any) -> Any:
        """Each data sheet says what its rows are, so its columns find their fields."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key, entity in (("projects", "project"), ("indicators", "indicator")):
            if isinstance(out.get(key), dict):
                out[key] = {**out[key], "entity": entity}
        return out

    @model_validator(mode="after")
    def _check(self) -> TemplateSpec:
        need = {
            "projects": ("seq", "name"),
            "indicators": ("project", "level1", "level2", "name", "annual"),
        }
        for sheet_key, keys in need.items():
            sheet: SheetSpec = getattr(self, sheet_key)
            missing = [k for k in keys if sheet.column(k) is None]
            if missing:
                raise ValueError(f"工作表 {sheet.name} 缺少必需的列：{', '.join(missing)}")
        names = [self.instructions.name, self.projects.name, self.indicators.name]
        if len(set(names)) != len(names) or {"_lists", "_meta"} & set(names):
            raise ValueError("工作表名称重复或使用了保留名称 _lists/_meta")
        return self

    @property
    def data_sheets(self) -> list[str]:
        """The sheets a department fills, whose protection is checked on read."""
        return [self.projects.name, self.indicators.name]

    # The `_meta` keys that give each data sheet's number of input rows, in order.
    row_keys: ClassVar[tuple[str, ...]] = ("project_rows", "indicator_rows")

    def structure(self, project_rows: int, indicator_rows: int) -> dict[str, object]:
        """The locked structure a filled workbook must still have."""
        return {
            "sheets": [self.instructions.name, self.projects.name, self.indicators.name],
            self.projects.name: [c.header for c in self.projects.columns] + [ROW_ID_HEADER],
            self.indicators.name: [c.header for c in self.indicators.columns] + [ROW_ID_HEADER],
            "rows": [project_rows, indicator_rows],
        }

    def structure_hash(self, project_rows: int, indicator_rows: int) -> str:
        text = json.dumps(
            self.structure(project_rows, indicator_rows), ensure_ascii=False, sort_keys=True
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_spec(name_or_path: str | Path = DEFAULT_SPEC) -> TemplateSpec:
    """The bundled spec by name (`department`) or a user's TOML file by path."""
    text = str(name_or_path)
    bundled = templates_dir() / f"{text}.toml"
    if "/" not in text and "\\" not in text and not text.endswith(".toml") and bundled.is_file():
        return _load_bundled(text)
    path = Path(text)
    if not path.is_file():
        raise InputError(f"找不到模板定义“{text}”：可用 {DEFAULT_SPEC}，或给出 TOML 文件路径")
    return _load(path)


@cache
def _load_bundled(name: str) -> TemplateSpec:
    return _load(templates_dir() / f"{name}.toml")


def _load(path: Path) -> TemplateSpec:
    return load_toml(path, TemplateSpec, "模板定义文件")
