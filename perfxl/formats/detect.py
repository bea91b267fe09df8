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
from perfxl.domain.fields import TASK, Fields
from perfxl.domain.model import (
    CONTROLS,
    Department,
    Indicator,
    Issue,
    Project,
    ReadResult,
    TargetTable,
    Task,
)
from perfxl.formats import grid_table, overall_table, project_form, published
from perfxl.formats.flagged import Flagged
from perfxl.formats.grid import Sheet, read_sheets
from perfxl.formats.inspect import DEFAULT_LIMITS, Limits
from perfxl.formats.jsonfile import read_json
from perfxl.formats.mapping import Layout, read_mapped
from perfxl.formats.overall_reader import (
    is_overall_template,
    overview_sheet,
    read_overall_template,
)
from perfxl.formats.overall_spec import OverallSpec, load_overall_spec
from perfxl.formats.spec import TemplateSpec, load_spec
from perfxl.formats.structured import is_structured, read_structured
from perfxl.formats.tables import apply_codeset
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
    overall_spec: OverallSpec | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ReadResult:
    """Read a file of any supported kind (`data`: its content, when already read; `layout`:
    a user's description of a layout, tried first; `overall_spec`: the department-wide
    template's spec, where it is not the bundled one; `limits`: how much of a workbook is
    read at most). Every value taken from a cell that shows an error, holds a formula
    saved without its result, or reads another workbook is an issue at its cell. Raises
    FileError only for a file that cannot be read at all."""
    if path.suffix.lower() == ".json":
        return read_json(path, data)
    sheets = read_sheets(path, data, limits)
    result = _read(path, sheets, codeset, spec, expected, data, layout, overall_spec)
    result.issues += flagged_cells(result, sheets)
    if any(sheet.controls for sheet in sheets):  # a pass over every value, where needed
        result.issues += strip_controls(result)
    result.issues += [
        cat.CONTROL_CHARACTERS.issue(file=result.file, sheet=sheet.name, column_name="工作表名称")
        for sheet in sheets
        if not sheet.name.isprintable() and CONTROLS.search(sheet.name)
    ]
    return result


def _read(
    path: Path,
    sheets: list[Sheet],
    codeset: CodeSet | None = None,
    spec: TemplateSpec | None = None,
    expected: Expected | None = None,
    data: bytes | None = None,
    layout: Layout | None = None,
    overall_spec: OverallSpec | None = None,
) -> ReadResult:
    meta = read_meta(sheets)
    spec = spec or load_spec()
    if is_overall_template(meta):
        return read_overall_template(path, sheets, meta, overall_spec, codeset, expected)
    if meta is not None and meta.get("template_id"):
        return read_template(path, sheets, spec, codeset, expected, data)
    if is_structured(sheets):
        return read_structured(path, sheets)
    if _is_plain(sheets, spec):
        return read_template(path, sheets, spec, codeset, expected, data)
    overall = overall_spec or load_overall_spec()
    if _is_plain_overall(sheets, overall):  # our department-wide template, `_meta` lost
        return read_overall_template(path, sheets, None, overall, codeset, expected)
    if layout is not None and (mapped := read_mapped(path, sheets, layout, codeset)):
        return mapped
    return read_table(path, sheets, codeset)


def flagged_cells(result: ReadResult, sheets: list[Sheet]) -> list[Issue]:
    """An issue for each cell a value was taken from whose value cannot be trusted: an error
    for an amount, a warning for text. A template's 总计, recomputed, is not taken."""
    read = _sheets_read(result)  # only these are looked through: a sheet read for nothing
    found = [s for s in sheets if s.name in read and s.flagged is not None]
    if not found:
        return []
    rows = {(sheet.name, _row_of(ref)) for sheet in found for ref in _refs(sheet.flagged)}
    taken = _taken(result, rows)
    issues = []
    for sheet in found:
        flagged = sheet.flagged
        assert flagged is not None
        marks = [(cat.CELL_ERROR, ref, text) for ref, text in flagged.errors.items()]
        marks += [(cat.FORMULA_NO_VALUE, ref, "") for ref in sorted(flagged.no_value)]
        marks += [(cat.EXTERNAL_LINK, ref, "") for ref in sorted(flagged.external)]
        for rule, ref, text in marks:
            field = taken.get((sheet.name, ref))
            if field is None:
                continue
            caption, money = field
            row = _row_of(ref)
            issues.append(rule.issue(
                file=result.file, sheet=sheet.name, cell=ref, row=row, column=caption,
                value=text or None, severity=None if money else "warning",
                column_name=caption, text=text))  # fmt: skip
    return issues


