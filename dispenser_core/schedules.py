"""Work schedules: which days are worked and the hours of each, effective-dated.

A schedule is weekly (hours per weekday, with dated special periods such as Ramadan) or a
roster (each employee's shifts listed day by day). Which schedule applies to an employee on a
day: a dated assignment of the employee, else a dated assignment of their unit, else the
employee's own schedule code, else their unit's, else ``office``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, select

from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.records import ReadResult, Rejection
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
WEEKDAYS = tuple(str(day) for day in range(7))  # 0 = Monday .. 6 = Sunday, as date.weekday()
CODE_LENGTH = work_schedules.c.schedule_code.type.length


class _ScheduleProblem(Exception):
    """Why one schedule of a file cannot be stored; the file's other schedules still can."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _day(value, where: str) -> dt.date:
    if value is None:
        raise _ScheduleProblem("missing_value", f"{where} is missing")
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as err:
        raise _ScheduleProblem(
            "invalid_date", f"{where} {value!r} is not a date like 2025-03-03"
        ) from err


def _time(value, where: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except (TypeError, ValueError) as err:
        raise _ScheduleProblem(
            "invalid_time", f"{where}: {value!r} is not a time like 07:30"
        ) from err


def _weekday(key: str, where: str) -> int:
    if key not in WEEKDAYS:
        raise _ScheduleProblem(
            "invalid_weekday",
            f"{where}: weekday {key!r} is not one of 0 (Monday) to 6 (Sunday)",
        )
    return int(key)


def _hours(days, where: str) -> list[tuple[int, dt.time, dt.time]]:
    """Weekday, start and end of each worked day of a ``days`` mapping."""
    if not isinstance(days, dict):
        raise _ScheduleProblem(
            "missing_value", f"{where} must map weekday (0 = Monday) to [start, end]"
        )
    hours = []
    for key, pair in days.items():
        weekday = _weekday(key, where)
        if not isinstance(pair, list) or len(pair) != 2:
            raise _ScheduleProblem(
                "invalid_time", f"{where}: weekday {key} {pair!r} is not [start, end]"
            )
        at = f"{where} weekday {key}"
        hours.append((weekday, _time(pair[0], at), _time(pair[1], at)))
    return hours


def _fits(default, value) -> bool:
    """Whether ``value`` has the type of a setting whose default is ``default``."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if value is None:
        return default is None
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _settings(definition: dict) -> dict:
    given = definition.get("settings", {})
    if not isinstance(given, dict):
        raise _ScheduleProblem("invalid_setting", "settings must map a setting's name to a value")
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise _ScheduleProblem(
            "unknown_setting", f"unknown settings {unknown}; known: {sorted(SETTINGS)}"
        )
    wrong = sorted(name for name, value in given.items() if not _fits(SETTINGS[name], value))
    if wrong:
        raise _ScheduleProblem(
            "invalid_setting",
            f"settings {wrong} must be whole minutes (null where the default is), "
            "observes_holidays true or false",
        )
    return SETTINGS | given


def _periods(definition: dict, start: dt.date, end: dt.date | None) -> list[tuple]:
    """The usual hours and each special period: (hours, first day, last day, name)."""
    periods = [(_hours(definition.get("days"), "days"), start, end, None)]
    special = definition.get("special_periods", [])
    if not isinstance(special, list):
        raise _ScheduleProblem("invalid_schedule", "special_periods must be a list of periods")
    for period in special:
        name = period.get("name") if isinstance(period, dict) else None
        if not name:
            raise _ScheduleProblem("missing_value", "a special period has no name")
        where = f"special period {name!r}"
        first, last = (
            _day(period.get("from"), f"{where} from"),
            _day(period.get("to"), f"{where} to"),
        )
        periods.append((_hours(period.get("days"), f"{where} days"), first, last, name))
    return periods


def _rows_of(code: str, definition) -> list[dict]:
    if not isinstance(definition, dict):
        raise _ScheduleProblem("invalid_schedule", "is not an object with effective_from and days")
    if len(code) > CODE_LENGTH:
        raise _ScheduleProblem("invalid_code", f"the code is longer than {CODE_LENGTH} characters")
    base = {
        "schedule_code": code,
        "is_roster": bool(definition.get("roster")),
        **_settings(definition),
    }
    start = _day(definition.get("effective_from"), "effective_from")
    end = (
        _day(definition["effective_to"], "effective_to") if definition.get("effective_to") else None
    )
    if end and end < start:
        raise _ScheduleProblem(
            "range_reversed", f"effective_to {end} is before effective_from {start}"
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
    rows = [
        {
            **base,
            "weekday": weekday,
            "effective_from": first,
            "effective_to": last,
            "period_name": name,
            "start_time": opens,
            "end_time": closes,
        }
        for hours, first, last, name in _periods(definition, start, end)
        for weekday, opens, closes in hours
    ]
    if len({(row["weekday"], row["effective_from"]) for row in rows}) < len(rows):
        # A weekday's hours are stored once per start date; two would overwrite each other.
        raise _ScheduleProblem(
            "overlapping_periods", "two periods start on the same day; give each its own start"
        )
    return rows


def schedule_rows(definitions: dict) -> list[dict]:
    """Rows of ``work_schedules`` from a schedule file's content (every schedule must be good)."""
    rows = []
    for code, definition in definitions.items():
        if code.startswith("_"):
            continue
        try:
            rows.extend(_rows_of(code, definition))
        except _ScheduleProblem as problem:
            raise InputFileError(f"Schedule {code!r}: {problem.detail}.") from problem
    return rows


def bundled_schedules() -> list[dict]:
    """The schedules shipped in ``rules/schedules.json``."""
    text = resources.files("dispenser_core.rules").joinpath("schedules.json").read_text()
    return schedule_rows(json.loads(text))


def read_schedule_file(path: Path) -> ReadResult:
    """A schedule file shaped like ``rules/schedules.json``: one entry per schedule code (an
    entry whose code starts with ``_`` is a comment). Each schedule is checked on its own,
    weekdays 0 (Monday) to 6 (Sunday); one with a problem is rejected whole with its reason and
    the line of its code, the others are read. Each of ``rows`` is the list of one schedule's
    rows."""
    entries = _entries(_schedule_text(path))
    last_line = {code: line for line, code, _ in entries}
    result = ReadResult()
    for line, code, definition in entries:
        if code.startswith("_"):
            continue
        result.lines_read += 1
        raw = json.dumps({code: definition}, ensure_ascii=False)
        try:
            rows = _rows_once(code, definition, line, last_line[code])
        except _ScheduleProblem as problem:
            detail = f"schedule {code}: {problem.detail}"
            result.rejected.append(Rejection(line, raw, problem.reason, detail))
            continue
        result.rows.append(rows)
        result.row_lines.append(line)
        result.row_raw.append(raw)
    return result


def _rows_once(code: str, definition, line: int, last_line: int) -> list[dict]:
    # json.loads would keep the last of two entries of one code silently; say so instead.
    if line != last_line:
        raise _ScheduleProblem(
            "duplicate_in_file", f"appears again on line {last_line}, which is the one loaded"
        )
    return _rows_of(code, definition)


def _schedule_text(path: Path) -> str:
    """The text of a schedule file, refused whole unless it is a JSON object."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        content = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputFileError(
            f"Cannot read the schedule file {path}: {err}. It follows rules/schedules.json."
        ) from err
    if not isinstance(content, dict):
        raise InputFileError(
            f"{path} is not a JSON object of schedules by code; it follows rules/schedules.json."
        )
    return text


def _entries(text: str) -> list[tuple[int, str, object]]:
    """(line, code, definition) of each top-level entry of a JSON object already known to be
    valid: json.loads gives no positions, and a rejection names the line of its schedule."""
    decoder, space = json.JSONDecoder(), re.compile(r"[ \t\n\r]*")
    at = space.match(text, text.index("{") + 1).end()
    entries = []
    while text[at] != "}":
        line = text.count("\n", 0, at) + 1
        code, at = decoder.raw_decode(text, at)
        definition, at = decoder.raw_decode(text, space.match(text, text.index(":", at) + 1).end())
        entries.append((line, code, definition))
        at = space.match(text, at).end()
        at = space.match(text, at + 1).end() if text[at] == "," else at
    return entries


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
