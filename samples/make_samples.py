"""Regenerate samples/inbox from the Guangzhou seed: what a finance office receives back.

    python samples/make_samples.py

- 440100001 广州市民政局 sends last year's published table as it is (real data with real
  mistakes: quantitative values without a unit, a project without 产出 indicators).
- 440100002 广州市社会福利院 and 440100004 广州市救助管理站 send clean templates.
- 440100003 广州市老人院 sends a template with mistakes, then a corrected one, saved by
  LibreOffice (`第1次`, `第2次`: file names give the arrival order, which git does not keep).
- 440100005 广州市殡葬服务中心 sends nothing.
- 440199001 越秀区民政局, not on the roster, sends a template too.

Each department's projects are real projects of the seed that pass every rule.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from perfxl.checks.config import Config  # noqa: E402
from perfxl.checks.rules import check_table  # noqa: E402
from perfxl.domain.codesets import load_codeset  # noqa: E402
from perfxl.domain.model import Department, Project, TargetTable  # noqa: E402
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
