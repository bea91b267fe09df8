"""Faults around a collect: a disk that fills up, a ledger on a read-only disk, two collects
at once, the run killed while it checkpoints the write-ahead log. Each time the ledger is
checked afterwards: whole (`PRAGMA integrity_check`), nothing doubled, and a second run ends
where a run that never met the fault ends.

The disks are small tmpfs mounts, which need the right to mount (root, as in CI)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfxl.checks.config import Config
from perfxl.domain.codesets import load_codeset
from perfxl.formats.spec import load_spec
from perfxl.ledger.collect import collect
from perfxl.ledger.store import Store
from tests.test_collect import _distinct_inbox, standing

COUNT = 40


def perfxl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfxl", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        start_new_session=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faults") / "inbox"
    _distinct_inbox(folder, COUNT)
    return folder


@pytest.fixture(scope="module")
def clean(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    """What a run that meets no fault records: the counts, and each file's standing."""
    with Store(tmp_path_factory.mktemp("clean") / "ledger.db") as store:
        collect([inbox], store, load_codeset(), Config(), load_spec(), jobs=2)
        return store.counts(), standing(store)


def whole_and_as_clean(ledger: Path, inbox: Path, clean: tuple[object, object]) -> None:
    """The ledger is whole; a second run completes it; it then equals a clean run."""
    with contextlib.closing(sqlite3.connect(ledger)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        orphans = db.execute(
            "SELECT COUNT(*) FROM projects WHERE submission_id NOT IN (SELECT id FROM submissions)"
        ).fetchone()[0]
        assert orphans == 0
    again = perfxl("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    with Store(ledger) as store:
        assert (store.counts(), standing(store)) == clean
        assert store.counts()["submissions"] == COUNT


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "perfxl-test", str(where)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("a small disk for the test needs the right to mount a tmpfs (root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)


def test_a_disk_that_fills_up_stops_the_run_clearly_and_a_rerun_completes(
    inbox: Path, clean: tuple[object, object], tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        ledger = disk / "ledger.db"
        full = perfxl("collect", str(inbox), "--ledger", str(ledger), "--jobs", "2")
        assert full.returncode == 2, full.stdout + full.stderr
        assert "磁盘已满" in full.stderr and "Traceback" not in full.stderr, full.stderr
        remount(disk, "size=64m")  # space freed
        with contextlib.closing(sqlite3.connect(ledger)) as db:
            recorded = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        assert recorded < COUNT
        whole_and_as_clean(ledger, inbox, clean)


def test_a_ledger_on_a_read_only_disk_is_refused_before_any_work(
    inbox: Path, clean: tuple[object, object], tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "disk", "64m") as disk:
        ledger = disk / "ledger.db"
        assert perfxl("collect", str(inbox), "--ledger", str(ledger)).returncode == 0
        with contextlib.closing(sqlite3.connect(ledger)) as db:
            before = db.execute("SELECT COUNT(*), MAX(id) FROM submissions").fetchone()
        remount(disk, "ro")
        (inbox / "D000.xlsx").touch()  # a file seen anew: there would be work to record
        try:
            refused = perfxl("collect", str(inbox), "--ledger", str(ledger))
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert "只读" in refused.stderr and "Traceback" not in refused.stderr
            # Reading it is still a clear answer, whatever it is.
            shown = perfxl("status", "--ledger", str(ledger))
            assert shown.returncode in (0, 1, 2) and "Traceback" not in shown.stderr
        finally:
            os.utime(inbox / "D000.xlsx", (1_700_000_000, 1_700_000_000))
            remount(disk, "rw")
        with contextlib.closing(sqlite3.connect(ledger)) as db:
            assert db.execute("SELECT COUNT(*), MAX(id) FROM submissions").fetchone() == before
        whole_and_as_clean(ledger, inbox, clean)


def test_a_second_collect_on_a_ledger_in_use_is_refused_and_the_first_completes(
    inbox: Path, clean: tuple[object, object], tmp_path: Path
) -> None:
    ledger, release = tmp_path / "ledger.db", tmp_path / "release"
    # The first run holds at its 5th file until the second has tried.
    first = subprocess.Popen(
        [sys.executable, "-m", "perfxl", "collect", str(inbox), "--ledger", str(ledger),
         "--jobs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PERFXL_FAULT": "wait:read:5", "PERFXL_FAULT_RELEASE": str(release)},
    )  # fmt: skip
    lock = tmp_path / "ledger.db.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        lock.is_file() and lock.read_text() == str(first.pid)
    ):
        time.sleep(0.02)
    second = perfxl("collect", str(inbox), "--ledger", str(ledger), "--jobs", "1")
    release.touch()
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"正由另一个收集进程（进程号{first.pid}）" in "".join(second.stderr.split())
    whole_and_as_clean(ledger, inbox, clean)


def test_a_run_killed_while_it_checkpoints_loses_nothing(
    inbox: Path, clean: tuple[object, object], tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.db"
    killed = perfxl(
        "collect", str(inbox), "--ledger", str(ledger), "--jobs", "2",
        env={"PERFXL_FAULT": "kill-run:checkpoint:1"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with contextlib.closing(sqlite3.connect(ledger)) as db:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] > 0
    whole_and_as_clean(ledger, inbox, clean)
