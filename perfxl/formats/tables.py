"""What every table layout shares: the header row found by what its captions mean, the lines
above it (department, year, money unit), codes written before names, and the 一级/二级
labels as they are written (`1-产出指标`, `产出指标(50分)`, `产 出`, `★社会效益`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.domain.amounts import fmt, unit_of
from perfxl.domain.codesets import DEFAULT_CODESET, CodeSet, detect_codeset, load_codeset
from perfxl.domain.fields import PROJECT, Field, Fields, caption_key
from perfxl.domain.model import Indicator, Issue, Project, TargetTable
from perfxl.formats.grid import Cell, Sheet, text_of

_DEPARTMENT = re.compile(
    r"^\s*(?:部门名称|单位名称|部门|(?:预算|填报|编制|申报)单位(?:名称)?|主管部门(?:名称)?)"
    r"\s*(?:[（(]\s*(?:盖章|公章|签章)\s*[)）])?\s*[:：]\s*(?P<name>.*?)\s*$"
)
_DEPARTMENT_LABEL = re.compile(
    r"^\s*(?:部门|单位|预算单位|主管部门|填报单位|编制单位)(?:名称)?"
    r"\s*(?:[（(]\s*(?:盖章|公章|签章)\s*[)）])?\s*[:：]?\s*$"
)
_YEAR = re.compile(r"(20\d\d)\s*年")
# `单位：万元`, `金额单位:元`, `单位（元）`, `单位：人民币千元`.
_UNIT_LINE = re.compile(
    r"(?:金额)?单位\s*(?:[:：]|(?=[（(]))\s*[（(]?\s*(?:人民币)?\s*(百万元|万元|亿元|千元|元)"
)
# A code before a name: `820-某某镇部门`, `51000021R000000019951-工资性支出`, `[101]某局`.
_CODED = re.compile(
    r"^\s*(?:(?P<code>[0-9A-Za-z]*\d[0-9A-Za-z]*)\s*[-－—_]|[\[［【](?P<bracketed>[0-9A-Za-z]+)[\]］】])"
    r"\s*(?P<name>\S.*?)\s*$"
)
_LEVEL_CODE = re.compile(r"^\s*(?P<code>\d{1,2})(?![\d.．])\s*[-－—–、]?\s*(?P<label>.*?)\s*$")
# An ordinal before a label, not a code: `一、`, `（一）`, `(1)`, `①`, `1.`, `第一`.
_ORDINAL = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[（(]\s*(?:[一二三四五六七八九十]+|\d{1,2})\s*[)）]"
    r"|[①-⑳]|\d{1,2}\s*[.．](?!\d)|第[一二三四五六七八九十]+(?:部分|类|项)?\s*[、:：]?)\s*"
)
_LABEL_NOISE = re.compile(r"\s+|[★☆*※]|[（(][^（()）]*[)）]")


@dataclass
class Header:
    """A header row: which column holds which field, what the other captions were, and the
    money unit a caption states (`总计（元）`)."""

    row: int  # the header's last row
    columns: dict[str, int]  # field key → column
    entity: dict[str, str] = field(default_factory=dict)  # field key → project / indicator
    unknown: dict[int, str] = field(default_factory=dict)  # column → caption, not a field
    # Later columns whose captions name a field an earlier column already has: where the
    # cells say the earlier one is something else, one of these is the field's.
    others: dict[str, list[int]] = field(default_factory=dict)
    top: int = -1  # the header's first row (a row of group captions may stand over it)

    @property
    def first(self) -> int:
        return self.row if self.top < 0 else self.top

    units: dict[int, str] = field(default_factory=dict)  # column → 元 / 万元
    captions: dict[int, str] = field(default_factory=dict)  # column → caption as written


def match_header(
    row: list[Cell], fields: Iterable[tuple[str, Fields]], aliases: dict[str, str] | None = None
) -> Header:
    """The fields a row's captions name (`aliases`: more captions, caption → field key, a
    layout a user describes); the first column of a field wins. With the fields of more
    than one kind of row (projects and indicators), a column is known as `kind.key`
    (`project.name`, `indicator.name`)."""
    header = Header(row=-1, columns={})
    kinds = list(fields)
    qualified = len(kinds) > 1
    mapped = {caption_key(k): v for k, v in (aliases or {}).items()}
    for c, value in enumerate(row):
        caption = text_of(value)
        if not caption:
            continue
        header.captions[c] = caption
        key = caption_key(caption)
        found: Field | None = None
        entity = ""
        for kind, known in kinds:
            if key in mapped:  # `name`, or `project.name` where there are several kinds
                wanted, _, bare = mapped[key].rpartition(".")
                found = known.get(bare) if wanted in ("", kind) else None
            else:
                found = known.lookup(caption)
            if found is not None:
                entity = kind
                break
        if found is None:
            header.unknown[c] = caption
            continue
        name = f"{entity}.{found.key}" if qualified else found.key
        if name not in header.columns:
            header.columns[name] = c
            header.entity[name] = entity
        else:
            header.others.setdefault(name, []).append(c)
        unit = unit_of(caption)
        if unit is not None:
            header.units[c] = unit
    return header


# Captions that say what a column is only under their group's: 指标值 over 符号 | 数值 | 单位.
_VALUE_PARTS = {"符号": "计算符号", "运算符": "计算符号", "数值": "", "值": "", "数字": "",
                "单位": "计量单位"}  # fmt: skip


def _combined(row: list[Cell], below: list[Cell]) -> list[Cell]:
    """Two header rows as one: each column captioned by the lower row where it says
    something, else by the upper (a caption merged down). Under a value's group caption
    (指标值, merged across), the parts 符号, 数值 and 单位 are its operator, the value
    itself and its unit."""
    width = max(len(row), len(below))
    out: list[Cell] = []
    group = ""  # the upper caption, carried right across the blank cells of its merge
    for c in range(width):
        upper = text_of(row[c]) if c < len(row) else ""
        lower = below[c] if c < len(below) else None
        if upper:
            group = upper
        elif not text_of(lower):
            group = ""
        part = _VALUE_PARTS.get(caption_key(text_of(lower)))
        if part is not None and "值" in caption_key(group):
            out.append(part or group)
        else:
            out.append(lower if text_of(lower) else (row[c] if c < len(row) else None))
    return out


def first_header(
    rows: list[list[Cell]],
    fields: Iterable[tuple[str, Fields]],
    accept: Callable[[Header], bool],
    aliases: dict[str, str] | None = None,
    most: int = 50,
) -> Header | None:
    """The first header among the first `most` rows that `accept` takes: a row alone, or a
    row under a row of group captions (`资金来源` over 财政拨款 …, `绩效指标` over 一级指标
    …); of the two, the one that names more fields."""
    kinds = list(fields)

    def accepted(top: int, last: int, captions: list[Cell]) -> Header | None:
        header = match_header(captions, kinds, aliases)
        header.top, header.row = top, last
        return header if accept(header) else None

    def best(r: int) -> Header | None:
        alone = accepted(r, r, rows[r])
        if r + 1 >= len(rows):
            return alone
        # A row of group captions over the next: it counts where it names more fields than
        # the lower row alone.
        group = accepted(r, r + 1, _combined(rows[r], rows[r + 1]))
        below = match_header(rows[r + 1], kinds, aliases)
        if group is not None and len(group.columns) > len(below.columns):
            return group if alone is None or len(group.columns) > len(alone.columns) else alone
        return alone

    for r in range(min(most, len(rows))):
        first = best(r)
        if first is not None:
            # The rows just under may hold a fuller header (group captions over the real
            # ones): the one that names the most fields wins, the earliest of equals.
            near = [h for n in (r + 1, r + 2) if n < len(rows) and (h := best(n))]
            return max([first, *near], key=lambda h: (len(h.columns), -h.row))
    return None


def find_header(
    sheet: Sheet,
    fields: Iterable[tuple[str, Fields]],
    accept: Iterable[str],
    most: int = 50,
    aliases: dict[str, str] | None = None,
) -> Header | None:
    """The first row among the first `most` whose captions name every field of `accept`."""
    wanted = set(accept)
    return first_header(sheet.rows, fields, lambda h: wanted <= set(h.columns), aliases, most)


@dataclass
class Preamble:
    """What the lines above a header say: the department, the year, the money unit."""

    department: str | None = None
    year: int | None = None
    unit: str | None = None


def read_preamble(rows: list[list[Cell]]) -> Preamble:
    found = Preamble()
    for row in rows:
        cells = [text_of(v) for v in row]
        for i, text in enumerate(cells):
            if not text:
                continue
            if found.unit is None and (unit := _UNIT_LINE.search("".join(text.split()))):
                found.unit = unit.group(1)
            department = _DEPARTMENT.match(text)
            if department and department.group("name") and found.department is None:
                name = _UNIT_LINE.split(department.group("name"))[0]
                found.department = re.split(r"\s{2,}|　", name)[0].strip() or None
            elif _DEPARTMENT_LABEL.match(text) and found.department is None:
                following = [t for t in cells[i + 1 :] if t]
                if following:
                    found.department = following[0]
            if found.year is None and (year := _YEAR.search(text)):
                found.year = int(year.group(1))
    return found


def sum_row(*texts: str) -> str | None:
    """What a row's label cells say it is: `total` (合计, 总计, written in whichever of them),
    `subtotal` (小计, or a name ending in 小计: the sum of the rows above it), or None."""
    for text in texts:
        key = "".join(text.split())
        if key in ("合计", "总计"):
            return "total"
        if key.endswith("小计"):
            return "subtotal"
    return None


_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:分|%|％)?\s*$")


def parse_weight(text: str) -> Decimal | None:
    """A weight (权重, 分值) as written: `30`, `30分`, `20%`; None for a blank cell. Raises
    ValueError for anything else."""
    folded = unicodedata.normalize("NFKC", text).strip()
    if not folded:
        return None
    match = _WEIGHT.match(folded)
    if match is None:
        raise ValueError(text)
    return Decimal(match.group(1))


def sources_disagree(project: Project, written: Iterable[str]) -> dict[str, Any] | None:
    """Where a project's declared 总计 is not the sum of its funding sources, the figures
    for the message; `written`: the money fields the table has. None where they agree, or
    where there is nothing to add up (no 总计, no sources, or one that does not apply)."""
    keys = set(written)
    sources = [project.get(f.key) for f in PROJECT.sources if f.key in keys]
    if project.total is None or "total" not in keys or not sources or None in sources:
        return None
    summed = project.sources_sum()
    if summed == project.total:
        return None
    return {"total": fmt(project.total), "summed": fmt(summed),
            "diff": fmt(abs(project.total - summed))}  # fmt: skip


_ORGANISATION = ("局", "院", "馆", "中心", "站", "委", "办", "所", "队", "校", "政府", "部", "处",
                 "厅", "会", "室", "社", "园", "场")  # fmt: skip


def is_organisation(name: str) -> bool:
    """Does a name name a unit (某市档案馆, 301001-某市就业中心) rather than a project or a
    unit of measure (卷, %)?"""
    name = split_code(name)[1]
    return len(name) >= 3 and name.endswith(_ORGANISATION)


def split_code(text: str) -> tuple[str | None, str]:
    """A code written before a name (`820-某某镇部门` → `820`, `某某镇部门`); codes have a
    digit and at least three characters, so that `1-产出指标` is left to the levels."""
    match = _CODED.match(text)
    if match and match.group("bracketed"):
        return match.group("bracketed"), match.group("name")
    if match and len(match.group("code")) >= 3:
        return match.group("code"), match.group("name")
    return None, text.strip()


def clean_label(text: str) -> str:
    """A level label without spaces, marks and what brackets hold (`产 出(50分)` → `产出`)."""
    return _LABEL_NOISE.sub("", text)


def split_level(text: str, level: int | None = None) -> tuple[str | None, str | None]:
    """A 一级 or 二级 cell as (code, label): `1-产出指标`, `11 数量指标`, `产出指标(50分)`,
    `2`. The label is kept as written, without marks and points. An ordinal before it
    (`一、产出指标`, `1.数量指标`, `（一）`) is no code, nor, in a 二级 cell (`level` 2), is
    one digit before a label (`1、数量指标`: 二级 codes have two)."""
    text = text.strip()
    if not text:
        return None, None
    ordinal = _ORDINAL.match(text)
    if ordinal and ordinal.end() < len(text):
        return None, clean_label(text[ordinal.end() :]) or None
    match = _LEVEL_CODE.match(text)
    if match:
        code, label = match.group("code"), clean_label(match.group("label") or "") or None
        if level == 2 and len(code) == 1 and label:
            return None, label
        return code, label
    return None, clean_label(text) or None


def apply_codeset(table: TargetTable, given: CodeSet | None, file: str) -> Issue | None:
    """Settle the code set of a table that is not our template: the one given (`--codeset`),
    else the one its codes and labels tell (`14-成本指标` is the legacy set), else 2021;
    then fill in the codes of levels written as labels only. A table that mixes the two
    sets gets an issue."""
    levels = [(i.level2, i.level2_label) for p in table.projects for i in p.indicators]
    name, mixed = detect_codeset(levels)
    codeset = given or load_codeset(name or DEFAULT_CODESET)
    table.codeset = codeset.name
    for project in table.projects:
        for indicator in project.indicators:
            if indicator.raw is None:
                resolve_levels(indicator, codeset)
    if mixed and given is None:
        return cat.CODESET_MIXED.issue(file=file, codeset=codeset.name)
    return None


def resolve_levels(indicator: Indicator, codeset: CodeSet) -> None:
    """Fill in a 一级 or 二级 code written as a label only (`产出指标`), from the code set.
    A code that was written is never changed."""
    if indicator.level1 is None and indicator.level1_label:
        found = codeset.l1_by_label(clean_label(indicator.level1_label))
        indicator.level1 = found.code if found else None
    if indicator.level2 is None and indicator.level2_label:
        found = codeset.l2_by_label(clean_label(indicator.level2_label))
        indicator.level2 = found.code if found else None
    if indicator.level1 is None and indicator.level1_label is None and indicator.level2:
        # A form that gives the 二级 only: its 一级 is the one it sits under.
        level2 = codeset.l2(indicator.level2)
        level1 = codeset.l1(level2.parent) if level2 else None
        if level1 is not None:
            indicator.level1, indicator.level1_label = level1.code, level1.label
