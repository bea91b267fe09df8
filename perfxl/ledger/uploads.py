"""Files departments hand in themselves (the web page's uploads), recorded as `collect`
records an inbox's: read and checked in worker processes (the same bounded reader, memory
cap and rules), recorded in the same ledger with the same rules (a file twice changes
nothing, a newer accepted file supersedes, history is kept), one at a time.

An upload is saved under a name of perfxl's (`<code>-<time>-<digest>.xlsx`), never the
client's, with the extension its content shows."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import threading
import zipfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path

from perfxl.checks.annotate import annotate
from perfxl.checks.config import Config
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Issue
from perfxl.errors import FileError, InputError
from perfxl.formats.inspect import is_encrypted, sniff
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_frame import Expected
from perfxl.ledger.database import Location
from perfxl.ledger.inbox import received_time
from perfxl.ledger.recording import Event, Settings, record_one, record_unreadable, start_worker
from perfxl.ledger.store import Store


class QuotaReached(InputError):
    """A department has handed in as many files as the server keeps for one."""


def workbook_kind(data: bytes) -> str:
    """The extension a handed-in file's content shows (.xlsx, .xlsm, .ods, .xls); an
    InputError, said for the person who sent it, for anything that is no workbook."""
    kind = sniff(data)
    if kind == "cfb":  # a legacy .xls, or an xlsx with an open password
        return ".xlsx" if is_encrypted(data) else ".xls"
    if kind == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            raise InputError("文件已损坏，无法作为工作簿打开：请重新保存后再上传") from None
        if "xl/workbook.xml" in names:
            return ".xlsm" if "xl/vbaProject.bin" in names else ".xlsx"
        if "content.xml" in names:
            return ".ods"
    raise InputError("这不是 Excel 工作簿：请上传下载的模板填好后保存的 .xlsx 文件")


class Uploads:
    """Where uploads are kept, and the worker processes that read and record them."""

    def __init__(
        self,
        ledger: Location,
        folder: Path,
        config: Config,
        spec: TemplateSpec,
        codeset: CodeSet | None,
        overall_spec: OverallSpec | None,
        year: int,
        jobs: int | None = None,
        most: int | None = None,
    ) -> None:
        self.folder = folder
        self.most = most  # files kept for one department, at most
        folder.mkdir(parents=True, exist_ok=True)
        with Store(ledger) as store:
            roster = store.roster(year)
        self.settings = Settings(
            codeset=codeset,
            config=config,
            spec=spec,
            expected=Expected(year=year),
            known=frozenset(),  # a file recorded before is found when it is recorded
            ledger=ledger,
            roster=roster,
            accept_with_errors=False,
            parent=os.getpid(),
            overall_spec=overall_spec,
        )
        self.jobs = jobs or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._guard = threading.Lock()

    def save(self, data: bytes, code: str, digest: str | None = None) -> Path:
        """Keep a handed-in file (its content checked to be a workbook) under perfxl's
        name for it; the same bytes twice are one file. `digest`: their SHA-256, where the
        caller has it already."""
        suffix = workbook_kind(data)
        digest = digest or hashlib.sha256(data).hexdigest()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")  # two in one second: in order
        known = sorted(self.folder.glob(f"{code}-*-{digest[:16]}{suffix}"))
        if known:
            return known[0]
        if self.most is not None:
            kept = sum(1 for _ in self.folder.glob(f"{code}-*"))
            if kept >= self.most:
                raise QuotaReached(
                    f"本单位已上传 {kept} 个文件，达到上限：如需再交，请联系财政部门"
                )
        path = self.folder / f"{code}-{stamp}-{digest[:16]}{suffix}"
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(path)
        return path

    def record(self, path: Path, department: RosterEntry) -> Event:
        """Read, check and record a saved upload as `department`'s."""
        at = received_time(path)
        try:
            return self._workers().submit(record_one, path, at, department).result()
        except BrokenProcessPool:  # a worker died: this file's, or another's being read
            with self._guard:
                self._pool = None
        # Read again alone, in a worker of its own: only a file that kills its worker alone
        # is recorded as unreadable (as collect does with the files of a broken pool).
        alone = _pool(1, self.settings)
        try:
            return alone.submit(record_one, path, at, department).result()
        except BrokenProcessPool:
            return record_unreadable(self.settings, path, at, department)
        finally:
            alone.shutdown(wait=True)

    def annotate(
        self, source: Path, issues: list[Issue], folder: Path, rows: dict[str, int] | None
    ) -> Path:
        """The annotated copy of a saved upload, made in a worker process (under its
        memory cap: the file came from outside)."""
        try:
            return self._workers().submit(annotate, source, issues, folder, rows).result()
        except BrokenProcessPool:
            with self._guard:
                self._pool = None
            raise FileError(source, "生成标注副本时工作进程意外退出") from None

    def _workers(self) -> ProcessPoolExecutor:
        with self._guard:
            if self._pool is None:
                self._pool = _pool(self.jobs, self.settings)
            return self._pool

    def close(self) -> None:
        with self._guard:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def _pool(workers: int, settings: Settings) -> ProcessPoolExecutor:
    """Worker processes started from a fork server (the server runs threads, which a
    forked worker must not inherit), with a recording lock of their own: a worker killed
    while it held the lock leaves it held, so a pool started again takes a new one. The
    ledger's own lock keeps two pools' records apart."""
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_worker,
        initargs=(settings, context.Lock()),
    )  # fmt: skip
