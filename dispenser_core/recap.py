"""Building daily status and the monthly and yearly recaps in the database.

Daily status is rebuilt from January 1st of the period's year to the period's end, because the
bands count violation days cumulatively within the calendar year. A rebuild compares a
fingerprint of each employee-month with the stored one and rewrites only those that changed, so
late or corrected punches and absences touch only the employees and months they concern; a
recap row that changes gets its ``revision`` raised and ``revised_at`` set.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sqlalchemy import Connection, case, delete, func, literal, or_, select

from dispenser_core import calendar
from dispenser_core.completeness import problem_days
from dispenser_core.daily_status import (
    ABSENCE_KINDS,
    DATA_PROBLEM,
    NO_DATA,
    PENDING,
    PRESENT,
    STATUS_COLUMNS,
    TK,
    DayInputs,
    build_daily_status,
)
from dispenser_core.loading import PUNCH_KINDS
from dispenser_core.periods import Period
from dispenser_core.rules import rule_set_for
from dispenser_core.schedules import (
    DEFAULT_SCHEDULE,
    assignments_frame,
    schedule_days,
    seed_schedules,
    shifts_frame,
)
from dispenser_core.storage.frames import insert_frame, read_frame
from dispenser_core.storage.schema import (
    absences,
    daily_status,
    employees,
    import_batches,
    punches,
    recap_builds,
    recaps,
    source_units,
    status_fingerprints,
    work_units,
)
from dispenser_core.storage.upsert import upsert

log = logging.getLogger(__name__)

COUNT_COLUMNS = (
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
    "pending",
    "data_problem",
    "absent_candidate_days",
    "short_hours_days",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
)
JUDGED_COLUMNS = (
    *COUNT_COLUMNS,
    "tk_equivalent",
    "tk_ytd",
    "late_early_minutes_ytd",
    "tk_ytd_equivalent",
    "longest_tk_run_ytd",
)
IN_CHUNKS = 500


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class StatusRebuild:
    """What a daily-status rebuild changed."""

    days: int
    employee_months_changed: int
    rows_written: int


# -- inputs ----------------------------------------------------------------------------------


def staff_of(
    conn: Connection,
    nips: list[str] | None,
    start: dt.date,
    end: dt.date,
    units: list[str] | None = None,
) -> pd.DataFrame:
    """Employees working between ``start`` and ``end`` (all, those of ``nips``, or those of
    ``units``), with their unit's time zone and the schedule code that applies by default."""
    query = (
        select(
            employees.c.nip,
            employees.c.opd_code,
            func.coalesce(
                employees.c.schedule_code, work_units.c.schedule_code, literal(DEFAULT_SCHEDULE)
            ).label("schedule_code"),
            employees.c.start_date,
            employees.c.end_date,
            work_units.c.timezone,
        )
        .join(work_units, work_units.c.opd_code == employees.c.opd_code)
        .where(
            employees.c.start_date <= end,
            or_(employees.c.end_date.is_(None), employees.c.end_date >= start),
        )
        .order_by(employees.c.nip)
    )
    if nips is not None:
        query = query.where(employees.c.nip.in_(nips))
    if units is not None:
        query = query.where(employees.c.opd_code.in_(units))
    staff = read_frame(conn, query)
    staff["start_date"] = pd.to_datetime(staff["start_date"])
    staff["end_date"] = pd.to_datetime(staff["end_date"])
    return staff


def local_punches(
    conn: Connection,
    staff: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    units: list[str] | None = None,
) -> pd.DataFrame:
    """Punches of ``staff`` (nip, timezone) around ``start`` .. ``end`` in each unit's local time:
    columns nip (categorical over the staff's NIPs), local_time and source. ``units``, when
    the staff are those units' employees, lets the database leave the other units' out."""
    # Two days of margin each side: a UTC time belongs to the local date it happened on, and
    # windows reach into the neighbouring days.
    low = dt.datetime.combine(start - dt.timedelta(days=2), dt.time())
    high = dt.datetime.combine(end + dt.timedelta(days=2), dt.time())
    query = (
        select(punches.c.nip, punches.c.punched_at, import_batches.c.source)
        .join(import_batches, import_batches.c.batch_id == punches.c.batch_id)
        .where(punches.c.punched_at.between(low, high))
    )
    if len(staff) <= IN_CHUNKS:
        query = query.where(punches.c.nip.in_(list(staff["nip"])))
    elif units is not None:
        query = query.join(employees, employees.c.nip == punches.c.nip).where(
            employees.c.opd_code.in_(units)
        )
    raw = read_frame(conn, query).merge(staff[["nip", "timezone"]], on="nip", how="inner")
    raw["punched_at"] = pd.to_datetime(raw["punched_at"])
    local = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    for zone, rows in raw.groupby("timezone").groups.items():
        local.loc[rows] = (
            raw.loc[rows, "punched_at"]
            .dt.tz_localize("UTC")
            .dt.tz_convert(zone)
            .dt.tz_localize(None)
        )
    nips = pd.Categorical(raw["nip"], categories=pd.Index(staff["nip"]).unique())
    return pd.DataFrame({"nip": nips, "local_time": local, "source": pd.Categorical(raw["source"])})


