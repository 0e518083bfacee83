"""The recap as .xlsx and CSV, and ``--format xlsx`` of the commands, on the tiny city of
tests/core/test_dashboard.py (its docstring counts every value by hand)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dispenser_core import exports, pipeline
from dispenser_core.cli import main
from dispenser_core.dashboard import RecapFilter
from dispenser_core.periods import Period
from dispenser_core.settings import load_settings
from dispenser_core.storage.db import connect
from tests.conftest import CASES
from tests.core.test_dashboard import E2, E3, E4, F1, F2, HEAD, city_engine

OFFICE = CASES / "small_office"
REPO = Path(__file__).parents[2]
NOVEMBER_ONLY = {"period_from": "2025-11", "period_to": "2025-11"}
SUMMARY_HEADERS = [
    "Periode",
    "Pegawai",
    "NIP",
    "Kode OPD",
    "OPD",
    "Golongan",
    "Hari Kerja",
    "Hadir",
    "Tidak Hadir",
    "Tanpa Keterangan",
    "Cuti",
    "Sakit",
    "Izin",
    "Dinas Luar",
    "Tidak Absen Masuk",
    "Tidak Absen Pulang",
    "Menit Terlambat",
    "Menit Pulang Cepat",
    "TK Setara",
    "TK Kumulatif Tahun Ini",
]
DAY_HEADERS = [
    "NIP",
    "Pegawai",
    "Tanggal",
    "Status",
    "Jam Masuk",
    "Jam Pulang",
    "Menit Terlambat",
    "Menit Pulang Cepat",
]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def city(request, tmp_path_factory):
    with city_engine(request.param, tmp_path_factory.mktemp(request.param)) as engine:
        yield engine
        engine.dispose()


def _workbook(city, **filters):
    with connect(city) as conn:
        content = exports.recap_xlsx(conn, RecapFilter(**filters))
    return load_workbook(io.BytesIO(content))


def _rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def _by_nip(sheet, nip_column: int) -> dict[str, list]:
    return {row[nip_column]: row for row in _rows(sheet)}


class TestRecapWorkbook:
    def test_two_sheets_with_bold_frozen_indonesian_headers(self, city):
        book = _workbook(city, **NOVEMBER_ONLY)
        assert book.sheetnames == ["Rekap", "Rincian Harian"]
        for sheet, headers in zip(book.worksheets, (SUMMARY_HEADERS, DAY_HEADERS), strict=True):
            assert [cell.value for cell in sheet[1]] == headers
            assert all(cell.font.b for cell in sheet[1])
            assert sheet.freeze_panes == "A2"

    def test_every_matching_row_not_one_page(self, city):
        book = _workbook(city, **NOVEMBER_ONLY, page=2, page_size=3)
        summary = _rows(book["Rekap"])
        assert len(summary) == 8
        # Sorted as asked, by NIP: the unit head of the small office first.
        assert summary[0][2] == HEAD

    def test_a_summary_row_cell_by_cell(self, city):
        row = _by_nip(_workbook(city, **NOVEMBER_ONLY)["Rekap"], 2)[F1]
        assert row == [
            "2025-11",
            "Budi Santoso",
            F1,
            "BADAN-UJI",
            "Badan Uji Coba",
            "III/b",
            20,
            18,
            2,
            2,
            0,
            0,
            0,
            0,
            0,
            0,
            15,
            0,
            2,
            2,
        ]

    def test_the_nip_is_text(self, city):
        sheet = _workbook(city, **NOVEMBER_ONLY)["Rekap"]
        for cell in sheet["C"][1:]:
            assert (cell.data_type, cell.number_format) == ("s", "@")
            assert isinstance(cell.value, str) and len(cell.value) == 18
        days = _workbook(city, **NOVEMBER_ONLY)["Rincian Harian"]
        assert {cell.data_type for cell in days["A"][1:]} == {"s"}

    def test_columns_are_as_wide_as_their_longest_value(self, city):
        sheet = _workbook(city, **NOVEMBER_ONLY)["Rekap"]
        widths = {col: sheet.column_dimensions[col].width for col in ("A", "B", "C", "K", "T")}
        # "2025-11"; "Pegawai Sering Absen" (20); a NIP (18); "Cuti"; its long header (22).
        assert widths == {"A": 9, "B": 22, "C": 20, "K": 6, "T": 24}

    def test_a_very_long_value_is_capped(self):
        book = load_workbook(io.BytesIO(exports.table_xlsx("Catatan", [{"isi": "x" * 300}])))
        assert book["Catatan"].column_dimensions["A"].width == exports.MAX_COLUMN_WIDTH

    def test_the_days_behind_the_recap(self, city):
        sheet = _workbook(city, **NOVEMBER_ONLY)["Rincian Harian"]
        rows = _rows(sheet)
        # 20 working days for seven employees, 10 for E5 who joined on 17 November.
        assert len(rows) == 150
        monday = next(r for r in rows if r[0] == E3 and r[2] == dt.datetime(2025, 11, 3))
        assert monday == [
            E3,
            "Pegawai Cuti",
            dt.datetime(2025, 11, 3),
            "Hadir",
            dt.time(7, 58, 10),
            dt.time(16, 2, 40),
            28,
            0,
        ]
        tk = next(r for r in rows if r[0] == E4 and r[2] == dt.datetime(2025, 11, 17))
        assert tk[3:6] == ["Tanpa Keterangan", None, None]
        assert sheet["C2"].number_format == "dd/mm/yyyy"
        assert sheet["E2"].number_format == "hh:mm"

    def test_a_unit_filter_applies_to_both_sheets(self, city):
        book = _workbook(city, units=("BADAN-UJI",), period_from="2025-10", period_to="2025-11")
        assert [(r[0], r[2]) for r in _rows(book["Rekap"])] == [
            ("2025-10", F2),
            ("2025-11", F2),
            ("2025-10", F1),
            ("2025-11", F1),
        ]
        days = _rows(book["Rincian Harian"])
        # 23 October and 20 November working days each.
        assert len(days) == 86
        assert {r[0] for r in days} == {F1, F2}

    def test_days_that_cannot_fit_a_sheet_leave_a_note(self, city, monkeypatch):
        monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 100)
        book = _workbook(city, **NOVEMBER_ONLY)
        assert len(_rows(book["Rekap"])) == 8
        [[note, *_]] = _rows(book["Rincian Harian"])
        assert note.startswith("150 hari tidak muat dalam satu lembar Excel")

    def test_nothing_matching_gives_the_headers_only(self, city):
        book = _workbook(city, who="tidak ada")
        assert [_rows(sheet) for sheet in book.worksheets] == [[], []]
        assert [cell.value for cell in book["Rekap"][1]] == SUMMARY_HEADERS


class TestRecapCsv:
    def test_the_summary_with_the_workbook_headers(self, city):
        with connect(city) as conn:
            text = exports.recap_csv(conn, RecapFilter(**NOVEMBER_ONLY, sort="menit_terlambat"))
        header, *rows = list(csv.reader(io.StringIO(text)))
        assert header == SUMMARY_HEADERS
        assert len(rows) == 8
        # Least late first; E3 (28 minutes) is last.
        assert rows[-1][:3] == ["2025-11", "Pegawai Cuti", E3]
        assert rows[-1][16] == "28"
        by_nip = {row[2]: row for row in rows}
        assert by_nip[F2][15] == "1"  # no check-out on 20 November


# -- the commands -------------------------------------------------------------------------------


@pytest.fixture
def office(tmp_path, monkeypatch, capsys):
    path = tmp_path / "city.sqlite"
    monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{path}")
    for kind in ("units", "roster", "absences"):
        assert main(["import", kind, str(OFFICE / f"{kind}.csv")]) == 0
    assert main(["import", "attlog", str(OFFICE / "attlog.dat")]) == 0
    capsys.readouterr()
    return path


class TestCommands:
    def test_recap_as_a_workbook_says_what_it_does_on_stderr(self, office, tmp_path, capsys):
        out = tmp_path / "rekap.xlsx"
        assert main(["recap", "--period", "2025-11", "--format", "xlsx", "--out", str(out)]) == 0
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "Building the recap of 2025-11 from the daily status of 2025-01-01" in captured.err
        assert "Writing the recap of 2025-11 as a workbook: done in" in captured.err
        assert f"Wrote {out} (" in captured.err
        # Counts and codes only: no employee's name on stderr.
        assert "Pegawai" not in captured.err and "Kepala" not in captured.err
        book = load_workbook(out)
        assert book.sheetnames == ["Rekap", "Rincian Harian"]
        assert len(_rows(book["Rekap"])) == 6

    def test_an_up_to_date_recap_is_not_rebuilt(self, office, tmp_path, capsys):
        assert main(["recap", "--period", "2025-11"]) == 0
        capsys.readouterr()
        assert main(["recap", "--period", "2025-11", "--format", "csv"]) == 0
        assert "Building" not in capsys.readouterr().err

    def test_a_workbook_is_not_written_to_a_terminal(self, office, capsys, monkeypatch):
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
        assert main(["recap", "--period", "2025-11", "--format", "xlsx"]) == 2
        err = capsys.readouterr().err
        assert "give --out FILE.xlsx, or redirect the output" in err
        assert "Building" not in err

    def test_a_workbook_goes_to_stdout_when_it_is_redirected(self, office, tmp_path):
        result = subprocess.run(
            [sys.executable, "-m", "dispenser_core.cli", "drafts", "--format", "xlsx"],
            cwd=REPO,
            capture_output=True,
            timeout=300,
            check=False,
            env={**os.environ, "DISPENSER_DATABASE_URL": f"sqlite:///{office}"},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.startswith(b"PK")
        assert load_workbook(io.BytesIO(result.stdout)).sheetnames == ["Draft"]

    def test_candidates_and_drafts_as_workbooks(self, office, tmp_path):
        found, saved = tmp_path / "kandidat.xlsx", tmp_path / "draft.xlsx"
        command = ["candidates", "--period", "2025-11", "--format", "xlsx", "--out", str(found)]
        assert main(command) == 0
        engine = pipeline.prepare(load_settings(), create=False)
        assert pipeline.save_drafts(engine, Period(2025, 11)) == [1, 2]
        engine.dispose()
        assert main(["drafts", "--format", "xlsx", "--out", str(saved)]) == 0

        candidates = load_workbook(found)["Kandidat"]
        assert [c.value for c in candidates[1]][:3] == ["kind", "nip", "name"]
        violations = {r[1]: r[4] for r in _rows(candidates) if r[0] == "violation"}
        assert violations == {E2: "R1", E4: "R2"}
        assert candidates.freeze_panes == "A2"

        drafts = load_workbook(saved)["Draft"]
        header = [c.value for c in drafts[1]]
        assert "updated_at (WIB)" in header
        titles = {r[header.index("title")] for r in _rows(drafts)}
        assert titles == {
            "Draft Notifikasi Disiplin - November 2025",
            "Draft Notifikasi Apresiasi - November 2025",
        }

    def test_by_unit_as_a_workbook(self, office, tmp_path):
        out = tmp_path / "per-opd.xlsx"
        assert (
            main(
                ["recap", "--period", "2025-11", "--by-unit", "--format", "xlsx", "--out", str(out)]
            )
            == 0
        )
        sheet = load_workbook(out)["Rekap"]
        assert [c.value for c in sheet[1]][:3] == ["OPD", "PEGAWAI", "HARI KERJA"]
        assert _rows(sheet)[0][:3] == ["DINAS-CONTOH", 6, 110]

    def test_csv_to_a_file(self, office, tmp_path, capsys):
        out = tmp_path / "rekap.csv"
        assert main(["recap", "--period", "2025-11", "--format", "csv", "--out", str(out)]) == 0
        assert capsys.readouterr().out == ""
        header, *rows = list(csv.reader(out.open(encoding="utf-8")))
        assert header[:3] == ["nip", "name", "opd_code"] and len(rows) == 6

    def test_an_out_file_in_a_missing_folder_is_refused(self, office, tmp_path, capsys):
        out = tmp_path / "tidak-ada" / "rekap.xlsx"
        assert main(["drafts", "--format", "xlsx", "--out", str(out)]) == 2
        assert "choose --out in a folder that exists" in capsys.readouterr().err
