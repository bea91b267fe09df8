"""Read a filled department-wide template back, checked like the project template: its
identity against the document properties, its protection, the labels of 总体情况, the
headers and row ids of 重点任务 and 指标, and the structure hash. Amounts are re-read as
`Decimal` (text that is not an amount, or an amount typed as text, is an issue at its
cell); an overview amount left blank is none given, not zero."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from perfxl.checks import catalogue as cat
from perfxl.domain.codesets import CodeSet, bundled_names, load_codeset
from perfxl.domain.model import (
    BudgetLine,
    Department,
    ExtraField,
    Indicator,
    OverallTable,
    ReadResult,
    TargetTable,
    Task,
)
from perfxl.domain.packed import clean_cell
from perfxl.formats.grid import Cell, Sheet, column_letter, text_of
from perfxl.formats.overall_spec import OVERVIEW_HEADERS, OverallSpec, load_overall_spec
from perfxl.formats.tables import resolve_levels
from perfxl.formats.template_cells import INDICATOR_ROW_PREFIX, TASK_ROW_PREFIX, compose_cell
from perfxl.formats.template_frame import Expected, Frame
from perfxl.formats.template_reader import NATURE_OF, level_cell


class _OverallReader(Frame[OverallSpec]):
    def read(self) -> OverallTable:
        self.identity()
        table = OverallTable()
        self._overview(table)
        self._tasks(table)
        self._indicators(table)
        self.structure()
        meta = self.meta or {}
        year = meta.get("fiscal_year", "")
        table.department = Department(
            code=meta.get("department_code") or None, name=meta.get("department_name") or None
        )
        table.fiscal_year = int(year) if year.isdigit() else None
        table.codeset = meta.get("codeset") or None
        table.template_id = meta.get("template_id") or None
        table.template_version = meta.get("spec_version") or None
        return table

    def _overview(self, table: OverallTable) -> None:
        spec = self.spec.overview
        sheet = next((s for s in self.sheets if s.name == spec.name), None)
        if sheet is None and not self.is_template:  # a plain workbook: the sheet of the labels
            sheet = next((s for s in self.sheets if overview_sheet(s, self.spec)), None)
        if sheet is None:
            self.issue(cat.SHEET_MISSING, spec.name, name=spec.name)
            return
        top = spec.header_row + 1
        labels = [text_of(row[1]) if len(row) > 1 else "" for row in sheet.rows]
        self.actual[spec.name] = labels[top : top + len(spec.items)]
        for n, item in enumerate(spec.items):
            # By its label: where rows were moved, each amount is still the one beside it.
            r = labels.index(item.label) if item.label in labels else top + n
            if labels[r : r + 1] != [item.label]:
                found = labels[r] if r < len(labels) else ""
                self.issue(cat.HEADER_CHANGED, spec.name, r, 1, OVERVIEW_HEADERS[1], found,
                           expected=item.label, found=found or "（空）")  # fmt: skip
                continue
            row = sheet.rows[r]
            value = row[2] if len(row) > 2 else None
            place = {"sheet": spec.name, "row": r + 1, "cell": f"C{r + 1}"}
            if item.type == "longtext":
                if item.key == "goal":
                    table.goal = clean_cell(text_of(value))
                    table.goal_at = BudgetLine(label=item.label, **place)
                elif text := text_of(value):
                    table.info[item.label] = text
                continue
            amount = self.amount(spec.name, r, 2, item.label, value, blank=None)
            if amount is None and item.required and not text_of(value):
                self.issue(cat.REQUIRED_MISSING, spec.name, r, 2, item.label, None,
                           column_name=item.label)  # fmt: skip
            if item.key == "total":
                table.total, table.total_at = amount, BudgetLine(label=item.label, **place)
            else:
                table.budget.append(
                    BudgetLine(group=item.group, label=item.label, amount=amount, **place)
                )

    def _tasks(self, table: OverallTable) -> None:
        spec = self.spec.tasks
        rows, at = self.rows(spec, TASK_ROW_PREFIX)
        letters = {k: column_letter(c) for k, c in at.found.items()}
        amounts = [c.key for c in spec.columns if c.type == "amount"]
        for r, row in rows:
            money: dict[str, Decimal | None] = {
                key: self.amount(spec.name, r, at.found.get(key), spec.fields.header(key),
                                 row[at[key]], blank=None)
                for key in amounts
            }  # fmt: skip
            table.tasks.append(
                Task(
                    name=text_of(row[at["name"]]),
                    content=clean_cell(text_of(row[at["content"]])),
                    goal=clean_cell(text_of(row[at["goal"]])),
                    sheet=spec.name,
                    row=r + 1,
                    cell=f"{letters.get('name', 'B')}{r + 1}",
                    columns=letters,
                    **money,
                )
            )

    def _indicators(self, table: OverallTable) -> None:
        spec = self.spec.indicators
        rows, at = self.rows(spec, INDICATOR_ROW_PREFIX)
        letters = {k: column_letter(c) for k, c in at.found.items()}
        extras = spec.fields.extras
        for r, row in rows:

            def cell(key: str, row: list[Cell] = row) -> str:
                return text_of(row[at[key]])

            level1, level2 = level_cell(cell("level1")), level_cell(cell("level2"))
            op, unit = cell("operator"), cell("unit")
            extra: dict[str, str | Decimal] = {}
            for field in extras:
                value = row[at[field.key]]
                if field.is_money:
                    amount = self.amount(spec.name, r, at.found.get(field.key), field.header,
                                         value, blank=None)  # fmt: skip
                    if amount is not None:
                        extra[field.key] = amount
                elif text := text_of(value):
                    extra[field.key] = text
            indicator = Indicator(
                level1=level1[0],
                level1_label=level1[1],
                level2=level2[0],
                level2_label=level2[1],
                name=cell("name"),
                period=compose_cell(op, cell("period"), unit),
                annual=compose_cell(op, cell("annual"), unit),
                nature=NATURE_OF.get(cell("nature")),
                extra=extra,
                sheet=spec.name,
                row=r + 1,
                cell=f"{letters.get('name', 'C')}{r + 1}",
                columns=letters,
            )
            if self.codeset is not None:
                resolve_levels(indicator, self.codeset)
            table.indicators.append(indicator)


def overview_sheet(sheet: Sheet, spec: OverallSpec) -> bool:
    """Does the sheet hold most of the overview's labels, in its second column?"""
    labels = {text_of(row[1]) for row in sheet.rows[:60] if len(row) > 1}
    found = sum(item.label in labels for item in spec.overview.items)
    return found * 2 > len(spec.overview.items)


