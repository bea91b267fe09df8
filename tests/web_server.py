"""A perfxl web page for the tests: a ledger with the samples' roster, each department's
link written by `perfxl links`, and `perfxl serve` started on a free local port in a
process of its own (stopped at the end)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "samples" / "roster.csv"
ADMIN_TOKEN = "office-token-测试-2026"
YEAR = "2026"


@dataclass
class Server:
    url: str
    ledger: str  # a file's path, or a PostgreSQL URL
    links: dict[str, str]  # department code → its link
    work: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def perfxl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfxl", *args], capture_output=True, text=True, timeout=120
    )


@contextmanager
def serving(work: Path, *options: str, ledger: str | None = None) -> Iterator[Server]:
    """The server on a ledger in `work` (or the PostgreSQL one `ledger` names), with each
    department's link; uploads kept in `work`."""
    work.mkdir(parents=True, exist_ok=True)
    ledger = ledger or str(work / "ledger.db")
    roster = work / "roster.csv"
    shutil.copy(ROSTER, roster)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    made = perfxl("links", "--ledger", str(ledger), "--roster", str(roster), "--year", YEAR,
                  "--base-url", url, "-o", str(work / "links.csv"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    with (work / "links.csv").open(encoding="utf-8-sig") as fh:
        links = {row["单位编码"]: row["链接"] for row in csv.DictReader(fh)}
    log = (work / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "perfxl", "serve", "--ledger", str(ledger), "--year", YEAR,
         "--port", str(port), "--jobs", "2", "--uploads", str(work / "uploads"), *options],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PERFXL_ADMIN_TOKEN": ADMIN_TOKEN},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "serve.log").read_text()) from None
                time.sleep(0.2)
        yield Server(url, ledger, links, work)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
