"""The layouts tables come in across the country (layouts.md), built from rows written out
below, with what perfxl must read from each: projects, amounts in 万元 to the last digit,
indicators with their levels and values. Each is written as .xlsx with openpyxl, merged
cells where the layout merges them; the tests save them again with LibreOffice as .xls and
.ods, and as CSV in GBK or UTF-16 text."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl

Rows = list[list[object]]
# (一级 code, 二级 code, 三级 name, 年度 operator, number, unit)
Expected = tuple[str, str, str, str | None, str | None, str | None]


@dataclass
class Layout:
    """One table: its sheets' rows, the cells merged, and what must be read from it."""

    name: str
    kind: str  # published / grid / form
    sheets: dict[str, Rows]
    merged: dict[str, list[str]] = field(default_factory=dict)  # sheet → A1:B2 ranges
    department: str | None = None
    codeset: str = "2021"
    # project code or name → (total in 万元, indicators)
    projects: dict[str, tuple[Decimal | None, list[Expected]]] = field(default_factory=dict)
    one_sheet: bool = True  # can be a CSV

    def xlsx(self, folder: Path) -> Path:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)  # type: ignore[arg-type]
        for title, rows in self.sheets.items():
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append(row)
            for span in self.merged.get(title, []):
                ws.merge_cells(span)
        path = folder / f"{self.name}.xlsx"
        wb.save(path)
        return path

    def text(self, folder: Path, encoding: str, suffix: str = ".csv") -> Path:
        """The one sheet as a text table, merged cells blank but their first, as Excel
        exports it."""
        [rows] = self.sheets.values()
        path = folder / f"{self.name}-{encoding}{suffix}"
        with path.open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh, delimiter="," if suffix == ".csv" else "\t")
            writer.writerows([["" if v is None else v for v in row] for row in rows])
        return path


PACKED_IND = (
    "1、1-产出指标；11-数量指标；救助人次；实施周期指标值:≥1200人次；年度指标值:≥1200人次。"
    "2、1-产出指标；14-成本指标；人均救助成本；实施周期指标值:≤2000元；年度指标值:≤2000元。"
    "3、2-效益指标；22-社会效益指标；困难群众基本生活保障率；实施周期指标值:100%；年度指标值:100%。"
)
PACKED_IND_2 = (
    "1、1-产出指标；12-质量指标；设施完好率；实施周期指标值:≥95%；年度指标值:≥95%。"
    "2、3-满意度指标；31-服务对象满意度指标；群众满意度；实施周期指标值:≥90%；年度指标值:≥90%。"
)

# A district's packed table: amounts in 元, `项目名称（资金使用单位）`, 资金使用单位 subtotals,
# the legacy code set (14-成本指标 under 产出).
DISTRICT = Layout(
    name="district-packed",
    kind="published",
    department="某区民政局",
    codeset="legacy",
    sheets={
        "表1": [
            ["2025年项目支出绩效目标表"],
            ["单位名称：某区民政局"],
            ["单位：元"],
            [
                "项目名称（资金使用单位）",
                "总计",
                "财政拨款",
                "财政专户拨款",
                "其他资金",
                "绩效目标",
                "绩效指标",
            ],
            ["合计", "4,309,840.00", "4,309,840.00", "", "", "", ""],
            ["某区救助管理站", "3,309,840.00", "3,309,840.00", "", "", "", ""],
            [
                "临时救助资金",
                3309840,
                3309840,
                "",
                "",
                "及时救助困难群众，兜住民生底线。",
                PACKED_IND,
            ],
            ["某区福利中心", "1,000,000.00", "1,000,000.00", "", "", "", ""],
            [
                "设施维护经费",
                "1,000,000.00",
                "1,000,000.00",
                "*",
                "——",
                "保障福利中心设施正常运行。",
                PACKED_IND_2,
            ],
        ]
    },
    projects={
        "临时救助资金": (
            Decimal("330.984"),
            [
                ("1", "11", "救助人次", "≥", "1200", "人次"),
                ("1", "14", "人均救助成本", "≤", "2000", "元"),
                ("2", "22", "困难群众基本生活保障率", None, "100", "%"),
            ],
        ),
        "设施维护经费": (
            Decimal("100.00"),
            [
                ("1", "12", "设施完好率", "≥", "95", "%"),
                ("3", "31", "群众满意度", "≥", "90", "%"),
            ],
        ),
    },
)

_G1_HEADER = ["单位名称", "项目名称", "预算数", "年度目标", "一级指标", "二级指标", "三级指标",
              "指标性质", "指标值", "度量单位", "权重", "指标方向性"]  # fmt: skip
