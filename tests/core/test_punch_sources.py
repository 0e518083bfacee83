"""Punch sources other than one terminal's month: the offices' CSV and Excel exports, and the real
multi-year ZKTeco export (../shared/data/real). Every expected value is worked out by hand from
the rows written here, or counted from the real file with awk (the command is beside each
figure)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from dispenser_core import pipeline
from dispenser_core.daily_status import drop_repeats
from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.office_exports import read_office_export
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import import_batches, punches, rejected_records

ANI = "198001012005011001"  # DINKES, Jakarta time (UTC+7), PIN 7
BUDI = "199003032015032003"  # KEC-UTARA, Makassar time (UTC+8), PIN 8
UNITS = (
    "opd_code,opd_name,head_nip,timezone\n"
    "DINKES,Dinas Kesehatan,,\n"
    "KEC-UTARA,Kec. Utara,,Asia/Makassar\n"
)
ROSTER = (
    "pin,nip,name,opd_code,opd_name,start_date\n"
    f"7,{ANI},Ani,DINKES,Dinas Kesehatan,2005-01-01\n"
    f"8,{BUDI},Budi,KEC-UTARA,Kec. Utara,2015-03-01\n"
)


def _csv(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _xlsx(tmp_path, name: str, rows: list[list]):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def _times(result) -> list[tuple[int, str, str | None, dt.datetime]]:
    return [(p.line_number, p.pin, p.nip, p.local_time) for p in result.rows]


def _reasons(result) -> list[tuple[int, str]]:
    return [(r.line_number, r.reason) for r in result.rejected]


class TestReadingAnOfficeExport:
    def test_one_row_per_punch_with_dd_mm_yyyy_dates_and_semicolons(self, tmp_path):
        path = _csv(
            tmp_path,
            "presensi.csv",
            "NIP;Nama;Tanggal;Jam\n"
            f"{ANI};Ani;03/11/2025;07:15\n"
            f"{ANI};Ani;03/11/2025;16:10:30\n"
            f"{BUDI};Budi;4/11/2025;07.05\n",
        )
        result = read_office_export(path)
        assert result.lines_read == 3
        assert _times(result) == [
            (2, "", ANI, dt.datetime(2025, 11, 3, 7, 15)),
            (3, "", ANI, dt.datetime(2025, 11, 3, 16, 10, 30)),
            (4, "", BUDI, dt.datetime(2025, 11, 4, 7, 5)),
        ]
        assert result.rejected == []

    def test_one_row_per_employee_day_gives_its_check_in_and_check_out(self, tmp_path):
        path = _csv(
            tmp_path,
            "rekap-presensi.csv",
            "NIP,Tanggal,Jam Masuk,Jam Pulang\n"
            f"{ANI},03/11/2025,07:15,16:10\n"
            f"{BUDI},03/11/2025,07:41,\n"  # forgot to punch out: one punch only
            f"{BUDI},04/11/2025,,\n",  # a day without punches: nothing to load, nothing wrong
        )
        result = read_office_export(path)
        assert _times(result) == [
            (2, "", ANI, dt.datetime(2025, 11, 3, 7, 15)),
            (2, "", ANI, dt.datetime(2025, 11, 3, 16, 10)),
            (3, "", BUDI, dt.datetime(2025, 11, 3, 7, 41)),
        ]
        assert _reasons(result) == [(4, "invalid_date")]

    def test_an_excel_workbook_with_date_and_time_cells(self, tmp_path):
        path = _xlsx(
            tmp_path,
            "presensi.xlsx",
            [
                ["PIN", "Tanggal", "Jam Masuk", "Jam Pulang"],
                [7, dt.date(2025, 11, 3), dt.time(7, 15), dt.time(16, 10)],
                # A time Excel keeps as a date-time on its 1899 epoch, and a typed text date.
                ["008", "04/11/2025", dt.datetime(1899, 12, 30, 7, 20), "16:45"],
            ],
        )
        result = read_office_export(path)
        assert _times(result) == [
            (2, "7", None, dt.datetime(2025, 11, 3, 7, 15)),
            (2, "7", None, dt.datetime(2025, 11, 3, 16, 10)),
            (3, "8", None, dt.datetime(2025, 11, 4, 7, 20)),
            (3, "8", None, dt.datetime(2025, 11, 4, 16, 45)),
        ]

    def test_every_bad_row_is_rejected_with_its_reason_and_the_rest_read(self, tmp_path):
        path = _csv(
            tmp_path,
            "presensi.csv",
            "NIP,Tanggal,Jam\n"
            f"{ANI},31/11/2025,07:15\n"  # 31 November does not exist
            f"{ANI},03/11/2025,25:00\n"  # no such hour
            f"{ANI},01/01/2000,07:00\n"  # a terminal reset to its factory date
            ",03/11/2025,07:15\n"  # no NIP
            "1.98001012005011E+17,03/11/2025,07:15\n"  # a NIP Excel turned into a number
            f"{ANI},03/11/2025,07:15\n",
        )
        result = read_office_export(path)
        assert result.lines_read == 6
        assert _reasons(result) == [
            (2, "invalid_date"),
            (3, "invalid_date"),
            (4, "implausible_date"),
            (5, "invalid_pin"),
            (6, "invalid_pin"),
        ]
        assert "format the column as text" in result.rejected[4].detail
        assert _times(result) == [(7, "", ANI, dt.datetime(2025, 11, 3, 7, 15))]

    def test_a_header_without_nip_or_time_is_refused_and_named(self, tmp_path):
        path = _csv(tmp_path, "presensi.csv", "Nama,Tanggal\nAni,03/11/2025\n")
        with pytest.raises(InputFileError, match=r"lacks a NIP.*\['Nama', 'Tanggal'\]"):
            read_office_export(path)

    @pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["empty", "blank-lines"])
    def test_an_empty_export_is_refused(self, tmp_path, content):
        path = tmp_path / "presensi.csv"
        path.write_bytes(content)
        with pytest.raises(InputFileError, match="empty"):
            read_office_export(path)

    def test_a_file_that_is_not_a_workbook_is_refused(self, tmp_path):
        path = tmp_path / "presensi.xlsx"
        path.write_bytes(b"\x00\x01 not a zip file \xff" * 20)
        with pytest.raises(InputFileError, match="not a readable Excel workbook"):
            read_office_export(path)

    def test_a_csv_that_is_not_utf8_is_refused(self, tmp_path):
        path = tmp_path / "presensi.csv"
        path.write_bytes("NIP,Tanggal,Jam\n1,03/11/2025,07:15 \xe9\n".encode("latin-1"))
        with pytest.raises(InputFileError, match="UTF-8"):
            read_office_export(path)


class TestLoadingAnOfficeExport:
    @pytest.fixture
    def office(self, engine, tmp_path):
        pipeline.import_file(engine, "units", _csv(tmp_path, "units.csv", UNITS))
        pipeline.import_file(engine, "roster", _csv(tmp_path, "roster.csv", ROSTER))
        return engine

    def test_punches_are_stored_in_utc_from_each_units_zone(self, office, tmp_path):
        path = _xlsx(
            tmp_path,
            "presensi-kantor.xlsx",
            [
                ["NIP", "Tanggal", "Jam Masuk", "Jam Pulang"],
                [ANI, "03/11/2025", "07:15", "16:10"],
                [BUDI, "03/11/2025", "07:41", ""],
                ["199912312025011099", "03/11/2025", "07:00", ""],  # not in the roster
            ],
        )
        summary = pipeline.import_file(office, "punch_export", path, source="kantor-dinkes")
        assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (3, 3, 1)
        with connect(office) as conn:
            stored = set(conn.execute(select(punches.c.nip, punches.c.punched_at)).tuples())
            rejected = conn.execute(
                select(rejected_records.c.line_number, rejected_records.c.reason)
            ).all()
            batch = conn.execute(
                select(import_batches.c.source, import_batches.c.synced_until).where(
                    import_batches.c.batch_id == summary.batch_id
                )
            ).one()
        # WIB is UTC+7, WITA UTC+8.
        assert stored == {
            (ANI, dt.datetime(2025, 11, 3, 0, 15)),
            (ANI, dt.datetime(2025, 11, 3, 9, 10)),
            (BUDI, dt.datetime(2025, 11, 2, 23, 41)),
        }
        assert rejected == [(4, "unknown_pin")]
        assert tuple(batch) == ("kantor-dinkes", dt.datetime(2025, 11, 4))

    def test_the_same_punches_in_a_csv_and_a_workbook_are_stored_once(self, office, tmp_path):
        rows = [["NIP", "Tanggal", "Jam"], [ANI, "03/11/2025", "07:15"]]
        workbook = _xlsx(tmp_path, "presensi-a.xlsx", rows)
        text = _csv(tmp_path, "presensi-b.csv", "\n".join(",".join(r) for r in rows) + "\n")
        first = pipeline.import_file(office, "punch_export", workbook)
        second = pipeline.import_file(office, "punch_export", text)
        again = pipeline.import_file(office, "punch_export", text)
        assert (first.rows_loaded, second.rows_loaded, second.rows_duplicate) == (1, 0, 1)
        assert again.already_loaded
        with connect(office) as conn:
            assert conn.scalar(select(func.count()).select_from(punches)) == 1


# -- the real multi-year export ------------------------------------------------------------------

MULTI_YEAR = "zkteco-attlog-multi-year.dat"
# PIN 5 left at the end of 2021 and PIN 17 joined in April 2021 (our roster, not the file's).
LEFT, JOINED = ("5", "2021-12-31"), ("17", "2021-04-01")


def _nip_of(pin: str) -> str:
    return f"1990010120200{int(pin):05d}"


def _roster_of_every_pin(real_data, tmp_path):
    pins = sorted(
        {line.split("\t")[0].strip() for line in (real_data / MULTI_YEAR).open()}, key=int
    )
    lines = ["pin,nip,name,opd_code,opd_name,start_date,end_date"]
    for pin in pins:
        start = JOINED[1] if pin == JOINED[0] else "2010-01-01"
        end = LEFT[1] if pin == LEFT[0] else ""
        lines.append(f"{pin},{_nip_of(pin)},Pegawai {pin},KANTOR,Kantor,{start},{end}")
    return _csv(tmp_path, "roster.csv", "\n".join(lines) + "\n")


def test_the_multi_year_export_loads_with_the_counts_of_the_file(engine, real_data, tmp_path):
    pipeline.import_file(
        engine, "units", _csv(tmp_path, "units.csv", "opd_code,opd_name\nKANTOR,Kantor\n")
    )
    pipeline.import_file(engine, "roster", _roster_of_every_pin(real_data, tmp_path))
    summary = pipeline.import_file(engine, "attlog", real_data / MULTI_YEAR)

    # wc -l: 11,902 lines, all six tab-separated fields, dated 2020-02-24 to 2022-03-07.
    # No PIN has two lines at the same second (sort | uniq -d is empty), so no duplicate.
    # PIN 5 has 84 lines after 2021-12-31, PIN 17 has 60 before 2021-04-01.
    assert (summary.rows_read, summary.rows_duplicate) == (11_902, 0)
    assert summary.rows_rejected == 84 + 60
    assert summary.rows_loaded == 11_902 - 144
    with connect(engine) as conn:
        reasons = dict(
            conn.execute(
                select(rejected_records.c.reason, func.count())
                .where(rejected_records.c.batch_id == summary.batch_id)
                .group_by(rejected_records.c.reason)
            ).all()
        )
        stored = conn.execute(select(punches.c.nip, punches.c.punched_at)).all()
        covers = conn.execute(
            select(import_batches.c.covers_from, import_batches.c.covers_to).where(
                import_batches.c.batch_id == summary.batch_id
            )
        ).one()
    assert reasons == {"after_end_date": 84, "before_start_date": 60}
    assert len({nip for nip, _ in stored}) == 90
    assert [str(d)[:10] for d in covers] == ["2020-02-24", "2022-03-07"]
    # 86 kept lines were punched between midnight and 01:00 WIB, which is 17:00 UTC.
    assert sum(1 for _, at in stored if at.hour == 17) == 86

    # Repeats: per PIN in time order, a punch less than 300 s after the last kept one is
    # dropped. awk over the loaded lines (PIN, mktime of the time; sort -k1n -k2n; count the
    # lines with $2 - last < 300, else last = $2) counts 632. One zone for all, so UTC times
    # have the same gaps as local ones.
    frame = pd.DataFrame(stored, columns=["nip", "local_time"])
    assert int((~drop_repeats(frame)["kept"]).sum()) == 632


def test_the_multi_year_export_loaded_again_adds_nothing(engine, real_data, tmp_path):
    pipeline.import_file(
        engine, "units", _csv(tmp_path, "units.csv", "opd_code,opd_name\nKANTOR,Kantor\n")
    )
    pipeline.import_file(engine, "roster", _roster_of_every_pin(real_data, tmp_path))
    first = pipeline.import_file(engine, "attlog", real_data / MULTI_YEAR)
    again = pipeline.import_file(engine, "attlog", real_data / MULTI_YEAR)
    assert again.already_loaded and again.batch_id == first.batch_id
    with connect(engine) as conn:
        assert conn.scalar(select(func.count()).select_from(punches)) == 11_758


def test_the_cli_imports_an_office_export(tmp_path, monkeypatch, capsys):
    from dispenser_core.cli import main

    monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    assert main(["import", "units", str(_csv(tmp_path, "units.csv", UNITS))]) == 0
    assert main(["import", "roster", str(_csv(tmp_path, "roster.csv", ROSTER))]) == 0
    export = _csv(
        tmp_path, "presensi.csv", f"NIP,Tanggal,Jam\n{ANI},03/11/2025,07:15\n{ANI},3/11/2025,x\n"
    )
    capsys.readouterr()
    assert main(["import", "punch-export", str(export)]) == 0
    out = capsys.readouterr().out
    assert "1 loaded" in out and "1 rejected" in out
    assert "line 3: invalid_date" in out
