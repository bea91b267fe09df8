"""Who may reach the ledger through the web page, and what they did there: each
department's link for a year (a random token, stored only as its SHA-256), the office's
password (scrypt), the key that signs the page's forms, and the log of every upload,
verdict and refusal."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from perfxl.formats.roster import RosterEntry
from perfxl.ledger.store import Store

TOKEN_BYTES = 32  # 256 bits: not guessable, and a plain hash of it is enough to store
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Link:
    """A department's link: its roster entry and the token to put in the address (known
    only when it was made)."""

    entry: RosterEntry
    token: str | None


def make_links(
    store: Store, roster: list[RosterEntry], year: int, rotate: bool = False
) -> list[Link]:
    """A link for each roster department for `year`: a new token where it has none (or,
    with `rotate`, for every department, the old ones no longer opening anything). A
    department that keeps its link gets no token back: only its hash is stored."""
    with store.transaction() as db:
        have = {r[0] for r in db.execute("SELECT code FROM links WHERE year = ?", (year,))}
        out = []
        for entry in roster:
            if entry.code in have and not rotate:
                out.append(Link(entry, None))
                continue
            token = secrets.token_urlsafe(TOKEN_BYTES)
            db.execute("DELETE FROM links WHERE year = ? AND code = ?", (year, entry.code))
            db.execute(
                "INSERT INTO links (year, code, token_hash, created) VALUES (?, ?, ?, ?)",
                (year, entry.code, token_hash(token), now()),
            )
            out.append(Link(entry, token))
    return out


def department_of(store: Store, token: str) -> tuple[int, str] | None:
    """(year, department code) a link's token opens, or None."""
    row = store.db.execute(
        "SELECT year, code FROM links WHERE token_hash = ?", (token_hash(token),)
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def log(
    store: Store,
    kind: str,
    detail: str,
    year: int | None = None,
    code: str | None = None,
    client: str | None = None,
    submission_id: int | None = None,
) -> None:
    """One line of the web page's log, in a transaction of its own."""
    with store.transaction() as db:
        db.execute(
            "INSERT INTO events (at, year, department_code, client, kind, detail, submission_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now(), year, code, client, kind, detail, submission_id),
        )


def events(store: Store, code: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The latest lines of the log (of one department), newest first."""
    where, params = ("WHERE department_code = ?", [code]) if code else ("", [])
    rows = store.db.execute(
        f"SELECT at, year, department_code, client, kind, detail, submission_id FROM events"
        f" {where} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [dict(row) for row in rows]


def secret(store: Store, name: str) -> str | None:
    row = store.db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


def set_secret(store: Store, name: str, value: str) -> None:
    with store.transaction() as db:
        db.execute(
            "INSERT INTO secrets (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def signing_key(store: Store) -> bytes:
    """The key that signs the page's forms and the office's sessions: made once, kept in
    the ledger, so that a restarted server still accepts the forms it served."""
    key = secret(store, "signing_key")
    if key is None:
        set_secret(store, "signing_key", secrets.token_hex(32))
        key = secret(store, "signing_key")
    assert key is not None
    return bytes.fromhex(key)


def set_password(store: Store, password: str) -> None:
    """The office's password, as a salted scrypt hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    set_secret(store, "admin_password", f"scrypt${salt.hex()}${digest.hex()}")


def password_ok(store: Store, password: str) -> bool:
    stored = secret(store, "admin_password")
    if stored is None:
        return False
    _, salt, digest = stored.split("$")
    tried = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **SCRYPT)
    return hmac.compare_digest(tried.hex(), digest)
