"""Files whose shape is wrong in ways a spreadsheet or a hand edit produces: values without a
column, a column named twice, a value too long for the CSV reader, Excel's own numbers for dates
and times, an export with its header only. Every expected value is worked out from the rows
written here."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from dispenser_core import pipeline
from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.office_exports import read_office_export
from dispenser_core.sources.tables import (
    read_absences,
    read_calendar_overrides,
    read_roster,
    read_schedule_assignments,
    read_shifts,
    read_units,
)
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import import_batches

ANI = "198001012005011001"
BUDI = "199003032015032003"
# Python's csv module refuses a field longer than this many characters.
CSV_FIELD_LIMIT = 131_072


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


def _rejected(result) -> list[tuple[int, str, str, str]]:
    return [(r.line_number, r.reason, r.raw, r.detail) for r in result.rejected]


def _times(result) -> list[tuple[int, str, str | None, dt.datetime]]:
    return [(p.line_number, p.pin, p.nip, p.local_time) for p in result.rows]


HINT = "quote a value that holds the separator, or name its column in the header"

# Each kind of table: its header, a good row (line 2), and a row with one value more than the
# header names (line 3), which would otherwise be dropped without a word.
TABLES = {
    "units": (
        read_units,
        "opd_code,opd_name",
        "DINKES,Dinas Kesehatan",
        # A head NIP without its column: the unit would be loaded without a head.
        "DISHUB,Dinas Perhubungan,197501012000031001",
        "3 fields, but the header names 2 (opd_code, opd_name)",
    ),
    "roster": (
        read_roster,
        "nip,name,opd_code,start_date",
        f"{ANI},Ani,DINKES,2020-01-01",
        # An end date without its column: Budi would stay in service for ever.
        f"{BUDI},Budi,KEC-UTARA,2015-03-01,2025-12-31",
        "5 fields, but the header names 4 (nip, name, opd_code, start_date)",
    ),
    "absences": (
        read_absences,
        "nip,kind,start_date,end_date",
        f"{ANI},C,2025-11-03,2025-11-04",
        f"{ANI},S,2025-11-05,2025-11-05,SKD/1/2025",
        "5 fields, but the header names 4 (nip, kind, start_date, end_date)",
    ),
    "shifts": (
        read_shifts,
        "nip,day,start,end",
        f"{ANI},2025-11-03,07:00,15:00",
        f"{ANI},2025-11-04,15:00,23:00,malam",
        "5 fields, but the header names 4 (nip, day, start, end)",
    ),
    "schedule_assignments": (
        read_schedule_assignments,
        "schedule,effective_from,opd_code",
        "office,2025-01-01,DINKES",
        "ramadan,2025-03-01,DINKES,2025-03-30",
        "4 fields, but the header names 3 (schedule, effective_from, opd_code)",
    ),
    "calendar": (
        read_calendar_overrides,
        "day,kind,name",
        "2022-12-26,collective_leave,Cuti Bersama",
        # The newcomer's row: it was loaded as a city-wide holiday.
        "2022-12-30,holiday,Z,NOPE",
        "4 fields, but the header names 3 (day, kind, name)",
    ),
}


class TestValuesWithoutAColumnInATable:
    @pytest.mark.parametrize("kind", list(TABLES))
    def test_a_row_with_more_fields_than_the_header_is_rejected(self, tmp_path, kind):
        read, header, good, extra, counts = TABLES[kind]
        path = _csv(tmp_path, f"{kind}.csv", f"{header}\n{good}\n{extra}\n")

        result = read(path)

        assert _rejected(result) == [(3, "extra_fields", extra, f"{counts}: {HINT}")]
        assert (result.row_lines, result.lines_read) == ([2], 2)

    def test_the_calendar_row_of_the_report_is_not_a_holiday(self, tmp_path):
        path = _csv(
            tmp_path,
            "calendar.csv",
            "day,kind,name\n2022-12-26,collective_leave,Cuti Bersama\n2022-12-30,holiday,Z,NOPE\n",
        )

        result = read_calendar_overrides(path)

        assert result.rows == [
            {
                "day": dt.date(2022, 12, 26),
                "opd_code": "",
                "kind": "collective_leave",
                "name": "Cuti Bersama",
            }
        ]
        assert [(r.line_number, r.reason) for r in result.rejected] == [(3, "extra_fields")]

    def test_an_unquoted_comma_in_a_name_is_rejected_not_cut(self, tmp_path):
        content = "opd_code,opd_name\nDISPORA,Dinas Pemuda, Olahraga dan Pariwisata\n"

        result = read_units(_csv(tmp_path, "units.csv", content))

        assert result.rows == []
        assert [(r.reason, r.detail) for r in result.rejected] == [
            ("extra_fields", f"3 fields, but the header names 2 (opd_code, opd_name): {HINT}")
        ]

    def test_empty_fields_after_the_last_column_hold_nothing_and_are_read(self, tmp_path):
        # A trailing separator (or Excel's empty cells saved as CSV) adds fields with no value.
        content = "day,kind,name,,\n2022-12-31,holiday,Malam Tahun Baru,,\n2023-01-02,working,,\n"

        result = read_calendar_overrides(_csv(tmp_path, "calendar.csv", content))

        assert result.rejected == []
        assert [(r["day"], r["kind"], r["name"]) for r in result.rows] == [
            (dt.date(2022, 12, 31), "holiday", "Malam Tahun Baru"),
            (dt.date(2023, 1, 2), "working", "working"),
        ]

    def test_a_value_under_a_column_without_a_name_is_rejected(self, tmp_path):
        # Excel saves its used width: the header ends in empty names, and a note typed in the
        # fourth column would otherwise be dropped.
        content = "day,kind,name,\n2022-12-30,holiday,Z,NOPE\n"

        result = read_calendar_overrides(_csv(tmp_path, "calendar.csv", content))

        assert _rejected(result) == [
            (
                2,
                "extra_fields",
                "2022-12-30,holiday,Z,NOPE",
                f"4 fields, but the header names 3 (day, kind, name): {HINT}",
            )
        ]


class TestAColumnNamedTwiceInATable:
    @pytest.mark.parametrize(
        ("read", "header", "row", "named"),
        [
            (read_units, "opd_code,opd_name,opd_code", "DINKES,Dinas Kesehatan,DISHUB", "opd_code"),
            (
                read_roster,
                "nip,name,opd_code,start_date,end_date,end_date",
                f"{ANI},Ani,DINKES,2020-01-01,2025-12-31,",
                "end_date",
            ),
            (
                read_calendar_overrides,
                "day,kind,kind,name",
                "2022-12-30,working,holiday,Z",
                "kind",
            ),
        ],
        ids=["units", "roster", "calendar"],
    )
    def test_the_file_is_refused_naming_the_column(self, tmp_path, read, header, row, named):
        path = _csv(tmp_path, "table.csv", f"{header}\n{row}\n")

        with pytest.raises(InputFileError) as refused:
            read(path)

        message = str(refused.value)
        assert f"names the column(s) {named} more than once" in message
        assert "Nothing was loaded" in message
        assert "keep one column of each name" in message

    def test_every_repeated_column_is_named(self, tmp_path):
        path = _csv(tmp_path, "roster.csv", "nip,name,nip,opd_code,start_date,name\n")

        with pytest.raises(InputFileError, match=r"names the column\(s\) nip, name more than once"):
            read_roster(path)


class TestAValueTooLongForTheCsvReader:
    def test_the_line_is_rejected_and_the_others_read(self, tmp_path):
        huge = "DISHUB,Dinas " + "x" * (CSV_FIELD_LIMIT + 1)
        content = f"opd_code,opd_name\nDINKES,Dinas Kesehatan\n{huge}\nBAPPEDA,Bappeda\n"

        result = read_units(_csv(tmp_path, "units.csv", content))

        assert [u["opd_code"] for u in result.rows] == ["DINKES", "BAPPEDA"]
        assert result.row_lines == [2, 4]
        (rejected,) = result.rejected
        assert (rejected.line_number, rejected.reason) == (3, "unreadable_line")
        # Only the start of the line is kept as evidence.
        assert rejected.raw == huge[:200]
        assert "field larger than field limit (131072)" in rejected.detail
        assert 'a quote (") that is never closed' in rejected.detail
        assert result.lines_read == 3

    def test_a_quote_never_closed_refuses_the_file(self, tmp_path):
        # The opened quote swallows the lines after it until the value passes the limit; what
        # the reader finds after that is not rows of the file.
        content = (
            "opd_code,opd_name\n"
            'DINKES,"Dinas Kesehatan\n' + ("y" * 1000 + "\n") * 140 + "BAPPEDA,Bappeda\n"
        )

        with pytest.raises(InputFileError) as refused:
            read_units(_csv(tmp_path, "units.csv", content))

        # "Dinas Kesehatan" is 15 characters and each line adds 1 000 (the reader drops the line
        # ends): 15 + 131 * 1000 is under 131 072, so the 132nd line of y, line 2 + 132, is
        # where the value passes it.
        message = str(refused.value)
        assert "the value that starts on line 2 runs on to line 134" in message
        assert 'a quote (") opened on line 2 is never closed' in message
        assert "Nothing was loaded" in message

    def test_a_header_too_long_refuses_the_file(self, tmp_path):
        content = "opd_code,opd_name," + "h" * (CSV_FIELD_LIMIT + 1) + "\nDINKES,Dinkes\n"

        with pytest.raises(InputFileError, match=r"line 1 \(the header\) cannot be read as CSV"):
            read_units(_csv(tmp_path, "units.csv", content))

    def test_an_office_export_rejects_the_line_and_reads_the_others(self, tmp_path):
        huge = f"{ANI},03/11/2025,07:20," + "z" * (CSV_FIELD_LIMIT + 1)
        content = f"NIP,Tanggal,Jam\n{ANI},03/11/2025,07:15\n{huge}\n{ANI},03/11/2025,16:10\n"

        result = read_office_export(_csv(tmp_path, "presensi.csv", content))

        assert _times(result) == [
            (2, "", ANI, dt.datetime(2025, 11, 3, 7, 15)),
            (4, "", ANI, dt.datetime(2025, 11, 3, 16, 10)),
        ]
        (rejected,) = result.rejected
        assert (rejected.line_number, rejected.reason, rejected.raw) == (
            3,
            "unreadable_line",
            huge[:200],
        )
        assert "field larger than field limit" in rejected.detail
        assert result.lines_read == 3

    def test_an_office_export_whose_header_is_too_long_is_refused(self, tmp_path):
        content = "NIP,Tanggal,Jam," + "h" * (CSV_FIELD_LIMIT + 1) + f"\n{ANI},03/11/2025,07:15\n"

        with pytest.raises(InputFileError, match=r"line 1 \(the header\) cannot be read as CSV"):
            read_office_export(_csv(tmp_path, "presensi.csv", content))


class TestValuesWithoutAColumnInAnOfficeExport:
    def test_a_csv_row_with_more_fields_than_the_header_is_rejected(self, tmp_path):
        content = (
            "NIP;Tanggal;Jam\n"
            f"{ANI};03/11/2025;07:15\n"
            f"{ANI};03/11/2025;16:10;NOPE\n"
            f"{ANI};04/11/2025;07:05;\n"  # a trailing separator: nothing in the extra field
        )

        result = read_office_export(_csv(tmp_path, "presensi.csv", content))

        assert _times(result) == [
            (2, "", ANI, dt.datetime(2025, 11, 3, 7, 15)),
            (4, "", ANI, dt.datetime(2025, 11, 4, 7, 5)),
        ]
        assert _rejected(result) == [
            (
                3,
                "extra_fields",
                f"{ANI},03/11/2025,16:10,NOPE",
                f"4 fields, but the header names 3 (NIP, Tanggal, Jam): {HINT}",
            )
        ]
        assert result.lines_read == 3

    def test_an_unquoted_comma_in_a_name_is_rejected(self, tmp_path):
        content = (
            f"NIP,Nama,Tanggal,Jam\n{ANI},Ani, S.Kep,03/11/2025,07:15\n{ANI},Ani,03/11/2025,16:10\n"
        )

        result = read_office_export(_csv(tmp_path, "presensi.csv", content))

        assert [(r.line_number, r.reason) for r in result.rejected] == [(2, "extra_fields")]
        assert result.rejected[0].detail.startswith("5 fields, but the header names 4 ")
        assert _times(result) == [(3, "", ANI, dt.datetime(2025, 11, 3, 16, 10))]

    def test_a_workbook_cell_right_of_the_header_is_rejected(self, tmp_path):
        path = _xlsx(
            tmp_path,
            "presensi.xlsx",
            [
                ["NIP", "Tanggal", "Jam Masuk", "Jam Pulang"],
                [ANI, "03/11/2025", "07:15", "16:10", None, "izin pulang cepat"],
                [BUDI, "03/11/2025", "07:41", "16:00"],
            ],
        )

        result = read_office_export(path)

        # The sheet is six columns wide, so every row is read with six cells.
        assert _rejected(result) == [
            (
                2,
                "extra_fields",
                f"{ANI},03/11/2025,07:15,16:10,,izin pulang cepat",
                f"6 fields, but the header names 4 (NIP, Tanggal, Jam Masuk, Jam Pulang): {HINT}",
            )
        ]
        assert _times(result) == [
            (3, "", BUDI, dt.datetime(2025, 11, 3, 7, 41)),
            (3, "", BUDI, dt.datetime(2025, 11, 3, 16, 0)),
        ]


class TestAColumnNamedTwiceInAnOfficeExport:
    def test_the_same_name_twice_is_refused(self, tmp_path):
        path = _csv(
            tmp_path, "presensi.csv", f"NIP,Tanggal,Jam,NIP\n{ANI},03/11/2025,07:15,{BUDI}\n"
        )

        with pytest.raises(InputFileError) as refused:
            read_office_export(path)

        message = str(refused.value)
        assert "more than one column for 'NIP' (columns 1 and 4)" in message
        assert "Nothing was loaded" in message
        assert "keep one of them" in message

    def test_two_names_for_the_same_value_are_refused(self, tmp_path):
        # "Tgl" and "Tanggal" both mean the date; which one holds it is not ours to guess.
        path = _xlsx(
            tmp_path,
            "presensi.xlsx",
            [["NIP", "Tanggal", "TGL", "Jam"], [ANI, "03/11/2025", "04/11/2025", "07:15"]],
        )

        with pytest.raises(InputFileError, match=r"'Tanggal' and 'TGL' \(columns 2 and 3\)"):
            read_office_export(path)

    def test_the_same_name_in_another_case_is_refused(self, tmp_path):
        path = _csv(
            tmp_path,
            "rekap-presensi.csv",
            f"NIP,Tanggal,Jam Masuk,jam masuk\n{ANI},03/11/2025,07:15,07:45\n",
        )

        with pytest.raises(InputFileError, match=r"'Jam Masuk' and 'jam masuk' \(columns 3 and 4"):
            read_office_export(path)


class TestExcelDatesAndTimes:
    def test_date_times_and_serial_numbers_in_date_and_time_columns(self, tmp_path):
        path = _xlsx(
            tmp_path,
            "presensi.xlsx",
            [
                ["NIP", "Tanggal", "Jam"],
                # A time typed into a date-time cell: the date is the day Excel counts from.
                [ANI, dt.date(2025, 11, 3), dt.datetime(1899, 12, 31, 7, 45)],
                # A full date-time in the time column: its time.
                [ANI, dt.date(2025, 11, 3), dt.datetime(2025, 11, 3, 16, 5)],
                # A date-time in the date column: its date.
                [ANI, dt.datetime(2025, 11, 4, 7, 50), "07:10"],
                # Serial numbers: 45964 days after 1899-12-30 is 2025-11-03 (2025-01-01 is
                # 45658, and 3 November is its 307th day); 0.3125 of a day is 07:30.
                [BUDI, 45964, 0.3125],
                # 0.6875 of a day is 16:30; a date-time serial in the time column gives its
                # fraction: .5 is 12:00.
                [BUDI, "03/11/2025", 0.6875],
                [BUDI, "04/11/2025", 45965.5],
            ],
        )

        result = read_office_export(path)

        assert result.rejected == []
        assert _times(result) == [
            (2, "", ANI, dt.datetime(2025, 11, 3, 7, 45)),
            (3, "", ANI, dt.datetime(2025, 11, 3, 16, 5)),
            (4, "", ANI, dt.datetime(2025, 11, 4, 7, 10)),
            (5, "", BUDI, dt.datetime(2025, 11, 3, 7, 30)),
            (6, "", BUDI, dt.datetime(2025, 11, 3, 16, 30)),
            (7, "", BUDI, dt.datetime(2025, 11, 4, 12, 0)),
        ]

    def test_one_row_per_day_with_date_times_and_fractions(self, tmp_path):
        path = _xlsx(
            tmp_path,
            "rekap-presensi.xlsx",
            [
                ["PIN", "Tanggal", "Jam Masuk", "Jam Pulang"],
                [7, 45964, dt.datetime(2025, 11, 3, 7, 45), 0.6875],
            ],
        )

        assert _times(read_office_export(path)) == [
            (2, "7", None, dt.datetime(2025, 11, 3, 7, 45)),
            (2, "7", None, dt.datetime(2025, 11, 3, 16, 30)),
        ]

    def test_one_date_and_time_column_holding_a_serial_number(self, tmp_path):
        # 45964.3125 is 2025-11-03 07:30; a whole number is a date without its time.
        path = _xlsx(
            tmp_path,
            "presensi.xlsx",
            [["NIP", "Waktu Presensi"], [ANI, 45964.3125], [ANI, 45964]],
        )

        result = read_office_export(path)

        assert _times(result) == [(2, "", ANI, dt.datetime(2025, 11, 3, 7, 30))]
        assert [(r.line_number, r.reason) for r in result.rejected] == [(3, "invalid_date")]

    @pytest.mark.parametrize(
        ("day", "clock"),
        [
            (dt.date(2025, 11, 3), "pagi"),
            (dt.date(2025, 11, 3), 7),  # a whole number of days is not a time of day
            (dt.date(2025, 11, 3), dt.date(2025, 11, 3)),  # a date in the time column
            (dt.date(2025, 11, 3), -0.25),
            ("kemarin", 0.3125),
            (dt.time(7, 30), "07:30"),  # a time in the date column
        ],
        ids=["text-time", "whole-number", "date-as-time", "negative", "text-date", "time-as-date"],
    )
    def test_values_that_are_neither_are_still_refused(self, tmp_path, day, clock):
        path = _xlsx(tmp_path, "presensi.xlsx", [["NIP", "Tanggal", "Jam"], [ANI, day, clock]])

        result = read_office_export(path)

        assert result.rows == []
        assert [(r.line_number, r.reason) for r in result.rejected] == [(2, "invalid_date")]

    def test_numbers_written_as_text_in_a_csv_are_not_serials(self, tmp_path):
        content = f"NIP,Tanggal,Jam\n{ANI},45964,07:30\n{ANI},03/11/2025,0.3125\n"

        result = read_office_export(_csv(tmp_path, "presensi.csv", content))

        assert result.rows == []
        assert [(r.line_number, r.reason) for r in result.rejected] == [
            (2, "invalid_date"),
            (3, "invalid_date"),
        ]


class TestAnExportWithItsHeaderOnly:
    @pytest.mark.parametrize(
        "content",
        ["NIP,Tanggal,Jam\n", "NIP,Tanggal,Jam\n\n\n", "NIP;Tanggal;Jam Masuk;Jam Pulang"],
        ids=["header", "header-and-blank-lines", "per-day-header-without-newline"],
    )
    def test_a_csv_is_refused(self, tmp_path, content):
        path = _csv(tmp_path, "presensi.csv", content)

        with pytest.raises(InputFileError, match=r"presensi\.csv has a header but no rows"):
            read_office_export(path)

    def test_a_workbook_is_refused(self, tmp_path):
        path = _xlsx(tmp_path, "presensi.xlsx", [["NIP", "Tanggal", "Jam"], [None, None, None]])

        with pytest.raises(InputFileError, match=r"presensi\.xlsx has a header but no rows"):
            read_office_export(path)

    def test_loading_it_creates_no_batch(self, engine, tmp_path):
        path = _csv(tmp_path, "presensi.csv", "NIP,Tanggal,Jam\n")

        with pytest.raises(InputFileError, match="Nothing was loaded"):
            pipeline.import_file(engine, "punch_export", path)

        with connect(engine) as conn:
            assert conn.scalar(select(func.count()).select_from(import_batches)) == 0


def test_an_office_export_with_carriage_returns_alone_reads_every_line(tmp_path):
    # Old Mac line ends: the CSV reader used to stop at the first with "new-line character
    # seen in unquoted field".
    path = tmp_path / "presensi.csv"
    path.write_bytes(f"NIP,Tanggal,Jam\r{ANI},03/11/2025,07:15\r{ANI},03/11/2025,16:10\r".encode())

    assert _times(read_office_export(path)) == [
        (2, "", ANI, dt.datetime(2025, 11, 3, 7, 15)),
        (3, "", ANI, dt.datetime(2025, 11, 3, 16, 10)),
    ]


def test_an_office_export_with_a_quote_never_closed_is_refused(tmp_path):
    content = f'NIP,Nama,Tanggal,Jam\n{ANI},"Ani,03/11/2025,07:15\n' + ("w" * 999 + "\n") * 140

    with pytest.raises(InputFileError, match=r"a quote \(\"\) opened on line 2 is never closed"):
        read_office_export(_csv(tmp_path, "presensi.csv", content))
