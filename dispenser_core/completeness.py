"""The completeness guard: a working day on which a terminal delivered far fewer punches than it
usually does is a data problem, not a day everyone it serves stayed away.

Three looks, over the working days (Monday to Friday, not a day off) of each month judged:

- per source (a terminal, a feed): its usual count is the median of its punches per working
  day of the month; a day below ``SHARE_OF_USUAL`` of it flags that day for every unit the
  source serves;
- per unit: the same against the unit's own median, so one unit's dead terminal shows even
  when the source carries other units too;
- a silent unit: a working day on which nobody of a unit with at least ``MIN_STAFF_SILENT``
  employees punched at all. Whole offices do not stay away together; such a day is an export
  that is missing (a month, a season), however long the gap, so it is never mass TK.

The usual count only looks at days a unit's sources cover (from their first day to their
watermark): the days before a source started, or after it stopped, are ``no_data`` or
``pending`` anyway and would drag the median to zero.

A day flagged turns its days without a punch into ``data_problem`` instead of TK. A source or
unit too small to have a usual count (a median under ``MIN_USUAL``) is only judged as silent.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MIN_USUAL = 5
SHARE_OF_USUAL = 0.1
MIN_STAFF_SILENT = 10


def _working_dates(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    days = pd.date_range(start, end, freq="D")
    return days[days.weekday < 5]


def _far_below_usual(
    counts: pd.Series, keys: list[str], days: pd.DatetimeIndex, covered: pd.DataFrame | None
) -> pd.DataFrame:
    """Rows (key, day) whose count is below SHARE_OF_USUAL of the key's median day of the
    month; ``covered`` (key, judged_from, judged_until) bounds the days that make the median."""
    grid = pd.MultiIndex.from_product([keys, days], names=["key", "day"])
    table = counts.reindex(grid, fill_value=0).rename("punches").reset_index()
    if covered is not None and len(covered):
        bounds = table.merge(covered, on="key", how="left")
        inside = (bounds["judged_from"].isna() | (bounds["day"] >= bounds["judged_from"])) & (
            bounds["judged_until"].isna() | (bounds["day"] < bounds["judged_until"])
        )
        table = table[inside.to_numpy()]
    table = table.assign(month=table["day"].dt.to_period("M"))
    table["usual"] = table.groupby(["key", "month"])["punches"].transform("median")
    return table[
        (table["usual"] >= MIN_USUAL) & (table["punches"] < SHARE_OF_USUAL * table["usual"])
    ][["key", "day"]]


def _silent_units(
    located: pd.DataFrame, staff: pd.DataFrame, days: pd.DatetimeIndex
) -> pd.DataFrame:
    """(opd_code, day) of working days on which nobody of a unit with at least
    MIN_STAFF_SILENT employees at work punched."""
    heard = set(zip(located["opd_code"], located["day"], strict=True))
    silent = []
    for unit, people in staff.groupby("opd_code", observed=True):
        starts = np.sort(people["start_date"].to_numpy("datetime64[D]"))
        ends = np.sort(people["end_date"].fillna(pd.Timestamp.max).to_numpy("datetime64[D]"))
        day_values = days.to_numpy("datetime64[D]")
        at_work = np.searchsorted(starts, day_values, "right") - np.searchsorted(
            ends, day_values, "left"
        )
        silent += [
            (unit, day)
            for day, count in zip(days, at_work, strict=True)
            if count >= MIN_STAFF_SILENT and (unit, day) not in heard
        ]
    return pd.DataFrame(
        {
            "opd_code": pd.Series([unit for unit, _ in silent], dtype=object),
            "day": pd.to_datetime(pd.Series([day for _, day in silent], dtype="datetime64[ns]")),
        }
    )


def problem_days(
    punches: pd.DataFrame,
    staff: pd.DataFrame,
    days_off: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    sources: pd.DataFrame,
    coverage: pd.DataFrame | None = None,
    source_counts: pd.Series | None = None,
) -> pd.DataFrame:
    """(opd_code, day) flagged as data problems. ``punches`` has nip, local_time and source;
    ``staff`` nip, opd_code, start_date and end_date; ``sources`` source and opd_code (which
    units each source serves); ``coverage`` opd_code, judged_from and judged_until.
    ``source_counts`` (punches per source and day) is needed when ``punches`` and ``staff``
    are some units' only: a source's usual count is taken over every unit it serves."""
    units = staff[["nip", "opd_code"]].drop_duplicates("nip")
    located = punches.assign(nip=punches["nip"].astype(str)).merge(units, on="nip")
    located["day"] = located["local_time"].dt.normalize()
    days = _working_dates(start, end)
    unit_cover = None if coverage is None else coverage.rename(columns={"opd_code": "key"})

    if source_counts is None:
        source_counts = located.groupby([located["source"].astype(str), "day"]).size()
    by_source = _far_below_usual(
        source_counts,
        sorted(source_counts.index.get_level_values(0).unique()),
        days,
        _source_cover(sources, unit_cover),
    )
    from_sources = by_source.merge(sources.rename(columns={"source": "key"}), on="key")
    by_unit = _far_below_usual(
        located.groupby(["opd_code", "day"]).size(),
        sorted(units["opd_code"].unique()),
        days,
        unit_cover,
    )
    flagged = pd.concat(
        [
            from_sources[["opd_code", "day"]],
            by_unit.rename(columns={"key": "opd_code"}),
            _silent_units(located, staff, days),
        ],
        ignore_index=True,
    )

    if len(days_off):
        off = days_off.assign(day=pd.to_datetime(days_off["day"]), off=True)
        flagged = flagged.merge(off, on=["opd_code", "day"], how="left")
        flagged = flagged[flagged["off"].isna()].drop(columns="off")
    flagged = flagged.drop_duplicates().reset_index(drop=True)
    if len(flagged):
        log.info(
            "Completeness: %d unit-days with far fewer punches than usual, in %d units",
            len(flagged),
            flagged["opd_code"].nunique(),
        )
    return flagged


def _source_cover(sources: pd.DataFrame, unit_cover: pd.DataFrame | None) -> pd.DataFrame | None:
    """A source's covered days: the widest span of the units it serves."""
    if unit_cover is None or sources.empty:
        return None
    spans = sources.merge(unit_cover, left_on="opd_code", right_on="key")
    return (
        spans.groupby("source")
        .agg(judged_from=("judged_from", "min"), judged_until=("judged_until", "max"))
        .reset_index()
        .rename(columns={"source": "key"})
    )