def is_overall_template(meta: dict[str, str] | None) -> bool:
    """Was the workbook written as a department-wide template?"""
    return bool(meta) and (meta or {}).get("form") == "department"


def read_overall_template(
    path: Path,
    sheets: list[Sheet],
    meta: dict[str, str] | None,
    spec: OverallSpec | None = None,
    codeset: CodeSet | None = None,
    expected: Expected | None = None,
) -> ReadResult:
    """Read a filled department-wide template, checking it was not tampered with."""
    spec = spec or load_overall_spec()
    if codeset is None:
        named = (meta or {}).get("codeset") or spec.codeset
        codeset = load_codeset(named if named in bundled_names() else spec.codeset)
    reader = _OverallReader(path, sheets, spec, codeset, meta, expected)
    overall = reader.read()
    table = TargetTable(
        department=overall.department,
        fiscal_year=overall.fiscal_year,
        codeset=overall.codeset,
        template_id=overall.template_id,
        template_version=overall.template_version,
        # The fields the spec added to the indicators: the ledger records them.
        extras=[ExtraField.of("indicator", f) for f in spec.indicators.fields.extras],
    )
    kind = "template" if meta is not None else "plain"
    return ReadResult(file=str(path), kind=kind, table=table, issues=reader.issues, overall=overall)