def _sheets_read(result: ReadResult) -> set[str | None]:
    """The sheets values were taken from."""
    read: set[str | None] = set()
    for project in result.table.projects:
        read.add(project.sheet)
        read.update(indicator.sheet for indicator in project.indicators)
    overall = result.overall
    if overall is not None:
        read.update(task.sheet for task in overall.tasks)
        read.update(line.sheet for line in [*overall.budget, overall.total_at] if line)
        read.update(indicator.sheet for indicator in overall.indicators)
        if overall.goal_at is not None:
            read.add(overall.goal_at.sheet)
    return read


def _row_of(ref: str) -> int:
    return int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") or 0)


def _refs(flagged: Flagged | None) -> list[str]:
    if flagged is None:
        return []
    return [*flagged.errors, *flagged.no_value, *flagged.external]


def _taken(
    result: ReadResult, rows: set[tuple[str, int]]
) -> dict[tuple[str | None, str], tuple[str, bool]]:
    """Every cell a value was taken from, in the rows (sheet, row) asked about: (sheet, A1)
    → its field's caption, and whether it is an amount."""
    out: dict[tuple[str | None, str], tuple[str, bool]] = {}
    computed = {"total"} if result.kind in ("template", "plain") else set()
    fields = result.table.fields("project"), result.table.fields("indicator")
    for project in result.table.projects:
        if (project.sheet, project.row) in rows:
            for key, letter in project.columns.items():
                field = fields[0].get(key)
                if field is not None and key not in computed and project.row:
                    out[(project.sheet, f"{letter}{project.row}")] = (
                        field.header,
                        field.is_money,
                    )
        for indicator in project.indicators:
            if (indicator.sheet, indicator.row) in rows:
                _indicator_cells(indicator, fields[1], out)
    overall = result.overall
    if overall is not None:
        for task in overall.tasks:
            for key, letter in task.columns.items():
                if key in TASK and task.row:
                    out[(task.sheet, f"{letter}{task.row}")] = (
                        TASK.header(key),
                        TASK[key].is_money,
                    )
        for line in [*overall.budget, overall.total_at]:
            if line is not None and line.cell:
                out[(line.sheet, line.cell)] = (line.label, True)
        if overall.goal_at is not None and overall.goal_at.cell:
            out[(overall.goal_at.sheet, overall.goal_at.cell)] = ("总体绩效目标", False)
        for indicator in overall.indicators:
            _indicator_cells(indicator, fields[1], out)
    return out


def _indicator_cells(indicator: Indicator, fields: Fields,
                     out: dict[tuple[str | None, str], tuple[str, bool]]) -> None:  # fmt: skip
    for key, letter in indicator.columns.items():
        field = fields.get(key)
        if field is not None and indicator.row:
            out[(indicator.sheet, f"{letter}{indicator.row}")] = (field.header, False)
    if indicator.cell:
        out.setdefault((indicator.sheet, indicator.cell), (fields.header("name"), False))


