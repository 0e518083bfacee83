"""Building daily status and the monthly and yearly recaps in the database.

Daily status is rebuilt from January 1st of the period's year to the period's end, because the
bands count violation days cumulatively within the calendar year. Rebuilding is idempotent: a
second run gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
from sqlalchemy import Connection, and_, case, delete, func, or_, select

from dispenser_core import calendar
from dispenser_core.daily_status import ABSENCE_KINDS, NO_DATA, PRESENT, TK, build_daily_status
from dispenser_core.daily_status import working_days as working_day_grid
from dispenser_core.periods import Period
from dispenser_core.rules import rule_set_for
from dispenser_core.schedules import schedules_frame, seed_schedules
from dispenser_core.storage.frames import as_dates, insert_frame, read_frame
from dispenser_core.storage.schema import (
    absences,
    daily_status,
    employees,
    import_batches,
    punches,
    recaps,
    work_units,
)

log = logging.getLogger(__name__)

RECAP_COUNT_COLUMNS = (
    "working_days",
    "present",
    "absent",
    "tk",
    "leave",
    "sick",
    "permit",
    "official_duty",
    "study",
    "no_data",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _employees_frame(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    query = (
        select(
            employees.c.nip,
            employees.c.opd_code,
            employees.c.schedule_code,
            employees.c.start_date,
            employees.c.end_date,
            work_units.c.timezone,
        )
        .join(work_units, work_units.c.opd_code == employees.c.opd_code)
        .where(
            employees.c.start_date <= end,
            or_(employees.c.end_date.is_(None), employees.c.end_date >= start),
        )
    )
    return read_frame(conn, query)


def _local_punches(
    conn: Connection, staff: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    # One day of margin each side: a UTC time belongs to the local date it happened on, and
    # windows reach into the neighbouring days.
    low = dt.datetime.combine(start - dt.timedelta(days=2), dt.time())
    high = dt.datetime.combine(end + dt.timedelta(days=2), dt.time())
    raw = read_frame(
        conn,
        select(punches.c.nip, punches.c.punched_at).where(punches.c.punched_at.between(low, high)),
    )
    raw = raw.merge(staff[["nip", "timezone"]], on="nip", how="inner")
    raw["punched_at"] = pd.to_datetime(raw["punched_at"])

    local = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    for zone, rows in raw.groupby("timezone").groups.items():
        local.loc[rows] = (
            raw.loc[rows, "punched_at"]
            .dt.tz_localize("UTC")
            .dt.tz_convert(zone)
            .dt.tz_localize(None)
        )
    return pd.DataFrame({"nip": raw["nip"], "local_time": local})


def _absences_frame(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    return read_frame(
        conn,
        select(absences.c.nip, absences.c.kind, absences.c.start_date, absences.c.end_date).where(
            absences.c.start_date <= end, absences.c.end_date >= start
        ),
    )


def covered_days(conn: Connection, start: dt.date, end: dt.date) -> set[dt.date]:
    """Local dates that some punch batch covers: only they can be judged present or TK."""
    spans = conn.execute(
        select(import_batches.c.covers_from, import_batches.c.covers_to).where(
            import_batches.c.source_kind == "attlog", import_batches.c.covers_from.is_not(None)
        )
    ).all()
    days = set()
    for first, last in spans:
        first, last = max(first, start), min(last, end)
        days.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return days


def rebuild_daily_status(conn: Connection, start: dt.date, end: dt.date) -> int:
    """Recompute and store the status of every working day between ``start`` and ``end``."""
    seed_schedules(conn)
    staff = _employees_frame(conn, start, end)
    staff["start_date"], staff["end_date"] = (
        as_dates(staff["start_date"]),
        as_dates(staff["end_date"]),
    )
    grid = working_day_grid(
        staff, schedules_frame(conn), set(calendar.days_off(conn, start, end)), start, end
    )
    statuses = build_daily_status(
        grid,
        _local_punches(conn, staff, start, end),
        _absences_frame(conn, start, end),
        covered_days(conn, start, end),
    )
    statuses["computed_at"] = _utcnow()

    conn.execute(delete(daily_status).where(daily_status.c.day.between(start, end)))
    written = insert_frame(conn, daily_status, statuses)
    log.info(
        "Daily status %s..%s: %d working days of %d employees",
        start,
        end,
        written,
        statuses["nip"].nunique(),
    )
    return written


def _count(status: str):
    return func.sum(case((daily_status.c.status == status, 1), else_=0))


def _totals(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per-employee counts of daily status between ``start`` and ``end``, in one query."""
    ds = daily_status.c
    query = (
        select(
            ds.nip,
            func.count().label("working_days"),
            _count(PRESENT).label("present"),
            _count(TK).label("tk"),
            *[_count(kind).label(kind) for kind in ABSENCE_KINDS],
            _count(NO_DATA).label("no_data"),
            func.sum(ds.missing_check_in).label("missing_check_in"),
            func.sum(ds.missing_check_out).label("missing_check_out"),
            func.sum(ds.late_minutes).label("late_minutes"),
            func.sum(ds.early_leave_minutes).label("early_leave_minutes"),
        )
        .where(ds.day.between(start, end))
        .group_by(ds.nip)
    )
    frame = read_frame(conn, query)
    frame["absent"] = frame["working_days"] - frame["present"] - frame["no_data"]
    return frame


