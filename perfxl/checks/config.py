"""Project configuration, `perfxl.toml`: per-rule severity or off, and the checks' settings.

[rules]
value-vague = "off"                 # or "error" / "warning"
project-no-satisfaction = "error"

[checks]
vague_words = ["进一步提高", "明显改善"]
goal_min_length = 10

[limits]                            # how much of a file is read at most
part_mb = 64                        # one part of a workbook, inflated
cells = 5000000                     # a sheet's extent, rows × columns
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from perfxl.checks.catalogue import RULES
from perfxl.domain.model import Issue
from perfxl.errors import InputError
from perfxl.formats.inspect import Limits
from perfxl.resources import load_toml

CONFIG_NAME = "perfxl.toml"
# Reviewers' list of vague values (domain.md §4).
VAGUE_WORDS = ("进一步提高", "明显改善", "有效促进", "显著", "稳步提升", "长期")


class Checks(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    vague_words: tuple[str, ...] = VAGUE_WORDS
    goal_min_length: int = Field(default=10, ge=0)
    # Written where a value should be (the national system rejects these).
    placeholders: tuple[str, ...] = ("*", "-", "_", "/", "—", "－", "——", "…", "...")


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: dict[str, Literal["error", "warning", "off"]] = Field(default_factory=dict)
    checks: Checks = Checks()
    limits: Limits = Limits()  # how much of a file perfxl reads at most

    def apply(self, issues: list[Issue]) -> list[Issue]:
        """Drop the issues of rules switched off; give the others their configured severity."""
        out = []
        for issue in issues:
            setting = self.rules.get(issue.code)
            if setting == "off":
                continue
            if setting is not None and setting != issue.severity:
                issue = issue.model_copy(update={"severity": setting})
            out.append(issue)
        return out


def load_config(path: Path | None = None) -> Config:
    """The given file, else ./perfxl.toml if there is one, else the defaults."""
    if path is None:
        found = Path.cwd() / CONFIG_NAME
        if not found.is_file():
            return Config()
        path = found
    config = load_toml(path, Config, "配置文件")
    unknown = sorted(set(config.rules) - set(RULES))
    if unknown:
        raise InputError(
            f"配置文件 {path} 中有未知的规则代码：{', '.join(unknown)}（全部规则见 docs/rules.md）"
        )
    return config
