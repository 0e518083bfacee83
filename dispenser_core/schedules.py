"""Work schedules: which weekdays are worked and the hours of each, effective-dated."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pandas as pd
from sqlalchemy import Connection, insert, select

from dispenser_core.storage.schema import work_schedules

DEFAULT_SCHEDULE = "office"


def _parse_time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def bundled_schedules() -> list[dict]:
    """The schedules shipped in ``rules/schedules.json`` as rows of ``work_schedules``."""
    raw = json.loads(resources.files("dispenser_core.rules").joinpath("schedules.json").read_text())
    rows = []
    for code, schedule in raw.items():
        if code.startswith("_"):
            continue
        for weekday, (start, end) in schedule["days"].items():
            rows.append(
                {
                    "schedule_code": code,
                    "weekday": int(weekday),
                    "effective_from": dt.date.fromisoformat(schedule["effective_from"]),
                    "effective_to": None,
                    "start_time": _parse_time(start),
                    "end_time": _parse_time(end),
                    "grace_late_minutes": schedule.get("grace_late_minutes", 0),
                    "grace_early_minutes": schedule.get("grace_early_minutes", 0),
                }
            )
    return rows


def seed_schedules(conn: Connection) -> None:
    """Store the bundled schedules that the database does not have yet."""
    known = set(conn.execute(select(work_schedules.c.schedule_code)).scalars())
    missing = [row for row in bundled_schedules() if row["schedule_code"] not in known]
    if missing:
        conn.execute(insert(work_schedules), missing)


def schedules_frame(conn: Connection) -> pd.DataFrame:
    """Every schedule row, as a frame for the daily-status engine."""
    frame = pd.DataFrame(conn.execute(select(work_schedules)).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=[c.name for c in work_schedules.columns])
    return frame
