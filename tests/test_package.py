"""What is read beside calamine's values: custom document properties and sheet protection,
in the spellings other applications write; and cells as text."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from perfxl.formats.package import open_package, read_guards
from perfxl.formats.template_reader import column_texts, text_of
from tests.conftest import libreoffice_resave

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"

CUSTOM = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
 xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="perfxl_department_name">
<vt:lpwstr>R&amp;D 中心 &#x4E00;</vt:lpwstr></property>
<property pid='3' name='perfxl_fiscal_year' fmtid='{D5CDD505}'>
<vt:lpwstr>2026</vt:lpwstr></property>
<property fmtid="{D5CDD505}" pid="4" name="perfxl_empty"><vt:lpwstr/></property>
</Properties>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<x:sheets>
<x:sheet name="项目" sheetId="1" rel:id="rId7"/>
<x:sheet sheetId="2" rel:id='rId8' name="指标&amp;备注"></x:sheet>
<x:sheet name="说明" sheetId="3" rel:id="rId9"/>
</x:sheets></x:workbook>"""
RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId7" Type="worksheet" Target="worksheets/a.xml"/>
<Relationship Target="/xl/worksheets/b.xml" Id="rId8" Type="worksheet"/>
<Relationship Id="rId9" Type="worksheet" Target="worksheets/c.xml"/>
</Relationships>"""
SHEET = "<worksheet><sheetData/>{}</worksheet>"


def package(compression: int = zipfile.ZIP_DEFLATED, extra: bytes = b"", **parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            info.extra = extra  # an extra field in the local header shifts where the data starts
            z.writestr(info, text)
    return buffer.getvalue()


PARTS = {
    "docProps/custom.xml": CUSTOM,
    "xl/workbook.xml": WORKBOOK,
    "xl/_rels/workbook.xml.rels": RELS,
    "xl/worksheets/a.xml": SHEET.format('<sheetProtection password="CC3D" sheet="1"/>'),
    "xl/worksheets/b.xml": SHEET.format('<x:sheetProtection sheet="0" objects="1"/>'),
    "xl/worksheets/c.xml": SHEET.format(""),
}


def test_properties_and_protection_in_other_spellings(tmp_path: Path) -> None:
    data = package(**PARTS)
    found = read_guards(data, ["项目", "指标&备注", "说明"])
    assert found.properties == {
        "perfxl_department_name": "R&D 中心 一",
        "perfxl_fiscal_year": "2026",
        "perfxl_empty": "",
    }
    assert found.protected == {"项目": True, "指标&备注": False, "说明": False}
    path = tmp_path / "book.xlsx"
    path.write_bytes(data)
    assert read_guards(path, ["项目"]).protected == {"项目": True}


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
@pytest.mark.parametrize("extra", [b"", b"\xfe\xca\x04\x00abcd"])
def test_parts_are_found_whatever_their_compression_and_local_header(
    compression: int, extra: bytes
) -> None:
    found = read_guards(package(compression, extra, **PARTS), ["项目", "指标&备注", "说明"])
    assert found.properties["perfxl_department_name"] == "R&D 中心 一"
    assert found.protected == {"项目": True, "指标&备注": False, "说明": False}


def test_a_damaged_part_tells_nothing_and_raises_nothing() -> None:
    data = bytearray(package(**PARTS))
    at = data.find(b"PK\x03\x04")  # the first part's local header: break its deflate stream
    start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little")
    data[start : start + 8] = b"\xff" * 8
    assert read_guards(bytes(data), ["项目"]).properties == {}


def _set_in_directory(
    data: bytes, name: str, flags: int = 0, method: int | None = None, size: int | None = None
) -> bytes:
    """The package with one part's central-directory entry changed (flags added, method,
    uncompressed size)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(out[at + 28 : at + 30], "little")
        if out[at + 46 : at + 46 + length] == name.encode():
            out[at + 8] |= flags
            if method is not None:
                out[at + 10 : at + 12] = method.to_bytes(2, "little")
            if size is not None:
                out[at + 24 : at + 28] = size.to_bytes(4, "little")
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


@pytest.mark.parametrize(
    "change", [{"flags": 0x1}, {"method": 99}], ids=["encrypted", "unknown-method"]
)
def test_a_part_that_cannot_be_read_tells_nothing_and_raises_nothing(
    change: dict[str, int],
) -> None:
    data = _set_in_directory(package(**PARTS), "docProps/custom.xml", **change)
    assert read_guards(data, ["项目"]).properties == {}


