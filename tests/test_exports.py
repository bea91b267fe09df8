"""The ledger's detail tables as people and tools read them: the workbook, the CSV and the
Parquet files say statuses, severities, kinds of file and forms in Chinese and times in
local time; Parquet columns are typed (decimal amounts to the cent, whole numbers, times);
the CSV opens with a byte order mark and holds amounts as exact decimal text."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.domain.model import Project
from perfxl.ledger.exports import write_details
from perfxl.ledger.store import Store

ROOT = Path(__file__).resolve().parent.parent
INBOX, ROSTER = ROOT / "samples" / "inbox", ROOT / "samples" / "roster.csv"
ZONE = "Asia/Shanghai"
# Every file of the inbox arrived at 11:46:46 UTC: 19:46:46 in Beijing.
ARRIVED = datetime(2026, 11, 26, 11, 46, 46, tzinfo=UTC)
LOCAL = "2026-11-26 19:46:46"
# The codes the ledger stores, none of which a person should read in an output.
ENGLISH = {
    "accepted", "rejected", "superseded", "missing", "unknown", "error", "warning",
    "template", "plain", "published", "grid", "form", "structured", "json", "project",
    "department",
}  # fmt: skip
TABLES = ("projects", "indicators", "overall", "tasks", "budget", "issues", "submissions")
runner = CliRunner()


def run(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output


@pytest.fixture(scope="module", autouse=True)
def local_zone() -> Iterator[None]:
    """The machine's zone, Beijing's, for every test here; as it was, after."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = ZONE
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples collected, then the ledger workbook, the CSV and the Parquet files."""
    work = tmp_path_factory.mktemp("exports")
    inbox = work / "inbox"
    shutil.copytree(INBOX, inbox)
    for path in inbox.iterdir():
        os.utime(path, (ARRIVED.timestamp(), ARRIVED.timestamp()))
    ledger = work / "ledger.db"
    run("collect", str(inbox), "--roster", str(ROSTER), "--ledger", str(ledger), "--year", "2026")
    run("ledger", "--ledger", str(ledger), "--roster", str(ROSTER), "-o", str(work / "l.xlsx"))
    for fmt in ("csv", "parquet"):
        run("ledger", "--ledger", str(ledger), "--format", fmt, "-o", str(work / fmt))
    return work


def csv_records(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def sheet_records(book: Path, sheet: str) -> list[dict[str, object]]:
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name(sheet).to_python()
    return [dict(zip(map(str, rows[0]), row, strict=False)) for row in rows[1:]]


def parquet_records(path: Path) -> list[dict[str, object]]:
    records: list[dict[str, object]] = pq.read_table(path).to_pylist()
    return records


def decimals(records: list[dict[str, object]], title: str) -> list[Decimal]:
    """A column's values, each a Decimal."""
    values = [r[title] for r in records]
    assert all(isinstance(v, Decimal) for v in values), (title, values)
    return [v for v in values if isinstance(v, Decimal)]


def column(records: list[dict[str, object]], title: str) -> set[object]:
    return {r[title] for r in records if r.get(title) not in (None, "")}


def test_no_code_is_left_for_people_to_read(outputs: Path) -> None:
    cells: list[tuple[str, object]] = []
    for name in TABLES:
        with (outputs / "csv" / f"{name}.csv").open(encoding="utf-8-sig", newline="") as fh:
            cells += [(f"{name}.csv", v) for row in csv.reader(fh) for v in row]
        table = pq.read_table(outputs / "parquet" / f"{name}.parquet")
        cells += [(f"{name}.parquet", v) for c in table.columns for v in c.to_pylist()]
    book = CalamineWorkbook.from_path(str(outputs / "l.xlsx"))
    for sheet in book.sheet_names:
        rows = book.get_sheet_by_name(sheet).to_python()
        cells += [(sheet, v) for row in rows for v in row]
    left = {(where, v) for where, v in cells if isinstance(v, str) and v.strip() in ENGLISH}
    assert left == set()
    assert len(cells) > 5_000


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_statuses_severities_kinds_and_forms_in_chinese(outputs: Path, fmt: str) -> None:
    def records(name: str, sheet: str) -> list[dict[str, object]]:
        if fmt == "xlsx":
            return sheet_records(outputs / "l.xlsx", sheet)
        if fmt == "csv":
            return [dict(r) for r in csv_records(outputs / "csv" / f"{name}.csv")]
        return parquet_records(outputs / "parquet" / f"{name}.parquet")

    submissions = records("submissions", "提交情况")
    assert column(submissions, "状态") == {"已接收", "已退回", "已被替代"}
    assert column(submissions, "类型") == {"perfxl 模板", "公开表"}
    assert column(submissions, "表别") == {"项目支出", "部门整体"}
    issues = records("issues", "校验问题")
    assert column(issues, "级别") == {"错误", "提示"}
    assert column(issues, "状态") == {"已退回"}  # the accepted files have none to show
    overall = records("overall", "部门整体")
    assert column(overall, "状态") == {"已接收", "已退回", "未提交"}


