"""What the ledger holds, as every query that reads it: the submissions, one submission's
projects, indicators, issues and changes, a department's figures, the fields recorded, and
the detail tables streamed for the ledger's outputs. The store (ledger/store.py) adds the
connection and the statements that write."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from perfxl.domain.fields import INDICATOR, PROJECT, Fields, extra_field
from perfxl.domain.model import BudgetLine, Extra, Indicator, Issue, OverallTable, Project, Task
from perfxl.formats.roster import RosterEntry
from perfxl.ledger.database import Connection, Row

PROJECT_COLUMNS = PROJECT.attributes
INDICATOR_COLUMNS = INDICATOR.attributes
ISSUE_COLUMNS = ("code", "severity", "message", "hint", "sheet", "cell", "row", "column_name")
# The attributes held as Decimal (stored as decimal text).
DECIMALS = frozenset(f.key for fields in (PROJECT, INDICATOR) for f in fields if f.is_decimal)
_SUBMISSION_COLUMNS = (
    "id, department_code, department_name, file_department_code, file_department_name,"
    " fiscal_year, file_name, file_path, sha256, received_at, kind, status, errors, warnings,"
    " superseded_by, form"
)


def to_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@dataclass
class Submission:
    id: int
    department_code: str | None
    department_name: str | None
    file_department_code: str | None
    file_department_name: str | None
    fiscal_year: int | None
    file_name: str
    file_path: str
    sha256: str
    received_at: str
    kind: str | None
    status: str
    errors: int
    warnings: int
    superseded_by: int | None
    form: str = "project"  # project / department (部门整体)


def _change(row: Row) -> dict[str, Any]:
    return {
        "change": row["change"],
        "project": row["project_key"],
        "name": row["project_name"],
        "fields": json.loads(row["fields"]),
    }


def decode_extra(text: str, fields: Fields) -> Extra:
    """The extra fields' values of a row, from their JSON, amounts as Decimal."""
    values: dict[str, Any] = json.loads(text) if text != "{}" else {}
    for key, value in values.items():
        field = fields.get(key)
        if field is not None and field.is_money and isinstance(value, str):
            # A key recorded as an amount may hold text from a spec that made it text.
            with contextlib.suppress(InvalidOperation):
                values[key] = Decimal(value)
    return values


