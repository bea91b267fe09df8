"""The xlsx package, a zip of XML parts, read once: each text part is inflated one time,
for perfxl and for calamine alike.

perfxl reads two things calamine does not show: the custom document properties (the
template's identity) and the sheet protection. Both sit in parts that calamine inflates
too, with a slower inflater than zlib or ISA-L. So a workbook's text parts are inflated
here, once, and calamine is handed a copy of the package with those parts stored
uncompressed: it reads the same bytes, values and errors, without inflating them again
(measured on a 40-project template: calamine 0.33 ms faster, the parts inflated with ISA-L
in 0.19 ms against zlib's 0.49 ms).

Anything that is not a plain package (not a zip, zip64, a part's header out of place)
gives no copy: calamine then reads the original and says what is wrong with it. A part
that cannot be inflated (damaged, encrypted, another method) is copied as it came, so
calamine finds the same fault in it, and perfxl learns nothing from it.
"""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

_inflater: Callable[[int], Any]  # a raw-deflate inflater, for window bits -15
try:  # ISA-L inflates about 2.6 times as fast as zlib; same bytes out, same faults found
    from isal import isal_zlib

    _inflater = isal_zlib.decompressobj
    # (isal's stubs call its error class an instance)
    _INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, cast(Any, isal_zlib.error))
except ImportError:  # pragma: no cover - where no wheel of isal exists
    _inflater = zlib.decompressobj
    _INFLATE_ERRORS = (zlib.error,)

_TEXT_PARTS = (".xml", ".rels")
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_DOS_DATE = 0x21  # 1980-01-01: a part's time means nothing to a reader
_KEPT_FLAGS = 0x801  # encrypted, UTF-8 name; sizes are in the header, never after the data
_LIMIT = 0xFFFFFFFF  # beyond it a package is zip64: left to calamine as it came
_LARGEST = 256 << 20  # a larger part is left to calamine, which reads it as a stream


class Package:
    """A workbook package in memory: its text parts inflated (by part name), and the same
    package with those parts stored, for calamine."""

    def __init__(self, parts: dict[str, bytes], stored: bytes) -> None:
        self.parts = parts
        self.stored = stored


def open_package(data: bytes) -> Package | None:
    """The package in `data`, each text part inflated once; None when it is not a package
    to read this way (calamine then reads the original and names the fault)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if len(infos) >= 0xFFFF:
        return None
    parts: dict[str, bytes] = {}
    chunks: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for info in infos:
        start = info.header_offset
        if (
            data[start : start + 4] != b"PK\x03\x04"
            or info.compress_size >= _LIMIT
            or info.file_size >= _LIMIT
        ):
            return None
        begin = start + 30 + int.from_bytes(data[start + 26 : start + 28], "little")
        begin += int.from_bytes(data[start + 28 : start + 30], "little")
        body = data[begin : begin + info.compress_size]
        method, flags = info.compress_type, info.flag_bits & _KEPT_FLAGS
        name = info.filename
        if not flags & 0x1 and name.endswith(_TEXT_PARTS):
            if method == zipfile.ZIP_DEFLATED:
                inflated = _inflate(body, info.file_size)
                if inflated is not None:
                    body, method = inflated, zipfile.ZIP_STORED
            if method == zipfile.ZIP_STORED:
                parts[name] = body
        raw_name = info.orig_filename.encode("utf-8" if flags & 0x800 else "cp437")
        size = len(body) if method == zipfile.ZIP_STORED else info.file_size
        # What the entry's local header and its directory record both say (the time and
        # date, then the CRC and the sizes, then the name's length).
        common = (flags, method, 0, _DOS_DATE, info.CRC, len(body), size, len(raw_name))
        chunks += (_LOCAL.pack(b"PK\x03\x04", 20, *common, 0), raw_name, body)
        directory += (
            _CENTRAL.pack(b"PK\x01\x02", 20, 20, *common, 0, 0, 0, 0, 0, offset),
            raw_name,
        )
        offset += 30 + len(raw_name) + len(body)
        if offset >= _LIMIT:
            return None
    listing = b"".join(directory)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(infos), len(infos), len(listing), offset, 0)
    return Package(parts, b"".join((*chunks, listing, end)))


def _inflate(raw: bytes, size: int) -> bytes | None:
    """A deflated part, or None (then it is copied as it came, for calamine to find the
    fault) when it is damaged, or larger than a worksheet ever is, or not the size the
    package says it is: a part made to inflate without end stops there."""
    if size > _LARGEST:
        return None
    inflater = _inflater(-15)
    try:
        body = inflater.decompress(raw, size + 1)
    except _INFLATE_ERRORS:
        return None
    return body if len(body) == size and inflater.eof else None


# --- what calamine does not show: document properties and sheet protection ---------------

_PROTECTED = re.compile(rb"<(?:\w+:)?sheetProtection\b[^>]*\bsheet=\"(?:1|true)\"")
# The three small parts are read with patterns, not an XML parser: only a few attributes
# and texts are wanted, and a pattern expands no entity (the files are untrusted). They
# work on the undecoded bytes (UTF-8), which is several times faster than on text.
_ELEMENT = rb"<(?:\w+:)?%b\b([^>]*?)(/?)>"
_PROPERTY = re.compile(rb"<(?:\w+:)?property\b([^>]*)>(.*?)</(?:\w+:)?property>", re.DOTALL)
_SHEET = re.compile(_ELEMENT % b"sheet")
_RELATIONSHIP = re.compile(_ELEMENT % b"Relationship")
_ATTRIBUTE = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_TEXT = re.compile(rb">([^<]*)<")


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _attributes(raw: bytes) -> dict[str, str]:
    """An element's attributes, by name with its namespace prefix dropped."""
    return {
        name.rpartition(b":")[2].decode("ascii", "replace"): _text(double or single)
        for name, double, single in _ATTRIBUTE.findall(raw)
    }


