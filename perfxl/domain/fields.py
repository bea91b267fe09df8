"""The fields: every column perfxl knows, defined once.

Each field of a project, an indicator and a roster entry has a key, its official caption,
the other captions it is known by, a type, whether it must be filled in, its label in the
ledger, and whether a change in it is reported when a department sends a new version. The
template spec, every reader, the validator, the store, the ledger workbook, the exports,
the published layout and the change report all go through these lists, so that a column
added to a template spec (an *extra* field) travels the whole round trip like the others.

Types:
    text     free text                    code     an identifier, kept as text
    amount   money in 万元 (Decimal)      total    the sum of the other amounts
    number   a number that is not money (a weight), Decimal
    level    a 一级/二级 code with its label (two attributes: `level1`, `level1_label`)
    value    an indicator value as written (its 计算符号, number and unit are derived)
    choice   one of a few words (指标性质)
    ref      a reference to a row of another sheet (所属项目)
    packed   the published table's one-cell list of indicators
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

from perfxl.domain.values import parse_value

FieldType = Literal[
    "text", "code", "amount", "total", "number", "level", "value", "choice", "ref", "packed"
]
MONEY_TYPES = frozenset({"amount", "total"})
DECIMAL_TYPES = MONEY_TYPES | {"number"}


@dataclass(frozen=True)
class Field:
    """One column of the domain, and everything the round trip needs to know of it."""

    key: str
    header: str
    type: FieldType = "text"
    aliases: tuple[str, ...] = ()
    required: bool = False
    # How the ledger and the exports call it, where that differs from the header.
    label: str = ""
    # A change in it is reported when a newer submission replaces an older one.
    compared: bool = True
    # An attribute of the model (False: a column of a layout only, such as 计算符号, whose
    # content is folded into another field).
    model: bool = True
    # Added by a template spec; its values live in the model's `extra`.
    extra: bool = False
    # Its column's width in the ledger and the exports (0: by its type).
    width: int = 0

    @property
    def title(self) -> str:
        """The field's name in the ledger, the exports and the change report."""
        return self.label or self.header

    @property
    def titles(self) -> tuple[str, ...]:
        """The columns the field is shown in (the ledger, the exports, the structured
        workbook): a level's code, then its label; a value as written, then its 计算符号,
        number and unit; anything else in one column."""
        if self.type == "level":
            return (f"{self.title}代码", self.title)
        if self.type == "value":
            prefix = self.title.removesuffix("指标值")
            return (self.title, f"{prefix}计算符号", f"{prefix}数值", f"{prefix}计量单位")
        return (self.title,)

    def shown(self, value_of: Callable[[str], Any]) -> list[Any]:
        """The field's values in its columns (`titles`); `value_of(name)` gives the value of
        a model attribute, or of an extra field by its key."""
        if self.type == "level":
            return [value_of(self.key), value_of(f"{self.key}_label")]
        if self.type == "value":
            text = value_of(self.key) or ""
            value = parse_value(text)
            return [text, value.operator, value.number, value.unit]
        return [value_of(self.key)]

    @property
    def is_money(self) -> bool:
        return self.type in MONEY_TYPES

    @property
    def is_decimal(self) -> bool:
        """Held as Decimal: money, or a number such as a weight."""
        return self.type in DECIMAL_TYPES

    @property
    def attributes(self) -> tuple[str, ...]:
        """The model attributes (and store columns) that hold the field."""
        if not self.model or self.extra:
            return ()
        if self.type == "level":
            return (self.key, f"{self.key}_label")
        return (self.key,)


