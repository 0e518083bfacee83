"""Time one page of "Rekapitulasi Kehadiran" (``dashboard.recap_page``) on a city's stored
recaps: 25,000 employees in 50 units, the twelve months of 2025 (300,000 rows) and the year, in
a scratch PostgreSQL database.

The recaps are written directly with COPY (the pipeline is not run: the page only reads them),
with realistic counts: TK and reasoned absences now and then, some late and early minutes every
month, year-to-date totals that add up. About 300 filters like people set them on the page (one
unit or the whole city, part of a name, the start of a NIP, a month or a range of months, a
column to sort by, pages 1 to 5) are timed one after another. Prints count, median, p95 and max
in milliseconds and ends with ``ratio:`` p95 over the 300 ms target.

    .venv/bin/python -m benchmarks.recap_page
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, text

from benchmarks import city_scale
from benchmarks.scratch import city_database
from dispenser_core.dashboard import SORT_KEYS, RecapFilter, recap_page
from dispenser_core.storage.bulk import copy_rows
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import employees, recaps

SEED = 11
FILTERS = 300
TARGET_MS = 300
WARM_UP = 10

FIRST_NAMES = [
    "Agus",
    "Ahmad",
    "Andi",
    "Ani",
    "Bambang",
    "Budi",
    "Dedi",
    "Dewi",
    "Eko",
    "Endang",
    "Fitri",
    "Hadi",
    "Hendra",
    "Indah",
    "Joko",
    "Kartini",
    "Lestari",
    "Made",
    "Muhammad",
    "Nur",
    "Putu",
    "Rahmat",
    "Ratna",
    "Rina",
    "Rudi",
    "Sari",
    "Siti",
    "Sri",
    "Suharti",
    "Taufik",
    "Tri",
    "Wahyu",
    "Wayan",
    "Yanti",
    "Yusuf",
    "Zainal",
]
LAST_NAMES = [
    "Hidayat",
    "Kusuma",
    "Lubis",
    "Nasution",
    "Pratama",
    "Purnomo",
    "Rahayu",
    "Rahmawati",
    "Santoso",
    "Saputra",
    "Setiawan",
    "Simanjuntak",
    "Siregar",
    "Sitompul",
    "Suryadi",
    "Susanto",
    "Wibowo",
    "Wijaya",
    "Yulianti",
    "Harahap",
    "Gunawan",
    "Hasibuan",
    "Kurniawan",
    "Maharani",
    "Nugroho",
    "Permana",
    "Prasetyo",
    "Ramadhan",
    "Salim",
    "Utami",
]
GRADES = ("II/a", "II/b", "II/c", "II/d", "III/a", "III/b", "III/c", "III/d", "IV/a", "IV/b")


def _people(staff: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The synthetic roster with Indonesian names and grades, for name searches that hit."""
    count = len(staff)
    first = rng.choice(FIRST_NAMES, count)
    last = rng.choice(LAST_NAMES, count)
    return staff.assign(name=[f"{a} {b}" for a, b in zip(first, last, strict=True)]).assign(
        grade=rng.choice(GRADES, count), start_date=dt.date(2010, 1, 1)
    )


def _rename_staff(engine: Engine, people: pd.DataFrame) -> None:
    columns = ["nip", "name", "opd_code", "grade", "start_date"]
    with connect(engine) as conn:
        conn.execute(delete(employees))
        copy_rows(conn, employees, people[columns].to_dict("records"), columns)


def _month_counts(staff: pd.DataFrame, days: int, rng: np.random.Generator) -> dict:
    size = len(staff)
    counts = {
        "tk": np.minimum(rng.poisson(0.15, size), days),
        "leave": rng.poisson(0.35, size),
        "sick": rng.poisson(0.2, size),
        "permit": rng.poisson(0.1, size),
        "official_duty": rng.poisson(0.4, size),
        "study": np.zeros(size, dtype=int),
        "missing_check_in": rng.poisson(0.2, size),
        "missing_check_out": rng.poisson(0.4, size),
        "late_minutes": rng.gamma(1.2, 35, size).astype(int),
        "early_leave_minutes": rng.gamma(0.7, 25, size).astype(int),
    }
    away = counts["tk"] + counts["leave"] + counts["sick"] + counts["permit"]
    away = np.minimum(away + counts["official_duty"], days)
    counts["present"] = days - away
    counts["absent"] = away
    return counts


