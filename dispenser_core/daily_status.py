"""From punches to one status per scheduled working day of each employee.

The rules (DESIGN §4, every number a schedule setting):

- Working days come from the employee's schedule, minus holidays and collective leave, and
  only between the day they joined and the day they left.
- A person's punches are taken in time order; a punch less than ``REPEAT_SECONDS`` after the
  last punch kept is a repeat and is dropped. The in/out state pressed on the terminal is
  ignored.
- The check-in window runs from ``CHECK_IN_OPENS`` before the start up to (not including) the
  midpoint of the day's hours; the check-out window from the midpoint to ``CHECK_OUT_CLOSES``
  after the end, both ends included. Check-in is the first punch of its window, check-out the
  last of its window. A punch that falls in the windows of two days (night shifts) belongs to
  the earlier day only.
- A recorded absence with a reason covers the whole day. Otherwise a day with a punch in its
  windows is present, else absent without reason (TK). A day that no punch source covers yet
  is ``no_data``: it is never TK.
- Late minutes are the whole minutes from the start (after grace) to the check-in; early-leave
  minutes from the check-out to the end. A missing punch adds no minutes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

REPEAT_SECONDS = 300
CHECK_IN_OPENS = pd.Timedelta(hours=3)
CHECK_OUT_CLOSES = pd.Timedelta(hours=6)

PRESENT = "present"
TK = "absent_without_reason"
NO_DATA = "no_data"
ABSENCE_KINDS = ("leave", "sick", "permit", "official_duty", "study")
STATUSES = (PRESENT, TK, *ABSENCE_KINDS, NO_DATA)

STATUS_COLUMNS = [
    "nip",
    "day",
    "opd_code",
    "status",
    "check_in_local",
    "check_out_local",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
    "punches_seen",
    "repeats_dropped",
    "schedule_start",
    "schedule_end",
]


def working_days(
    employees: pd.DataFrame,
    schedules: pd.DataFrame,
    days_off: set[dt.date],
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    """One row per employee and scheduled working day, with that day's hours and windows.

    ``employees`` has nip, opd_code, schedule_code, start_date, end_date; ``schedules`` has the
    columns of the ``work_schedules`` table.
    """
    days = pd.DataFrame({"day": pd.date_range(start, end, freq="D")})
    days = days[~days["day"].dt.date.isin(days_off)]
    days["weekday"] = days["day"].dt.weekday

    grid = employees[["nip", "opd_code", "schedule_code", "start_date", "end_date"]].merge(
        days, how="cross"
    )
    joined = pd.to_datetime(grid["start_date"])
    left = pd.to_datetime(grid["end_date"]).fillna(pd.Timestamp.max)
    grid = grid[(grid["day"] >= joined) & (grid["day"] <= left)]

    hours = schedules[
        [
            "schedule_code",
            "weekday",
            "effective_from",
            "effective_to",
            "start_time",
            "end_time",
            "grace_late_minutes",
            "grace_early_minutes",
        ]
    ]
    grid = grid.merge(hours, on=["schedule_code", "weekday"], how="inner")
    effective_from = pd.to_datetime(grid["effective_from"])
    effective_to = pd.to_datetime(grid["effective_to"]).fillna(pd.Timestamp.max)
    grid = grid[(grid["day"] >= effective_from) & (grid["day"] <= effective_to)]
    # Two schedule versions may both claim a day; the most recent one applies.
    grid = grid.sort_values("effective_from").drop_duplicates(["nip", "day"], keep="last")

    return _add_windows(grid.reset_index(drop=True))


def _time_of_day(times: pd.Series) -> pd.Series:
    return pd.to_timedelta(times.map(lambda t: t.strftime("%H:%M:%S")))


def _add_windows(grid: pd.DataFrame) -> pd.DataFrame:
    grid["shift_start"] = grid["day"] + _time_of_day(grid["start_time"])
    grid["shift_end"] = grid["day"] + _time_of_day(grid["end_time"])
    overnight = grid["shift_end"] <= grid["shift_start"]
    grid.loc[overnight, "shift_end"] += pd.Timedelta(days=1)

    grid["midpoint"] = grid["shift_start"] + (grid["shift_end"] - grid["shift_start"]) / 2
    grid["window_opens"] = grid["shift_start"] - CHECK_IN_OPENS
    grid["window_closes"] = grid["shift_end"] + CHECK_OUT_CLOSES
    return grid


def drop_repeats(punches: pd.DataFrame) -> pd.DataFrame:
    """Mark each punch ``kept`` or not: a repeat is under ``REPEAT_SECONDS`` after the last
    punch kept of the same person. ``punches`` has nip and local_time."""
    punches = punches.sort_values(["nip", "local_time"], kind="stable").reset_index(drop=True)
    seconds = punches["local_time"].to_numpy("datetime64[s]").astype(np.int64)
    first_of_person = (punches["nip"] != punches["nip"].shift()).to_numpy()
    gap = np.diff(seconds, prepend=seconds[:1] if len(seconds) else seconds)

    # A punch far enough from the previous punch is always kept (the last kept one is no later
    # than the previous punch). Only runs of close punches need the sequential rule.
    kept = first_of_person | (gap >= REPEAT_SECONDS)
    for index in np.flatnonzero(~kept):
        previous = index - 1
        while not kept[previous]:
            previous -= 1
        kept[index] = seconds[index] - seconds[previous] >= REPEAT_SECONDS
    punches["kept"] = kept
    return punches


def _assign_punches(grid: pd.DataFrame, punches: pd.DataFrame) -> pd.DataFrame:
    """Each kept punch joined to the working day whose windows hold it (earliest day wins)."""
    kept = punches[punches["kept"]].reset_index(drop=True)
    kept["punch_row"] = kept.index
    kept["punch_day"] = kept["local_time"].dt.normalize()

    windows = grid[["nip", "day", "midpoint", "window_opens", "window_closes"]]
    matches = []
    # A window reaches at most one day back or forward (night shifts, early starts).
    for offset in (-1, 0, 1):
        shifted = kept.assign(day=kept["punch_day"] + pd.Timedelta(days=offset))
        matched = shifted.merge(windows, on=["nip", "day"], how="inner")
        inside = (matched["local_time"] >= matched["window_opens"]) & (
            matched["local_time"] <= matched["window_closes"]
        )
        matches.append(matched[inside])
    assigned = pd.concat(matches, ignore_index=True)
    assigned = assigned.sort_values(["punch_row", "day"]).drop_duplicates("punch_row", keep="first")
    assigned["is_check_in"] = assigned["local_time"] < assigned["midpoint"]
    return assigned


def _first_and_last(assigned: pd.DataFrame) -> pd.DataFrame:
    check_in = (
        assigned[assigned["is_check_in"]]
        .groupby(["nip", "day"])["local_time"]
        .min()
        .rename("check_in_local")
    )
    check_out = (
        assigned[~assigned["is_check_in"]]
        .groupby(["nip", "day"])["local_time"]
        .max()
        .rename("check_out_local")
    )
    seen = assigned.groupby(["nip", "day"]).size().rename("punches_seen")
    return pd.concat([check_in, check_out, seen], axis=1).reset_index()


def _repeats_per_day(punches: pd.DataFrame) -> pd.DataFrame:
    repeats = punches[~punches["kept"]]
    return (
        repeats.assign(day=repeats["local_time"].dt.normalize())
        .groupby(["nip", "day"])
        .size()
        .rename("repeats_dropped")
        .reset_index()
    )


def _absence_days(absences: pd.DataFrame) -> pd.DataFrame:
    """One row per (nip, day) covered by a recorded absence; the earliest-starting record wins
    where two overlap."""
    if absences.empty:
        return pd.DataFrame(columns=["nip", "day", "absence_kind"])
    spans = absences.sort_values("start_date", kind="stable")
    spans = spans.assign(
        day=[
            pd.date_range(s, e, freq="D")
            for s, e in zip(spans["start_date"], spans["end_date"], strict=True)
        ]
    )
    days = spans.explode("day")[["nip", "day", "kind"]].rename(columns={"kind": "absence_kind"})
    days["day"] = pd.to_datetime(days["day"])
    return days.drop_duplicates(["nip", "day"], keep="first")


def _whole_minutes(delta: pd.Series) -> pd.Series:
    minutes = (delta.dt.total_seconds() // 60).fillna(0)
    return minutes.clip(lower=0).astype(int)


def build_daily_status(
    grid: pd.DataFrame,
    punches: pd.DataFrame,
    absences: pd.DataFrame,
    covered_days: set[dt.date] | None = None,
) -> pd.DataFrame:
    """The status of every working day in ``grid``.

    ``punches`` has nip and local_time (the unit's wall time, naive); ``absences`` has nip,
    kind, start_date, end_date; ``covered_days`` are the local dates some punch source has
    delivered (None means every day is covered).
    """
    punches = drop_repeats(punches[["nip", "local_time"]])
    days = grid.merge(
        _first_and_last(_assign_punches(grid, punches)), on=["nip", "day"], how="left"
    )
    days = days.merge(_repeats_per_day(punches), on=["nip", "day"], how="left")
    days = days.merge(_absence_days(absences), on=["nip", "day"], how="left")
    days[["punches_seen", "repeats_dropped"]] = (
        days[["punches_seen", "repeats_dropped"]].fillna(0).astype(int)
    )

    has_punch = days["punches_seen"] > 0
    covered = (
        pd.Series(True, index=days.index)
        if covered_days is None
        else days["day"].dt.date.isin(covered_days)
    )
    days["status"] = np.select(
        [days["absence_kind"].notna(), has_punch, covered],
        [days["absence_kind"], PRESENT, TK],
        default=NO_DATA,
    )

    present = days["status"] == PRESENT
    days["missing_check_in"] = (present & days["check_in_local"].isna()).astype(int)
    days["missing_check_out"] = (present & days["check_out_local"].isna()).astype(int)

    grace_late = pd.to_timedelta(days["grace_late_minutes"], unit="m")
    grace_early = pd.to_timedelta(days["grace_early_minutes"], unit="m")
    late = _whole_minutes(days["check_in_local"] - days["shift_start"] - grace_late)
    early = _whole_minutes(days["shift_end"] - days["check_out_local"] - grace_early)
    days["late_minutes"] = late.where(present, 0)
    days["early_leave_minutes"] = early.where(present, 0)

    days["schedule_start"] = days["start_time"]
    days["schedule_end"] = days["end_time"]
    days["day"] = days["day"].dt.date
    return days[STATUS_COLUMNS].sort_values(["nip", "day"]).reset_index(drop=True)