class Fields:
    """The fields of one kind of row (a project, an indicator …), in their order."""

    def __init__(self, entity: str, fields: Iterable[Field]) -> None:
        self.entity = entity
        self.items: tuple[Field, ...] = tuple(fields)
        self._by_key = {f.key: f for f in self.items}
        if len(self._by_key) != len(self.items):
            raise ValueError(f"{entity}: a field key is repeated")

    def __iter__(self) -> Iterator[Field]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __getitem__(self, key: str) -> Field:
        return self._by_key[key]

    def get(self, key: str) -> Field | None:
        return self._by_key.get(key)

    def header(self, key: str) -> str:
        """The caption of a field, or the key itself where no field has it."""
        found = self._by_key.get(key)
        return found.header if found else key

    @cached_property
    def money(self) -> tuple[Field, ...]:
        """The amounts, the total first where there is one."""
        return tuple(f for f in self.items if f.is_money)

    @cached_property
    def sources(self) -> tuple[Field, ...]:
        """The amounts that add up to the total."""
        return tuple(f for f in self.items if f.type == "amount")

    @cached_property
    def total(self) -> Field | None:
        return next((f for f in self.items if f.type == "total"), None)

    @cached_property
    def modelled(self) -> tuple[Field, ...]:
        """The fields the model holds: its own attributes, then the extras."""
        return tuple(f for f in self.items if f.model)

    @cached_property
    def extras(self) -> tuple[Field, ...]:
        return tuple(f for f in self.items if f.extra)

    @cached_property
    def attributes(self) -> tuple[str, ...]:
        """Every model attribute (and store column) the fields hold, in order."""
        return tuple(a for f in self.items for a in f.attributes)

    @cached_property
    def _captions(self) -> dict[str, Field]:
        out: dict[str, Field] = {}
        for f in self.items:
            for caption in (f.header, *f.aliases):
                out.setdefault(caption_key(caption), f)
        return out

    def lookup(self, caption: object) -> Field | None:
        """The field a column caption names, by its header or any alias."""
        return self._captions.get(caption_key(caption))

    def with_extras(self, extras: Iterable[Field]) -> Fields:
        """These fields and the extras (those whose key is new), extras last."""
        added = [f for f in extras if f.key not in self._by_key]
        return Fields(self.entity, (*self.items, *added)) if added else self

    def renamed(self, headers: dict[str, str]) -> Fields:
        """The same fields, some with another caption (a template that calls a column its
        own way)."""
        return Fields(
            self.entity,
            (replace(f, header=headers[f.key]) if headers.get(f.key) else f for f in self.items),
        )


def extra_field(key: str, header: str, money: bool = False) -> Field:
    """A field a template spec adds: text, or an amount."""
    return Field(key, header, "amount" if money else "text", extra=True)


# What a caption carries beside its name: spaces and line breaks, marks (★ core, * required),
# anything in brackets (a unit `（万元）`, points `(50分)`, `（资金使用单位）`), a leading
# `其中：` and a trailing colon.
_CAPTION_NOISE = re.compile(r"\s+|[★☆*※]|[（(][^（()）]*[)）]|^其中[:：]|[:：]$")


def caption_key(caption: object) -> str:
    """A caption as it is compared: without spaces, line breaks, marks, brackets and what
    they hold, and in lower case (`总 计（万元）` is `总计`, `产出指标(50分)` is `产出指标`,
    `Code` is `code`)."""
    text = "" if caption is None else str(caption)
    for _ in range(2):  # a bracket inside a bracket, once
        text = _CAPTION_NOISE.sub("", text)
    return text.casefold()


# --- the registry ------------------------------------------------------------------------

PROJECT = Fields(
    "project",
    (
        Field("code", "项目编码", "code", aliases=("项目代码", "项目编号"), width=16),
        Field("name", "项目名称", required=True, aliases=("项目", "支出项目名称"), width=30),
        Field(
            "unit",
            "资金使用单位",
            aliases=(
                "使用单位",
                "单位名称",
                "预算单位",
                "实施单位",
                "项目实施单位",
                "预算单位名称",
            ),
            width=20,
        ),
        Field(
            "total",
            "总计",
            "total",
            aliases=(
                "合计",
                "金额合计",
                "资金总额",
                "预算金额",
                "预算数",
                "金额",
                "项目金额",
                "申报金额",
                "年度预算数",
                "项目资金",
                "年度资金总额",
            ),
        ),
        Field(
            "fiscal",
            "财政拨款",
            "amount",
            aliases=(
                "一般公共预算",
                "财政拨款资金",
                "财政资金",
                "财政拨款金额",
                "一般公共预算拨款",
            ),
        ),
        Field("special", "财政专户拨款", "amount", aliases=("财政专户管理资金", "财政专户")),
        Field("other", "其他资金", "amount", aliases=("其他",)),
        Field(
            "goal",
            "绩效目标",
            required=True,
            aliases=("年度绩效目标", "项目绩效目标", "年度目标", "当年目标", "项目年度目标"),
            width=50,
        ),
        Field(
            "long_goal",
            "长期目标",
            aliases=("长期绩效目标", "实施期目标", "中长期目标", "项目总体目标", "总体目标"),
            width=50,
        ),
        Field(
            "indicators",
            "绩效指标",
            "packed",
            aliases=("年度绩效指标", "项目绩效指标"),
            width=80,
            compared=False,
            model=False,
        ),
    ),
)

