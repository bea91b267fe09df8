"""Collect submissions into the ledger: read every workbook of an inbox, validate it, match
it to its roster department, and record it, with nothing lost and nothing twice.

- The same file twice changes nothing: files are known by their sha256, and a known file
  is not even parsed again.
- A newer accepted submission of a department and year supersedes the older ones, which
  stay in the history; the change is recorded as projects added, removed and changed.
  Which submission is newer is decided by the order of arrival (file time, then name),
  never by the order of recording: files collected together, one by one, or late give
  the same statuses and the same changes.
- A file with errors is recorded as rejected, with its issues, and stays out of the
  consolidated figures unless errors are accepted.
- One bad file never stops the run. Files are read, checked and recorded in parallel on
  all cores: each worker records what it has read whenever no other worker is recording,
  each file whole in a transaction, one writer at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import glob
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import multiprocessing.sharedctypes  # Value and Lock load these on first use: load them once
import multiprocessing.synchronize
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from perfxl.checks import catalogue as cat
from perfxl.checks.config import Config
from perfxl.checks.validate import FileReport, expand, validate_file
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Department, Issue, Project, TargetTable
from perfxl.errors import PerfxlError
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_reader import Expected
from perfxl.ledger.store import Store

T = TypeVar("T")
CHECKPOINT_EVERY = 200  # files recorded between two checkpoints of the write-ahead log
COMPARED = ("name", "unit", "total", "fiscal", "special", "other", "goal")


class CollectError(PerfxlError):
    """A run stopped by a fault that is not in a file (the ledger's disk, a worker that was
    killed). What was recorded stays whole; running collect again goes on from there."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"收集中断：{reason}。已记录的文件完整保存在台账中，再次运行 collect 即可接着完成"
        )


@dataclass
class Event:
    """What happened to one file."""

    file: str
    outcome: str  # accepted / rejected / superseded / duplicate
    department: str | None = None
    errors: int = 0
    warnings: int = 0
    submission_id: int | None = None
    changes: list[dict[str, object]] = field(default_factory=list)


@dataclass
class CollectReport:
    events: list[Event] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for e in self.events if e.outcome == outcome)


def inbox_files(inputs: Iterable[Path]) -> list[Path]:
    """Folders, files and glob patterns (`inbox/*.xlsx`, also when the shell did not expand
    them), each file once."""
    paths: list[Path] = []
    for item in inputs:
        if not item.exists() and glob.has_magic(str(item)):
            paths += [Path(p) for p in sorted(glob.glob(str(item), recursive=True))]
        else:
            paths.append(item)
    seen: set[object] = set()
    out = []
    for path in expand(paths):
        # The same file by two names (a link, `./inbox` and `inbox`) is the same file on
        # disk: one stat tells, where resolving a path takes one for each of its parts.
        try:
            info = path.stat()
            key: object = (info.st_dev, info.st_ino)
        except OSError:
            key = path.resolve()  # not there or not readable: reported once, under its name
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def received_time(path: Path) -> str:
    """When a file arrived: its modification time, ISO 8601 in UTC."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds")


# --- reading and recording, in worker processes ----------------------------------------


@dataclass
class _Context:
    """What a worker reads and records with."""

    codeset: CodeSet
    config: Config
    spec: TemplateSpec
    expected: Expected
    known: frozenset[str]  # the sha256 of every file already in the ledger
    ledger: Path
    roster: list[RosterEntry] | None
    accept_with_errors: bool
    lock: Any  # one writer at a time, across the workers (acquire(block), release())
    parent: int | None  # the collecting process, for a worker: if it is gone, record nothing


@dataclass
class _Worker:
    context: _Context
    store: Store
    directory: _Roster


_WORKER: list[_Worker] = []  # set once per worker process


def _init_worker(context: _Context, store: Store | None = None) -> None:
    store = store if store is not None else Store(context.ledger)
    _WORKER[:] = [_Worker(context, store, _Roster(context.roster))]


def _init_pool_worker(context: _Context) -> None:
    _init_worker(context)
    keep_freed_memory()
    # Workers only append; the collecting process moves the log into the database, so that
    # no worker stalls the others behind the write lock while it does (measured on 1,000
    # files: the longest recording 97 → 5 ms, the time spent waiting for the lock
    # 0.41 → 0.15 s).
    _WORKER[0].store.db.execute("PRAGMA wal_autocheckpoint = 0")
    # A worker process makes many short-lived, acyclic objects per file: keep what was
    # loaded at start out of the cycle collector's sight, and look at young objects less
    # often (measured: about 6 % of a worker's time).
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters


def keep_freed_memory() -> None:
    """Let this process's C heap keep what it frees, up to 32 MiB, for the next file.

    By default glibc hands freed memory at the top of its heap back to the system at once,
    and maps and unmaps blocks of more than 128 KiB (a workbook's parts) each time: every
    file read then faults its pages in anew. Measured over 300 templates in one process:
    124-218 page faults and 0.2-0.6 ms of system time per file, against 1 fault and
    0.01-0.08 ms with these settings (5.7-6.0 against 6.1-7.1 ms a file in all). Memory
    still does not grow with the number of files: what is kept is reused. Only glibc has
    these settings; anywhere else nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - a libc without mallopt
        return
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)
    mallopt(_M_TRIM_THRESHOLD, 32 << 20)