def _absences(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    frame = read_frame(
        conn,
        select(absences.c.nip, absences.c.kind, absences.c.start_date, absences.c.end_date).where(
            absences.c.start_date <= end, absences.c.end_date >= start
        ),
    )
    return frame.assign(
        start_date=pd.to_datetime(frame["start_date"]), end_date=pd.to_datetime(frame["end_date"])
    )


def unit_coverage(conn: Connection) -> pd.DataFrame:
    """Per unit: the first local date its sources cover, and the local time up to which every
    one of its sources has delivered (the unit's watermark)."""
    per_source = (
        select(
            import_batches.c.source,
            func.min(import_batches.c.covers_from).label("first"),
            func.max(import_batches.c.synced_until).label("synced"),
        )
        .where(import_batches.c.source_kind.in_(PUNCH_KINDS))
        .group_by(import_batches.c.source)
        .subquery()
    )
    query = (
        select(
            source_units.c.opd_code,
            work_units.c.timezone,
            func.min(per_source.c.first).label("judged_from"),
            func.min(per_source.c.synced).label("judged_until"),
        )
        .join(per_source, per_source.c.source == source_units.c.source)
        .join(work_units, work_units.c.opd_code == source_units.c.opd_code)
        .group_by(source_units.c.opd_code, work_units.c.timezone)
    )
    frame = read_frame(conn, query)
    # A watermark set in the future (a mistyped --synced-until, a source's clock) must never
    # let a day that has not happened be judged: nothing is delivered later than now.
    now = pd.Timestamp.now(tz="UTC")
    local_now = pd.to_datetime(
        [now.tz_convert(zone).tz_localize(None) for zone in frame["timezone"]]
    )
    synced = pd.to_datetime(frame["judged_until"])
    return frame.drop(columns="timezone").assign(
        judged_from=pd.to_datetime(frame["judged_from"]),
        judged_until=synced.where(synced.isna() | (synced <= local_now), local_now),
    )


def _source_units(conn: Connection) -> pd.DataFrame:
    return read_frame(conn, select(source_units.c.source, source_units.c.opd_code))


def source_day_counts(conn: Connection, start: dt.date, end: dt.date) -> pd.Series:
    """Punches per source and local day of the whole city, as the completeness guard counts
    them (employees at work between ``start`` and ``end``), indexed by (source, day).

    A unit judged on its own needs these: a source may serve other units too, and its usual
    count is taken over all of them."""
    if conn.dialect.name != "postgresql":
        # SQLite has no time zones; a city on SQLite is small enough to count in memory.
        staff = staff_of(conn, None, start, end)
        local = local_punches(conn, staff, start, end)
        return local.groupby(
            [local["source"].astype(str), local["local_time"].dt.normalize()]
        ).size()
    low = dt.datetime.combine(start - dt.timedelta(days=2), dt.time())
    high = dt.datetime.combine(end + dt.timedelta(days=2), dt.time())
    local_day = func.date(
        func.timezone(work_units.c.timezone, func.timezone("UTC", punches.c.punched_at))
    )
    query = (
        select(import_batches.c.source, local_day.label("day"), func.count().label("punches"))
        .select_from(
            punches.join(import_batches, import_batches.c.batch_id == punches.c.batch_id)
            .join(employees, employees.c.nip == punches.c.nip)
            .join(work_units, work_units.c.opd_code == employees.c.opd_code)
        )
        .where(
            punches.c.punched_at.between(low, high),
            employees.c.start_date <= end,
            or_(employees.c.end_date.is_(None), employees.c.end_date >= start),
        )
        .group_by(import_batches.c.source, local_day)
    )
    counts = read_frame(conn, query)
    counts["day"] = pd.to_datetime(counts["day"])
    return counts.set_index(["source", "day"])["punches"]


def day_inputs(
    conn: Connection,
    start: dt.date,
    end: dt.date,
    units: list[str] | None = None,
    source_counts: pd.Series | None = None,
) -> DayInputs:
    """Everything the daily-status engine needs for ``start`` .. ``end``, from the database:
    for the whole city, or for some ``units`` with the city's ``source_day_counts``."""
    if units is not None and source_counts is None:
        raise ValueError("Judging some units needs the city's punches per source and day.")
    if units is None:
        seed_schedules(conn)
    # else the planning step seeded them: units rebuilt at the same time would otherwise wait
    # on each other's locks of the same schedule rows until each one commits.
    staff = staff_of(conn, None, start, end, units)
    days_off = calendar.unit_days_off(conn, start, end, sorted(staff["opd_code"].unique()))
    days_off = days_off.assign(day=pd.to_datetime(days_off["day"]))
    punches_local = local_punches(conn, staff, start, end, units)
    coverage = unit_coverage(conn)
    return DayInputs(
        employees=staff,
        schedule_days=schedule_days(conn, start, end),
        punches=punches_local,
        absences=_absences(conn, start, end),
        days_off=days_off,
        assignments=assignments_frame(conn),
        shifts=shifts_frame(conn, start, end),
        coverage=coverage,
        problem_days=problem_days(
            punches_local,
            staff,
            days_off,
            start,
            end,
            sources=_source_units(conn),
            coverage=coverage,
            source_counts=source_counts,
        ),
    )


# -- daily status, rewritten where it changed ------------------------------------------------

FINGERPRINTED = [c for c in STATUS_COLUMNS if c != "nip"]


def _fingerprints(statuses: pd.DataFrame) -> pd.DataFrame:
    rows = pd.util.hash_pandas_object(statuses[FINGERPRINTED].astype(str), index=False)
    keyed = pd.DataFrame(
        {
            "nip": statuses["nip"],
            "month": statuses["month"],
            "fingerprint": rows.to_numpy().view(np.int64),
        }
    )
    # A sum that wraps around is order-free and cheap; each row hashes its own day.
    return keyed.groupby(["nip", "month"], as_index=False)["fingerprint"].sum()


def _stored_fingerprints(
    conn: Connection, months: list[str], units: list[str] | None
) -> pd.DataFrame:
    query = select(status_fingerprints).where(status_fingerprints.c.month.in_(months))
    if units is not None:
        # An employee's months belong to the unit they are in now, as their statuses do.
        query = query.where(
            status_fingerprints.c.nip.in_(
                select(employees.c.nip).where(employees.c.opd_code.in_(units))
            )
        )
    return read_frame(conn, query)


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    period = Period.parse(month)
    return period.start, period.end


def _delete_groups(conn: Connection, groups: pd.DataFrame, everyone: set[str] | None) -> None:
    """Delete the statuses of the (nip, month) ``groups``; whole months at once when they
    hold ``everyone`` stored (None: the groups are a few units', never the whole city)."""
    for month, nips in groups.groupby("month")["nip"]:
        first, last = _month_bounds(month)
        in_month = daily_status.c.day.between(first, last)
        if everyone is not None and set(nips) >= everyone:
            conn.execute(delete(daily_status).where(in_month))
            conn.execute(delete(status_fingerprints).where(status_fingerprints.c.month == month))
            continue
        listed = sorted(nips)
        for offset in range(0, len(listed), IN_CHUNKS):
            chunk = listed[offset : offset + IN_CHUNKS]
            conn.execute(delete(daily_status).where(in_month, daily_status.c.nip.in_(chunk)))
            conn.execute(
                delete(status_fingerprints).where(
                    status_fingerprints.c.month == month, status_fingerprints.c.nip.in_(chunk)
                )
            )


def _month_of(inputs: DayInputs, month: Period) -> DayInputs:
    """The inputs that can touch ``month``: punches two days either side, absences and shifts
    that overlap it."""
    low = np.datetime64(month.start - dt.timedelta(days=2), "us")
    high = np.datetime64(month.end + dt.timedelta(days=3), "us")
    punches = inputs.punches
    absences = inputs.absences
    times = punches["local_time"].to_numpy("datetime64[us]")
    return replace(
        inputs,
        punches=punches[(times >= low) & (times < high)],
        absences=absences[
            (absences["start_date"] <= pd.Timestamp(month.end))
            & (absences["end_date"] >= pd.Timestamp(month.start))
        ],
    )


def _rebuild_month(
    conn: Connection, inputs: DayInputs, month: Period, units: list[str] | None
) -> StatusRebuild:
    statuses = build_daily_status(_month_of(inputs, month), month.start, month.end)
    statuses["nip"] = statuses["nip"].astype(str)
    statuses["month"] = str(month)

    new = _fingerprints(statuses)
    old = _stored_fingerprints(conn, [str(month)], units)
    compared = new.merge(
        old, on=["nip", "month"], how="outer", suffixes=("", "_old"), indicator=True
    )
    changed = compared[
        (compared["_merge"] != "both") | (compared["fingerprint"] != compared["fingerprint_old"])
    ]

    everyone = None if units is not None else set(old["nip"]) | set(new["nip"])
    _delete_groups(conn, changed[["nip", "month"]], everyone)
    keys = changed.loc[changed["_merge"] != "right_only", ["nip", "month"]]
    rows = statuses.merge(keys, on=["nip", "month"], how="inner")
    rows["computed_at"] = _utcnow()
    written = insert_frame(conn, daily_status, rows.drop(columns="month"))
    insert_frame(conn, status_fingerprints, new.merge(keys, on=["nip", "month"]))
    return StatusRebuild(len(statuses), len(changed), written)


def rebuild_daily_status(
    conn: Connection,
    start: dt.date,
    end: dt.date,
    units: list[str] | None = None,
    source_counts: pd.Series | None = None,
) -> StatusRebuild:
    """Recompute the status of every working day of the whole months ``start`` .. ``end`` and
    store the employee-months that changed. Month by month, so memory stays bounded.

    With ``units`` (and the city's ``source_day_counts`` over the same days), only those
    units' employees are judged and rewritten; a city's units, rebuilt one by one or at the
    same time, leave the same statuses as one rebuild of the whole city."""
    if start.day != 1 or (end + dt.timedelta(days=1)).day != 1:
        raise ValueError(
            f"Rebuild whole months: {start} .. {end} does not start on the 1st "
            "and end on a month's last day."
        )
    inputs = day_inputs(conn, start, end, units, source_counts)
    total = StatusRebuild(0, 0, 0)
    for first in pd.date_range(start, end, freq="MS"):
        month = _rebuild_month(conn, inputs, Period(first.year, first.month), units)
        total = StatusRebuild(
            total.days + month.days,
            total.employee_months_changed + month.employee_months_changed,
            total.rows_written + month.rows_written,
        )
        log.debug(
            "Daily status %s-%02d: %d days, %d employee-months changed",
            first.year,
            first.month,
            month.days,
            month.employee_months_changed,
        )
    log.info(
        "Daily status %s..%s%s: %d working days, %d employee-months changed, %d rows written",
        start,
        end,
        f" of {len(units)} units" if units is not None else "",
        total.days,
        total.employee_months_changed,
        total.rows_written,
    )
    return total


# -- recaps ------------------------------------------------------------------------------------


def _count(status: str):
    return func.sum(case((daily_status.c.status == status, 1), else_=0))


def _flagged(flag: str):
    return func.sum(case((daily_status.c.policy_flag == flag, 1), else_=0))


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
            _count(PENDING).label("pending"),
            _count(DATA_PROBLEM).label("data_problem"),
            _flagged("absent_candidate").label("absent_candidate_days"),
            _flagged("short_hours").label("short_hours_days"),
            func.sum(ds.missing_check_in).label("missing_check_in"),
            func.sum(ds.missing_check_out).label("missing_check_out"),
            func.sum(ds.late_minutes).label("late_minutes"),
            func.sum(ds.early_leave_minutes).label("early_leave_minutes"),
        )
        .where(ds.day.between(start, end))
        .group_by(ds.nip)
    )
    frame = read_frame(conn, query)
    frame["absent"] = (
        frame["working_days"]
        - frame["present"]
        - frame["no_data"]
        - frame["pending"]
        - frame["data_problem"]
    )
    return frame


