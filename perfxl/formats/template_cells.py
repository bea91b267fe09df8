"""How the model sits in the template's cells: the sheet and name conventions, an
indicator's values spread over 指标性质, 计算符号, the value columns and 计量单位 (and
composed again on read), the 所属项目 label, and each column's data validation. Shared by
the template's writer and reader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from perfxl.domain.model import Indicator
from perfxl.domain.values import OPERATORS, QUALITATIVE, fold
from perfxl.formats.grid import a1, column_letter
from perfxl.formats.spec import ColumnSpec, SheetSpec

LISTS_SHEET, META_SHEET = "_lists", "_meta"
NATURES = ("定量", "定性")
OPERATOR_CHOICES = (*OPERATORS, QUALITATIVE)
META_PREFIX = "perfxl_"
PROJECT_ROW_PREFIX, INDICATOR_ROW_PREFIX, TASK_ROW_PREFIX = "P", "I", "T"
# The `_meta` key that gives the number of input rows of the sheet whose row ids begin so.
ROW_COUNT_KEYS = {"P": "project_rows", "I": "indicator_rows", "T": "task_rows"}
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


@dataclass
class IndicatorRow:
    """An indicator as the template's columns hold it."""

    nature: str = ""
    operator: str = ""
    period: str = ""
    annual: str = ""
    unit: str = ""


def _number_text(number: Decimal) -> str:
    return format(number, "f")


def split_indicator(indicator: Indicator) -> IndicatorRow:
    """Spread an indicator's two values over 指标性质, 计算符号, the value columns and 计量单位.

    Split only where it is lossless: both values quantitative with one operator and one
    unit, each written exactly as operator + number + unit. Otherwise the texts go into the
    value columns as written, so that reading the template back gives them unchanged.
    """
    period, annual = indicator.period_value, indicator.annual_value
    if (
        annual.kind == "定量"
        and period.kind in ("定量", "blank")
        and (
            not period.text.strip()
            or (period.operator, period.unit) == (annual.operator, annual.unit)
        )
    ):
        op, unit = annual.operator or "", annual.unit or ""
        values = [
            value.text if value.number is None else _number_text(value.number)
            for value in (period, annual)
        ]
        composed = [compose_cell(op, values[0], unit), compose_cell(op, values[1], unit)]
        if composed == [indicator.period, indicator.annual]:
            return IndicatorRow("定量", op, values[0], values[1], unit)
    nature = {"定量": "定量", "定性": "定性"}.get(annual.kind, "")
    return IndicatorRow(
        nature, QUALITATIVE if nature == "定性" else "", indicator.period, indicator.annual, ""
    )


@lru_cache(maxsize=65536)
def compose_cell(operator: str, value: str, unit: str) -> str:
    """The value text from the template's columns; split_indicator's inverse. Operator and
    unit go around a plain number only; anything else (a statement, a placeholder, a value
    written whole like `95%以上`) stands as it was written."""
    if not is_plain_number(value):
        return value
    return f"{'' if operator == QUALITATIVE else operator}{value}{unit}"


def is_plain_number(text: str) -> bool:
    if not text.isascii():  # full-width digits: fold them first
        text = fold(text)
    return bool(_PLAIN_NUMBER.fullmatch(text.replace(" ", "")))


def project_label(seq: int, name: str) -> str:
    """How the 所属项目 drop-down shows a project: its 序号 and name."""
    return f"{seq}、{name}"


def _level_text(code: str | None, label: str | None) -> str:
    if code and label:
        return f"{code}-{label}"
    return code or label or ""


def indicator_cells(indicator: Indicator, project: str | None = None) -> dict[str, object]:
    """An indicator's cells, by column key; `project`: its 所属项目 label, where it has one."""
    owner = {"project": project} if project is not None else {}
    if indicator.raw is not None:
        # Could not be parsed when it was imported: keep the words, in the name column.
        return {**owner, "name": indicator.raw}
    split = split_indicator(indicator)
    return {
        **indicator.extra,
        **owner,
        "level1": _level_text(indicator.level1, indicator.level1_label),
        "level2": _level_text(indicator.level2, indicator.level2_label),
        "name": indicator.name,
        "nature": split.nature,
        "operator": split.operator,
        "period": split.period,
        "annual": split.annual,
        "unit": split.unit,
    }


def validation(sheet: SheetSpec, c: int, column: ColumnSpec, rows: int) -> dict[str, Any] | None:
    """The data validation of a column's input cells (what may be typed, the input message
    and the error alert, in Chinese), or None where the column needs none."""
    first = sheet.first_data_row
    top = a1(first, c)
    prompt = (
        {"input_title": column.header[:32], "input_message": column.help[:255]}
        if column.help
        else {}
    )
    if column.type == "amount":
        rule: dict[str, Any] = {
            "validate": "custom",
            "value": f"=AND(ISNUMBER({top}),{top}>=0,ROUND({top},2)={top})",
            "error_title": "金额不正确",
            "error_message": (f"“{column.header}”须填写不小于 0 的数字，单位万元，最多两位小数。"),
        }
    elif column.type == "list":
        source = {
            "projects": "=LST_PROJECTS",
            "level1": "=LST_L1",
            "operators": "=LST_OPS",
            "nature": "=LST_NATURE",
        }.get(column.list or "")
        if column.list == "level2":
            level1 = sheet.column("level1")
            if level1 is None:
                source = None
            else:
                ref = f"${column_letter(sheet.index('level1'))}{first + 1}"
                source = f'=INDIRECT("L2_"&LEFT({ref},1))'
        if source is None:
            return None
        rule = {
            "validate": "list",
            "source": source,
            "error_title": "请从列表中选择",
            "error_message": f"“{column.header}”只能从下拉列表中选择。"
            + ("请先选择一级指标。" if column.list == "level2" else ""),
        }
    elif column.type in ("text", "longtext") and column.max_length:
        rule = {
            "validate": "length",
            "criteria": "<=",
            "value": column.max_length,
            "error_title": "内容过长",
            "error_message": f"“{column.header}”最多 {column.max_length} 个字。",
        }
    elif column.locked:
        return None
    else:
        rule = {"validate": "any"}
    if rule["validate"] == "any" and not prompt:
        return None
    return {**rule, **prompt}


def fit_height(ws: Any, r: int, sheet: SheetSpec, values: dict[str, str]) -> None:
    """Give a prefilled row the height its wrapped text needs. Neither LibreOffice nor WPS
    fits row heights on load, so long goals would print over the rows below."""
    lines = 1
    for column in sheet.columns:
        if column.type == "longtext":
            # A CJK character is about two width units at the template's 10-point font.
            per_line = max(int(column.width / 2), 1)
            text = values.get(column.key, "")
            lines = max(lines, sum(-(-max(len(part), 1) // per_line) for part in text.split("\n")))
    if lines > 1:
        ws.set_row(r, min(13.5 * lines, 409))
