"""The completeness guard: a working day on which a terminal delivered far fewer punches than it
usually does is a data problem, not a day everyone it serves stayed away.

Two looks, over the working days (Monday to Friday, not a day off) being judged:

- per source (a terminal, a feed): its usual count is the median of its punches per working
  day; a day below ``SHARE_OF_USUAL`` of it flags that day for every unit the source serves;
- per unit: the same against the unit's own median, so one unit's dead terminal shows even
  when the source carries other units too.

A day flagged turns its days without a punch into ``data_problem`` instead of TK. A source or
unit too small to have a usual count (a median under ``MIN_USUAL``) is not judged this way.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

log = logging.getLogger(__name__)

MIN_USUAL = 5
SHARE_OF_USUAL = 0.1


def _working_dates(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    days = pd.date_range(start, end, freq="D")
    return days[days.weekday < 5]


def _far_below_usual(
    counts: pd.Series, keys: list[str], days: pd.DatetimeIndex, judged_until: dict | None
) -> pd.DataFrame:
    """Rows (key, day) whose count is below SHARE_OF_USUAL of the key's median day."""
    grid = pd.MultiIndex.from_product([keys, days], names=["key", "day"])
    table = counts.reindex(grid, fill_value=0).rename("punches").reset_index()
    if judged_until:
        # Days after a watermark are pending anyway; they do not make the usual count.
        until = pd.to_datetime(table["key"].map(judged_until))
        table = table[until.isna() | (table["day"] < until)]
    usual = table.groupby("key")["punches"].median()
    table["usual"] = table["key"].map(usual)
    return table[
        (table["usual"] >= MIN_USUAL) & (table["punches"] < SHARE_OF_USUAL * table["usual"])
    ][["key", "day"]]


def problem_days(
    punches: pd.DataFrame,
    staff: pd.DataFrame,
    days_off: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    sources: pd.DataFrame,
    unit_watermarks: dict | None = None,
) -> pd.DataFrame:
    """(opd_code, day) flagged as data problems. ``punches`` has nip, local_time and source;
    ``sources`` has source and opd_code (which units each source serves)."""
    units = staff[["nip", "opd_code"]].drop_duplicates("nip")
    located = punches.assign(nip=punches["nip"].astype(str)).merge(units, on="nip")
    located["day"] = located["local_time"].dt.normalize()
    days = _working_dates(start, end)

    by_source = _far_below_usual(
        located.groupby(["source", "day"]).size(), sorted(located["source"].unique()), days, None
    )
    from_sources = by_source.merge(sources.rename(columns={"source": "key"}), on="key")
    by_unit = _far_below_usual(
        located.groupby(["opd_code", "day"]).size(),
        sorted(units["opd_code"].unique()),
        days,
        unit_watermarks,
    )
    flagged = pd.concat(
        [from_sources[["opd_code", "day"]], by_unit.rename(columns={"key": "opd_code"})],
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