# A run of consecutive working days may begin in the last weeks of the year before.
RUN_LOOKBACK = dt.timedelta(days=31)


def longest_tk_runs(conn: Connection, start: dt.date, end: dt.date) -> pd.Series:
    """Per employee, the longest run of consecutive working days that were TK and that reach
    into ``start`` .. ``end`` (a run that began before ``start`` counts whole).

    Days off are not in daily status, so a run goes on over weekends and holidays; any other
    status (present, an absence with a reason, a day not judged) ends it.
    """
    days = read_frame(
        conn,
        select(daily_status.c.nip, daily_status.c.day, daily_status.c.status)
        .where(daily_status.c.day.between(start - RUN_LOOKBACK, end))
        .order_by(daily_status.c.nip, daily_status.c.day),
    )
    if days.empty:
        return pd.Series(dtype=int)
    is_tk = days["status"] == TK
    run_id = ((days["nip"] != days["nip"].shift()) | (is_tk != is_tk.shift())).cumsum()
    runs = (
        days[is_tk].groupby([days["nip"], run_id]).agg(length=("day", "size"), last=("day", "max"))
    )
    runs = runs[pd.to_datetime(runs["last"]) >= pd.Timestamp(start)]
    return runs["length"].groupby(level=0).max()


def _equivalents(rules, frame: pd.DataFrame) -> list[int]:
    return [
        rules.tk_equivalent(
            r.tk,
            r.late_minutes,
            r.early_leave_minutes,
            r.missing_check_in,
            r.missing_check_out,
            r.absent_candidate_days,
        )
        for r in frame.itertuples()
    ]


