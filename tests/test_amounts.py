from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfxl.domain.amounts import (
    AmountError,
    beyond_cent,
    from_float,
    parse_amount,
    places,
    rounding_tolerance,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7,895.82", "7895.82"),
        ("1,209.08", "1209.08"),
        ("44, 770. 21", "44770.21"),
        ("８３.４", "83.40"),
        ("120万元", "120.00"),
        ("1,796.00 万元", "1796.00"),
        (7895.82, "7895.82"),
        (83.4, "83.40"),
        (12, "12.00"),
        (0.1 + 0.2, "0.30"),
        ("1.234", "1.234"),
        (Decimal("5"), "5.00"),
        ("-3.5", "-3.50"),
    ],
)
def test_amounts_parse_to_decimal(raw: object, expected: str) -> None:
    value = parse_amount(raw)
    assert isinstance(value, Decimal) and str(value) == expected


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_is_none(raw: object) -> None:
    assert parse_amount(raw) is None


@pytest.mark.parametrize(
    "raw", ["abc", "12.3.4", "1,2a", True, float("nan"), float("inf"), 1e300, "#N/A"]
)
def test_not_an_amount(raw: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(raw)


def test_helpers() -> None:
    assert from_float(7895.799999999999) == Decimal("7895.8")
    assert places(Decimal("1.50")) == 1 and places(Decimal("1.234")) == 3
    assert rounding_tolerance(38) == Decimal("0.190")
    assert [beyond_cent(Decimal(t)) for t in ("1.234", "1.230", "1.2", "100", "1E+2", "0.001")] == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]


def _by_definition(value: float) -> Decimal:
    """A number cell's amount as defined: 15 significant digits, then to the cent when it
    has at most two decimals."""
    number = from_float(value)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        try:
            return number.quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise AmountError(str(value)) from exc
    return number


@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(-(10**17), 10**17).map(lambda cents: cents / 100),
        st.integers(-(10**17), 10**17).map(float),
    )
)
def test_number_cells_follow_the_definition(value: float) -> None:
    try:
        expected: Decimal | str = _by_definition(value)
    except AmountError:
        expected = "error"
    try:
        got: Decimal | str = parse_amount(value)
    except AmountError:
        got = "error"
    assert str(got) == str(expected)
