"""The ledger on both of its databases: an embedded SQLite file, and a PostgreSQL server
(`--ledger postgresql://…`; `.ci/run` starts one and names it in PERFXL_TEST_POSTGRES).
Each test runs on both, in a fresh ledger; one runs the same inbox into both and finds the
same statuses and the same detail tables."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from perfxl.checks.config import load_config
from perfxl.cli import app
from perfxl.formats.overall_spec import DEFAULT_OVERALL_SPEC, load_overall_spec
from perfxl.formats.roster import RosterEntry, read_roster
from perfxl.formats.spec import DEFAULT_SPEC, load_spec
from perfxl.ledger import access
from perfxl.ledger.exports import write_details
from perfxl.ledger.migrations import SCHEMA_VERSION
from perfxl.ledger.store import Store
from perfxl.ledger.uploads import Uploads
from tests import postgres

ROOT = Path(__file__).resolve().parent.parent
INBOX, ROSTER = ROOT / "samples" / "inbox", ROOT / "samples" / "roster.csv"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture(scope="session")
def postgres_server() -> str:
    return postgres.server()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh ledger's location, on each database."""
    with postgres.ledgers(request.param, tmp_path) as make:
        yield make("ledger")


def collect(ledger: str, jobs: int = 2) -> tuple[int, str]:
    return run("collect", str(INBOX), "--roster", str(ROSTER), "--ledger", ledger,
               "--year", "2026", "--jobs", str(jobs))  # fmt: skip


def test_a_new_ledger_has_the_whole_schema_and_a_newer_one_is_refused(ledger: str) -> None:
    with Store(ledger) as store:
        assert store.counts() == {k: 0 for k in store.counts()}
    with Store(ledger) as store:  # opened again: nothing to migrate
        assert store.submissions() == []
        if store.postgres:
            store.db.execute(
                "INSERT INTO perfxl_schema (version) VALUES (?)", (SCHEMA_VERSION + 1,)
            )
        else:
            store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    code, output = run("status", "--ledger", ledger)
    assert code == 2 and "更新版本的 perfxl" in output


def test_collect_status_and_ledger_on_each_database(ledger: str, tmp_path: Path) -> None:
    code, output = collect(ledger)
    assert code == 1, output  # some sample files are rejected
    with Store(ledger) as store:
        statuses = sorted((s.file_name, s.status) for s in store.submissions(2026))
    assert ("440100003-广州市老人院-第1次.xlsx", "superseded") in statuses
    assert ("440100003-广州市老人院-第2次.xlsx", "accepted") in statuses
    assert sum(1 for _, s in statuses if s == "accepted") == 4
    code, output = collect(ledger)  # the same files again: nothing new
    assert code == 0 and "重复8" in "".join(output.split()), output
    with Store(ledger) as store:
        assert len(store.submissions(2026)) == len(statuses)
    code, output = run("ledger", "--ledger", ledger, "--roster", str(ROSTER),
                       "-o", str(tmp_path / "l.xlsx"))  # fmt: skip
    assert code == 0 and "总计 4,684.03 万元" in output.replace("\n", "")


def test_the_same_inbox_gives_the_same_ledger_on_both(postgres_server: str, tmp_path: Path) -> None:
    lite = str(tmp_path / "ledger.db")
    with postgres.database(postgres_server) as server_ledger:
        outputs = {}
        for name, location in (("sqlite", lite), ("postgresql", server_ledger)):
            collect(location, jobs=1)  # in the order of arrival: the same ids on both
            code, status = run("status", "--roster", str(ROSTER), "--ledger", location, "--json")
            assert code in (0, 1), status
            run("ledger", "--ledger", location, "--format", "csv", "-o", str(tmp_path / name))
            tables = {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}
            outputs[name] = (json.loads(status), tables)
        assert outputs["sqlite"][0] == outputs["postgresql"][0]
        assert outputs["sqlite"][1].keys() == outputs["postgresql"][1].keys()
        for table in outputs["sqlite"][1]:
            assert outputs["sqlite"][1][table] == outputs["postgresql"][1][table], table


def test_parquet_again_from_the_column_copies(ledger: str, tmp_path: Path) -> None:
    collect(ledger)
    with Store(ledger) as store:
        first = write_details(store, tmp_path / "one", "parquet", 2026)
        second = write_details(store, tmp_path / "two", "parquet", 2026)
    for a, b in zip(first, second, strict=True):
        assert pq.read_table(a).equals(pq.read_table(b)), a.name
    projects = pq.read_table(tmp_path / "two" / "projects.parquet")
    assert sum(projects.column("总计").to_pylist()) == Decimal("4684.03")


def test_links_passwords_and_the_log(ledger: str) -> None:
    roster = read_roster(ROSTER)
    with Store(ledger) as store:
        made = access.make_links(store, roster, 2026)
        assert all(link.token for link in made)
        token = made[0].token
        assert token is not None
        assert access.department_of(store, token) == (2026, roster[0].code)
        again = access.make_links(store, roster, 2026)  # kept: no new token is said
        assert all(link.token is None for link in again)
        rotated = access.make_links(store, roster, 2026, rotate=True)
        assert access.department_of(store, token) is None
        assert rotated[0].token and access.department_of(store, rotated[0].token)
        stored = [r[0] for r in store.db.execute("SELECT token_hash FROM links")]
        assert all(link.token not in stored for link in rotated)
        access.set_password(store, "财政局口令2026")
        assert access.password_ok(store, "财政局口令2026")
        assert not access.password_ok(store, "财政局口令2025")
        access.log(store, "upload", "收到“a.xlsx”", 2026, roster[0].code, "127.0.0.1")
        [event] = access.events(store, roster[0].code)
        assert event["kind"] == "upload" and event["department_code"] == roster[0].code
        key = access.signing_key(store)
        assert access.signing_key(store) == key


