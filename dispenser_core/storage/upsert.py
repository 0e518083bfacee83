"""Inserts that tolerate rows already present, written once for both databases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

_DIALECT_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _dialect_insert(conn: Connection, table: Table):
    return _DIALECT_INSERT[conn.dialect.name](table)


def insert_new(conn: Connection, table: Table, rows: Sequence[dict], keys: Sequence[str]) -> int:
    """Insert ``rows``, skipping any whose ``keys`` already exist; returns how many were new."""
    if not rows:
        return 0
    statement = _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(keys))
    return conn.execute(statement, list(rows)).rowcount


def upsert(conn: Connection, table: Table, rows: Sequence[dict], keys: Sequence[str]) -> int:
    """Insert ``rows`` or, where ``keys`` exist, replace their other columns."""
    if not rows:
        return 0
    statement = _dialect_insert(conn, table)
    changed = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changed)
    return conn.execute(statement, list(rows)).rowcount
