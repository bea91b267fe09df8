"""The Parquet export of a ledger exported before: what it writes is what a first export of
the same ledger writes (and what the CSV says), whatever was recorded in between — a
resubmission, an amount with more places, a field a template spec added — and whether or
not the ledger can be written while it runs."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from perfxl.domain.model import ExtraField, Indicator, Project
from perfxl.ledger.exports import write_details
from perfxl.ledger.store import Store
from tests import postgres

AT = "2026-11-26T11:46:46+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Fresh ledgers by name, on each database."""
    with postgres.ledgers(request.param, tmp_path) as made:
        yield made


def record(
    ledger: str,
    code: str,
    amounts: list[Decimal],
    sha: str,
    extras: list[ExtraField] | None = None,
) -> int:
    """An accepted submission of department `code`, one project per amount, each with two
    indicators; a project's extra field `note` where `extras` names it."""
    with Store(ledger) as store, store.transaction():
        submission = store.insert_submission(
            {"department_code": code, "department_name": f"单位{code}", "fiscal_year": 2026,
             "file_name": f"{code}-{sha}.xlsx", "file_path": f"/inbox/{code}-{sha}.xlsx",
             "sha256": sha * 64, "received_at": AT, "recorded_at": AT, "kind": "template",
             "status": "accepted", "verdict": "accepted", "errors": 0, "warnings": 0,
             "form": "project"},
        )  # fmt: skip
        projects = [
            Project(
                code=f"{code}P{n}", name=f"项目{n}", total=amount, fiscal=amount, goal="目标",
                extra={"note": f"备注{n}"} if extras else {},
                indicators=[
                    Indicator(level1="1", level2="11", name="完成数", period=f"≥{n + 1}个",
                              annual=f"≥{n + 1}个"),
                    Indicator(level1="3", level2="31", name="满意度", period="≥90%",
                              annual="≥95%"),
                ],
            )
            for n, amount in enumerate(amounts)
        ]  # fmt: skip
        store.insert_content(submission, projects, [], extras)
    return submission


def export(ledger: str, out: Path, fmt: str = "parquet") -> dict[str, Path]:
    with Store(ledger) as store:
        return {p.stem: p for p in write_details(store, out, fmt)}


def first_export(
    make: Callable[[str], str], tmp: Path, name: str, *records: Callable[[str], object]
) -> dict[str, pa.Table]:
    """What the first export of a new ledger that recorded `records` writes."""
    ledger = make(name)
    for step in records:
        step(ledger)
    return tables(export(ledger, tmp / f"{name}-pq"))


def tables(paths: dict[str, Path]) -> dict[str, pa.Table]:
    return {k: pq.read_table(p) for k, p in paths.items()}


def test_a_second_export_writes_what_the_first_wrote_and_the_csv_says(
    make: Callable[[str], str], tmp_path: Path
) -> None:
    ledger = make("ledger")
    for n in range(5):
        record(ledger, f"D0{n}", [Decimal("187.38") + n, Decimal("40.00")], str(n))
    first = tables(export(ledger, tmp_path / "one"))
    second = tables(export(ledger, tmp_path / "two"))
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].equals(second[name]), name
    projects = second["projects"]
    assert projects.num_rows == 10
    assert projects.schema.field("总计").type == pa.decimal128(18, 6)
    with (export(ledger, tmp_path / "csv", "csv")["projects"]).open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [Decimal(r["总计"]) for r in rows] == projects.column("总计").to_pylist()
    assert [r["单位编码"] for r in rows] == projects.column("单位编码").to_pylist()
    indicators = second["indicators"]
    assert indicators.num_rows == 20
    assert indicators.column("实施周期数值").to_pylist()[:4] == [
        Decimal(1), Decimal(90), Decimal(2), Decimal(90)
    ]  # fmt: skip


def test_a_resubmission_recorded_after_an_export_replaces_the_rows_it_supersedes(
    make: Callable[[str], str], tmp_path: Path
) -> None:
    first = partial(record, code="D01", amounts=[Decimal("187.38")], sha="a")
    other = partial(record, code="D02", amounts=[Decimal("10.00")], sha="b")
    again = partial(record, code="D01", amounts=[Decimal("40.00"), Decimal("1.50")], sha="c")

    def supersede(ledger: str) -> None:
        with Store(ledger) as store, store.transaction():
            store.set_standing(1, "superseded", 3, None)

    ledger = make("ledger")
    first(ledger)
    other(ledger)
    export(ledger, tmp_path / "before")
    assert again(ledger) == 3
    supersede(ledger)
    after = tables(export(ledger, tmp_path / "after"))
    projects = after["projects"]
    assert projects.column("总计").to_pylist() == [Decimal("40.00"), Decimal("1.50"),
                                                  Decimal("10.00")]  # fmt: skip
    assert set(projects.column("来源文件").to_pylist()) == {"D01-c.xlsx", "D02-b.xlsx"}
    assert after["indicators"].num_rows == 6
    fresh = first_export(make, tmp_path, "fresh", first, other, again, supersede)
    for name in after:
        assert after[name].equals(fresh[name]), name