def longest_tk_runs(conn: Connection, start: dt.date, end: dt.date) -> pd.Series:
    """Per employee, the longest run of consecutive working days that were TK.

    Days off are not in daily status, so a run goes on over weekends and holidays; any other
    status (present, an absence with a reason, no data) ends it.
    """
    days = read_frame(
        conn,
        select(daily_status.c.nip, daily_status.c.day, daily_status.c.status)
        .where(daily_status.c.day.between(start, end))
        .order_by(daily_status.c.nip, daily_status.c.day),
    )
    if days.empty:
        return pd.Series(dtype=int)
    is_tk = days["status"] == TK
    run_id = ((days["nip"] != days["nip"].shift()) | (is_tk != is_tk.shift())).cumsum()
    runs = days[is_tk].groupby([days["nip"], run_id]).size()
    return runs.groupby(level=0).max()


def build_recap(conn: Connection, period: Period, rebuild_status: bool = True) -> pd.DataFrame:
    """Compute and store the recap of ``period`` with year-to-date TK equivalents."""
    if rebuild_status:
        rebuild_daily_status(conn, period.year_start, period.end)
    rules = rule_set_for(period.end)

    recap = _totals(conn, period.start, period.end)
    year = _totals(conn, period.year_start, period.end).set_index("nip")
    runs = longest_tk_runs(conn, period.year_start, period.end)

    recap["tk_equivalent"] = [
        rules.tk_equivalent(
            r.tk, r.late_minutes, r.early_leave_minutes, r.missing_check_in, r.missing_check_out
        )
        for r in recap.itertuples()
    ]
    year_of = year.reindex(recap["nip"])
    recap["tk_ytd"] = year_of["tk"].to_numpy()
    recap["late_early_minutes_ytd"] = (
        year_of["late_minutes"] + year_of["early_leave_minutes"]
    ).to_numpy()
    recap["tk_ytd_equivalent"] = [
        rules.tk_equivalent(
            r.tk, r.late_minutes, r.early_leave_minutes, r.missing_check_in, r.missing_check_out
        )
        for r in year_of.itertuples()
    ]
    recap["longest_tk_run_ytd"] = recap["nip"].map(runs).fillna(0).astype(int)

    units = read_frame(conn, select(employees.c.nip, employees.c.opd_code))
    recap = recap.merge(units, on="nip", how="left")
    recap["period_kind"], recap["period"] = period.kind, str(period)
    recap["rule_version"] = rules.version
    recap["calendar_version"] = calendar.calendar_version(conn, period.year)
    recap["computed_at"] = _utcnow()

    conn.execute(
        delete(recaps).where(
            and_(recaps.c.period_kind == period.kind, recaps.c.period == str(period))
        )
    )
    insert_frame(conn, recaps, recap[[c.name for c in recaps.columns]])
    log.info("Recap %s: %d employees, rule %s", period, len(recap), rules.version)
    return recap


def recap_is_current(conn: Connection, period: Period) -> bool:
    """Whether the stored recap of ``period`` is newer than every load of data."""
    computed = conn.scalar(
        select(func.min(recaps.c.computed_at)).where(
            recaps.c.period_kind == period.kind, recaps.c.period == str(period)
        )
    )
    last_load = conn.scalar(select(func.max(import_batches.c.imported_at)))
    return computed is not None and (last_load is None or computed >= last_load)
