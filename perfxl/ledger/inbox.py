"""The inbox: the files to collect (folders, files, patterns, each file once), when each
arrived, and which roster department a file comes from."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from perfxl.checks import catalogue as cat
from perfxl.checks.validate import FileReport, expand
from perfxl.domain.model import Department, Issue
from perfxl.formats.roster import RosterEntry


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


def _key(name: str | None) -> str:
    return "".join((name or "").split())


class Directory:
    """The roster, to match a file to its department: by the code our template carries, or
    by the name a table that is not ours gives, or by the roster code its own code begins
    with (`820001-某某镇人民政府` is department 820's)."""

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
            or self.by_prefix(code)
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

    def by_prefix(self, code: str | None) -> RosterEntry | None:
        """The roster department whose code the file's code begins with (the longest)."""
        if not code:
            return None
        found = [e for e in self.entries or [] if code.startswith(e.code)]
        return max(found, key=lambda e: len(e.code), default=None)