class Queries:
    """The reading half of the store."""

    db: Connection

    # --- reading -------------------------------------------------------------------------

    def fields(self, entity: str) -> Fields:
        """The fields of projects or indicators in this ledger: the registry's, then the
        extra ones recorded, in the order they were first recorded."""
        rows = self.db.execute(
            "SELECT key, header, type FROM fields WHERE entity = ? ORDER BY position", (entity,)
        )
        extras = [extra_field(r["key"], r["header"], money=r["type"] == "amount") for r in rows]
        return (PROJECT if entity == "project" else INDICATOR).with_extras(extras)

    def roster(self, year: int | None = None) -> list[RosterEntry] | None:
        """The roster a collect was given for `year` (or, for a year it was not given one,
        the one given with no year; with no year asked, the latest given), in its order;
        None if none was."""
        if year is None:
            found = self.db.execute("SELECT year FROM roster ORDER BY saved DESC LIMIT 1")
        else:
            found = self.db.execute(
                "SELECT year FROM roster WHERE year IN (?, 0) ORDER BY year DESC LIMIT 1", (year,)
            )
        row = found.fetchone()
        if row is None:
            return None
        rows = self.db.execute(
            "SELECT code, name, parent, contact FROM roster WHERE year = ? ORDER BY position",
            (row[0],),
        ).fetchall()
        return [RosterEntry(code=r[0], name=r[1], parent=r[2], contact=r[3]) for r in rows]

    def by_sha256(self, sha256: str) -> Submission | None:
        """The submission of a file, known by its bytes."""
        row = self.db.execute(
            f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return Submission(**dict(row)) if row is not None else None

    def submission(self, submission_id: int) -> Submission | None:
        row = self.db.execute(
            f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE id = ?", (submission_id,)
        ).fetchone()
        return Submission(**dict(row)) if row is not None else None

    def submissions(
        self,
        year: int | None = None,
        status: str | None = None,
        form: str | None = None,
        department: str | None = None,
    ) -> list[Submission]:
        """Every submission (of a year, of a status, of a form, of a department), in the
        order they arrived."""
        where: list[str] = ["TRUE"]
        params: list[object] = []
        if department is not None:
            where.append("department_code = ?")
            params.append(department)
        if form is not None:
            where.append("form = ?")
            params.append(form)
        if year is not None:
            where.append("fiscal_year = ?")
            params.append(year)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        rows = self.db.execute(
            f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE {' AND '.join(where)}"
            " ORDER BY received_at, id",
            params,
        ).fetchall()
        return [Submission(**dict(row)) for row in rows]

    def projects(self, submission_id: int) -> list[Project]:
        """A submission's projects with their indicators, as they were recorded."""
        fields, indicator_fields = self.fields("project"), self.fields("indicator")
        projects: dict[int, Project] = {}
        for row in self.db.execute(
            "SELECT * FROM projects WHERE submission_id = ? ORDER BY position", (submission_id,)
        ):
            values = {a: to_decimal(row[a]) if a in DECIMALS else row[a] for a in PROJECT_COLUMNS}
            projects[row["id"]] = Project(
                **values,
                extra=decode_extra(row["extra"], fields),
                sheet=row["sheet"],
                cell=row["cell"],
                row=row["row"],
            )
        for row in self.db.execute(
            "SELECT i.* FROM projects p JOIN indicators i ON i.project_id = p.id"
            " WHERE p.submission_id = ? ORDER BY i.project_id, i.position",
            (submission_id,),
        ):
            projects[row["project_id"]].indicators.append(
                Indicator(
                    **{
                        a: to_decimal(row[a]) if a in DECIMALS else row[a]
                        for a in INDICATOR_COLUMNS
                    },
                    raw=row["raw"],
                    extra=decode_extra(row["extra"], indicator_fields),
                    sheet=row["sheet"],
                    cell=row["cell"],
                    row=row["row"],
                )
            )
        return list(projects.values())

    def overall(self, submission_id: int) -> OverallTable:
        """A department-wide submission's table, as it was recorded."""
        table = OverallTable()
        row = self.db.execute(
            "SELECT * FROM overviews WHERE submission_id = ?", (submission_id,)
        ).fetchone()
        if row is not None:
            table.total, table.goal = to_decimal(row["total"]), row["goal"]
            table.info = json.loads(row["info"])
            for key, label in (("total", "预算总额"), ("goal", "总体绩效目标")):
                if row[f"{key}_cell"]:
                    at = BudgetLine(label=label, sheet=row[f"{key}_sheet"],
                                    cell=row[f"{key}_cell"], row=row[f"{key}_row"])  # fmt: skip
                    setattr(table, f"{key}_at", at)
        for r in self.db.execute(
            "SELECT * FROM budget_lines WHERE submission_id = ? ORDER BY position",
            (submission_id,),
        ):
            table.budget.append(BudgetLine(group=r["grp"], label=r["label"],
                                           amount=to_decimal(r["amount"]), sheet=r["sheet"],
                                           cell=r["cell"], row=r["row"]))  # fmt: skip
        for r in self.db.execute(
            "SELECT * FROM tasks WHERE submission_id = ? ORDER BY position", (submission_id,)
        ):
            table.tasks.append(Task(
                name=r["name"], content=r["content"], amount=to_decimal(r["amount"]),
                fiscal=to_decimal(r["fiscal"]), other=to_decimal(r["other"]), goal=r["goal"],
                sheet=r["sheet"], cell=r["cell"], row=r["row"],
            ))  # fmt: skip
        fields = self.fields("indicator")
        for r in self.db.execute(
            "SELECT * FROM overall_indicators WHERE submission_id = ? ORDER BY position",
            (submission_id,),
        ):
            table.indicators.append(Indicator(
                **{a: to_decimal(r[a]) if a in DECIMALS else r[a] for a in INDICATOR_COLUMNS},
                raw=r["raw"], extra=decode_extra(r["extra"], fields), sheet=r["sheet"],
                cell=r["cell"], row=r["row"],
            ))  # fmt: skip
        return table

    def issues(self, submission_id: int) -> list[Issue]:
        return [
            Issue(
                **{k: r[k] for k in ISSUE_COLUMNS if k != "column_name"},
                column=r["column_name"],
                value=r["value"],
            )
            for r in self.db.execute(
                "SELECT * FROM issues WHERE submission_id = ? ORDER BY id", (submission_id,)
            )
        ]

    def changes(self, submission_id: int) -> list[dict[str, Any]]:
        return [
            _change(r)
            for r in self.db.execute(
                "SELECT * FROM changes WHERE submission_id = ? ORDER BY id", (submission_id,)
            )
        ]

    def standing(self, ids: list[int]) -> dict[int, tuple[str, list[dict[str, Any]]]]:
        """The status of each of these submissions, and its changes against the one it
        replaced."""
        found: dict[int, tuple[str, list[dict[str, Any]]]] = {}
        for start in range(0, len(ids), 500):  # within SQLite's limit of parameters
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self.db.execute(
                f"SELECT id, status FROM submissions WHERE id IN ({marks})", chunk
            ):
                found[row["id"]] = (row["status"], [])
            for r in self.db.execute(
                f"SELECT * FROM changes WHERE submission_id IN ({marks}) ORDER BY id", chunk
            ):
                found[r["submission_id"]][1].append(_change(r))
        return found

    def counts(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("submissions", "projects", "indicators", "issues", "changes")
        }

    def figures(self, submission_id: int) -> tuple[int, int, dict[str, Decimal]]:
        """A submission's number of projects and of indicators, and the sum of each amount
        field of its projects."""
        fields = self.fields("project")
        sums = {f.key: Decimal("0.00") for f in fields.money}
        projects = 0
        for row in self.db.execute(
            "SELECT * FROM projects WHERE submission_id = ?", (submission_id,)
        ):
            projects += 1
            extra = decode_extra(row["extra"], fields)
            for f in fields.money:
                value = extra.get(f.key) if f.extra else to_decimal(row[f.key])
                sums[f.key] += value if isinstance(value, Decimal) else 0
        indicators = self.db.execute(
            "SELECT COUNT(*) FROM projects p JOIN indicators i ON i.project_id = p.id"
            " WHERE p.submission_id = ?",
            (submission_id,),
        ).fetchone()[0]
        return projects, indicators, sums

    # --- the ledger's detail tables, streamed --------------------------------------------

    def project_rows(self, year: int | None, submission: int | None = None) -> Iterator[Row]:
        """The projects of the accepted submissions (or of one of them), with their
        department, file and number of indicators, by department."""
        where, params = _accepted(year, submission)
        yield from self.db.execute(
            "SELECT s.department_code, s.department_name, s.file_name, p.*,"
            " (SELECT COUNT(*) FROM indicators i WHERE i.project_id = p.id) AS indicator_count"
            f" FROM projects p JOIN submissions s ON s.id = p.submission_id WHERE {where}"
            " ORDER BY s.department_code NULLS FIRST, s.id, p.position",
            params,
        )

    def indicator_rows(self, year: int | None, submission: int | None = None) -> Iterator[Row]:
        """The indicators of the accepted submissions (or of one of them), with their
        project, department and file, by department."""
        where, params = _accepted(year, submission)
        yield from self.db.execute(
            "SELECT s.department_code, s.department_name, s.file_name, p.code AS project_code,"
            " p.name AS project_name, i.* FROM indicators i JOIN projects p ON p.id = i.project_id"
            f" JOIN submissions s ON s.id = p.submission_id WHERE {where}"
            " ORDER BY s.department_code NULLS FIRST, s.id, p.position, i.position",
            params,
        )

    def overall_indicator_rows(
        self, year: int | None, submission: int | None = None
    ) -> Iterator[Row]:
        """The department-wide indicators of the accepted submissions (or of one of them),
        by department."""
        where, params = _accepted(year, submission)
        yield from self.db.execute(
            "SELECT s.department_code, s.department_name, s.file_name, i.*"
            f" FROM overall_indicators i JOIN submissions s ON s.id = i.submission_id"
            f" WHERE {where} ORDER BY s.department_code NULLS FIRST, s.id, i.position",
            params,
        )

    def issue_rows(self, year: int | None) -> Iterator[Row]:
        """The issues of the submissions not superseded, with their department and file."""
        where, params = "s.status != 'superseded'", [] if year is None else [year]
        if year is not None:
            where += " AND s.fiscal_year = ?"
        yield from self.db.execute(
            "SELECT s.department_code, s.department_name, s.file_name, s.status, i.*"
            f" FROM issues i JOIN submissions s ON s.id = i.submission_id WHERE {where}"
            " ORDER BY s.department_code NULLS FIRST, s.id, i.id",
            params,
        )

    def accepted_ids(self, year: int | None) -> list[int]:
        """The accepted submissions, in the order of the detail tables: those of the project
        form, by department, then those of the department-wide form, by department."""
        where, params = _accepted(year)
        return [
            row[0]
            for row in self.db.execute(
                f"SELECT s.id FROM submissions s WHERE {where}"
                " ORDER BY s.form != 'project', s.department_code NULLS FIRST, s.id",
                params,
            )
        ]

    def copies(self, table: str, signature: str) -> dict[int, str]:
        """The submissions whose rows of a detail table have a column copy of this
        signature, with the types of its columns that differ from the usual."""
        return dict(
            self.db.execute(
                "SELECT submission_id, types FROM column_copies WHERE tab = ? AND signature = ?",
                (table, signature),
            ).fetchall()
        )

    def copy_data(self, table: str, signature: str, ids: list[int]) -> dict[int, bytes]:
        """The column copies of a table, of this signature, that these submissions have."""
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self.db.execute(
            "SELECT submission_id, data FROM column_copies WHERE tab = ? AND signature = ?"
            f" AND submission_id IN ({marks})",
            [table, signature, *ids],
        )
        return {int(row[0]): bytes(row[1]) for row in rows}


def _accepted(year: int | None, submission: int | None = None) -> tuple[str, list[object]]:
    where, params = ["s.status = 'accepted'"], list[object]()
    if year is not None:
        where.append("s.fiscal_year = ?")
        params.append(year)
    if submission is not None:
        where.append("s.id = ?")
        params.append(submission)
    return " AND ".join(where), params
