"""Money. Amounts are in 万元 and always `Decimal`; no float ever holds one for longer than
the conversion of a spreadsheet's number cell.

People write `7,895.82`, `1,209.08`, `44, 770. 21`, `￥1,209.08`, full-width digits, or a
trailing 万元 or 元. A table in 元 (or 千元, 亿元) is converted exactly (3,309,840.00 元 is
330.984 万元, never rounded), so an amount may carry more than two decimals; those entered in
万元 keep two. A cell that says the amount does not apply (`*`, `——`, `/`, `无`) is no
amount: None, not zero. Thousands separators in the wrong place (`1,2345.67`: 12,345.67 or
1,234.567?) make no amount one can be sure of: an error, never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # commas every three digits
# Each money unit, and the power of ten that takes it to 万元.
UNITS = {"元": -4, "千元": -1, "万元": 0, "百万元": 2, "亿元": 4}
_UNIT_SUFFIXES = (("百万元", 2), ("万元", 0), ("亿元", 4), ("千元", -1), ("元", -4), ("万", 0))
_CURRENCY = "￥¥"  # a currency sign before the number (NFKC folds ￥ to ¥)
# Written where an amount does not apply.
NOT_APPLICABLE = frozenset({"*", "**", "-", "--", "—", "——", "－", "/", "无", "不适用", "／"})
_WAN = "万元"


class AmountError(ValueError):
    """The text is not an amount."""


def from_float(value: float) -> Decimal:
    """A number cell as Excel shows it: 15 significant digits, then exact decimal."""
    return Decimal(format(value, ".15g"))


def parse_amount(value: object) -> Decimal | None:
    """Parse a cell into an amount; None for a blank cell. Raises AmountError otherwise.

    The result keeps two decimals when it has at most two (`83.4` → `83.40`), so that a
    number cell and its text agree; more decimals are kept for the validator to flag.
    """
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise AmountError(str(value))
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        text = format(value, ".15g")
        if text[-1].isdigit() and "e" not in text:
            # The common case: already as Excel shows it; to the cent by padding the text.
            dot = text.find(".")
            if dot < 0:
                return Decimal(text + ".00")
            if len(text) - dot <= 3:
                return Decimal(text.ljust(dot + 3, "0"))
        number = Decimal(text)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if not text:
            return None
        scale = 0
        for suffix, power in _UNIT_SUFFIXES:
            if text.endswith(suffix):
                text, scale = text[: -len(suffix)], power
                break
        text = re.sub(r"\s", "", text).lstrip(_CURRENCY)
        if text.startswith(("RMB", "人民币")):
            text = text.removeprefix("RMB").removeprefix("人民币")
        if "," in text:
            if not _GROUPED.fullmatch(text):  # `1,2345.67`: no amount to be sure of
                raise AmountError(str(value))
            text = text.replace(",", "")
        if not _AMOUNT.fullmatch(text):
            raise AmountError(str(value))
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - guarded by the pattern
            raise AmountError(str(value)) from exc
        if scale:  # written in another unit: to 万元, exactly
            return tidy(number.scaleb(scale))
    if not number.is_finite():
        raise AmountError(str(value))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        try:
            number = number.quantize(CENT)
        except InvalidOperation as exc:  # beyond 28 digits: no budget amount
            raise AmountError(str(value)) from exc
    return number


def readings(value: object) -> list[Decimal]:
    """The amounts a text that is none could have meant, where its separators allow more
    than one: `1 209,08` and `1.209,08` (a comma for the decimal point: 1,209.08; or for
    thousands: 120,908 and 1.20908), `1,2345.67` (12,345.67, or 1.234567). None where the
    text is no number at all (`壹仟`)."""
    text = "".join(unicodedata.normalize("NFKC", str(value or "")).split())
    text = text.lstrip(_CURRENCY)
    if not text or not re.fullmatch(r"[+-]?[\d.,']+", text) or not any(c.isdigit() for c in text):
        return []
    text = text.replace("'", "")  # a Swiss thousands mark
    candidates = [
        text.replace(".", "").replace(",", "."),  # a comma for the point, dots for thousands
        text.replace(",", ""),  # commas for thousands, a dot for the point
    ]
    found: list[Decimal] = []
    for candidate in candidates:
        if _AMOUNT.fullmatch(candidate):
            number = Decimal(candidate)
            if number not in found:
                found.append(number)
    return found


def said_readings(value: object) -> str:
    """`：可能是 1,209.08 或 120,908，无法确定是哪一个` for an ambiguous text; `` otherwise."""
    found = readings(value)
    if not found:
        return ""
    said = " 或 ".join(f"{number:,}" for number in found)
    return f"：可能是 {said}，无法确定" + ("是哪一个" if len(found) > 1 else "")


def tidy(amount: Decimal) -> Decimal:
    """An exact amount with two decimals where two say it all, and no trailing zeros
    beyond (`330.984000` → `330.984`, `5.0000` → `5.00`)."""
    cents = amount.quantize(CENT) if abs(amount) < Decimal("1e24") else amount
    return cents if cents == amount else amount.normalize()


_UNIT_NAMED = re.compile(r"(百万元|万元|亿元|千元|元)")


def unit_of(text: object) -> str | None:
    """The money unit a unit line or a caption names: `单位：万元`, `金额单位:元`,
    `（万元）`, `金额(元)`, `单位（千元）`; None where it names none."""
    folded = "".join(unicodedata.normalize("NFKC", str(text or "")).split())
    found = _UNIT_NAMED.search(folded)
    return found.group(1) if found else None


def parse_money(value: object, unit: str | None = _WAN) -> Decimal | None:
    """A cell as an amount in 万元, from a table whose amounts are in `unit` (元, 千元, 万元,
    亿元); a unit written in the cell wins. None for a blank cell, or one that says the amount
    does not apply; raises AmountError for anything else that is not an amount."""
    if isinstance(value, str):
        text = "".join(unicodedata.normalize("NFKC", value).split())
        if not text or text in NOT_APPLICABLE:
            return None
        if text.endswith(("元", "万")):  # the cell says its unit
            return parse_amount(text)
    amount = parse_amount(value)
    power = UNITS.get(unit or _WAN, 0)
    if amount is None or not power:
        return amount
    return tidy(amount.scaleb(power))


def places(amount: Decimal) -> int:
    """Decimal places actually used (`1.50` → 1, `1.234` → 3)."""
    exponent = amount.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def beyond_cent(amount: Decimal) -> bool:
    """Does the amount use more than two decimal places (`1.234`, not `1.230`)?"""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:  # the common case, read to the cent
        return False
    return places(amount) > 2


def rounding_tolerance(parts: int, unit: str | None = _WAN) -> Decimal:
    """How far a declared total may stand from the sum of `parts` rounded amounts, in 万元,
    because each part was rounded to the cent of its table's unit on its own: half a cent
    each (of 万元, or of 元 where the table is in 元)."""
    half_cent = Decimal("0.005") * max(parts, 1)
    return half_cent.scaleb(UNITS.get(unit or _WAN, 0))


def fmt(amount: Decimal | None) -> str:
    """`7895.8` → `7,895.80`, for messages."""
    if amount is None:
        return "（空）"
    if beyond_cent(amount):  # converted from 元: every place it has
        return f"{amount.normalize():,f}"
    return f"{amount:,.2f}"
