"""A corpus of hostile and broken input files, each with the issue codes perfxl must report for
it (issue 14). `build(folder)` writes them all into `folder` and returns what each must get.

Nothing here is committed: the bombs are generated, small on disk and huge when inflated. A
bomb's deflate stream is one compressed block repeated (each piece ends with a full flush, so
the pieces join into one valid stream without ever holding the inflated bytes), and the zip
headers around it are written by hand where they must lie. Most files are the clean project
template of the samples (440100002 广州市社会福利院: 项目 with its header on row 3 and data
from row 4, A 序号 … I 绩效目标, J the row ids; 指标 from row 4, A 所属项目 … I 计量单位)
with one part edited at the byte level, so that everything else stays as the template was.

The files made with LibreOffice (a legacy .xls, an .ods, real password-protected xlsx, xls
and ods) are left out when LibreOffice is not installed; the password-protected ones also
need LibreOffice's Python (`import uno`), usually /usr/bin/python3.
"""

from __future__ import annotations

import base64
import io
import os
import random
import re
import shlex
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from tests.uno_office import PRELUDE

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent / "samples" / "inbox" / "440100002-广州市社会福利院.xlsx"
SEED_GBK_CSV = HERE / "fixtures" / "guangzhou-minzheng-project-targets.libreoffice.gbk.csv"
SEED_TXT = HERE / "fixtures" / "guangzhou-minzheng-project-targets.txt"
# A compound file whose directory names the streams of an encrypted OOXML package (conftest).
ENCRYPTED = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    + b"\0" * 504
    + "EncryptionInfo".encode("utf-16-le")
    + b"\0" * 50
    + "EncryptedPackage".encode("utf-16-le")
)

GiB = 1 << 30
PROJECTS = "xl/worksheets/sheet2.xml"  # 项目
INDICATORS = "xl/worksheets/sheet3.xml"  # 指标
STRINGS = "xl/sharedStrings.xml"
WORKBOOK = "xl/workbook.xml"
RELS = "xl/_rels/workbook.xml.rels"
TYPES = "[Content_Types].xml"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass
class Hostile:
    name: str  # file name, with the extension the sender used
    expect: set[str]  # issue codes that must all appear in `validate --format json` for this file
    note: str  # one line: what is hostile about it
    collect_only: bool = False  # only meaningful for collect (e.g. symlinks)


# --- zip parts, written by hand where the headers must lie ------------------------------------


@dataclass
class Raw:
    """One zip entry as it goes on disk: its compressed bytes and what its headers declare."""

    name: str
    payload: bytes  # the compressed (or stored) bytes
    crc: int
    size: int  # the inflated size the headers declare (local and central)
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    external_attr: int = 0
    system: int = 0  # 3: unix (for a symbolic link entry)


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def raw(name: str, data: bytes, **kw: int) -> Raw:
    return Raw(name, deflate(data), zlib.crc32(data), len(data), **kw)


def write_zip(path: Path, entries: list[Raw]) -> None:
    """A zip written entry by entry, the headers saying exactly what each Raw says."""
    out = io.BytesIO()
    central = []
    for e in entries:
        name = e.name.encode("utf-8")
        flags = e.flags | (0x800 if not name.isascii() else 0)
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H",
                b"PK\x03\x04",
                20,
                flags,
                e.method,
                0,
                0x21,
                e.crc,
                len(e.payload),
                e.size,
                len(name),
                0,
            )
        )
        out.write(name)
        out.write(e.payload)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                (e.system << 8) | 20,
                20,
                flags,
                e.method,
                0,
                0x21,
                e.crc,
                len(e.payload),
                e.size,
                len(name),
                0,
                0,
                0,
                0,
                e.external_attr,
                offset,
            )
            + name
        )
    start = out.tell()
    for record in central:
        out.write(record)
    end = out.tell()
    n = len(entries)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, end - start, start, 0))
    path.write_bytes(out.getvalue())