def _is_protected(xml: bytes) -> bool:
    """Does a worksheet part carry an active sheetProtection element? It stands after the
    sheet data, so look from the end, and let the regex see only that element."""
    at = xml.rfind(b"sheetProtection")
    if at < 0:
        return False
    start = xml.rfind(b"<", 0, at)
    end = xml.find(b">", at)
    return bool(_PROTECTED.match(xml, start, end + 1))


@dataclass
class Guards:
    """What a package says beside its values: its custom document properties, and which
    of the sheets asked about are protected (a sheet whose part cannot be read is left
    out)."""

    properties: dict[str, str]
    protected: dict[str, bool]


def read_guards(source: Package | Path | bytes | None, sheet_names: list[str]) -> Guards:
    """Custom document properties and sheet protection, from a package already open, or
    from a file's path or bytes."""
    properties: dict[str, str] = {}
    protected: dict[str, bool] = {}
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError:
            source = None
    package = open_package(source) if isinstance(source, bytes) else source
    if package is None:  # not an xlsx package (xls, ods), or not one to read
        return Guards(properties, protected)
    parts = package.parts
    try:
        custom = parts.get("docProps/custom.xml")
        for attributes, body in _PROPERTY.findall(custom or b""):
            text = _TEXT.search(body)
            name = _attributes(attributes).get("name", "")
            properties[name] = _text(text.group(1)) if text else ""
        workbook = parts.get("xl/workbook.xml")
        rels = parts.get("xl/_rels/workbook.xml.rels")
        if workbook is None or rels is None:
            return Guards(properties, protected)
        targets = {
            a.get("Id"): a.get("Target", "")
            for a in (_attributes(m.group(1)) for m in _RELATIONSHIP.finditer(rels))
        }
        for match in _SHEET.finditer(workbook):
            sheet = _attributes(match.group(1))
            name = sheet.get("name", "")
            if name not in sheet_names:
                continue
            target = targets.get(sheet.get("id"), "")
            part = parts.get(target.lstrip("/") if target.startswith("/") else f"xl/{target}")
            if part is not None:
                protected[name] = _is_protected(part)
    except UnicodeDecodeError:
        pass  # a name or text that is not UTF-8: nothing more to learn here
    return Guards(properties, protected)
