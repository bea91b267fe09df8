"""What an xlsx package says beside its values: the custom document properties (the
template's identity) and which sheets are protected. calamine shows neither, so the few
parts that hold them are read here with the standard library's zipfile, each only up to
the size its directory entry declares and never beyond a bound; a part that cannot be read
(damaged, encrypted, another method, too large) tells nothing and raises nothing."""

from __future__ import annotations

import html
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

PART_LIMIT = 256 << 20  # a larger part is not read here: no real template comes near it

_PROTECTED = re.compile(rb"<(?:\w+:)?sheetProtection\b[^>]*\bsheet=\"(?:1|true)\"")
# The parts are read with patterns, not an XML parser: only a few attributes and texts are
# wanted, and a pattern expands no entity (the files are untrusted). They work on the
# undecoded bytes (UTF-8), which is several times faster than on text.
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


def _part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """A part's bytes, or None when it is missing or cannot be read within its bound."""
    try:
        info = archive.getinfo(name)
        if info.file_size > PART_LIMIT or info.flag_bits & 0x1:  # too large, or encrypted
            return None
        with archive.open(info) as part:
            body = part.read(info.file_size + 1)
    except (KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError):
        return None
    return body if len(body) == info.file_size else None


@dataclass
class Guards:
    """What a package says beside its values: its custom document properties, and which
    of the sheets asked about are protected (a sheet whose part cannot be read is left
    out)."""

    properties: dict[str, str]
    protected: dict[str, bool]


def read_guards(
    source: Path | bytes | None, sheet_names: list[str], parts: dict[str, bytes] | None = None
) -> Guards:
    """Custom document properties and sheet protection, from a file's path or bytes
    (`parts`: sheets' XML already inflated, by sheet name)."""
    properties: dict[str, str] = {}
    protected: dict[str, bool] = {}
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError:
            source = None
    if not source:
        return Guards(properties, protected)
    try:
        archive = zipfile.ZipFile(io.BytesIO(source))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return Guards(properties, protected)  # not an xlsx package (xls, ods, damaged)
    try:
        custom = _part(archive, "docProps/custom.xml")
        for attributes, body in _PROPERTY.findall(custom or b""):
            text = _TEXT.search(body)
            name = _attributes(attributes).get("name", "")
            properties[name] = _text(text.group(1)) if text else ""
        workbook = _part(archive, "xl/workbook.xml")
        rels = _part(archive, "xl/_rels/workbook.xml.rels")
        if workbook is None or rels is None:
            return Guards(properties, protected)
        wanted: dict[str, str] = {}  # relationship id → sheet name, of the sheets asked about
        for match in _SHEET.finditer(workbook):
            sheet = _attributes(match.group(1))
            if sheet.get("name") in sheet_names:
                wanted[sheet.get("id", "")] = sheet["name"]
        for match in _RELATIONSHIP.finditer(rels):
            relationship = _attributes(match.group(1))
            found = wanted.get(relationship.get("Id", ""))
            if found is None:
                continue
            name = found
            target = relationship.get("Target", "")
            part = (parts or {}).get(name) or _part(
                archive, target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            )
            if part is not None:
                protected[name] = _is_protected(part)
    except UnicodeDecodeError:
        pass  # a name or text that is not UTF-8: nothing more to learn here
    finally:
        archive.close()
    return Guards(properties, protected)
