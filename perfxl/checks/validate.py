"""Validate files: read each one, whatever its kind, check it against the rules, and report
every issue in the reading order of the file."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfxl.checks import catalogue as cat
from perfxl.checks.config import Config
from perfxl.checks.overall import check_overall
from perfxl.checks.rules import check_table
from perfxl.domain.codesets import CodeSet, bundled_names, load_codeset
from perfxl.domain.model import Issue, OverallTable, Project, TargetTable
from perfxl.errors import FileError
from perfxl.formats.detect import read_any
from perfxl.formats.inspect import FileEncrypted, FileRefused
from perfxl.formats.mapping import Layout
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_frame import Expected

READABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv", ".tsv", ".txt", ".json")


@dataclass
class FileReport:
    """One file validated: what kind it was, what it holds, every issue found."""

    file: str
    kind: str | None
    table: TargetTable | None
    issues: list[Issue] = dataclasses.field(default_factory=list)
    overall: OverallTable | None = None  # a department-wide table, where that is what it was

    @property
    def readable(self) -> bool:
        return self.table is not None

    def data_rows(self) -> dict[str, int]:
        """The last row each sheet's data was read from, by sheet (`data_rows`)."""
        return data_rows(self.table.projects if self.table else [], self.overall)

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "readable": self.readable,
            "projects": len(self.table.projects) if self.table else 0,
            "indicators": len(self.overall.indicators)
            if self.overall
            else (self.table.indicator_count if self.table else 0),
            "errors": self.errors,
            "warnings": self.warnings,
        }


# The fields of an issue in `validate --format json|csv`, in their order.
ISSUE_FIELDS = (
    "file",
    "sheet",
    "cell",
    "row",
    "column",
    "code",
    "severity",
    "message",
    "value",
    "hint",
)


def reports_to_dict(reports: list[FileReport]) -> dict[str, Any]:
    """What `validate --format json` prints: each file, then every issue."""
    return {
        "files": [r.summary() for r in reports],
        "issues": [{k: getattr(i, k) for k in ISSUE_FIELDS} for r in reports for i in r.issues],
    }


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders as the workbooks and tables inside them, sorted. Lock files
    (`~$…`) and hidden files are skipped."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in READABLE_SUFFIXES
                and not p.name.startswith(("~$", "."))
            )
        else:
            out.append(path)
    return out


# What a file that is not our template was read as, for people.
LAYOUTS = {
    "department": "部门整体绩效目标表",
    "plain": "表头匹配的普通工作表",
    "published": "公开表（每个项目一行，指标合并在一个单元格）",
    "grid": "指标明细表（每个指标一行）",
    "form": "项目绩效目标申报表（每个项目一张表）",
}


def _codeset_for(table: TargetTable, given: CodeSet | None, spec: TemplateSpec) -> CodeSet:
    """The code set to check a table against: the one given, else the one the table was
    written with or its codes tell (where perfxl knows it), else the spec's."""
    if given is not None:
        return given
    if table.codeset and table.codeset in bundled_names():
        return load_codeset(table.codeset)
    return load_codeset(spec.codeset)


def validate_file(
    path: Path,
    codeset: CodeSet | None,
    config: Config,
    spec: TemplateSpec,
    expected: Expected | None = None,
    data: bytes | None = None,
    layout: Layout | None = None,
    overall_spec: OverallSpec | None = None,
) -> FileReport:
    """Read and check one file (`data`: its content, when already read) against `codeset`,
    or, without one, the code set the file was written with or its codes tell. A file that
    cannot be read at all gives one issue. `layout`: a user's description of a layout. At
    most `[limits] issues_per_rule` issues of one kind are listed, and how many there were."""
    with cat.budget(config.limits.issues_per_rule):
        return _validate_file(path, codeset, config, spec, expected, data, layout, overall_spec)


