"""Benchmark: appending a month of a city's punches to PostgreSQL.

November 2025 of the synthetic city (25,000 employees, about 970,000 punches, see
city_scale.py), already read and matched to the roster, is appended by the loader's own path
(an advisory lock, the check for punches already stored, COPY), and, as the baseline, COPY
into a plain table with the same columns and no index or check at all. A second load of the
same punches (all duplicates, kept aside) is timed for information. Each side runs three
times, alternately, and keeps its best time. Prints the figures and
``ratio: X.XX`` (ours over plain COPY).

    .venv/bin/python -m benchmarks.loading     # DISPENSER_BENCH_POSTGRES_URL to point elsewhere
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from benchmarks import city_scale
from benchmarks.scratch import city_database
from dispenser_core.punch_store import PUNCH_COLUMNS, append_punches
from dispenser_core.sources.records import RawPunch
from dispenser_core.storage.bulk import copy_rows
from dispenser_core.storage.db import connect

# Each side runs this many times, alternately, and keeps its best time: one run on a shared
# 2-core machine varies by a quarter.
ROUNDS = 3


def _month_rows(staff, batch_id: int) -> list[tuple]:
    punches = city_scale.punches(staff)
    times = punches["local_time"].to_numpy()
    november = (times >= np.datetime64("2025-11-01")) & (times < np.datetime64("2025-12-01"))
    month = punches[november]
    utc = (month["local_time"] - np.timedelta64(7, "h")).dt.to_pydatetime()
    now = dt.datetime(2025, 12, 1)
    rows = []
    for line, (nip, at) in enumerate(zip(month["nip"].astype(str), utc, strict=True), start=1):
        row = {
            "nip": nip,
            "punched_at": at,
            "verify_mode": 1,
            "state_code": 0,
            "batch_id": batch_id,
            "ingested_at": now,
        }
        rows.append((RawPunch(line, str(line), at, 1, 0), row))
    return rows


def _timed_copy(engine, plain: Table, matched: list) -> float:
    with connect(engine) as conn:
        conn.execute(text("TRUNCATE plain_copy"))
    started = time.perf_counter()
    with connect(engine) as conn:
        copy_rows(conn, plain, [row for _, row in matched], PUNCH_COLUMNS)
    return time.perf_counter() - started


def _timed_load(engine, matched: list) -> tuple[float, int, list]:
    with connect(engine) as conn:
        conn.execute(text("TRUNCATE punches"))
    started = time.perf_counter()
    with connect(engine) as conn:
        stored, duplicates, _ = append_punches(conn, matched)
    return time.perf_counter() - started, stored, duplicates


def main() -> None:
    with city_database() as (engine, staff, batch_id):
        matched = _month_rows(staff, batch_id)
        plain = Table(
            "plain_copy",
            MetaData(),
            Column("nip", String(18)),
            Column("punched_at", DateTime),
            Column("verify_mode", Integer),
            Column("state_code", Integer),
            Column("batch_id", Integer),
            Column("ingested_at", DateTime),
        )
        plain.create(engine)

        baseline, ours = float("inf"), float("inf")
        for _ in range(ROUNDS):
            baseline = min(baseline, _timed_copy(engine, plain, matched))
            seconds, stored, duplicates = _timed_load(engine, matched)
            ours = min(ours, seconds)

        started = time.perf_counter()
        with connect(engine) as conn:
            again, repeated, _ = append_punches(conn, matched)
        second = time.perf_counter() - started
    print(f"{len(matched):,} punches of November 2025 ({len(staff):,} employees)")
    print(f"plain COPY, no index or check: {baseline:6.2f} s")
    print(
        f"loader (lock, duplicate check, COPY): {ours:6.2f} s, {stored:,} stored, "
        f"{len(duplicates)} duplicates"
    )
    print(f"same punches again: {second:6.2f} s, {again} stored, {len(repeated):,} duplicates")
    print(f"ratio: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
