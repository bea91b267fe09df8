from __future__ import annotations

import csv
from pathlib import Path

import pytest
import xlsxwriter

FIXTURES = Path(__file__).parent / "fixtures"
# A compound file whose directory holds an encrypted OOXML package (an xlsx with a password).
ENCRYPTED = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")
    + b"\0" * 50 + "EncryptedPackage".encode("utf-16-le")
)  # fmt: skip
SEED_TXT = FIXTURES / "guangzhou-minzheng-project-targets.txt"
SEED_XLSX = FIXTURES / "guangzhou-minzheng-project-targets.libreoffice.xlsx"
SEED_GBK_CSV = FIXTURES / "guangzhou-minzheng-project-targets.libreoffice.gbk.csv"
HEADER = ["项目名称", "总计", "财政拨款", "财政专户拨款", "其他资金", "绩效目标", "绩效指标"]
IND = (
    "1、1-产出指标；11-数量指标；场次；实施周期指标值:2场；年度指标值:2场。"
    "2、2-效益指标；22-社会效益；覆盖率；实施周期指标值:≥90%；年度指标值:≥90%。"
)


def seed_cells() -> list[list[str]]:
    """The data rows of the seed, split into cells."""
    lines = SEED_TXT.read_text(encoding="utf-8").splitlines()
    return [c for c in (line.split("\t") for line in lines) if len(c) == 7][2:]


def published(
    rows: list[list[object]],
    department: str | None = "测试局",
    header: list[str] | None = None,
    title: str = "项目支出绩效目标表",
) -> list[list[object]]:
    """A published table from its data rows: title lines, department, unit, header."""
    top: list[list[object]] = [[title], []]
    if department is not None:
        top.append([f"部门名称：{department}"])
    top += [["单位：万元"], header or HEADER]
    return top + rows


def write_table(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    """Write rows as .xlsx (numbers stay numbers), .csv or tab-separated .txt."""
    if path.suffix == ".xlsx":
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("Sheet1")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, (int, float)):
                    ws.write_number(r, c, value)
                elif value is not None:
                    ws.write_string(r, c, str(value))
        wb.close()
    else:
        with path.open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh, delimiter="," if path.suffix == ".csv" else "\t")
            writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


@pytest.fixture
def table_file(tmp_path: Path):
    def make(rows: list[list[object]], suffix: str = ".txt", **kwargs: object) -> Path:
        encoding = str(kwargs.pop("encoding", "utf-8"))
        return write_table(tmp_path / f"table{suffix}", published(rows, **kwargs), encoding)  # type: ignore[arg-type]

    return make


def libreoffice_resave(
    files: list[Path], outdir: Path, target: str = "xlsx:Calc MS Excel 2007 XML"
) -> list[Path]:
    """Open and save each workbook in LibreOffice (as Excel or WPS users would), with a
    private profile so that runs do not collide; `target` is LibreOffice's format (`xls:MS
    Excel 97`, `ods`). Fails in CI, skips elsewhere, when LibreOffice is not installed."""
    import os
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI: .ci/run installs it")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir / ".lo-profile"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.resolve().as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    suffix = "." + target.split(":")[0]
    out = [outdir / f.with_suffix(suffix).name for f in files]
    missing = [p for p in out if not p.is_file()]
    assert not missing, f"LibreOffice did not write {missing}"
    return out