def _validate_file(
    path: Path,
    codeset: CodeSet | None,
    config: Config,
    spec: TemplateSpec,
    expected: Expected | None,
    data: bytes | None,
    layout: Layout | None,
    overall_spec: OverallSpec | None,
) -> FileReport:
    try:
        result = read_any(path, codeset, spec, expected, data, layout, overall_spec, config.limits)
    except FileError as exc:
        rule = (
            cat.FILE_TOO_LARGE if isinstance(exc, FileRefused)
            else cat.FILE_ENCRYPTED if isinstance(exc, FileEncrypted)
            else cat.FILE_UNREADABLE
        )  # fmt: skip
        return FileReport(str(path), None, None, [rule.issue(file=str(path), reason=exc.reason)])
    except Exception as exc:
        reason = f"读取时出现意外错误（{type(exc).__name__}: {exc}）"
        return FileReport(
            str(path), None, None, [cat.FILE_UNREADABLE.issue(file=str(path), reason=reason)]
        )
    issues = list(result.issues)
    placed = {cat.LAYOUT_UNKNOWN.code, cat.SHEET_MISSING.code, cat.HEADER_NOT_FOUND.code}
    if (result.overall is None and not result.table.projects
            and not any(i.code in placed for i in issues)):  # fmt: skip
        issues.append(cat.NO_PROJECTS.issue(file=str(path)))  # a template returned blank
    if result.kind in LAYOUTS:
        issues.insert(0, cat.NOT_OUR_TEMPLATE.issue(file=str(path), kind=LAYOUTS[result.kind]))
    table_codeset = _codeset_for(result.table, codeset, spec)
    unread = {cat.SHEET_MISSING.code, cat.HEADER_NOT_FOUND.code}
    if result.overall is not None:  # a department-wide table
        places = result.kind == "template"  # typed into our template: to the cent
        invalid = {(i.sheet, i.cell) for i in issues if i.code == cat.AMOUNT_INVALID.code}
        issues += [
            i
            for i in check_overall(result.overall, table_codeset, config, str(path), places)
            if not (i.code == cat.TASK_AMOUNT_MISSING.code and (i.sheet, i.cell) in invalid)
        ]  # an amount that is not one is reported once, as such
    elif result.kind in ("template", "plain"):  # the spec: which fields, which must be filled
        fields = (spec.projects.fields, spec.indicators.fields)
        required = [c.key for c in spec.projects.columns if c.required and c.type != "seq"]
        indicators_read = not any(
            i.code in unread and i.sheet == spec.indicators.name for i in issues
        )
        always = ("project", "level1", "level2", "name", "annual")  # checked by their own rules
        indicator_required = [
            c.key for c in spec.indicators.columns if c.required and c.key not in always
        ]
        issues += check_table(
            result.table,
            table_codeset,
            config,
            str(path),
            fields,
            required,
            indicators_read,
            indicator_required,
        )
    else:  # the fields the data says it has: the registry's, and any a spec added
        fields = (result.table.fields("project"), result.table.fields("indicator"))
        # Amounts as the table gave them: converted from 元 they may have more places.
        issues += check_table(result.table, table_codeset, config, str(path), fields, places=False)
    issues = cat.settled(issues, str(path))  # placeholders out, before apply copies them
    ordered = sorted(config.apply(issues), key=_reading_order(spec))
    return FileReport(str(path), result.kind, result.table, ordered, result.overall)


def _reading_order(spec: TemplateSpec) -> Any:
    """File-level issues first, then sheet by sheet in the template's order, row by row,
    column by column."""
    sheets = {spec.instructions.name: 1, spec.projects.name: 2, spec.indicators.name: 3}

    def key(issue: Issue) -> tuple[int, str, int, int]:
        col = 0
        for ch in re.match(r"[A-Z]*", issue.cell or "").group():  # type: ignore[union-attr]
            col = col * 26 + ord(ch) - 64
        return (
            0 if issue.sheet is None else sheets.get(issue.sheet, 4),
            issue.sheet or "",
            issue.row or 0,
            col,
        )

    return key


def validate_paths(
    paths: Iterable[Path],
    codeset: CodeSet | None,
    config: Config,
    spec: TemplateSpec,
    expected: Expected | None = None,
) -> list[FileReport]:
    return [validate_file(p, codeset, config, spec, expected) for p in expand(paths)]


def data_rows(projects: list[Project], overall: OverallTable | None = None) -> dict[str, int]:
    """The last row each sheet's data was read from (projects, indicators, a
    department-wide form's lines, tasks and indicators), by sheet."""
    places: list[Any] = []
    for p in projects:
        places += [p, *p.indicators]
    if overall is not None:
        o = overall
        places += [*o.budget, *o.tasks, *o.indicators, o.total_at, o.goal_at]
    last: dict[str, int] = {}
    for at in places:
        if at is not None and at.sheet and at.row:
            last[at.sheet] = max(last.get(at.sheet, 0), at.row)
    return last
