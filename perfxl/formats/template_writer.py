"""Write the locked department template (部门填报模板) from the spec.

What makes the workbook hard to fill wrongly, and what survives LibreOffice, Excel and WPS:

- Drop-downs come from ranges on a hidden list sheet behind defined names. Inline lists
  are cut at 255 characters without a word, so none is used. The 二级 list follows the
  一级 chosen through INDIRECT over names `L2_1`, `L2_2` … (a defined name may not contain
  `-` or start with a digit, and `L1` alone would be a cell address).
- Only the input range is unlocked; sheet protection is on, its password hashed with
  SHA-512 as Excel writes it today (perfxl.formats.protection): xlsxwriter's legacy hash
  fails in LibreOffice for a password in Chinese. "veryHidden" sheets and
  workbook-structure protection do not survive LibreOffice; hidden sheets, sheet
  protection, defined names and validations do. Protection guides people and guarantees
  nothing: the reader checks everything again.
- Formulas get their correct cached value (xlsxwriter writes none by default, and
  LibreOffice does not recalculate on load), and user text is written with write_string,
  since xlsxwriter would turn a leading `=` into a formula.
- A hidden `_meta` sheet and custom document properties carry the template id, spec
  version, code set, department, year and a hash of the locked structure; a hidden,
  locked row-id column shows inserted or deleted rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

from perfxl import __version__
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Department, Project, TargetTable
from perfxl.errors import FileError
from perfxl.formats.grid import a1, column_letter
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.protection import protect_sheets
from perfxl.formats.spec import ROW_ID_HEADER, ColumnSpec, SheetSpec, TemplateSpec
from perfxl.formats.template_cells import (
    INDICATOR_ROW_PREFIX,
    LISTS_SHEET,
    META_PREFIX,
    META_SHEET,
    NATURES,
    OPERATOR_CHOICES,
    PROJECT_ROW_PREFIX,
    fit_height,
    indicator_cells,
    project_label,
    validation,
)

SPARE_ROWS = 20  # free rows left below prefilled data when it outgrows the spec's count


@dataclass(frozen=True)
class TemplateOptions:
    year: int
    password: str | None = None
    deadline: str | None = None
    contact: str | None = None


@dataclass
class _Formats:
    title: Any
    info: Any
    header: Any
    locked: Any
    locked_amount: Any
    text: Any
    wrap: Any
    amount: Any
    hidden: Any
    note: Any


SpecT = TypeVar("SpecT", bound=TemplateSpec | OverallSpec)


class WorkbookWriter(ABC, Generic[SpecT]):
    """What every template of perfxl's shares: the formats, the document properties and
    `_meta`, the instructions with the code table, the code lists behind defined names, and
    the frame of a sheet of rows (title, info line, header, validations, row ids,
    protection, printing)."""

    def __init__(
        self, path: Path, spec: SpecT, codeset: CodeSet, department: Department,
        options: TemplateOptions,
    ) -> None:  # fmt: skip
        import xlsxwriter

        self.spec, self.codeset, self.department = spec, codeset, department
        self.options = options
        self.wb = xlsxwriter.Workbook(
            str(path),
            {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.f = self._formats()

    @abstractmethod
    def metadata(self) -> dict[str, str]:
        """What the hidden `_meta` sheet records of this template."""

    def identity(self, rows: dict[str, int], **form: str) -> dict[str, str]:
        """The `_meta` every template has: which spec, code set, department and year, its
        input rows (by name) and the structure hash over them, and who wrote it."""
        counts = list(rows.values())
        return {
            "template_id": self.spec.id,
            "spec_version": self.spec.version,
            **form,
            "codeset": self.codeset.name,
            "department_code": self.department.code or "",
            "department_name": self.department.name or "",
            "fiscal_year": str(self.options.year),
            **{name: str(n) for name, n in rows.items()},
            "structure_hash": self.spec.structure_hash(*counts),
            "generator": f"perfxl {__version__}",
        }

    def _formats(self) -> _Formats:
        add = self.wb.add_format
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        unlocked = {**base, "locked": False, "border": 1, "border_color": "#BFBFBF"}
        return _Formats(
            title=add({**base, "bold": True, "font_size": 14, "align": "center"}),
            info=add({**base, "font_color": "#595959"}),
            header=add(
                {
                    **base,
                    "bold": True,
                    "align": "center",
                    "text_wrap": True,
                    "border": 1,
                    "bg_color": "#DDEBF7",
                }
            ),
            locked=add({**base, "border": 1, "bg_color": "#F2F2F2", "align": "center"}),
            locked_amount=add(
                {**base, "border": 1, "bg_color": "#F2F2F2", "num_format": "#,##0.00"}
            ),
            text=add({**unlocked, "num_format": "@", "text_wrap": True}),
            wrap=add({**unlocked, "num_format": "@", "text_wrap": True, "valign": "top"}),
            amount=add({**unlocked, "num_format": "#,##0.00"}),
            hidden=add({**base, "font_color": "#808080"}),
            note=add({**base, "text_wrap": True, "valign": "top"}),
        )

    def _properties(self) -> None:
        self.wb.set_properties(
            {
                "title": f"{self.options.year}年{self.spec.title}",
                "subject": self.department.name or "",
                "author": "perfxl",
                "comments": "由 perfxl 生成的填报模板，请勿修改表结构。",
            }
        )
        for key, value in self.metadata().items():
            self.wb.set_custom_property(META_PREFIX + key, value, "text")

    def _meta(self, ws: Any) -> None:
        ws.write_string(0, 0, "key")
        ws.write_string(0, 1, "value")
        rows = {**self.metadata(), "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
        for r, (key, value) in enumerate(rows.items(), start=1):
            ws.write_string(r, 0, key)
            ws.write_string(r, 1, value)
        ws.protect(self.options.password or "")

    def _info_line(self) -> str:
        dept = self.department
        who = f"{dept.name}（{dept.code}）" if dept.name and dept.code else (dept.name or dept.code)
        return f"填报单位：{who or '（请财务部门指定）'}　　年度：{self.options.year}　　单位：万元"

    def _protect(self, ws: Any) -> None:
        ws.protect(
            self.options.password or "",
            {
                "select_locked_cells": True,
                "select_unlocked_cells": True,
                "format_columns": True,
                "format_rows": True,
            },
        )

    def _print_setup(self, ws: Any, sheet: SheetSpec, rows: int) -> None:
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.repeat_rows(sheet.title_row, sheet.header_row)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.print_area(0, 0, sheet.first_data_row + rows - 1, len(sheet.columns) - 1)

    # --- instructions --------------------------------------------------------------------

    def _instructions(self, ws: Any) -> None:
        values = {
            "year": self.options.year,
            "department": (self._info_line().split("　")[0]).removeprefix("填报单位："),
            "deadline": self.options.deadline or "（见通知）",
            "contact": self.options.contact or "（见通知）",
        }
        ws.set_column(0, 0, 110)
        ws.set_column(1, 4, 16)
        ws.write_string(0, 0, f"{self.options.year}年{self.spec.title}：填报说明", self.f.title)
        r = 2
        for line in self.spec.instructions.lines:
            ws.write_string(r, 0, line.format(**values), self.f.note)
            r += 1
        r += 1
        ws.write_string(
            r, 0, f"指标代码表（指标体系：{self.codeset.title or self.codeset.name}）", self.f.info
        )
        r += 1
        table_at = r
        for c, label in enumerate(("一级指标", "二级指标")):
            ws.write_string(r, c, label, self.f.header)
        for level1 in self.codeset.level1:
            for level2 in self.codeset.children(level1.code):
                r += 1
                ws.write_string(r, 0, f"{level1.code}-{level1.label}", self.f.locked)
                ws.write_string(r, 1, f"{level2.code}-{level2.label}", self.f.locked)
        ws.set_column(1, 1, 24)
        ws.freeze_panes(1, 0)
        ws.set_portrait()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.print_area(0, 0, max(r, table_at), 1)
        self._protect(ws)

    # --- lists ---------------------------------------------------------------------------

    def _code_lists(self, ws: Any) -> int:
        """The code lists (一级, each 一级's 二级, 计算符号, 指标性质), one column each, behind a
        defined name; the next free column."""
        col = 0

        def column(name: str, title: str, items: Iterable[str]) -> None:
            nonlocal col
            items = list(items) or [""]
            ws.write_string(0, col, title)
            for r, item in enumerate(items, start=1):
                ws.write_string(r, col, item)
            letter = column_letter(col)
            self.wb.define_name(name, f"={LISTS_SHEET}!${letter}$2:${letter}${len(items) + 1}")
            col += 1

        column("LST_L1", "一级指标", (f"{i.code}-{i.label}" for i in self.codeset.level1))
        for level1 in self.codeset.level1:
            column(
                f"L2_{level1.code}",
                f"二级指标（{level1.label}）",
                (f"{i.code}-{i.label}" for i in self.codeset.children(level1.code)),
            )
        column("LST_OPS", "计算符号", OPERATOR_CHOICES)
        column("LST_NATURE", "指标性质", NATURES)
        return col

    # --- data sheets ---------------------------------------------------------------------

    def _frame(self, ws: Any, sheet: SheetSpec, rows: int, prefix: str) -> None:
        """Title, info line, header, row ids, widths, validations, protection, printing."""
        last = len(sheet.columns) - 1
        ws.merge_range(
            sheet.title_row,
            0,
            sheet.title_row,
            last,
            f"{self.options.year}年{sheet.title or sheet.name}",
            self.f.title,
        )
        ws.merge_range(sheet.info_row, 0, sheet.info_row, last, self._info_line(), self.f.info)
        ws.set_row(sheet.header_row, 30)
        for c, column in enumerate(sheet.columns):
            ws.write_string(sheet.header_row, c, column.header, self.f.header)
            ws.set_column(c, c, column.width)
            rule = validation(sheet, c, column, rows)
            if rule is not None:
                last_row = sheet.first_data_row + rows - 1
                ws.data_validation(sheet.first_data_row, c, last_row, c, rule)
        rid = sheet.row_id_col
        ws.write_string(sheet.header_row, rid, ROW_ID_HEADER, self.f.hidden)
        ws.set_column(rid, rid, 10, None, {"hidden": True})
        for n in range(rows):
            ws.write_string(sheet.first_data_row + n, rid, f"{prefix}{n + 1:05d}", self.f.hidden)
        ws.freeze_panes(sheet.first_data_row, 0)
        self._protect(ws)
        self._print_setup(ws, sheet, rows)

    def _input(self, ws: Any, r: int, c: int, column: ColumnSpec, value: object) -> None:
        """An input cell, prefilled with `value` where there is one: amounts as numbers."""
        if column.type == "amount":
            if isinstance(value, Decimal) and value:
                ws.write_number(r, c, float(value), self.f.amount)  # doubles, as Excel stores
            elif value not in (None, "") and not isinstance(value, Decimal):
                ws.write_string(r, c, str(value), self.f.amount)
            else:
                ws.write_blank(r, c, None, self.f.amount)
            return
        fmt = self.f.wrap if column.type == "longtext" else self.f.text
        if value not in (None, ""):
            ws.write_string(r, c, str(value), fmt)
        else:
            ws.write_blank(r, c, None, fmt)


class _Writer(WorkbookWriter[TemplateSpec]):
    """The project template: 项目 and 指标, the 所属项目 list over the 项目 sheet."""

    def __init__(
        self, path: Path, spec: TemplateSpec, codeset: CodeSet, department: Department,
        options: TemplateOptions, prefill: TargetTable | None,
    ) -> None:  # fmt: skip
        super().__init__(path, spec, codeset, department, options)
        self.prefill = prefill
        projects = prefill.projects if prefill else []
        indicators = sum((len(p.indicators) for p in projects), 0)
        self.project_rows = max(spec.projects.rows, len(projects) + SPARE_ROWS if projects else 0)
        self.indicator_rows = max(
            spec.indicators.rows, indicators + SPARE_ROWS if indicators else 0
        )

    # --- the whole workbook --------------------------------------------------------------

    def write(self) -> None:
        try:
            self._properties()
            instructions = self.wb.add_worksheet(self.spec.instructions.name)
            projects = self.wb.add_worksheet(self.spec.projects.name)
            indicators = self.wb.add_worksheet(self.spec.indicators.name)
            lists = self.wb.add_worksheet(LISTS_SHEET)
            meta = self.wb.add_worksheet(META_SHEET)
            self._instructions(instructions)
            self._lists(lists)
            self._projects(projects)
            self._indicators(indicators)
            self._meta(meta)
            lists.hide()
            meta.hide()
            instructions.activate()
        finally:
            self.wb.close()

    def metadata(self) -> dict[str, str]:
        return self.identity(
            {"project_rows": self.project_rows, "indicator_rows": self.indicator_rows}
        )

    def _lists(self, ws: Any) -> None:
        """Every drop-down's source, one column each, behind a defined name; the projects
        entered: formulas over the 项目 sheet, with their cached values."""
        col = self._code_lists(ws)
        sheet = self.spec.projects
        seq_col, name_col = sheet.index("seq"), sheet.index("name")
        ws.write_string(0, col, "所属项目")
        projects = self.prefill.projects if self.prefill else []
        for n in range(self.project_rows):
            src = sheet.first_data_row + n + 1
            name_ref = f"'{sheet.name}'!${column_letter(name_col)}{src}"
            seq_ref = f"'{sheet.name}'!${column_letter(seq_col)}{src}"
            cached = (
                project_label(n + 1, projects[n].name)
                if n < len(projects) and projects[n].name
                else ""
            )
            ws.write_formula(
                n + 1, col, f'=IF({name_ref}="","",{seq_ref}&"、"&{name_ref})', None, cached
            )
        letter = column_letter(col)
        self.wb.define_name(
            "LST_PROJECTS", f"={LISTS_SHEET}!${letter}$2:${letter}${self.project_rows + 1}"
        )
        ws.protect(self.options.password or "")

    def _projects(self, ws: Any) -> None:
        sheet = self.spec.projects
        self._frame(ws, sheet, self.project_rows, PROJECT_ROW_PREFIX)
        projects = self.prefill.projects if self.prefill else []
        for n in range(self.project_rows):
            r = sheet.first_data_row + n
            project = projects[n] if n < len(projects) else None
            for c, column in enumerate(sheet.columns):
                self._project_cell(ws, sheet, r, c, column, n, project)
            if project is not None:
                fit_height(
                    ws,
                    r,
                    sheet,
                    {c.key: str(_project_value(project, c.key) or "") for c in sheet.columns},
                )

    def _project_cell(
        self,
        ws: Any,
        sheet: SheetSpec,
        r: int,
        c: int,
        column: ColumnSpec,
        n: int,
        project: Project | None,
    ) -> None:
        if column.type == "seq":
            ws.write_number(r, c, n + 1, self.f.locked)
        elif column.type == "total":
            refs = [a1(r, sheet.index(k)) for k in column.sums]
            formula = f'=IF(COUNT({",".join(refs)})=0,"",{"+".join(f"N({x})" for x in refs)})'
            cached: float | str = ""
            if project is not None:
                parts = [project.get(k) for k in column.sums]
                amounts = [p for p in parts if isinstance(p, Decimal)]
                if amounts:
                    cached = float(sum(amounts, Decimal(0)))
            ws.write_formula(r, c, formula, self.f.locked_amount, cached)
        else:
            self._input(ws, r, c, column, _project_value(project, column.key))

    def _indicators(self, ws: Any) -> None:
        sheet = self.spec.indicators
        self._frame(ws, sheet, self.indicator_rows, INDICATOR_ROW_PREFIX)
        rows: list[dict[str, object]] = []
        for seq, project in enumerate(self.prefill.projects if self.prefill else [], start=1):
            for indicator in project.indicators:
                rows.append(indicator_cells(indicator, project_label(seq, project.name)))
        for n in range(self.indicator_rows):
            r = sheet.first_data_row + n
            values = rows[n] if n < len(rows) else {}
            for c, column in enumerate(sheet.columns):
                self._input(ws, r, c, column, values.get(column.key))
            if values:
                fit_height(ws, r, sheet, {k: str(v) for k, v in values.items()})


def _project_value(project: Project | None, key: str) -> object:
    return None if project is None else project.get(key)


def write_template(
    path: Path,
    spec: TemplateSpec,
    codeset: CodeSet,
    department: Department,
    options: TemplateOptions,
    prefill: TargetTable | None = None,
) -> Path:
    """Write one department's template. Raises FileError when the file cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _Writer(path, spec, codeset, department, options, prefill).write()
        if options.password:
            protect_sheets(path, options.password)
    except OSError as exc:
        raise FileError(path, f"无法写入：{exc.strerror or exc}") from exc
    return path
