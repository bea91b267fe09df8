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
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from perfxl.checks.config import Config
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Issue
from perfxl.errors import PerfxlError
from perfxl.formats.mapping import Layout
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_frame import Expected
from perfxl.ledger.database import fault_reason
from perfxl.ledger.inbox import inbox_files, received_time
from perfxl.ledger.processes import (
    CollectError,
)
from perfxl.ledger.recording import (
    FAULT,
    Event,
    Settings,
    collect_batch,
    killed_during,
    record_unreadable,
    start_worker,
)
from perfxl.ledger.store import Store

T = TypeVar("T")
CHECKPOINT_EVERY = 200  # files recorded between two checkpoints of the write-ahead log


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
                killed_during(store.checkpoint)
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
        futures = [pool.submit(collect_batch, b) for b in work]
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