def test_what_is_not_a_package_tells_nothing() -> None:
    assert read_guards(b"not a zip", ["项目"]).protected == {}
    no_workbook = package(**{"docProps/custom.xml": CUSTOM})
    assert read_guards(no_workbook, ["项目"]).protected == {}


@given(
    st.lists(
        st.one_of(
            st.lists(st.sampled_from([" ", "\r", "\n", "a", "中", "_x000D_", "1"]), max_size=5).map(
                "".join
            ),
            st.integers(-5, 5),
            st.floats(allow_nan=False, allow_infinity=False),
            st.none(),
            st.booleans(),
        ),
        max_size=6,
    )
)
@example(["一\r\n二", "甲"])
@example(["a_x000D_\nb"])
def test_a_column_as_text_is_each_cell_as_text(values: list[object]) -> None:
    assert column_texts(values) == [text_of(v) for v in values]  # type: ignore[arg-type]


# --- the stored copy calamine reads ------------------------------------------------------


def _all_values(data: bytes) -> dict[str, list[list[object]]]:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {
        name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for name in workbook.sheet_names
    }


def _methods(data: bytes) -> dict[str, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every part's CRC still holds
        return {info.filename: info.compress_type for info in archive.infolist()}


def test_calamine_reads_the_stored_copy_as_it_reads_the_file(tmp_path: Path) -> None:
    """Workbooks written by xlsxwriter (our templates, filled), by openpyxl and by
    LibreOffice (which writes the sizes after each part): the copy holds the same parts,
    the text ones inflated, and calamine reads the same values from it."""
    inbox = sorted(SAMPLES.glob("*.xlsx"))
    openpyxl_written = tmp_path / "openpyxl.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["项目名称", "=1+1", 7895.82])  # type: ignore[union-attr]
    book.save(openpyxl_written)
    resaved = libreoffice_resave(inbox[:2], tmp_path / "lo")
    for path in [*inbox, openpyxl_written, *resaved]:
        data = path.read_bytes()
        opened = open_package(data)
        assert opened is not None, path.name
        assert _all_values(opened.stored) == _all_values(data), path.name
        before, after = _methods(data), _methods(opened.stored)
        assert list(after) == list(before), path.name
        text = [name for name in before if name.endswith((".xml", ".rels"))]
        assert text and all(after[name] == zipfile.ZIP_STORED for name in text), path.name
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert {name: archive.read(name) for name in text} == opened.parts, path.name


def test_a_part_that_cannot_be_inflated_is_copied_as_it_came() -> None:
    data = bytearray(package(**PARTS))
    at = data.find(b"PK\x03\x04")  # the first part's local header: break its deflate stream
    start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little")
    data[start : start + 8] = b"\xff" * 8
    opened = open_package(bytes(data))
    assert opened is not None
    assert "docProps/custom.xml" not in opened.parts
    assert opened.parts["xl/worksheets/a.xml"].endswith(b"</worksheet>")
    with zipfile.ZipFile(io.BytesIO(opened.stored)) as copy:
        assert copy.getinfo("docProps/custom.xml").compress_type == zipfile.ZIP_DEFLATED
        with pytest.raises(zlib.error):
            copy.read("docProps/custom.xml")  # the same fault, for whoever reads it
    # The other parts still tell what they hold.
    assert read_guards(opened, ["项目"]).protected == {"项目": True}


def test_what_is_not_a_plain_package_gets_no_copy() -> None:
    assert open_package(b"not a zip") is None
    assert open_package(b"") is None
    data = bytearray(package(**PARTS))
    at = data.find(b"PK\x03\x04", 1)  # the second part's local header, moved away
    data[at : at + 4] = b"XXXX"
    assert open_package(bytes(data)) is None


def test_a_part_larger_than_the_package_says_is_not_inflated_beyond_that() -> None:
    """A part that inflates to far more than its directory entry says (a zip bomb's way)
    is left as it came, after at most the size it claims."""
    big = "<worksheet><sheetData/>" + " " * 5_000_000 + "</worksheet>"
    data = package(**{**PARTS, "xl/worksheets/c.xml": big})
    opened = open_package(_set_in_directory(data, "xl/worksheets/c.xml", size=1000))
    assert opened is not None
    assert "xl/worksheets/c.xml" not in opened.parts
    assert "xl/worksheets/a.xml" in opened.parts
    with zipfile.ZipFile(io.BytesIO(opened.stored)) as copy:
        assert copy.getinfo("xl/worksheets/c.xml").compress_type == zipfile.ZIP_DEFLATED
    assert read_guards(opened, ["项目", "说明"]).protected == {"项目": True}
