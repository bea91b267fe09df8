"""The rules of a department-wide table: the overview adds up (基本支出 + 项目支出 = the
declared total = the income sources), the key tasks' money adds up to the total (each
task without an amount named), at least one 产出 and one 效益 indicator, an overall goal,
amounts that are amounts, and every rule of an indicator (the code hierarchy, the values).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.checks.config import Config
from perfxl.checks.rules import EFFECT, OUTPUT, check_indicators
from perfxl.domain.amounts import ZERO, beyond_cent, fmt, rounding_tolerance
from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import TASK
from perfxl.domain.model import BudgetLine, Issue, OverallTable, Task

_SPENDING = ("基本支出", "项目支出")
_INCOME_GROUPS = ("收入", "资金来源")
_INCOME_LABELS = ("财政拨款", "财政专户", "其他资金", "上年结转", "事业收入", "经营收入")


class _Found:
    """The issues found in one table, each at its place."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.issues: list[Issue] = []

    def add(
        self, rule: cat.Rule, at: BudgetLine | Task | None = None, key: str = "",
        value: object = None, **params: Any,
    ) -> None:  # fmt: skip
        cell = (at.where(key) if isinstance(at, Task) and key else at.cell) if at else None
        self.issues.append(
            rule.issue(
                file=self.file,
                sheet=at.sheet if at else None,
                cell=cell,
                row=at.row if at else None,
                column=params.get("column_name"),  # the caption of the cell, where one is named
                value=value,
                **params,
            )
        )


def check_overall(
    table: OverallTable, codeset: CodeSet, config: Config, file: str | None = None,
    places: bool = False,
) -> list[Issue]:  # fmt: skip
    """Every rule over a department-wide table (`places`: amounts may have no more than two
    decimals, as in our template)."""
    found = _Found(file)
    if not table.goal.strip():
        found.add(cat.DEPARTMENT_GOAL_MISSING, table.goal_at)
    _budget(table, found)
    _tasks(table, found)
    for line in table.budget:
        if line.amount is not None and line.amount < 0:
            found.add(cat.AMOUNT_NEGATIVE, line, "", line.amount, column_name=line.label,
                      amount=fmt(line.amount))  # fmt: skip
    for task in table.tasks:
        for key in ("amount", "fiscal", "other"):
            amount = getattr(task, key)
            if amount is None:
                continue
            if amount < 0:
                found.add(cat.AMOUNT_NEGATIVE, task, key, amount,
                          column_name=TASK.header(key), amount=fmt(amount))  # fmt: skip
            elif places and beyond_cent(amount):
                found.add(cat.AMOUNT_PLACES, task, key, amount,
                          column_name=TASK.header(key), amount=str(amount))  # fmt: skip
    for task in table.tasks:
        if not task.name.strip():  # money, or a plan, with no name to tell it by
            found.add(cat.REQUIRED_MISSING, task, "name", None, column_name=TASK.header("name"))
    level1s = {i.level1 for i in table.indicators}
    if OUTPUT not in level1s:  # a table with no indicators at all has neither
        found.add(cat.DEPARTMENT_NO_OUTPUT)
    if EFFECT not in level1s:
        found.add(cat.DEPARTMENT_NO_EFFECT)
    issues = found.issues + check_indicators(table.indicators, codeset, config, file)
    return config.apply(issues)


def _sum(lines: list[BudgetLine]) -> Decimal:
    return sum((line.amount for line in lines if line.amount is not None), ZERO)


def _budget(table: OverallTable, found: _Found) -> None:
    """基本支出 + 项目支出 against the declared total and against the income sources."""
    spending = [b for b in table.budget if any(w in b.label for w in _SPENDING)]
    income = [
        b for b in table.budget
        if any(w in b.group for w in _INCOME_GROUPS)
        or (not b.group and any(w in b.label for w in _INCOME_LABELS))
    ]  # fmt: skip
    pairs = []
    if len(spending) >= 2 and table.total is not None:
        pairs.append(("基本支出 + 项目支出", _sum(spending), "预算总额", table.total, spending))
    if len(spending) >= 2 and income:
        pairs.append(
            ("基本支出 + 项目支出", _sum(spending), "收入来源合计", _sum(income), spending)
        )
    elif table.total is not None and income:
        pairs.append(("预算总额", table.total, "收入来源合计", _sum(income), income))
    for left, a, right, b, lines in pairs:
        diff = abs(a - b)
        if diff > rounding_tolerance(len(lines)):
            found.add(
                cat.BUDGET_MISMATCH, lines[0], "", None, left=left, left_amount=fmt(a),
                right=right, right_amount=fmt(b), diff=fmt(diff),
            )  # fmt: skip


def _tasks(table: OverallTable, found: _Found) -> None:
    """The tasks' money against the declared total; each task without an amount named."""
    missing = [t for t in table.tasks if t.amount is None]
    for task in missing:
        found.add(cat.TASK_AMOUNT_MISSING, task, "amount", None, name=task.name)
    if table.total is None:
        return  # no total to add up to (a table with no tasks adds up to 0.00)
    summed = sum((t.amount for t in table.tasks if t.amount is not None), ZERO)
    diff = abs(summed - table.total)
    if diff == 0:
        return
    tolerance = rounding_tolerance(len(table.tasks))
    named = "、".join(f"“{t.name}”" for t in missing)
    rule = (
        cat.TASKS_TOTAL_ROUNDING if diff <= tolerance and not missing else cat.TASKS_TOTAL_MISMATCH
    )
    found.add(
        rule, table.tasks[0] if table.tasks else table.total_at, "amount", None,
        summed=fmt(summed), total=fmt(table.total),
        diff=fmt(diff), tolerance=f"{tolerance.normalize():f}",
        missing=f"；未填资金的任务：{named}" if named else "",
    )  # fmt: skip
