"""The templates of a roster: one per department, named by its code, each prefilled with
last year's data where a table matches the department by code or by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Department, TargetTable
from perfxl.errors import InputError
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_writer import TemplateOptions, write_template


@dataclass
class TemplateRun:
    """What `perfxl template` wrote."""

    files: list[Path] = field(default_factory=list)
    prefilled: dict[str, str] = field(default_factory=dict)  # department code → source name
    unmatched: list[str] = field(default_factory=list)  # prefill departments not on the roster


def _key(name: str | None) -> str:
    return "".join((name or "").split())


def write_templates(
    output: Path,
    spec: TemplateSpec,
    codeset: CodeSet,
    options: TemplateOptions,
    roster: list[RosterEntry] | None = None,
    prefill: list[TargetTable] | None = None,
    department: Department | None = None,
) -> TemplateRun:
    """One template per roster department into the folder `output`, or, without a roster,
    one template at `output` (a .xlsx path, or a folder). Prefilled data is matched to a
    department by code, then by name; data that matches no department is reported."""
    run = TemplateRun()
    tables = list(prefill or [])
    used: set[int] = set()

    def match(dept: Department) -> TargetTable | None:
        """The table of a department: by its code, by its name, or by a code that begins
        with the department's (`820001-某某镇人民政府` is department 820's)."""
        tests: list[Callable[[TargetTable], bool]] = [
            lambda t: bool(dept.code) and t.department.code == dept.code,
            lambda t: bool(dept.name) and _key(t.department.name) == _key(dept.name),
            lambda t: bool(dept.code) and (t.department.code or "").startswith(dept.code or "-"),
        ]
        for test in tests:
            for i, table in enumerate(tables):
                if i not in used and test(table):
                    used.add(i)
                    return table
        return None

    if roster:
        if output.suffix.lower() == ".xlsx":
            raise InputError("使用名单时 -o 应为目录，每个单位一个文件")
        for entry in roster:
            dept = Department(code=entry.code, name=entry.name)
            table = match(dept)
            path = write_template(
                output / f"{entry.code}.xlsx", spec, codeset, dept, options, table
            )
            run.files.append(path)
            if table is not None:
                run.prefilled[entry.code] = table.department.name or entry.name
    else:
        dept = department or Department()
        table = match(dept) if (dept.code or dept.name) else None
        if table is None and len(tables) == 1:
            table, used = tables[0], {0}
            dept = Department(
                code=dept.code or table.department.code, name=dept.name or table.department.name
            )
        path = (
            output
            if output.suffix.lower() == ".xlsx"
            else output / f"{dept.code or 'template'}.xlsx"
        )
        run.files.append(write_template(path, spec, codeset, dept, options, table))
        if table is not None:
            run.prefilled[dept.code or ""] = table.department.name or ""
    run.unmatched = [
        t.department.name or t.department.code or "（未知单位）"
        for i, t in enumerate(tables)
        if i not in used
    ]
    return run
