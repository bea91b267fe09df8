"""The processes of a collect: one collect at a time on a ledger (a lock the system lets go
of however the process ends), and the settings of a worker process (its address space
capped, killed with the collecting process, its freed memory kept for the next file).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from perfxl.errors import PerfxlError
from perfxl.ledger.database import Location, fault_reason, is_postgres, shown


class CollectError(PerfxlError):
    """A run stopped by a fault that is not in a file (the ledger's disk, a worker that was
    killed). What was recorded stays whole; running collect again goes on from there."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"收集中断：{reason}。已记录的文件完整保存在台账中，再次运行 collect 即可接着完成"
        )


class LedgerBusy(PerfxlError):
    """Another collect is writing to the ledger."""


@contextmanager
def exclusive(ledger: Location) -> Iterator[None]:
    """Hold the ledger for one collect: a second collect on it, meanwhile, is refused at
    once, naming the process that holds it. The lock (`<ledger>.lock`, the system's file
    lock; on PostgreSQL an advisory lock of the session) goes with the process, however it
    ends. Where the system has no such locks, SQLite's own keep the ledger whole."""
    if is_postgres(ledger):
        yield from _exclusive_postgres(str(ledger))
        return
    ledger = Path(ledger)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    lock = ledger.with_name(ledger.name + ".lock")
    try:
        handle = lock.open("a+", encoding="utf-8")
    except OSError as exc:
        raise CollectError(fault_reason(exc)) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise LedgerBusy(
                f"台账 {ledger} 正由另一个收集进程（进程号 {holder}）写入："
                "请等它完成后再运行 collect"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def cap_memory(megabytes: int) -> None:
    """Cap this worker's address space: a file that slips past every limit and asks for
    more ends this worker's read, not the run (the file is recorded as unreadable)."""
    with contextlib.suppress(ValueError, OSError, AttributeError):  # no such limit here
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = megabytes << 20
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, a worker is killed with the collecting process, not left behind."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # a libc without prctl
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Is the process still there? (Signal 0 checks without sending anything.)"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # there, but not ours to signal
        return True
    return True


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters


def keep_freed_memory() -> None:
    """Let this process's C heap keep what it frees, up to 32 MiB, for the next file.

    By default glibc hands freed memory at the top of its heap back to the system at once,
    and maps and unmaps blocks of more than 128 KiB (a workbook's parts) each time: every
    file read then faults its pages in anew. Measured over 300 templates in one process:
    124-218 page faults and 0.2-0.6 ms of system time per file, against 1 fault and
    0.01-0.08 ms with these settings. Memory still does not grow with the number of files:
    what is kept is reused. Only glibc has these settings; anywhere else nothing changes."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - a libc without mallopt
        return
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)
    mallopt(_M_TRIM_THRESHOLD, 32 << 20)


COLLECT_KEY = 0x636F6C6C  # "coll": the advisory lock of a collect on a PostgreSQL ledger


def _exclusive_postgres(url: str) -> Iterator[None]:
    import psycopg

    try:
        db = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise CollectError(f"无法连接台账数据库：{exc}") from None
    with db:
        held = db.execute("SELECT pg_try_advisory_lock(%s)", (COLLECT_KEY,)).fetchone()
        if not (held and held[0]):
            raise LedgerBusy(
                f"台账 {shown(url)} 正由另一个收集进程写入：请等它完成后再运行 collect"
            )
        yield