# Sichuan's grid: amounts in 元, project cells merged down, codes before names, the operator
# under 指标性质, the value in three columns, weights and directions, rows not grouped by 一级,
# a department subtotal row.
GRID = Layout(
    name="sichuan-grid",
    kind="grid",
    department="某某镇人民政府",
    sheets={
        "Sheet1": [
            ["部门预算项目绩效目标申报表(2023年度)"],
            ["金额单位:元"],
            _G1_HEADER,
            ["820-某某镇部门", "", 4309840.00, "", "", "", "", "", "", "", "", ""],
            [
                "820001-某某镇人民政府",
                "51000021R000000019951-工资性支出",
                3309840.00,
                "保障在职人员工资按时足额发放。",
                "效益指标",
                "社会效益指标",
                "干部职工满意度",
                "≥",
                "90",
                "%",
                20,
                "正向",
            ],
            [
                None,
                None,
                None,
                None,
                "产出指标",
                "数量指标",
                "保障人数",
                "＝",
                "35",
                "人",
                30,
                "正向",
            ],
            [
                None,
                None,
                None,
                None,
                None,
                "时效指标",
                "工资发放及时率",
                ">=",
                "100",
                "%",
                20,
                "正向",
            ],
            [
                None,
                None,
                None,
                None,
                "效益指标",
                "可持续影响指标",
                "机构正常运转",
                "=",
                "1",
                "年",
                20,
                "正向",
            ],
            [
                "820001-某某镇人民政府",
                "51000021R000000019952-办公经费",
                "1,000,000.00",
                "保障机关日常运转。",
                "产出指标",
                "成本指标",
                "办公经费控制率",
                "≤",
                "100",
                "%",
                45,
                "反向",
            ],
            [
                None,
                None,
                None,
                None,
                "满意度指标",
                "服务对象满意度指标",
                "群众满意度",
                "≥",
                "90",
                "%",
                45,
                "正向",
            ],
        ]
    },
    merged={"Sheet1": ["A5:A8", "B5:B8", "C5:C8", "D5:D8", "E6:E7"]},
    projects={
        "51000021R000000019951": (
            Decimal("330.984"),
            [
                ("2", "22", "干部职工满意度", "≥", "90", "%"),
                ("1", "11", "保障人数", "＝", "35", "人"),
                ("1", "13", "工资发放及时率", "≥", "100", "%"),
                ("2", "24", "机构正常运转", "＝", "1", "年"),
            ],
        ),
        "51000021R000000019952": (
            Decimal("100.00"),
            [
                ("1", "14", "办公经费控制率", "≤", "100", "%"),
                ("3", "31", "群众满意度", "≥", "90", "%"),
            ],
        ),
    },
    codeset="legacy",
)

# A re-typed grid in 万元: one cell per value, both values, 指标性质 as 定量/定性, blank
# continuation rows, labels with points and marks, a 环境效益 label of old.
GRID_WAN = Layout(
    name="grid-wan",
    kind="grid",
    department="某市生态环境局",
    sheets={
        "绩效目标": [
            ["项目支出绩效目标表"],
            ["部门名称：某市生态环境局", "", "", "单位：万元"],
            [
                "项目编码",
                "项目名称",
                "项目金额（万元）",
                "年度绩效目标",
                "一级指标",
                "二级指标",
                "三级指标",
                "指标性质",
                "实施周期指标值",
                "年度指标值",
                "备注",
            ],
            [
                "440300-25-0001",
                "大气监测站运维",
                "1,234.5678",
                "保障监测站全年稳定运行。",
                "产 出 指 标(50分)",
                "数量指标",
                "★监测站点数",
                "定量",
                "≥12个",
                "≥12个",
                "",
            ],
            ["", "", "", "", "", "质量指标", "数据有效率", "定量", "≥90%", "≥92%", "核心"],
            [
                "",
                "",
                "",
                "",
                "效益指标(30分)",
                "环境效益指标",
                "空气质量优良天数比例",
                "定量",
                "≥85%",
                "≥85%",
                "",
            ],
            [
                "",
                "",
                "",
                "",
                "满意度指标(10分)",
                "社会公众或服务对象满意度指标",
                "公众满意度",
                "定性",
                "较高",
                "较高",
                "",
            ],
        ]
    },
    projects={
        "440300-25-0001": (
            Decimal("1234.5678"),
            [
                ("1", "11", "监测站点数", "≥", "12", "个"),
                ("1", "12", "数据有效率", "≥", "92", "%"),
                ("2", "23", "空气质量优良天数比例", "≥", "85", "%"),
                ("3", "31", "公众满意度", "定性", None, None),
            ],
        ),
    },
)

_FORM_TOP: Rows = [
    ["项目支出绩效目标申报表"],
    ["（2024年度）"],
]


def _form(name: str, total: str, fiscal: str, other: str, grids: Rows) -> Rows:
    return [
        ["项目名称", name, "", ""],
        ["主管部门", "某市民政局", "实施单位", "某市养老服务中心"],
        ["项目负责人", "张三", "联系电话", "020-12345678"],
        ["项目属性", "新增项目□ 延续项目√", "项目期", "3年"],
        ["资金总额", total, "", ""],
        ["其中：财政拨款", fiscal, "其他资金", other],
        ["项目起止时间", "开始时间2024/1/1", "结束时间2026/12/31", ""],
        ["长期目标", "目标1：完善居家养老服务体系。目标2：提高老年人生活质量。", "", ""],
        ["年度目标", "为不少于5000名老人提供居家养老服务。", "", ""],
        *grids,
    ]


