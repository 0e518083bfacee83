"""The working calendar: Indonesia's holidays and collective-leave days, plus local overrides.

Days come from the ``holidays`` package (country ID; category ``public`` gives national
holidays, ``government`` gives collective leave, *cuti bersama*). A city adds or removes days
with a local override file (read by ``sources.tables.read_calendar_overrides``), for every unit
or for one; an override always wins over the package. The version a recap records is a hash of
the calendar rows of its year, so an audit can tell whether the calendar changed since.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import holidays
import pandas as pd
from sqlalchemy import Connection, and_, delete, insert, select, tuple_

from dispenser_core.storage.schema import calendar_days

DAY_OFF_KINDS = ("holiday", "collective_leave")
OVERRIDE_KINDS = (*DAY_OFF_KINDS, "working")
PACKAGE_SOURCE = f"holidays {holidays.__version__}"
LOCAL_SOURCE = "local"
EVERY_UNIT = ""


def package_days(year: int) -> list[dict]:
    """National holidays and collective-leave days of one year, from the holidays package."""
    rows = []
    for category, kind in (("public", "holiday"), ("government", "collective_leave")):
        found = holidays.country_holidays("ID", years=year, categories=(category,))
        for day, name in found.items():
            rows.append(
                {
                    "day": day,
                    "scope": EVERY_UNIT,
                    "kind": kind,
                    "name": name,
                    "source": PACKAGE_SOURCE,
                }
            )
    return rows


def ensure_year(conn: Connection, year: int) -> None:
    """Store the package's days of ``year`` where no row for every unit exists yet."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    known = set(
        conn.scalars(
            select(calendar_days.c.day).where(
                calendar_days.c.day.between(start, end), calendar_days.c.scope == EVERY_UNIT
            )
        )
    )
    missing = [row for row in package_days(year) if row["day"] not in known]
    if missing:
        conn.execute(insert(calendar_days), missing)


def apply_overrides(conn: Connection, overrides: list[dict]) -> int:
    """Replace the calendar rows of the overridden days (and scopes) with the local decision."""
    if not overrides:
        return 0
    overrides = [{"scope": EVERY_UNIT, **row} for row in overrides]
    for year in {row["day"].year for row in overrides}:
        ensure_year(conn, year)
    keys = [(row["day"], row["scope"]) for row in overrides]
    conn.execute(
        delete(calendar_days).where(tuple_(calendar_days.c.day, calendar_days.c.scope).in_(keys))
    )
    conn.execute(insert(calendar_days), overrides)
    return len(overrides)


def unit_days_off(conn: Connection, start: dt.date, end: dt.date, units: list[str]) -> pd.DataFrame:
    """The days off of each unit between ``start`` and ``end`` (columns opd_code, day).

    A unit's own override wins over the decision for every unit, which wins over the package.
    """
    for year in range(start.year, end.year + 1):
        ensure_year(conn, year)
    rows = conn.execute(
        select(calendar_days.c.day, calendar_days.c.scope, calendar_days.c.kind).where(
            calendar_days.c.day.between(start, end)
        )
    ).all()
    city = {day: kind for day, scope, kind in rows if scope == EVERY_UNIT}
    own = {(scope, day): kind for day, scope, kind in rows if scope != EVERY_UNIT}
    off = []
    for unit in units:
        for day in sorted(set(city) | {d for (s, d) in own if s == unit}):
            kind = own.get((unit, day), city.get(day))
            if kind in DAY_OFF_KINDS:
                off.append((unit, day))
    return pd.DataFrame(off, columns=["opd_code", "day"])


def days_off(conn: Connection, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Days off for every unit (the city-wide calendar), overrides for every unit applied."""
    for year in range(start.year, end.year + 1):
        ensure_year(conn, year)
    rows = conn.execute(
        select(calendar_days.c.day, calendar_days.c.kind).where(
            and_(
                calendar_days.c.day.between(start, end),
                calendar_days.c.scope == EVERY_UNIT,
                calendar_days.c.kind.in_(DAY_OFF_KINDS),
            )
        )
    )
    return dict(rows.all())


def calendar_version(conn: Connection, year: int) -> str:
    """A short, stable fingerprint of the calendar rows of ``year``."""
    ensure_year(conn, year)
    rows = conn.execute(
        select(
            calendar_days.c.day, calendar_days.c.scope, calendar_days.c.kind, calendar_days.c.source
        )
        .where(calendar_days.c.day.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        .order_by(calendar_days.c.day, calendar_days.c.scope)
    )
    material = "|".join(f"{d}:{s}:{k}:{src}" for d, s, k, src in rows)
    return f"{year}-{hashlib.sha256(material.encode()).hexdigest()[:12]}"
