"""Regenerate samples/inbox from the Guangzhou seed: what a finance office receives back.

    python samples/make_samples.py

- 440100001 广州市民政局 sends last year's published table as it is (real data with real
  mistakes: quantitative values without a unit, a project without 产出 indicators).
- 440100002 广州市社会福利院 and 440100004 广州市救助管理站 send clean templates.
- 440100003 广州市老人院 sends a template with mistakes, then a corrected one, saved by
  LibreOffice (`第1次`, `第2次`: file names give the arrival order, which git does not keep).
- 440100005 广州市殡葬服务中心 sends nothing.
- 440199001 越秀区民政局, not on the roster, sends a template too.

The department-wide form (部门整体支出绩效目标申报表) comes back from two departments:
440100002 广州市社会福利院 fills it right; 440100004 广州市救助管理站 declares a 预算总额
its key tasks do not add up to. The others have not sent theirs yet.

Each department's projects are real projects of the seed that pass every rule.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from perfxl.checks.config import Config  # noqa: E402
from perfxl.checks.rules import check_table  # noqa: E402
from perfxl.domain.codesets import load_codeset  # noqa: E402
from perfxl.domain.model import (  # noqa: E402
    BudgetLine,
    Department,
    Indicator,
    OverallTable,
    Project,
    TargetTable,
    Task,
)
from perfxl.formats.overall_spec import load_overall_spec  # noqa: E402
from perfxl.formats.overall_writer import write_overall_template  # noqa: E402
from perfxl.formats.published import read_published  # noqa: E402
from perfxl.formats.spec import load_spec  # noqa: E402
from perfxl.formats.template_writer import TemplateOptions, write_template  # noqa: E402

SEED = HERE / "guangzhou-minzheng-project-targets.txt"
PUBLISHED_XLSX = (
    HERE.parent / "tests" / "fixtures" / "guangzhou-minzheng-project-targets.libreoffice.xlsx"
)
INBOX = HERE / "inbox"
YEAR = 2026


def clean_projects() -> list[Project]:
    seed = read_published(SEED).table
    codeset = load_codeset()
    return [
        p for p in seed.projects if not check_table(TargetTable(projects=[p]), codeset, Config())
    ]


def table(code: str, name: str, projects: list[Project]) -> TargetTable:
    for n, project in enumerate(projects, start=1):
        project.code = f"{code}{YEAR}{n:03d}"
    return TargetTable(
        department=Department(code=code, name=name), fiscal_year=YEAR, projects=projects
    )


def overall(code: str, name: str, total: str, tasks: list[tuple[str, str]]) -> OverallTable:
    """A department-wide form as a department fills it: its overview, goal, key tasks and
    indicators (amounts in 万元)."""
    spending = Decimal(total)
    return OverallTable(
        department=Department(code=code, name=name),
        fiscal_year=YEAR,
        total=spending,
        budget=[
            BudgetLine(group="部门预算支出", label="基本支出", amount=spending * Decimal("0.6")),
            BudgetLine(group="部门预算支出", label="项目支出", amount=spending * Decimal("0.4")),
            BudgetLine(group="收入来源", label="财政拨款", amount=spending - Decimal("120.00")),
            BudgetLine(group="收入来源", label="财政专户拨款", amount=Decimal("0.00")),
            BudgetLine(group="收入来源", label="其他资金", amount=Decimal("120.00")),
        ],
        goal=f"{YEAR}年，{name}坚持以人民为中心，保障服务对象基本生活，提升专业服务质量，"
        "守牢安全底线，按期完成年度重点工作任务。",
        tasks=[
            Task(
                name=task,
                content=f"{task}：按年度计划组织实施，落实资金和人员保障。",
                amount=Decimal(amount),
                goal=f"全面完成{task}年度目标",
            )
            for task, amount in tasks
        ],
        indicators=[
            Indicator(
                level1="1",
                level1_label="产出指标",
                level2="11",
                level2_label="数量指标",
                name="服务对象人数",
                period="≥1200人",
                annual="≥1200人",
            ),
            Indicator(
                level1="1",
                level1_label="产出指标",
                level2="13",
                level2_label="时效指标",
                name="补助资金发放及时率",
                period="100%",
                annual="100%",
            ),
            Indicator(
                level1="2",
                level1_label="效益指标",
                level2="22",
                level2_label="社会效益指标",
                name="服务对象基本生活",
                period="得到有效保障",
                annual="得到有效保障",
            ),
            Indicator(
                level1="3",
                level1_label="满意度指标",
                level2="31",
                level2_label="服务对象满意度指标",
                name="服务对象满意度",
                period="≥90%",
                annual="≥90%",
            ),
        ],
    )


def overall_template(path: Path, data: OverallTable) -> Path:
    spec = load_overall_spec()
    return write_overall_template(
        path, spec, load_codeset(), data.department, TemplateOptions(year=YEAR), data
    )


def template(path: Path, data: TargetTable) -> Path:
    return write_template(
        path, load_spec(), load_codeset(), data.department, TemplateOptions(year=YEAR), data
    )


def main() -> None:
    if INBOX.exists():
        shutil.rmtree(INBOX)
    INBOX.mkdir()
    clean = clean_projects()
    assert len(clean) == 18, len(clean)
    shutil.copyfile(PUBLISHED_XLSX, INBOX / "440100001-广州市民政局-项目支出绩效目标表.xlsx")
    template(
        INBOX / "440100002-广州市社会福利院.xlsx",
        table("440100002", "广州市社会福利院", [p.model_copy(deep=True) for p in clean[0:6]]),
    )
    template(
        INBOX / "440100004-广州市救助管理站.xlsx",
        table("440100004", "广州市救助管理站", [p.model_copy(deep=True) for p in clean[12:18]]),
    )
    template(
        INBOX / "440199001-越秀区民政局.xlsx",
        table("440199001", "越秀区民政局", [p.model_copy(deep=True) for p in clean[6:8]]),
    )
    overall_template(
        INBOX / "440100002-广州市社会福利院-部门整体.xlsx",
        overall("440100002", "广州市社会福利院", "5000.00",
                [("院内供养服务", "3100.00"), ("康复医疗服务", "1200.00"),
                 ("安全生产与设施维护", "700.00")]),
    )  # fmt: skip
    overall_template(  # 预算总额 3,000.00; its tasks add up to 2,950.00
        INBOX / "440100004-广州市救助管理站-部门整体.xlsx",
        overall("440100004", "广州市救助管理站", "3000.00",
                [("生活无着人员救助", "1800.00"), ("街面巡查与护送返乡", "650.00"),
                 ("站内设施改造", "500.00")]),
    )  # fmt: skip
    elderly = table("440100003", "广州市老人院", [p.model_copy(deep=True) for p in clean[6:12]])
    with tempfile.TemporaryDirectory() as tmp:
        base = template(Path(tmp) / "base.xlsx", elderly)
        # The first submission: a blank 年度指标值, a negative amount, a goal left out.
        wb = openpyxl.load_workbook(base)
        wb["指标"]["H4"] = None
        wb["项目"]["G5"] = -20
        wb["项目"]["I6"] = None
        wb.save(INBOX / "440100003-广州市老人院-第1次.xlsx")
        # The corrected one: the department fixed it, adjusted an amount, added a project,
        # and saved it in LibreOffice.
        wb = openpyxl.load_workbook(base)
        wb["项目"]["F4"] = 40.00
        wb["项目"]["C10"] = "老人院适老化改造项目"
        wb["项目"]["B10"] = "4401000032026007"
        wb["项目"]["F10"] = 85.5
        wb["项目"]["I10"] = "完成院内公共区域适老化改造，消除安全隐患，提升入住长者生活质量。"
        rows = (
            ("1-产出指标", "11-数量指标", "改造面积", "定量", "≥", "1200", "1200", "平方米"),
            ("2-效益指标", "22-社会效益", "安全隐患整改率", "定量", "＝", "100", "100", "%"),
            ("3-满意度指标", "31-服务对象满意度", "入住长者满意度", "定量", "≥", "90", "90", "%"),
        )
        ws = wb["指标"]
        first = next(r for r in range(4, 410) if not ws.cell(r, 1).value)
        for n, values in enumerate(rows):
            ws.cell(first + n, 1).value = "7、老人院适老化改造项目"
            for c, value in enumerate(values, start=2):
                ws.cell(first + n, c).value = value
        edited = Path(tmp) / "440100003-广州市老人院-第2次.xlsx"
        wb.save(edited)
        soffice = shutil.which("soffice")
        if soffice is None:
            sys.exit("LibreOffice (soffice) is needed to save the corrected file")
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(INBOX),
                str(edited),
            ],
            check=True,
            capture_output=True,
        )
    for path in sorted(INBOX.iterdir()):
        print(path.relative_to(HERE.parent))


if __name__ == "__main__":
    main()
