"""The ledger's schema as migrations: named functions, run once each, in order, inside one
transaction with the schema version they bring (`PRAGMA user_version`). A new ledger runs
them all, an old one those it has not had; perfxl never changes a migration once released.

Promoting an extra field to a column of its own is a migration that adds the column and
moves the values out of the `extra` JSON."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable

from perfxl.ledger.database import Connection


def _run(db: Connection, *statements: str) -> None:
    for statement in statements:
        db.execute(statement)


def initial(db: Connection) -> None:
    """Submissions with their projects, indicators, issues and changes."""
    _run(
        db,
        """CREATE TABLE submissions (
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
        )""",
        "CREATE INDEX submissions_department ON submissions (department_code, fiscal_year)",
        """CREATE TABLE projects (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            position INTEGER NOT NULL,
            code TEXT, name TEXT NOT NULL, unit TEXT,
            total TEXT, fiscal TEXT, special TEXT, other TEXT,
            goal TEXT NOT NULL,
            extra TEXT NOT NULL,           -- JSON: values of fields a template spec added
            sheet TEXT, cell TEXT, row INTEGER
        )""",
        "CREATE INDEX projects_submission ON projects (submission_id)",
        """CREATE TABLE indicators (
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
        )""",
        "CREATE INDEX indicators_submission ON indicators (submission_id)",
        """CREATE TABLE issues (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            code TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL, hint TEXT,
            sheet TEXT, cell TEXT, row INTEGER, column_name TEXT, value TEXT
        )""",
        "CREATE INDEX issues_submission ON issues (submission_id)",
        """CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            previous_id INTEGER NOT NULL REFERENCES submissions(id),
            change TEXT NOT NULL CHECK (change IN ('added', 'removed', 'changed')),
            project_key TEXT NOT NULL,
            project_name TEXT,
            fields TEXT NOT NULL           -- JSON: {field: [old, new]}
        )""",
    )


def indicators_by_project(db: Connection) -> None:
    """A project's indicators are looked up by project (counts in the ledger's 项目明细)."""
    db.execute("CREATE INDEX indicators_project ON indicators (project_id)")


def values_derived_and_verdicts(db: Connection) -> None:
    """Less to write for every indicator: the parse of each value (operator, number, unit)
    is derived from the value text when needed, not stored beside it; a submission's
    indicators are found through its projects (one index less); each submission keeps its
    own verdict and the submission it was compared with, so that statuses follow from the
    order of arrival whatever the order of recording."""
    for column in (
        "period_operator",
        "period_number",
        "period_unit",
        "annual_operator",
        "annual_number",
        "annual_unit",
    ):
        # SQLite before 3.35 cannot drop a column: it stays, unused.
        with contextlib.suppress(sqlite3.OperationalError):
            db.execute(f"ALTER TABLE indicators DROP COLUMN {column}")
    _run(
        db,
        "DROP INDEX indicators_submission",
        "ALTER TABLE submissions ADD COLUMN verdict TEXT"
        " CHECK (verdict IN ('accepted', 'rejected'))",
        "ALTER TABLE submissions ADD COLUMN previous_id INTEGER REFERENCES submissions(id)",
        "UPDATE submissions SET verdict = CASE WHEN status != 'superseded' THEN status"
        " WHEN errors = 0 THEN 'accepted' ELSE 'rejected' END",
        "UPDATE submissions SET previous_id = (SELECT MAX(c.previous_id) FROM changes c"
        " WHERE c.submission_id = submissions.id)",
        "CREATE INDEX changes_submission ON changes (submission_id)",
    )


def extra_fields(db: Connection) -> None:
    """The fields template specs added, with their captions and types, in the order they
    were first recorded: the ledger's outputs show them by their captions."""
    db.execute(
        """CREATE TABLE fields (
            entity TEXT NOT NULL CHECK (entity IN ('project', 'indicator')),
            key TEXT NOT NULL,
            header TEXT NOT NULL,
            type TEXT NOT NULL,
            PRIMARY KEY (entity, key)
        )"""
    )


def weights_directions_long_goals(db: Connection) -> None:
    """Three fields promoted to columns of their own: an indicator's 权重 and 指标方向性,
    a project's 长期目标 (tables other than the template carry them)."""
    _run(
        db,
        "ALTER TABLE indicators ADD COLUMN weight TEXT",
        "ALTER TABLE indicators ADD COLUMN direction TEXT",
        "ALTER TABLE projects ADD COLUMN long_goal TEXT NOT NULL DEFAULT ''",
    )


