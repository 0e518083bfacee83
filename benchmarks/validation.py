"""Benchmark: validating a month of a city's punches with great_expectations in PostgreSQL.

November 2025 of the synthetic city (25,000 employees, about 970,000 punches, see
city_scale.py) is COPied into a scratch database. Ours is the period check the monthly run
makes (validation.period_checks: the punches suite on a query asset joining the roster, with
its Data Docs written and made offline). The baseline is the fastest way measured here: the
same expectations, less the roster join, on a plain table asset of the punches table, with no
Data Docs. Each is run twice, alternately, and its better time kept. Prints the figures and
``ratio: X.XX`` (ours over the baseline).

    .venv/bin/python -m benchmarks.validation   # DISPENSER_BENCH_POSTGRES_URL to point elsewhere
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.loading import _month_rows
from benchmarks.scratch import city_database
from dispenser_core.periods import Period
from dispenser_core.punch_store import PUNCH_COLUMNS
from dispenser_core.storage.bulk import copy_rows
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import punches
from dispenser_core.validation import load_suite_definition, period_checks, run_checks

NOVEMBER = Period(2025, 11)


def _plain_table_asset(engine, bounds: dict) -> tuple[float, bool]:
    """The baseline: the suite's expectations on the punches table, nothing else."""
    import great_expectations as gx

    started = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_postgres(
        "plain", connection_string=engine.url.render_as_string(hide_password=False)
    )
    batch = source.add_table_asset(
        "punches", table_name="punches"
    ).add_batch_definition_whole_table("whole")
    expectations = [
        e
        for e in load_suite_definition("punches")["expectations"]
        if e["kwargs"].get("column") != "roster_nip"
    ]
    suite = context.suites.add(gx.ExpectationSuite(name="plain", expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="plain", data=batch, suite=suite)
    )
    result = definition.run(expectation_parameters=bounds)
    return time.perf_counter() - started, result.success


def _ours(engine) -> tuple[float, bool]:
    [check] = [c for c in period_checks(NOVEMBER) if c.suite == "punches"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as site:
        [report] = run_checks(engine, [check], Path(site))
    return time.perf_counter() - started, report.success


def main() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations  # noqa: F401 - imported once, outside both timings

    with city_database() as (engine, staff, batch_id):
        rows = [row for _, row in _month_rows(staff, batch_id)]
        with connect(engine) as conn:
            copy_rows(conn, punches, rows, PUNCH_COLUMNS)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        [check] = [c for c in period_checks(NOVEMBER) if c.suite == "punches"]

        baseline_runs, our_runs = [], []
        for _ in range(2):
            baseline_runs.append(_plain_table_asset(engine, check.expectation_parameters))
            our_runs.append(_ours(engine))

    baseline, ours = min(t for t, _ in baseline_runs), min(t for t, _ in our_runs)
    print(f"{len(rows):,} punches of November 2025 ({len(staff):,} employees)")
    print(
        f"plain table asset, no roster join, no Data Docs: {baseline:6.2f} s "
        f"(passed: {baseline_runs[0][1]})"
    )
    print(f"our period check with Data Docs: {ours:6.2f} s (passed: {our_runs[0][1]})")
    print(f"ratio: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
