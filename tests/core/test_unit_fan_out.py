"""The daily status rebuilt unit by unit (as the DAGs spread it over workers) is the same,
employee by employee and day by day, as one rebuild of the whole city: on the sample city, on
SQLite and on PostgreSQL (there with the units rebuilt at the same time)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, func, select

from dispenser_core import pipeline
from dispenser_core.periods import Period
from dispenser_core.recap import rebuild_daily_status
from dispenser_core.sample_city import write_sample_city
from dispenser_core.storage.db import connect
from dispenser_core.storage.frames import read_frame
from dispenser_core.storage.schema import (
    daily_status,
    employees,
    recap_builds,
    recaps,
    status_fingerprints,
)

NOVEMBER = Period(2025, 11)
WHEN_COMPUTED = ("computed_at", "revised_at")


@pytest.fixture(scope="module")
def sample_city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample-city")
    write_sample_city(folder)
    return folder


@pytest.fixture
def city(engine, settings, sample_city):
    shutil.copytree(sample_city, settings.inbox_dir)
    pipeline.extract(engine, settings.inbox_dir)
    return engine


def _results(engine) -> dict:
    """Every stored status and recap row, without the time it was computed."""
    with connect(engine) as conn:
        statuses = read_frame(conn, select(daily_status)).drop(columns=["computed_at"])
        recap = read_frame(conn, select(recaps)).drop(columns=list(WHEN_COMPUTED))
    return {
        "daily_status": _rows(statuses.sort_values(["nip", "day"])),
        "recaps": _rows(recap.sort_values(["period_kind", "period", "nip"])),
    }


def _rows(frame) -> list[dict]:
    # A missing value is None on both sides (NaN would never equal itself).
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _forget_results(engine) -> None:
    with connect(engine) as conn:
        for table in (daily_status, status_fingerprints, recaps, recap_builds):
            conn.execute(delete(table))


def _rebuild_by_unit(engine, period, *, at_once: bool) -> list[pipeline.StepResult]:
    source_days = pipeline.count_source_days(engine, period)
    units = list(reversed(pipeline.units_to_rebuild(engine, period)))  # any order will do

    def rebuild(unit):
        return pipeline.rebuild_unit_status(engine, period, [unit], source_days)

    if at_once:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(rebuild, units))
    return [rebuild(unit) for unit in units]


def test_unit_by_unit_equals_the_whole_city(city, database_url):
    whole = pipeline.recap(city, NOVEMBER).counts
    expected = _results(city)
    assert whole["employees"] > 250 and expected["daily_status"]

    _forget_results(city)
    rebuilt = _rebuild_by_unit(city, NOVEMBER, at_once=database_url.startswith("postgresql"))
    merged = pipeline.recap(city, NOVEMBER, rebuild_status=False).counts

    assert [r.counts["units"] for r in rebuilt] == [[u] for u in sorted(_units(city))][::-1]
    assert merged == whole
    assert _results(city) == expected

    # Run again (a retried task): nothing changes, and no unit touches another's rows.
    again = _rebuild_by_unit(city, NOVEMBER, at_once=False)
    assert [r.counts["rows_written"] for r in again] == [0] * len(again)
    assert _results(city) == expected


def test_a_unit_judged_alone_counts_the_whole_source(sqlite_engine, sample_city):
    """The sample city's terminals all load as the source ``attlog``: one unit's punches are
    an eighth of that source's, so a unit judged alone is given the city's counts."""
    pipeline.extract(sqlite_engine, sample_city)
    counts = pipeline._source_counts(pipeline.count_source_days(sqlite_engine, NOVEMBER))
    with connect(sqlite_engine) as conn:
        dinkes = read_frame(conn, select(employees.c.nip).where(employees.c.opd_code == "DINKES"))
        assert len(dinkes) < 100
        assert set(counts.index.get_level_values(0)) == {"attlog"}
        # A busy working day counts well over one punch for each of the city's employees.
        assert counts.max() > 1.5 * conn.scalar(select(func.count()).select_from(employees))
        with pytest.raises(ValueError, match="per source and day"):
            rebuild_daily_status(conn, NOVEMBER.year_start, NOVEMBER.end, ["DINKES"])


def _units(engine) -> set[str]:
    with connect(engine) as conn:
        return set(read_frame(conn, select(recaps.c.opd_code))["opd_code"])
