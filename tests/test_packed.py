"""The packed 绩效指标 cell: every variant of domain.md §5 parses, and the codec round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfxl.domain import packed
from perfxl.domain.model import Indicator
from tests.conftest import seed_cells

CANONICAL = (
    "1、1-产出指标；11-数量指标；媒体报道篇数；实施周期指标值:25篇；年度指标值:25篇。"
    "2、2-效益指标；22-社会效益；审计项目建议采纳率；实施周期指标值:90%；年度指标值:90%。"
)


def fields(inds: list[Indicator]) -> list[tuple[object, ...]]:
    return [
        (i.level1, i.level1_label, i.level2, i.level2_label, i.name, i.period, i.annual, i.raw)
        for i in inds
    ]


EXPECTED = [
    ("1", "产出指标", "11", "数量指标", "媒体报道篇数", "25篇", "25篇", None),
    ("2", "效益指标", "22", "社会效益", "审计项目建议采纳率", "90%", "90%", None),
]


@pytest.mark.parametrize(
    "variant",
    [
        CANONICAL,
        CANONICAL.replace("；", ";"),
        CANONICAL.replace(":", "："),
        CANONICAL.replace("；", "; "),
        CANONICAL.replace("；", " ； ").replace(":", " : "),
        f"<p>{CANONICAL}</p>",
        CANONICAL[:30] + "\n" + CANONICAL[30:61] + "\r\n" + CANONICAL[61:],
        CANONICAL.rstrip("。"),
        CANONICAL.replace("1-产出", "1－产出").replace("2-效益", "2 - 效益"),
        CANONICAL.replace("。2、", "。 2、"),
    ],
    ids=[
        "canonical",
        "ascii-semicolon",
        "full-width-colon",
        "space-after-separator",
        "spaces-around",
        "p-tags",
        "hard-line-breaks",
        "no-final-stop",
        "dash-variants",
        "space-before-number",
    ],
)
def test_every_listed_variant_parses_to_the_same_indicators(variant: str) -> None:
    assert fields(packed.parse(variant)) == EXPECTED
    assert packed.normalise(variant) == CANONICAL
    assert packed.render(packed.parse(variant)) == CANONICAL


def test_a_stop_inside_a_name_does_not_split_the_item() -> None:
    cell = (
        "1、2-效益指标；22-社会效益；提高党建工作水平，夯实执政根基。；实施周期指标值:合理充分；"
        "年度指标值:合理充分。2、2-效益指标；22-社会效益；经费使用；实施周期指标值:充分；"
        "年度指标值:充分。"
    )
    inds = packed.parse(cell)
    assert [i.name for i in inds] == ["提高党建工作水平，夯实执政根基。", "经费使用"]
    assert packed.render(inds) == cell


def test_a_stop_and_number_inside_a_value_do_not_split_the_item() -> None:
    cell = "1、1-产出指标；11-数量指标；步骤；实施周期指标值:完成。2、验收；年度指标值:完成。"
    inds = packed.parse(cell)
    assert len(inds) == 1 and inds[0].period == "完成。2、验收"


def test_levels_written_without_codes_keep_their_labels() -> None:
    [ind] = packed.parse("1、产出指标；数量指标；人数；实施周期指标值:5人；年度指标值:5人。")
    assert (ind.level1, ind.level1_label, ind.level2, ind.level2_label) == (
        None,
        "产出指标",
        None,
        "数量指标",
    )


def test_an_item_that_does_not_fit_is_kept_verbatim() -> None:
    cell = (
        "1、1-产出指标；11-数量指标；人数；年度5人。"
        "2、2-效益指标；22-社会效益；率；实施周期指标值:1%；年度指标值:1%。"
    )
    inds = packed.parse(cell)
    assert inds[0].raw == "1-产出指标；11-数量指标；人数；年度5人"
    assert inds[1].raw is None and inds[1].name == "率"
    assert packed.render(inds) == cell


def test_a_missing_period_field_reads_as_empty() -> None:
    [ind] = packed.parse("1、1-产出指标；11-数量指标；人数；年度指标值:5人。")
    assert (ind.period, ind.annual) == ("", "5人")


def test_blank_cell_has_no_indicators() -> None:
    assert packed.parse("") == [] and packed.parse("<p></p>\n") == []


def test_every_seed_cell_round_trips() -> None:
    cells = [row[6] for row in seed_cells()]
    assert len(cells) == 38
    total = 0
    for cell in cells:
        inds = packed.parse(cell)
        assert all(i.raw is None for i in inds), cell
        assert packed.render(inds) == packed.normalise(cell)
        assert fields(packed.parse(packed.render(inds))) == fields(inds)
        total += len(inds)
    assert total == 187


# --- property-based ---------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list("产出效益满意度成本数量质量时效社会经济服务对象率人次篇个万元年月日前稳步提高无")
    + list("0123456789%/（）()≥≤＞＜＝-，.")
    + [" "]
)
_text = st.text(_ALPHABET, min_size=1, max_size=12).map(str.strip).filter(bool)
_value = st.one_of(st.just(""), _text)
_l1 = st.sampled_from(
    [("1", "产出指标"), ("2", "效益指标"), ("3", "满意度指标"), ("4", "成本指标")]
)
_l2 = st.sampled_from(
    [
        ("11", "数量指标"),
        ("22", "社会效益"),
        ("31", "服务对象满意度"),
        ("41", "经济成本指标"),
        (None, "质量指标"),
    ]
)


@st.composite
def indicators(draw: st.DrawFn) -> Indicator:
    code1, label1 = draw(_l1)
    code2, label2 = draw(_l2)
    name = draw(_text)
    if draw(st.booleans()):
        name += "。"  # a stop inside a name occurs in the seed
    return Indicator(
        level1=code1,
        level1_label=label1,
        level2=code2,
        level2_label=label2,
        name=name,
        period=draw(_value),
        annual=draw(_text),
    )


@st.composite
def variant_of(draw: st.DrawFn, cell: str) -> str:
    """A cell as found in the wild: other separators, spaces, tags, hard line breaks."""
    if draw(st.booleans()):
        cell = cell.replace("；", draw(st.sampled_from([";", "; ", " ；", "；  "])))
    if draw(st.booleans()):
        cell = cell.replace(
            "指标值:", draw(st.sampled_from(["指标值：", "指标值 : ", "指标值:  "]))
        )
    breaks = draw(st.lists(st.integers(0, max(len(cell) - 1, 0)), max_size=4))
    for at in sorted(breaks, reverse=True):
        cell = cell[:at] + draw(st.sampled_from(["\n", "\r\n"])) + cell[at:]
    if draw(st.booleans()):
        cell = f"<p>{cell}</p>"
    return cell


@settings(max_examples=300, deadline=None)
@given(st.lists(indicators(), min_size=1, max_size=8))
def test_parse_of_render_is_identity(inds: list[Indicator]) -> None:
    assert fields(packed.parse(packed.render(inds))) == fields(inds)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_render_of_parse_is_the_normalised_cell(data: st.DataObject) -> None:
    inds = data.draw(st.lists(indicators(), min_size=1, max_size=6))
    cell = data.draw(variant_of(packed.render(inds)))
    assert packed.render(packed.parse(cell)) == packed.normalise(cell)
    assert fields(packed.parse(cell)) == fields(inds)
