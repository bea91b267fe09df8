"""The domain: departments, projects, indicators, and the issues found in them.

Amounts are `Decimal` (万元); codes are text; an indicator keeps its values as written and
derives their parse. Provenance (sheet, row, cell) is carried beside the content and left
out of content comparisons, so that the same data read from two layouts compares equal.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    computed_field,
    field_validator,
)
from pydantic.main import IncEx

from perfxl.domain import fields as registry
from perfxl.domain.fields import INDICATOR, PROJECT, Fields, extra_field
from perfxl.domain.values import IndicatorValue, parse_value

Severity = Literal["error", "warning"]
# The values of fields a template spec added: text, or an amount (Decimal, 万元).
Extra = dict[str, str | Decimal]


class Department(BaseModel):
    """A budget unit (部门 / 单位) that fills in a template."""

    code: str | None = None
    name: str | None = None


class Indicator(BaseModel):
    """One 三级指标 with its 一级 and 二级 codes and labels and its two values.

    `extra` holds the values of fields a template spec added (domain/fields.py).

    `raw` holds the verbatim text of an indicator that could not be parsed, so that it is
    kept and written back as it came rather than dropped.
    """

    model_config = ConfigDict(validate_assignment=False)

    level1: str | None = None
    level1_label: str | None = None
    level2: str | None = None
    level2_label: str | None = None
    name: str = ""
    period: str = ""
    annual: str = ""
    raw: str | None = None
    # 权重 / 分值, and 指标方向性 (正向/反向), where the layout gives them.
    weight: Decimal | None = None
    direction: str | None = None
    extra: Extra = Field(default_factory=dict)
    # 指标性质 (定量/定性) where the layout states it (the template does, a published table
    # does not); a layout detail like the provenance below, so not part of content().
    nature: Literal["定量", "定性"] | None = None
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None
    # field → the column letter it was read from; with `row`, the field's cell. One dict is
    # shared by all the rows of a sheet, so it is taken as given, not copied and re-checked.
    columns: SkipValidation[dict[str, str]] = Field(default_factory=dict)

    def where(self, field: str) -> str | None:
        """The cell a field was read from, else the indicator's own cell."""
        letter = self.columns.get(field)
        return f"{letter}{self.row}" if letter and self.row else self.cell

    def get(self, key: str) -> object:
        """A field's value: the model's own attribute, or an extra field's."""
        return getattr(self, key) if key in _INDICATOR_OWN else self.extra.get(key)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def period_value(self) -> IndicatorValue:
        return parse_value(self.period)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def annual_value(self) -> IndicatorValue:
        return parse_value(self.annual)


class Project(BaseModel):
    """One row of the project table (项目支出绩效目标表) with its indicators."""

    code: str | None = None
    name: str = ""
    unit: str | None = None
    total: Decimal | None = None
    fiscal: Decimal | None = None
    special: Decimal | None = None
    other: Decimal | None = None
    goal: str = ""
    long_goal: str = ""  # 长期目标 / 实施期目标, where the layout gives one beside the year's
    indicators: list[Indicator] = Field(default_factory=list)
    # The values of fields a template spec added (domain/fields.py).
    extra: Extra = Field(default_factory=dict)
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None
    # field → the column letter it was read from; with `row`, the field's cell. One dict is
    # shared by all the rows of a sheet, so it is taken as given, not copied and re-checked.
    columns: SkipValidation[dict[str, str]] = Field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        """What the project says, without where it was read from (sheet, row, columns)."""
        exclude: dict[str, IncEx | bool] = {
            "sheet": True,
            "row": True,
            "cell": True,
            "columns": True,
            "indicators": {"__all__": {"sheet", "row", "cell", "columns", "nature"}},
        }
        return self.model_dump(mode="json", exclude=exclude)

    def where(self, field: str) -> str | None:
        """The cell a field was read from, else the project's own cell."""
        letter = self.columns.get(field)
        return f"{letter}{self.row}" if letter and self.row else self.cell

    def get(self, key: str) -> object:
        """A field's value: the model's own attribute, or an extra field's."""
        return getattr(self, key) if key in _PROJECT_OWN else self.extra.get(key)

    def sources_sum(self) -> Decimal:
        """The sum of the registry's funding sources (财政拨款, 财政专户拨款, 其他资金)."""
        amounts = (getattr(self, f.key) for f in PROJECT.sources)
        return sum((a for a in amounts if a is not None), Decimal("0.00"))


