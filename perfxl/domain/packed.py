"""The packed published form of indicators: all of a project's indicators in one cell.

    1、1-产出指标；11-数量指标；媒体报道篇数；实施周期指标值:25篇；年度指标值:25篇。2、…

Items are numbered `N、`, fields are `一级；二级；三级；实施周期指标值:V；年度指标值:V`, an item
ends with `。`. Tables in the wild use `;` for `；`, `：` for `:`, spaces after separators,
`<p>…</p>` around the cell, hard line breaks in the middle of words (converted from PDF),
and a `。` inside a name or value. `parse` reads all of these; `render` writes the canonical
form; `normalise` maps any cell to the canonical form of the same content, so that
`render(parse(s)) == normalise(s)` and `parse(render(x)) == x`.

The codec knows no code set: a level written without its code keeps `None` for the code,
which the importer fills in from the code set's labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from perfxl.domain.model import Indicator

PERIOD_LABEL = "实施周期指标值"
ANNUAL_LABEL = "年度指标值"

_TAG = re.compile(r"</?\s*(?:p|br|span|div)\b[^>]*>", re.IGNORECASE)
_BREAK = re.compile(r"[\r\n\u2028\u2029]+")
_SEMI = re.compile(r"\s*[;；]\s*")
_DASH = "-－—–"
# An item starts at the beginning or after `。`, with its number and `、`, and goes on with
# something that opens an item: a level code (`1-`) or a 一级 label. The look-ahead keeps a
# `。2、` inside a name or value from splitting it.
_ITEM_START = re.compile(
    rf"(?:^|\s*(?<=。))\s*(\d{{1,3}})\s*、\s*(?=\d{{1,2}}\s*[{_DASH}]|产出|效益|满意度|成本)"
)
_FIELDS = re.compile(
    rf"^(?P<head>.*?)\s*[;；]\s*(?:{PERIOD_LABEL}\s*[:：]\s*(?P<period>.*?)\s*[;；]\s*)?"
    rf"{ANNUAL_LABEL}\s*[:：]\s*(?P<annual>.*?)\s*$",
    re.DOTALL,
)
_LEVEL = re.compile(rf"^(?P<code>\d{{1,2}})\s*(?:[{_DASH}]\s*(?P<label>.*?))?\s*$")
_LEVEL_DASH = re.compile(rf"(?<=^\d)\s*[{_DASH}]\s*|(?<=^\d\d)\s*[{_DASH}]\s*")


def clean_cell(text: str) -> str:
    """Drop HTML tags around the text and join hard line breaks (they split words)."""
    text = _TAG.sub("", text)
    return _BREAK.sub("", text).strip()


def split_items(text: str) -> list[str]:
    """The bodies of the numbered items, without number and closing `。`."""
    cleaned = clean_cell(text)
    if not cleaned:
        return []
    starts = list(_ITEM_START.finditer(cleaned))
    if not starts or starts[0].start() != 0:
        # Not numbered from the start: one item, parsed or kept verbatim by the caller.
        return [_strip_end(cleaned)]
    bodies = []
    for here, following in zip(starts, [*starts[1:], None], strict=True):
        end = following.start() if following else len(cleaned)
        bodies.append(_strip_end(cleaned[here.end() : end]))
    return bodies


def _strip_end(body: str) -> str:
    body = body.strip()
    return body[:-1].rstrip() if body.endswith("。") else body


def _level(field: str) -> tuple[str | None, str | None]:
    field = field.strip()
    if not field:
        return None, None
    match = _LEVEL.match(field)
    if match is None:
        return None, field
    return match.group("code"), (match.group("label") or None)


def parse_item(body: str) -> Indicator:
    """One item's body into an indicator; one that does not fit the grammar is kept in
    `raw`, verbatim."""
    match = _FIELDS.match(body)
    head = _SEMI.split(match.group("head"), maxsplit=2) if match else []
    if match is None or len(head) != 3:
        return Indicator(raw=body)
    code1, label1 = _level(head[0])
    code2, label2 = _level(head[1])
    return Indicator(
        level1=code1,
        level1_label=label1,
        level2=code2,
        level2_label=label2,
        name=head[2].strip(),
        period=(match.group("period") or "").strip(),
        annual=match.group("annual").strip(),
    )


def parse(text: str) -> list[Indicator]:
    """A 绩效指标 cell into its indicators, in order. Items that do not fit the grammar
    come back with `raw` set (never dropped)."""
    return [parse_item(body) for body in split_items(text)]


def _render_level(code: str | None, label: str | None) -> str:
    if code and label:
        return f"{code}-{label}"
    return code or label or ""


def render_item(number: int, indicator: Indicator) -> str:
    if indicator.raw is not None:
        return f"{number}、{indicator.raw}。"
    return (
        f"{number}、{_render_level(indicator.level1, indicator.level1_label)}；"
        f"{_render_level(indicator.level2, indicator.level2_label)}；{indicator.name}；"
        f"{PERIOD_LABEL}:{indicator.period}；{ANNUAL_LABEL}:{indicator.annual}。"
    )


def render(indicators: Iterable[Indicator]) -> str:
    """Indicators into one 绩效指标 cell, in the canonical form."""
    return "".join(render_item(n, ind) for n, ind in enumerate(indicators, start=1))


def normalise(text: str) -> str:
    """The canonical form of a cell, by text alone: tags and line breaks gone, `；` and `:`
    as the field separators with no space around them, level codes as `1-`, items
    numbered from 1, each ending with `。`, a missing 实施周期 field written empty. Text
    inside names and values is left as it is."""
    out = []
    for number, body in enumerate(split_items(text), start=1):
        match = _FIELDS.match(body)
        head = _SEMI.split(match.group("head"), maxsplit=2) if match else []
        if match is None or len(head) != 3:
            out.append(f"{number}、{body}。")
            continue
        level1, level2, name = (field.strip() for field in head)
        period = (match.group("period") or "").strip()
        out.append(
            f"{number}、{_LEVEL_DASH.sub('-', level1, count=1)}；"
            f"{_LEVEL_DASH.sub('-', level2, count=1)}；{name}；"
            f"{PERIOD_LABEL}:{period}；{ANNUAL_LABEL}:{match.group('annual').strip()}。"
        )
    return "".join(out)