def strip_controls(result: ReadResult) -> list[Issue]:
    """Remove invisible control characters from every text read, each field once reported at
    its cell: nothing stored or shown carries them."""
    issues: list[Issue] = []
    rows: list[Project | Indicator | Task] = []
    for project in result.table.projects:
        rows += [project, *project.indicators]
    if result.overall is not None:
        rows += [*result.overall.tasks, *result.overall.indicators]
        overall = result.overall
        if not overall.goal.isprintable() and CONTROLS.search(overall.goal):
            overall.goal = CONTROLS.sub("", overall.goal)
            at = overall.goal_at
            issues.append(cat.CONTROL_CHARACTERS.issue(
                file=result.file, sheet=at.sheet if at else None, cell=at.cell if at else None,
                column_name="总体绩效目标"))  # fmt: skip
    for row in rows:
        for key, value in [*row.__dict__.items(), *getattr(row, "extra", {}).items()]:
            if value.__class__ is not str or value.isprintable() or not CONTROLS.search(value):
                continue
            cleaned = CONTROLS.sub("", value)
            if key in row.__dict__:
                setattr(row, key, cleaned)
            else:
                row.extra[key] = cleaned  # type: ignore[union-attr]
            letter = row.columns.get(key)
            cell = f"{letter}{row.row}" if letter and row.row else row.cell
            issues.append(cat.CONTROL_CHARACTERS.issue(
                file=result.file, sheet=row.sheet, cell=cell, row=row.row, column=key,
                value=cleaned[:50], column_name=key))  # fmt: skip
    return issues


def _is_plain_overall(sheets: list[Sheet], spec: OverallSpec) -> bool:
    """A workbook with the department-wide template's 重点任务 headers and 总体情况 labels."""
    return any(find_header(s, spec.tasks) for s in sheets) and any(
        overview_sheet(s, spec) for s in sheets
    )


def read_table(path: Path, sheets: list[Sheet], codeset: CodeSet | None = None) -> ReadResult:
    """A table laid out as the country lays them out: the department-wide table, the grid,
    the packed table or the forms, whichever the file's captions show; every sheet laid out
    so is read (a workbook with one sheet per subordinate unit). A file holds one
    department-wide table, or project tables: what it holds beside is reported, unread."""
    overall = [s for s in sheets if overall_table.is_overall(s)]
    if overall:
        result = overall_table.read_overall(path, overall[0], codeset)
        others = [s for s in sheets if s not in overall]
        projects = _projects(path, others, codeset)
        skipped = [s.name for s in overall[1:]]
        if projects is not None:
            skipped += list(dict.fromkeys(p.sheet or "" for p in projects.table.projects))
        if skipped:
            result.issues.append(cat.SHEETS_NOT_READ.issue(
                file=str(path), sheet=skipped[0], sheets="、".join(skipped)))  # fmt: skip
        return result
    found = _projects(path, sheets, codeset)
    if found is not None:
        return found
    issue = cat.LAYOUT_UNKNOWN.issue(file=str(path), sheet=sheets[0].name if sheets else None)
    return ReadResult(file=str(path), kind="published", table=TargetTable(), issues=[issue])


def _projects(path: Path, sheets: list[Sheet], codeset: CodeSet | None) -> ReadResult | None:
    """The project tables of these sheets, in the first layout that fits; None if none."""
    grids = [(s, h) for s in sheets if (h := grid_table.find_header(s))]
    if grids:
        return _merged([grid_table.read_grid(path, s, h, codeset) for s, h in grids], codeset)
    packed = [(s, h) for s in sheets if (h := published.find_header(s))]
    if packed:
        return _merged([published.read_packed(path, s, h, codeset) for s, h in packed], codeset)
    forms = [(s, found) for s in sheets if (found := project_form.find_forms(s))]
    if forms:
        return project_form.read_forms(path, sheets, forms, codeset)
    return None


def _merged(results: list[ReadResult], codeset: CodeSet | None) -> ReadResult:
    """The tables of several sheets as one: the department they agree on (each sheet's
    projects keep theirs as 资金使用单位 where they differ), their projects in turn."""
    if len(results) == 1:
        return results[0]
    first = results[0]
    names = {r.table.department.name for r in results}
    projects = []
    for result in results:
        for project in result.table.projects:
            if len(names) > 1 and not project.unit:
                project.unit = result.table.department.name
            projects.append(project)
    extras = {(e.entity, e.key): e for r in results for e in r.table.extras}
    table = TargetTable(
        department=first.table.department if len(names) == 1 else Department(),
        fiscal_year=first.table.fiscal_year,
        projects=projects,
        extras=list(extras.values()),
    )
    issues = [i for r in results for i in r.issues if i.code != cat.CODESET_MIXED.code]
    mixed = apply_codeset(table, codeset, first.file)
    return ReadResult(
        file=first.file, kind=first.kind, table=table, issues=[*issues, *([mixed] if mixed else [])]
    )
