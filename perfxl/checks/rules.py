"""The rules: check a table's projects and indicators against the catalogue, collecting
every problem in one pass: required fields, amounts, duplicates, the indicator hierarchy,
and the value rules of the national system and of reviewers. Which fields there are, what
they are called and which must be filled in comes from the fields of the table's layout
(the registry's, or a template spec's)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.checks.config import Config
from perfxl.domain.amounts import beyond_cent, fmt
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import INDICATOR, PROJECT, Fields
from perfxl.domain.model import Indicator, Issue, Project, TargetTable
from perfxl.domain.values import parse_value

# Suffixes that make a name a fund's name rather than a measure (城市基层党建相关工作经费):
# (专项)(工作)经费|资金|项目|补助|补贴 at the end, matched with endswith (names are long, and
# this runs for every indicator).
_FUND_ENDINGS = ("经费", "资金", "项目", "补助", "补贴")
_PERCENT_UNITS = frozenset({"%", "％"})
OUTPUT, EFFECT, SATISFACTION = "1", "2", "3"
Findings = tuple[tuple[str, str], ...]  # (what, detail) found in one value
_FINDINGS_KEPT = 65_536  # values whose findings are remembered, for all the files read


class _Checker:
    def __init__(
        self,
        table: TargetTable,
        codeset: CodeSet,
        config: Config,
        file: str | None,
        fields: tuple[Fields, Fields],
        required: Iterable[str],
        indicators_read: bool,
        indicator_required: Iterable[str] = (),
        places: bool = True,
    ) -> None:
        self.table, self.codeset, self.config, self.file = table, codeset, config, file
        self.fields, self.indicator_fields = fields
        # Sources first: a 总计 that is wrong only because a source is wrong is not
        # reported again.
        self.money = sorted(self.fields.money, key=lambda f: f.type == "total")
        self.required = tuple(required)
        self.indicator_required = tuple(indicator_required)
        self.places = places
        self.indicators_read = indicators_read
        # Plain dicts: looked up for every indicator.
        self.level1 = {item.code: item for item in codeset.level1}
        self.level2 = {item.code: item for item in codeset.level2}
        self.issues: list[Issue] = []
        checks = config.checks
        self._findings = _findings_seen(checks.placeholders, checks.vague_words)

    def add(
        self,
        rule: cat.Rule,
        sheet: str | None,
        cell: str | None,
        row: int | None,
        column: str | None = None,
        value: object = None,
        **params: Any,
    ) -> None:
        self.issues.append(
            rule.issue(
                file=self.file,
                sheet=sheet,
                cell=cell,
                row=row,
                column=column,
                value=value,
                **params,
            )
        )

    def at(
        self, rule: cat.Rule, project: Project, field: str, value: object = None, **params: Any
    ) -> None:
        header = self.fields.header(field)
        self.add(rule, project.sheet, project.where(field), project.row, header, value, **params)

    def at_indicator(
        self, rule: cat.Rule, indicator: Indicator, field: str, value: object = None, **params: Any
    ) -> None:
        header = self.indicator_fields.header(field)
        self.add(
            rule, indicator.sheet, indicator.where(field), indicator.row, header, value, **params
        )

    def run(self) -> list[Issue]:
        # A repeated code is an error (the code is a project's identity); a repeated name
        # only a warning (names legitimately repeat).
        first_seen: dict[str, dict[str, str]] = {"code": {}, "name": {}}
        rules = {"code": cat.PROJECT_CODE_DUPLICATE, "name": cat.PROJECT_NAME_DUPLICATE}
        for project in self.table.projects:
            self.project(project)
            where = project.cell or f"第{project.row}行"
            for field, seen in first_seen.items():
                value = getattr(project, field)
                if not value:
                    continue
                if value in seen:
                    self.at(
                        rules[field], project, field, value, other=seen[value], **{field: value}
                    )
                seen.setdefault(value, where)
        return self.issues

    def project(self, project: Project) -> None:
        for key in self.required:
            value = project.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.at(cat.REQUIRED_MISSING, project, key, column_name=self.fields.header(key))
        flagged: set[str] = set()
        for field in self.money:
            amount = project.get(field.key)
            if not isinstance(amount, Decimal):
                continue
            if amount < 0:
                rule, shown = cat.AMOUNT_NEGATIVE, fmt(amount)
            elif self.places and beyond_cent(amount):
                rule, shown = cat.AMOUNT_PLACES, str(amount)
            else:
                continue
            if field.type == "total" and rule.code in flagged:
                continue
            flagged.add(rule.code)
            self.at(rule, project, field.key, amount, column_name=field.header, amount=shown)
        goal = project.goal.strip()
        minimum = self.config.checks.goal_min_length
        if goal and len(goal) < minimum:
            self.at(cat.GOAL_TOO_SHORT, project, "goal", goal, length=len(goal), minimum=minimum)
        level1s = {i.level1 for i in project.indicators if i.raw is None}
        for code, rule in (
            (OUTPUT, cat.PROJECT_NO_OUTPUT),
            (EFFECT, cat.PROJECT_NO_EFFECT),
            (SATISFACTION, cat.PROJECT_NO_SATISFACTION),
        ):
            # When the indicators could not be read at all, that one issue says it.
            if self.indicators_read and code in self.level1 and code not in level1s:
                self.at(rule, project, "name", project.name)
        named = _Named(project.name)
        for indicator in project.indicators:
            if indicator.raw is None:  # an unparsed one was reported when it was read
                self.indicator(named, indicator)

    def indicator(self, project: _Named, ind: Indicator) -> None:
        # Runs for every indicator: the texts for messages are made only when one is due.
        level1 = self.level1.get(ind.level1) if ind.level1 else None
        level2 = self.level2.get(ind.level2) if ind.level2 else None
        if level1 is not None and level2 is not None:
            if level2.parent != level1.code:
                l1_text = _joined(ind.level1, ind.level1_label)
                l2_text = _joined(ind.level2, ind.level2_label)
                self.at_indicator(
                    cat.LEVEL2_MISMATCH, ind, "level2", l2_text, level2=l2_text, level1=l1_text
                )
        else:
            for field, found, code, label, unknown in (
                ("level1", level1, ind.level1, ind.level1_label, cat.LEVEL1_UNKNOWN),
                ("level2", level2, ind.level2, ind.level2_label, cat.LEVEL2_UNKNOWN),
            ):
                if found is not None:
                    continue
                text = _joined(code, label)
                if not text:
                    header = self.indicator_fields.header(field)
                    self.at_indicator(cat.REQUIRED_MISSING, ind, field, column_name=header)
                else:
                    self.at_indicator(
                        unknown, ind, field, text, text=text, codeset=self.codeset.name
                    )
        for key in self.indicator_required:
            value = ind.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                header = self.indicator_fields.header(key)
                self.at_indicator(cat.REQUIRED_MISSING, ind, key, column_name=header)
        name = ind.name
        if not name.strip():
            header = self.indicator_fields.header("name")
            self.at_indicator(cat.REQUIRED_MISSING, ind, "name", column_name=header)
        elif project.repeated_by(name):
            self.at_indicator(cat.INDICATOR_REPEATS_PROJECT, ind, "name", name, name=name)
        # The values: what is wrong with a value is looked up, per file, by value.
        annual, period = ind.annual, ind.period
        stripped = annual.strip()
        if not stripped or stripped == "无":
            self.at_indicator(cat.ANNUAL_BLANK, ind, "annual", annual)
        nature = ind.nature
        quantitative = (nature == "定量") if nature else ind.annual_value.kind == "定量"
        known = self._findings
        of_annual = known.get((annual, quantitative))
        if of_annual is None:
            of_annual = self.findings(annual, quantitative)
        of_period = known.get((period, quantitative))
        if of_period is None:
            of_period = self.findings(period, quantitative)
        if of_annual or of_period:
            self.values(ind, (("annual", annual, of_annual), ("period", period, of_period)))

    def findings(self, text: str, quantitative: bool) -> Findings:
        known = self._findings
        if len(known) >= _FINDINGS_KEPT:  # memory must not grow with the files read
            known.clear()
        checks = self.config.checks
        found = known[(text, quantitative)] = _value_findings(
            text, quantitative, checks.placeholders, checks.vague_words
        )
        return found

    def values(self, ind: Indicator, by_field: tuple[tuple[str, str, Findings], ...]) -> None:
        """Report what was found in an indicator's values."""
        seen: set[str] = set()
        # Where the layout does not say whether an indicator is 定量 (one text cell per value:
        # a published table, most forms), the nature is a guess: its findings only inform.
        guessed = None if ind.nature else "warning"
        for field, text, findings in by_field:
            name = self.indicator_fields.header(field)
            for finding, detail in findings:
                text = text.strip()
                if finding == "placeholder":
                    self.at_indicator(
                        cat.VALUE_PLACEHOLDER, ind, field, text, column_name=name, text=text
                    )
                elif finding == "not-number":
                    self.at_indicator(
                        cat.QUANTITATIVE_NOT_NUMBER,
                        ind,
                        field,
                        text,
                        column_name=name,
                        text=text,
                        severity=guessed,
                    )
                elif finding == "no-unit" and "unit" not in seen:
                    seen.add("unit")
                    # At the 计量单位 cell where the layout has one (the template), else the value.
                    at = "unit" if "unit" in ind.columns else field
                    self.at_indicator(
                        cat.QUANTITATIVE_NO_UNIT,
                        ind,
                        at,
                        text,
                        column_name=name,
                        text=text,
                        name=ind.name,
                        severity=guessed,
                    )
                elif finding == "ocr":
                    self.at_indicator(
                        cat.VALUE_OCR_SUSPECT,
                        ind,
                        field,
                        text,
                        column_name=name,
                        text=text,
                        likely=detail,
                    )
                elif finding == "percent":
                    self.at_indicator(
                        cat.PERCENT_OUT_OF_RANGE, ind, field, text, column_name=name, text=text
                    )
                elif finding == "vague" and text not in seen:
                    seen.add(text)
                    self.at_indicator(
                        cat.VALUE_VAGUE, ind, field, text, column_name=name, text=text, word=detail
                    )


