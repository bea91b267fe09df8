"""The templates of a roster: one per department, named by its code, each prefilled with
last year's data where a table matches the department by code or by name. The project
template (项目支出绩效目标) and the department-wide one (部门整体支出绩效目标) are written
for each department as asked (`form`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Literal, Protocol, TypeVar

from perfxl.domain.codesets import CodeSet
from perfxl.domain.model import Department, OverallTable, TargetTable
from perfxl.errors import InputError
from perfxl.formats.overall_spec import OverallSpec
from perfxl.formats.overall_writer import write_overall_template
from perfxl.formats.roster import RosterEntry
from perfxl.formats.spec import TemplateSpec
from perfxl.formats.template_writer import TemplateOptions, write_template

Form = Literal["project", "department", "both"]
OVERALL_SUFFIX = "-部门整体"  # the department-wide template of department 820: 820-部门整体.xlsx


@dataclass
class TemplateRun:
    """What `perfxl template` wrote."""

    files: list[Path] = field(default_factory=list)
    prefilled: dict[str, str] = field(default_factory=dict)  # file name → source department
    unmatched: list[str] = field(default_factory=list)  # prefill departments not on the roster


class _HasDepartment(Protocol):
    department: Department


T = TypeVar("T", bound=_HasDepartment)


def _key(name: str | None) -> str:
    return "".join((name or "").split())


class _Matcher(Generic[T]):
    """Last year's tables, each given to one department at most."""

    def __init__(self, tables: Sequence[T]) -> None:
        self.tables, self.used = list(tables), set[int]()

    def match(self, dept: Department) -> T | None:
        """The table of a department: by its code, by its name, or by a code that begins
        with the department's (`820001-某某镇人民政府` is department 820's)."""
        tests: list[Callable[[Department], bool]] = [
            lambda d: bool(dept.code) and d.code == dept.code,
            lambda d: bool(dept.name) and _key(d.name) == _key(dept.name),
            lambda d: bool(dept.code) and (d.code or "").startswith(dept.code or "-"),
        ]
        for test in tests:
            for i, table in enumerate(self.tables):
                if i not in self.used and test(table.department):
                    self.used.add(i)
                    return table
        return None

    def only(self) -> T | None:
        """The one table given, where there is one and it is still free."""
        if len(self.tables) == 1 and not self.used:
            self.used.add(0)
            return self.tables[0]
        return None

    def unmatched(self) -> list[str]:
        return [
            t.department.name or t.department.code or "（未知单位）"
            for i, t in enumerate(self.tables)
            if i not in self.used
        ]


def write_templates(
    output: Path,
    spec: TemplateSpec,
    codeset: CodeSet,
    options: TemplateOptions,
    roster: list[RosterEntry] | None = None,
    prefill: list[TargetTable] | None = None,
    department: Department | None = None,
    form: Form = "project",
    overall: tuple[OverallSpec, CodeSet] | None = None,
    overall_prefill: list[OverallTable] | None = None,
) -> TemplateRun:
    """One template per roster department (of each form asked) into the folder `output`,
    or, without a roster, one at `output` (a .xlsx path, or a folder). Prefilled data is
    matched to a department by code, then by name; data that matches no department is
    reported. `overall`: the department-wide template's spec and code set."""
    if form != "project" and overall is None:
        raise InputError("生成部门整体模板需要其模板定义")
    run = TemplateRun()
    projects, overalls = _Matcher(prefill or []), _Matcher(overall_prefill or [])
    forms = ("project", "department") if form == "both" else (form,)

    def write(dept: Department, folder: Path, path: Path | None) -> None:
        for one in forms:
            matcher: _Matcher[TargetTable] | _Matcher[OverallTable]
            matcher = projects if one == "project" else overalls
            table = matcher.match(dept) if dept.code or dept.name else None
            if table is None and not roster:  # one file: the one table given is its
                table = matcher.only()
                if table is not None:
                    dept = Department(code=dept.code or table.department.code,
                                      name=dept.name or table.department.name)  # fmt: skip
            suffix = "" if one == "project" else OVERALL_SUFFIX
            target = path or folder / f"{dept.code or 'template'}{suffix}.xlsx"
            if isinstance(table, OverallTable) or one == "department":
                assert overall is not None and not isinstance(table, TargetTable)
                written = write_overall_template(target, *overall, dept, options, table)
            else:
                written = write_template(target, spec, codeset, dept, options, table)
            run.files.append(written)
            if table is not None:
                run.prefilled[written.name] = table.department.name or dept.name or ""

    single = output.suffix.lower() == ".xlsx"
    if roster:
        if single:
            raise InputError("使用名单时 -o 应为目录，每个单位一个文件")
        for entry in roster:
            write(Department(code=entry.code, name=entry.name), output, None)
    else:
        if single and len(forms) > 1:
            raise InputError("同时生成两种模板时 -o 应为目录")
        write(department or Department(), output, output if single else None)
    # Last year's tables of a form not written are not said to match no department.
    run.unmatched = [*(projects.unmatched() if "project" in forms else []),
                     *(overalls.unmatched() if "department" in forms else [])]  # fmt: skip
    return run
