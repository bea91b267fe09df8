from __future__ import annotations

from decimal import Decimal

import pytest

from perfxl.domain.values import IndicatorValue, compose_value


@pytest.mark.parametrize(
    ("text", "operator", "number", "unit"),
    [
        ("≥90%", "≥", "90", "%"),
        ("25篇", None, "25", "篇"),  # a missing operator stays missing
        ("≥9.2万", "≥", "9.2", "万"),
        ("2130元/人", None, "2130", "元/人"),
        ("200条", None, "200", "条"),
        ("50", None, "50", None),
        ("≥3000户（人）", "≥", "3000", "户（人）"),
        (">=95%", "≥", "95", "%"),
        ("＞5次", "＞", "5", "次"),
        ("＝100%", "＝", "100", "%"),
        ("<3天", "＜", "3", "天"),
        ("≤5%", "≤", "5", "%"),
        ("不少于200人", "≥", "200", "人"),
        ("不低于95%", "≥", "95", "%"),
        ("大于等于2245路", "≥", "2245", "路"),
        ("大于或等于95%", "≥", "95", "%"),
        ("95%以上", "≥", "95", "%"),
        ("不超过10天", "≤", "10", "天"),
        ("小于或等于0次", "≤", "0", "次"),
        ("5个工作日以内", "≤", "5", "个工作日"),
        ("１,２００人", None, "1200", "人"),
        (" ≥ 80% ", "≥", "80", "%"),
    ],
)
def test_quantitative_values(
    text: str, operator: str | None, number: str, unit: str | None
) -> None:
    value = IndicatorValue.parse(text)
    assert (value.operator, value.number, value.unit) == (operator, Decimal(number), unit)
    assert value.text == text and value.kind == "定量"


@pytest.mark.parametrize(
    "text",
    [
        "稳步提高",
        "全年无重大安保事故",
        "2025年12月前",
        "不低于省标准",
        "不少于四种培训类别",
        "支出75.05万元",
        "技能培训合格率达到95%",
        "每月25日前发放补贴资金",
        "被评估人员满意度超过90%",
        "合格以上",
    ],
)
def test_qualitative_values(text: str) -> None:
    value = IndicatorValue.parse(text)
    assert (value.operator, value.number, value.unit, value.kind) == ("定性", None, None, "定性")


@pytest.mark.parametrize("text", ["", "  ", "无", "*", "-", "_"])
def test_blank_and_placeholder_values_have_no_operator(text: str) -> None:
    value = IndicatorValue.parse(text)
    assert (value.operator, value.number, value.kind) == (None, None, "blank")
    assert value.is_placeholder == bool(text.strip())


def test_compose_value_from_separate_columns() -> None:
    assert compose_value("≥", "90", "%") == "≥90%"
    assert compose_value(None, "25", "篇") == "25篇"
    assert compose_value("定性", "稳步提高", None) == "稳步提高"
