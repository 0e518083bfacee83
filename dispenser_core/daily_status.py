"""From punches to one status per scheduled working day of each employee.

The rules (DESIGN §4; every number is a schedule setting or in the rule file):

- Working days come from the schedule that applies (see ``schedules.py``), minus the unit's
  holidays and collective-leave days (unless the schedule works through holidays), and only
  between the day the employee joined and the day they left.
- A person's punches are taken in time order; a punch less than ``REPEAT_SECONDS`` after the
  last punch kept is a repeat and is dropped. The in/out state pressed on the terminal is
  ignored.
- The check-in window runs from ``check_in_opens_minutes`` before the start up to (not
  including) the midpoint of the day's hours; the check-out window from the midpoint to
  ``check_out_closes_minutes`` after the end, both ends included. Check-in is the first punch
  of its window, check-out the last of its window. A punch that falls in the windows of two days
  (night shifts) belongs to the earlier day only, so it is never used twice.
- The status of a day, first rule that applies:
  1. a recorded absence with a reason: that absence (punches stay as evidence);
  2. no punch source of the unit covers the day yet: ``no_data``;
  3. a source of the unit has not delivered data past the end of the day's check-out window
     (its watermark): ``pending``;
  4. a punch in the day's windows: ``present``;
  5. the unit's terminals delivered far fewer punches than usual that day: ``data_problem``;
  6. otherwise absent without reason (TK).
- Late minutes are the whole minutes, rounded down, from the start plus the grace to the
  check-in; early-leave minutes from the check-out to the end minus the grace. A missing punch
  adds no minutes. Worked time runs from the first to the last punch of the day's windows and
  is unknown with a single punch (never invented). Worked time below the schedule's thresholds
  flags the day as an absent candidate or short hours; the rule file decides what that counts
  as.

How: every employee-day of the period is a row of numpy arrays, sorted by employee and shift
start; every kept punch is a key (employee, second) in one sorted array. The punches of a day's
windows are then a slice found by binary search, so a city's month (half a million days, a
million punches) takes a fraction of a second and little memory. Times are the unit's local
wall time as seconds, never the machine's zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

REPEAT_SECONDS = 300
DAY = 86_400
MISSING = -1  # a punch time that does not exist

PRESENT = "present"
TK = "absent_without_reason"
NO_DATA = "no_data"
PENDING = "pending"
DATA_PROBLEM = "data_problem"
ABSENCE_KINDS = ("leave", "sick", "permit", "official_duty", "study")
NOT_JUDGED = (NO_DATA, PENDING, DATA_PROBLEM)
STATUSES = (PRESENT, TK, *ABSENCE_KINDS, *NOT_JUDGED)
POLICY_FLAGS = ("absent_candidate", "short_hours")
PRESENT_REASONS = ("late", "early_leave", "missing_check_in", "missing_check_out")

STATUS_COLUMNS = [
    "nip",
    "day",
    "opd_code",
    "status",
    "schedule_code",
    "check_in_local",
    "check_out_local",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
    "worked_minutes",
    "policy_flag",
    "punches_seen",
    "repeats_dropped",
    "schedule_start",
    "schedule_end",
    "reason",
]
SETTING_COLUMNS = (
    "grace_late_minutes",
    "grace_early_minutes",
    "check_in_opens_minutes",
    "check_out_closes_minutes",
    "absent_below_minutes",
    "short_below_minutes",
)


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns.items()})


def _no_rows(*names: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in names})


@dataclass
class DayInputs:
    """Everything that decides the days of ``start`` .. ``end``. Times are local wall times.

    - employees: nip, opd_code, schedule_code (the resolved default), start_date, end_date
    - schedule_days: one row per schedule and day (``schedules.expand_schedule_days``)
    - punches: nip, local_time
    - absences: nip, kind, start_date, end_date
    - days_off: opd_code, day
    - assignments: nip or opd_code, schedule_code, effective_from, effective_to
    - shifts: nip, day, start_seconds, end_seconds
    - coverage: opd_code, judged_from (date), judged_until (local datetime); a unit without a
      row is not covered at all. None: every day is covered.
    - problem_days: opd_code, day
    """

    employees: pd.DataFrame
    schedule_days: pd.DataFrame
    punches: pd.DataFrame
    absences: pd.DataFrame = field(
        default_factory=lambda: _no_rows("nip", "kind", "start_date", "end_date")
    )
    days_off: pd.DataFrame = field(default_factory=lambda: _no_rows("opd_code", "day"))
    assignments: pd.DataFrame = field(
        default_factory=lambda: _no_rows(
            "nip", "opd_code", "schedule_code", "effective_from", "effective_to"
        )
    )
    shifts: pd.DataFrame = field(
        default_factory=lambda: _no_rows("nip", "day", "start_seconds", "end_seconds")
    )
    coverage: pd.DataFrame | None = None
    problem_days: pd.DataFrame = field(default_factory=lambda: _no_rows("opd_code", "day"))


# -- small helpers on numpy arrays -----------------------------------------------------------


def _days(values) -> np.ndarray:
    """Dates (or datetimes) as whole days since 1970-01-01."""
    return pd.to_datetime(pd.Series(values)).to_numpy("datetime64[D]").astype(np.int64)


def _seconds(values) -> np.ndarray:
    """Datetimes as seconds since 1970-01-01 (local wall time taken as it is)."""
    return pd.to_datetime(pd.Series(values)).to_numpy("datetime64[s]").astype(np.int64)


def _positions(index: pd.Index, values) -> np.ndarray:
    """Where each value sits in ``index`` (-1 when absent); fast for categorical columns."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        categories = index.get_indexer(values.cat.categories.astype(object))
        return np.where(values.cat.codes >= 0, categories[values.cat.codes], -1)
    return index.get_indexer(pd.Series(values, dtype="object"))


