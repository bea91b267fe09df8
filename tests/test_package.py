"""What is read beside calamine's values: custom document properties and sheet protection,
in the spellings other applications write, each part within its bound; and cells as text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from perfxl.formats.grid import column_texts, text_of
from perfxl.formats.package import read_guards
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


# --- bounds -----------------------------------------------------------------------------


def test_a_part_larger_than_the_package_says_is_not_read_beyond_that() -> None:
    """A part that inflates to far more than its directory entry says (a zip bomb's way)
    is read up to the size it claims, then found false: it tells nothing."""
    big = SHEET.format('<sheetProtection sheet="1"/>' + " " * 5_000_000)
    data = package(**{**PARTS, "xl/worksheets/c.xml": big})
    found = read_guards(_set_in_directory(data, "xl/worksheets/c.xml", size=1000), ["项目", "说明"])
    assert found.protected == {"项目": True}


def test_a_part_beyond_the_bound_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfxl.formats import package as module

    # Room for the workbook and its sheets, not for the properties part (581 bytes).
    monkeypatch.setattr(module, "PART_LIMIT", len(WORKBOOK.encode()))
    found = read_guards(package(**PARTS), ["项目", "说明"])
    assert found.protected == {"项目": True, "说明": False}
    assert found.properties == {}


def test_guards_of_real_workbooks(tmp_path: Path) -> None:
    """Workbooks written by xlsxwriter (our templates, filled) and saved by LibreOffice
    (which writes the sizes after each part): the identity and the protection are found."""
    inbox = sorted(
        p for p in SAMPLES.glob("*.xlsx") if "民政局" not in p.name and "部门整体" not in p.name
    )
    resaved = libreoffice_resave(inbox[:2], tmp_path / "lo")
    for path in [*inbox, *resaved]:
        found = read_guards(path, ["项目", "指标"])
        assert found.protected == {"项目": True, "指标": True}, path.name
        assert found.properties["perfxl_template_id"] == "perfxl-department-targets", path.name
