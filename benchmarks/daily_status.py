"""Benchmark: daily status and the yearly recap of a city (25,000 employees, 50 units, 2025).

Both engines start from the same punches in memory (about 11.6 million, see city_scale.py) and
produce, per employee, the year's working days, present days, TK days, late and early-leave
minutes and missing punches:

- ours: ``dispenser_core.daily_status.build_daily_status`` month by month (as the monthly run
  does), the yearly recap summed from the months;
- baseline: DuckDB, the fastest in-process engine measured here, one set-based query over the
  year (no repeat rule and no reasons: strictly less work).

Loading from and writing to the database are not part of this figure (see the loading
benchmark). Each engine runs in its own process so that peak memory is its own. Prints the
figures and ends with ``ratio: X.XX`` (our time over DuckDB's; smaller is better).

    .venv/bin/python -m benchmarks.daily_status
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

from benchmarks import city_scale

TOTALS = [
    "working_days",
    "present",
    "tk",
    "late_minutes",
    "early_leave_minutes",
    "missing_check_in",
    "missing_check_out",
]


class PeakMemory:
    """The peak resident memory of this process while the block runs, sampled every 5 ms."""

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()

    @staticmethod
    def _rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)


def _days_off(staff: pd.DataFrame) -> pd.DataFrame:
    off = sorted(
        set(
            holidays.country_holidays(
                "ID", years=city_scale.YEAR, categories=("public", "government")
            )
        )
    )
    units = staff["opd_code"].unique()
    return pd.DataFrame(
        {"opd_code": np.repeat(units, len(off)), "day": pd.to_datetime(np.tile(off, len(units)))}
    )


def run_ours(staff: pd.DataFrame, punches: pd.DataFrame) -> pd.DataFrame:
    from dispenser_core.daily_status import DayInputs, build_daily_status
    from dispenser_core.schedules import expand_schedule_days, schedule_rows

    # The office hours the synthetic city keeps all year (no Ramadan period), as the baseline.
    office = schedule_rows(
        {
            "office": {
                "effective_from": "2000-01-01",
                "days": {str(d): ["07:30", "16:30" if d == 4 else "16:00"] for d in range(5)},
            }
        }
    )

    days_off = _days_off(staff)
    year = []
    for month in range(1, 13):
        start = dt.date(city_scale.YEAR, month, 1)
        end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
        times = punches["local_time"].to_numpy()
        near = (times >= np.datetime64(start - dt.timedelta(days=2))) & (
            times < np.datetime64(end + dt.timedelta(days=3))
        )
        statuses = build_daily_status(
            DayInputs(
                employees=staff,
                punches=punches[near],
                days_off=days_off,
                schedule_days=expand_schedule_days(office, start - dt.timedelta(days=1), end),
            ),
            start,
            end,
        )
        counted = statuses.assign(
            working_days=1,
            present=statuses["status"] == "present",
            tk=statuses["status"] == "absent_without_reason",
        )
        year.append(counted.groupby("nip", observed=True)[TOTALS].sum())
    return pd.concat(year).groupby(level=0).sum().sort_index()


BASELINE_QUERY = """
WITH grid AS (
    SELECT s.emp, d.day,
           d.day + INTERVAL 450 MINUTE AS shift_start,
           d.day + CASE WHEN dayofweek(d.day) = 5 THEN INTERVAL 990 MINUTE
                        ELSE INTERVAL 960 MINUTE END AS shift_end
    FROM staff s CROSS JOIN work_days d
),
windows AS (
    SELECT *, shift_start + (shift_end - shift_start) / 2 AS midpoint,
           shift_start - INTERVAL 3 HOUR AS opens, shift_end + INTERVAL 6 HOUR AS closes
    FROM grid
),
per_day AS (
    SELECT w.emp, w.day, w.shift_start, w.shift_end,
           min(p.ts) FILTER (WHERE p.ts < w.midpoint) AS check_in,
           max(p.ts) FILTER (WHERE p.ts >= w.midpoint) AS check_out,
           count(p.ts) AS seen
    FROM windows w
    LEFT JOIN punches p ON p.emp = w.emp AND CAST(p.ts AS DATE) = CAST(w.day AS DATE)
         AND p.ts BETWEEN w.opens AND w.closes
    GROUP BY w.emp, w.day, w.shift_start, w.shift_end
)
SELECT emp, count(*) AS working_days,
       count(*) FILTER (WHERE seen > 0) AS present,
       count(*) FILTER (WHERE seen = 0) AS tk,
       sum(CASE WHEN check_in IS NOT NULL
                THEN greatest(0, floor(epoch(check_in - shift_start) / 60)) ELSE 0 END)
           AS late_minutes,
       sum(CASE WHEN check_out IS NOT NULL
                THEN greatest(0, floor(epoch(shift_end - check_out) / 60)) ELSE 0 END)
           AS early_leave_minutes,
       count(*) FILTER (WHERE seen > 0 AND check_in IS NULL) AS missing_check_in,
       count(*) FILTER (WHERE seen > 0 AND check_out IS NULL) AS missing_check_out
FROM per_day GROUP BY emp ORDER BY emp
"""


def run_duckdb(staff: pd.DataFrame, punches: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("staff", pd.DataFrame({"emp": np.arange(len(staff), dtype=np.int32)}))
    con.register("work_days", pd.DataFrame({"day": city_scale.working_days()}))
    con.register(
        "punches",
        pd.DataFrame(
            {"emp": punches["nip"].cat.codes.to_numpy(), "ts": punches["local_time"].to_numpy()}
        ),
    )
    result = con.execute(BASELINE_QUERY).df()
    con.close()
    result.index = staff["nip"].to_numpy()[result.pop("emp").to_numpy()]
    return result.sort_index()


def measure(engine: str) -> dict:
    staff = city_scale.employees()
    punches = city_scale.punches(staff)
    run = run_ours if engine == "ours" else run_duckdb
    with PeakMemory() as memory:
        started = time.perf_counter()
        totals = run(staff, punches)
        seconds = time.perf_counter() - started
    return {
        "engine": engine,
        "seconds": seconds,
        "punches": len(punches),
        "peak_mb": memory.peak / 2**20,
        "added_mb": (memory.peak - memory.start) / 2**20,
        "totals": totals[TOTALS].sum().astype(int).to_dict(),
        "present_days_per_employee": round(float(totals["present"].mean()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("ours", "duckdb"))
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(measure(args.engine)))
        return

    results = {}
    for engine in ("ours", "duckdb"):
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.daily_status", "--engine", engine],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[engine] = json.loads(output.strip().splitlines()[-1])
    ours, base = results["ours"], results["duckdb"]
    print(
        f"city: {city_scale.EMPLOYEES} employees, {city_scale.UNITS} units, year "
        f"{city_scale.YEAR}, {ours['punches']:,} punches"
    )
    for row in (ours, base):
        print(
            f"{row['engine']:>7}: {row['seconds']:6.2f} s, peak memory {row['peak_mb']:7.0f} MB "
            f"({row['added_mb']:+.0f} MB for the work)"
        )
    differing = {
        k: (ours["totals"][k], base["totals"][k])
        for k in TOTALS
        if ours["totals"][k] != base["totals"][k]
    }
    print(f"totals agree: {not differing}" + (f" (differ: {differing})" if differing else ""))
    print(f"ratio: {ours['seconds'] / base['seconds']:.2f}")


if __name__ == "__main__":
    main()
