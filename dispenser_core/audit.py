"""The append-only, hash-chained audit log.

Every row carries the hash of the row before it, so changing or removing a row breaks the
chain at that row, and :func:`verify_chain` names it. The database refuses UPDATE and DELETE
on the table (triggers in ``sql/``). Details hold ids and counts only: never the text of a
notice, a name or any personal detail beyond the NIP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from dispenser_core.storage.db import queue_sqlite_writer
from dispenser_core.storage.schema import audit_log

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"


def _canonical(details: dict) -> str:
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False
    )


def row_hash(
    prev_hash: str,
    occurred_at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    details: str,
) -> str:
    material = "\x1f".join(
        [
            prev_hash,
            occurred_at.isoformat(timespec="microseconds"),
            actor,
            action,
            entity,
            entity_id,
            details,
        ]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _queue_writers(conn: Connection) -> None:
    """Writers queue here so each reads the true last hash; readers are not blocked."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    else:
        # SQLite's driver opens the transaction only at the first write, after the last hash
        # was read: take the write lock first, or two writers chain onto the same row.
        queue_sqlite_writer(conn)


def _last_hash(conn: Connection) -> str:
    last = conn.scalar(select(audit_log.c.row_hash).order_by(audit_log.c.seq.desc()).limit(1))
    return last or GENESIS_HASH


def record_many(conn: Connection, rows: list[dict]) -> None:
    """Append several rows (actor, action, entity, entity_id, details) in order, in one go."""
    if not rows:
        return
    _queue_writers(conn)
    prev = _last_hash(conn)
    values = []
    for row in rows:
        occurred_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        details = _canonical(row.get("details") or {})
        entity_id = str(row["entity_id"])
        digest = row_hash(
            prev, occurred_at, row["actor"], row["action"], row["entity"], entity_id, details
        )
        values.append(
            {
                "occurred_at": occurred_at,
                "actor": row["actor"],
                "action": row["action"],
                "entity": row["entity"],
                "entity_id": entity_id,
                "details": details,
                "prev_hash": prev,
                "row_hash": digest,
            }
        )
        prev = digest
    conn.execute(insert(audit_log), values)
    log.info("Audit: %d rows appended (%s)", len(values), rows[0]["action"])


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    details: dict | None = None,
) -> int:
    """Append one row to the audit log in the caller's transaction; returns its sequence."""
    _queue_writers(conn)
    prev = _last_hash(conn)
    occurred_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    details_text = _canonical(details or {})
    values = {
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "details": details_text,
        "prev_hash": prev,
        "row_hash": row_hash(
            prev, occurred_at, actor, action, entity, str(entity_id), details_text
        ),
    }
    seq = conn.execute(insert(audit_log).values(**values)).inserted_primary_key[0]
    log.info("Audit %s %s %s=%s by %s", seq, action, entity, entity_id, actor)
    return seq


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    first_broken_seq: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(conn: Connection) -> ChainReport:
    """Walk the log in order and check every link and every row's own hash."""
    expected_prev = GENESIS_HASH
    checked = 0
    for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings():
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                checked,
                row["seq"],
                "its prev_hash does not match the row before "
                "it: a row before it was removed or changed",
            )
        recomputed = row_hash(
            row["prev_hash"],
            row["occurred_at"],
            row["actor"],
            row["action"],
            row["entity"],
            row["entity_id"],
            row["details"],
        )
        if recomputed != row["row_hash"]:
            return ChainReport(
                checked, row["seq"], "its content does not match its hash: the row was changed"
            )
        expected_prev = row["row_hash"]
        checked += 1
    return ChainReport(checked)


def entries(conn: Connection, entity: str | None = None, entity_id: object = None) -> list[dict]:
    """Audit rows, oldest first, optionally for one entity; details parsed back to a dict."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    if entity_id is not None:
        query = query.where(audit_log.c.entity_id == str(entity_id))
    return [
        {**row, "details": json.loads(row["details"])} for row in conn.execute(query).mappings()
    ]
