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
        }


@dataclass
class StatusReport:
    departments: list[DepartmentStatus]
    unknown: list[Submission]  # files from departments not on the roster
    money: dict[str, str]  # the amount fields, key → caption, in their order

    def count(self, status: str) -> int:
        return sum(1 for d in self.departments if d.status == status)

    def to_dict(self) -> dict[str, Any]:
        """What `status --json` prints."""
        return {
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
    """Each roster department's standing (or each department seen, without a roster)."""
    submissions = store.submissions(year)
    entries = (
        roster
        if roster is not None
        else [
            RosterEntry(code=code, name=name or code)
            for code, name in dict.fromkeys(
                (s.department_code, s.department_name) for s in submissions if s.department_code
            )
        ]
    )
    money = {f.key: f.title for f in store.fields("project").money}
    by_department: dict[str, list[Submission]] = {}
    for s in submissions:
        if s.department_code:
            by_department.setdefault(s.department_code, []).append(s)
    out = []
    for entry in entries:
        mine = by_department.get(entry.code, [])
        status = DepartmentStatus(
            entry.code,
            entry.name,
            "missing",
            submissions=len(mine),
            amounts=dict.fromkeys(money, Decimal("0.00")),
        )
        in_force = [s for s in mine if s.status == "accepted"]
        latest_rejected = [s for s in mine if s.status == "rejected"]
        chosen = in_force[-1] if in_force else (latest_rejected[-1] if latest_rejected else None)
        if chosen is not None:
            status.status, status.submission = chosen.status, chosen
            status.errors, status.warnings = chosen.errors, chosen.warnings
            if chosen.status == "accepted":
                status.projects, status.indicators, status.amounts = store.figures(chosen.id)
        out.append(status)
    known = {e.code for e in entries}
    unknown = [s for s in submissions if s.department_code not in known]
    return StatusReport(out, unknown, money)
