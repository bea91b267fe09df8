"""Collect submissions into the ledger: read every workbook of an inbox, validate it, match
it to its roster department, and record it, with nothing lost and nothing twice.

- The same file twice changes nothing: files are known by their sha256, and a known file
  is not even parsed again.
- A newer accepted submission of a department and year supersedes the older ones, which
  stay in the history; the change is recorded as projects added, removed and changed.
- A file with errors is recorded as rejected, with its issues, and stays out of the
  consolidated figures unless errors are accepted.
- One bad file never stops the run; reading runs in parallel on all cores; every
  submission is written in one transaction.
"""

from __future__ import annotations

import gc
import glob
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perfxl import catalogue as cat
from perfxl.codesets import CodeSet
from perfxl.config import Config
from perfxl.model import Issue, Project
from perfxl.reader import Expected
from perfxl.roster import RosterEntry
from perfxl.spec import TemplateSpec
from perfxl.store import ContentRows, Store, content_rows
from perfxl.validate import FileReport, expand, validate_file

COMPARED = ("name", "unit", "total", "fiscal", "special", "other", "goal")


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
    seen: set[Path] = set()
    out = []
    for path in expand(paths):
        key = path.resolve()
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


# --- reading in worker processes ---------------------------------------------------------


@dataclass
class _Context:
    codeset: CodeSet
    config: Config
    spec: TemplateSpec
    expected: Expected
    known: frozenset[str]  # the sha256 of every file already in the ledger


_WORKER: list[_Context] = []  # what each worker process reads with, set once per process


def _init_worker(
    codeset: CodeSet, config: Config, spec: TemplateSpec, expected: Expected, known: frozenset[str]
) -> None:
    _WORKER[:] = [_Context(codeset, config, spec, expected, known)]


def _init_pool_worker(*init: Any) -> None:
    _init_worker(*init)
    # A worker process makes many short-lived, acyclic objects per file: keep what was
    # loaded at start out of the cycle collector's sight, and look at young objects less
    # often (measured: about 6 % of a worker's time).
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)


@dataclass
class Received:
    """One file read and checked in a worker process, as plain data for the recording."""

    file: str
    sha256: str
    known: bool  # already in the ledger: not parsed again
    kind: str | None
    readable: bool
    department_code: str | None
    department_name: str | None
    fiscal_year: int | None
    template_id: str | None
    template_version: str | None
    content: ContentRows  # the issues too, as rows: models cost more to send between processes


def received(report: FileReport, sha256: str) -> Received:
    table = report.table
    return Received(
        file=report.file,
        sha256=sha256,
        known=False,
        kind=report.kind,
        readable=report.readable,
        department_code=table.department.code if table else None,
        department_name=table.department.name if table else None,
        fiscal_year=table.fiscal_year if table else None,
        template_id=table.template_id if table else None,
        template_version=table.template_version if table else None,
        content=content_rows(table.projects if table else [], report.issues),
    )


def _read(path: Path) -> Received:
    """Read, hash and check one file, reading its bytes once."""
    c = _WORKER[0]
    try:
        data: bytes | None = path.read_bytes()
    except OSError:
        data = None  # validate_file reports why; the file is known by its path and time
    digest = hashlib.sha256(
        data if data is not None else f"unreadable:{path}:{received_time(path)}".encode()
    ).hexdigest()
    if digest in c.known:
        return Received(
            file=str(path),
            sha256=digest,
            known=True,
            kind=None,
            readable=False,
            department_code=None,
            department_name=None,
            fiscal_year=None,
            template_id=None,
            template_version=None,
            content=content_rows([], []),
        )
    report = validate_file(path, c.codeset, c.config, c.spec, c.expected, data)
    return received(report, digest)