def test_times_are_local_without_offset(outputs: Path) -> None:
    rows = csv_records(outputs / "csv" / "submissions.csv")
    assert {r["接收时间"] for r in rows} == {LOCAL} and len(rows) == 8
    sheet = sheet_records(outputs / "l.xlsx", "提交情况")
    # In the workbook a date, in local time, that Excel sorts and filters as one.
    assert {r["接收时间"] for r in sheet} == {datetime.fromisoformat(LOCAL)}
    table = pq.read_table(outputs / "parquet" / "submissions.parquet")
    assert table.schema.field("接收时间").type == pa.timestamp("us", tz=ZONE)
    moments = table.column("接收时间").to_pylist()
    assert set(moments) == {ARRIVED}
    assert {m.strftime("%Y-%m-%d %H:%M:%S") for m in moments} == {LOCAL}


def test_parquet_columns_are_typed(outputs: Path) -> None:
    folder = outputs / "parquet"
    schemas = {name: pq.read_schema(folder / f"{name}.parquet") for name in TABLES}
    projects = schemas["projects"]
    for title in ("总计", "财政拨款", "财政专户拨款", "其他资金"):
        kind = projects.field(title).type
        assert pa.types.is_decimal(kind) and kind.precision >= 18 and kind.scale >= 2, title
    assert projects.field("指标数").type == pa.int64()
    for title in ("单位编码", "项目名称", "绩效目标", "来源单元格"):
        assert projects.field(title).type == pa.string()
    indicators = schemas["indicators"]
    assert pa.types.is_decimal(indicators.field("年度数值").type)
    assert indicators.field("年度指标值").type == pa.string()
    submissions = schemas["submissions"]
    for title in ("序号", "年度", "错误", "提示", "被替代为"):
        assert submissions.field(title).type == pa.int64(), title
    overall = schemas["overall"]
    assert pa.types.is_decimal(overall.field("预算总额").type)
    assert overall.field("任务数").type == pa.int64()
    assert pa.types.is_decimal(schemas["budget"].field("金额（万元）").type)
    assert pa.types.is_decimal(schemas["tasks"].field("拟投入资金").type)

    rows = parquet_records(folder / "submissions.parquet")
    assert {r["年度"] for r in rows} == {2026}
    assert sorted(int(str(r["序号"])) for r in rows) == list(range(1, 9))
    assert all(type(r["序号"]) is int for r in rows)


def test_parquet_and_csv_amounts_are_the_ledgers_to_the_cent(outputs: Path) -> None:
    projects = parquet_records(outputs / "parquet" / "projects.parquet")
    assert len(projects) == 19
    totals = decimals(projects, "总计")
    assert sum(totals, Decimal(0)) == Decimal("4684.03")
    by_source = {
        title: sum(decimals(projects, title), Decimal(0))
        for title in ("财政拨款", "财政专户拨款", "其他资金")
    }
    assert sum(by_source.values(), Decimal(0)) == Decimal("4684.03")
    assert [r["指标数"] for r in projects][:1] == [4]
    rows = csv_records(outputs / "csv" / "projects.csv")
    assert [r["总计"] for r in rows] == [f"{t:.2f}" for t in totals]
    assert sum(Decimal(r["总计"]) for r in rows) == Decimal("4684.03")
    summary = {r[0]: r[1] for r in CalamineWorkbook.from_path(str(outputs / "l.xlsx"))
               .get_sheet_by_name("汇总").to_python() if r[0]}  # fmt: skip
    assert summary["总计"] == pytest.approx(4684.03)
    [overall] = [r for r in parquet_records(outputs / "parquet" / "overall.parquet")
                 if r["状态"] == "已接收"]  # fmt: skip
    assert (overall["预算总额"], overall["任务资金合计"]) == (Decimal("5000"), Decimal("5000"))