@dataclass
class _Read:
    """One file read and checked, to be recorded (report None: a file already recorded)."""

    path: Path
    received_at: str
    digest: str
    report: FileReport | None


def _read_one(path: Path, received_at: str) -> _Read:
    """Read, hash and check one file, reading its bytes once."""
    c = _WORKER[0].context
    try:
        data: bytes | None = path.read_bytes()
    except OSError:
        data = None  # validate_file reports why; the file is known by its path and time
    digest = hashlib.sha256(
        data if data is not None else f"unreadable:{path}:{received_at}".encode()
    ).hexdigest()
    if digest in c.known:
        return _Read(path, received_at, digest, None)
    report = validate_file(path, c.codeset, c.config, c.spec, c.expected, data)
    return _Read(path, received_at, digest, report)


def _collect_many(batch: list[tuple[Path, str]]) -> list[Event]:
    """Read, check and record a batch of files. A worker records what it has read whenever
    no other worker is recording, in one transaction (each file's rows whole or not at
    all), and waits for its turn only at the end of its batch: no time is lost waiting
    while there are files left to read."""
    worker = _WORKER[0]
    c = worker.context
    events: list[Event] = []
    waiting: list[_Read] = []
    for n, (path, received_at) in enumerate(batch, 1):
        waiting.append(_read_one(path, received_at))
        if c.parent is not None and os.getppid() != c.parent:
            os._exit(1)  # the collect that started this worker is gone: leave the rest
        last = n == len(batch)
        if c.lock.acquire(last):  # at the end of the batch, wait for the turn
            try:
                events += _record_all(waiting)
            finally:
                c.lock.release()
            waiting = []
    return events


def _record_all(read: list[_Read]) -> list[Event]:
    worker = _WORKER[0]
    c = worker.context
    if all(r.report is None for r in read):
        return [Event(str(r.path), "duplicate") for r in read]
    with worker.store.transaction():
        return [
            Event(str(r.path), "duplicate")
            if r.report is None
            else _record(
                worker.store,
                worker.directory,
                r.report,
                r.path,
                r.digest,
                r.received_at,
                c.expected.year,
                c.accept_with_errors,
            )
            for r in read
        ]


def _events(
    pending: list[tuple[Path, str]], jobs: int, context: _Context, store: Store
) -> Iterator[Event]:
    if jobs <= 1 or len(pending) <= 1:
        _init_worker(context, store)
        try:
            for item in pending:
                yield from _collect_many([item])
        finally:
            _WORKER.clear()  # the caller's store is not this module's to keep
        return
    # Each worker takes the next batch itself and sends back what happened to its files:
    # no thread of this process hands out the work (each hand-over through threads cost
    # this process time, and the workers a wait).
    work = batches(pending, jobs)
    taken = multiprocessing.Value("i", 0)  # batches taken so far, guarded by its own lock
    running: dict[Any, multiprocessing.Process] = {}
    for _ in range(min(jobs, len(work))):
        receiver, sender = multiprocessing.Pipe(duplex=False)
        process = multiprocessing.Process(
            target=_work, args=(context, work, taken, sender), daemon=True
        )
        process.start()
        sender.close()
        running[receiver] = process
    try:
        while running:
            ready: list[Any] = multiprocessing.connection.wait(list(running))
            for receiver in ready:
                try:
                    kind, payload = receiver.recv()
                except EOFError:  # gone without a word: killed
                    process = running.pop(receiver)
                    process.join()
                    reason = f"一个工作进程意外退出（退出码 {process.exitcode}）"
                    raise CollectError(reason) from None
                if kind == "events":
                    yield from payload
                elif kind == "done":  # it ends on its own: nobody waits for it
                    del running[receiver]
                else:
                    raise CollectError(payload)
    finally:
        # Stopped early (a fault, or the caller gave up): the other workers are stopped
        # too, and whatever they were recording is not recorded at all (each file is
        # recorded whole in a transaction, or not).
        for process in running.values():
            process.terminate()
            process.join()


