"""A detail table's row from a row of the store: the fields' values in their columns
(amounts as Decimal, extra fields from their JSON, an indicator value's 计算符号, number
and unit), fast for the usual row. Used by the detail tables (ledger/details.py)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from operator import itemgetter
from typing import Any

from perfxl.domain.fields import INDICATOR, PROJECT, Field, Fields
from perfxl.ledger.queries import DECIMALS, decode_extra, to_decimal


def row_values(
    fields: tuple[Field, ...], row: Any, extra: dict[str, Any], raw: str | None = None
) -> list[object]:
    """The fields' values in a row of the store: amounts as Decimal, extra fields from their
    JSON, an indicator's name as written (`raw`) when it could not be parsed."""

    def value_of(name: str) -> object:
        if name in extra:
            return extra[name]
        if name == "name" and raw is not None:
            return raw
        value = row[name] if name in _ROW_COLUMNS else None
        return to_decimal(value) if name in DECIMALS else value

    return [v for f in fields for v in f.shown(value_of)]


_ROW_COLUMNS = frozenset(PROJECT.attributes) | frozenset(INDICATOR.attributes)


class Rows:
    """The rows of a detail table from the rows of a store query: the `head` columns, the
    fields' values (`_row_values`), the `tail` columns.

    Fast for the usual row (no extra field, an indicator's name parsed): its columns are
    taken by position in one C call, as planned from the fields' `shown` on the first such
    row (and checked against the slow way there), amounts made Decimal, an indicator
    value's 计算符号, number and unit worked out once for each distinct text. Any other row
    goes the slow way."""

    def __init__(
        self, fields: Fields, head: tuple[str, ...], tail: tuple[str, ...], raw: bool = False
    ) -> None:
        self.all_fields, self.fields = fields, fields.modelled
        self.head, self.tail, self.raw = head, tail, raw
        self.plan: _Plan | None = None
        self.fast: bool | None = None  # the plan, checked against the slow way on a usual row

    def slow(self, row: Any) -> list[object]:
        extra = decode_extra(row["extra"], self.all_fields)
        raw = row["raw"] if self.raw else None
        return [
            *(row[name] for name in self.head),
            *row_values(self.fields, row, extra, raw),
            *(row[name] for name in self.tail),
        ]

    def __call__(self, row: Any) -> list[object]:
        plan = self.plan
        if plan is None:
            plan = self.plan = _Plan(self, list(row.keys()))
        if (
            self.fast is False
            or row[plan.extra] != "{}"
            or (plan.raw is not None and row[plan.raw] is not None)
        ):
            return self.slow(row)
        if self.fast:
            return plan.values(row)
        values = self.slow(row)
        self.fast = plan.values(row) == values  # False: a field shown in a way not foreseen
        return values


class _Plan:
    """Where each value of a table's row is in the store's row, and what it needs."""

    _PARTS = 100_000  # distinct indicator value texts remembered, per field

    def __init__(self, rows: Rows, keys: list[str]) -> None:
        index: dict[str, int] = {}
        for n, key in enumerate(keys):
            index.setdefault(key, n)
        self.extra = index["extra"]
        self.raw = index["raw"] if rows.raw else None
        sources: list[int] = []
        self.decimals: list[int] = []
        self.nones: list[int] = []
        self.parts: list[tuple[int, Field, dict[object, list[object]]]] = []

        def take(name: str, known: bool = True, decimal: bool = False) -> None:
            if known and name in index:
                if decimal:
                    self.decimals.append(len(sources))
                sources.append(index[name])
            else:  # as `_row_values` has it: a field with no column of the row is none
                self.nones.append(len(sources))
                sources.append(0)

        for name in rows.head:
            take(name)
        for f in rows.fields:
            if f.type == "value":  # its text, then the parts shown after it
                names = [f.key] * len(f.titles)
                self.parts.append((len(sources), f, {}))
            else:
                names = [str(name) for name in f.shown(lambda name: name)]
            for name in names:
                take(name, name in _ROW_COLUMNS, name in DECIMALS)
        for name in rows.tail:
            take(name)
        self.take = itemgetter(*sources)

    def values(self, row: Any) -> list[object]:
        out = list(self.take(row))
        for slot in self.decimals:
            value = out[slot]
            if value is not None:
                out[slot] = Decimal(value)
        for slot in self.nones:
            out[slot] = None
        for slot, field, known in self.parts:
            text = out[slot]
            parts = known.get(text)
            if parts is None:
                if len(known) >= self._PARTS:
                    known.clear()
                parts = known[text] = field.shown(_always(text))
            out[slot : slot + len(parts)] = parts
        return out


def _always(value: object) -> Callable[[str], object]:
    return lambda _: value
