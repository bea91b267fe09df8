"""A worker process of a collect (or of the web page's uploads): it reads, checks and records
files, one transaction at a time, into the ledger. Each file becomes a submission with its
projects, indicators and issues, matched to its roster department (or the department whose
link sent it), and its department's statuses are settled in the same transaction.

A worker is started with the run's `Settings` (start_worker); the collecting process hands
it batches (`collect_batch`), the web page one file at a time (`record_one`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.checks.config import Config
from perfxl.checks.validate import FileReport, validate_file
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Issue, TargetTable
from perfxl.errors import FileError
from perfxl.formats.inspect import digest_of, read_limited
from perfxl.formats.mapping import Layout
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_frame import Expected
from perfxl.ledger.database import Location
from perfxl.ledger.inbox import Directory
from perfxl.ledger.processes import (
    alive,
    cap_memory,
    die_with_parent,
    keep_freed_memory,
)
from perfxl.ledger.settle import Change, settle
from perfxl.ledger.store import Store

# For tests: PERFXL_FAULT=<what>:<where>:<n> stops a worker at its n-th file, at a point of
# the test's choosing: <what> is `kill-run` (the collecting process and this worker, as a
# power cut would) or `kill-worker` (this worker only, as the out-of-memory killer would);
# <where> is `read` (the file read and checked), `transaction` (its rows written, not yet
# committed) or `recorded` (committed); `kill-run:checkpoint:<n>` kills the collecting
# process while its n-th checkpoint of the write-ahead log runs. PERFXL_FAULT_FILE=<text>
# kills any worker that starts reading a file whose name holds the text, as a file beyond
# the workers' memory would.
# `wait:<where>:<n>` holds the worker there until the file PERFXL_FAULT_RELEASE names exists.
FAULT, FAULT_FILE, FAULT_RELEASE = "PERFXL_FAULT", "PERFXL_FAULT_FILE", "PERFXL_FAULT_RELEASE"


@dataclass
class Event:
    """What happened to one file."""

    file: str
    outcome: str  # accepted / rejected / superseded (once the run is over) / duplicate
    department: str | None = None
    errors: int = 0
    warnings: int = 0
    submission_id: int | None = None
    changes: list[Change] = field(default_factory=list)


# --- the workers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What every worker reads and records with."""

    codeset: CodeSet | None  # None: each file's own (templates), or the one its codes tell
    config: Config
    spec: TemplateSpec
    expected: Expected
    known: frozenset[str]  # the sha256 of every file already in the ledger
    ledger: Location
    roster: list[RosterEntry] | None
    accept_with_errors: bool
    parent: int  # the collecting process: once it is gone, a worker records nothing more
    layout: Layout | None = None  # a user's description of a layout, tried first
    overall_spec: OverallSpec | None = None  # the department-wide template's, if not bundled
    marks: str = ""  # a folder where each worker notes the file it is reading (by its pid)
    # A test's fault hooks (PERFXL_FAULT…), as the collecting process's environment has them
    # (a worker started by a fork server has the server's environment, not this one's).
    faults: dict[str, str] = field(
        default_factory=lambda: {k: v for k, v in os.environ.items() if k.startswith(FAULT)}
    )


class _Worker:
    """A worker process's own state: its settings, its connection to the ledger, the lock
    that lets one worker record at a time, and where a test wants it stopped."""

    def __init__(self, settings: Settings, lock: Any) -> None:
        self.settings = settings
        self.lock = lock
        self.store = Store(settings.ledger)
        # Workers only append; the collecting process moves the log into the database, so
        # that no worker stalls the others behind the write lock while it does.
        self.store.autocheckpoint(0)
        self.roster = Directory(settings.roster)
        faults = settings.faults
        what, _, rest = faults.get(FAULT, "").partition(":")
        where, _, n = rest.partition(":")
        self.fault = (what, where, int(n)) if n.isdigit() else None
        self.fatal = faults.get(FAULT_FILE, "")
        self.read = self.recorded = 0  # files read and recorded by this worker


_worker: list[_Worker] = []  # this process's worker, once started
_failed: list[BaseException] = []  # why it could not start, said by every batch it is given


