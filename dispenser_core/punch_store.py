"""Storing the punches of an attlog batch: matched to the roster, checked, stored once.

Each line becomes a punch of a known employee at a UTC time, or a rejected row with its reason
(unknown PIN, before the employee joined or after they left, in the future). A punch already
stored (by an earlier, overlapping export) or repeated within the file is a duplicate: it is
kept aside with the batch it repeats, never stored twice. New punches are appended with COPY
on PostgreSQL; loads of punches take turns (an advisory lock), which is what keeps one punch
per employee and second there, where no unique index slows every write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from dispenser_core.sources.records import ReadResult, Rejection
from dispenser_core.storage.bulk import copy_rows
from dispenser_core.storage.schema import employees, punches, source_units, work_units
from dispenser_core.storage.upsert import insert_new

PUNCH_COLUMNS = ["nip", "punched_at", "verify_mode", "state_code", "batch_id", "ingested_at"]
DEFAULT_PUNCH_SOURCE = "attlog"
_LOAD_LOCK = 7_234_501  # any fixed number: the advisory lock all punch loads share


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _match(result: ReadResult, people: tuple[dict, dict], batch_id: int):
    """Punches of known employees, in UTC, and the lines rejected on the way."""
    by_pin, by_nip = people
    now = _utcnow()
    matched, rejected = [], []
    for punch in result.rows:
        person = by_nip.get(punch.nip) if punch.nip else by_pin.get(punch.pin)
        if person is None:
            who = f"NIP {punch.nip}" if punch.nip else f"PIN {punch.pin}"
            rejected.append(
                Rejection(
                    punch.line_number, punch.raw, "unknown_pin", f"{who} is not in the roster"
                )
            )
            continue
        nip, zone, joined, left = person
        if punch.utc is not None:
            local = punch.utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
            punch = replace(punch, local_time=local)
        day = punch.local_time.date()
        if day < joined or (left is not None and day > left):
            reason = "before_start_date" if day < joined else "after_end_date"
            rejected.append(
                Rejection(
                    punch.line_number,
                    punch.raw,
                    reason,
                    f"NIP {nip} works from {joined} to {left or 'now'}",
                )
            )
            continue
        utc = punch.local_time.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
        if utc > now:
            rejected.append(
                Rejection(
                    punch.line_number,
                    punch.raw,
                    "future_date",
                    f"time {punch.local_time} is after now in {zone.key}",
                )
            )
            continue
        matched.append(
            (
                punch,
                {
                    "nip": nip,
                    "punched_at": utc,
                    "verify_mode": punch.verify_mode,
                    "state_code": punch.state_code,
                    "batch_id": batch_id,
                    "ingested_at": now,
                },
            )
        )
    return matched, rejected


def _stored_batches(conn: Connection, matched: list) -> dict[tuple, int]:
    """(nip, UTC time) -> batch, for stored punches in the time span of ``matched``."""
    if not matched:
        return {}
    times = [row["punched_at"] for _, row in matched]
    nips = {row["nip"] for _, row in matched}
    stored = conn.execute(
        select(punches.c.nip, punches.c.punched_at, punches.c.batch_id).where(
            punches.c.punched_at.between(min(times), max(times))
        )
    )
    return {(nip, at): batch for nip, at, batch in stored if nip in nips}


def _split_duplicates(matched: list, stored: dict[tuple, int]):
    rows = [row for _, row in matched]
    if not stored and len({(row["nip"], row["punched_at"]) for row in rows}) == len(rows):
        return rows, []  # the usual export: nothing stored in its span, nothing repeated
    fresh, duplicates, first_line = [], [], {}
    for punch, row in matched:
        key = (row["nip"], row["punched_at"])
        if key in stored:
            duplicates.append(
                Rejection(
                    punch.line_number,
                    punch.raw,
                    "duplicate",
                    f"already loaded in batch {stored[key]}",
                )
            )
        elif key in first_line:
            duplicates.append(
                Rejection(
                    punch.line_number,
                    punch.raw,
                    "duplicate",
                    f"repeats line {first_line[key]} of this file",
                )
            )
        else:
            first_line[key] = punch.line_number
            fresh.append(row)
    return fresh, duplicates


def _record_source_units(conn: Connection, source: str, nips: set[str]) -> None:
    if not nips:
        return
    units = set(conn.scalars(select(employees.c.opd_code).where(employees.c.nip.in_(sorted(nips)))))
    insert_new(
        conn,
        source_units,
        [{"source": source, "opd_code": u} for u in sorted(units)],
        ["source", "opd_code"],
    )


def append_punches(conn: Connection, matched: list) -> tuple[int, list[Rejection], set[str]]:
    """Append the punches not stored yet; returns how many, the duplicates kept aside, and
    the employees whose punches were stored. ``matched`` pairs each line with its row."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_LOAD_LOCK)))
    fresh, duplicates = _split_duplicates(matched, _stored_batches(conn, matched))
    stored = copy_rows(conn, punches, fresh, PUNCH_COLUMNS)
    return stored, duplicates, {row["nip"] for row in fresh}


def store_punches(
    conn: Connection,
    batch_id: int,
    result: ReadResult,
    *,
    source: str = DEFAULT_PUNCH_SOURCE,
    synced_until: dt.datetime | None = None,
):
    """Store a batch's punches; returns (stored, rejected and duplicate rows, batch fields)."""
    matched, rejected = _match(result, _people(conn), batch_id)
    stored, duplicates, nips = append_punches(conn, matched)
    _record_source_units(conn, source, nips)

    # What the source covers counts every line it delivered, known PIN or not, but no line
    # dated after now.
    future = {r.line_number for r in rejected if r.reason == "future_date"}
    local_days = [p.local_time.date() for p in result.rows if p.line_number not in future]
    cover = {"source": source, "synced_until": synced_until}
    if local_days:
        # A file export is taken after its last day ends, unless the operator says otherwise.
        end_of_last_day = dt.datetime.combine(max(local_days) + dt.timedelta(days=1), dt.time())
        cover |= {
            "covers_from": min(local_days),
            "covers_to": max(local_days),
            "synced_until": synced_until or end_of_last_day,
        }
    return stored, rejected + duplicates, cover


def _people(conn: Connection) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The roster by PIN and by NIP: (nip, zone, joined, left)."""
    roster = conn.execute(
        select(
            employees.c.pin,
            employees.c.nip,
            work_units.c.timezone,
            employees.c.start_date,
            employees.c.end_date,
        ).join(work_units, work_units.c.opd_code == employees.c.opd_code)
    ).all()
    people = {nip: (nip, ZoneInfo(tz), joined, left) for _, nip, tz, joined, left in roster}
    return {pin: people[nip] for pin, nip, *_ in roster if pin}, people
