"""Indicator code sets (指标体系): which 一级 and 二级 codes exist and what they are called.

Two sets are in use at the same time, often within one city, so a set is data: the
bundled `2021` and `legacy` sets under templates/codesets/, or a user's own TOML file of
the same shape. Match by code; keep the label as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from perfxl.errors import InputError
from perfxl.resources import load_toml, templates_dir

DEFAULT_CODESET = "2021"


class Level(BaseModel):
    """One 一级 or 二级 entry."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[1-9][0-9]?$")
    label: str = Field(min_length=1)
    variants: tuple[str, ...] = ()

    @property
    def parent(self) -> str:
        """The 一级 code a 二级 code sits under: its first digit."""
        return self.code[0]


def _label_key(label: str) -> str:
    """Labels compare without spaces and without a trailing 指标 (经济效益 = 经济效益指标)."""
    key = "".join(label.split())
    return key[: -len("指标")] if key.endswith("指标") and len(key) > 2 else key


# Lookups by code (一级, 二级) and by label key (一级, 二级).
_Index = tuple[dict[str, Level], dict[str, Level], dict[str, Level], dict[str, Level]]


class CodeSet(BaseModel):
    """A named set of 一级 and 二级 codes."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str = ""
    level1: tuple[Level, ...]
    level2: tuple[Level, ...]
    _idx: _Index = PrivateAttr()

    @model_validator(mode="after")
    def _check(self) -> CodeSet:
        codes1 = [item.code for item in self.level1]
        codes2 = [item.code for item in self.level2]
        for codes, what in ((codes1, "一级"), (codes2, "二级")):
            dupes = sorted({c for c in codes if codes.count(c) > 1})
            if dupes:
                raise ValueError(f"{what}代码重复: {', '.join(dupes)}")
        if any(len(c) != 1 for c in codes1):
            raise ValueError("一级代码须为一位数字")
        orphans = [c for c in codes2 if len(c) != 2 or c[0] not in codes1]
        if orphans:
            raise ValueError(f"二级代码 {', '.join(orphans)} 的首位不是任何一级代码")
        return self

    def l1(self, code: str) -> Level | None:
        return self._index()[0].get(code)

    def l2(self, code: str) -> Level | None:
        return self._index()[1].get(code)

    def children(self, level1_code: str) -> list[Level]:
        return [item for item in self.level2 if item.parent == level1_code]

    def is_under(self, level2_code: str, level1_code: str) -> bool:
        """Is this 二级 code one of that 一级's in this set?"""
        item = self.l2(level2_code)
        return item is not None and item.parent == level1_code and self.l1(level1_code) is not None

    def l1_by_label(self, label: str) -> Level | None:
        return self._index()[2].get(_label_key(label))

    def l2_by_label(self, label: str) -> Level | None:
        return self._index()[3].get(_label_key(label))

    def _index(self) -> _Index:
        return self._idx

    def model_post_init(self, context: object, /) -> None:
        self._idx = (
            {i.code: i for i in self.level1},
            {i.code: i for i in self.level2},
            {_label_key(v): i for i in self.level1 for v in (i.label, *i.variants)},
            {_label_key(v): i for i in self.level2 for v in (i.label, *i.variants)},
        )


def detect_codeset(levels: Iterable[tuple[str | None, str | None]]) -> tuple[str | None, bool]:
    """Which bundled set a table's (二级 code, 二级 label) pairs belong to, from what only one
    set has: 成本指标 as 14 under 产出 is the legacy set; 41-43 (成本 as a 一级 of its own)
    the 2021 set. Returns the name (None when nothing tells) and whether both were seen."""
    legacy = current = False
    for code, label in levels:
        key = _label_key(label or "")
        if code == "14" or (code is None and key == "成本"):
            legacy = True
        elif code in ("41", "42", "43") or key in ("经济成本", "社会成本", "生态环境成本"):
            current = True
    if legacy and current:
        return None, True
    return ("legacy" if legacy else "2021" if current else None), False


def bundled_names() -> list[str]:
    return sorted(path.stem for path in (templates_dir() / "codesets").glob("*.toml"))


def load_codeset(name_or_path: str | Path = DEFAULT_CODESET) -> CodeSet:
    """A bundled set by name (`2021`, `legacy`) or a user's TOML file by path."""
    text = str(name_or_path)
    if text in bundled_names():
        return _load_bundled(text)
    path = Path(text)
    if not path.is_file():
        known = "、".join(bundled_names())
        raise InputError(f"未知的指标体系“{text}”：可用 {known}，或给出 TOML 文件路径")
    return _load_file(path)


@cache
def _load_bundled(name: str) -> CodeSet:
    return _load_file(templates_dir() / "codesets" / f"{name}.toml")


def _load_file(path: Path) -> CodeSet:
    return load_toml(path, CodeSet, "指标体系文件")