def compute_recap(conn: Connection, period: Period) -> pd.DataFrame:
    """The recap of ``period`` from stored daily status, with year-to-date equivalents."""
    rules = rule_set_for(period.end)
    recap = _totals(conn, period.start, period.end)
    year = _totals(conn, period.year_start, period.end).set_index("nip").reindex(recap["nip"])

    recap["tk_equivalent"] = _equivalents(rules, recap)
    recap["tk_ytd"] = year["tk"].to_numpy()
    recap["late_early_minutes_ytd"] = (
        year["late_minutes"] + year["early_leave_minutes"]
    ).to_numpy()
    recap["tk_ytd_equivalent"] = _equivalents(rules, year.reset_index())
    runs = longest_tk_runs(conn, period.year_start, period.end)
    recap["longest_tk_run_ytd"] = recap["nip"].map(runs).fillna(0).astype(int)

    recap = recap.merge(read_frame(conn, select(employees.c.nip, employees.c.opd_code)), on="nip")
    return recap.assign(
        period_kind=period.kind,
        period=str(period),
        rule_version=rules.version,
        calendar_version=calendar.calendar_version(conn, period.year),
    )


def _store_recap(conn: Connection, period: Period, recap: pd.DataFrame) -> dict[str, int]:
    """Write the rows that are new or changed; a changed row's revision goes up by one."""
    key = (recaps.c.period_kind == period.kind, recaps.c.period == str(period))
    stored = read_frame(conn, select(recaps).where(*key)).set_index("nip")
    now = _utcnow()
    fresh, revised = [], []
    for row in recap.to_dict("records"):
        before = stored.loc[row["nip"]] if row["nip"] in stored.index else None
        if before is None:
            fresh.append({**row, "computed_at": now, "revision": 1, "revised_at": None})
        elif any(int(before[c]) != int(row[c]) for c in JUDGED_COLUMNS) or (
            before["rule_version"],
            before["calendar_version"],
        ) != (row["rule_version"], row["calendar_version"]):
            revised.append(
                {
                    **row,
                    "computed_at": now,
                    "revision": int(before["revision"]) + 1,
                    "revised_at": now,
                }
            )

    gone = sorted(set(stored.index) - set(recap["nip"]))
    if gone:
        conn.execute(delete(recaps).where(*key, recaps.c.nip.in_(gone)))
    columns = [c.name for c in recaps.columns]
    changed = [{c: row[c] for c in columns} for row in fresh + revised]
    upsert(
        conn,
        recaps,
        [{k: _plain(v) for k, v in r.items()} for r in changed],
        ["period_kind", "period", "nip"],
    )
    return {"new": len(fresh), "revised": len(revised), "removed": len(gone)}


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    return value


