"""The PostgreSQL server the tests make their ledgers on: the one PERFXL_TEST_POSTGRES
names (`.ci/run` starts one), else the usual local one. Each ledger is a database of its
own, dropped after its test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

DEFAULT_SERVER = "postgresql://perfxl:perfxl@127.0.0.1:5432/postgres"


def server() -> str:
    """The server's URL; the test fails, saying why, where none can be reached."""
    import psycopg

    url = os.environ.get("PERFXL_TEST_POSTGRES", DEFAULT_SERVER)
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is required at {url} (.ci/run starts one): {exc}")
    return url


@contextmanager
def database(url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    import psycopg

    name = f"perfxl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    head, _, _ = url.rpartition("/")
    try:
        yield f"{head}/{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def ledgers(kind: str, folder: Path) -> Iterator[Callable[[str], str]]:
    """Make fresh ledgers by name, on SQLite (files in `folder`) or on PostgreSQL."""
    made: list[contextlib.AbstractContextManager[str]] = []
    url = server() if kind == "postgresql" else ""

    def make(name: str) -> str:
        if kind == "sqlite":
            return str(folder / f"{name}.db")
        place = database(url)
        made.append(place)
        return place.__enter__()

    try:
        yield make
    finally:
        for place in reversed(made):
            place.__exit__(None, None, None)
