"""The catalogue of every issue perfxl reports.

Each rule has a stable code, a severity (error blocks acceptance, like the national
system's 强制性 checks; warning informs, like its 提示性 ones), a Chinese message for the
people who fill in the forms, an English one for maintainers, and a fix hint. Messages are
templates filled from named values. The docs page of all rules is generated from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfxl.domain.model import Issue, Severity


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
INDICATOR_PROJECT_UNKNOWN = _rule(
    "indicator-project-unknown",
    "error",
    "指标",
    "“所属项目”为“{text}”，在“项目”表中找不到这个项目",
    "所属项目 {text!r} is not a project of the 项目 sheet",
    "请从下拉列表重新选择所属项目；如果项目已删除，请一并删除它的指标。",
)


# --- the template: identity and tampering ------------------------------------------------
SHEET_MISSING = _rule(
    "sheet-missing",
    "error",
    "模板",
    "缺少工作表“{name}”（可能被删除或改名）",
    "Sheet {name} is missing (deleted or renamed)",
    "请使用财务部门下发的原模板重新填写，不要删除或重命名工作表。",
)
HEADER_CHANGED = _rule(
    "header-changed",
    "error",
    "模板",
    "表头被修改：此处应为“{expected}”，实际为“{found}”",
    "Header edited: expected {expected!r}, found {found!r}",
    "请把表头改回“{expected}”，不要修改、插入或删除列。",
)
ROWS_INSERTED = _rule(
    "rows-inserted",
    "error",
    "模板",
    "在模板中插入了行（该行没有行标识）",
    "A row was inserted into the template (it has no row id)",
    "请删除插入的行，把内容填到模板原有的空行中；行不够时请联系财务部门。",
)
ROWS_DELETED = _rule(
    "rows-deleted",
    "error",
    "模板",
    "模板中的行被删除：缺少行标识 {ids}",
    "Template rows were deleted: row ids {ids} are missing",
    "请使用原模板重新填写，不要删除行；不需要的内容清空即可。",
)
PROTECTION_REMOVED = _rule(
    "protection-removed",
    "warning",
    "模板",
    "工作表“{name}”的保护已被撤销",
    "Sheet {name} is no longer protected",
    "撤销保护后表结构可能被改动；本次已逐项重新检查，下次请勿撤销保护。",
)
TEMPLATE_MISMATCH = _rule(
    "template-mismatch",
    "error",
    "模板",
    "模板标识不一致：隐藏表 _meta 中“{key}”为“{meta}”，文档属性中为“{props}”",
    "Template identity disagrees: _meta {key}={meta!r}, document property {props!r}",
    "文件可能由别的模板拼接而成，请使用财务部门下发的原模板重新填写。",
)
WRONG_DEPARTMENT = _rule(
    "wrong-department",
    "error",
    "模板",
    "这是“{found}”的模板，不是“{expected}”的",
    "This is the template of {found}, not of {expected}",
    "请使用发给本单位的模板填写。",
)
WRONG_YEAR = _rule(
    "wrong-year",
    "error",
    "模板",
    "这是 {found} 年度的模板，本次收集的是 {expected} 年度",
    "This is the template of year {found}, expected {expected}",
    "请使用本年度下发的模板填写。",
)
STRUCTURE_CHANGED = _rule(
    "structure-changed",
    "error",
    "模板",
    "模板的锁定结构被改动（结构校验值不符）",
    "The locked structure of the template changed (structure hash differs)",
    "请使用财务部门下发的原模板重新填写。",
)
NOT_OUR_TEMPLATE = _rule(
    "not-a-template",
    "warning",
    "模板",
    "这不是 perfxl 生成的模板，按{kind}读取",
    "Not a perfxl template; read as {kind}",
    "建议使用财务部门下发的模板填写，以获得下拉选项和自动检查。",
)

# --- reading: what was coerced -----------------------------------------------------------
AMOUNT_AS_TEXT = _rule(
    "amount-as-text",
    "warning",
    "金额",
    "“{column_name}”以文本“{text}”填写，已按 {amount} 读取",
    "{column_name} written as text {text!r}, read as {amount}",
    "金额请直接填写数字，不要带逗号、空格或单位。",
)
CODE_AS_NUMBER = _rule(
    "code-as-number",
    "warning",
    "项目",
    "项目编码“{text}”是数字格式，已按文本读取；长编码在数字格式下可能丢失末位",
    "Project code {text!r} is a number cell; read as text (long codes lose digits)",
    "请将项目编码单元格设为文本格式后重新录入。",
)
TOTAL_STALE = _rule(
    "total-stale",
    "warning",
    "金额",
    "总计单元格显示 {shown}，按三项资金来源重新计算为 {summed}，已采用重新计算的值",
    "总计 shows {shown}; recomputed from the sources as {summed}, which is used",
    "总计由公式计算，请不要手工改写。",
)

# --- projects ----------------------------------------------------------------------------
REQUIRED_MISSING = _rule(
    "required-missing",
    "error",
    "项目",
    "必填项“{column_name}”为空",
    "Required field {column_name} is blank",
    "请填写“{column_name}”。",
)
AMOUNT_NEGATIVE = _rule(
    "amount-negative",
    "error",
    "金额",
    "“{column_name}”为负数 {amount}",
    "{column_name} is negative: {amount}",
    "金额不能小于 0。",
)
AMOUNT_PLACES = _rule(
    "amount-places",
    "error",
    "金额",
    "“{column_name}”为 {amount}，超过两位小数",
    "{column_name} {amount} has more than two decimal places",
    "金额单位为万元，最多保留两位小数。",
)
PROJECT_CODE_DUPLICATE = _rule(
    "project-code-duplicate",
    "error",
    "项目",
    "项目编码“{code}”重复（另见 {other}）",
    "Project code {code!r} is repeated (also at {other})",
    "项目编码是项目的唯一标识，每个项目只填一行；确属不同项目请核对编码。",
)
PROJECT_NAME_DUPLICATE = _rule(
    "project-name-duplicate",
    "warning",
    "项目",
    "项目名称“{name}”重复（另见 {other}）",
    "Project name {name!r} is repeated (also at {other})",
    "同名项目请确认是否重复填报；不同项目请以项目编码区分。",
)
GOAL_TOO_SHORT = _rule(
    "goal-too-short",
    "warning",
    "项目",
    "绩效目标只有 {length} 个字，过于简略",
    "The goal has only {length} characters",
    "请写明项目做什么、达到什么效果，一般不少于 {minimum} 个字。",
)
PROJECT_NO_OUTPUT = _rule(
    "project-no-output",
    "error",
    "指标",
    "项目没有产出指标",
    "The project has no 产出 (output) indicator",
    "每个项目至少填写一条一级指标为“产出指标”的绩效指标。",
)
PROJECT_NO_EFFECT = _rule(
    "project-no-effect",
    "error",
    "指标",
    "项目没有效益指标",
    "The project has no 效益 (effect) indicator",
    "每个项目至少填写一条一级指标为“效益指标”的绩效指标。",
)
PROJECT_NO_SATISFACTION = _rule(
    "project-no-satisfaction",
    "warning",
    "指标",
    "项目没有满意度指标",
    "The project has no 满意度 (satisfaction) indicator",
    "面向服务对象的项目一般应填写满意度指标。",
)

# --- indicators --------------------------------------------------------------------------
LEVEL1_UNKNOWN = _rule(
    "level1-unknown",
    "error",
    "指标",
    "一级指标“{text}”不在指标体系“{codeset}”中",
    "一级 indicator {text!r} is not in code set {codeset}",
    "请从下拉列表选择一级指标，或写作“代码-名称”，例如 1-产出指标。",
)
LEVEL2_UNKNOWN = _rule(
    "level2-unknown",
    "error",
    "指标",
    "二级指标“{text}”不在指标体系“{codeset}”中",
    "二级 indicator {text!r} is not in code set {codeset}",
    "请从下拉列表选择二级指标，或写作“代码-名称”，例如 11-数量指标。",
)
LEVEL2_MISMATCH = _rule(
    "level2-mismatch",
    "error",
    "指标",
    "二级指标“{level2}”不属于一级指标“{level1}”",
    "二级 {level2!r} does not belong under 一级 {level1!r}",
    "请先选一级指标，再从其下的二级指标中选择。",
)
ANNUAL_BLANK = _rule(
    "annual-blank",
    "error",
    "指标",
    "年度指标值为空",
    "The annual value (年度指标值) is blank",
    "请填写本年度要达到的目标值。",
)
VALUE_PLACEHOLDER = _rule(
    "value-placeholder",
    "error",
    "指标",
    "{column_name}填写了占位符“{text}”",
    "{column_name} holds a placeholder {text!r}",
    "请填写实际的目标值，不要用“*”“-”“_”等代替。",
)
QUANTITATIVE_NOT_NUMBER = _rule(
    "quantitative-not-number",
    "error",
    "指标",
    "定量指标的{column_name}“{text}”不是数字",
    "Quantitative indicator: {column_name} {text!r} is not a number",
    "定量指标的指标值只填数字（例如 90），计算符号和计量单位填在各自的列中；"
    "无法量化的请将指标性质改为“定性”。",
)
QUANTITATIVE_NO_UNIT = _rule(
    "quantitative-no-unit",
    "error",
    "指标",
    "定量指标“{name}”没有计量单位（{column_name}为“{text}”）",
    "Quantitative indicator {name!r} has no unit ({column_name} {text!r})",
    "请填写计量单位，例如 %、人、次、个、万元。",
)
PERCENT_OUT_OF_RANGE = _rule(
    "percent-out-of-range",
    "warning",
    "指标",
    "{column_name}为 {text}，百分比超出 0–100",
    "{column_name} {text} is a percentage outside 0-100",
    "请核对百分比数值。",
)
VALUE_VAGUE = _rule(
    "value-vague",
    "warning",
    "指标",
    "{column_name}“{text}”含有笼统表述“{word}”，难以考核",
    "{column_name} {text!r} is vague ({word!r})",
    "请改为可衡量、可考核的具体目标，例如具体数值或完成标准。",
)
INDICATOR_REPEATS_PROJECT = _rule(
    "indicator-repeats-project",
    "warning",
    "指标",
    "三级指标“{name}”只是重复了项目或资金名称",
    "Indicator name {name!r} only repeats the project or fund name",
    "三级指标应写明衡量什么，例如：培训人数、服务覆盖率、群众满意度。",
)


# --- collecting --------------------------------------------------------------------------
DEPARTMENT_UNKNOWN = _rule(
    "department-unknown",
    "error",
    "提交",
    "文件所属单位“{found}”不在单位名单中",
    "The file's department {found!r} is not on the roster",
    "请核对文件中的单位名称或编码；确属新单位请先加入名单。",
)


def rule(code: str) -> Rule:
    return RULES[code]
