"""Synthetic city-scale attendance for the benchmarks: 25,000 employees in 50 units, one year.

Generated with numpy in a few seconds, deterministic for a seed: each employee works the
office schedule; on a working day they are absent 3% of the time, punch in around 07:10 and out
around 16:20 (Friday 16:50), forget one punch now and then, and press twice 5% of the time.
"""

from __future__ import annotations

import holidays
import numpy as np
import pandas as pd

YEAR = 2025
EMPLOYEES = 25_000
UNITS = 50


def working_days(year: int = YEAR) -> pd.DatetimeIndex:
    off = set(holidays.country_holidays("ID", years=year, categories=("public", "government")))
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    return days[(days.weekday < 5) & ~pd.Index(days.date).isin(off)]


def employees(count: int = EMPLOYEES, units: int = UNITS) -> pd.DataFrame:
    nips = [f"19{800000 + n:06d}2010{n % 12 + 1:02d}1{n % 1000:03d}" for n in range(count)]
    return pd.DataFrame(
        {
            "nip": nips,
            "opd_code": [f"OPD-{n % units:02d}" for n in range(count)],
            "schedule_code": "office",
            "start_date": pd.Timestamp("2010-01-01"),
            "end_date": pd.NaT,
        }
    )


def punches(staff: pd.DataFrame, seed: int = 7, year: int = YEAR) -> pd.DataFrame:
    """One row per punch: ``nip`` (categorical) and ``local_time``."""
    rng = np.random.default_rng(seed)
    days = working_days(year)
    n_staff, n_days = len(staff), len(days)
    person = np.repeat(np.arange(n_staff, dtype=np.int32), n_days)
    day_ns = np.tile(days.values.astype("datetime64[s]").astype(np.int64), n_staff)
    friday = np.tile(days.weekday == 4, n_staff)

    present = rng.random(person.size) >= 0.03
    arrive = day_ns + (7 * 3600 + 10 * 60) + rng.normal(0, 15 * 60, person.size).astype(np.int64)
    leave = (
        day_ns
        + np.where(friday, 16 * 3600 + 50 * 60, 16 * 3600 + 20 * 60)
        + rng.normal(0, 20 * 60, person.size).astype(np.int64)
    )
    has_in = present & (rng.random(person.size) >= 0.01)
    has_out = present & (rng.random(person.size) >= 0.02)
    repeat = has_in & (rng.random(person.size) < 0.05)

    who = np.concatenate([person[has_in], person[has_out], person[repeat]])
    when = np.concatenate(
        [arrive[has_in], leave[has_out], arrive[repeat] + rng.integers(2, 90, repeat.sum())]
    )
    nip = pd.Categorical.from_codes(who, categories=staff["nip"])
    return pd.DataFrame({"nip": nip, "local_time": when.astype("datetime64[s]")})