def test_uploads_from_two_departments_at_once_are_each_recorded_once(
    ledger: str, tmp_path: Path
) -> None:
    """Two departments hand in files at the same moment, each twice: each file is
    recorded once, as its sender's; the second time says the submission of the first."""
    with Store(ledger) as store:
        store.save_roster(read_roster(ROSTER), 2026)
    the_overall = load_overall_spec(DEFAULT_OVERALL_SPEC)
    uploads = Uploads(ledger, tmp_path / "uploads", load_config(None), load_spec(DEFAULT_SPEC),
                      None, the_overall, 2026, jobs=2)  # fmt: skip
    files = {
        "440100003": INBOX / "440100003-广州市老人院-第2次.xlsx",
        "440100002": INBOX / "440100002-广州市社会福利院.xlsx",
    }
    names = {e.code: e.name for e in read_roster(ROSTER)}
    outcomes: dict[str, list[tuple[str, int | None]]] = {code: [] for code in files}

    def send(code: str) -> None:
        path = uploads.save(files[code].read_bytes(), code)
        for _ in range(2):
            event = uploads.record(path, RosterEntry(code=code, name=names[code]))
            outcomes[code].append((event.outcome, event.submission_id))

    try:
        threads = [threading.Thread(target=send, args=(code,)) for code in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        uploads.close()
    for code, (first, second) in outcomes.items():  # the second is the first, said again
        assert first[0] == "accepted" and first[1] is not None and second == first, code
    with Store(ledger) as store:
        recorded = sorted((s.department_code, s.status) for s in store.submissions(2026))
    assert recorded == [("440100002", "accepted"), ("440100003", "accepted")]


def test_a_second_collect_on_the_same_ledger_is_refused_while_one_runs(ledger: str) -> None:
    from perfxl.ledger.database import location_of
    from perfxl.ledger.processes import LedgerBusy, exclusive

    with Store(ledger):
        pass
    held = exclusive(location_of(ledger))
    with held, pytest.raises(LedgerBusy), exclusive(location_of(ledger)):
        pass  # pragma: no cover
    with exclusive(location_of(ledger)):  # released: taken again
        pass


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run("status", "--ledger", "postgresql://nobody:wrong@127.0.0.1:1/none")
    assert code == 2 and "无法连接台账数据库" in output and "wrong" not in output
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_arrival_order_is_sqlites_whatever_the_databases_collation(
    postgres_server: str, tmp_path: Path
) -> None:
    """Two returns of one department with the same time, named 一号 and 二号: 二号 came
    second (by name, as SQLite compares text) and stands, on SQLite and on a PostgreSQL
    database whose collation (ICU Chinese) sorts 二号 (èr) before 一号 (yī)."""
    import psycopg

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = INBOX / "440100003-广州市老人院-第2次.xlsx"
    for n, name in enumerate(("一号.xlsx", "二号.xlsx")):
        (inbox / name).write_bytes(_other_bytes(source.read_bytes(), n))
        os.utime(inbox / name, (1_700_000_000, 1_700_000_000))
    name = f"perfxl_test_zh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as db:
        db.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            " LOCALE_PROVIDER icu ICU_LOCALE 'zh' LOCALE 'C.UTF-8'"
        )
    try:
        for ledger in (str(tmp_path / "l.db"), f"{postgres_server.rpartition('/')[0]}/{name}"):
            code, output = run("collect", str(inbox), "--ledger", ledger, "--roster",
                               str(ROSTER), "--year", "2026", "--jobs", "1")  # fmt: skip
            assert code == 0, output
            with Store(ledger) as store:
                standing = {s.file_name: s.status for s in store.submissions(2026)}
            assert standing == {"一号.xlsx": "superseded", "二号.xlsx": "accepted"}, ledger
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _other_bytes(data: bytes, n: int) -> bytes:
    """The same workbook with other bytes (one more small file in its package)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("docProps/perfxl-test.txt", str(n))
    return out.getvalue()


def test_the_web_page_on_a_postgresql_ledger(postgres_server: str, tmp_path: Path) -> None:
    """`serve --ledger postgresql://…`: a department's upload is read, checked and
    recorded there, and its page and the office's board say so."""
    from tests.test_web_safety import call, upload
    from tests.web_server import ADMIN_TOKEN, serving

    with postgres.database(postgres_server) as url, serving(tmp_path, ledger=url) as server:
        sample = INBOX / "440100003-广州市老人院-第2次.xlsx"
        status, headers, _ = upload(server.links["440100003"], sample.name, sample.read_bytes())
        assert status == 303
        status, _, page = call(server.url + headers["location"])
        assert status == 200 and "已接收" in page
        with Store(url) as store:
            [mine] = store.submissions(2026, department="440100003")
        assert mine.status == "accepted" and Path(mine.file_path).parent == tmp_path / "uploads"
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', call(server.url + "/admin")[2])
        assert token is not None
        body = f"csrf={token.group(1)}&password={urllib.parse.quote(ADMIN_TOKEN)}".encode()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, headers, _ = call(server.url + "/admin/login", body, form)
        cookie = headers["set-cookie"].split(";")[0]
        status, _, board = call(server.url + "/admin", headers={"Cookie": cookie})
        assert status == 200 and "已接收 1" in board