def start_worker(settings: Settings, lock: Any) -> None:
    """Set up a worker process: its memory settings, and its own ledger connection. What
    goes wrong here is said when the worker is given its first batch."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the collecting process
    if os.getppid() == settings.parent:  # forked by it (not by a fork server)
        die_with_parent()
    keep_freed_memory()
    cap_memory(settings.config.limits.worker_mb)
    # A worker makes many short-lived, acyclic objects per file: keep what was loaded at
    # start out of the cycle collector's sight, and look at young objects less often
    # (measured: about 6 % of a worker's time).
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    try:
        _worker[:] = [_Worker(settings, lock)]
    except Exception as exc:  # the ledger cannot be opened, say
        _failed[:] = [exc]


def _at(worker: _Worker, where: str, first: int, last: int | None = None) -> None:
    """A point where a test may have asked for this worker to be stopped: its files from
    `first` to `last` have reached it."""
    if worker.fault is None:
        return
    what, point, n = worker.fault
    if point == where and first <= n <= (last or first):
        if what == "wait":  # until the test releases it (a run that takes its time)
            release = Path(worker.settings.faults.get(FAULT_RELEASE, ""))
            deadline = time.monotonic() + 120
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return
        if what == "kill-run":
            os.kill(worker.settings.parent, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def killed_during(work: Callable[[], None]) -> None:
    """For a test: `work` started in a thread, and this process killed while it runs."""
    threading.Thread(target=work, daemon=True).start()
    time.sleep(0.001)
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class _Read:
    """One file read and checked, to be recorded (report None: a file already recorded)."""

    path: Path
    received_at: str
    digest: str
    report: FileReport | None


def _read_one(
    worker: _Worker, path: Path, received_at: str, expected: Expected | None = None
) -> _Read:
    """Read, hash and check one file, reading its bytes once (checked against `expected`,
    else what the settings expect)."""
    s = worker.settings
    try:
        data: bytes | None = read_limited(path, s.config.limits)
    except FileError:
        data = None  # validate_file reports why
    digest = (
        hashlib.sha256(data).hexdigest() if data is not None else _digest_unread(path, received_at)
    )
    if digest in s.known:
        return _Read(path, received_at, digest, None)
    report = validate_file(
        path, s.codeset, s.config, s.spec, expected or s.expected, data, s.layout, s.overall_spec
    )
    return _Read(path, received_at, digest, report)


def owned_digest(digest: str, code: str) -> str:
    """What a department's copy of a file another department sent first is known by."""
    return hashlib.sha256(f"{digest}:{code}".encode()).hexdigest()


def record_one(path: Path, received_at: str, department: RosterEntry) -> Event:
    """In a worker process: read, check and record one file a department handed in itself
    (an upload), in a transaction of its own. The file is `department`'s, whoever it names
    (the way it came says whose it is); it is checked as that department's, so a file made
    for another is rejected with department-mismatch."""
    if _failed:
        raise _failed[0]
    worker = _worker[0]
    worker.store.autocheckpoint(1000)  # no collecting process checkpoints for a server
    expected = dataclasses.replace(
        worker.settings.expected, department_code=department.code, department_name=department.name
    )
    read = _read_one(worker, path, received_at, expected)
    with worker.lock:
        return _record_all(worker, [read], department)[0]


def collect_batch(batch: list[tuple[Path, str]]) -> list[Event]:
    """Read and check a batch of files, and record what has been read, in one transaction
    (each file's rows whole or not at all), whenever no other worker is recording; wait for
    the turn only at the end of the batch (measured at N = 100: 0.40 against 0.41 s when a
    worker records only at the end of each batch; no difference at N = 1,000)."""
    if _failed:
        raise _failed[0]
    worker = _worker[0]
    events: list[Event] = []
    waiting: list[_Read] = []
    for n, (path, received_at) in enumerate(batch, 1):
        _mark(worker, path)
        waiting.append(_read_one(worker, path, received_at))
        worker.read += 1
        _at(worker, "read", worker.read)
        if not alive(worker.settings.parent):
            os._exit(1)  # the collect that started this worker is gone: record nothing
        if worker.lock.acquire(n == len(batch)):  # at the end of the batch, wait for it
            try:
                events += _record_all(worker, waiting)
            finally:
                worker.lock.release()
            waiting = []
    return events


def _mark(worker: _Worker, path: Path) -> None:
    """Note the file this worker is about to read: if the worker dies reading it, the
    collecting process knows which file to look at."""
    if worker.settings.marks:
        with contextlib.suppress(OSError):
            Path(worker.settings.marks, str(os.getpid())).write_text(str(path), "utf-8")
    if worker.fatal and worker.fatal in path.name:
        os.kill(os.getpid(), signal.SIGKILL)


def _record_all(
    worker: _Worker, read: list[_Read], department: RosterEntry | None = None
) -> list[Event]:
    """Record files read, in one transaction (as `department`'s, where given)."""
    first = worker.recorded + 1
    with worker.store.transaction():
        events = []
        for item in read:
            events.append(_record(worker, item, department))
            worker.recorded += 1
            _at(worker, "transaction", worker.recorded)
    _at(worker, "recorded", first, worker.recorded)
    return events


