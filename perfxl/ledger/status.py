"""Who submitted what: against the roster, which departments have an accepted submission,
which were rejected, which never submitted, and which files came from departments not on
the roster, with each department's figures from its accepted submission."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perfxl.formats.roster import RosterEntry
from perfxl.ledger.queries import Submission
from perfxl.ledger.store import Store

STATUS_TEXT = {
    "accepted": "已接收",
    "rejected": "已退回",
    "missing": "未提交",
    "superseded": "已被替代",
    "unknown": "不在名单",
}


@dataclass
class OverallStatus:
    """A department's department-wide form (部门整体): its standing and figures."""

    status: str  # accepted / rejected / missing
    submission: Submission | None = None
    total: Decimal | None = None  # the declared 预算总额
    tasks: int = 0
    tasks_amount: Decimal = Decimal("0.00")  # the key tasks' money added up
    indicators: int = 0
    errors: int = 0
    warnings: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "file": self.submission.file_name if self.submission else None,
            "total": None if self.total is None else str(self.total),
            "tasks": self.tasks,
            "tasks_amount": str(self.tasks_amount),
            "indicators": self.indicators,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass
class DepartmentStatus:
    code: str
    name: str
    status: str  # accepted / rejected / missing
    submission: Submission | None = None
    submissions: int = 0
    projects: int = 0
    indicators: int = 0
    # The sum of each amount field (总计 and its sources, and any amount a template added).
    amounts: dict[str, Decimal] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0
    overall: OverallStatus | None = None  # where the ledger holds department-wide forms

    @property
    def complete(self) -> bool:
        """Is every form expected of it accepted?"""
        return self.status == "accepted" and (
            self.overall is None or self.overall.status == "accepted"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "status": self.status,
            "file": self.submission.file_name if self.submission else None,
            "projects": self.projects,
            "indicators": self.indicators,
            "errors": self.errors,
            "warnings": self.warnings,
            "amounts": {k: str(v) for k, v in self.amounts.items()},
            "overall": self.overall.to_dict() if self.overall else None,
        }


@dataclass
class StatusReport:
    departments: list[DepartmentStatus]
    unknown: list[Submission]  # files from departments not on the roster
    money: dict[str, str]  # the amount fields, key → caption, in their order
    overall: bool = False  # does the ledger hold department-wide forms (then each is expected)
    roster: bool = True  # is there a roster (else who is missing is not known)

    def count(self, status: str) -> int:
        return sum(1 for d in self.departments if d.status == status)

    def to_dict(self) -> dict[str, Any]:
        """What `status --json` prints."""
        return {
            "roster": self.roster,
            "departments": [d.to_dict() for d in self.departments],
            "unknown": [
                {
                    "file": s.file_name,
                    "department": s.file_department_name or s.file_department_code,
                }
                for s in self.unknown
            ],
        }


def department_status(
    store: Store, roster: list[RosterEntry] | None, year: int | None = None
) -> StatusReport:
    """Each roster department's standing in each form (or each department seen, without a
    roster). The department-wide form is expected once the ledger holds one."""
    everything = store.submissions(year)
    overall = [s for s in everything if s.form == "department"]
    roster = roster if roster is not None else store.roster(year)
    entries = (
        roster
        if roster is not None
        else [
            RosterEntry(code=code, name=name or code)
            # One row per department code, named as its latest submission names it.
            for code, name in {
                s.department_code: s.department_name for s in everything if s.department_code
            }.items()
        ]
    )
    money = {f.key: f.title for f in store.fields("project").money}
    by_department: dict[str, list[Submission]] = {}
    overall_by: dict[str, list[Submission]] = {}
    for s in everything:
        if s.department_code:
            into = by_department if s.form == "project" else overall_by
            into.setdefault(s.department_code, []).append(s)
    out = []
    for entry in sorted(entries, key=lambda e: e.code):
        mine = by_department.get(entry.code, [])
        status = DepartmentStatus(
            entry.code,
            entry.name,
            "missing",
            submissions=len(mine),
            amounts=dict.fromkeys(money, Decimal("0.00")),
        )
        chosen = _standing(mine)
        if overall:
            status.overall = _overall(store, overall_by.get(entry.code, []))
        if chosen is not None:
            status.status, status.submission = chosen.status, chosen
            status.errors, status.warnings = chosen.errors, chosen.warnings
            if chosen.status == "accepted":
                status.projects, status.indicators, status.amounts = store.figures(chosen.id)
        out.append(status)
    known = {e.code for e in entries}
    unknown = [s for s in everything if s.department_code not in known]
    return StatusReport(out, unknown, money, bool(overall), roster is not None)


def _standing(mine: list[Submission]) -> Submission | None:
    """The submission that stands: the accepted one in force, else the latest rejected."""
    in_force = [s for s in mine if s.status == "accepted"]
    rejected = [s for s in mine if s.status == "rejected"]
    return in_force[-1] if in_force else (rejected[-1] if rejected else None)


def _overall(store: Store, mine: list[Submission]) -> OverallStatus:
    chosen = _standing(mine)
    if chosen is None:
        return OverallStatus("missing")
    found = OverallStatus(chosen.status, chosen, errors=chosen.errors, warnings=chosen.warnings)
    if chosen.status == "accepted":
        table = store.overall(chosen.id)
        found.total, found.tasks, found.indicators = (
            table.total,
            len(table.tasks),
            len(table.indicators),
        )
        found.tasks_amount = sum((t.amount for t in table.tasks if t.amount is not None),
                                 Decimal("0.00"))  # fmt: skip
    return found