# -- repeats -----------------------------------------------------------------------------------


def kept_punches(employee: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Which punches are kept, for punches sorted by employee then time.

    A punch at least ``REPEAT_SECONDS`` after the previous punch is always kept (the last kept
    one is no later than the previous punch); only runs of close punches need the rule "measured
    from the last kept punch", which is sequential.
    """
    if len(seconds) == 0:
        return np.zeros(0, dtype=bool)
    first = np.r_[True, employee[1:] != employee[:-1]]
    gap = np.r_[REPEAT_SECONDS, np.diff(seconds)]
    kept = first | (gap >= REPEAT_SECONDS)
    # Most close punches follow a kept one directly and are repeats; look back only after a
    # dropped punch.
    for index in np.flatnonzero(~kept[:-1] & ~kept[1:]) + 1:
        previous = index - 1
        while not kept[previous]:
            previous -= 1
        kept[index] = seconds[index] - seconds[previous] >= REPEAT_SECONDS
    return kept


def drop_repeats(punches: pd.DataFrame) -> pd.DataFrame:
    """``punches`` (nip, local_time) sorted by person and time, with a ``kept`` column."""
    ordered = punches.sort_values(["nip", "local_time"], kind="stable").reset_index(drop=True)
    codes = pd.factorize(ordered["nip"])[0]
    return ordered.assign(kept=kept_punches(codes, _seconds(ordered["local_time"])))


# -- the grid of scheduled days ----------------------------------------------------------------


@dataclass
class _Grid:
    """One entry per employee-day that is scheduled, sorted by employee and shift start."""

    emp: np.ndarray
    day: np.ndarray
    code: np.ndarray
    shift_start: np.ndarray
    shift_end: np.ndarray
    settings: dict[str, np.ndarray]


def _schedule_table(inputs: DayInputs, codes: pd.Index, first: int, count: int):
    """Hours (seconds, NaN = no hours) and settings of every schedule on every day."""
    table = inputs.schedule_days
    rows = _positions(codes, table["schedule_code"])
    cols = _days(table["day"]) - first
    inside = (rows >= 0) & (cols >= 0) & (cols < count)
    rows, cols, table = rows[inside], cols[inside], table[inside]

    def spread(column: str, fill=np.nan) -> np.ndarray:
        out = np.full((len(codes), count), fill, dtype=float)
        out[rows, cols] = table[column].astype(float).to_numpy()
        return out

    hours = {"start": spread("start_seconds"), "end": spread("end_seconds")}
    settings = {name: spread(name) for name in SETTING_COLUMNS}
    roster = np.zeros(len(codes), dtype=bool)
    roster[rows] = table["is_roster"].astype(bool).to_numpy()
    holidays = np.ones(len(codes), dtype=bool)
    holidays[rows] = table["observes_holidays"].astype(bool).to_numpy()
    scheduled = np.zeros((len(codes), count), dtype=bool)
    scheduled[rows, cols] = True
    return hours, settings, roster, holidays, scheduled


def _schedule_codes(
    inputs: DayInputs,
    staff: pd.DataFrame,
    codes: pd.Index,
    nips: pd.Index,
    units: pd.Index,
    emp: np.ndarray,
    day: np.ndarray,
) -> np.ndarray:
    """The schedule of each employee-day: a dated assignment of the employee wins over one of
    the unit, which wins over the employee's default; a later assignment over an earlier one."""
    code = _positions(codes, staff["schedule_code"])[emp]
    assigned = inputs.assignments
    if assigned.empty:
        return code
    unit = units.get_indexer(staff["opd_code"])[emp]
    by_person = assigned["nip"].notna()
    ordered = assigned.assign(by_person=by_person).sort_values(["by_person", "effective_from"])
    for row in ordered.itertuples():
        first = _days([row.effective_from])[0]
        last = (
            _days([row.effective_to])[0] if pd.notna(row.effective_to) else np.iinfo(np.int64).max
        )
        if row.by_person:
            who = emp == (nips.get_loc(row.nip) if row.nip in nips else -1)
        else:
            who = unit == (units.get_loc(row.opd_code) if row.opd_code in units else -1)
        code[who & (day >= first) & (day <= last)] = codes.get_loc(row.schedule_code)
    return code


def _build_grid(
    inputs: DayInputs,
    staff: pd.DataFrame,
    nips: pd.Index,
    units: pd.Index,
    start: dt.date,
    end: dt.date,
) -> _Grid:
    first, last = _days([start])[0], _days([end])[0]
    count = last - first + 1
    codes = pd.Index(
        sorted(
            set(inputs.schedule_days["schedule_code"])
            | set(staff["schedule_code"])
            | set(inputs.assignments["schedule_code"].dropna())
        )
    )
    hours, settings, roster, observes, scheduled = _schedule_table(inputs, codes, first, count)

    # Every employee-day of their employment, employee-major so days ascend within a person.
    emp = np.repeat(np.arange(len(staff)), count)
    day = np.tile(np.arange(first, last + 1), len(staff))
    joined = _days(staff["start_date"])[emp]
    left = pd.to_datetime(staff["end_date"]).to_numpy("datetime64[D]").astype(np.int64)[emp]
    left = np.where(left == np.iinfo(np.int64).min, np.iinfo(np.int64).max, left)  # NaT: no end
    employed = (day >= joined) & (day <= left)
    emp, day = emp[employed], day[employed]

    code = _schedule_codes(inputs, staff, codes, nips, units, emp, day)
    column = day - first
    start_s, end_s = hours["start"][code, column], hours["end"][code, column]

    # A roster schedule has hours only on the days its shifts list.
    if len(inputs.shifts) and roster.any():
        keys = _positions(nips, inputs.shifts["nip"]) * count + (
            _days(inputs.shifts["day"]) - first
        )
        order = np.argsort(keys)
        found = np.searchsorted(keys[order], emp * count + column)
        found = np.clip(found, 0, max(len(keys) - 1, 0))
        hit = roster[code] & (keys[order][found] == emp * count + column)
        start_s = np.where(
            hit, inputs.shifts["start_seconds"].to_numpy(float)[order][found], start_s
        )
        end_s = np.where(hit, inputs.shifts["end_seconds"].to_numpy(float)[order][found], end_s)
        start_s = np.where(roster[code] & ~hit, np.nan, start_s)

    off = np.zeros((len(units), count), dtype=bool)
    if len(inputs.days_off):
        off_units, off_days = (
            _positions(units, inputs.days_off["opd_code"]),
            _days(inputs.days_off["day"]) - first,
        )
        valid = (off_units >= 0) & (off_days >= 0) & (off_days < count)
        off[off_units[valid], off_days[valid]] = True
    unit = units.get_indexer(staff["opd_code"])[emp]
    working = scheduled[code, column] & ~np.isnan(start_s) & ~(off[unit, column] & observes[code])

    emp, day, code, column = emp[working], day[working], code[working], column[working]
    start_s, end_s = start_s[working].astype(np.int64), end_s[working].astype(np.int64)
    shift_start = day * DAY + start_s
    shift_end = day * DAY + end_s + np.where(end_s <= start_s, DAY, 0)
    return _Grid(
        emp,
        day,
        codes[code].to_numpy(),
        shift_start,
        shift_end,
        {name: values[code, column] for name, values in settings.items()},
    )


# -- punches in windows ------------------------------------------------------------------------


def _punch_keys(inputs: DayInputs, nips: pd.Index):
    """Sorted keys (employee, second) of kept punches and of repeats, and the key scale."""
    emp = _positions(nips, inputs.punches["nip"])
    seconds = _seconds(inputs.punches["local_time"])
    known = emp >= 0
    # Keys stay far below 2**63: seconds since 1970 need 36 bits, employees the rest.
    scale = np.int64(1) << 36
    keys = np.sort(emp[known].astype(np.int64) * scale + seconds[known])
    kept = kept_punches(keys // scale, keys % scale)
    return keys[kept], keys[~kept], scale


def _count_between(keys: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.searchsorted(keys, high, "right") - np.searchsorted(keys, low, "left")


def _match(grid: _Grid, kept: np.ndarray, repeats: np.ndarray, scale: np.int64) -> dict:
    """Check-in, check-out, first and last punch, and counts of every grid day."""
    base = grid.emp.astype(np.int64) * scale
    opens = (
        grid.shift_start
        - np.nan_to_num(grid.settings["check_in_opens_minutes"]).astype(np.int64) * 60
    )
    closes = (
        grid.shift_end
        + np.nan_to_num(grid.settings["check_out_closes_minutes"]).astype(np.int64) * 60
    )
    midpoint = grid.shift_start + (grid.shift_end - grid.shift_start) // 2

    low = np.searchsorted(kept, base + opens, "left")
    high = np.searchsorted(kept, base + closes, "right")
    # The earliest day wins a punch both windows hold: start after the previous day's slice.
    same_person = np.r_[False, grid.emp[1:] == grid.emp[:-1]]
    low = np.where(same_person, np.maximum(low, np.r_[0, high[:-1]]), low)
    high = np.maximum(high, low)
    middle = np.clip(np.searchsorted(kept, base + midpoint, "left"), low, high)

    seconds = kept % scale if len(kept) else np.zeros(1, dtype=np.int64)

    def punch_at(index: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return np.where(valid, seconds[np.clip(index, 0, len(seconds) - 1)], MISSING)

    seen = high - low
    return {
        "check_in": punch_at(low, middle > low),
        "check_out": punch_at(high - 1, high > middle),
        "first": punch_at(low, seen > 0),
        "last": punch_at(high - 1, seen > 0),
        "seen": seen,
        "repeats": _count_between(repeats, base + opens, base + closes),
    }


# -- judging and measuring -----------------------------------------------------------------


def _absence_codes(inputs: DayInputs, nips: pd.Index, grid: _Grid) -> np.ndarray:
    """The position in STATUSES of each grid day's absence kind, -1 when none; the
    earliest-starting record wins where two overlap."""
    codes = np.full(len(grid.emp), -1, dtype=np.int8)
    records = inputs.absences
    if records.empty:
        return codes
    records = records.assign(emp=_positions(nips, records["nip"])).sort_values(
        "start_date", kind="stable"
    )
    records = records[records["emp"] >= 0]
    if records.empty:  # absences of other people only (another unit's, a past employee's)
        return codes
    first, last = _days(records["start_date"]), _days(records["end_date"])
    lengths = np.maximum(last - first + 1, 0)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keys = (
        np.repeat(records["emp"].to_numpy(), lengths).astype(np.int64) * 1_000_000
        + np.repeat(first, lengths)
        + offsets
    )
    kinds = np.repeat([STATUSES.index(k) for k in records["kind"]], lengths)
    unique_keys, first_seen = np.unique(keys, return_index=True)  # earliest start first
    found = np.searchsorted(unique_keys, grid.emp.astype(np.int64) * 1_000_000 + grid.day)
    found = np.clip(found, 0, len(unique_keys) - 1)
    hit = unique_keys[found] == grid.emp.astype(np.int64) * 1_000_000 + grid.day
    codes[hit] = kinds[first_seen[found[hit]]]
    return codes


def _unit_days(
    frame: pd.DataFrame, units: pd.Index, grid_units: np.ndarray, grid: _Grid
) -> np.ndarray:
    """Whether each grid day is listed in ``frame`` (opd_code, day) for its unit."""
    if frame.empty:
        return np.zeros(len(grid.emp), dtype=bool)
    listed = _positions(units, frame["opd_code"]).astype(np.int64) * 1_000_000 + _days(frame["day"])
    return np.isin(grid_units.astype(np.int64) * 1_000_000 + grid.day, listed)


def _coverage(
    inputs: DayInputs, units: pd.Index, grid_units: np.ndarray, grid: _Grid, closes: np.ndarray
) -> np.ndarray:
    """The position in STATUSES of no_data or pending, -1 where the day can be judged."""
    if inputs.coverage is None:
        return np.full(len(grid.emp), -1, dtype=np.int8)
    cover = inputs.coverage
    rows = _positions(units, cover["opd_code"])
    judged_from = np.full(len(units), np.iinfo(np.int64).max)
    judged_until = np.full(len(units), np.iinfo(np.int64).min)
    valid = rows >= 0
    judged_from[rows[valid]] = _days(cover["judged_from"])[valid]
    judged_until[rows[valid]] = _seconds(cover["judged_until"])[valid]
    return np.select(
        [grid.day < judged_from[grid_units], closes > judged_until[grid_units]],
        [STATUSES.index(NO_DATA), STATUSES.index(PENDING)],
        default=-1,
    ).astype(np.int8)


def _whole_minutes(seconds: np.ndarray) -> np.ndarray:
    return np.floor_divide(seconds, 60)


# A present day's reason is any mix of these four; its code is their bit mask (0 = clean).
REASON_LABELS = tuple(
    ",".join(name for bit, name in enumerate(PRESENT_REASONS) if mask >> bit & 1)
    for mask in range(2 ** len(PRESENT_REASONS))
) + ("absence", "no_punch", "no_punch_in_windows", *NOT_JUDGED)


_TK, _PRESENT = STATUSES.index(TK), STATUSES.index(PRESENT)
# The reason of a day that is not present, by status; TK is refined by whether the person
# punched at all that date.
_REASON_OF_STATUS = np.array(
    [
        -1
        if status == PRESENT
        else REASON_LABELS.index("absence")
        if status in ABSENCE_KINDS
        else REASON_LABELS.index("no_punch")
        if status == TK
        else REASON_LABELS.index(status)
        for status in STATUSES
    ]
)


def _reasons(status_code, late, early, missing_in, missing_out, punched_that_date):
    mask = (late > 0) * 1 + (early > 0) * 2 + (missing_in > 0) * 4 + (missing_out > 0) * 8
    codes = np.where(status_code == _PRESENT, mask, _REASON_OF_STATUS[status_code])
    codes[(status_code == _TK) & punched_that_date] = REASON_LABELS.index("no_punch_in_windows")
    return pd.Categorical.from_codes(codes, categories=REASON_LABELS)


def _optional_minutes(minutes: np.ndarray) -> pd.arrays.IntegerArray:
    """Minutes where known (>= 0); missing where a day has no measure (-1)."""
    return pd.arrays.IntegerArray(np.maximum(minutes, 0).astype(np.int32), minutes < 0)


def _local(seconds: np.ndarray) -> np.ndarray:
    return np.where(seconds == MISSING, np.datetime64("NaT"), seconds.astype("datetime64[s]"))


def build_daily_status(inputs: DayInputs, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The status of every scheduled working day from ``start`` to ``end`` (STATUS_COLUMNS)."""
    staff = inputs.employees.drop_duplicates("nip").reset_index(drop=True)
    nips = pd.Index(staff["nip"].astype(str))
    units = pd.Index(sorted(staff["opd_code"].unique()))
    grid = _build_grid(inputs, staff, nips, units, start, end)
    kept, repeats, scale = _punch_keys(inputs, nips)
    punches = _match(grid, kept, repeats, scale)
    grid_units = units.get_indexer(staff["opd_code"])[grid.emp]
    closes = (
        grid.shift_end
        + np.nan_to_num(grid.settings["check_out_closes_minutes"]).astype(np.int64) * 60
    )

    absence = _absence_codes(inputs, nips, grid)
    not_judged = _coverage(inputs, units, grid_units, grid, closes)
    problem = _unit_days(inputs.problem_days, units, grid_units, grid)
    status_code = np.select(
        [absence >= 0, not_judged >= 0, punches["seen"] > 0, problem],
        [absence, not_judged, STATUSES.index(PRESENT), STATUSES.index(DATA_PROBLEM)],
        default=STATUSES.index(TK),
    )
    tk = status_code == _TK
    punched_that_date = np.zeros(len(grid.emp), dtype=bool)
    if tk.any():
        date_start = grid.emp[tk].astype(np.int64) * scale + grid.day[tk] * DAY
        punched_that_date[tk] = (
            _count_between(kept, date_start, date_start + DAY - 1)
            + _count_between(repeats, date_start, date_start + DAY - 1)
        ) > 0

    present = status_code == _PRESENT
    check_in, check_out = punches["check_in"], punches["check_out"]
    missing_in = (present & (check_in == MISSING)).astype(np.int8)
    missing_out = (present & (check_out == MISSING)).astype(np.int8)
    grace_late = np.nan_to_num(grid.settings["grace_late_minutes"]).astype(np.int64)
    grace_early = np.nan_to_num(grid.settings["grace_early_minutes"]).astype(np.int64)
    late = np.where(
        present & (check_in != MISSING),
        np.maximum(_whole_minutes(check_in - grid.shift_start) - grace_late, 0),
        0,
    )
    early = np.where(
        present & (check_out != MISSING),
        np.maximum(_whole_minutes(grid.shift_end - check_out) - grace_early, 0),
        0,
    )
    worked = np.where(
        present & (punches["seen"] >= 2), _whole_minutes(punches["last"] - punches["first"]), -1
    )
    flag = np.select(
        [
            (worked >= 0) & (worked < grid.settings["absent_below_minutes"]),
            (worked >= 0) & (worked < grid.settings["short_below_minutes"]),
        ],
        list(POLICY_FLAGS),
        default="",
    )

    return pd.DataFrame(
        {
            "nip": pd.Categorical.from_codes(grid.emp, categories=nips),
            "day": grid.day.astype("datetime64[D]"),
            "opd_code": pd.Categorical.from_codes(grid_units, categories=units),
            "status": pd.Categorical.from_codes(status_code, categories=STATUSES),
            "schedule_code": pd.Categorical(grid.code),
            "check_in_local": _local(check_in),
            "check_out_local": _local(check_out),
            "missing_check_in": missing_in,
            "missing_check_out": missing_out,
            "late_minutes": late.astype(np.int32),
            "early_leave_minutes": early.astype(np.int32),
            "worked_minutes": _optional_minutes(worked),
            "policy_flag": pd.Categorical(
                np.where(flag == "", None, flag), categories=POLICY_FLAGS
            ),
            "punches_seen": punches["seen"].astype(np.int32),
            "repeats_dropped": punches["repeats"].astype(np.int32),
            "schedule_start": grid.shift_start.astype("datetime64[s]"),
            "schedule_end": grid.shift_end.astype("datetime64[s]"),
            "reason": pd.Categorical(
                _reasons(status_code, late, early, missing_in, missing_out, punched_that_date)
            ),
        }
    )[STATUS_COLUMNS]
