"""Money. Amounts are in 万元 with two decimals and are always `Decimal`; no float ever
holds one for longer than the conversion of a spreadsheet's number cell.

People write `7,895.82`, `1,209.08`, `44, 770. 21`, full-width digits, or a trailing 万元.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_UNIT_SUFFIXES = ("万元", "元", "万")


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
        for suffix in _UNIT_SUFFIXES:
            if text.endswith(suffix):
                text = text[: -len(suffix)]
                break
        text = re.sub(r"[\s,]", "", text)
        if not _AMOUNT.fullmatch(text):
            raise AmountError(str(value))
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - guarded by the pattern
            raise AmountError(str(value)) from exc
    if not number.is_finite():
        raise AmountError(str(value))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        try:
            number = number.quantize(CENT)
        except InvalidOperation as exc:  # beyond 28 digits: no budget amount
            raise AmountError(str(value)) from exc
    return number


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


def rounding_tolerance(parts: int) -> Decimal:
    """How far a declared total may stand from the sum of `parts` rounded amounts because
    each part was rounded to the cent on its own: half a cent each."""
    return Decimal("0.005") * max(parts, 1)


def fmt(amount: Decimal | None) -> str:
    """`7895.8` → `7,895.80`, for messages."""
    if amount is None:
        return "（空）"
    return f"{amount:,.2f}"