# The model's own attributes: a field whose key is not one of them lives in `extra`.
_INDICATOR_OWN = frozenset(Indicator.model_fields)
_PROJECT_OWN = frozenset(Project.model_fields)
RESERVED_KEYS = _INDICATOR_OWN | _PROJECT_OWN


# Invisible characters no table needs: C0 controls (but tab and line breaks), DEL, C1
# controls, and the escape sequences terminals obey (`\x1b[31m`).
CONTROLS = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` without control characters or escape sequences."""
    return text if text.isprintable() else CONTROLS.sub("", text)


class Issue(BaseModel):
    """One problem found, at its place. `code` is stable; `message` is for people. No text
    of an issue carries a control character: a sheet's name or a value from a stranger's
    file is printed on terminals and written into workbooks."""

    code: str
    severity: Severity
    message: str
    hint: str | None = None
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    @field_validator("message", "hint", "file", "sheet", "column", "value")
    @classmethod
    def _visible(cls, text: str | None) -> str | None:
        return visible(text) if text else text


class ExtraField(BaseModel):
    """A field a template spec added, as the data that carries it says: which rows it is
    of, its key (in `extra`), its caption, and whether it is an amount."""

    entity: Literal["project", "indicator"]
    key: str
    header: str
    money: bool = False

    @property
    def type(self) -> str:
        return "amount" if self.money else "text"

    def field(self) -> registry.Field:
        return extra_field(self.key, self.header, self.money)

    @classmethod
    def of(cls, entity: Literal["project", "indicator"], field: registry.Field) -> ExtraField:
        return cls(entity=entity, key=field.key, header=field.header, money=field.is_money)


class TargetTable(BaseModel):
    """A department's projects and indicators, whatever layout they were read from, with
    the extra fields its layout added."""

    department: Department = Field(default_factory=Department)
    fiscal_year: int | None = None
    codeset: str | None = None
    # Which template (id, spec version) the data was filled into, when it came from ours.
    template_id: str | None = None
    template_version: str | None = None
    projects: list[Project] = Field(default_factory=list)
    extras: list[ExtraField] = Field(default_factory=list)
    # The 合计 its source declared, by amount field, where it gave one: written again as
    # declared (a difference from the projects' sum is an issue, never silently repaired).
    declared_total: dict[str, Decimal] = Field(default_factory=dict)

    def fields(self, entity: Literal["project", "indicator"]) -> Fields:
        """The fields of its projects or indicators: the registry's and the extra ones."""
        known = PROJECT if entity == "project" else INDICATOR
        return known.with_extras(e.field() for e in self.extras if e.entity == entity)

    @property
    def indicator_count(self) -> int:
        return sum(len(p.indicators) for p in self.projects)


class BudgetLine(BaseModel):
    """One labelled amount of a department-wide table's budget overview (基本支出, 项目支出,
    财政拨款, 市本级使用资金 …), its label and group as written."""

    group: str = ""  # the caption over it: 部门预算支出, 收入来源, 按预算级次划分 …
    label: str
    amount: Decimal | None = None
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None


class Task(BaseModel):
    """A key task of the year (年度重点工作任务): what it is, what is done, its money (and
    that money's sources where the table gives them), what it should achieve."""

    name: str = ""
    content: str = ""
    amount: Decimal | None = None
    fiscal: Decimal | None = None
    other: Decimal | None = None
    goal: str = ""
    sheet: str | None = None
    row: int | None = None
    cell: str | None = None
    columns: SkipValidation[dict[str, str]] = Field(default_factory=dict)

    def where(self, field: str) -> str | None:
        letter = self.columns.get(field)
        return f"{letter}{self.row}" if letter and self.row else self.cell


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class OverallTable(BaseModel):
    """A department-wide target table (部门整体支出绩效目标表): the budget overview, the
    declared total, the overall goal, the key tasks and the department's indicators."""

    department: Department = Field(default_factory=Department)
    fiscal_year: int | None = None
    codeset: str | None = None
    template_id: str | None = None
    template_version: str | None = None
    budget: list[BudgetLine] = Field(default_factory=list)
    total: Decimal | None = None
    goal: str = ""
    total_at: BudgetLine | None = None  # where the declared total is written
    goal_at: BudgetLine | None = None  # where the goal is written: its sheet, row and cell
    tasks: list[Task] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)
    # Other labelled facts the table gives (下属二级单位数 …), by their labels as written.
    info: dict[str, str] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The department-wide part of `import --json`: amounts as decimal strings in 万元,
        null where the table gives none."""
        return {
            "kind": "department",
            "department": self.department.model_dump(mode="json"),
            "fiscal_year": self.fiscal_year,
            "codeset": self.codeset,
            "budget": [
                {
                    "group": b.group,
                    "label": b.label,
                    "amount": _money(b.amount),
                    "sheet": b.sheet,
                    "row": b.row,
                    "cell": b.cell,
                }
                for b in self.budget
            ],
            "total": _money(self.total),
            "goal": self.goal,
            "info": self.info,
            "tasks": [
                {
                    "name": t.name,
                    "content": t.content,
                    "amount": _money(t.amount),
                    "fiscal": _money(t.fiscal),
                    "other": _money(t.other),
                    "goal": t.goal,
                    "sheet": t.sheet,
                    "row": t.row,
                    "cell": t.cell,
                }
                for t in self.tasks
            ],
            "indicators": [
                {
                    "level1": i.level1,
                    "level1_label": i.level1_label,
                    "level2": i.level2,
                    "level2_label": i.level2_label,
                    "name": i.name,
                    "period": i.period,
                    "annual": i.annual,
                    "sheet": i.sheet,
                    "row": i.row,
                    "cell": i.cell,
                }
                for i in self.indicators
            ],
        }


class ReadResult(BaseModel):
    """A file read: what it holds, what was wrong with it, and what kind of file it was."""

    file: str
    # template / plain (a workbook with the template's headers) / published (the packed
    # table) / grid (one row per indicator) / form (one form per project) / structured / json
    kind: Literal[
        "template", "plain", "published", "grid", "form", "structured", "json", "department"
    ]
    table: TargetTable
    issues: list[Issue] = Field(default_factory=list)
    # A department-wide table (kind `department`): its overview, tasks and indicators.
    overall: OverallTable | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def summary(self) -> dict[str, Any]:
        """One line of `import` over several files: the file, its layout, what it holds."""
        total = sum((p.total for p in self.table.projects if p.total is not None), Decimal(0))
        if self.overall is not None:
            indicators = len(self.overall.indicators)
            total = self.overall.total or sum(
                (t.amount for t in self.overall.tasks if t.amount is not None), Decimal(0)
            )
        else:
            indicators = self.table.indicator_count
        return {
            "file": self.file,
            "kind": self.kind,
            "department": self.table.department.name,
            "projects": len(self.table.projects),
            "indicators": indicators,
            "total": str(total),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }

    def to_dict(self) -> dict[str, Any]:
        """What `import --json` prints: amounts as decimal strings, each value with its
        parse, each issue with its place."""
        table = self.table
        issues = [i.model_dump(mode="json", exclude_none=True) for i in self.issues]
        if self.overall is not None:
            return {"file": self.file, **self.overall.to_dict(), "issues": issues}
        return {
            "file": self.file,
            "kind": self.kind,
            "department": table.department.model_dump(mode="json"),
            "fiscal_year": table.fiscal_year,
            "codeset": table.codeset,
            "extras": [e.model_dump(mode="json") for e in table.extras],
            "projects": [p.model_dump(mode="json") for p in table.projects],
            "issues": issues,
        }

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]
