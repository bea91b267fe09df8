from __future__ import annotations

from pathlib import Path

import pytest

from perfxl.domain.codesets import bundled_names, load_codeset
from perfxl.errors import InputError


def test_bundled_sets() -> None:
    assert bundled_names() == ["2021", "legacy"]
    new, old = load_codeset("2021"), load_codeset("legacy")
    assert [i.code for i in new.level1] == ["1", "2", "3", "4"]
    assert [i.code for i in new.children("1")] == ["11", "12", "13"]
    assert [i.code for i in new.children("4")] == ["41", "42", "43"]
    assert [i.code for i in old.level1] == ["1", "2", "3"]
    assert [i.code for i in old.children("1")] == ["11", "12", "13", "14"]


def test_is_under() -> None:
    new, old = load_codeset("2021"), load_codeset("legacy")
    assert new.is_under("22", "2") and not new.is_under("22", "1")
    assert not new.is_under("14", "1") and old.is_under("14", "1")
    assert new.is_under("41", "4") and not old.is_under("41", "4")
    assert not new.is_under("99", "9")


def test_lookup_by_code_and_label_variants() -> None:
    new = load_codeset("2021")
    assert new.l2("21") is not None and new.l2("21").label == "经济效益"  # type: ignore[union-attr]
    for label in ("经济效益", "经济效益指标", " 经济 效益 "):
        assert new.l2_by_label(label).code == "21"  # type: ignore[union-attr]
    assert new.l1_by_label("产出").code == "1"  # type: ignore[union-attr]
    assert new.l1_by_label("产出指标").code == "1"  # type: ignore[union-attr]
    assert new.l2_by_label("不存在") is None


def test_a_users_own_file(tmp_path: Path) -> None:
    path = tmp_path / "city.toml"
    path.write_text(
        'name = "city"\n[[level1]]\ncode = "1"\nlabel = "产出指标"\n'
        '[[level2]]\ncode = "15"\nlabel = "覆盖指标"\nvariants = ["覆盖面"]\n',
        encoding="utf-8",
    )
    own = load_codeset(str(path))
    assert own.name == "city" and own.is_under("15", "1") and own.l2_by_label("覆盖面").code == "15"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            'name = "x"\n[[level1]]\ncode = "1"\nlabel = "a"\n'
            '[[level2]]\ncode = "21"\nlabel = "b"\n',
            "首位",
        ),
        (
            'name = "x"\nlevel2 = []\n[[level1]]\ncode = "1"\nlabel = "a"\n[[level1]]\ncode = "1"\n'
            'label = "b"\n',
            "重复",
        ),
        ('name = "x"\n[[level1]]\ncode = "1"\nlabel = "a"\n', "level2: Field required"),
        ("name = [", "无法读取"),
    ],
)
def test_a_bad_file_is_a_clear_error(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=fragment):
        load_codeset(str(path))


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="2021、legacy"):
        load_codeset("2019")