# One form per sheet, each with two grids (长期 and 年度), amounts with 万元 in the cell.
FORMS = Layout(
    name="forms-per-sheet",
    kind="form",
    department="某市民政局",
    one_sheet=False,
    sheets={
        "项目1": [
            *_FORM_TOP,
            *_form(
                "居家养老服务补贴",
                "10606.7522万元",
                "10000万元",
                "606.7522万元",
                [
                    ["长期绩效指标"],
                    ["一级指标", "二级指标", "三级指标", "指标值"],
                    ["产出指标", "数量指标", "★服务老人数", "≥15000人"],
                    ["", "质量指标", "服务合格率", "≥95%"],
                    ["效益指标", "社会效益指标", "老人生活质量", "稳步提高"],
                    ["年度绩效指标"],
                    ["一级指标", "二级指标", "三级指标", "指标值"],
                    ["产出指标", "数量指标", "★服务老人数", "≥5000人"],
                    ["", "质量指标", "服务合格率", "≥95%"],
                    ["效益指标", "社会效益指标", "老人生活质量", "稳步提高"],
                    ["满意度指标", "服务对象满意度指标", "服务对象满意度", "≥90%"],
                ],
            ),
        ],
        "项目2": [
            *_FORM_TOP,
            *_form(
                "养老机构运营补贴",
                "500万元",
                "500万元",
                "",
                [
                    ["年度绩效指标"],
                    ["一级指标", "二级指标", "三级指标", "指标值", "绩效标准"],
                    ["产出指标", "数量指标", "补贴床位数", "≥2000张", "反映补贴床位情况"],
                    ["效益指标", "社会效益指标", "入住率", "≥80%", "反映入住情况"],
                    ["满意度指标", "服务对象满意度指标", "入住老人满意度", "≥90%", ""],
                ],
            ),
        ],
    },
    merged={"项目1": ["A14:A15", "A19:A20"]},
    projects={
        "居家养老服务补贴": (
            Decimal("10606.7522"),
            [
                ("1", "11", "服务老人数", "≥", "5000", "人"),
                ("1", "12", "服务合格率", "≥", "95", "%"),
                ("2", "22", "老人生活质量", "定性", None, None),
                ("3", "31", "服务对象满意度", "≥", "90", "%"),
            ],
        ),
        "养老机构运营补贴": (
            Decimal("500.00"),
            [
                ("1", "11", "补贴床位数", "≥", "2000", "张"),
                ("2", "22", "入住率", "≥", "80", "%"),
                ("3", "31", "入住老人满意度", "≥", "90", "%"),
            ],
        ),
    },
)

# Several forms down one sheet, one grid each with both values, and the form that puts the
# 二级 names under 一级指标 and the indicators under 二级指标.
FORMS_DOWN = Layout(
    name="forms-down-a-sheet",
    kind="form",
    department="某县教育局",
    sheets={
        "申报表": [
            ["项目绩效目标申报表"],
            ["项目名称", "学生资助", "主管部门", "某县教育局"],
            ["资金总额（万元）", "88.5", "财政拨款（万元）", "88.5"],
            ["年度目标", "资助家庭经济困难学生，确保不因贫失学。"],
            ["一级指标", "二级指标", "实施周期指标值", "年度指标值"],
            ["数量指标", "资助学生人数", "≥3000学", "≥1000学"],
            ["时效指标", "资金发放及时率", "100%", "100%"],
            ["社会效益指标", "辍学率", "≤1%", "≤1%"],
            ["服务对象满意度指标", "受助学生满意度", "≥95%", "≥95%"],
            [],
            ["项目名称", "校舍维修", "主管部门", "某县教育局"],
            ["资金总额（万元）", "120", "财政拨款（万元）", "100", "其他资金（万元）", "20"],
            ["年度目标", "完成10所学校校舍维修。"],
            ["一级指标", "二级指标", "实施周期指标值", "年度指标值"],
            ["数量指标", "维修学校数", "≥10所", "≥10所"],
            ["质量指标", "验收合格率", "100%", "100%"],
            ["可持续影响指标", "校舍使用年限", "≥20年", "≥20年"],
        ]
    },
    projects={
        "学生资助": (
            Decimal("88.50"),
            [
                ("1", "11", "资助学生人数", "≥", "1000", "学"),
                ("1", "13", "资金发放及时率", None, "100", "%"),
                ("2", "22", "辍学率", "≤", "1", "%"),
                ("3", "31", "受助学生满意度", "≥", "95", "%"),
            ],
        ),
        "校舍维修": (
            Decimal("120.00"),
            [
                ("1", "11", "维修学校数", "≥", "10", "所"),
                ("1", "12", "验收合格率", None, "100", "%"),
                ("2", "24", "校舍使用年限", "≥", "20", "年"),
            ],
        ),
    },
)

LAYOUTS = [DISTRICT, GRID, GRID_WAN, FORMS, FORMS_DOWN]