def _reports(
    paths: list[Path],
    jobs: int,
    init: tuple[CodeSet, Config, TemplateSpec, Expected, frozenset[str]],
) -> Iterator[Received]:
    if jobs <= 1 or len(paths) <= 1:
        _init_worker(*init)
        yield from (_read(p) for p in paths)
        return
    with ProcessPoolExecutor(jobs, initializer=_init_pool_worker, initargs=init) as pool:
        yield from pool.map(_read, paths, chunksize=max(1, min(16, len(paths) // (jobs * 4))))


# --- matching and recording --------------------------------------------------------------


def _key(name: str | None) -> str:
    return "".join((name or "").split())


class _Roster:
    def __init__(self, entries: list[RosterEntry] | None) -> None:
        self.entries = entries
        self.by_code = {e.code: e for e in entries or []}
        self.by_name = {_key(e.name): e for e in entries or []}

    def match(self, report: Received) -> tuple[str | None, str | None, Issue | None]:
        """(department code, name, an issue when the file matches no roster department)."""
        code, name = report.department_code, report.department_name
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
    """Read, validate and record every file of the inbox."""
    report = CollectReport()
    directory = _Roster(roster)
    files = inbox_files(inputs)
    if on_total:
        on_total(len(files))
    # In order of arrival; each worker hashes the file it reads and skips known ones.
    pending = sorted(
        ((path, received_time(path)) for path in files), key=lambda item: (item[1], item[0].name)
    )
    init = (codeset, config, spec, Expected(year=year), store.known_sha256())
    workers = jobs or os.cpu_count() or 1
    paths = [p for p, _ in pending]
    hashes: set[str] = set()
    for (path, received), file_report in zip(pending, _reports(paths, workers, init), strict=True):
        digest = file_report.sha256
        if file_report.known or digest in hashes or store.has_sha256(digest):
            event = Event(str(path), "duplicate")
        else:
            hashes.add(digest)
            event = _record(
                store, directory, file_report, path, digest, received, year, accept_with_errors
            )
        report.events.append(event)
        if progress:
            progress(event)
    return report


def _record(
    store: Store,
    directory: _Roster,
    report: Received,
    path: Path,
    digest: str,
    received_at: str,
    year: int | None,
    accept_with_errors: bool,
) -> Event:
    code, name, problem = directory.match(report)
    content = report.content
    if problem is not None:
        content.issues.insert(0, content_rows([], [problem]).issues[0])
    errors = sum(1 for row in content.issues if row[1] == "error")
    warnings = len(content.issues) - errors
    accepted = report.readable and (errors == 0 or accept_with_errors) and problem is None
    fiscal_year = report.fiscal_year or year
    changes: list[dict[str, object]] = []
    with store.transaction() as db:
        submission_id = store.insert_submission(
            db,
            {
                "department_code": code,
                "department_name": name,
                "file_department_code": report.department_code,
                "file_department_name": report.department_name,
                "fiscal_year": fiscal_year,
                "file_name": path.name,
                "file_path": str(path),
                "sha256": digest,
                "received_at": received_at,
                "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "kind": report.kind,
                "template_id": report.template_id,
                "template_version": report.template_version,
                "status": "accepted" if accepted else "rejected",
                "errors": errors,
                "warnings": warnings,
            },
        )
        store.insert_content(db, submission_id, content)
        status = "accepted" if accepted else "rejected"
        if code is not None:
            status, changes = _supersede(
                store, submission_id, code, fiscal_year, received_at, accepted
            )
    shown = name or code or report.department_name or report.department_code
    return Event(str(path), status, shown, errors, warnings, submission_id, changes)


def _supersede(
    store: Store,
    new_id: int,
    code: str,
    fiscal_year: int | None,
    received: str,
    accepted: bool,
) -> tuple[str, list[dict[str, object]]]:
    """Apply the newer-supersedes-older rule for one department and year; return the new
    submission's status and its changes against the submission it replaces."""
    others = [
        s
        for s in store.submissions(
            "department_code = ? AND fiscal_year IS ? AND status != 'superseded' AND id != ?",
            (code, fiscal_year, new_id),
        )
    ]
    status = "accepted" if accepted else "rejected"
    newer_accepted = [s for s in others if s.status == "accepted" and s.received_at > received]
    if newer_accepted:
        # An older file arriving late: the newer accepted submission stays in force.
        store.db.execute(
            "UPDATE submissions SET status = 'superseded', superseded_by = ? WHERE id = ?",
            (newer_accepted[-1].id, new_id),
        )
        return "superseded", []
    # An accepted submission replaces everything before it; a rejected one replaces only
    # earlier rejected ones, never the accepted figures in force.
    replaced = [
        s for s in others if s.received_at <= received and (accepted or s.status == "rejected")
    ]
    base = next((s for s in reversed(replaced) if s.status == "accepted"), None) or (
        replaced[-1] if replaced else None
    )
    changes: list[dict[str, object]] = []
    if base is not None:
        # Both sides as stored: the diff compares what the ledger holds.
        changes = diff(store.projects(base.id), store.projects(new_id))
        store.db.executemany(
            "INSERT INTO changes (submission_id, previous_id, change, project_key, project_name,"
            " fields) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    new_id,
                    base.id,
                    c["change"],
                    c["project"],
                    c["name"],
                    json.dumps(c["fields"], ensure_ascii=False),
                )
                for c in changes
            ],
        )
    for old in replaced:
        store.db.execute(
            "UPDATE submissions SET status = 'superseded', superseded_by = ? WHERE id = ?",
            (new_id, old.id),
        )
    return status, changes
