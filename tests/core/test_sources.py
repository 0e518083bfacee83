"""Readers of the attlog and CSV exports; every expected row is worked out by hand from the case
files in tests/cases/sources/ (their README lists what each line holds) or the text given."""

from __future__ import annotations

import codecs
import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import pytest

from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.attlog import normalise_pin, read_attlog
from dispenser_core.sources.records import RawPunch
from dispenser_core.sources.tables import read_absences, read_roster, read_units
from tests.conftest import CASES

SOURCES = CASES / "sources"
# A fixed "now" after every real punch of the case files, so no test depends on the clock.
DECEMBER_2025 = dt.datetime(2025, 12, 1, 0, 0, 0)


def _reasons(result) -> list[tuple[int, str]]:
    return [(r.line_number, r.reason) for r in result.rejected]


def _write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.fixture
def server_clock_in_utc():
    """The process's local time is UTC, as on most servers and containers."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


class TestNormalisePin:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("7", "7"),
            ("007", "7"),
            ("      007", "7"),
            ("  12  ", "12"),
            ("0100", "100"),
            ("000", "0"),
        ],
        ids=[
            "plain",
            "zero-prefixed",
            "space-padded",
            "padded-both-sides",
            "inner-zero-kept",
            "zero",
        ],
    )
    def test_padding_and_leading_zeros_are_dropped(self, raw, expected):
        assert normalise_pin(raw) == expected

    def test_zero_prefixed_and_plain_pins_are_the_same_person(self):
        assert normalise_pin("007") == normalise_pin("7") == normalise_pin("       7")


class TestReadAttlog:
    def test_mixed_file_keeps_good_punches_and_rejects_each_bad_line_with_its_reason(self):
        result = read_attlog(SOURCES / "attlog_mixed.dat", now_local=DECEMBER_2025)

        assert result.rows == [
            RawPunch(1, "1", dt.datetime(2025, 11, 3, 7, 15), 1, 0),
            RawPunch(2, "7", dt.datetime(2025, 11, 3, 7, 20), 15, 1),
            RawPunch(10, "8", dt.datetime(2025, 11, 3, 16, 5), None, None),
        ]
        assert _reasons(result) == [
            (3, "invalid_date"),
            (4, "implausible_date"),
            (5, "future_date"),
            (6, "invalid_date"),
            (7, "malformed_line"),
            (9, "invalid_pin"),
        ]
        # Nine lines with content; the blank line 8 is not counted.
        assert result.lines_read == 9

    def test_a_rejected_line_keeps_its_raw_text_and_says_what_was_wrong(self):
        result = read_attlog(SOURCES / "attlog_mixed.dat", now_local=DECEMBER_2025)
        by_line = {r.line_number: r for r in result.rejected}

        assert by_line[3].raw == "        2\t2025-11-31 07:00:00\t1\t0\t0\t0"
        assert by_line[3].detail == "time '2025-11-31 07:00:00'"
        assert by_line[6].detail == "time '2025-11-03 07:'"
        assert by_line[7].raw == "        6"
        assert by_line[9].detail == "PIN 'ABC'"

    @pytest.mark.parametrize("ending", ["\r\n", "\n"], ids=["crlf", "lf"])
    def test_crlf_and_lf_endings_read_the_same(self, tmp_path, ending):
        lines = [
            "        1\t2025-11-03 07:15:00\t1\t0\t0\t0",
            "       12\t2025-11-03 16:10:00\t1\t1\t0\t0",
            "        9\tnot a time\t1\t0\t0\t0",
        ]
        path = _write(tmp_path, "attlog.dat", (ending.join(lines) + ending).encode())

        result = read_attlog(path, now_local=DECEMBER_2025)

        assert [(p.line_number, p.pin, p.local_time) for p in result.rows] == [
            (1, "1", dt.datetime(2025, 11, 3, 7, 15)),
            (2, "12", dt.datetime(2025, 11, 3, 16, 10)),
        ]
        assert [(r.line_number, r.raw) for r in result.rejected] == [
            (3, "        9\tnot a time\t1\t0\t0\t0")
        ]

    def test_eleven_field_line_of_newer_firmware_reads_its_first_four_fields(self, tmp_path):
        line = "     0042\t2025-11-04 06:59:59\t4\t5\t0\t0\t0\t0\t0\t0\t0\n"
        assert len(line.rstrip("\n").split("\t")) == 11
        path = _write(tmp_path, "attlog.dat", line.encode())

        assert read_attlog(path, now_local=DECEMBER_2025).rows == [
            RawPunch(1, "42", dt.datetime(2025, 11, 4, 6, 59, 59), 4, 5)
        ]

    @pytest.mark.parametrize(
        ("stamp", "reason"),
        [
            ("2004-12-31 23:59:59", "implausible_date"),
            ("2005-01-01 00:00:00", None),
            ("2025-12-01 00:00:00", None),
            ("2025-12-01 00:00:01", "future_date"),
            ("2025-02-29 07:30:00", "invalid_date"),
            ("2025-11-03T07:30:00", "invalid_date"),
            ("", "invalid_date"),
        ],
        ids=[
            "last-second-before-2005",
            "first-second-of-2005",
            "exactly-now",
            "one-second-in-the-future",
            "feb-29-of-a-common-year",
            "iso-t-separator",
            "empty-time",
        ],
    )
    def test_dates_around_the_plausible_window(self, tmp_path, stamp, reason):
        path = _write(tmp_path, "attlog.dat", f"1\t{stamp}\t1\t0\n".encode())

        result = read_attlog(path, now_local=DECEMBER_2025)

        if reason is None:
            assert [p.local_time.isoformat(sep=" ") for p in result.rows] == [stamp]
            assert result.rejected == []
        else:
            assert result.rows == []
            assert _reasons(result) == [(1, reason)]

    def test_terminal_reset_to_2000_is_rejected_as_implausible(self, tmp_path):
        path = _write(tmp_path, "attlog.dat", b"        3\t2000-01-01 00:00:07\t1\t0\t0\t0\n")

        result = read_attlog(path, now_local=DECEMBER_2025)

        assert _reasons(result) == [(1, "implausible_date")]
        assert result.rejected[0].detail == "time 2000-01-01 00:00:07"

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            ("        5\t2025-11-03 07:", "invalid_date"),
            ("        5\t2025-11", "invalid_date"),
            ("        5", "malformed_line"),
            ("        5 2025-11-03 07:15:00", "malformed_line"),
        ],
        ids=["cut-in-the-time", "cut-in-the-date", "pin-only", "spaces-instead-of-tabs"],
    )
    def test_truncated_line_is_rejected_and_the_next_line_still_read(self, tmp_path, line, reason):
        content = f"{line}\n        6\t2025-11-03 07:16:00\t1\t0\t0\t0\n"
        path = _write(tmp_path, "attlog.dat", content.encode())

        result = read_attlog(path, now_local=DECEMBER_2025)

        assert _reasons(result) == [(1, reason)]
        assert [(p.line_number, p.pin) for p in result.rows] == [(2, "6")]

    @pytest.mark.parametrize(
        "pin_field",
        ["", "        ", "A7", "7-1", "\u0663"],
        ids=["empty", "spaces-only", "letter", "dash", "arabic-indic-digit"],
    )
    def test_pin_that_is_not_ascii_digits_is_rejected(self, tmp_path, pin_field):
        path = _write(tmp_path, "attlog.dat", f"{pin_field}\t2025-11-03 07:15:00\t1\t0\n".encode())

        result = read_attlog(path, now_local=DECEMBER_2025)

        assert result.rows == []
        assert _reasons(result) == [(1, "invalid_pin")]

    @pytest.mark.parametrize(
        ("verify", "state", "expected"),
        [
            ("15", "1", (15, 1)),
            (" 4 ", "", (4, None)),
            ("x", "-1", (None, None)),
            ("\u00b2", "\u00b3", (None, None)),
        ],
        ids=["numbers", "padded-and-empty", "letter-and-negative", "superscript-digits"],
    )
    def test_verify_mode_and_state_that_are_not_numbers_become_none(
        self, tmp_path, verify, state, expected
    ):
        line = f"1\t2025-11-03 07:15:00\t{verify}\t{state}\t0\t0\n"
        path = _write(tmp_path, "attlog.dat", line.encode())

        (punch,) = read_attlog(path, now_local=DECEMBER_2025).rows

        assert (punch.verify_mode, punch.state_code) == expected

    @pytest.mark.parametrize(
        "content",
        [b"", b"\n\r\n   \n", b"\t \r\n"],
        ids=["zero-bytes", "blank-lines", "whitespace"],
    )
    def test_empty_file_is_refused_with_a_next_step(self, tmp_path, content):
        path = _write(tmp_path, "attlog.dat", content)

        with pytest.raises(InputFileError, match=r"attlog\.dat is empty: export it again"):
            read_attlog(path)

    def test_binary_file_is_refused(self, tmp_path):
        path = _write(tmp_path, "attlog.dat", b"ZKDB\x00\x00\x01\x02" + bytes(range(256)) * 8)

        with pytest.raises(InputFileError, match="is not a text attlog export"):
            read_attlog(path)

    def test_missing_file_is_refused(self, tmp_path):
        with pytest.raises(InputFileError, match=r"Cannot read the attlog file .*absent\.dat"):
            read_attlog(tmp_path / "absent.dat")

    def test_huge_line_is_rejected_without_stopping_the_file(self, tmp_path):
        # 26 bytes of PIN, time, verify mode and state, then padding in the work-code field.
        head = "1\t2025-11-03 07:15:00\t1\t0\t"
        at_limit = head + "0" * (1024 - len(head))
        over_limit = head + "0" * (1025 - len(head))
        huge = "2\t2025-11-03 07:16:00\t" + "x" * 200_000
        content = "\n".join([at_limit, over_limit, huge, "3\t2025-11-03 07:17:00"]) + "\n"
        path = _write(tmp_path, "attlog.dat", content.encode())

        result = read_attlog(path, now_local=DECEMBER_2025)

        assert [(p.line_number, p.pin) for p in result.rows] == [(1, "1"), (4, "3")]
        assert [(r.line_number, r.reason, r.detail) for r in result.rejected] == [
            (2, "line_too_long", "1025 bytes"),
            (3, "line_too_long", f"{22 + 200_000} bytes"),
        ]
        # Only the start of a huge line is kept as evidence.
        assert len(result.rejected[1].raw) == 200
        assert result.lines_read == 4

    def test_default_now_accepts_a_punch_minutes_old_in_jakarta_on_a_utc_server(
        self, tmp_path, server_clock_in_utc
    ):
        # 08:00 WIB is 01:00 on a server clock in UTC: a punch just made in Jakarta is not
        # "in the future" because the server keeps another time zone.
        jakarta_now = dt.datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
        punched = (jakarta_now - dt.timedelta(minutes=10)).replace(microsecond=0)
        path = _write(tmp_path, "attlog.dat", f"1\t{punched:%Y-%m-%d %H:%M:%S}\t1\t0\n".encode())

        result = read_attlog(path)

        assert result.rejected == []
        assert [p.local_time for p in result.rows] == [punched]

    def test_default_now_rejects_a_time_later_than_anywhere_on_earth(self, tmp_path):
        # UTC+14 is the latest local time there is; a day after it is wrong in every zone.
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1, hours=14)
        path = _write(tmp_path, "attlog.dat", f"1\t{later:%Y-%m-%d %H:%M:%S}\t1\t0\n".encode())

        assert _reasons(read_attlog(path)) == [(1, "future_date")]


class TestReadUnits:
    def test_units_file_gives_good_units_and_rejects_bad_lines(self):
        result = read_units(SOURCES / "units.csv")

        assert result.rows == [
            {
                "opd_code": "DINKES",
                "name": "Dinas Kesehatan",
                "head_nip": "197501012000031001",
                "timezone": "Asia/Jakarta",
                "schedule_code": None,
            },
            {
                "opd_code": "KEC-UTARA",
                "name": "Kecamatan Utara",
                "head_nip": None,
                "timezone": "Asia/Makassar",
                "schedule_code": None,
            },
            {
                "opd_code": "BAPPEDA",
                "name": "BAPPEDA",
                "head_nip": None,
                "timezone": "Asia/Jakarta",
                "schedule_code": None,
            },
        ]
        assert result.row_lines == [2, 3, 6]
        assert [(r.line_number, r.reason, r.raw, r.detail) for r in result.rejected] == [
            (4, "missing_value", ",Unit Tanpa Kode,,", "opd_code is empty"),
            (
                5,
                "invalid_nip",
                "DISHUB,Dinas Perhubungan,12345,",
                "head_nip '12345' is not 18 digits",
            ),
        ]
        assert result.lines_read == 5

    def test_only_the_required_columns_are_needed(self, tmp_path):
        path = _write(tmp_path, "units.csv", b"opd_code,opd_name\nDINSOS,Dinas Sosial\n")

        assert read_units(path).rows == [
            {
                "opd_code": "DINSOS",
                "name": "Dinas Sosial",
                "head_nip": None,
                "timezone": "Asia/Jakarta",
                "schedule_code": None,
            }
        ]


class TestReadRoster:
    def test_good_employees_are_read_with_defaults_for_empty_optional_columns(self):
        result = read_roster(SOURCES / "roster.csv")

        assert result.rows == [
            {
                "nip": "198001012005011001",
                "pin": "7",
                "name": "Pegawai Satu",
                "opd_code": "DINKES",
                "opd_name": "Dinas Kesehatan",
                "grade": "III/d",
                "position": "Perawat",
                "supervisor_nip": "197501012000031001",
                "employment_type": "PNS",
                "schedule_code": "office",
                "start_date": dt.date(2005, 1, 1),
                "end_date": None,
            },
            {
                "nip": "199505052025111005",
                "pin": None,
                "name": "Pegawai Dua",
                "opd_code": "DINKES",
                "opd_name": "DINKES",
                "grade": None,
                "position": None,
                "supervisor_nip": None,
                "employment_type": "PPPK",
                "schedule_code": None,
                "start_date": dt.date(2025, 11, 17),
                "end_date": dt.date(2025, 12, 31),
            },
        ]
        assert result.row_lines == [2, 3]
        assert result.lines_read == 10

    @pytest.mark.parametrize(
        ("line", "reason", "detail"),
        [
            (4, "invalid_nip", "nip '19850202201001200' is not 18 digits"),
            (5, "invalid_nip", "nip '1985020220100120021' is not 18 digits"),
            (6, "invalid_nip", "nip '19850202201001200X' is not 18 digits"),
            (7, "invalid_date", "start_date '2010-13-01' is not a date like 2025-11-03"),
            (8, "range_reversed", "end_date 2020-04-30 is before start_date 2020-05-01"),
            (9, "missing_value", "name and opd_code are required"),
            (10, "missing_value", "start_date is empty"),
            (11, "invalid_nip", "supervisor_nip '12345' is not 18 digits"),
        ],
        ids=[
            "nip-17-digits",
            "nip-19-digits",
            "nip-with-a-letter",
            "month-13",
            "ends-before-it-starts",
            "no-name",
            "no-start-date",
            "bad-supervisor-nip",
        ],
    )
    def test_bad_line_is_rejected_with_its_reason(self, line, reason, detail):
        rejected = {r.line_number: r for r in read_roster(SOURCES / "roster.csv").rejected}

        assert (rejected[line].reason, rejected[line].detail) == (reason, detail)

    def test_every_bad_line_is_rejected_and_none_is_lost(self):
        result = read_roster(SOURCES / "roster.csv")

        assert [r.line_number for r in result.rejected] == [4, 5, 6, 7, 8, 9, 10, 11]
        assert len(result.rows) + len(result.rejected) == result.lines_read

    def test_rejected_line_keeps_the_raw_csv_line(self):
        rejected = {r.line_number: r for r in read_roster(SOURCES / "roster.csv").rejected}

        assert rejected[4].raw.startswith("12,19850202201001200,NIP Tujuh Belas Digit,")

    def test_missing_columns_are_named(self, tmp_path):
        path = _write(tmp_path, "roster.csv", b"pin,nip,name\n1,198001012005011001,Pegawai\n")

        with pytest.raises(
            InputFileError,
            match=r"lacks the column\(s\) opd_code, start_date; "
            r"its header is \['pin', 'nip', 'name'\]",
        ):
            read_roster(path)

    def test_nip_keeps_its_leading_zeros_as_text(self, tmp_path):
        content = (
            b"nip,name,opd_code,start_date\n019801012005011001,Pegawai Nol,DINKES,2020-01-01\n"
        )

        (employee,) = read_roster(_write(tmp_path, "roster.csv", content)).rows

        assert employee["nip"] == "019801012005011001"

    def test_header_names_with_spaces_around_them_are_recognised(self, tmp_path):
        content = b" nip , name ,opd_code , start_date\n198001012005011001,Ani,DINKES,2020-01-01\n"

        (employee,) = read_roster(_write(tmp_path, "roster.csv", content)).rows

        assert (employee["nip"], employee["name"], employee["start_date"]) == (
            "198001012005011001",
            "Ani",
            dt.date(2020, 1, 1),
        )


class TestReadAbsences:
    def test_absence_codes_and_product_names_map_to_absence_kinds(self):
        result = read_absences(SOURCES / "absences.csv")

        nip = "198001012005011001"
        assert result.rows == [
            {
                "nip": nip,
                "kind": "leave",
                "start_date": dt.date(2025, 11, 10),
                "end_date": dt.date(2025, 11, 14),
                "reference": "800/CT/0001/2025",
            },
            {
                "nip": nip,
                "kind": "sick",
                "start_date": dt.date(2025, 11, 17),
                "end_date": dt.date(2025, 11, 17),
                "reference": None,
            },
            {
                "nip": nip,
                "kind": "official_duty",
                "start_date": dt.date(2025, 11, 18),
                "end_date": dt.date(2025, 11, 19),
                "reference": "SPT/12/2025",
            },
            {
                "nip": nip,
                "kind": "study",
                "start_date": dt.date(2025, 11, 20),
                "end_date": dt.date(2025, 11, 20),
                "reference": None,
            },
        ]
        assert result.row_lines == [2, 3, 4, 5]

    def test_bad_absences_are_rejected_with_their_reasons(self):
        result = read_absences(SOURCES / "absences.csv")

        assert [(r.line_number, r.reason, r.detail) for r in result.rejected] == [
            (6, "unknown_kind", "kind 'X' is not one of C, S, I, DL, TB"),
            (7, "range_reversed", "end_date 2025-11-18 is before start_date 2025-11-21"),
            (8, "invalid_nip", "nip '1980010120050110' is not 18 digits"),
            (9, "invalid_date", "start_date '03/11/2025' is not a date like 2025-11-03"),
        ]
        assert result.lines_read == 8

    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("C", "leave"),
            ("S", "sick"),
            ("I", "permit"),
            ("DL", "official_duty"),
            ("TB", "study"),
            ("dl", "official_duty"),
            ("tb", "study"),
            ("permit", "permit"),
        ],
        ids=["C", "S", "I", "DL", "TB", "dl-lower-case", "tb-lower-case", "product-name"],
    )
    def test_each_absence_code_has_its_kind(self, tmp_path, code, kind):
        content = f"nip,kind,start_date,end_date\n198001012005011001,{code},2025-11-03,2025-11-03\n"

        (absence,) = read_absences(_write(tmp_path, "absences.csv", content.encode())).rows

        assert absence["kind"] == kind

    @pytest.mark.parametrize(
        "code", ["", "TK", "cuti", "H"], ids=["empty", "tk", "cuti", "present"]
    )
    def test_kind_that_is_not_a_reason_is_unknown(self, tmp_path, code):
        content = f"nip,kind,start_date,end_date\n198001012005011001,{code},2025-11-03,2025-11-03\n"

        result = read_absences(_write(tmp_path, "absences.csv", content.encode()))

        assert _reasons(result) == [(2, "unknown_kind")]

    def test_one_day_absence_starting_and_ending_the_same_day_is_kept(self, tmp_path):
        content = b"nip,kind,start_date,end_date\n198001012005011001,S,2025-11-03,2025-11-03\n"

        result = read_absences(_write(tmp_path, "absences.csv", content))

        assert result.rejected == []
        assert len(result.rows) == 1

    def test_missing_end_date_column_is_named(self, tmp_path):
        path = _write(tmp_path, "absences.csv", b"nip,kind,start_date\n")

        with pytest.raises(InputFileError, match=r"lacks the column\(s\) end_date"):
            read_absences(path)


class TestCsvFiles:
    @pytest.mark.parametrize(
        ("reader", "content"),
        [
            (read_units, "opd_code,opd_name\nDINKES,Dinas Kesehatan\n"),
            (
                read_roster,
                "nip,name,opd_code,start_date\n198001012005011001,Ani,DINKES,2020-01-01\n",
            ),
            (
                read_absences,
                "nip,kind,start_date,end_date\n198001012005011001,C,2025-11-03,2025-11-04\n",
            ),
        ],
        ids=["units", "roster", "absences"],
    )
    def test_utf8_bom_before_the_header_is_ignored(self, tmp_path, reader, content):
        path = _write(tmp_path, "export.csv", codecs.BOM_UTF8 + content.encode())

        result = reader(path)

        assert (len(result.rows), result.rejected) == (1, [])

    def test_bom_does_not_stick_to_the_first_column_name(self, tmp_path):
        content = codecs.BOM_UTF8 + b"opd_code,opd_name\nDINKES,Dinas Kesehatan\n"

        (unit,) = read_units(_write(tmp_path, "units.csv", content)).rows

        assert unit["opd_code"] == "DINKES"

    def test_crlf_line_endings_read_like_lf(self, tmp_path):
        content = b"opd_code,opd_name\r\nDINKES,Dinas Kesehatan\r\nBAPPEDA,Bappeda\r\n"

        result = read_units(_write(tmp_path, "units.csv", content))

        assert [u["name"] for u in result.rows] == ["Dinas Kesehatan", "Bappeda"]

    def test_blank_line_in_the_middle_does_not_shift_line_numbers(self, tmp_path):
        content = (
            b"opd_code,opd_name,head_nip\n"
            b"DINKES,Dinas Kesehatan,\n"
            b"\n"
            b"DISHUB,Dinas Perhubungan,12345\n"
        )

        result = read_units(_write(tmp_path, "units.csv", content))

        assert result.row_lines == [2]
        assert [(r.line_number, r.raw) for r in result.rejected] == [
            (4, "DISHUB,Dinas Perhubungan,12345")
        ]

    def test_quoted_field_with_a_comma_is_one_value(self, tmp_path):
        content = b'opd_code,opd_name\nDISPORA,"Dinas Pemuda, Olahraga dan Pariwisata"\n'

        (unit,) = read_units(_write(tmp_path, "units.csv", content)).rows

        assert unit["name"] == "Dinas Pemuda, Olahraga dan Pariwisata"

    def test_empty_file_names_the_missing_columns(self, tmp_path):
        with pytest.raises(
            InputFileError, match=r"lacks the column\(s\) opd_code, opd_name; its header is empty"
        ):
            read_units(_write(tmp_path, "units.csv", b""))

    def test_binary_file_is_refused(self, tmp_path):
        path = _write(tmp_path, "roster.xlsx.csv", b"PK\x03\x04\x00\x00" + bytes(range(256)))

        with pytest.raises(InputFileError, match=r"holds binary data, not CSV text"):
            read_roster(path)

    def test_file_that_is_not_utf8_is_refused(self, tmp_path):
        content = "opd_code,opd_name\nDISPAR,Dinas Pariwisata Kota Tua Café\n".encode("latin-1")

        with pytest.raises(InputFileError, match=r"is not UTF-8 text: save it as CSV \(UTF-8\)"):
            read_units(_write(tmp_path, "units.csv", content))

    def test_missing_file_is_refused(self, tmp_path):
        with pytest.raises(InputFileError, match=r"Cannot read .*absent\.csv"):
            read_units(tmp_path / "absent.csv")

    def test_short_row_reads_the_missing_cells_as_empty(self, tmp_path):
        content = (
            b"nip,name,opd_code,start_date,end_date\n198001012005011001,Ani,DINKES,2020-01-01\n"
        )

        (employee,) = read_roster(_write(tmp_path, "roster.csv", content)).rows

        assert employee["end_date"] is None
