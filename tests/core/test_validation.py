"""Validation with the great_expectations suites, and the completeness guard, on the hand-made
small office (tests/cases/small_office/README.md), on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from dispenser_core import pipeline, reports
from dispenser_core.exceptions import ValidationFailed
from dispenser_core.periods import Period
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import daily_status, punches
from tests.conftest import CASES

OFFICE = CASES / "small_office"
NOVEMBER = Period(2025, 11)
STRANGER = "199912312025011099"  # in no roster
SHORT_NIP = "19991231202501109"  # 17 digits


@pytest.fixture
def loaded(engine):
    for kind, name in (("units", "units.csv"), ("roster", "roster.csv")):
        pipeline.import_file(engine, kind, OFFICE / name)
    return pipeline.import_file(engine, "attlog", OFFICE / "attlog.dat")


def _site(result) -> Path:
    return Path(result.counts["docs"])


class TestBatchChecks:
    def test_a_clean_batch_passes_and_counts_its_rows(self, engine, settings, loaded):
        result = pipeline.validate_batches(engine, settings, [loaded.batch_id], "clean")
        # attlog.dat has 195 lines, one of them E5's test punch before joining (README).
        assert result.counts[f"batch {loaded.batch_id} (attlog)"] == 194
        assert (_site(result) / "index.html").is_file()

    def test_a_batch_with_rows_the_loader_would_refuse_stops_the_run_naming_them(
        self, engine, settings, loaded
    ):
        # Rows that reached the table behind the loader's back (a hand edit, an old version).
        with connect(engine) as conn:
            for nip in (STRANGER, SHORT_NIP):
                conn.execute(
                    insert(punches).values(
                        nip=nip,
                        punched_at=dt.datetime(2025, 11, 4, 1, 0),
                        batch_id=loaded.batch_id,
                        ingested_at=dt.datetime(2025, 12, 1),
                    )
                )
        with pytest.raises(ValidationFailed) as failure:
            pipeline.validate_batches(engine, settings, [loaded.batch_id], "bad")
        message = str(failure.value)
        assert f"batch {loaded.batch_id} (attlog)" in message
        assert f"expect_column_values_to_match_regex on nip: 1 rows, e.g. ['nip={SHORT_NIP}']" in (
            message
        )
        assert "expect_column_values_to_not_be_null on roster_nip: 2 rows" in message
        assert f"nip={STRANGER}" in message
        assert "index.html" in message


class TestDataDocs:
    def test_pages_open_offline_and_their_links_lead_somewhere(self, engine, settings, loaded):
        site = _site(pipeline.validate_batches(engine, settings, [loaded.batch_id], "docs"))
        pages = [*site.rglob("*.html"), *site.rglob("*.css")]
        assert len([p for p in pages if p.suffix == ".html"]) >= 3  # index, suite, result
        for page in pages:
            content = page.read_text(encoding="utf-8")
            assert "http://" not in content and "https://" not in content, page
            for target in re.findall(r'(?:href|src)="([^"#]+)"', content):
                assert (page.parent / target).exists(), f"{page}: {target}"

    def test_the_period_and_result_checks_write_their_own_docs(self, engine, settings, loaded):
        before = pipeline.validate(engine, settings, NOVEMBER, "run-1")
        pipeline.recap(engine, NOVEMBER)
        after = pipeline.validate_results(engine, settings, NOVEMBER, "run-1")
        assert _site(before) != _site(after)
        assert (_site(after) / "index.html").is_file()


class TestCompletenessGuard:
    """Everyone in the small office punches on Thursday 20 November (12 punches, README).
    Without that day's export, the day is a data problem for all six, never TK."""

    @pytest.fixture
    def without_20_november(self, engine, settings):
        shutil.copytree(OFFICE, settings.inbox_dir)
        attlog = settings.inbox_dir / "attlog.dat"
        lines = attlog.read_text().splitlines(keepends=True)
        kept = [line for line in lines if "\t2025-11-20 " not in line]
        assert len(lines) - len(kept) == 12
        attlog.write_text("".join(kept))
        pipeline.extract(engine, settings.inbox_dir)
        return engine

    def test_the_missing_day_is_a_data_problem_for_everyone(self, without_20_november):
        result = pipeline.recap(without_20_november, NOVEMBER)
        with connect(without_20_november) as conn:
            statuses = conn.execute(
                select(daily_status.c.status).where(daily_status.c.day == dt.date(2025, 11, 20))
            ).scalars()
            assert sorted(statuses) == ["data_problem"] * 6
            recap = {row["nip"]: row for row in reports.recap_rows(conn, NOVEMBER)}
        # The TK of the full data (test_pipeline.py): 3 for E2, 6 for E4, none for the others.
        assert {nip: row["tk"] for nip, row in recap.items() if row["tk"]} == {
            "198502022010012002": 3,
            "199104042016011004": 6,
        }
        assert result.counts["data_problem_days"] == 6
        assert result.counts["tk_days"] == 9

    def test_the_run_reports_the_data_problem_days(self, without_20_november, caplog):
        with caplog.at_level("WARNING"):
            pipeline.recap(without_20_november, NOVEMBER)
        assert "6 employee-days are data problems" in caplog.text
        assert "DINAS-CONTOH" in caplog.text

    def test_a_month_without_any_export_is_a_data_problem_not_mass_tk(self, engine, settings):
        """The terminal's export starts with one punch on Tue 30 September, then nothing until
        November: October (23 weekdays, no holiday) is covered but silent for the whole unit.
        Five more employees (joined 2020, no punches) make the office ten in October (E5
        joined in November), the size from which a silent day is a missing export: 10 x 23
        data-problem days, no TK."""
        shutil.copytree(OFFICE, settings.inbox_dir)
        roster = settings.inbox_dir / "roster.csv"
        extra = [
            f"{20 + n},19900101202001100{n},Pegawai Tambahan {n},DINAS-CONTOH,Dinas Contoh,"
            f"III/a,Staf,197501012000031001,PNS,office,2020-01-01,\n"
            for n in range(1, 6)
        ]
        roster.write_text(roster.read_text() + "".join(extra))
        attlog = settings.inbox_dir / "attlog.dat"
        attlog.write_text("        1\t2025-09-30 07:15:00\t1\t0\t0\t0\n" + attlog.read_text())
        pipeline.extract(engine, settings.inbox_dir)
        result = pipeline.recap(engine, Period(2025, 10))
        assert result.counts["tk_days"] == 0
        assert result.counts["data_problem_days"] == 10 * 23