def build_recap(conn: Connection, period: Period, rebuild_status: bool = True) -> pd.DataFrame:
    """Compute and store the recap of ``period`` (daily status from January 1st first)."""
    if rebuild_status:
        rebuild_daily_status(conn, period.year_start, period.end)
    recap = compute_recap(conn, period)
    counts = _store_recap(conn, period, recap)
    upsert(
        conn,
        recap_builds,
        [
            {
                "period_kind": period.kind,
                "period": str(period),
                "built_at": _utcnow(),
                "employees": len(recap),
                **counts,
            }
        ],
        ["period_kind", "period"],
    )
    log.info(
        "Recap %s: %d employees (%d new, %d revised, %d removed), rule %s",
        period,
        len(recap),
        counts["new"],
        counts["revised"],
        counts["removed"],
        recap["rule_version"].iloc[0] if len(recap) else "-",
    )
    return recap


def recap_is_current(conn: Connection, period: Period) -> bool:
    """Whether the stored recap of ``period`` is newer than every load of data."""
    computed = conn.scalar(
        select(recap_builds.c.built_at).where(
            recap_builds.c.period_kind == period.kind, recap_builds.c.period == str(period)
        )
    )
    last_load = conn.scalar(select(func.max(import_batches.c.imported_at)))
    return computed is not None and (last_load is None or computed >= last_load)
