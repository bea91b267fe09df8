"""The catalogue of every issue perfxl reports.

Each rule has a stable code, a severity (error blocks acceptance, like the national
system's 强制性 checks; warning informs, like its 提示性 ones), a Chinese message for the
people who fill in the forms, an English one for maintainers, and a fix hint. Messages are
templates filled from named values. The texts are data (templates/rules.toml); the code
names each rule once, below, and a rule without its text, or a text without its rule,
stops perfxl at import. The docs page of all rules is generated from here.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from perfxl.domain.amounts import said_readings
from perfxl.domain.model import Issue, Severity
from perfxl.resources import templates_dir


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    group: str
    zh: str
    en: str
    hint: str

    def issue(
        self,
        *,
        file: str | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        severity: Severity | None = None,
        **params: Any,
    ) -> Issue:
        """An issue of this rule at a place; `params` fill the message templates. Beyond
        the budget of a file being checked, the rule's one placeholder, counted."""
        budget = _BUDGET.get()
        if budget is not None:
            budget.counts[self.code] += 1
            if budget.counts[self.code] > budget.most:
                return budget.placeholder(self)
        for name, derive in _DERIVED.get(self.code, {}).items():
            params.setdefault(name, derive(params))
        return Issue(
            code=self.code,
            severity=severity or self.severity,
            message=self.zh.format(**params),
            hint=self.hint.format(**params) if self.hint else None,
            file=file,
            sheet=sheet,
            cell=cell,
            row=row,
            column=column,
            value=None if value is None else str(value),
        )


RULES: dict[str, Rule] = {}
_TEXTS: dict[str, dict[str, str]] = tomllib.loads(
    (templates_dir() / "rules.toml").read_text(encoding="utf-8")
)


# Message values a rule works out from the others: an amount that is none, with the
# amounts its separators allow (`1.209,08`: 1,209.08 or 1.20908).
_DERIVED: dict[str, dict[str, Any]] = {
    "amount-invalid": {"readings": lambda params: said_readings(params.get("text"))},
}


@dataclass
class Budget:
    """How many issues of each kind one file may list: beyond `most`, a rule returns one
    shared placeholder (no memory per issue, in a flood of millions) and counts on."""

    most: int
    counts: Counter[str] = field(default_factory=Counter)
    placeholders: dict[str, Issue] = field(default_factory=dict)

    def placeholder(self, rule: Rule) -> Issue:
        if rule.code not in self.placeholders:
            self.placeholders[rule.code] = Issue(code=rule.code, severity=rule.severity, message="")
        return self.placeholders[rule.code]

    def settle(self, issues: list[Issue], file: str) -> list[Issue]:
        """The issues without placeholders, and for each kind beyond the budget that is
        still reported, one issue saying how many there were."""
        if not self.placeholders:
            return issues
        kept = [i for i in issues if self.placeholders.get(i.code) is not i]
        present = {i.code for i in kept}
        return [
            ISSUES_TRUNCATED.issue(file=file, rule=code, total=self.counts[code], shown=self.most)
            for code in self.placeholders
            if code in present
        ] + kept  # file-level issues first, as in the reading order


_BUDGET: ContextVar[Budget | None] = ContextVar("issue_budget", default=None)


def settled(issues: list[Issue], file: str) -> list[Issue]:
    """The issues of the file being checked, settled with its budget (see Budget.settle);
    before any of them is copied, as a configuration that changes a severity does."""
    current = _BUDGET.get()
    return current.settle(issues, file) if current is not None else issues


@contextmanager
def budget(most: int) -> Iterator[Budget]:
    """While checking one file: at most `most` issues of each kind are made."""
    the_budget = Budget(most)
    token = _BUDGET.set(the_budget)
    try:
        yield the_budget
    finally:
        _BUDGET.reset(token)


def _rule(code: str) -> Rule:
    text = _TEXTS[code]
    severity = text["severity"]
    if severity not in ("error", "warning"):  # pragma: no cover - a typo in rules.toml
        raise RuntimeError(f"rules.toml: {code} has severity {severity!r}")
    RULES[code] = rule = Rule(code, severity, text["group"], text["zh"], text["en"], text["hint"])  # type: ignore[arg-type]
    return rule