def _work(context: _Context, work: list[list[tuple[Path, str]]], taken: Any, sender: Any) -> None:
    """A worker process: take batches until none is left, and send back the events."""
    # Ctrl-C is for the collecting process, which then stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _init_pool_worker(context)
        while True:
            with taken.get_lock():
                n = taken.value
                taken.value = n + 1
            if n >= len(work):
                break
            sender.send(("events", _collect_many(work[n])))
        sender.send(("done", None))
    except Exception as exc:  # a fault of the ledger or of perfxl itself, not of a file
        with contextlib.suppress(OSError):  # unless the collecting process is gone
            sender.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


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


# --- matching and recording --------------------------------------------------------------


def _key(name: str | None) -> str:
    return "".join((name or "").split())


class _Roster:
    def __init__(self, entries: list[RosterEntry] | None) -> None:
        self.entries = entries
        self.by_code = {e.code: e for e in entries or []}
        self.by_name = {_key(e.name): e for e in entries or []}

    def match(
        self, report: FileReport, department: Department
    ) -> tuple[str | None, str | None, Issue | None]:
        """(department code, name, an issue when the file, which names `department`, matches
        no roster department)."""
        code, name = department.code, department.name
        if self.entries is None:
            return code or name, name, None
        # Our template carries the code; a table that is not ours carries the name.
        entry = (
            (self.by_code.get(code or "") if report.kind in ("template", "plain") else None)
            or self.by_name.get(_key(name))
            or self.by_code.get(code or "")
        )
        if entry is not None:
            return entry.code, entry.name, None
        if not report.readable:
            return None, None, None
        found = (
            "（".join(x for x in (name, code) if x) + ("）" if name and code else "")
            or "（文件中未写明）"
        )
        return None, None, cat.DEPARTMENT_UNKNOWN.issue(file=report.file, found=found)


def _project_key(project: Project, seen: dict[str, int]) -> str:
    base = f"编码 {project.code}" if project.code else f"名称 {project.name}"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base} #{seen[base]}"


def _indicator_summary(project: Project) -> list[tuple[object, ...]]:
    return [(i.level1, i.level2, i.name, i.period, i.annual) for i in project.indicators]


def diff(old: list[Project], new: list[Project]) -> list[dict[str, object]]:
    """Projects added, removed and changed (which fields, old → new), by project code, else
    by name."""
    seen_old: dict[str, int] = {}
    seen_new: dict[str, int] = {}
    before = {_project_key(p, seen_old): p for p in old}
    after = {_project_key(p, seen_new): p for p in new}
    out: list[dict[str, object]] = []
    for key, project in after.items():
        previous = before.get(key)
        if previous is None:
            out.append({"change": "added", "project": key, "name": project.name, "fields": {}})
            continue
        fields: dict[str, list[str]] = {}
        for name in COMPARED:
            a, b = getattr(previous, name), getattr(project, name)
            if a != b:
                fields[name] = ["" if a is None else str(a), "" if b is None else str(b)]
        if _indicator_summary(previous) != _indicator_summary(project):
            counts = (len(previous.indicators), len(project.indicators))
            fields["indicators"] = [f"{counts[0]} 条", f"{counts[1]} 条"]
        if fields:
            out.append(
                {"change": "changed", "project": key, "name": project.name, "fields": fields}
            )
    for key, project in before.items():
        if key not in after:
            out.append({"change": "removed", "project": key, "name": project.name, "fields": {}})
    return out