def department_wide_forms(db: Connection) -> None:
    """The department-wide form (部门整体支出绩效目标) beside the project one: a submission
    says which form it is; a department-wide one has its overview (declared total, overall
    goal, other facts), its labelled budget lines, its key tasks and its own indicators.
    Statuses and changes are worked out per department, year and form."""
    _run(
        db,
        "ALTER TABLE submissions ADD COLUMN form TEXT NOT NULL DEFAULT 'project'"
        " CHECK (form IN ('project', 'department'))",
        """CREATE TABLE overviews (
            submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
            total TEXT,
            goal TEXT NOT NULL,
            info TEXT NOT NULL,            -- JSON: other labelled facts, by label
            total_sheet TEXT, total_cell TEXT, total_row INTEGER,
            goal_sheet TEXT, goal_cell TEXT, goal_row INTEGER
        )""",
        """CREATE TABLE budget_lines (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            position INTEGER NOT NULL,
            grp TEXT NOT NULL, label TEXT NOT NULL, amount TEXT,
            sheet TEXT, cell TEXT, row INTEGER
        )""",
        "CREATE INDEX budget_lines_submission ON budget_lines (submission_id)",
        """CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            position INTEGER NOT NULL,
            name TEXT NOT NULL, content TEXT NOT NULL,
            amount TEXT, fiscal TEXT, other TEXT,
            goal TEXT NOT NULL,
            sheet TEXT, cell TEXT, row INTEGER
        )""",
        "CREATE INDEX tasks_submission ON tasks (submission_id)",
        """CREATE TABLE overall_indicators (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            position INTEGER NOT NULL,
            level1 TEXT, level1_label TEXT, level2 TEXT, level2_label TEXT,
            name TEXT NOT NULL, nature TEXT,
            period TEXT NOT NULL, annual TEXT NOT NULL,
            weight TEXT, direction TEXT,
            raw TEXT, extra TEXT NOT NULL,
            sheet TEXT, cell TEXT, row INTEGER
        )""",
        "CREATE INDEX overall_indicators_submission ON overall_indicators (submission_id)",
    )


def remembered_roster(db: Connection) -> None:
    """The roster each year's collect was given (year 0: a collect given no year), so that
    collect, status and ledger know who is expected without being told again."""
    _run(
        db,
        """CREATE TABLE roster (
            year INTEGER NOT NULL,
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            parent TEXT,
            contact TEXT,
            position INTEGER NOT NULL,
            saved INTEGER NOT NULL,        -- which save: the latest is the roster in force
            PRIMARY KEY (year, code)
        )""",
    )


def column_copies(db: Connection) -> None:
    """A column copy of each accepted submission's rows of the large detail tables (项目明细,
    指标明细), made by the first Parquet export that needs it and kept for the next: the
    rows of a submission never change once recorded. `signature` names the columns the
    copy was made with (a new field makes new copies); `types`, the columns whose type is
    not the usual one (an amount with more places)."""
    _run(
        db,
        """CREATE TABLE column_copies (
            submission_id INTEGER NOT NULL REFERENCES submissions(id),
            tab TEXT NOT NULL,             -- projects / indicators
            signature TEXT NOT NULL,
            types TEXT NOT NULL,           -- JSON: {column: type} where not the usual
            data BLOB NOT NULL,            -- Arrow IPC stream, compressed
            PRIMARY KEY (submission_id, tab)
        )""",
    )


def links_and_events(db: Connection) -> None:
    """The web page's: each department's link for a year (its token hashed, never the token
    itself), a log of every upload, verdict and refusal with its time and department, and
    the server's own secrets (the office's password hash, the key that signs forms)."""
    _run(
        db,
        """CREATE TABLE links (
            year INTEGER NOT NULL,
            code TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            PRIMARY KEY (year, code)
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            year INTEGER,
            department_code TEXT,
            client TEXT,
            kind TEXT NOT NULL,            -- upload / verdict / refused / login / …
            detail TEXT NOT NULL,
            submission_id INTEGER REFERENCES submissions(id)
        )""",
        "CREATE INDEX events_department ON events (department_code, year)",
        """CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
    )


def fields_in_order(db: Connection) -> None:
    """The fields a spec added keep the order they were first recorded in as a column of
    their own (SQLite's row ids said it; PostgreSQL has none)."""
    db.execute("ALTER TABLE fields ADD COLUMN position INTEGER")
    if getattr(db, "dialect", "sqlite") == "sqlite":
        db.execute("UPDATE fields SET position = rowid")


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    initial,
    indicators_by_project,
    values_derived_and_verdicts,
    extra_fields,
    weights_directions_long_goals,
    department_wide_forms,
    remembered_roster,
    column_copies,
    links_and_events,
    fields_in_order,
)
SCHEMA_VERSION = len(MIGRATIONS)