FILE_UNREADABLE = _rule("file-unreadable")
FILE_TOO_LARGE = _rule("file-too-large")
FILE_ENCRYPTED = _rule("file-encrypted")
CODESET_MIXED = _rule("codeset-mixed")
LAYOUT_UNKNOWN = _rule("layout-unknown")
HEADER_NOT_FOUND = _rule("header-not-found")
COLUMN_MISSING = _rule("column-missing")
DEPARTMENT_NOT_FOUND = _rule("department-not-found")
ROW_NOT_RECOGNISED = _rule("row-not-recognised")
AMOUNT_INVALID = _rule("amount-invalid")
WEIGHT_INVALID = _rule("weight-invalid")
SHEETS_NOT_READ = _rule("sheets-not-read")
CELL_ERROR = _rule("cell-error")
TEXT_TOO_LONG = _rule("text-too-long")
CONTROL_CHARACTERS = _rule("control-characters")
NO_PROJECTS = _rule("no-projects")
ISSUES_TRUNCATED = _rule("issues-truncated")
LINK_OUTSIDE_INBOX = _rule("link-outside-inbox")
NOT_A_FILE = _rule("not-a-file")
FORMULA_NO_VALUE = _rule("formula-no-value")
EXTERNAL_LINK = _rule("external-link")
TOTAL_ROW_MISSING = _rule("total-row-missing")
TOTAL_SOURCES_MISMATCH = _rule("total-sources-mismatch")
DECLARED_TOTAL_ROUNDING = _rule("declared-total-rounding")
DECLARED_TOTAL_MISMATCH = _rule("declared-total-mismatch")
SUBTOTAL_ROUNDING = _rule("subtotal-rounding")
SUBTOTAL_MISMATCH = _rule("subtotal-mismatch")
INDICATOR_UNPARSED = _rule("indicator-unparsed")
INDICATOR_PROJECT_UNKNOWN = _rule("indicator-project-unknown")
SHEET_MISSING = _rule("sheet-missing")
HEADER_CHANGED = _rule("header-changed")
ROWS_INSERTED = _rule("rows-inserted")
ROWS_DELETED = _rule("rows-deleted")
PROTECTION_REMOVED = _rule("protection-removed")
TEMPLATE_MISMATCH = _rule("template-mismatch")
WRONG_DEPARTMENT = _rule("wrong-department")
WRONG_YEAR = _rule("wrong-year")
STRUCTURE_CHANGED = _rule("structure-changed")
NOT_OUR_TEMPLATE = _rule("not-a-template")
AMOUNT_AS_TEXT = _rule("amount-as-text")
CODE_AS_NUMBER = _rule("code-as-number")
TOTAL_STALE = _rule("total-stale")
REQUIRED_MISSING = _rule("required-missing")
AMOUNT_NEGATIVE = _rule("amount-negative")
AMOUNT_PLACES = _rule("amount-places")
PROJECT_CODE_DUPLICATE = _rule("project-code-duplicate")
PROJECT_NAME_DUPLICATE = _rule("project-name-duplicate")
GOAL_TOO_SHORT = _rule("goal-too-short")
PROJECT_NO_OUTPUT = _rule("project-no-output")
PROJECT_NO_EFFECT = _rule("project-no-effect")
PROJECT_NO_SATISFACTION = _rule("project-no-satisfaction")
LEVEL1_UNKNOWN = _rule("level1-unknown")
LEVEL2_UNKNOWN = _rule("level2-unknown")
LEVEL2_MISMATCH = _rule("level2-mismatch")
ANNUAL_BLANK = _rule("annual-blank")
VALUE_PLACEHOLDER = _rule("value-placeholder")
QUANTITATIVE_NOT_NUMBER = _rule("quantitative-not-number")
QUANTITATIVE_NO_UNIT = _rule("quantitative-no-unit")
PERCENT_OUT_OF_RANGE = _rule("percent-out-of-range")
VALUE_OCR_SUSPECT = _rule("value-ocr-suspect")
LEVEL_CARRIED = _rule("level-carried")
DEPARTMENT_NO_OUTPUT = _rule("department-no-output")
DEPARTMENT_NO_EFFECT = _rule("department-no-effect")
DEPARTMENT_GOAL_MISSING = _rule("department-goal-missing")
TASKS_TOTAL_MISMATCH = _rule("tasks-total-mismatch")
TASKS_TOTAL_ROUNDING = _rule("tasks-total-rounding")
TASK_AMOUNT_MISSING = _rule("task-amount-missing")
BUDGET_MISMATCH = _rule("budget-mismatch")
VALUE_VAGUE = _rule("value-vague")
INDICATOR_REPEATS_PROJECT = _rule("indicator-repeats-project")
DEPARTMENT_UNKNOWN = _rule("department-unknown")

if set(_TEXTS) != set(RULES):  # pragma: no cover - a release with a rule half-defined
    raise RuntimeError(f"rules.toml and the catalogue differ: {set(_TEXTS) ^ set(RULES)}")