def _joined(code: str | None, label: str | None) -> str:
    """`1-产出指标`, or whichever of the two is there."""
    return "-".join(x for x in (code, label) if x)


@lru_cache(maxsize=8)
def _findings_seen(
    placeholders: tuple[str, ...], vague_words: tuple[str, ...]
) -> dict[tuple[str, bool], Findings]:
    """What was found in each value seen, for one set of settings, kept across files:
    values repeat within a file and across departments (100%, ≥90%, 满意度≥90%)."""
    return {}


def _value_findings(
    text: str, quantitative: bool, placeholders: tuple[str, ...], vague_words: tuple[str, ...]
) -> Findings:
    """What is wrong with one value, whoever wrote it."""
    text = text.strip()
    if not text or text == "无":
        return ()
    if text in placeholders:
        return (("placeholder", ""),)
    value = parse_value(text)
    found: list[tuple[str, str]] = []
    if quantitative and value.number is None:
        found.append(("not-number", ""))
    elif quantitative and not value.unit:
        found.append(("no-unit", ""))
    likely = _misread(text, value.number, value.unit)
    if likely:
        found.append(("ocr", likely))
    elif value.number is not None and value.unit in _PERCENT_UNITS and not 0 <= value.number <= 100:
        found.append(("percent", ""))
    word = next((w for w in vague_words if w in text), None)
    if word:
        found.append(("vague", word))
    return tuple(found)