def test_every_csv_opens_with_a_byte_order_mark(outputs: Path) -> None:
    for name in TABLES:
        assert (outputs / "csv" / f"{name}.csv").read_bytes()[:3] == b"\xef\xbb\xbf", name


def test_the_zone_is_the_machines(outputs: Path, tmp_path: Path) -> None:
    """Run where the clock says New York time: the same moment, in that zone."""
    env = {**os.environ, "TZ": "America/New_York"}
    for fmt in ("csv", "parquet"):
        subprocess.run(
            [sys.executable, "-m", "perfxl", "ledger", "--ledger", str(outputs / "ledger.db"),
             "--format", fmt, "-o", str(tmp_path / fmt)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
    rows = csv_records(tmp_path / "csv" / "submissions.csv")
    assert {r["接收时间"] for r in rows} == {"2026-11-26 06:46:46"}
    table = pq.read_table(tmp_path / "parquet" / "submissions.parquet")
    assert table.schema.field("接收时间").type == pa.timestamp("us", tz="America/New_York")
    assert set(table.column("接收时间").to_pylist()) == {ARRIVED}


def one_submission(store: Store, sha: str) -> int:
    """An accepted submission of 测试局 (D01), its file D01.xlsx (`sha`, its digit)."""
    return store.insert_submission(
        {"department_code": "D01", "department_name": "测试局", "fiscal_year": 2026,
         "file_name": "D01.xlsx", "file_path": "/inbox/D01.xlsx", "sha256": sha * 64,
         "received_at": ARRIVED.isoformat(), "recorded_at": ARRIVED.isoformat(),
         "kind": "plain", "status": "accepted", "verdict": "accepted", "errors": 0,
         "warnings": 0, "form": "project"},
    )  # fmt: skip


def test_amounts_beyond_the_usual_digits_are_kept_exactly(tmp_path: Path) -> None:
    """An amount converted from 元 with more places than six, one of more than twelve whole
    digits, a negative one, a text that looks like a formula: Parquet widens the column to
    what the values need, the CSV writes each number in full and guards the formula."""
    amounts = [Decimal("0.0000001"), Decimal("12345678901234567.89"), Decimal("-5.00"),
               Decimal("1E+3"), Decimal("330.984")]  # fmt: skip
    ledger = tmp_path / "ledger.db"
    with Store(ledger) as store, store.transaction():
        submission = one_submission(store, "0")
        projects = [
            Project(code=f"P{n}", name="=HYPERLINK(1)" if n == 0 else f"项目{n}", total=amount,
                    fiscal=amount, goal="目标")
            for n, amount in enumerate(amounts)
        ]  # fmt: skip
        store.insert_content(submission, projects, [])
    with Store(ledger) as store:
        write_details(store, tmp_path / "pq", "parquet")
        write_details(store, tmp_path / "csv", "csv")
    table = pq.read_table(tmp_path / "pq" / "projects.parquet")
    kind = table.schema.field("总计").type
    assert (kind.precision, kind.scale) == (38, 7)
    assert table.column("总计").to_pylist() == amounts
    assert table.column("财政专户拨款").type == pa.decimal128(18, 6)  # none: as usual
    rows = csv_records(tmp_path / "csv" / "projects.csv")
    assert [r["总计"] for r in rows] == [
        "0.0000001", "12345678901234567.89", "-5.00", "1000", "330.984"
    ]  # fmt: skip
    assert rows[0]["项目名称"] == "'=HYPERLINK(1)"
    assert [r["接收时间"] for r in csv_records(tmp_path / "csv" / "submissions.csv")] == [LOCAL]
    assert [r["类型"] for r in csv_records(tmp_path / "csv" / "submissions.csv")] == ["普通工作表"]


def test_a_column_widened_for_places_keeps_precision_18_where_it_suffices(
    tmp_path: Path,
) -> None:
    amounts = [Decimal("0.1234567"), Decimal("5.00")]
    ledger = tmp_path / "ledger.db"
    with Store(ledger) as store, store.transaction():
        submission = one_submission(store, "1")
        projects = [Project(code=f"P{n}", name=f"项目{n}", total=amount, fiscal=amount,
                            goal="目标") for n, amount in enumerate(amounts)]  # fmt: skip
        store.insert_content(submission, projects, [])
    with Store(ledger) as store:
        write_details(store, tmp_path / "pq", "parquet")
    table = pq.read_table(tmp_path / "pq" / "projects.parquet")
    assert table.schema.field("总计").type == pa.decimal128(18, 7)
    assert table.column("总计").to_pylist() == amounts
