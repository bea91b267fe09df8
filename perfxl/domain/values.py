"""Indicator values (指标值): the text as written, and its parse into 计算符号, number, unit.

The national system stores a value as 计算符号 + 指标值 + 计量单位. People write `≥90%`,
`不少于200人`, `95%以上`, `25篇` or a sentence (`稳步提高`). The parse never invents an
operator: `25篇` has none, and stays without one.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

Operator = Literal["≥", "＞", "＝", "＜", "≤", "定性"]
QUALITATIVE: Operator = "定性"
OPERATORS: tuple[Operator, ...] = ("≥", "＞", "＝", "＜", "≤")

# Words and symbols that stand for an operator, before the number. Longest first, so that
# 大于或等于 wins over 大于 and 不少于 over 少于. Matched after NFKC folding (＞ → >).
_PREFIX_WORDS: tuple[tuple[str, Operator], ...] = tuple(
    sorted(
        [
            ("≥", "≥"),
            (">=", "≥"),
            ("≧", "≥"),
            ("不少于", "≥"),
            ("不低于", "≥"),
            ("大于等于", "≥"),
            ("大于或等于", "≥"),
            ("不小于", "≥"),
            ("≤", "≤"),
            ("<=", "≤"),
            ("≦", "≤"),
            ("不超过", "≤"),
            ("小于或等于", "≤"),
            ("小于等于", "≤"),
            ("不高于", "≤"),
            ("不大于", "≤"),
            ("不多于", "≤"),
            (">", "＞"),
            ("大于", "＞"),
            ("高于", "＞"),
            ("超过", "＞"),
            ("多于", "＞"),
            ("<", "＜"),
            ("小于", "＜"),
            ("低于", "＜"),
            ("少于", "＜"),
            ("=", "＝"),
            ("等于", "＝"),
        ],
        key=lambda pair: -len(pair[0]),
    )
)
# Words after the number and unit: 95%以上, 5天以内.
_SUFFIX_WORDS: tuple[tuple[str, Operator], ...] = (
    ("及以上", "≥"),
    ("以上", "≥"),
    ("及以下", "≤"),
    ("以下", "≤"),
    ("以内", "≤"),
)
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# A unit is short and is not a sentence: no digits, no sentence punctuation.
_UNIT_FORBIDDEN = re.compile(r"[\d,.;:!?，。；：！？、\s]")
_UNIT_MAX = 10
# Written where there is no value.
PLACEHOLDERS = frozenset({"*", "-", "_", "/", "—", "－", "——", "无", "暂无", "空"})


class IndicatorValue(BaseModel):
    """One value as written, with its parse. `operator` is None when none was written (or
    the value is blank or a placeholder), `定性` for a statement."""

    model_config = ConfigDict(frozen=True)

    text: str
    operator: Operator | None = None
    number: Decimal | None = None
    unit: str | None = None

    @property
    def kind(self) -> Literal["blank", "定量", "定性"]:
        if self.number is not None:
            return "定量"
        if self.operator == QUALITATIVE:
            return "定性"
        return "blank"

    @property
    def is_placeholder(self) -> bool:
        return self.text.strip() in PLACEHOLDERS

    @classmethod
    def parse(cls, text: str) -> IndicatorValue:
        return parse_value(text)


def fold(text: str) -> str:
    """Full-width forms to ASCII (NFKC), for matching only; the text itself is kept."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=65536)
def parse_value(text: str) -> IndicatorValue:
    stripped = text.strip()
    if not stripped or stripped in PLACEHOLDERS:
        return IndicatorValue(text=text)
    written = re.sub(r"\s+", "", stripped)
    # Fold character by character so that positions in `folded` are positions in `written`
    # and the unit is taken as written (（人） stays full-width); fall back to plain folding
    # when a character folds into several (㎡ → m2).
    pieces = [fold(ch) for ch in written]
    aligned = all(len(piece) == 1 for piece in pieces)
    folded = "".join(pieces) if aligned else fold(written)
    source = written if aligned else folded
    operator: Operator | None = None
    start = 0
    for word, op in _PREFIX_WORDS:
        if folded.startswith(word):
            operator, start = op, len(word)
            break
    rest = folded[start:]
    match = _NUMBER.match(rest)
    if match is None:
        return IndicatorValue(text=text, operator=QUALITATIVE)
    tail_start, tail_end = start + match.end(), len(folded)
    for word, op in _SUFFIX_WORDS:
        if folded.endswith(word) and tail_end - len(word) >= tail_start:
            tail_end -= len(word)
            operator = operator or op
            break
    tail = folded[tail_start:tail_end]
    if len(tail) > _UNIT_MAX or _UNIT_FORBIDDEN.search(tail):
        return IndicatorValue(text=text, operator=QUALITATIVE)
    try:
        number = Decimal(match.group().replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return IndicatorValue(text=text, operator=QUALITATIVE)
    unit = source[tail_start:tail_end]
    return IndicatorValue(text=text, operator=operator, number=number, unit=unit or None)


def compose_value(operator: str | None, number: str, unit: str | None) -> str:
    """The text of a value entered as separate columns (计算符号, 指标值, 计量单位). An
    operator or a unit the value already says (`≥1500` beside `≥`, `98%` beside `%`) is
    not written twice."""
    text = number.strip()
    said = parse_value(text).operator not in (None, QUALITATIVE)
    op = "" if operator in (None, "", QUALITATIVE) or said else operator.strip()
    unit = (unit or "").strip()
    if unit and fold(text).endswith(fold(unit)):
        unit = ""
    return f"{op}{text}{unit}"