# --- matching and recording --------------------------------------------------------------


def _record(worker: _Worker, read: _Read, owner: RosterEntry | None = None) -> Event:
    """Record one file, in the caller's transaction: its submission, its rows and issues,
    and the statuses of its department's submissions. The file is `owner`'s where given,
    else the roster department it names."""
    store, s, path = worker.store, worker.settings, read.path
    report = read.report
    if report is None:  # known before the run
        return Event(str(path), "duplicate")
    recorded = store.by_sha256(read.digest)
    if owner is not None and recorded is not None and recorded.department_code != owner.code:
        # The same bytes, handed in before by another department (by mistake, say): this
        # department's file all the same, known by its bytes and its department, so that
        # no one can take a file's place by sending it first.
        read = dataclasses.replace(read, digest=owned_digest(read.digest, owner.code))
        recorded = store.by_sha256(read.digest)
    if recorded is not None:
        if recorded.file_path == str(path) and read.digest not in s.known:
            # Recorded in this run by a worker that then died, before it could say so: said
            # now, as it was recorded (never as a duplicate of itself).
            return Event(str(path), recorded.status, recorded.department_name, recorded.errors,
                         recorded.warnings, recorded.id)  # fmt: skip
        return Event(str(path), "duplicate")  # the same bytes under another name
    table = report.table or TargetTable()  # an unreadable file names nothing
    department = table.department
    code: str | None
    name: str | None
    problem: Issue | None
    if owner is not None:
        code, name, problem = owner.code, owner.name, None
    else:
        code, name, problem = worker.roster.match(report, department)
    issues = report.issues if problem is None else [problem, *report.issues]
    errors = sum(1 for issue in issues if issue.severity == "error")
    warnings = len(issues) - errors
    accepted = report.readable and (errors == 0 or s.accept_with_errors) and problem is None
    verdict = "accepted" if accepted else "rejected"
    fiscal_year = table.fiscal_year or s.expected.year
    # 部门整体, or projects; a file that could not be read at all, by what its name says.
    unread = report.overall is None and not report.readable
    form = (
        "department"
        if report.overall is not None or (unread and "部门整体" in path.name)
        else "project"
    )
    submission_id = store.insert_submission(
        {
            "department_code": code,
            "department_name": name,
            "file_department_code": department.code,
            "file_department_name": department.name,
            "fiscal_year": fiscal_year,
            "file_name": path.name,
            "file_path": str(path),
            "sha256": read.digest,
            "received_at": read.received_at,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": report.kind,
            "template_id": table.template_id,
            "template_version": table.template_version,
            "status": verdict,
            "verdict": verdict,
            "errors": errors,
            "warnings": warnings,
            "form": form,
        },
    )
    store.insert_content(submission_id, table.projects, issues, table.extras)
    if report.overall is not None:
        store.insert_overall(submission_id, report.overall)
    status: str = verdict
    changes: list[Change] = []
    if code is not None:
        statuses, compared = settle(store, code, fiscal_year, form)
        status, changes = statuses[submission_id], compared.get(submission_id, [])
    shown = name or code or department.name or department.code
    return Event(str(path), status, shown, errors, warnings, submission_id, changes)


def _digest_unread(path: Path, received_at: str) -> str:
    """What a file not read whole is known by: the sha256 of its bytes, read in pieces (a
    file too large to hold), or, where it cannot be opened, of its path and time."""
    regular = path.is_file()  # a named pipe or a device is never opened
    digest = digest_of(path) if regular else None
    return digest or hashlib.sha256(f"unreadable:{path}:{received_at}".encode()).hexdigest()


def record_unreadable(
    settings: Settings, path: Path, received_at: str, owner: RosterEntry | None = None
) -> Event:
    """Record a file whose reading kills a worker each time (what it asks for is beyond the
    workers' memory): rejected as unreadable, and known by its bytes, so that the next run
    does not read it again."""
    digest = _digest_unread(path, received_at)
    reason = "读取此文件时工作进程因超出内存上限而终止，文件内容可能异常庞大或已损坏"
    issue = cat.FILE_UNREADABLE.issue(file=str(path), reason=reason)
    report = FileReport(str(path), None, None, [issue])
    recorder = _Worker(settings, None)  # no worker runs meanwhile: no lock to take
    recorder.fault = None  # the collecting process is no test's target
    try:
        return _record_all(recorder, [_Read(path, received_at, digest, report)], owner)[0]
    finally:
        recorder.store.close()
