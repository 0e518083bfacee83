"""What ``dispenser`` says and returns for the input a tester found wanting: closed pipes,
unknown units and statuses, periods not begun, times and headers as the agency reads them."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, update

from dispenser_core import cli, pipeline, reports
from dispenser_core.cli import build_parser, main
from dispenser_core.drafts import DraftFilters, save_draft
from dispenser_core.exceptions import DraftError
from dispenser_core.local.demo import _print_summary
from dispenser_core.periods import Period
from dispenser_core.settings import load_settings
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import daily_status, drafts, recaps
from tests.conftest import CASES

OFFICE = CASES / "small_office"
REPO = Path(__file__).parents[2]
NOVEMBER = Period(2025, 11)


@pytest.fixture
def database(tmp_path, monkeypatch):
    path = tmp_path / "city.sqlite"
    monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def office(database, capsys):
    for kind in ("units", "roster", "absences"):
        assert main(["import", kind, str(OFFICE / f"{kind}.csv")]) == 0
    assert main(["import", "attlog", str(OFFICE / "attlog.dat")]) == 0
    capsys.readouterr()
    return database


def _stored_rows(database: Path, table) -> int:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return count


def _dispenser(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dispenser_core.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **options,
    )


@pytest.mark.parametrize(
    "command",
    [["drafts"], ["import", "roster", str(OFFICE / "roster.csv")]],
    ids=["drafts", "import"],
)
def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(database, command):
    assert main(["init"]) == 0
    reader, writer = os.pipe()
    # The reader is gone before the command writes a byte, as with `| head -0`.
    os.close(reader)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispenser_core.cli", *command],
            cwd=REPO,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(writer)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


@pytest.mark.parametrize(
    ("units", "unknown"),
    [(["NOPE"], "NOPE"), (["DINAS-CONTOH", "NOPE", "ALSO-NOT"], "ALSO-NOT, NOPE")],
    ids=["one-unknown", "unknown-beside-a-known-one"],
)
def test_an_unknown_unit_is_refused_with_the_known_codes(office, capsys, units, unknown):
    argv = ["recap", "--period", "2025-11"] + [arg for u in units for arg in ("--unit", u)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"Unknown unit {unknown}: the known unit codes are DINAS-CONTOH" in err
    assert "No employee works" not in err
    assert _stored_rows(office, recaps) == 0


def test_an_unknown_unit_before_any_unit_is_loaded_says_to_load_units(database, capsys):
    assert main(["init"]) == 0
    assert main(["recap", "--period", "2025-11", "--unit", "NOPE"]) == 2
    assert "no unit is loaded yet; load them first (dispenser import units FILE)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("command", ["recap", "candidates", "run"])
def test_a_period_that_has_not_started_is_refused_and_nothing_is_stored(office, capsys, command):
    assert main([command, "--period", "2099-01"]) == 2
    assert "Period 2099-01 has not started yet" in capsys.readouterr().err
    assert _stored_rows(office, recaps) == 0
    assert _stored_rows(office, daily_status) == 0


@pytest.mark.parametrize(
    ("today", "period", "status"),
    [
        (dt.date(2025, 10, 31), "2025-11", 2),
        (dt.date(2025, 11, 1), "2025-11", 0),
        (dt.date(2024, 12, 31), "2025", 2),
        (dt.date(2025, 1, 1), "2025", 0),
    ],
    ids=["month-tomorrow", "month-today", "year-tomorrow", "year-today"],
)
def test_a_period_counts_as_started_from_its_first_day(
    office, monkeypatch, capsys, today, period, status
):
    monkeypatch.setattr(cli, "_today", lambda settings: today)
    assert main(["recap", "--period", period, "--format", "csv"]) == status


def test_an_unknown_draft_status_is_refused_with_the_known_ones(database, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["drafts", "--status", "bogus"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err
    for status in ("pending", "awaiting_approval", "approved", "rejected", "sent", "superseded"):
        assert f"'{status}'" in err


def test_units_lists_the_codes_and_names_loaded(office, capsys):
    assert main(["units", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "opd_code,name\nDINAS-CONTOH,Dinas Contoh\n"


def test_the_unknown_unit_error_of_a_draft_names_a_command_that_exists(office, capsys):
    engine = pipeline.prepare(load_settings(), create=False)
    with pytest.raises(DraftError) as refused, connect(engine) as conn:
        save_draft(conn, NOVEMBER, DraftFilters(units=("NOPE",)))
    engine.dispose()
    command = re.search(r"`dispenser ([^`]+)`", str(refused.value))[1].split()
    build_parser().parse_args(command)
    assert main(command) == 0
    assert "DINAS-CONTOH" in capsys.readouterr().out


def test_run_keeps_great_expectations_chatter_off_stderr(database, tmp_path, monkeypatch):
    shutil.copytree(OFFICE, tmp_path / "inbox")
    monkeypatch.setenv("DISPENSER_INBOX_DIR", str(tmp_path / "inbox"))
    result = _dispenser("run", "--period", "2025-11")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert not [line for line in lines if " INFO great_expectations" in line]
    assert "[]" not in [line.strip() for line in lines]
    # The unit table speaks like the demo's and `recap --by-unit`'s: PEGAWAI, not employees.
    header = result.stdout.splitlines()[0].split()
    assert header[:3] == ["OPD", "PEGAWAI", "HARI"]
    assert "Drafts saved for 2025-11: [1, 2] (approve them in Airflow)." in result.stdout


def _two_drafts_saved_at(database: Path, violation: dt.datetime, appreciation: dt.datetime):
    """Drafts 1 (violations) and 2 (appreciations) of November, stored as saved at these UTC
    times."""
    assert main(["candidates", "--period", "2025-11"]) == 0
    engine = pipeline.prepare(load_settings(), create=False)
    assert pipeline.save_drafts(engine, NOVEMBER) == [1, 2]
    with connect(engine) as conn:
        for draft_id, moment in ((1, violation), (2, appreciation)):
            conn.execute(
                update(drafts).where(drafts.c.draft_id == draft_id).values(updated_at=moment)
            )
    engine.dispose()


def test_drafts_show_their_times_in_the_agency_zone(office, capsys):
    # 01:30 UTC is 08:30 WIB; 20:15 UTC on 30 November is 03:15 WIB on 1 December.
    _two_drafts_saved_at(office, dt.datetime(2025, 12, 1, 1, 30), dt.datetime(2025, 11, 30, 20, 15))
    capsys.readouterr()

    assert main(["drafts"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "updated_at (WIB)" in lines[0]
    assert "Disiplin - November 2025" in lines[2] and "2025-12-01 08:30" in lines[2]
    assert "Apresiasi - November 2025" in lines[3] and "2025-12-01 03:15" in lines[3]
    assert lines[4].startswith("Anda memiliki 2 draft pending siap dikirim.")
    assert lines[4].endswith("(2 pegawai, diperbarui 1 Des 2025, 08:30)")

    assert main(["drafts", "--format", "csv"]) == 0
    assert ",2025-12-01 08:30:00+07:00," in capsys.readouterr().out.splitlines()[1]


def test_a_status_filter_does_not_hide_the_pending_summary(office, capsys):
    _two_drafts_saved_at(office, dt.datetime(2025, 12, 1, 1, 30), dt.datetime(2025, 12, 1, 1, 0))
    capsys.readouterr()
    assert main(["drafts", "--status", "sent"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("(tidak ada data)\n")
    assert "Anda memiliki 2 draft pending siap dikirim." in out


def test_bands_are_summed_most_severe_first_and_appreciation_last():
    found = [
        {"band_code": code, "band": f"band {code}"}
        for code in ("S2", "S1", "R3", "R2", "R1", "B4", "B3", "B1", "R1")
    ] + [{"band_code": None, "band": ""}]
    summary = reports.band_summary(found, NOVEMBER)
    assert [row["kode"] for row in summary] == [
        "B4",
        "B3",
        "B1",
        "S2",
        "S1",
        "R3",
        "R2",
        "R1",
        "APR",
    ]
    assert [row["pegawai"] for row in summary if row["kode"] == "R1"] == [2]


def test_the_demo_summary_uses_the_run_headers_and_the_band_order(office, capsys):
    assert main(["candidates", "--period", "2025-11"]) == 0
    capsys.readouterr()
    _print_summary(load_settings(), NOVEMBER)
    lines = capsys.readouterr().out.splitlines()
    unit_header = next(line for line in lines if line.startswith("OPD"))
    assert unit_header.split()[:2] == ["OPD", "PEGAWAI"]
    # E4 has 6 TK days (R2), E2 has 3 (R1); three employees are appreciated.
    codes = [line.split()[0] for line in lines if re.match(r"^(R\d|S\d|B\d|APR) ", line)]
    assert codes == ["R2", "R1", "APR"]


def test_a_database_url_that_is_not_one_is_named(monkeypatch, capsys):
    monkeypatch.setenv("DISPENSER_DATABASE_URL", "notaurl")
    assert main(["units"]) == 2
    err = capsys.readouterr().err
    assert "'notaurl' is not a database address" in err and "Traceback" not in err


def test_an_api_address_without_its_scheme_is_named(database, monkeypatch, capsys):
    monkeypatch.setenv("DISPENSER_API_URL", "127.0.0.1:8097")
    assert main(["pull"]) == 2
    assert "has no http:// or https://" in capsys.readouterr().err


def test_rejected_rows_of_a_batch_that_does_not_exist_are_refused(database, capsys):
    assert main(["init"]) == 0
    assert main(["rejected", "--batch", "999"]) == 2
    assert "There is no batch 999" in capsys.readouterr().err