def test_an_amount_with_more_places_recorded_later_widens_the_column_exactly(
    make: Callable[[str], str], tmp_path: Path
) -> None:
    """Exported first with the usual decimal128(18, 6), then an amount with seven places
    arrives: the column becomes what a first export gives (the earlier rows cast exactly),
    precision 18 where the digits fit, 38 where an earlier amount has twelve whole digits."""
    steps = [
        partial(record, code="D01", amounts=[Decimal("5.00")], sha="a"),
        partial(record, code="D02", amounts=[Decimal("0.1234567")], sha="b"),
        partial(record, code="D03", amounts=[Decimal("123456789012.34")], sha="c"),
    ]
    ledger = make("ledger")
    steps[0](ledger)
    export(ledger, tmp_path / "before")
    steps[1](ledger)
    after = tables(export(ledger, tmp_path / "after"))["projects"]
    assert after.schema.field("总计").type == pa.decimal128(18, 7)
    assert after.column("总计").to_pylist() == [Decimal("5.00"), Decimal("0.1234567")]
    assert after.equals(first_export(make, tmp_path, "fresh", *steps[:2])["projects"])

    steps[2](ledger)
    wider = tables(export(ledger, tmp_path / "wider"))["projects"]
    assert wider.schema.field("总计").type == pa.decimal128(38, 7)
    assert wider.column("总计").to_pylist() == [
        Decimal("5.00"), Decimal("0.1234567"), Decimal("123456789012.34")
    ]  # fmt: skip
    assert wider.equals(first_export(make, tmp_path, "fresh2", *steps)["projects"])


def test_a_field_added_after_an_export_gets_its_column(
    make: Callable[[str], str], tmp_path: Path
) -> None:
    note = ExtraField(entity="project", key="note", header="备注")
    steps = [
        partial(record, code="D01", amounts=[Decimal("5.00")], sha="a"),
        partial(record, code="D02", amounts=[Decimal("6.00"), Decimal("7.00")], sha="b",
                extras=[note]),
    ]  # fmt: skip
    ledger = make("ledger")
    steps[0](ledger)
    before = tables(export(ledger, tmp_path / "before"))["projects"]
    assert "备注" not in before.column_names
    steps[1](ledger)
    after = tables(export(ledger, tmp_path / "after"))["projects"]
    assert after.column("备注").to_pylist() == [None, "备注0", "备注1"]
    assert after.equals(first_export(make, tmp_path, "fresh", *steps)["projects"])


def test_an_export_while_another_program_holds_the_ledger_still_writes_everything(
    tmp_path: Path,
) -> None:
    """Another program holds the write lock for the whole export: nothing can be kept for
    next time, and the export is still whole and right."""
    ledger = str(tmp_path / "ledger.db")  # SQLite's write lock, held by another program
    for n in range(3):
        record(ledger, f"D0{n}", [Decimal("1.01") * (n + 1)], str(n))
    other = sqlite3.connect(ledger, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        held = tables(export(ledger, tmp_path / "held"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    free = tables(export(ledger, tmp_path / "free"))
    for name in free:
        assert held[name].equals(free[name]), name
    assert held["projects"].column("总计").to_pylist() == [
        Decimal("1.01"), Decimal("2.02"), Decimal("3.03")
    ]  # fmt: skip


def test_every_value_of_the_parquet_is_the_csv_s_read_in_one_pass_or_one_by_one(
    make: Callable[[str], str], tmp_path: Path
) -> None:
    """120 departments exported (more than the export converts one submission at a time:
    it reads them all in one pass), then one more (converted on its own): every value of
    every column of the Parquet tables is the one the CSV (the rows as the workbook shows
    them) holds."""
    ledger = make("ledger")
    for n in range(120):
        record(ledger, f"D{n:03d}", [Decimal("187.38") + n, Decimal("0.1") * n], f"x{n}")
    compare(ledger, tmp_path / "first")
    record(ledger, "D999", [Decimal("1.23")], "late")
    compare(ledger, tmp_path / "again")


def compare(ledger: str, out: Path) -> None:
    parquet = export(ledger, out / "pq")
    written = export(ledger, out / "csv", "csv")
    for name in ("projects", "indicators"):
        table = pq.read_table(parquet[name])
        with written[name].open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        assert table.num_rows == len(rows) > 0, name
        for title in table.column_names:
            kind = table.schema.field(title).type
            for got, text in zip(table.column(title).to_pylist(), (r[title] for r in rows),
                                 strict=True):  # fmt: skip
                if got is None:
                    assert text == "", (name, title, text)
                elif pa.types.is_decimal(kind):
                    assert got == Decimal(text), (name, title, got, text)
                else:
                    assert str(got) == text.removeprefix("'"), (name, title, got, text)


def test_an_export_is_one_state_of_the_ledger_whatever_is_recorded_meanwhile(
    make: Callable[[str], str], tmp_path: Path
) -> None:
    """A resubmission recorded (superseding the first) while the export reads: the export
    shows the ledger as it was when it began, the first file's rows and not both."""
    ledger = make("ledger")
    record(ledger, "D01", [Decimal("187.38")], "a")
    with Store(ledger) as reading:
        with reading.snapshot():
            assert len(reading.submissions()) == 1
            newer = record(ledger, "D01", [Decimal("40.00"), Decimal("1.50")], "b")
            with Store(ledger) as other, other.transaction():
                other.set_standing(1, "superseded", newer, None)
            for fmt in ("csv", "parquet"):
                write_details(reading, tmp_path / f"during-{fmt}", fmt)
        write_details(reading, tmp_path / "after", "parquet")
    during = pq.read_table(tmp_path / "during-parquet" / "projects.parquet")
    assert during.column("总计").to_pylist() == [Decimal("187.38")]
    with (tmp_path / "during-csv" / "projects.csv").open(encoding="utf-8-sig") as fh:
        assert [r["总计"] for r in csv.DictReader(fh)] == ["187.38"]
    after = pq.read_table(tmp_path / "after" / "projects.parquet")
    assert after.column("总计").to_pylist() == [Decimal("40.00"), Decimal("1.50")]
