"""The submission store: an embedded SQLite database (ledger.db).

Every submission is recorded with its department, year, file, sha256, received time,
template identity and status (accepted / rejected / superseded), with its projects,
indicators and issues, each row carrying its provenance (file, sheet, cell). perfxl
creates and migrates the schema itself. Each submission is written whole in a transaction
(with others read at the same time, when they are ready together), so a run killed midway
leaves whole submissions only, and the next run goes on from there.

Amounts are stored as decimal text, exactly as read, and summed as `Decimal`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from perfxl.domain.model import Indicator, Issue, Project
from perfxl.errors import FileError

SCHEMA_VERSION = 3
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        department_code TEXT,          -- the roster department it was matched to, if any
        department_name TEXT,
        file_department_code TEXT,     -- what the file itself says
        file_department_name TEXT,
        fiscal_year INTEGER,
        file_name TEXT NOT NULL,
        file_path TEXT NOT NULL,
        sha256 TEXT NOT NULL UNIQUE,
        received_at TEXT NOT NULL,     -- the file's modification time, ISO 8601
        recorded_at TEXT NOT NULL,
        kind TEXT,                     -- template / plain / published / structured / json
        template_id TEXT,
        template_version TEXT,
        status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'superseded')),
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        superseded_by INTEGER REFERENCES submissions(id)
    );
    CREATE INDEX submissions_department ON submissions (department_code, fiscal_year);
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        position INTEGER NOT NULL,
        code TEXT, name TEXT NOT NULL, unit TEXT,
        total TEXT, fiscal TEXT, special TEXT, other TEXT,
        goal TEXT NOT NULL,
        extra TEXT NOT NULL,           -- JSON: values of columns added to the spec
        sheet TEXT, cell TEXT, row INTEGER
    );
    CREATE INDEX projects_submission ON projects (submission_id);
    CREATE TABLE indicators (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        position INTEGER NOT NULL,
        level1 TEXT, level1_label TEXT, level2 TEXT, level2_label TEXT,
        name TEXT NOT NULL, nature TEXT,
        period TEXT NOT NULL, annual TEXT NOT NULL,
        period_operator TEXT, period_number TEXT, period_unit TEXT,
        annual_operator TEXT, annual_number TEXT, annual_unit TEXT,
        raw TEXT, extra TEXT NOT NULL,
        sheet TEXT, cell TEXT, row INTEGER
    );
    CREATE INDEX indicators_submission ON indicators (submission_id);
    CREATE TABLE issues (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        code TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL, hint TEXT,
        sheet TEXT, cell TEXT, row INTEGER, column_name TEXT, value TEXT
    );
    CREATE INDEX issues_submission ON issues (submission_id);
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        previous_id INTEGER NOT NULL REFERENCES submissions(id),
        change TEXT NOT NULL CHECK (change IN ('added', 'removed', 'changed')),
        project_key TEXT NOT NULL,
        project_name TEXT,
        fields TEXT NOT NULL           -- JSON: {field: [old, new]}
    );
    """,
    # A project's indicators are looked up by project (counts in the ledger's 项目明细).
    2: "CREATE INDEX indicators_project ON indicators (project_id)",
    # Less to write for every indicator collected: the parse of each value (operator,
    # number, unit) is derived from the value text when it is needed, not stored beside it.
    3: """
    ALTER TABLE indicators DROP COLUMN period_operator;
    ALTER TABLE indicators DROP COLUMN period_number;
    ALTER TABLE indicators DROP COLUMN period_unit;
    ALTER TABLE indicators DROP COLUMN annual_operator;
    ALTER TABLE indicators DROP COLUMN annual_number;
    ALTER TABLE indicators DROP COLUMN annual_unit;
    -- A submission's indicators are found through its projects: one index less to keep.
    DROP INDEX indicators_submission;
    -- Statuses follow from the order of arrival, whatever the order of recording: each
    -- submission keeps its own verdict and the submission it was compared with.
    ALTER TABLE submissions ADD COLUMN verdict TEXT
        CHECK (verdict IN ('accepted', 'rejected'));
    ALTER TABLE submissions ADD COLUMN previous_id INTEGER REFERENCES submissions(id);
    UPDATE submissions SET verdict = CASE
        WHEN status != 'superseded' THEN status
        WHEN errors = 0 THEN 'accepted' ELSE 'rejected' END;
    UPDATE submissions SET previous_id = (
        SELECT MAX(c.previous_id) FROM changes c WHERE c.submission_id = submissions.id);
    CREATE INDEX changes_submission ON changes (submission_id)
    """,
}


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


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


