"""Write the locked department-wide template (部门整体支出绩效目标申报表) from its spec
(templates/overall.toml), with the project template's machinery: the same instructions and
code table, code lists behind defined names, the 二级 list following the 一级 through
INDIRECT, input cells alone unlocked, sheet protection, `_meta` and document properties
with a structure hash, hidden row ids, and prefill from last year's table.

    总体情况   类别 | 项目 | 金额（万元）/内容: 预算总额, 基本支出, 项目支出, the income
               sources, 总体绩效目标 — one labelled cell each, the labels locked
    重点任务   序号 | 任务名称 | 主要实施内容 | 拟投入资金 | 期望达到的目标
    指标       一级指标 | 二级指标 | 三级指标 | 指标性质 | 计算符号 | 实施周期指标值 | 年度指标值 |
               计量单位
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from perfxl.domain.codesets import CodeSet
from perfxl.domain.fields import caption_key
from perfxl.domain.model import Department, OverallTable
from perfxl.errors import FileError
from perfxl.formats.grid import a1
from perfxl.formats.overall_spec import OVERVIEW_HEADERS, OverallSpec, OverviewItem
from perfxl.formats.protection import protect_sheets
from perfxl.formats.template_cells import (
    INDICATOR_ROW_PREFIX,
    LISTS_SHEET,
    META_SHEET,
    TASK_ROW_PREFIX,
    fit_height,
    indicator_cells,
)
from perfxl.formats.template_writer import SPARE_ROWS, TemplateOptions, WorkbookWriter

_GOAL_MAX = 2000  # characters of the overall goal


class _OverallWriter(WorkbookWriter[OverallSpec]):
    def __init__(
        self, path: Path, spec: OverallSpec, codeset: CodeSet, department: Department,
        options: TemplateOptions, prefill: OverallTable | None,
    ) -> None:  # fmt: skip
        super().__init__(path, spec, codeset, department, options)
        self.prefill = prefill
        tasks = prefill.tasks if prefill else []
        indicators = prefill.indicators if prefill else []
        self.task_rows = max(spec.tasks.rows, len(tasks) + SPARE_ROWS if tasks else 0)
        self.indicator_rows = max(
            spec.indicators.rows, len(indicators) + SPARE_ROWS if indicators else 0
        )

    def write(self) -> None:
        try:
            self._properties()
            instructions = self.wb.add_worksheet(self.spec.instructions.name)
            overview = self.wb.add_worksheet(self.spec.overview.name)
            tasks = self.wb.add_worksheet(self.spec.tasks.name)
            indicators = self.wb.add_worksheet(self.spec.indicators.name)
            lists = self.wb.add_worksheet(LISTS_SHEET)
            meta = self.wb.add_worksheet(META_SHEET)
            self._instructions(instructions)
            self._code_lists(lists)
            lists.protect(self.options.password or "")
            self._overview(overview)
            self._tasks(tasks)
            self._indicators(indicators)
            self._meta(meta)
            lists.hide()
            meta.hide()
            instructions.activate()
        finally:
            self.wb.close()

    def metadata(self) -> dict[str, str]:
        return self.identity(
            {"task_rows": self.task_rows, "indicator_rows": self.indicator_rows},
            form=self.spec.form,
        )

    # --- 总体情况 ---------------------------------------------------------------------------

    def _overview(self, ws: Any) -> None:
        spec = self.spec.overview
        top = spec.header_row + 1
        ws.set_column(0, 0, 16)
        ws.set_column(1, 1, 22)
        ws.set_column(2, 2, 70)
        title = f"{self.options.year}年{spec.title or spec.name}"
        ws.merge_range(0, 0, 0, 2, title, self.f.title)
        ws.merge_range(1, 0, 1, 2, self._info_line(), self.f.info)
        for c, caption in enumerate(OVERVIEW_HEADERS):
            ws.write_string(spec.header_row, c, caption, self.f.header)
        items = spec.items
        start = 0
        for n in range(1, len(items) + 1):  # each group caption once, merged down its items
            if n == len(items) or items[n].group != items[start].group:
                if n - start > 1:
                    ws.merge_range(
                        top + start, 0, top + n - 1, 0, items[start].group, self.f.locked
                    )
                else:
                    ws.write_string(top + start, 0, items[start].group, self.f.locked)
                start = n
        values = self._overview_values()
        for n, item in enumerate(items):
            r = top + n
            ws.write_string(r, 1, item.label, self.f.locked)
            value = values.get(item.key)
            if item.type == "amount":
                if isinstance(value, Decimal):
                    ws.write_number(r, 2, float(value), self.f.amount)
                else:
                    ws.write_blank(r, 2, None, self.f.amount)
                at = a1(r, 2)
                rule: dict[str, Any] = {
                    "validate": "custom",
                    "value": f"=AND(ISNUMBER({at}),{at}>=0,ROUND({at},2)={at})",
                    "error_title": "金额不正确",
                    "error_message": f"“{item.label}”须填写不小于 0 的数字，单位万元，"
                    "最多两位小数。",
                }
            else:
                text = str(value or "")
                if text:
                    ws.write_string(r, 2, text, self.f.wrap)
                else:
                    ws.write_blank(r, 2, None, self.f.wrap)
                ws.set_row(r, max(120, min(13.5 * (len(text) // 34 + 1), 409)))
                rule = {
                    "validate": "length", "criteria": "<=", "value": _GOAL_MAX,
                    "error_title": "内容过长",
                    "error_message": f"“{item.label}”最多 {_GOAL_MAX} 个字。",
                }  # fmt: skip
            if item.help:
                rule.update(input_title=item.label[:32], input_message=item.help[:255])
            ws.data_validation(r, 2, r, 2, rule)
        ws.freeze_panes(top, 0)
        self._protect(ws)
        ws.set_portrait()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.print_area(0, 0, top + len(items) - 1, 2)

    def _overview_values(self) -> dict[str, object]:
        """Last year's overview by item: the total, the goal, and each labelled amount whose
        label (under the same group, where two share it) is the item's."""
        table = self.prefill
        if table is None:
            return {}
        out: dict[str, object] = {"total": table.total, "goal": table.goal}
        for item in self.spec.overview.items:
            if item.key not in out:
                out[item.key] = _matching(item, table)
        return out

    # --- 重点任务 and 指标 ------------------------------------------------------------------

    def _tasks(self, ws: Any) -> None:
        sheet = self.spec.tasks
        self._frame(ws, sheet, self.task_rows, TASK_ROW_PREFIX)
        tasks = self.prefill.tasks if self.prefill else []
        for n in range(self.task_rows):
            r = sheet.first_data_row + n
            task = tasks[n] if n < len(tasks) else None
            values = {c.key: getattr(task, c.key, None) for c in sheet.columns} if task else {}
            for c, column in enumerate(sheet.columns):
                if column.type == "seq":
                    ws.write_number(r, c, n + 1, self.f.locked)
                else:
                    self._input(ws, r, c, column, values.get(column.key))
            if values:
                fit_height(ws, r, sheet, {k: str(v or "") for k, v in values.items()})

    def _indicators(self, ws: Any) -> None:
        sheet = self.spec.indicators
        self._frame(ws, sheet, self.indicator_rows, INDICATOR_ROW_PREFIX)
        rows = [indicator_cells(i) for i in (self.prefill.indicators if self.prefill else [])]
        for n in range(self.indicator_rows):
            r = sheet.first_data_row + n
            values = rows[n] if n < len(rows) else {}
            for c, column in enumerate(sheet.columns):
                self._input(ws, r, c, column, values.get(column.key))
            if values:
                fit_height(ws, r, sheet, {k: str(v) for k, v in values.items()})


def _matching(item: OverviewItem, table: OverallTable) -> Decimal | None:
    label = caption_key(item.label)
    lines = [b for b in table.budget if caption_key(b.label) == label]
    if len(lines) > 1:
        lines = [b for b in lines if caption_key(b.group) == caption_key(item.group)] or lines
    return lines[0].amount if lines else None


def write_overall_template(
    path: Path,
    spec: OverallSpec,
    codeset: CodeSet,
    department: Department,
    options: TemplateOptions,
    prefill: OverallTable | None = None,
) -> Path:
    """Write one department's department-wide template. Raises FileError when the file
    cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _OverallWriter(path, spec, codeset, department, options, prefill).write()
        if options.password:
            protect_sheets(path, options.password)
    except OSError as exc:
        raise FileError(path, f"无法写入：{exc.strerror or exc}") from exc
    return path
