"""Before a workbook is handed to calamine: what kind of file it is by its bytes, and whether
what its package declares stays within bounds; and, for an xlsx, the cells whose values
cannot be trusted (error values, formulas saved without a result, references to other
workbooks).

A workbook is a zip of XML parts that strangers make. A 1 MB file can inflate to gigabytes,
and one stray cell at XFD1048576 makes a dense reader allocate the whole sheet: 17 billion
cells. So the directory's declared sizes and compression ratios are checked, each part's
real size is checked while it inflates (a directory may lie), and each sheet's extent is
found from its cell references; beyond a limit the file is refused with one reason. The
limits (`[limits]` in perfxl.toml) fit any real return with room to spare.

Parts are scanned with byte patterns, not an XML parser: nothing is expanded, and the
common case (no flagged cell, a sheet of a few thousand cells) costs a C-speed search.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from perfxl.errors import FileError
from perfxl.formats.flagged import REF, Flagged, flag

ZIP, CFB = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MiB = 1 << 20


class Limits(BaseModel):
    """How much of a file perfxl reads at most. A real return (a few hundred projects, a few
    thousand indicators) uses under a hundredth of each."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_mb: int = Field(default=100, gt=0)  # the file itself
    part_mb: int = Field(default=64, gt=0)  # one part inflated (a sheet, the shared strings)
    total_mb: int = Field(default=256, gt=0)  # every part inflated
    ratio: int = Field(default=200, gt=0)  # inflated size / compressed size of one part
    parts: int = Field(default=10_000, gt=0)  # entries in the package
    # A sheet's extent, rows × columns: 100,000 rows of 20 columns. A reader holds each cell
    # (about 400 bytes a cell, read into projects): the most a worker's memory carries.
    cells: int = Field(default=2_000_000, gt=0)
    worker_mb: int = Field(default=1536, ge=256)  # the address space of a collect worker
    issues_per_rule: int = Field(default=1000, ge=1)  # issues of one kind listed for a file
    # Rows of a sheet perfxl writes (Excel's own limit); a longer table goes on to the next.
    sheet_rows: int = Field(default=1_048_576, ge=10, le=1_048_576)


DEFAULT_LIMITS = Limits()


class FileRefused(FileError):
    """A file beyond a limit: refused before it is read."""


class FileEncrypted(FileError):
    """A workbook saved with an open password."""


ENCRYPTED = "文件已加密（设置了打开密码），请去掉密码后再提交"
# A legacy workbook stream starts with a BOF record (BIFF5 or BIFF8, workbook globals).
_BOF = re.compile(rb"\x09\x08[\x08\x10]\x00\x00[\x05\x06]\x05\x00")


def _xls_encrypted(data: bytes) -> bool:
    """Is a legacy .xls saved with an open password? Its workbook stream, which starts on a
    sector of the compound file, has a FILEPASS record (0x002F) right after its BOF."""
    for match in _BOF.finditer(data):
        at = match.start()
        if at % 512 == 0:
            record = at + 4 + data[at + 2]  # past the BOF's header and its body
            return data[record : record + 2] == b"\x2f\x00"
    return False


