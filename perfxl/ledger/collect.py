"""Collect submissions into the ledger: read every workbook of an inbox, validate it, match
it to its roster department, and record it, with nothing lost and nothing twice.

- The same file twice changes nothing: files are known by their sha256, and a known file
  is not even parsed again.
- A newer accepted submission of a department and year supersedes the older ones, which
  stay in the history; the change is recorded as projects added, removed and changed
  (ledger/settle.py), whatever the order in which the files are recorded.
- A file with errors is recorded as rejected, with its issues, and stays out of the
  consolidated figures unless errors are accepted.
- One collect at a time on a ledger: a second one is refused, naming the first
  (ledger/processes.py). A fault of the ledger itself (a full disk, a read-only path) stops the run
  with what it is; what was recorded stays whole, and running collect again goes on.
- One bad file never stops the run. Files are read, checked and recorded by a pool of
  worker processes (the standard library's), in batches: a worker records what it has read
  in one transaction whenever no other worker is recording, one worker at a time. The
  collecting process moves the write-ahead log into the database now and then, so that no
  worker waits for it. A worker that dies stops the run with a clear message; what was
  recorded stays whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from perfxl.checks import catalogue as cat
from perfxl.checks.config import Config
from perfxl.checks.validate import FileReport, validate_file
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Issue, TargetTable
from perfxl.errors import FileError, PerfxlError
from perfxl.formats.inspect import digest_of, read_limited
from perfxl.formats.mapping import Layout
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_frame import Expected
from perfxl.ledger.database import Location
from perfxl.ledger.inbox import Directory, inbox_files, received_time
from perfxl.ledger.processes import (
    CollectError,
    alive,
    cap_memory,
    die_with_parent,
    keep_freed_memory,
)
from perfxl.ledger.settle import Change, settle
from perfxl.ledger.store import Store, fault_reason

T = TypeVar("T")
CHECKPOINT_EVERY = 200  # files recorded between two checkpoints of the write-ahead log
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


@dataclass
class CollectReport:
    events: list[Event] = field(default_factory=list)
    skipped: list[Issue] = field(default_factory=list)  # links not followed, with why
    roster_dropped: list[str] = field(default_factory=list)  # codes the new roster lacks

    def count(self, outcome: str) -> int:
        return sum(1 for e in self.events if e.outcome == outcome)


def batches(items: list[T], jobs: int, most: int = 8) -> list[list[T]]:
    """Items in batches that shrink as the work runs out (guided scheduling): few hand-overs
    between processes while there is much to do, and no worker left idle at the end while
    another finishes a long batch."""
    out: list[list[T]] = []
    start = 0
    while start < len(items):
        size = max(1, min(most, (len(items) - start) // (jobs * 4)))
        out.append(items[start : start + size])
        start += size
    return out


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


def _killed_during(work: Callable[[], None]) -> None:
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


def _collect_batch(batch: list[tuple[Path, str]]) -> list[Event]:
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


# --- the collecting process --------------------------------------------------------------


def collect(
    inputs: Iterable[Path],
    store: Store,
    codeset: CodeSet | None,
    config: Config,
    spec: TemplateSpec,
    roster: list[RosterEntry] | None = None,
    year: int | None = None,
    accept_with_errors: bool = False,
    jobs: int | None = None,
    progress: Callable[[Event], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    layout: Layout | None = None,
    overall_spec: OverallSpec | None = None,
    follow_links: bool = False,
) -> CollectReport:
    """Read, validate and record every file of the inbox, in `jobs` worker processes (by
    default one per core). The report lists the files in their order of arrival; links
    that lead out of the inbox are skipped, each with why, and nothing of theirs is
    recorded."""
    report = CollectReport()
    inbox = inbox_files(inputs, follow_links)
    if roster is not None:  # remembered: collect, status and ledger need not be told again
        report.roster_dropped = store.save_roster(roster, year)
    else:  # the roster given before, for this year
        roster = store.roster(year)
    report.skipped = inbox.skipped
    files = inbox.files
    if on_total:
        on_total(len(files))
    pending = sorted(
        ((path, received_time(path)) for path in files), key=lambda item: (item[1], item[0].name)
    )
    if not pending:
        return report
    jobs = jobs or os.cpu_count() or 1
    settings = Settings(
        codeset=codeset,
        config=config,
        spec=spec,
        expected=Expected(year=year),
        known=store.known_sha256(),
        ledger=store.path,
        roster=roster,
        accept_with_errors=accept_with_errors,
        parent=os.getpid(),
        layout=layout,
        overall_spec=overall_spec,
    )
    counter = {"done": 0}
    what, _, rest = os.environ.get(FAULT, "").partition(":")
    where, _, n = rest.partition(":")
    kill_at = int(n) if what == "kill-run" and where == "checkpoint" and n.isdigit() else 0

    def checkpoint() -> None:
        counter["checkpoints"] = counter.get("checkpoints", 0) + 1
        try:
            if counter["checkpoints"] == kill_at:  # a test's power cut, while it runs
                _killed_during(store.checkpoint)
            store.checkpoint()
        except store.errors as exc:
            raise CollectError(fault_reason(exc)) from None

    def tick(event: Event) -> None:
        report.events.append(event)
        counter["done"] += 1
        if progress:
            progress(event)
        left = len(pending) - counter["done"]
        # One more while the last files are read, so that the final one has little to do.
        if left and (counter["done"] % CHECKPOINT_EVERY == 0 or left == 2 * jobs):
            checkpoint()

    with tempfile.TemporaryDirectory(prefix="perfxl-collect-") as marks:
        settings = dataclasses.replace(settings, marks=marks)
        remaining = pending
        while remaining:
            try:
                _run_pool(batches(remaining, jobs), min(jobs, len(remaining)), settings, tick)
                break
            except BrokenProcessPool:
                done = {e.file for e in report.events}
                suspects = [item for item in remaining if str(item[0]) in _marked(marks)
                            and str(item[0]) not in done]  # fmt: skip
                left = [item for item in remaining
                        if str(item[0]) not in done and item not in suspects]  # fmt: skip
                if not suspects:  # a worker died, and not over a file: nothing to retry
                    raise CollectError("一个工作进程意外退出（可能被系统终止或内存不足）") from None
                for name in os.listdir(marks):
                    os.unlink(os.path.join(marks, name))
                for suspect in suspects:  # each alone: the one that kills its worker again
                    try:
                        _run_pool([[suspect]], 1, settings, tick)
                    except BrokenProcessPool:
                        tick(record_unreadable(settings, *suspect))
                remaining = left
    checkpoint()
    # Reported in the order of arrival, each file with its status once all are recorded,
    # whichever worker was first.
    arrival = {str(path): n for n, (path, _) in enumerate(pending)}
    report.events.sort(key=lambda event: arrival.get(event.file, 0))
    standing = store.standing([e.submission_id for e in report.events if e.submission_id])
    for event in report.events:
        if event.submission_id in standing:
            event.outcome, event.changes = standing[event.submission_id]
    return report


def _run_pool(
    work: list[list[tuple[Path, str]]], workers: int, settings: Settings,
    tick: Callable[[Event], None],
) -> None:  # fmt: skip
    """Read and record the batches in a pool of worker processes, each event as it comes.
    Raises BrokenProcessPool when a worker dies. Each pool has its own recording lock: a
    worker stopped while it held the lock of a broken pool leaves it held for good."""
    context = _start_method()
    lock = context.Lock()
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=start_worker, initargs=(settings, lock)
    )
    try:
        futures = [pool.submit(_collect_batch, b) for b in work]
        for future in as_completed(futures):
            for event in _result(future):
                tick(event)
    finally:
        # Stopped early, what has not started never starts; what has, ends whole.
        pool.shutdown(wait=True, cancel_futures=True)


# Libraries that keep threads or server connections of their own: a process that loaded
# them is not forked (a forked worker crashed at random after a Parquet export in the
# same process; a PostgreSQL connection must not be shared with a child).
_NOT_FORKED_AFTER = ("pyarrow", "psycopg")


def _start_method() -> Any:
    """How workers are started: as the platform does by default, except that a process
    with such a library loaded starts them from a fresh server process (forkserver) rather
    than by forking itself."""
    unsafe = any(name in sys.modules for name in _NOT_FORKED_AFTER)
    if unsafe and multiprocessing.get_start_method() == "fork":
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context()


def _marked(marks: str) -> set[str]:
    """The files the workers were reading, as they noted them."""
    out = set()
    for name in os.listdir(marks):
        with contextlib.suppress(OSError):
            out.add(Path(marks, name).read_text("utf-8"))
    return out


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


def _result(future: Future[list[Event]]) -> list[Event]:
    """A batch's events, or the fault that stopped its worker (a worker that died raises
    BrokenProcessPool, for the caller to look into)."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except PerfxlError:
        raise
    except Exception as exc:  # a fault of the ledger or of perfxl itself, not of a file
        raise CollectError(fault_reason(exc)) from None