def collect(
    inputs: Iterable[Path],
    store: Store,
    codeset: CodeSet,
    config: Config,
    spec: TemplateSpec,
    roster: list[RosterEntry] | None = None,
    year: int | None = None,
    accept_with_errors: bool = False,
    jobs: int | None = None,
    progress: Callable[[Event], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> CollectReport:
    """Read, validate and record every file of the inbox. Each worker records what it read
    (each file whole in a transaction, one writer at a time); the statuses of a department's
    submissions follow from their order of arrival, whatever order they are recorded in."""
    report = CollectReport()
    files = inbox_files(inputs)
    if on_total:
        on_total(len(files))
    pending = sorted(
        ((path, received_time(path)) for path in files), key=lambda item: (item[1], item[0].name)
    )
    workers = jobs or os.cpu_count() or 1
    parallel = workers > 1 and len(pending) > 1
    context = _Context(
        codeset=codeset,
        config=config,
        spec=spec,
        expected=Expected(year=year),
        known=store.known_sha256(),
        ledger=store.path,
        roster=roster,
        accept_with_errors=accept_with_errors,
        lock=multiprocessing.Lock() if parallel else threading.Lock(),
        parent=os.getpid() if parallel else None,
    )
    for done, event in enumerate(_events(pending, workers if parallel else 1, context, store), 1):
        report.events.append(event)
        if progress:
            progress(event)
        left = len(pending) - done
        # One more while the last files are read, so that the final one has little to do.
        if parallel and left and (done % CHECKPOINT_EVERY == 0 or left == 2 * workers):
            store.checkpoint()
    if parallel:
        store.checkpoint()
        # Reported in the order of arrival, as read one by one, whichever worker was first.
        arrival = {str(path): n for n, (path, _) in enumerate(pending)}
        report.events.sort(key=lambda event: arrival.get(event.file, 0))
    return report


def _record(
    store: Store,
    directory: _Roster,
    report: FileReport,
    path: Path,
    digest: str,
    received_at: str,
    year: int | None,
    accept_with_errors: bool,
) -> Event:
    """Record one file, in the caller's transaction: its submission, its rows and issues,
    and the statuses of its department's submissions."""
    table = report.table or TargetTable()  # an unreadable file names nothing
    department = table.department
    code, name, problem = directory.match(report, department)
    issues = report.issues if problem is None else [problem, *report.issues]
    errors = sum(1 for issue in issues if issue.severity == "error")
    warnings = len(issues) - errors
    accepted = report.readable and (errors == 0 or accept_with_errors) and problem is None
    verdict = "accepted" if accepted else "rejected"
    fiscal_year = table.fiscal_year or year
    if store.has_sha256(digest):  # the same file, recorded since this run began
        return Event(str(path), "duplicate")
    submission_id = store.insert_submission(
        {
            "department_code": code,
            "department_name": name,
            "file_department_code": department.code,
            "file_department_name": department.name,
            "fiscal_year": fiscal_year,
            "file_name": path.name,
            "file_path": str(path),
            "sha256": digest,
            "received_at": received_at,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": report.kind,
            "template_id": table.template_id,
            "template_version": table.template_version,
            "status": verdict,
            "verdict": verdict,
            "errors": errors,
            "warnings": warnings,
        },
    )
    store.insert_content(submission_id, table.projects, issues)
    status: str = verdict
    changes: list[dict[str, object]] = []
    if code is not None:
        statuses, compared = settle(store, code, fiscal_year)
        status, changes = statuses[submission_id], compared.get(submission_id, [])
    shown = name or code or department.name or department.code
    return Event(str(path), status, shown, errors, warnings, submission_id, changes)


def settle(
    store: Store, code: str, fiscal_year: int | None
) -> tuple[dict[int, str], dict[int, list[dict[str, object]]]]:
    """Work out the statuses of one department's submissions for a year from their order of
    arrival, and store them: an accepted submission replaces everything that arrived before
    it; a rejected one replaces only an earlier rejected one, never the accepted figures in
    force. Each submission is compared with the one it replaced: its changes are the
    projects added, removed and changed. Returns every submission's status, and the
    changes of those compared anew."""
    rows = store.db.execute(
        "SELECT id, verdict, status, superseded_by, previous_id FROM submissions"
        " WHERE department_code = ? AND fiscal_year IS ?"
        " ORDER BY received_at, file_name, id",
        (code, fiscal_year),
    ).fetchall()
    previous: dict[int, int | None] = {}  # the submission each one replaced
    superseded_by: dict[int, int | None] = {}
    in_force: int | None = None  # the accepted submission in force
    pending: int | None = None  # a rejected one that arrived after it
    for row in rows:
        sid = row["id"]
        superseded_by[sid] = None
        if row["verdict"] == "accepted":
            previous[sid] = in_force if in_force is not None else pending
            replaced = (in_force, pending)
            in_force, pending = sid, None
        else:
            previous[sid] = pending
            replaced = (pending, None)
            pending = sid
        for old in replaced:
            if old is not None:
                superseded_by[old] = sid
    statuses = {
        row["id"]: "superseded" if superseded_by[row["id"]] else row["verdict"] for row in rows
    }
    compared: dict[int, list[dict[str, object]]] = {}
    for row in rows:
        sid = row["id"]
        wanted = (statuses[sid], superseded_by[sid], previous[sid])
        if previous[sid] != row["previous_id"]:
            store.db.execute("DELETE FROM changes WHERE submission_id = ?", (sid,))
            base = previous[sid]
            compared[sid] = [] if base is None else _compare(store, base, sid)
        if wanted != (row["status"], row["superseded_by"], row["previous_id"]):
            store.db.execute(
                "UPDATE submissions SET status = ?, superseded_by = ?, previous_id = ?"
                " WHERE id = ?",
                (*wanted, sid),
            )
    return statuses, compared


def _compare(store: Store, base: int, sid: int) -> list[dict[str, object]]:
    """Store and return the changes of a submission against the one it replaced, both as
    the ledger holds them."""
    changes = diff(store.projects(base), store.projects(sid))
    store.db.executemany(
        "INSERT INTO changes (submission_id, previous_id, change, project_key, project_name,"
        " fields) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                sid,
                base,
                c["change"],
                c["project"],
                c["name"],
                json.dumps(c["fields"], ensure_ascii=False),
            )
            for c in changes
        ],
    )
    return changes