INDICATOR = Fields(
    "indicator",
    (
        Field("project", "所属项目", "ref", compared=False, model=False),
        Field("level1", "一级指标", "level", aliases=("一级指标名称", "一级")),
        Field("level2", "二级指标", "level", aliases=("二级指标名称", "二级")),
        Field("name", "三级指标", required=True, aliases=("指标名称", "三级指标名称"), width=28),
        Field("nature", "指标性质", "choice", compared=False),
        Field(
            "operator",
            "计算符号",
            aliases=("符号", "运算符号", "运算符"),
            compared=False,
            model=False,
        ),
        Field(
            "period",
            "实施周期指标值",
            "value",
            aliases=("实施期指标值", "长期指标值", "中长期指标值", "实施周期目标值"),
        ),
        Field(
            "annual",
            "年度指标值",
            "value",
            required=True,
            aliases=(
                "指标值",
                "目标值",
                "年度目标值",
                "当年预期实现值",
                "本年度计划水平",
                "年度指标目标值",
                "预期指标值",
            ),
        ),
        Field("unit", "计量单位", aliases=("度量单位", "单位"), compared=False, model=False),
        Field("weight", "权重", "number", aliases=("分值", "指标分值", "权重分值", "指标权重")),
        Field("direction", "指标方向性", aliases=("指标方向", "方向")),
    ),
)

# A key task (年度重点工作任务) of a department-wide table.
TASK = Fields(
    "task",
    (
        Field("name", "任务名称", required=True, aliases=("名称", "重点工作任务", "工作任务")),
        Field("content", "主要实施内容", aliases=("实施内容", "主要内容", "任务内容")),
        Field(
            "amount",
            "拟投入资金",
            "total",
            aliases=("拟投入的资金", "预算金额", "资金", "金额", "拟投入资金总额", "资金总额"),
        ),
        Field("fiscal", "财政拨款", "amount", aliases=("财政资金",)),
        Field("other", "其他资金", "amount"),
        Field(
            "goal",
            "期望达到的目标",
            aliases=("期望达到的目标概述", "预期目标", "目标", "期望目标", "绩效目标"),
            width=40,
        ),
    ),
)

ROSTER = Fields(
    "roster",
    (
        Field(
            "code", "单位编码", "code", aliases=("code", "部门编码", "编码", "单位代码", "部门代码")
        ),
        Field("name", "单位名称", required=True, aliases=("name", "部门名称", "名称")),
        Field("parent", "主管部门", aliases=("parent", "上级单位", "上级部门")),
        Field("contact", "联系人", aliases=("contact", "联系方式")),
    ),
)

ENTITIES = {"project": PROJECT, "indicator": INDICATOR, "task": TASK, "roster": ROSTER}
# Captions the ledger's outputs give the columns around the fields: a field a template spec
# adds may not take one, nor a caption of the registry.
CONTEXT_CAPTIONS = frozenset(
    {"单位编码", "单位名称", "指标数", "来源文件", "来源工作表", "来源单元格", "项目序号"}
)


def taken_captions() -> frozenset[str]:
    """Every caption a column of the ledger's outputs may already have."""
    own = {t for fields in (PROJECT, INDICATOR) for f in fields for t in (*f.titles, f.header)}
    return CONTEXT_CAPTIONS | own