_OCR_AT_LEAST = re.compile(r"^2(\d{1,3}(?:\.\d+)?)\s*[%％]$")


def _misread(text: str, number: Decimal | None, unit: str | None) -> str:
    """The value a text conversion (OCR) most likely misread, or "": `292%` for `≥92%` (the
    ≥ read as a 2: a percentage over 100 is the tell), `100学` for `100人`."""
    if number is None:
        return ""
    match = _OCR_AT_LEAST.match(text)
    if match and unit in _PERCENT_UNITS and number > 100 and Decimal(match.group(1)) <= 100:
        return f"≥{match.group(1)}%"
    if unit == "学":
        return text.replace("学", "人")
    return ""


def fund_core(text: str) -> str:
    """The text without a fund suffix at its end (`专项工作经费`, `资金`, …)."""
    if not text.endswith(_FUND_ENDINGS):
        return text
    text = text[:-2]  # every ending is two characters
    if text.endswith("工作"):
        text = text[:-2]
    if text.endswith("专项"):
        text = text[:-2]
    return text


class _Named:
    """A project's name, ready to be compared with each of its indicators' names."""

    def __init__(self, name: str) -> None:
        self.text = "".join(name.split())
        self.core = fund_core(self.text)

    def repeated_by(self, indicator: str) -> bool:
        """Does the indicator name only repeat the project or fund name?"""
        b = self.text
        if not indicator or not b:
            return False
        a = "".join(indicator.split())
        if a == b:
            return True
        core = fund_core(a)
        if core and core == self.core:
            return True
        # A fund's name (…经费) that is part of the project's name, or contains it.
        return a.endswith(_FUND_ENDINGS) and (a in b or b in a)


def check_indicators(
    indicators: list[Indicator],
    codeset: CodeSet,
    config: Config,
    file: str | None = None,
    fields: Fields = INDICATOR,
) -> list[Issue]:
    """The rules of each indicator (the code hierarchy, required names and values, the
    value rules) over indicators that belong to no project: a department's own."""
    checker = _Checker(TargetTable(), codeset, config, file, (PROJECT, fields), (), True)
    named = _Named("")
    for indicator in indicators:
        if indicator.raw is None:
            checker.indicator(named, indicator)
    return checker.issues


def check_table(
    table: TargetTable,
    codeset: CodeSet,
    config: Config,
    file: str | None = None,
    fields: tuple[Fields, Fields] = (PROJECT, INDICATOR),
    required: Iterable[str] | None = None,
    indicators_read: bool = True,
    indicator_required: Iterable[str] = (),
    places: bool = True,
) -> list[Issue]:
    """Every rule over a table's projects and indicators. `fields` are those of the
    projects and the indicators of the table's layout (a template spec adds its own);
    `required` names the project fields that must be filled in (by default those the
    fields require); `indicators_read` False skips the per-project indicator checks when
    no indicator could be read; `indicator_required` names the indicator fields that must be
    filled in beyond those the rules always require (一级, 二级, 三级, 年度指标值); `places`
    False leaves amounts with more than two decimals alone (a table in 元, converted)."""
    if required is None:
        required = [f.key for f in fields[0] if f.required]
    return _Checker(
        table, codeset, config, file, fields, required, indicators_read, indicator_required, places
    ).run()
