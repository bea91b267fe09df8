"""Which kind of file is this? One of our templates, filled in; a plain workbook with the
template's headers; perfxl's structured workbook; the JSON that `import` prints; or a
published table. Each is read by its own module into the same model."""

from __future__ import annotations

from pathlib import Path

from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import ReadResult
from perfxl.formats.grid import Sheet, read_sheets
from perfxl.formats.jsonfile import read_json
from perfxl.formats.published import read_published
from perfxl.formats.spec import TemplateSpec, load_spec
from perfxl.formats.structured import is_structured, read_structured
from perfxl.formats.template_frame import Expected, find_header, read_meta
from perfxl.formats.template_reader import read_template


def _is_plain(sheets: list[Sheet], spec: TemplateSpec) -> bool:
    return any(find_header(s, spec.projects) for s in sheets) and any(
        find_header(s, spec.indicators) for s in sheets
    )


def read_any(
    path: Path,
    codeset: CodeSet | None = None,
    spec: TemplateSpec | None = None,
    expected: Expected | None = None,
    data: bytes | None = None,
) -> ReadResult:
    """Read a file of any supported kind (`data`: its content, when already read). Raises
    FileError only for an unreadable file."""
    if path.suffix.lower() == ".json":
        return read_json(path, data)
    sheets = read_sheets(path, data)
    meta = read_meta(sheets)
    spec = spec or load_spec()
    if meta is not None and meta.get("template_id"):
        return read_template(path, sheets, spec, codeset, expected, data)
    if is_structured(sheets):
        return read_structured(path, sheets)
    if _is_plain(sheets, spec):
        return read_template(path, sheets, spec, codeset, expected, data)
    return read_published(path, codeset, sheets)
