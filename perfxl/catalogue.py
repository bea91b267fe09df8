"""The catalogue of every issue perfxl reports.

Each rule has a stable code, a severity (error blocks acceptance, like the national
system's 强制性 checks; warning informs, like its 提示性 ones), a Chinese message for the
people who fill in the forms, an English one for maintainers, and a fix hint. Messages are
templates filled from named values. The docs page of all rules is generated from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfxl.model import Issue, Severity


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
        """An issue of this rule at a place; `params` fill the message templates."""
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


def _rule(code: str, severity: Severity, group: str, zh: str, en: str, hint: str) -> Rule:
    if code in RULES:
        raise ValueError(f"duplicate rule code {code}")
    RULES[code] = rule = Rule(code, severity, group, zh, en, hint)
    return rule


# --- files -------------------------------------------------------------------------------
FILE_UNREADABLE = _rule(
    "file-unreadable",
    "error",
    "文件",
    "文件无法读取：{reason}",
    "The file cannot be read: {reason}",
    "请确认文件是 Excel 工作簿（.xlsx）或 CSV/文本表格，未加密、未损坏，然后重新提交。",
)
HEADER_NOT_FOUND = _rule(
    "header-not-found",
    "error",
    "文件",
    "未找到表头行：需要一行同时含有“项目名称”“总计”等列名",
    "No header row: a row naming 项目名称, 总计 and the other columns was not found",
    "请保留表格原有的表头行（项目名称、总计、财政拨款、财政专户拨款、其他资金、绩效目标、绩效指标）。",
)
COLUMN_MISSING = _rule(
    "column-missing",
    "error",
    "文件",
    "表头缺少“{column_name}”列",
    "The header has no {column_name} column",
    "请在表头补回“{column_name}”列，列名须与模板一致。",
)
DEPARTMENT_NOT_FOUND = _rule(
    "department-not-found",
    "warning",
    "文件",
    "未找到“部门名称：”或“单位名称：”行，无法确定所属部门",
    "No 部门名称/单位名称 line: the department is unknown",
    "请在表头上方保留“部门名称：（部门全称）”一行。",
)
ROW_NOT_RECOGNISED = _rule(
    "row-not-recognised",
    "warning",
    "文件",
    "此行既不是项目行也不是合计行，已原样列出，未计入项目",
    "This row is neither a project nor a total; listed verbatim, not counted",
    "如果这是一个项目，请补全项目名称和金额；如果是备注，可以忽略。",
)

# --- amounts -----------------------------------------------------------------------------
AMOUNT_INVALID = _rule(
    "amount-invalid",
    "error",
    "金额",
    "“{column_name}”的值“{text}”不是金额",
    "{column_name} value {text!r} is not an amount",
    "金额请填写数字，单位万元，最多两位小数，例如 1209.08。",
)
TOTAL_ROW_MISSING = _rule(
    "total-row-missing",
    "warning",
    "金额",
    "未找到“合计”行，无法核对合计数",
    "No 合计 row: the declared total cannot be checked",
    "请在表头下保留“合计”行。",
)
TOTAL_SOURCES_MISMATCH = _rule(
    "total-sources-mismatch",
    "error",
    "金额",
    "总计 {total} 不等于 财政拨款+财政专户拨款+其他资金 = {summed}（相差 {diff}）",
    "总计 {total} differs from the sum of the three sources {summed} (by {diff})",
    "总计应等于三项资金来源之和，请核对各项金额。",
)
DECLARED_TOTAL_ROUNDING = _rule(
    "declared-total-rounding",
    "warning",
    "金额",
    "合计行“{column_name}”为 {declared}，各项目相加为 {summed}，相差 {diff}，"
    "在各行四舍五入的误差（{tolerance}）以内",
    "合计 {column_name} {declared} differs from the sum of the rows {summed} by {diff}, "
    "within the rounding of {rows} rows ({tolerance})",
    "通常是各项目分别四舍五入所致；如需一致，请按各项目金额之和填写合计。",
)
DECLARED_TOTAL_MISMATCH = _rule(
    "declared-total-mismatch",
    "error",
    "金额",
    "合计行“{column_name}”为 {declared}，各项目相加为 {summed}，相差 {diff}，"
    "超出四舍五入误差（{tolerance}）",
    "合计 {column_name} {declared} differs from the sum of the rows {summed} by {diff}, "
    "more than rounding explains ({tolerance})",
    "请核对各项目金额与合计数，合计应等于各项目之和。",
)
SUBTOTAL_ROUNDING = _rule(
    "subtotal-rounding",
    "warning",
    "金额",
    "资金使用单位“{unit}”小计“{column_name}”为 {declared}，其下项目相加为 {summed}，"
    "相差 {diff}，在四舍五入误差（{tolerance}）以内",
    "Subtotal of {unit} ({column_name}) {declared} differs from its projects {summed} by "
    "{diff}, within rounding ({tolerance})",
    "通常是各项目分别四舍五入所致。",
)
SUBTOTAL_MISMATCH = _rule(
    "subtotal-mismatch",
    "error",
    "金额",
    "资金使用单位“{unit}”小计“{column_name}”为 {declared}，其下项目相加为 {summed}，相差 {diff}",
    "Subtotal of {unit} ({column_name}) {declared} differs from its projects {summed} by {diff}",
    "请核对该单位小计与其下各项目金额。",
)

# --- indicators --------------------------------------------------------------------------
INDICATOR_UNPARSED = _rule(
    "indicator-unparsed",
    "error",
    "指标",
    "第 {number} 项绩效指标无法识别，已原样保留：{text}",
    "Indicator item {number} cannot be parsed; kept verbatim: {text}",
    "每项指标应写作：序号、一级指标；二级指标；三级指标；实施周期指标值:值；年度指标值:值。",
)
LEVEL_UNKNOWN = _rule(
    "level-unknown",
    "error",
    "指标",
    "{level}指标“{text}”不在指标体系“{codeset}”中",
    "{level} indicator {text!r} is not in code set {codeset}",
    "请从下拉列表中选择，或写作“代码-名称”，例如 11-数量指标。",
)

INDICATOR_PROJECT_UNKNOWN = _rule(
    "indicator-project-unknown",
    "error",
    "指标",
    "“所属项目”为“{text}”，在“项目”表中找不到这个项目",
    "所属项目 {text!r} is not a project of the 项目 sheet",
    "请从下拉列表重新选择所属项目；如果项目已删除，请一并删除它的指标。",
)


def rule(code: str) -> Rule:
    return RULES[code]