class Store:
    """The ledger database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, isolation_level=None)  # transactions by hand
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise FileError(path, f"不是 perfxl 的台账数据库，或已损坏（{exc}）") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise FileError(
                self.path, f"台账由更新版本的 perfxl 创建（结构版本 {version}），请升级 perfxl"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self._execute_migration(statement)
                self.db.execute(f"PRAGMA user_version = {target}")

    def _execute_migration(self, statement: str) -> None:
        try:
            self.db.execute(statement)
        except sqlite3.OperationalError:
            # SQLite before 3.35 cannot drop a column: the unused column stays, harmlessly.
            if "DROP COLUMN" not in statement:
                raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # --- writing -------------------------------------------------------------------------

    def has_sha256(self, sha256: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM submissions WHERE sha256 = ?", (sha256,)).fetchone()
            is not None
        )

    def checkpoint(self) -> None:
        """Move what the write-ahead log holds into the database, without waiting for
        writers (they go on appending meanwhile)."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def known_sha256(self) -> frozenset[str]:
        """The sha256 of every file recorded."""
        return frozenset(r[0] for r in self.db.execute("SELECT sha256 FROM submissions"))

    def insert_submission(self, values: dict[str, object]) -> int:
        """A submission's row, in the caller's transaction; its id."""
        db = self.db
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = db.execute(
            f"INSERT INTO submissions ({columns}) VALUES ({marks})", tuple(values.values())
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def insert_content(
        self,
        submission_id: int,
        projects: list[Project],
        issues: list[Issue],
    ) -> None:
        """A submission's projects, indicators and issues: one statement per table, each row
        built once (the project ids are assigned here, inside the caller's transaction)."""
        db = self.db
        first = db.execute("SELECT COALESCE(MAX(id), 0) FROM projects").fetchone()[0] + 1
        db.executemany(
            "INSERT INTO projects (id, submission_id, position, code, name, unit, total, fiscal,"
            " special, other, goal, extra, sheet, cell, row)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    first + n,
                    submission_id,
                    n + 1,
                    p.code,
                    p.name,
                    p.unit,
                    _text(p.total),
                    _text(p.fiscal),
                    _text(p.special),
                    _text(p.other),
                    p.goal,
                    _extra(p.extra),
                    p.sheet,
                    p.cell,
                    p.row,
                )
                for n, p in enumerate(projects)
            ],
        )
        db.executemany(
            "INSERT INTO indicators (submission_id, project_id, position, level1,"
            " level1_label, level2, level2_label, name, nature, period, annual, raw, extra,"
            " sheet, cell, row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    submission_id,
                    first + n,
                    k,
                    i.level1,
                    i.level1_label,
                    i.level2,
                    i.level2_label,
                    i.name,
                    i.nature,
                    i.period,
                    i.annual,
                    i.raw,
                    _extra(i.extra),
                    i.sheet,
                    i.cell,
                    i.row,
                )
                for n, p in enumerate(projects)
                for k, i in enumerate(p.indicators, 1)
            ],
        )
        db.executemany(
            "INSERT INTO issues (submission_id, code, severity, message, hint, sheet, cell, row,"
            " column_name, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    submission_id,
                    i.code,
                    i.severity,
                    i.message,
                    i.hint,
                    i.sheet,
                    i.cell,
                    i.row,
                    i.column,
                    i.value,
                )
                for i in issues
            ],
        )

    # --- reading -------------------------------------------------------------------------

    def submissions(self, where: str = "1", params: tuple[object, ...] = ()) -> list[Submission]:
        rows = self.db.execute(
            "SELECT id, department_code, department_name, file_department_code,"
            " file_department_name, fiscal_year, file_name, file_path, sha256, received_at,"
            " kind, status, errors, warnings, superseded_by FROM submissions"
            f" WHERE {where} ORDER BY received_at, id",
            params,
        ).fetchall()
        return [Submission(**dict(row)) for row in rows]

    def projects(self, submission_id: int) -> list[Project]:
        projects: dict[int, Project] = {}
        for row in self.db.execute(
            "SELECT * FROM projects WHERE submission_id = ? ORDER BY position", (submission_id,)
        ):
            projects[row["id"]] = Project(
                code=row["code"],
                name=row["name"],
                unit=row["unit"],
                total=to_decimal(row["total"]),
                fiscal=to_decimal(row["fiscal"]),
                special=to_decimal(row["special"]),
                other=to_decimal(row["other"]),
                goal=row["goal"],
                extra=json.loads(row["extra"]),
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
                    level1=row["level1"],
                    level1_label=row["level1_label"],
                    level2=row["level2"],
                    level2_label=row["level2_label"],
                    name=row["name"],
                    nature=row["nature"],
                    period=row["period"],
                    annual=row["annual"],
                    raw=row["raw"],
                    extra=json.loads(row["extra"]),
                    sheet=row["sheet"],
                    cell=row["cell"],
                    row=row["row"],
                )
            )
        return list(projects.values())

    def issues(self, submission_id: int) -> list[Issue]:
        return [
            Issue(
                code=r["code"],
                severity=r["severity"],
                message=r["message"],
                hint=r["hint"],
                sheet=r["sheet"],
                cell=r["cell"],
                row=r["row"],
                column=r["column_name"],
                value=r["value"],
            )
            for r in self.db.execute(
                "SELECT * FROM issues WHERE submission_id = ? ORDER BY id", (submission_id,)
            )
        ]

    def changes(self, submission_id: int) -> list[dict[str, object]]:
        return [
            {
                "change": r["change"],
                "project": r["project_key"],
                "name": r["project_name"],
                "fields": json.loads(r["fields"]),
            }
            for r in self.db.execute(
                "SELECT * FROM changes WHERE submission_id = ? ORDER BY id", (submission_id,)
            )
        ]

    def counts(self) -> dict[str, int]:
        return {
            table: self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("submissions", "projects", "indicators", "issues", "changes")
        }


def _extra(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False) if values else "{}"