def bomb(prefix: bytes, block: bytes, count: int, suffix: bytes) -> tuple[bytes, int, int]:
    """A deflate stream of prefix + block × count + suffix, made without inflating it: each
    piece is compressed alone and ends on a full flush, so that pieces simply join. Returns
    (stream, crc32, inflated size)."""

    def piece(data: bytes, last: bool = False) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)

    reps = max(1, (1 << 20) // len(block))  # the repeated piece: about 1 MiB of blocks
    chunk = block * reps
    full, rest = divmod(count, reps)
    suffix = block * rest + suffix
    crc = zlib.crc32(prefix)
    for _ in range(full):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    stream = piece(prefix) + piece(chunk) * full + piece(suffix, last=True)
    return stream, crc, len(prefix) + len(chunk) * full + len(suffix)


def zipcrypto(data: bytes, password: bytes, crc: int) -> bytes:
    """Traditional PKWARE encryption (what a zip tool's password gives): a 12-byte header,
    then the data."""

    def update(key: int, byte: int) -> int:
        return ~zlib.crc32(bytes([byte]), ~key & 0xFFFFFFFF) & 0xFFFFFFFF

    keys = [0x12345678, 0x23456789, 0x34567890]

    def feed(byte: int) -> None:
        keys[0] = update(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = update(keys[2], keys[1] >> 24)

    for b in password:
        feed(b)
    out = bytearray()
    for b in bytes(random.Random(7).randrange(256) for _ in range(11)) + bytes([crc >> 24]):
        k = (keys[2] | 2) & 0xFFFF
        out.append(b ^ (((k * (k ^ 1)) >> 8) & 0xFF))
        feed(b)
    for b in data:
        k = (keys[2] | 2) & 0xFFFF
        out.append(b ^ (((k * (k ^ 1)) >> 8) & 0xFF))
        feed(b)
    return bytes(out)


# --- the clean template, part by part -----------------------------------------------------


class Package:
    """The parts of a workbook in their order, edited as bytes and written back."""

    def __init__(self, source: Path | bytes = TEMPLATE) -> None:
        data = source.read_bytes() if isinstance(source, Path) else source
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            self.parts = {i.filename: z.read(i) for i in z.infolist()}

    def text(self, name: str) -> str:
        return self.parts[name].decode("utf-8")

    def put(self, name: str, text: str | bytes) -> None:
        self.parts[name] = text.encode("utf-8") if isinstance(text, str) else text

    def edit(self, name: str, fn: Callable[[str], str]) -> None:
        self.put(name, fn(self.text(name)))

    def entries(self) -> list[Raw]:
        return [raw(n, d) for n, d in self.parts.items()]

    def save(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in self.parts.items():
                z.writestr(name, data)
        return path

    def add_sheet(self, name: str, xml: str, rid: str, first: bool = False) -> None:
        """A new worksheet part, listed in the workbook (first or last), its relationships
        and the content types."""
        part = f"xl/worksheets/{rid}.xml"
        self.put(part, xml)
        entry = f'<sheet name="{name}" sheetId="{rid[3:]}" r:id="{rid}"/>'
        self.edit(
            WORKBOOK,
            lambda s: (
                s.replace("<sheets>", "<sheets>" + entry)
                if first
                else s.replace("</sheets>", entry + "</sheets>")
            ),
        )
        self.edit(
            RELS,
            lambda s: s.replace(
                "</Relationships>",
                f'<Relationship Id="{rid}" Type="{NS_REL}/worksheet" '
                f'Target="worksheets/{rid}.xml"/></Relationships>',
            ),
        )
        self.edit(
            TYPES,
            lambda s: s.replace(
                "</Types>",
                f'<Override PartName="/{part}" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.worksheet+xml"/></Types>',
            ),
        )


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline(text: str) -> str:
    return f'<is><t xml:space="preserve">{text}</t></is>'


def set_cell(xml: str, ref: str, body: str = "", t: str | None = None) -> str:
    """The cell `ref` (which the template writes, styled and perhaps empty) with new content:
    `body` is what goes between <c> and </c>, `t` its type. The style is kept."""
    pattern = re.compile(rf'<c r="{ref}"( s="\d+")?[^>]*?(?:/>|>.*?</c>)', re.DOTALL)
    match = pattern.search(xml)
    assert match, ref
    kind = f' t="{t}"' if t else ""
    cell = (
        f'<c r="{ref}"{match.group(1) or ""}{kind}>{body}</c>'
        if body
        else (f'<c r="{ref}"{match.group(1) or ""}/>')
    )
    return xml[: match.start()] + cell + xml[match.end() :]


def append_rows(xml: str, rows: str) -> str:
    return xml.replace("</sheetData>", rows + "</sheetData>", 1)


def shift_rows(xml: str, first: int, delta: int) -> str:
    """Rows from `first` down moved by `delta` (cells, row numbers and formula references),
    as Excel does when a row is inserted (+1) or deleted (-1) above them."""

    def number(n: str) -> str:
        return str(int(n) + delta) if int(n) >= first else n

    def in_formula(m: re.Match[str]) -> str:
        return re.sub(r"\b([A-J])(\d+)\b", lambda r: r.group(1) + number(r.group(2)), m.group(0))

    xml = re.sub(r'(<row r=")(\d+)"', lambda m: m.group(1) + number(m.group(2)) + '"', xml)
    xml = re.sub(r'(<c r="[A-Z]+)(\d+)"', lambda m: m.group(1) + number(m.group(2)) + '"', xml)
    return re.sub(r"<f>[^<]*</f>", in_formula, xml)


def row_xml(xml: str, r: int) -> str:
    match = re.search(rf'<row r="{r}".*?</row>', xml, re.DOTALL)
    assert match
    return match.group(0)


def variant(folder: Path, name: str, *edits: tuple[str, Callable[[str], str]]) -> Path:
    pkg = Package()
    for part, fn in edits:
        pkg.edit(part, fn)
    return pkg.save(folder / name)


def cells(part: str, *changes: tuple[str, str, str | None]) -> tuple[str, Callable[[str], str]]:
    """An edit of `part`: each (ref, body, type) set in turn."""

    def fn(xml: str) -> str:
        for ref, body, t in changes:
            xml = set_cell(xml, ref, body, t)
        return xml

    return part, fn


# --- LibreOffice: a legacy .xls, an .ods, and files with an open password ----------------------

_UNO = (
    PRELUDE
    + r"""
src, outdir, profile, soffice = sys.argv[1:5]
office, desktop = start_office(soffice, profile, "perfxl-hostile")
try:
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                       (pv("Hidden", True),))
    for out, flt, password in (
        ("lo.xls", "MS Excel 97", None),
        ("lo.ods", "calc8", None),
        ("enc.xlsx", "Calc MS Excel 2007 XML", "x"),
        ("enc.xls", "MS Excel 97", "x"),
        ("enc.ods", "calc8", "x"),
    ):
        props = [pv("FilterName", flt), pv("Overwrite", True)]
        if password and out.endswith(".xlsx"):
            data = []
            for k, v in (("OOXPassword", password), ("CryptoType", "Standard")):
                nv = NamedValue(); nv.Name = k; nv.Value = v; data.append(nv)
            props.append(pv("EncryptionData",
                            uno.Any("[]com.sun.star.beans.NamedValue", tuple(data))))
        elif password:
            props.append(pv("Password", password))
        try:
            uno.invoke(doc, "storeToURL", (
                uno.systemPathToFileUrl(os.path.join(outdir, out)), tuple(props)))
        except Exception as exc:
            print(out, exc, file=sys.stderr)
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        office.wait(20)
    except Exception:
        office.kill()
"""
)


def _start_libreoffice(work: Path) -> subprocess.Popen[bytes] | None:
    """Start LibreOffice on the clean template in the background; None without it. With
    LibreOffice's Python, through UNO (which can set an open password); else a plain
    conversion to .xls and .ods."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    src = work / "clean.xlsx"
    shutil.copyfile(TEMPLATE, src)
    # One profile kept between runs: LibreOffice's first start in a new profile takes seconds.
    profile = Path(tempfile.gettempdir()) / f"perfxl-hostile-lo-{os.getuid()}"
    for python in ("/usr/bin/python3", shutil.which("python3")):
        if python and os.path.exists(python):
            probe = subprocess.run([python, "-c", "import uno"], capture_output=True)
            if probe.returncode == 0:
                script = work / "lo.py"
                script.write_text(_UNO, encoding="utf-8")
                return subprocess.Popen(
                    [python, str(script), str(src), str(work), str(profile), soffice],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
    convert = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to"]
    steps = [
        shlex.join([*convert, kind, "--outdir", str(work / kind), str(src)])
        + " && "
        + shlex.join(["mv", str(work / kind / "clean.") + kind, str(work / "lo.") + kind])
        for kind in ("xls", "ods")
    ]
    return subprocess.Popen(
        " && ".join(steps), shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


# --- the corpus -------------------------------------------------------------------------------


class Corpus(list[Hostile]):
    """The files written so far, with what each must get."""

    def add(self, name: str, expect: str, note: str, collect_only: bool = False) -> None:
        """`expect`: the codes, separated by spaces ("" for none)."""
        self.append(Hostile(name, set(expect.split()), note, collect_only))


def build(folder: Path) -> list[Hostile]:
    """Write every hostile file into `folder` (bombs generated here, never committed) and
    return them."""
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="perfxl-hostile-"))
    try:
        office = _start_libreoffice(work)
        out = Corpus()
        for make in (_bombs, _limits, _unreadable, _values, _text, _structure, _links):
            make(folder, out)
        if office is not None:
            try:
                office.wait(timeout=180)
            except subprocess.TimeoutExpired:
                office.kill()
                office.wait()
            _office(folder, work, out)
        names = [h.name for h in out]
        assert len(names) == len(set(names)), "two hostile files of one name"
        return list(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _swap(pkg: Package, part: str, entry: Raw) -> list[Raw]:
    """The package's entries with `part` replaced by a hand-made entry."""
    return [entry if e.name == part else e for e in pkg.entries()]


def _bombs(folder: Path, out: Corpus) -> None:
    """Parts that inflate to a gibibyte, honestly declared or not."""
    pkg = Package()
    sheet = pkg.parts[PROJECTS]
    head, _, tail = sheet.partition(b"</sheetData>")
    head += b'<row r="64">'
    tail = b"</row></sheetData>" + tail
    cell = b'<c r="K64"><v>0</v></c>'
    n = GiB // len(cell)

    stream, crc, size = bomb(head, cell, n, tail)
    write_zip(folder / "bomb-sheet.xlsx", _swap(pkg, PROJECTS, Raw(PROJECTS, stream, crc, size)))
    out.add(
        "bomb-sheet.xlsx",
        "file-too-large",
        "项目 sheet part inflates to 1 GiB (one cell written 45 M times), sizes declared",
    )

    shead, _, stail = pkg.parts[STRINGS].partition(b"</sst>")
    si = b"<si><t>x</t></si>"
    stream, crc, size = bomb(shead, si, GiB // len(si), b"</sst>" + stail)
    write_zip(
        folder / "bomb-shared-strings.xlsx", _swap(pkg, STRINGS, Raw(STRINGS, stream, crc, size))
    )
    out.add(
        "bomb-shared-strings.xlsx",
        "file-too-large",
        "sharedStrings.xml inflates to 1 GiB (67 M strings after the real ones), sizes declared",
    )

    # The directory lies: the 项目 part declares the template's size (23 KB) and its deflate
    # stream runs on to 1 GiB. A reader that stops at the declared size finds a CRC mismatch
    # (the CRC of the whole stream), or, with the CRC of the prefix, a truncated sheet.
    stream, crc, size = bomb(head, cell, n, tail)
    declared = len(sheet)
    prefix = (head + cell * (declared // len(cell) + 1))[:declared]
    for name, crc_declared, how in (
        ("bomb-lying-size.xlsx", crc, "the CRC of the whole 1 GiB"),
        ("bomb-lying-size-crc.xlsx", zlib.crc32(prefix), "the CRC of the declared prefix"),
    ):
        write_zip(
            folder / name, _swap(pkg, PROJECTS, Raw(PROJECTS, stream, crc_declared, declared))
        )
        out.add(
            name,
            "file-unreadable",
            f"项目 part declares {declared:,} bytes, inflates to 1 GiB, {how}: the directory "
            "lies, a damaged package, never inflated past what it declares",
        )

    ods_head, ods_tail = _ods_content("<table:table-row>", "</table:table-row>")
    empty = b"<table:table-cell/>"
    stream, crc, size = bomb(ods_head, empty, GiB // len(empty), ods_tail)
    write_zip(folder / "bomb-content.ods", _ods_entries(Raw("content.xml", stream, crc, size)))
    out.add(
        "bomb-content.ods", "file-too-large", "ODS content.xml inflates to 1 GiB of empty cells"
    )

    rep_head, rep_tail = _ods_content(
        '<table:table-row table:number-rows-repeated="1048576"><table:table-cell '
        'table:number-columns-repeated="16384" office:value-type="float" office:value="1"/>',
        "</table:table-row>",
    )
    content = raw("content.xml", rep_head + rep_tail)
    write_zip(folder / "ods-repeated-cells.ods", _ods_entries(content))
    out.add(
        "ods-repeated-cells.ods",
        "file-too-large",
        "1 KB ODS: a row repeated 1,048,576 times of a cell repeated 16,384 times (17 G cells)",
    )


def _ods_content(rows: str, end: str) -> tuple[bytes, bytes]:
    header = ("项目名称", "总计", "财政拨款", "财政专户拨款", "其他资金", "绩效目标", "绩效指标")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="项目"><table:table-row>'
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{h}</text:p></table:table-cell>'
            for h in header
        )
        + "</table:table-row>"
        + rows
    )
    tail = end + "</table:table></office:spreadsheet></office:body></office:document-content>"
    return head.encode(), tail.encode()


def _ods_entries(content: Raw) -> list[Raw]:
    mimetype = b"application/vnd.oasis.opendocument.spreadsheet"
    manifest = (
        b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:'
        b'names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
        b'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
        b'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
        b'manifest:media-type="text/xml"/></manifest:manifest>'
    )
    return [
        Raw("mimetype", mimetype, zlib.crc32(mimetype), len(mimetype), method=zipfile.ZIP_STORED),
        raw("META-INF/manifest.xml", manifest),
        content,
    ]


def _limits(folder: Path, out: Corpus) -> None:
    """Small files that ask a reader for a huge sheet, hold too many parts, or too many rows."""
    far = (
        (
            "stray-cell-XFD1048576.xlsx",
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
            "one stray cell at XFD1048576 in the clean template (17 G cells for a dense reader)",
        ),
        (
            "far-rows.xlsx",
            '<row r="64"><c r="CZ64"><v>1</v></c></row>'
            '<row r="2000000"><c r="A2000000"><v>1</v></c></row>',
            "cells at CZ64 and A2000000 (beyond Excel's last row): 208 M cells",
        ),
        (
            "row-beyond-8-digits.xlsx",
            '<row r="99999999"><c r="J99999999"><v>1</v></c></row>',
            "a cell at J99999999 (8 digits, beyond any sheet): 1 G cells; file-unreadable "
            "would be defensible",
        ),
    )
    far += (
        (
            "stray-cell-single-quotes.xlsx",
            "<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>",
            "the stray cell at XFD1048576 with its attributes in single quotes",
        ),
        (
            "far-cell-spaced-attribute.xlsx",
            '<row r = "300000"><c r = "Z300000"><v>1</v></c></row>',
            'a cell at Z300000 written `r = "Z300000"` (7.8 M cells)',
        ),
        (
            "far-row-cells-without-references.xlsx",
            "".join(f'<row r="{r}"/>' for r in range(64, 3064))
            + '<row r="1048576">'
            + "<c><v>1</v></c>" * 2000
            + "</row>",
            "3,000 empty rows with references, then row 1,048,576 holding 2,000 cells without "
            "any: a count of references alone is fooled (2 G cells)",
        ),
    )
    for name, rows, note in far:
        variant(folder, name, (PROJECTS, lambda s, rows=rows: append_rows(s, rows)))
        out.add(name, "file-too-large", note)

    # Rows and cells without references, which a reader counts: 2,000,000 rows of one cell,
    # then a row of 16,384 cells (32 G cells), with no reference to measure. A comment of
    # random text keeps the compression ratio under 200, as a real sheet's is.
    pkg = Package()
    head, _, tail = pkg.parts[PROJECTS].partition(b"</sheetData>")
    noise = b"<!--" + base64.b64encode(random.Random(5).randbytes(300_000)) + b"-->"
    last = b"<row>" + b"<c><v>1</v></c>" * 16384 + b"</row></sheetData>"
    stream, crc, size = bomb(head + noise, b"<row><c><v>1</v></c></row>", 2_000_000, last + tail)
    name = "cells-without-references.xlsx"
    write_zip(folder / name, _swap(pkg, PROJECTS, Raw(PROJECTS, stream, crc, size)))
    out.add(
        name,
        "file-too-large",
        f"2 M rows, then a row of 16,384 cells, none with an r= reference ({size >> 20} MiB "
        "inflated, compression ratio under 200)",
    )

    variant(
        folder,
        "dimension-whole-sheet.xlsx",
        (PROJECTS, lambda s: s.replace('ref="A1:J63"', 'ref="A1:XFD1048576"')),
    )
    out.add(
        "dimension-whole-sheet.xlsx",
        "",
        "<dimension ref=A1:XFD1048576> over the template's 63 rows: must cost no memory; read "
        "as the template (or refused as file-too-large)",
    )

    entries = Package().entries()
    body = b'<?xml version="1.0"?><a/>'
    tiny = deflate(body)
    entries += [
        Raw(f"customXml/item{i}.xml", tiny, zlib.crc32(body), len(body)) for i in range(20_000)
    ]
    write_zip(folder / "parts-20000.xlsx", entries)
    out.add(
        "parts-20000.xlsx", "file-too-large", "the template plus 20,000 tiny parts (limit 10,000)"
    )

    for last, expect, note in (
        (
            150_000,
            "rows-inserted issues-truncated",
            "149,936 projects (a name, an amount) below the template, within the limits (1.5 M "
            "cells): a flood of 750,000 issues, 1,000 of each kind listed, memory bounded",
        ),
        (
            400_000,
            "file-too-large",
            "399,936 projects below the template: 4 M cells, beyond the cells limit (2 M)",
        ),
    ):
        pkg = Package()
        rows = "".join(
            f'<row r="{r}"><c r="A{r}"><v>{r - 3}</v></c><c r="C{r}" t="s"><v>114</v></c>'
            f'<c r="F{r}"><v>1</v></c></row>'
            for r in range(64, last)
        )
        pkg.edit(PROJECTS, lambda s, rows=rows: append_rows(s, rows))
        pkg.save(folder / f"rows-{last}.xlsx")
        out.add(f"rows-{last}.xlsx", expect, note)

    (folder / "cr-lines.csv").write_bytes(b"1,2,3\r" * 700_000)
    out.add(
        "cr-lines.csv",
        "file-too-large",
        "a CSV of 700,000 lines ended by a carriage return alone (old Mac style): 2.1 M cells",
    )

    (folder / "wide.csv").write_bytes(b"\xef\xbb\xbf" + (b"," * 2_000_000 + b"\r\n") * 3)
    out.add(
        "wide.csv",
        "file-too-large",
        "a CSV of 3 lines of 2,000,001 empty fields: 6 M cells, beyond the cells limit",
    )


def _unreadable(folder: Path, out: Corpus) -> None:
    """Files that are not workbooks, or are damaged or encrypted ones."""
    clean = TEMPLATE.read_bytes()

    def put(name: str, data: bytes, expect: str, note: str) -> None:
        (folder / name).write_bytes(data)
        out.add(name, expect, note)

    put(
        "encrypted-stub.xlsx",
        ENCRYPTED,
        "file-encrypted",
        "a compound file naming EncryptionInfo and EncryptedPackage (the conftest stub)",
    )
    put(
        "truncated.xlsx",
        clean[: len(clean) // 2],
        "file-unreadable",
        "the first half of the clean template (no central directory)",
    )
    put(
        "random.xlsx",
        random.Random(14).randbytes(65536),
        "file-unreadable",
        "64 KiB of random bytes",
    )
    put("empty.xlsx", b"", "file-unreadable", "an empty file (0 bytes)")
    put(
        "cfb-not-a-workbook.xlsx",
        ENCRYPTED[:8] + b"\0" * 4088,
        "file-unreadable",
        "a compound-file signature and zeros: neither an .xls nor an encrypted package",
    )
    put(
        "junk-before-zip.xlsx",
        b"MZ" + random.Random(3).randbytes(4094) + clean,
        "file-unreadable",
        "4 KiB of junk (an .exe stub) before the template's zip: a reader could recover it, "
        "Excel refuses it",
    )
    html = (
        "<html><head><meta charset='utf-8'></head><body><table><tr><td>项目名称</td><td>总计</td>"
        "<td>财政拨款</td><td>财政专户拨款</td><td>其他资金</td><td>绩效目标</td><td>绩效指标</td>"
        "</tr><tr><td>机构运行经费</td><td>56</td><td>56</td><td></td><td></td><td>保障运行</td>"
        "<td></td></tr></table></body></html>"
    )
    put(
        "web-page.xls",
        html.encode(),
        "file-unreadable",
        "an HTML table saved as .xls (what web systems export); the message should say so",
    )
    text = "Projet,Montant,État\r\nRénovation du siège,1209.08,Payé\r\nFrais généraux,56,Validé\r\n"
    data = text.encode("cp1252")
    for encoding in ("utf-8", "gb18030"):  # é before CR: invalid in both
        try:
            data.decode(encoding)
            raise AssertionError(encoding)
        except UnicodeDecodeError:
            pass
    put(
        "unknown-encoding.csv",
        data,
        "file-unreadable",
        "a CSV in Windows-1252: neither UTF-8, UTF-16 nor GBK",
    )

    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            TYPES,
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{NS_REL}/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>项目名称 总计</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
    put("docx-renamed.xlsx", docx.getvalue(), "file-unreadable", "a Word .docx renamed .xlsx")

    only = io.BytesIO()
    with zipfile.ZipFile(only, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(TYPES, Package().parts[TYPES])
    put(
        "content-types-only.xlsx",
        only.getvalue(),
        "file-unreadable",
        "a zip holding only [Content_Types].xml",
    )
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(TEMPLATE.name, clean)
    put(
        "zipped-template.xlsx",
        nested.getvalue(),
        "file-unreadable",
        "a zip archive holding the template (zipped, then renamed .xlsx)",
    )

    variant(folder, "workbook-not-xml.xlsx", (WORKBOOK, lambda s: "this is not XML {{{ <<<"))
    out.add("workbook-not-xml.xlsx", "file-unreadable", "xl/workbook.xml is not XML")
    variant(folder, "sheet-part-empty.xlsx", (PROJECTS, lambda s: ""))
    out.add("sheet-part-empty.xlsx", "file-unreadable", "the 项目 sheet part is 0 bytes")
    variant(
        folder,
        "no-sheets.xlsx",
        (WORKBOOK, lambda s: re.sub(r"<sheets>.*</sheets>", "<sheets/>", s)),
    )
    out.add(
        "no-sheets.xlsx",
        "file-unreadable",
        "workbook.xml lists no sheet: Excel calls it corrupt (layout-unknown would be defensible)",
    )
    variant(
        folder,
        "shared-string-out-of-range.xlsx",
        cells(PROJECTS, ("C4", "<v>999999</v>", "s"), ("C5", "<v>-1</v>", "s")),
    )
    out.add(
        "shared-string-out-of-range.xlsx",
        "file-unreadable",
        "项目名称 cells point at shared strings 999999 and -1 (618 exist): damaged, never a "
        "silently blank name",
    )

    pkg = Package()
    entries = pkg.entries()
    for e in entries:
        if e.name == PROJECTS:
            i = len(e.payload) // 2
            e.payload = e.payload[:i] + bytes([e.payload[i] ^ 0x55]) + e.payload[i + 1 :]
    write_zip(folder / "corrupt-deflate.xlsx", entries)
    out.add(
        "corrupt-deflate.xlsx",
        "file-unreadable",
        "one byte of the 项目 part's deflate stream flipped (bad data or a CRC error)",
    )

    target = b"/etc/passwd"
    link = Raw(
        PROJECTS,
        target,
        zlib.crc32(target),
        len(target),
        method=zipfile.ZIP_STORED,
        external_attr=0o120777 << 16,
        system=3,
    )
    write_zip(folder / "zip-symlink-entry.xlsx", _swap(pkg, PROJECTS, link))
    out.add(
        "zip-symlink-entry.xlsx",
        "file-unreadable",
        "the 项目 part is a zip symlink entry to /etc/passwd (its bytes: the path)",
    )

    entries = pkg.entries()
    for e in entries:
        if e.name.startswith("xl/worksheets/"):
            e.payload = zipcrypto(e.payload, b"x", e.crc)
            e.flags |= 0x1
    write_zip(folder / "zip-password.xlsx", entries)
    out.add(
        "zip-password.xlsx",
        "file-encrypted",
        "the sheet parts encrypted with a zip tool's password (PKWARE ZipCrypto); "
        "file-unreadable would be defensible",
    )

    write_zip(
        folder / "duplicate-zip-entries.xlsx",
        [*pkg.entries(), raw(PROJECTS, _forged(pkg).encode())],
    )
    out.add(
        "duplicate-zip-entries.xlsx",
        "file-unreadable",
        "two entries named xl/worksheets/sheet2.xml, the second with every amount × 100: which "
        "one a reader sees is a guess (Excel: corrupt)",
    )

    entries = pkg.entries()
    for name in (
        "../../../../tmp/perfxl-hostile-escaped.txt",
        "/tmp/perfxl-hostile-absolute.txt",
        "..\\..\\perfxl-hostile-windows.txt",
        "xl/../../perfxl-hostile-dotdot.txt",
    ):
        entries.append(raw(name, b"written outside the folder\n"))
    write_zip(folder / "zip-path-traversal.xlsx", entries)
    out.add(
        "zip-path-traversal.xlsx",
        "",
        "the template plus entries named ../../../../tmp/…, /tmp/…, ..\\..\\…: read as the "
        "template, nothing written anywhere",
    )

    # XML with a DTD: entity expansion (billion laughs), an external entity, a bare DOCTYPE.
    # The policy chosen: a DTD in a package part is refused (Excel refuses it too).
    laughs = (
        '<!DOCTYPE {root} [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + "]>"
    )
    variant(
        folder,
        "billion-laughs-shared-strings.xlsx",
        (
            STRINGS,
            lambda s: s.replace("<sst ", laughs.format(root="sst") + "<sst ", 1).replace(
                "<si><t>", "<si><t>&lol9;", 1
            ),
        ),
        cells(PROJECTS, ("C4", "<v>0</v>", "s")),
    )
    out.add(
        "billion-laughs-shared-strings.xlsx",
        "file-unreadable",
        "sharedStrings.xml declares nested entities (10^9 'lol') used in 项目名称 C4: never "
        "expanded",
    )
    variant(
        folder,
        "billion-laughs-properties.xlsx",
        (
            "docProps/custom.xml",
            lambda s: s.replace(
                "<Properties ", laughs.format(root="Properties") + "<Properties ", 1
            ).replace("<vt:lpwstr>", "<vt:lpwstr>&lol9;", 1),
        ),
    )
    out.add(
        "billion-laughs-properties.xlsx",
        "file-unreadable",
        "docProps/custom.xml (the template identity) declares 10^9 'lol': never expanded "
        "(template-mismatch would be defensible)",
    )
    xxe = '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    variant(
        folder,
        "external-entity.xlsx",
        (
            STRINGS,
            lambda s: s.replace("<sst ", xxe + "<sst ", 1).replace("<si><t>", "<si><t>&xxe;", 1),
        ),
        cells(PROJECTS, ("C4", "<v>0</v>", "s")),
    )
    out.add(
        "external-entity.xlsx",
        "file-unreadable",
        "sharedStrings.xml pulls file:///etc/passwd into 项目名称 C4 through an entity: never "
        "resolved, never in any output",
    )
    variant(
        folder,
        "doctype-workbook.xlsx",
        (
            WORKBOOK,
            lambda s: s.replace(
                "<workbook ", "<!DOCTYPE workbook [<!ELEMENT workbook ANY>]><workbook ", 1
            ),
        ),
    )
    out.add(
        "doctype-workbook.xlsx",
        "file-unreadable",
        "a harmless DOCTYPE in workbook.xml: refused like any DTD (reading it as the template "
        "would be defensible)",
    )


def _forged(pkg: Package) -> str:
    """The 项目 sheet with every 财政拨款 × 100."""
    return re.sub(
        r'(<c r="F\d+" s="\d+"><v>)([\d.]+)',
        lambda m: m.group(1) + repr(float(m.group(2)) * 100),
        pkg.text(PROJECTS),
    )


def _values(folder: Path, out: Corpus) -> None:
    """Cells whose value cannot be trusted: error values, formulas without a result, links to
    other workbooks, amounts nobody can read."""
    total = '<f>IF(COUNT(F{r},G{r},H{r})=0,"",N(F{r})+N(G{r})+N(H{r}))</f><v>{v}</v>'
    for name, error, formula in (
        ("error-NA.xlsx", "#N/A", "VLOOKUP(B4,_lists!A:B,2,FALSE)"),
        ("error-REF.xlsx", "#REF!", "#REF!+1"),
        ("error-DIV0.xlsx", "#DIV/0!", "56/0"),
    ):
        variant(
            folder,
            name,
            cells(
                PROJECTS,
                ("F4", f"<f>{esc(formula)}</f><v>{error}</v>", "e"),
                ("E4", total.format(r=4, v=error), "e"),
            ),
        )
        out.add(name, "cell-error", f"财政拨款 F4 is an error cell {error} (总计 E4 with it)")
    variant(folder, "error-in-goal.xlsx", cells(PROJECTS, ("I4", "<v>#VALUE!</v>", "e")))
    out.add("error-in-goal.xlsx", "cell-error", "绩效目标 I4 (text) is #VALUE!: a warning")
    variant(
        folder,
        "error-in-indicator.xlsx",
        cells(INDICATORS, ("H4", "<f>X1</f><v>#NAME?</v>", "e")),
    )
    out.add("error-in-indicator.xlsx", "cell-error", "年度指标值 H4 of 指标 is #NAME?")

    # Filled down, Excel shares a formula: the cells below hold `<f t="shared" si="0"/>`.
    # 40,000 of them showing #N/A (each must cost one look at its own cell), and F5, a
    # follower, reading #DIV/0!, which must never become a blank amount.
    shared = "".join(
        f'<row r="{r}"><c r="K{r}" t="e"><f t="shared" si="1"/><v>#N/A</v></c></row>'
        for r in range(64, 40_064)
    )
    variant(
        folder,
        "error-shared-formulas.xlsx",
        cells(
            PROJECTS,
            ("F4", '<f t="shared" ref="F4:F5" si="0">1/0</f><v>#DIV/0!</v>', "e"),
            ("F5", '<f t="shared" si="0"/><v>#DIV/0!</v>', "e"),
        ),
        (PROJECTS, lambda s: append_rows(s, shared)),
    )
    out.add(
        "error-shared-formulas.xlsx",
        "cell-error",
        "财政拨款 F4 and F5 #DIV/0! by a shared formula, and 40,000 more #N/A below",
    )
    variant(folder, "formula-no-value.xlsx", cells(PROJECTS, ("F5", "<f>100+100.02</f>", None)))
    out.add(
        "formula-no-value.xlsx",
        "formula-no-value",
        "财政拨款 F5 is a formula saved without a value",
    )
    wb = openpyxl.load_workbook(TEMPLATE)
    wb["项目"]["F5"] = "=1+1"
    wb.save(folder / "formula-no-value-openpyxl.xlsx")
    out.add(
        "formula-no-value-openpyxl.xlsx",
        "formula-no-value",
        "the template saved by openpyxl with F5 '=1+1': no formula keeps a value (<v />)",
    )

    # A link to another workbook, with its cached value and the externalLink part Excel writes.
    pkg = Package()
    pkg.edit(PROJECTS, lambda s: set_cell(s, "F6", "<f>[1]Sheet1!$A$1</f><v>1796</v>"))
    pkg.edit(PROJECTS, lambda s: set_cell(s, "I7", "<f>[1]Sheet1!$B$1</f><v>保障运行</v>", "str"))
    pkg.put(
        "xl/externalLinks/externalLink1.xml",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><externalLink xmlns="http://'
        f'schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{NS_REL}"><externalBook '
        'r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames><sheetDataSet><sheetData '
        'sheetId="0"><row r="1"><cell r="A1"><v>1796</v></cell><cell r="B1" t="str"><v>保障运行'
        "</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>",
    )
    pkg.put(
        "xl/externalLinks/_rels/externalLink1.xml.rels",
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        f'Type="{NS_REL}/externalLinkPath" Target="file:///\\\\fileserver\\share\\预算底稿.xlsx" '
        'TargetMode="External"/></Relationships>',
    )
    references = '<externalReferences><externalReference r:id="rId90"/></externalReferences>'
    pkg.edit(WORKBOOK, lambda s: s.replace("</sheets>", "</sheets>" + references))
    relationship = (
        f'<Relationship Id="rId90" Type="{NS_REL}/externalLink" '
        'Target="externalLinks/externalLink1.xml"/>'
    )
    pkg.edit(RELS, lambda s: s.replace("</Relationships>", relationship + "</Relationships>"))
    override = (
        '<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/>'
    )
    pkg.edit(TYPES, lambda s: s.replace("</Types>", override + "</Types>"))
    pkg.save(folder / "external-link.xlsx")
    out.add(
        "external-link.xlsx",
        "external-link",
        "财政拨款 F6 =[1]Sheet1!$A$1 (cached 1796) and 绩效目标 I7 read a workbook on a share",
    )

    for name, ref, text in (
        ("amount-space-comma.xlsx", "F4", "1 209,08"),
        ("amount-dot-comma.xlsx", "F5", "1.209,08"),
        ("amount-chinese-numerals.xlsx", "F6", "壹仟柒佰玖拾陆"),
        ("amount-bad-grouping.xlsx", "F7", "6,576.00,1"),
    ):
        variant(folder, name, cells(PROJECTS, (ref, inline(text), "inlineStr")))
        out.add(name, "amount-invalid", f"财政拨款 {ref} is the text '{text}': no reading is sure")
    for name, value in (("amount-infinity.xlsx", "1E+309"), ("amount-nan.xlsx", "NaN")):
        variant(folder, name, cells(PROJECTS, ("F4", f"<v>{value}</v>", None)))
        out.add(name, "amount-invalid", f"财政拨款 F4 is the number <v>{value}</v>: no amount")
    variant(folder, "amount-boolean.xlsx", cells(PROJECTS, ("F4", "<v>1</v>", "b")))
    out.add("amount-boolean.xlsx", "amount-invalid", "财政拨款 F4 is the boolean TRUE (never 1)")


def _text(folder: Path, out: Corpus) -> None:
    """Texts beyond the spec's limits, control characters, and files read by their content."""
    name = ("广州市社会福利院院内老年人、孤残儿童及特殊困难群体综合照护服务能力提升项目" * 10)[:300]
    variant(folder, "name-300-chars.xlsx", cells(PROJECTS, ("C4", inline(name), "inlineStr")))
    out.add("name-300-chars.xlsx", "text-too-long", "项目名称 C4 of 300 characters (max 200)")
    name = ("为民服务事项办结率" * 4000)[:32767]
    variant(
        folder,
        "indicator-32767-chars.xlsx",
        cells(INDICATORS, ("D4", inline(name), "inlineStr")),
    )
    out.add(
        "indicator-32767-chars.xlsx",
        "text-too-long",
        "三级指标 D4 of 32,767 characters (max 200)",
    )
    goal = ("保障院内供养对象基本生活，提升照护服务质量。" * 5000)[:100_000]
    variant(folder, "goal-100000-chars.xlsx", cells(PROJECTS, ("I4", inline(goal), "inlineStr")))
    out.add(
        "goal-100000-chars.xlsx",
        "text-too-long",
        "绩效目标 I4 of 100,000 characters, beyond Excel's 32,767 a cell (the spec gives the goal "
        "no max_length: text-too-long is the nearest code)",
    )

    pkg = Package()
    pkg.edit(
        STRINGS,
        lambda s: re.sub(r'uniqueCount="\d+"', 'uniqueCount="619"', s).replace(
            "</sst>", "<si><t>机构运行_x0007_辅助经费</t></si></sst>"
        ),
    )
    pkg.edit(PROJECTS, lambda s: set_cell(s, "C4", "<v>618</v>", "s"))
    pkg.save(folder / "control-bel-escaped.xlsx")
    out.add(
        "control-bel-escaped.xlsx",
        "control-characters",
        "项目名称 C4 holds BEL written _x0007_ in the shared strings, as Excel writes it",
    )
    ansi = "\x1b[31m\x1b]0;pwned\x07老年人服务\x1b[0m\x1b[2J"
    variant(folder, "control-ansi-raw.xlsx", cells(PROJECTS, ("C5", inline(ansi), "inlineStr")))
    out.add(
        "control-ansi-raw.xlsx",
        "control-characters",
        "项目名称 C5 holds raw ESC sequences (colour, window title, clear screen) and BEL, not "
        "even legal XML 1.0 (file-unreadable would be defensible)",
    )
    variant(
        folder,
        "control-ansi-escaped.xlsx",
        cells(PROJECTS, ("C6", inline("_x001B_[31m福利院_x001B_[0m"), "inlineStr")),
        cells(INDICATORS, ("D5", inline("覆盖率_x0008__x0008__x0008_"), "inlineStr")),
    )
    out.add(
        "control-ansi-escaped.xlsx",
        "control-characters",
        "项目名称 C6 with _x001B_[31m (ESC, escaped) and 三级指标 D5 with backspaces",
    )
    variant(
        folder,
        "control-c1.xlsx",
        cells(PROJECTS, ("C7", inline("\u009b2J福利院\u0085项目"), "inlineStr")),
    )
    out.add(
        "control-c1.xlsx",
        "control-characters",
        "项目名称 C7 with the C1 controls U+009B (CSI) and U+0085 (legal XML, still controls)",
    )

    lines = SEED_TXT.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        columns = line.split("\t")
        if len(columns) == 7 and columns[0] not in ("项目名称", "合计") and columns[1]:
            columns[0] = "\x1b[8m" + columns[0] + "\x1b[0m\x07"
            lines[i] = "\t".join(columns)
            break
    (folder / "control-published.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.add(
        "control-published.txt",
        "control-characters",
        "the published seed as text, one project name wrapped in ESC[8m (hidden) … BEL",
    )

    (folder / "csv-renamed.xlsx").write_bytes(SEED_GBK_CSV.read_bytes())
    out.add(
        "csv-renamed.xlsx",
        "",
        "the published seed as GBK CSV named .xlsx: read as text (its data issues only)",
    )
    (folder / "xlsx-renamed.csv").write_bytes(TEMPLATE.read_bytes())
    out.add("xlsx-renamed.csv", "", "the clean template named .csv: read as a workbook")
    (folder / "xlsx-renamed.xls").write_bytes(TEMPLATE.read_bytes())
    out.add("xlsx-renamed.xls", "", "the clean template named .xls: read as a workbook")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "库存"
    ws.append(["物品", "数量", "存放位置"])
    for i in range(30):
        ws.append([f"办公椅{i}", i * 3, "二楼仓库"])
    wb.save(folder / "unrelated.xlsx")
    out.add("unrelated.xlsx", "layout-unknown", "one sheet of an office inventory")
    openpyxl.Workbook().save(folder / "empty-workbook.xlsx")
    out.add("empty-workbook.xlsx", "layout-unknown", "a workbook of one empty sheet")
    weather = "日期,温度,湿度\n2026-01-01,12,80\n2026-01-02,14,75\n"
    (folder / "unrelated.csv").write_text(weather, encoding="utf-8")
    out.add("unrelated.csv", "layout-unknown", "a CSV of weather readings")


def _structure(folder: Path, out: Corpus) -> None:
    """The template's structure broken: blank, a sheet gone, rows moved, sheets added."""
    total = '<f>IF(COUNT(F{r},G{r},H{r})=0,"",N(F{r})+N(G{r})+N(H{r}))</f><v></v>'

    def blank(first: int, last: int, columns: str) -> Callable[[str], str]:
        def fn(xml: str) -> str:
            for r in range(first, last + 1):
                for col in columns:
                    body = total.format(r=r) if col == "E" else ""
                    xml = set_cell(xml, f"{col}{r}", body)
            return xml

        return fn

    variant(
        folder,
        "blank-template.xlsx",
        (PROJECTS, blank(4, 63, "BCDEFGHI")),
        (INDICATORS, blank(4, 403, "ABCDEFGHI")),
    )
    out.add(
        "blank-template.xlsx",
        "no-projects",
        "the template returned blank: every project and indicator cleared",
    )

    pkg = Package()
    pkg.edit(
        WORKBOOK,
        lambda s: re.sub(
            r'<definedName name="_xlnm[^>]*localSheetId="1">[^<]*</definedName>',
            "",
            s.replace('<sheet name="项目" sheetId="2" r:id="rId2"/>', ""),
        ).replace('localSheetId="2"', 'localSheetId="1"'),
    )
    pkg.edit(RELS, lambda s: re.sub(r'<Relationship Id="rId2" [^>]*/>', "", s))
    pkg.edit(
        TYPES, lambda s: re.sub(r'<Override PartName="/xl/worksheets/sheet2.xml"[^>]*/>', "", s)
    )
    del pkg.parts[PROJECTS]
    pkg.save(folder / "sheet-deleted.xlsx")
    out.add("sheet-deleted.xlsx", "sheet-missing", "the 项目 sheet deleted")
    variant(
        folder,
        "sheet-renamed.xlsx",
        (WORKBOOK, lambda s: s.replace('name="项目"', 'name="项目 "')),
    )
    out.add(
        "sheet-renamed.xlsx", "sheet-missing", "the 项目 sheet renamed '项目 ' (trailing space)"
    )

    def insert(xml: str) -> str:
        xml = shift_rows(xml, 6, 1)
        new = (
            '<row r="6" spans="1:10"><c r="A6" s="5"><v>99</v></c><c r="B6" s="7" '
            f't="inlineStr">{inline("4401000022026099")}</c><c r="C6" s="7" t="inlineStr">'
            f'{inline("插入的项目")}</c><c r="E6" s="8">{total.format(r=6)[:-7]}<v>10</v></c>'
            '<c r="F6" s="9"><v>10</v></c></row>'
        )
        moved = row_xml(xml, 7)
        return xml.replace(moved, new + moved, 1).replace('ref="A1:J63"', 'ref="A1:J64"')

    variant(folder, "rows-inserted.xlsx", (PROJECTS, insert))
    out.add(
        "rows-inserted.xlsx",
        "rows-inserted",
        "a project row inserted at row 6 of 项目 (no row id), the rows below moved down",
    )

    def delete(xml: str) -> str:
        xml = xml.replace(row_xml(xml, 5), "", 1)
        return shift_rows(xml, 6, -1).replace('ref="A1:J63"', 'ref="A1:J62"')

    variant(folder, "rows-deleted.xlsx", (PROJECTS, delete))
    out.add("rows-deleted.xlsx", "rows-deleted", "row 5 of 项目 deleted (row id P00002 gone)")
    variant(folder, "header-changed.xlsx", cells(PROJECTS, ("C3", inline("项目全称"), "inlineStr")))
    out.add("header-changed.xlsx", "header-changed", "项目's header C3 changed to 项目全称")
    variant(
        folder,
        "protection-removed.xlsx",
        (PROJECTS, lambda s: re.sub(r"<sheetProtection [^>]*/>", "", s)),
    )
    out.add("protection-removed.xlsx", "protection-removed", "项目's protection removed")

    pkg = Package()
    pkg.add_sheet("项目", _forged(pkg), "rId60", first=True)
    pkg.save(folder / "duplicate-sheet-names.xlsx")
    out.add(
        "duplicate-sheet-names.xlsx",
        "file-unreadable",
        "two sheets named 项目, the first forged (every amount × 100): Excel calls it corrupt, "
        "any reading is a guess",
    )

    small = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://'
        'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
        't="inlineStr"><is><t>备注</t></is></c></row></sheetData></worksheet>'
    )
    pkg = Package()
    for i in range(6, 301):
        pkg.add_sheet(f"备注{i}", small, f"rId{100 + i}")
    pkg.save(folder / "sheets-300.xlsx")
    out.add(
        "sheets-300.xlsx",
        "",
        "the template plus 295 small sheets (300 in all): read as the template, in bounded time",
    )
    pkg = Package()
    pkg.add_sheet("\x1b[2J\x1b]0;pwned\x07说明", small, "rId70")
    pkg.save(folder / "sheet-name-control.xlsx")
    out.add(
        "sheet-name-control.xlsx",
        "control-characters",
        "an extra sheet named with raw ESC and BEL (clear screen, window title): no code fits "
        "exactly, control-characters is the nearest (never printed raw)",
    )


def _links(folder: Path, out: Corpus) -> None:
    """Entries of the inbox that are not regular files inside it (for collect)."""
    (folder / "link-outside.xlsx").symlink_to(TEMPLATE)
    out.add(
        "link-outside.xlsx",
        "link-outside-inbox",
        "a symbolic link to the clean template in samples/inbox, outside the inbox",
        collect_only=True,
    )
    (folder / "link-loop.xlsx").symlink_to("link-loop.xlsx")
    out.add(
        "link-loop.xlsx",
        "link-outside-inbox",
        "a symbolic link to itself (ELOOP); file-unreadable would be defensible",
        collect_only=True,
    )
    (folder / "link-dev-zero.xlsx").symlink_to("/dev/zero")
    out.add(
        "link-dev-zero.xlsx",
        "link-outside-inbox",
        "a symbolic link to /dev/zero: reading it never ends",
        collect_only=True,
    )
    (folder / "linked-folder").symlink_to(TEMPLATE.parent, target_is_directory=True)
    out.add(
        "linked-folder",
        "link-outside-inbox",
        "a symbolic link to a folder outside the inbox (samples/inbox)",
        collect_only=True,
    )
    os.mkfifo(folder / "fifo.xlsx")
    out.add(
        "fifo.xlsx",
        "not-a-file",
        "a named pipe: opening it blocks forever; not a regular file, never opened",
        collect_only=True,
    )


def _office(folder: Path, work: Path, out: Corpus) -> None:
    """What LibreOffice made, where it made it."""
    made = (
        ("lo.xls", "xls-renamed.xlsx", "", "the template saved as .xls (BIFF8) named .xlsx"),
        ("lo.ods", "ods-renamed.xlsx", "", "the template saved as .ods named .xlsx"),
        (
            "enc.xlsx",
            "encrypted-libreoffice.xlsx",
            "file-encrypted",
            "the template with an open password (ECMA-376 standard encryption)",
        ),
        (
            "enc.xls",
            "encrypted-libreoffice.xls",
            "file-encrypted",
            "the template as .xls with an open password (RC4 CryptoAPI)",
        ),
        (
            "enc.ods",
            "encrypted-libreoffice.ods",
            "file-encrypted",
            "the template as .ods with a password (content.xml encrypted)",
        ),
    )
    for src, name, expect, note in made:
        if (work / src).is_file():
            shutil.copyfile(work / src, folder / name)
            out.add(name, expect, "by LibreOffice: " + note)