def read_limited(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A file's bytes, if it is a regular file within the size limit: a named pipe or a
    device is never opened for reading (it could block, or never end)."""
    limit = limits.file_mb * _MiB
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise FileError(path, f"无法打开：{exc.strerror}") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileError(path, "不是普通文件（可能是管道、设备或文件夹），未读取")
        data = fh.read(info.st_size + 1) if info.st_size <= limit else b""
    if info.st_size > limit or len(data) > limit:
        size = max(info.st_size, len(data)) / _MiB
        raise FileRefused(path, f"文件大小 {size:,.1f} MiB，超过 {limits.file_mb} MiB 的上限")
    return data


def digest_of(path: Path) -> str | None:
    """The sha256 of a file read in pieces (one too large to hold), or None."""
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def sniff(data: bytes) -> str:
    """What a file is by its first bytes: `zip` (xlsx, ods), `cfb` (a legacy .xls, or an
    encrypted xlsx), or `text`."""
    if data.startswith(ZIP) or data.startswith(b"PK\x05\x06"):  # the latter: an empty zip
        return "zip"
    if data.startswith(CFB):
        return "cfb"
    return "text"


def is_encrypted(data: bytes) -> bool:
    """Is a compound file an encrypted OOXML package (an xlsx with an open password)? Its
    directory names the streams EncryptedPackage and EncryptionInfo, in UTF-16."""
    return "EncryptedPackage".encode("utf-16-le") in data[: 1 << 20] or (
        "EncryptionInfo".encode("utf-16-le") in data[: 1 << 20]
    )


@dataclass
class Inspection:
    """What the package says beyond the values: each sheet's part, whose flagged cells are
    looked for when a reader asks (most sheets of a workbook are never asked about)."""

    parts: dict[str, bytes] = field(default_factory=dict)  # sheet name → its inflated XML
    controls: bool = True  # may a text hold a control character (False: none in any part)
    _flagged: dict[str, Flagged | None] = field(default_factory=dict)

    def flagged(self, sheet: str) -> Flagged | None:
        if sheet not in self._flagged:
            body = self.parts.get(sheet)
            self._flagged[sheet] = flag(body) if body is not None else None
        return self._flagged[sheet]


# The parts looked through (each inflated within the bounds): the workbook and its
# relationships (which part is which sheet), the shared strings (control characters), the
# sheets (extent, flagged cells) and the template's identity (a DTD). calamine inflates
# the others no further than their declared sizes, which were bounded above.
_READ = re.compile(
    r"^(?:xl/(?:workbook\.xml|sharedStrings\.xml|worksheets/[^/]+\.xml|_rels/.*)"
    r"|docProps/custom\.xml)$"
)
_SHEET_ENTRY = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REL = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
# A cell reference in a row of many columns or far down: worth measuring the sheet's extent.
# Attributes come in either quotes, with spaces around `=`: calamine reads them all.
_FAR = re.compile(rb"""r=["'](?:[A-Z]{2,}\d|[A-Z]\d{5,})""")
_UNNAMED = re.compile(rb'<c(?! r=")[ >/]')  # a cell not named by `r="` first
_ELEMENT = re.compile(rb"<(?:\w+:)?(row|c)(?=[\s/>])([^>]*)>")  # a row or a cell, its attributes
_SHEET_ROWS, _SHEET_COLUMNS = 1_048_576, 16_384
_ODS_ELEMENT = re.compile(
    rb"<table:(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>"
)
_ODS_NAME = re.compile(rb"""table:name\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ODS_ROWS = re.compile(rb"""number-rows-repeated\s*=\s*["'](\d{1,12})["']""")
_ODS_COLUMNS = re.compile(rb"""number-columns-repeated\s*=\s*["'](\d{1,12})["']""")
# A control character as a part may hold one: raw, or in UTF-8 (C1), or as Excel escapes
# it (`_x001B_`), or as a character reference (any: a false alarm costs one pass over the
# values read). Searched for by the cheapest means first.
_C1 = re.compile(rb"\xc2[\x80-\x9f]")
_CONTROL_MARKS = (b"_x00", b"_x007", b"&#")
_NOT_CONTROL = bytes(range(0x20, 0x7F)) + b"\t\n\r" + bytes(range(0x80, 0x100))


def _attributes(raw: bytes) -> dict[bytes, bytes]:
    return {name.rpartition(b":")[2]: a or b for name, a, b in _ATTR.findall(raw)}


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, bound: int, path: Path) -> bytes:
    """A part's bytes, inflated no further than `bound` whatever its entry declares."""
    try:
        with archive.open(info) as part:
            body = part.read(bound + 1)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError) as exc:
        why = "内容与其校验值或声明的大小不符" if "CRC" in str(exc) else f"无法解压（{exc}）"
        raise FileError(path, f"工作簿已损坏，部件“{info.filename}”{why}") from exc
    if len(body) > bound:
        raise FileRefused(path, f"部件“{info.filename}”解压后超过 {bound // _MiB} MiB 的上限")
    return body


def inspect_workbook(path: Path, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Inspection:
    """Check a workbook's bytes against the limits before it is read: raises FileRefused
    beyond a limit, FileEncrypted for an encrypted package, FileError for a damaged one.
    For an xlsx, returns the cells whose values cannot be trusted."""
    if len(data) > limits.file_mb * _MiB:
        raise FileRefused(
            path, f"文件大小 {len(data) / _MiB:,.1f} MiB，超过 {limits.file_mb} MiB 的上限"
        )
    kind = sniff(data)
    if kind == "cfb":
        if is_encrypted(data) or _xls_encrypted(data):
            raise FileEncrypted(path, ENCRYPTED)
        return Inspection()  # a legacy .xls: calamine reads its records as they come
    if kind != "zip":
        return Inspection()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        reason = "文件不是有效的 Excel 工作簿（压缩包已损坏，或只是改了扩展名）"
        raise FileError(path, reason) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.parts:
            raise FileRefused(
                path, f"压缩包内有 {len(infos):,} 个部件，超过 {limits.parts:,} 的上限"
            )
        if any(info.flag_bits & 0x1 for info in infos):  # a zip tool's password
            raise FileEncrypted(path, ENCRYPTED)
        names = [info.filename for info in infos]
        if len(names) != len(set(names)):
            twice = sorted({n for n in names if names.count(n) > 1})[0]
            raise FileError(path, f"工作簿已损坏：压缩包中有两个同名的部件“{twice}”")
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.part_mb * _MiB or (
                ratio > limits.ratio and info.file_size > _MiB
            ):
                raise FileRefused(
                    path,
                    f"部件“{info.filename}”声明解压后 {info.file_size / _MiB:,.1f} MiB"
                    f"（压缩比 {ratio:,.0f}），超过上限",
                )
        if total > limits.total_mb * _MiB:
            raise FileRefused(
                path, f"压缩包解压后共 {total / _MiB:,.1f} MiB，超过 {limits.total_mb} MiB 的上限"
            )
        if "xl/workbook.xml" in names:
            return _xlsx(archive, path, limits)
        if "content.xml" in names:
            _ods(archive, path, limits)
        return Inspection()


def _xlsx(archive: zipfile.ZipFile, path: Path, limits: Limits) -> Inspection:
    """Every part calamine will inflate, inflated here within the bounds; each sheet's
    extent measured where it may be large; the cells that cannot be trusted, flagged."""
    bound = limits.part_mb * _MiB
    budget = limits.total_mb * _MiB
    sheets = _sheet_parts(archive, path, bound)
    found = Inspection(controls=False)
    for info in archive.infolist():
        if info.is_dir() or not (_READ.match(info.filename) or info.filename in sheets):
            continue  # a part no reader opens (bounded by its declared size above)
        body = _inflate(archive, info, min(bound, budget), path)
        budget -= len(body)
        _no_dtd(body, info.filename, path)
        if not found.controls and _may_hold_text(info.filename, body, info.filename in sheets):
            found.controls = (
                any(mark in body for mark in _CONTROL_MARKS)
                or bool(body.translate(None, _NOT_CONTROL))  # what is left: C0 and DEL
                or _C1.search(body) is not None
            )
        name = sheets.get(info.filename)
        if name is None:
            continue
        _extent(body, name, limits, path)
        found.parts[name] = body
    return found


def _sheet_parts(archive: zipfile.ZipFile, path: Path, bound: int) -> dict[str, str]:
    """Each worksheet part's path in the package → the sheet's name."""
    try:
        workbook = _inflate(archive, archive.getinfo("xl/workbook.xml"), bound, path)
        rels = _inflate(archive, archive.getinfo("xl/_rels/workbook.xml.rels"), bound, path)
    except KeyError:
        return {}
    ids = {}
    for element in _SHEET_ENTRY.findall(workbook):
        attributes = _attributes(element)
        ids[attributes.get(b"id", b"")] = attributes.get(b"name", b"").decode("utf-8", "replace")
    out = {}
    for element in _REL.findall(rels):
        attributes = _attributes(element)
        name = ids.get(attributes.get(b"Id", b""))
        if name is None:
            continue
        target = attributes.get(b"Target", b"").decode("utf-8", "replace")
        out[target.lstrip("/") if target.startswith("/") else f"xl/{target}"] = name
    return out


def _extent(body: bytes, name: str, limits: Limits, path: Path) -> None:
    """Refuse a sheet whose cells span more than the limit (a reader allocates them all).
    Measured only where a reference is in a wide or long sheet, or where a cell has no
    reference (its place is then counted), which real returns rarely are."""
    # The common case in three C-speed searches (each costs about 0.1 ms for a template):
    # no prefixed cell, every cell named by `r="` first (as every application writes it),
    # and no name beyond Z or row 99,999. Anything else is measured cell by cell below.
    if b":c" not in body and _UNNAMED.search(body) is None and _FAR.search(body) is None:
        return  # within Z and row 99,999: 2.6 million cells at most
    row = col = rows = cols = 0
    for match in _ELEMENT.finditer(body):
        tag, attributes = match.groups()
        ref = REF.search(attributes)
        letters, digits = (ref.group(1), ref.group(2)) if ref else (b"", b"")
        if len(digits) > 7 or len(letters) > 3:
            where = (letters + digits).decode("ascii")
            _beyond(path, name, f"第 {where} 行" if tag == b"row" else where)
        if tag == b"row":
            row, col = (int(digits) if digits else row + 1), 0
        else:
            row = int(digits) if digits else row
            col = _column_number(letters) if letters else col + 1
            cols = max(cols, col)
        rows = max(rows, row)
    if rows > _SHEET_ROWS or cols > _SHEET_COLUMNS:
        _beyond(path, name, f"第 {rows:,} 行、第 {cols:,} 列")
    if rows * max(cols, 1) > limits.cells:
        raise FileRefused(
            path,
            f"工作表“{name}”的单元格范围达 {rows:,} 行 × {cols:,} 列，"
            f"超过 {limits.cells:,} 个单元格的上限",
        )


def _may_hold_text(part: str, body: bytes, sheet: bool) -> bool:
    """Does a part hold the texts of cells: the shared strings, or a sheet with strings of
    its own (inline, or a text formula's result)?"""
    if part.endswith("sharedStrings.xml"):
        return True
    # t="inlineStr", t="str", in either quotes
    return sheet and (b'tr"' in body or b"tr'" in body)


def _beyond(path: Path, name: str, where: str) -> None:
    raise FileRefused(path, f"工作表“{name}”有单元格位于 {where}，超出工作表的最大范围")


def _no_dtd(body: bytes, part: str, path: Path) -> None:
    """A part that declares a DTD (entities that may expand a billion times, or read local
    files) is refused: no spreadsheet application writes one. A DTD can only stand before
    the root element, after the declaration, comments and processing instructions."""
    at = 0
    while (at := body.find(b"<", at)) >= 0:
        if body.startswith(b"<?", at):
            at = body.find(b"?>", at)
        elif body.startswith(b"<!--", at):
            at = body.find(b"-->", at)
        elif body.startswith(b"<!", at):
            raise FileError(path, f"工作簿的部件“{part}”含有文档类型定义（DTD），不予读取")
        else:
            return  # the root element
        if at < 0:
            return


def _ods(archive: zipfile.ZipFile, path: Path, limits: Limits) -> None:
    """An OpenDocument spreadsheet: refused if encrypted; its content inflated within the
    bounds and each table's extent measured, its repeated rows and cells counted."""
    try:
        manifest = archive.read("META-INF/manifest.xml")[: 1 << 20]
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError):
        manifest = b""
    if b"encryption-data" in manifest:
        raise FileEncrypted(path, ENCRYPTED)
    body = _inflate(archive, archive.getinfo("content.xml"), limits.part_mb * _MiB, path)
    _no_dtd(body, "content.xml", path)
    if b"-repeated" not in body and len(body) < limits.cells:
        return  # every cell written out: no more cells than bytes
    name, row, rows, cols, valued, repeat = "", 0, 0, 0, False, 1
    for match in _ODS_ELEMENT.finditer(body):
        tag, attributes, closed = match.groups()
        if tag in (b"table", b"table-row"):  # the row before ends here
            if valued:
                rows = max(rows, row + repeat)
            row += repeat
            valued, repeat, col = False, 1, 0
            if tag == b"table":
                if rows * max(cols, 1) > limits.cells:
                    break
                found = _ODS_NAME.search(attributes)
                name = (
                    (found.group(1) or found.group(2)).decode("utf-8", "replace") if found else ""
                )
                row = rows = cols = 0
                repeat = 0
            else:
                repeat = _repeats(_ODS_ROWS, attributes)
            continue
        times = _repeats(_ODS_COLUMNS, attributes)
        col += times
        if b"value-type=" in attributes or not closed:
            valued = True
            cols = max(cols, col)
    if valued:
        rows = max(rows, row + repeat)
    if rows * max(cols, 1) > limits.cells:
        raise FileRefused(
            path,
            f"工作表“{name}”的单元格范围达 {rows:,} 行 × {cols:,} 列，"
            f"超过 {limits.cells:,} 个单元格的上限",
        )


def _repeats(pattern: re.Pattern[bytes], attributes: bytes) -> int:
    found = pattern.search(attributes)
    return min(int(found.group(1)), 1 << 40) if found else 1
