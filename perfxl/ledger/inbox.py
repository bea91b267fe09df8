"""The inbox: the files to collect (folders, files, patterns, each file once), when each
arrived, and which roster department a file comes from."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from perfxl.checks import catalogue as cat
from perfxl.checks.validate import READABLE_SUFFIXES, FileReport
from perfxl.domain.model import Department, Issue
from perfxl.errors import InputError
from perfxl.formats.roster import RosterEntry


@dataclass
class Inbox:
    """The files to collect, and the links that were not followed, each with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Issue] = field(default_factory=list)


def inbox_files(inputs: Iterable[Path], follow_links: bool = False) -> Inbox:
    """Folders, files and glob patterns (`inbox/*.xlsx`, also when the shell did not expand
    them), each file once. Only files inside the folders given are read: a symbolic link
    that leads out of its folder (or nowhere, or round in a loop) is skipped, with why,
    unless `follow_links`. A path that does not exist is an argument error."""
    inbox = Inbox()
    paths: list[Path] = []
    for item in inputs:
        if glob.has_magic(str(item)) and not item.exists():
            found = [Path(p) for p in sorted(glob.glob(str(item), recursive=True))]
            if not found:
                raise InputError(f"没有与“{item}”相符的文件")
            root = _fixed_part(item)  # the folder the pattern reads in: links stay inside it
            for path in found:
                if path.is_dir():
                    paths += _walk(path, follow_links, inbox)
                else:  # a pattern may pass through a linked folder: every file resolved
                    paths += _walk_one(path, root, follow_links, inbox, through_links=True)
        elif item.is_dir():
            paths += _walk(item, follow_links, inbox)
        elif item.exists() or item.is_symlink():
            paths += _walk_one(item, item.absolute().parent, follow_links, inbox)
        else:
            raise InputError(f"找不到“{item}”：请检查路径")
    seen: set[object] = set()
    out = inbox.files
    for path in paths:
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
    return inbox


def _fixed_part(pattern: Path) -> Path:
    """The folder of a pattern before its first wildcard: `inbox` of `inbox/**/*.xlsx`."""
    parts = pattern.parts
    fixed = next((n for n, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return Path(*parts[:fixed]) if fixed else Path(".")


def _walk(root: Path, follow_links: bool, inbox: Inbox) -> list[Path]:
    """The workbooks and tables inside a folder, sorted; linked folders are not entered."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in dirs:
            link = Path(folder) / name
            if link.is_symlink():
                inbox.skipped.append(_link(link, "是指向其他文件夹的链接，未进入"))
        for name in sorted(files):
            found += _walk_one(Path(folder) / name, root, follow_links, inbox)
    # Regular files before links: a file found by both names is known by its own.
    return sorted((p for p in found if p.suffix.lower() in READABLE_SUFFIXES
                   and not p.name.startswith(("~$", "."))),
                  key=lambda p: (p.is_symlink(), p))  # fmt: skip


def _walk_one(
    path: Path, root: Path, follow_links: bool, inbox: Inbox, through_links: bool = False
) -> list[Path]:
    """A file, if it may be read: a regular file, or a link that stays inside `root`
    (`through_links`: the path itself may pass through a linked folder)."""
    if not path.is_symlink() and not (through_links and not follow_links):
        if path.is_file():
            return [path]
        inbox.skipped.append(cat.NOT_A_FILE.issue(file=str(path)))
        return []
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a link to nothing, or round in a loop
        inbox.skipped.append(_link(path, "是无法解析的链接（目标不存在或循环链接）"))
        return []
    if not follow_links and not target.is_relative_to(root.resolve()):
        inbox.skipped.append(_link(path, f"是指向收件箱之外（{target}）的链接"))
        return []
    if target.is_file():
        return [path]
    inbox.skipped.append(
        _link(path, f"是指向非普通文件（{target}）的链接")
        if path.is_symlink()
        else cat.NOT_A_FILE.issue(file=str(path))
    )
    return []


def _link(path: Path, reason: str) -> Issue:
    return cat.LINK_OUTSIDE_INBOX.issue(file=str(path), reason=reason)


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
