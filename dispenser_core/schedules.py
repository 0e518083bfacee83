"""Work schedules: which days are worked and the hours of each, effective-dated.

A schedule is weekly (hours per weekday, with dated special periods such as Ramadan) or a
roster (each employee's shifts listed day by day). Which schedule applies to an employee on a
day: a dated assignment of the employee, else a dated assignment of their unit, else the
employee's own schedule code, else their unit's, else ``office``.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, select

from dispenser_core.exceptions import InputFileError
from dispenser_core.storage.frames import read_frame
from dispenser_core.storage.schema import schedule_assignments, shifts, work_schedules
from dispenser_core.storage.upsert import upsert

DEFAULT_SCHEDULE = "office"
ROSTER_WEEKDAY = -1  # the row of a roster schedule that holds only its settings
SETTINGS = {
    "grace_late_minutes": 0,
    "grace_early_minutes": 0,
    "check_in_opens_minutes": 180,
    "check_out_closes_minutes": 360,
    "absent_below_minutes": None,
    "short_below_minutes": None,
    "observes_holidays": True,
}
KEYS = ["schedule_code", "weekday", "effective_from"]


def _time(text: str, where: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError as err:
        raise InputFileError(f"{where}: {text!r} is not a time like 07:30.") from err


def _rows_of(code: str, definition: dict) -> list[dict]:
    settings = SETTINGS | definition.get("settings", {})
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise InputFileError(
            f"Schedule {code!r}: unknown settings {unknown}; known: {sorted(SETTINGS)}."
        )
    base = {"schedule_code": code, "is_roster": bool(definition.get("roster")), **settings}
    start = dt.date.fromisoformat(definition["effective_from"])
    end = (
        dt.date.fromisoformat(definition["effective_to"])
        if definition.get("effective_to")
        else None
    )

    if base["is_roster"]:
        return [
            {
                **base,
                "weekday": ROSTER_WEEKDAY,
                "effective_from": start,
                "effective_to": end,
                "start_time": None,
                "end_time": None,
                "period_name": None,
            }
        ]

    rows = []
    periods = [(definition["days"], start, end, None)] + [
        (p["days"], dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["to"]), p["name"])
        for p in definition.get("special_periods", [])
    ]
    for days, first, last, name in periods:
        for weekday, (opens, closes) in days.items():
            rows.append(
                {
                    **base,
                    "weekday": int(weekday),
                    "effective_from": first,
                    "effective_to": last,
                    "period_name": name,
                    "start_time": _time(opens, f"schedule {code}"),
                    "end_time": _time(closes, f"schedule {code}"),
                }
            )
    return rows


def schedule_rows(definitions: dict) -> list[dict]:
    """Rows of ``work_schedules`` from a schedule file's content."""
    return [
        row
        for code, definition in definitions.items()
        if not code.startswith("_")
        for row in _rows_of(code, definition)
    ]


def bundled_schedules() -> list[dict]:
    """The schedules shipped in ``rules/schedules.json``."""
    text = resources.files("dispenser_core.rules").joinpath("schedules.json").read_text()
    return schedule_rows(json.loads(text))


def read_schedule_file(path: Path) -> list[dict]:
    try:
        return schedule_rows(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, KeyError, ValueError) as err:
        if isinstance(err, InputFileError):
            raise
        raise InputFileError(
            f"Cannot read the schedule file {path}: {err}. It follows rules/schedules.json."
        ) from err


def seed_schedules(conn: Connection, rows: list[dict] | None = None) -> None:
    """Store schedule rows (by default the bundled ones); a row with the same code, weekday and
    start replaces the stored one."""
    upsert(conn, work_schedules, rows if rows is not None else bundled_schedules(), KEYS)


def _seconds(value) -> float | None:
    if value is None or value is pd.NaT:
        return None
    return value.hour * 3600 + value.minute * 60 + value.second


def schedule_days(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every stored schedule's hours and settings on every day from ``start`` to ``end``."""
    return expand_schedule_days(read_frame(conn, select(work_schedules)), start, end)


def expand_schedule_days(rows: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Schedule rows spread over the days from ``start`` to ``end``: on each day the version in
    force (the latest ``effective_from`` wins, so a special period overrides the usual hours)."""
    rows = pd.DataFrame(rows)
    days = pd.DataFrame({"day": pd.date_range(start, end, freq="D")})
    days["weekday"] = days["day"].dt.weekday
    weekly = rows[~rows["is_roster"].astype(bool)].merge(days, on="weekday")
    roster = rows[rows["is_roster"].astype(bool)].drop(columns="weekday").merge(days, how="cross")
    table = pd.concat([weekly, roster], ignore_index=True)

    first = pd.to_datetime(table["effective_from"])
    last = pd.to_datetime(table["effective_to"]).fillna(pd.Timestamp.max)
    table = table[(table["day"] >= first) & (table["day"] <= last)]
    table = table.sort_values("effective_from").drop_duplicates(
        ["schedule_code", "day"], keep="last"
    )
    table["start_seconds"] = table["start_time"].map(_seconds)
    table["end_seconds"] = table["end_time"].map(_seconds)
    return table.drop(columns=["start_time", "end_time", "weekday"]).reset_index(drop=True)


def assignments_frame(conn: Connection) -> pd.DataFrame:
    return read_frame(conn, select(schedule_assignments))


def shifts_frame(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    frame = read_frame(conn, select(shifts).where(shifts.c.day.between(start, end)))
    frame["start_seconds"] = frame["start_time"].map(_seconds)
    frame["end_seconds"] = frame["end_time"].map(_seconds)
    return frame