def _recap_frame(staff, period: str, kind: str, days, counts: dict, ytd: dict) -> pd.DataFrame:
    minutes_ytd = ytd["late_minutes"] + ytd["early_leave_minutes"]
    frame = pd.DataFrame(
        {
            "period_kind": kind,
            "period": period,
            "nip": staff["nip"].to_numpy(),
            "opd_code": staff["opd_code"].to_numpy(),
            "working_days": days,
            **counts,
            "no_data": 0,
            "pending": 0,
            "data_problem": 0,
            "absent_candidate_days": 0,
            "short_hours_days": 0,
            "tk_equivalent": counts["tk"]
            + (counts["late_minutes"] + counts["early_leave_minutes"]) // 450,
            "tk_ytd": ytd["tk"],
            "late_early_minutes_ytd": minutes_ytd,
            "tk_ytd_equivalent": ytd["tk"] + minutes_ytd // 450,
            "longest_tk_run_ytd": np.minimum(ytd["tk"], 3),
            "rule_version": "pp94-2021.1",
            "calendar_version": "bench",
            "computed_at": dt.datetime(2026, 1, 2),
            "revision": 1,
            "revised_at": None,
        }
    )
    return frame


def _store_recaps(engine: Engine, staff: pd.DataFrame, rng: np.random.Generator) -> int:
    """Twelve months and the year of 2025, with year-to-date totals that add up."""
    per_month = city_scale.working_days().month.value_counts().sort_index()
    columns = [c.name for c in recaps.columns]
    ytd: dict = {}
    written = 0
    for month, days in per_month.items():
        counts = _month_counts(staff, int(days), rng)
        ytd = {k: ytd.get(k, 0) + v for k, v in counts.items()}
        frame = _recap_frame(staff, f"2025-{month:02d}", "month", int(days), counts, ytd)
        with connect(engine) as conn:
            written += copy_rows(conn, recaps, frame.to_dict("records"), columns)
    year = _recap_frame(staff, "2025", "year", int(per_month.sum()), ytd, ytd)
    with connect(engine) as conn:
        written += copy_rows(conn, recaps, year.to_dict("records"), columns)
    return written


def _vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE recaps"))
        conn.execute(text("VACUUM ANALYZE employees"))


def _random_filter(rng: np.random.Generator, people: pd.DataFrame, units: list[str]):
    """A filter as someone sets it on the page."""
    person = people.iloc[int(rng.integers(len(people)))]
    options: dict = {"sort": str(rng.choice(SORT_KEYS)), "descending": bool(rng.random() < 0.5)}
    options["page"] = int(rng.integers(1, 6))
    if rng.random() < 0.1:
        options |= {"period_kind": "year", "period_from": "2025", "period_to": "2025"}
    else:
        first = int(rng.integers(1, 13))
        last = first if rng.random() < 0.5 else int(rng.integers(first, 13))
        options |= {"period_from": f"2025-{first:02d}", "period_to": f"2025-{last:02d}"}
    if rng.random() < 0.6:
        options["units"] = (str(rng.choice(units)),)
    draw = rng.random()
    if draw < 0.25:
        word = str(rng.choice(person["name"].split())).lower()
        options["who"] = word[: int(rng.integers(3, len(word) + 1))]
    elif draw < 0.4:
        options["who"] = person["nip"][: int(rng.integers(6, 15))]
    return RecapFilter(**options)


def _shape(f: RecapFilter) -> str:
    where = "unit" if f.units else "city"
    who = "name/nip" if f.who else "-"
    return f"{f.period_kind:5} {where:4} who={who:8} sort={f.sort}"


def _timed(engine: Engine, filters: list[RecapFilter]) -> list[tuple[float, RecapFilter, int]]:
    timings = []
    with engine.connect() as conn:
        for f in filters:
            started = time.perf_counter()
            page = recap_page(conn, f)
            timings.append(((time.perf_counter() - started) * 1000, f, page.total))
    return timings


def main() -> None:
    rng = np.random.default_rng(SEED)
    with city_database() as (engine, staff, _batch):
        people = _people(staff, rng)
        started = time.perf_counter()
        _rename_staff(engine, people)
        written = _store_recaps(engine, staff, rng)
        _vacuum(engine)
        print(f"recap rows: {written} ({time.perf_counter() - started:.1f} s to write)")

        units = sorted(staff["opd_code"].unique())
        filters = [_random_filter(rng, people, units) for _ in range(FILTERS + WARM_UP)]
        timings = _timed(engine, filters)[WARM_UP:]

    millis = sorted(t for t, _, _ in timings)
    p95 = float(np.percentile(millis, 95))
    print(f"filters: {len(millis)}")
    print(f"median: {statistics.median(millis):.1f} ms")
    print(f"p95: {p95:.1f} ms")
    print(f"max: {millis[-1]:.1f} ms")
    print("slowest:")
    for took, f, total in sorted(timings, key=lambda t: -t[0])[:5]:
        print(f"  {took:7.1f} ms  {_shape(f)}  rows={total} page={f.page}")
    print(f"ratio: {p95 / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
