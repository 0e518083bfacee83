"""The ``dispenser`` command: what a person typing it sees for good and bad input."""

from __future__ import annotations

import pytest

from dispenser_core.cli import main
from dispenser_core.notices.render import Person, render_notice
from dispenser_core.periods import Period
from tests.conftest import CASES

OFFICE = CASES / "small_office"


@pytest.fixture
def database(tmp_path, monkeypatch):
    path = tmp_path / "city.sqlite"
    monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{path}")
    return path


def _load_office():
    for kind in ("units", "roster", "absences"):
        assert main(["import", kind, str(OFFICE / f"{kind}.csv")]) == 0
    assert main(["import", "attlog", str(OFFICE / "attlog.dat")]) == 0


def test_reading_a_database_that_does_not_exist_is_refused(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "typo" / "dispenserr.sqlite"
    monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{missing}")
    for command in (["audit", "verify"], ["drafts"], ["recap", "--period", "2025-11"]):
        assert main(command) == 2
        assert "There is no database at" in capsys.readouterr().err
    assert not missing.parent.exists()


@pytest.mark.parametrize("kind", ["attlog", "roster"])
def test_a_missing_file_or_a_folder_is_a_clear_error(database, tmp_path, capsys, kind):
    assert main(["import", kind, str(tmp_path / "nothere.dat")]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert main(["import", kind, str(tmp_path)]) == 2
    assert "(it is a folder)" in capsys.readouterr().err


def test_a_csv_given_as_attlog_is_refused_and_nothing_is_recorded(database, capsys):
    assert main(["import", "attlog", str(OFFICE / "roster.csv")]) == 2
    assert "None of the 7 lines of roster.csv is an attlog punch" in capsys.readouterr().err
    assert main(["rejected"]) == 0
    assert "(tidak ada data)" in capsys.readouterr().out


def test_import_shows_what_was_kept_aside(database, capsys):
    _load_office()
    out = capsys.readouterr().out
    # E5 joined on 17 November 2025 and punched once on the 14th (line 103 of the export).
    assert "195 rows read, 194 loaded, 0 already present, 1 rejected" in out
    assert "before_start_date" in out and "dispenser rejected --batch 4" in out
    assert main(["rejected", "--batch", "4", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and ",before_start_date," in lines[1]


def test_a_period_without_employees_gives_an_empty_table_and_says_why(database, capsys):
    assert main(["import", "units", str(OFFICE / "units.csv")]) == 0
    capsys.readouterr()
    assert main(["recap", "--period", "2025-11", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("nip,name,opd_code,grade,working_days")
    assert len(captured.out.splitlines()) == 1
    assert "No employee works in 2025-11" in captured.err


def test_a_period_before_the_regulation_is_refused_with_the_reason(database, capsys):
    _load_office()
    assert main(["recap", "--period", "2020-05"]) == 2
    assert "PP 94/2021 applies from 2021-08-31" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (20, "hadir pada seluruh 20 hari kerja"),
        (18, "hadir 18 dari 20 hari kerja dan selebihnya tidak masuk dengan alasan yang sah"),
    ],
    ids=["every-day", "with-sick-days"],
)
def test_an_appreciation_notice_says_how_many_days_were_worked(present, expected):
    item = {
        "counted_days": present,
        "rank": 1,
        "band_code": None,
        "details": {"present": present, "working_days": 20, "late_and_early_minutes": 0},
    }
    body = render_notice(
        "appreciation",
        "employee",
        period=Period(2025, 11),
        item=item,
        employee=Person("198001012005011001", "Pegawai"),
        recipient=Person("198001012005011001", "Pegawai"),
        unit_name="Dinas",
    )
    assert expected in body
