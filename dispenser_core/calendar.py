"""The working calendar: Indonesia's holidays and collective-leave days, plus local overrides.

Days come from the ``holidays`` package (country ID; category ``public`` gives national
holidays, ``government`` gives collective leave, *cuti bersama*). A city adds or removes days
with a local override file; an override always wins over the package. The version a recap
records is a hash of the calendar rows of its year, so an audit can tell whether the calendar
changed since.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import holidays
from sqlalchemy import Connection, delete, insert, select

from dispenser_core.exceptions import InputFileError
from dispenser_core.storage.schema import calendar_days

DAY_OFF_KINDS = ("holiday", "collective_leave")
OVERRIDE_KINDS = (*DAY_OFF_KINDS, "working")
PACKAGE_SOURCE = f"holidays {holidays.__version__}"
LOCAL_SOURCE = "local"


def package_days(year: int) -> list[dict]:
    """National holidays and collective-leave days of one year, from the holidays package."""
    rows = []
    for category, kind in (("public", "holiday"), ("government", "collective_leave")):
        for day, name in holidays.country_holidays(
            "ID", years=year, categories=(category,)
        ).items():
            rows.append({"day": day, "kind": kind, "name": name, "source": PACKAGE_SOURCE})
    return rows


def ensure_year(conn: Connection, year: int) -> None:
    """Store the package's days of ``year`` where no row (package or local) exists yet."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    known = set(
        conn.scalars(select(calendar_days.c.day).where(calendar_days.c.day.between(start, end)))
    )
    missing = [row for row in package_days(year) if row["day"] not in known]
    if missing:
        conn.execute(insert(calendar_days), missing)


def read_overrides(path: Path) -> list[dict]:
    """Read a local override file: columns ``day, kind, name`` (kind holiday, collective_leave
    or working)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"Cannot read the calendar file {path}: {err}.") from err

    overrides = []
    for line_number, row in enumerate(rows, start=2):
        kind = (row.get("kind") or "").strip()
        if kind not in OVERRIDE_KINDS:
            raise InputFileError(
                f"{path}:{line_number}: kind {kind!r} is not one of {', '.join(OVERRIDE_KINDS)}."
            )
        try:
            day = dt.date.fromisoformat((row.get("day") or "").strip())
        except ValueError as err:
            raise InputFileError(
                f"{path}:{line_number}: day {row.get('day')!r} is not a date like 2025-12-24."
            ) from err
        name = (row.get("name") or "").strip() or kind
        overrides.append({"day": day, "kind": kind, "name": name, "source": LOCAL_SOURCE})
    return overrides


def apply_overrides(conn: Connection, overrides: list[dict]) -> int:
    """Replace the calendar rows of the overridden days with the local decision."""
    if not overrides:
        return 0
    for year in {row["day"].year for row in overrides}:
        ensure_year(conn, year)
    conn.execute(
        delete(calendar_days).where(calendar_days.c.day.in_([r["day"] for r in overrides]))
    )
    conn.execute(insert(calendar_days), overrides)
    return len(overrides)


def days_off(conn: Connection, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Holidays and collective-leave days between ``start`` and ``end``, overrides applied."""
    for year in range(start.year, end.year + 1):
        ensure_year(conn, year)
    rows = conn.execute(
        select(calendar_days.c.day, calendar_days.c.kind).where(
            calendar_days.c.day.between(start, end), calendar_days.c.kind.in_(DAY_OFF_KINDS)
        )
    )
    return {day: kind for day, kind in rows}


def calendar_version(conn: Connection, year: int) -> str:
    """A short, stable fingerprint of the calendar rows of ``year``."""
    ensure_year(conn, year)
    rows = conn.execute(
        select(calendar_days.c.day, calendar_days.c.kind, calendar_days.c.source)
        .where(calendar_days.c.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        .order_by(calendar_days.c.day)
    )
    digest = hashlib.sha256("|".join(f"{d}:{k}:{s}" for d, k, s in rows).encode()).hexdigest()
    return f"{year}-{digest[:12]}"
