"""Which kind of file is this? One of our templates, filled in; a plain workbook with the
template's headers; perfxl's structured workbook; the JSON that `import` prints; or a table
as the country lays them out: the packed published table, the indicator grid (one row per
indicator), the per-project form, or a layout a user describes. Each is read by its own
module into the same model; a file that fits none gets one issue that says what was looked
for."""

from __future__ import annotations

from pathlib import Path

from perfxl.checks import catalogue as cat
from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import ReadResult, TargetTable
from perfxl.formats import grid_table, project_form, published
from perfxl.formats.grid import Sheet, read_sheets
from perfxl.formats.jsonfile import read_json
from perfxl.formats.mapping import Layout, read_mapped
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
    layout: Layout | None = None,
) -> ReadResult:
    """Read a file of any supported kind (`data`: its content, when already read; `layout`:
    a user's description of a layout, tried first). Raises FileError only for an
    unreadable file."""
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
    if layout is not None and (mapped := read_mapped(path, sheets, layout, codeset)):
        return mapped
    return read_table(path, sheets, codeset)


def read_table(path: Path, sheets: list[Sheet], codeset: CodeSet | None = None) -> ReadResult:
    """A table laid out as the country lays them out: the grid, the packed table or the
    forms, whichever the file's captions show."""
    for sheet in sheets:
        header = grid_table.find_header(sheet)
        if header is not None:
            return grid_table.read_grid(path, sheet, header, codeset)
    for sheet in sheets:
        header = published.find_header(sheet)
        if header is not None:
            return published.read_packed(path, sheet, header, codeset)
    forms = [(s, found) for s in sheets if (found := project_form.find_forms(s))]
    if forms:
        return project_form.read_forms(path, sheets, forms, codeset)
    issue = cat.LAYOUT_UNKNOWN.issue(file=str(path), sheet=sheets[0].name if sheets else None)
    return ReadResult(file=str(path), kind="published", table=TargetTable(), issues=[issue])