def test_the_period_check_leaves_out_punches_just_after_it(engine, settings, tmp_path):
    """A punch at 07:15 WIB on 2 December is 00:15 UTC, past the last instant November's check
    looks at (2 December 00:00 UTC): it belongs to December and must not fail November."""
    for kind, name in (("units", "units.csv"), ("roster", "roster.csv")):
        pipeline.import_file(engine, kind, OFFICE / name)
    attlog = tmp_path / "attlog.dat"
    attlog.write_text(
        (OFFICE / "attlog.dat").read_text() + "        1\t2025-12-02 07:15:00\t1\t0\t0\t0\n"
    )
    pipeline.import_file(engine, "attlog", attlog)
    result = pipeline.validate(engine, settings, NOVEMBER, "edge")
    assert result.counts["punches of 2025-11"] == 194


def test_a_source_declared_synced_has_its_days_judged(
    engine, settings, tmp_path, capsys, monkeypatch
):
    """The terminal's export stops after Friday 21 November: 24-28 November wait (pending) for
    all six employees. Declared synced until the 29th without a new file, those days are
    judged; with no punch at all they are data problems (the guard), not TK."""
    from dispenser_core.cli import main

    monkeypatch.setenv("DISPENSER_DATABASE_URL", settings.database_url)
    for kind, name in (("units", "units.csv"), ("roster", "roster.csv")):
        pipeline.import_file(engine, kind, OFFICE / name)
    early = tmp_path / "attlog-until-21.dat"
    lines = (OFFICE / "attlog.dat").read_text().splitlines(keepends=True)
    early.write_text("".join(line for line in lines if line.split("\t")[1] < "2025-11-22"))
    pipeline.import_file(engine, "attlog", early, source="kantor")
    before = pipeline.recap(engine, NOVEMBER).counts

    assert main(["sync-source", "--source", "kantor", "--synced-until", "2025-11-29T00:00"]) == 0
    assert "kantor: synced until 2025-11-29 00:00:00" in capsys.readouterr().out
    after = pipeline.recap(engine, NOVEMBER).counts
    assert (before["pending_days"], before["data_problem_days"]) == (30, 0)
    assert (after["pending_days"], after["data_problem_days"]) == (0, 30)
    assert after["tk_days"] == before["tk_days"]

    # A watermark only moves forward, and only for a source that exists.
    assert main(["sync-source", "--source", "kantor", "--synced-until", "2025-11-20T00:00"]) == 2
    assert main(["sync-source", "--source", "lain", "--synced-until", "2025-11-30T00:00"]) == 2
    errors = capsys.readouterr().err
    assert "already synced until 2025-11-29 00:00:00" in errors
    assert "No punches were ever loaded from source 'lain'" in errors
