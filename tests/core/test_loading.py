"""Loading files into the database: once, idempotently, every rejected row kept with its reason.

Two units: DINKES on Jakarta time (WIB, UTC+7) and KEC-UTARA on Makassar time (WITA, UTC+8).
Ani has PIN 007 in DINKES, Budi PIN 8 in KEC-UTARA. Every stored time is worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from dispenser_core.exceptions import InputFileError
from dispenser_core.loading import LoadSummary, classify_inbox_file, load_file, load_inbox
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import (
    absences,
    employees,
    import_batches,
    punches,
    rejected_records,
    work_units,
)

ANI = "198001012005011001"
BUDI = "199003032015032003"
STRANGER = "199912312025011099"

UNITS = (
    "opd_code,opd_name,head_nip,timezone\n"
    "DINKES,Dinas Kesehatan,,\n"
    "KEC-UTARA,Kec. Utara,,Asia/Makassar\n"
)
ROSTER = (
    "pin,nip,name,opd_code,opd_name,start_date\n"
    f"007,{ANI},Ani,DINKES,Dinas Kesehatan,2005-01-01\n"
    f"8,{BUDI},Budi,KEC-UTARA,Kec. Utara,2015-03-01\n"
)


def _attlog(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _load(engine, kind: str, path) -> LoadSummary:
    with connect(engine) as conn:
        return load_file(conn, kind, path)


def _count(engine, table) -> int:
    with connect(engine) as conn:
        return conn.scalar(select(func.count()).select_from(table))


def _punches(engine) -> set[tuple[str, dt.datetime]]:
    with connect(engine) as conn:
        return set(conn.execute(select(punches.c.nip, punches.c.punched_at)).tuples())


def _rejections(engine, batch_id: int) -> set[tuple[int, str]]:
    with connect(engine) as conn:
        rows = conn.execute(
            select(rejected_records.c.line_number, rejected_records.c.reason).where(
                rejected_records.c.batch_id == batch_id
            )
        )
        return set(rows.tuples())


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


@pytest.fixture
def office(sqlite_engine, tmp_path):
    """The two units and their two employees, loaded."""
    _load(sqlite_engine, "units", _write(tmp_path, "units.csv", UNITS))
    _load(sqlite_engine, "roster", _write(tmp_path, "roster.csv", ROSTER))
    return sqlite_engine


class TestLoadingTwice:
    def test_same_attlog_twice_is_loaded_once(self, office, tmp_path):
        path = _write(tmp_path, "attlog.dat", _attlog("      007\t2025-11-03 07:15:00\t1\t0\t0\t0"))

        first = _load(office, "attlog", path)
        second = _load(office, "attlog", path)

        assert first.already_loaded is False
        assert second.already_loaded is True
        assert second.batch_id == first.batch_id
        assert (
            (second.rows_read, second.rows_loaded) == (first.rows_read, first.rows_loaded) == (1, 1)
        )
        assert _count(office, punches) == 1

    def test_second_load_adds_no_batch_and_no_rejection(self, office, tmp_path):
        path = _write(
            tmp_path,
            "attlog.dat",
            _attlog("      007\t2025-11-03 07:15:00\t1\t0", "       99\t2025-11-03 07:16:00\t1\t0"),
        )
        _load(office, "attlog", path)
        batches, rejections = _count(office, import_batches), _count(office, rejected_records)

        _load(office, "attlog", path)

        assert (_count(office, import_batches), _count(office, rejected_records)) == (
            batches,
            rejections,
        )
        assert rejections == 1

    def test_same_content_under_another_name_is_recognised(self, office, tmp_path):
        text = _attlog("      007\t2025-11-03 07:15:00\t1\t0")
        first = _load(office, "attlog", _write(tmp_path, "attlog.dat", text))

        again = _load(office, "attlog", _write(tmp_path, "attlog-copy.dat", text))

        assert again.already_loaded is True
        assert again.batch_id == first.batch_id
        assert again.file_name == "attlog-copy.dat"
        assert "already loaded as batch" in again.describe()

    @pytest.mark.parametrize(
        ("kind", "name", "text"),
        [
            ("units", "units.csv", UNITS),
            ("roster", "roster.csv", ROSTER),
            (
                "absences",
                "absences.csv",
                f"nip,kind,start_date,end_date\n{ANI},C,2025-11-10,2025-11-14\n",
            ),
        ],
        ids=["units", "roster", "absences"],
    )
    def test_csv_file_loaded_again_changes_nothing(self, office, tmp_path, kind, name, text):
        folder = tmp_path / "again"
        folder.mkdir()
        path = _write(folder, name, text)
        _load(office, kind, path)
        counts = [_count(office, t) for t in (work_units, employees, absences, import_batches)]

        summary = _load(office, kind, path)

        assert summary.already_loaded is True
        assert [
            _count(office, t) for t in (work_units, employees, absences, import_batches)
        ] == counts


class TestLoadingAgainAfterTheRosterChanged:
    """An export with an unknown PIN is rejected line by line; once the roster has the PIN,
    loading the same file again stores those punches, in the same batch, and nothing else."""

    ATTLOG = _attlog(
        "      007\t2025-11-03 07:15:00\t1\t0",
        "       42\t2025-11-03 07:20:00\t1\t0",
        "       42\t2025-11-03 16:05:00\t1\t1",
        "       99\t2025-11-03 07:30:00\t1\t0",
    )

    def test_the_rejected_punches_load_once_the_pin_is_known(self, office, tmp_path):
        path = _write(tmp_path, "attlog.dat", self.ATTLOG)
        first = _load(office, "attlog", path)
        assert (first.rows_loaded, first.rows_rejected) == (1, 3)

        roster = ROSTER + f"42,{STRANGER},Citra,DINKES,Dinas Kesehatan,2020-01-01\n"
        _load(office, "roster", _write(tmp_path, "roster2.csv", roster))
        again = _load(office, "attlog", path)

        assert (again.batch_id, again.tried_again) == (first.batch_id, 3)
        assert (again.rows_loaded, again.rows_rejected, again.rows_duplicate) == (3, 1, 0)
        # 07:20 and 16:05 WIB are 00:20 and 09:05 UTC.
        assert {(nip, at) for nip, at in _punches(office) if nip == STRANGER} == {
            (STRANGER, dt.datetime(2025, 11, 3, 0, 20)),
            (STRANGER, dt.datetime(2025, 11, 3, 9, 5)),
        }
        assert _rejections(office, first.batch_id) == {(4, "unknown_pin")}
        assert _count(office, import_batches) == 4  # units, roster, attlog, roster2: no other

    def test_a_third_load_changes_nothing_more(self, office, tmp_path):
        path = _write(tmp_path, "attlog.dat", self.ATTLOG)
        _load(office, "attlog", path)
        roster = ROSTER + f"42,{STRANGER},Citra,DINKES,Dinas Kesehatan,2020-01-01\n"
        _load(office, "roster", _write(tmp_path, "roster2.csv", roster))
        _load(office, "attlog", path)
        stored = _punches(office)

        third = _load(office, "attlog", path)

        assert _punches(office) == stored
        assert third.already_loaded and (third.rows_loaded, third.rows_rejected) == (3, 1)


class TestOverlappingExports:
    def test_two_overlapping_exports_give_one_punch_each(self, office, tmp_path):
        monday_in = "      007\t2025-11-03 07:15:00\t1\t0\t0\t0"
        monday_out = "      007\t2025-11-03 16:10:00\t1\t1\t0\t0"
        budi_in = "        8\t2025-11-03 07:25:00\t1\t0\t0\t0"
        tuesday_in = "        7\t2025-11-04 07:14:00\t1\t0\t0\t0"
        first_export = _write(tmp_path, "a.dat", _attlog(monday_in, monday_out, budi_in))
        second_export = _write(tmp_path, "b.dat", _attlog(monday_out, budi_in, tuesday_in))

        first = _load(office, "attlog", first_export)
        second = _load(office, "attlog", second_export)

        assert (first.rows_read, first.rows_loaded, first.rows_duplicate) == (3, 3, 0)
        assert (second.rows_read, second.rows_loaded, second.rows_duplicate) == (3, 1, 2)
        assert _punches(office) == {
            (ANI, dt.datetime(2025, 11, 3, 0, 15)),  # 07:15 WIB
            (ANI, dt.datetime(2025, 11, 3, 9, 10)),  # 16:10 WIB
            (BUDI, dt.datetime(2025, 11, 2, 23, 25)),  # 07:25 WITA, the evening before in UTC
            (ANI, dt.datetime(2025, 11, 4, 0, 14)),  # 07:14 WIB
        }

    def test_pin_007_in_the_roster_matches_pin_7_on_the_terminal(self, office, tmp_path):
        path = _write(
            tmp_path,
            "attlog.dat",
            _attlog("        7\t2025-11-03 07:15:00\t1\t0", "     0007\t2025-11-03 16:10:00\t1\t1"),
        )

        summary = _load(office, "attlog", path)

        assert (summary.rows_loaded, summary.rows_rejected) == (2, 0)
        assert {nip for nip, _ in _punches(office)} == {ANI}


class TestRejectedRows:
    LINES = (
        "      007\t2025-11-03 07:15:00\t1\t0\t0\t0",  # 1 loaded
        "      007\t2025-11-03 07:15:00\t1\t0\t0\t0",  # 2 the same punch again: duplicate
        "        8\t2025-11-03 07:25:00\t1\t0\t0\t0",  # 3 loaded
        "       99\t2025-11-03 07:30:00\t1\t0\t0\t0",  # 4 unknown_pin
        "        8\t2025-11-31 07:25:00\t1\t0\t0\t0",  # 5 invalid_date
        "        8\t2000-01-01 00:00:00\t1\t0\t0\t0",  # 6 implausible_date
    )

    def test_counts_add_up_to_the_rows_read(self, office, tmp_path):
        summary = _load(office, "attlog", _write(tmp_path, "attlog.dat", _attlog(*self.LINES)))

        assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (6, 2, 1)
        assert summary.rows_rejected == 3
        assert summary.rows_read == (
            summary.rows_loaded + summary.rows_duplicate + summary.rows_rejected
        )
        assert summary.describe() == (
            "attlog.dat: batch "
            f"{summary.batch_id}, 6 rows read, 2 loaded, 1 already present, 3 rejected"
        )

    def test_rejected_rows_are_kept_with_their_reason(self, office, tmp_path):
        summary = _load(office, "attlog", _write(tmp_path, "attlog.dat", _attlog(*self.LINES)))

        assert _rejections(office, summary.batch_id) == {
            (2, "duplicate"),  # line 1 again: kept aside, counted as already present
            (4, "unknown_pin"),
            (5, "invalid_date"),
            (6, "implausible_date"),
        }

    def test_unknown_pin_is_kept_as_the_terminal_wrote_it(self, office, tmp_path):
        summary = _load(office, "attlog", _write(tmp_path, "attlog.dat", _attlog(*self.LINES)))

        with connect(office) as conn:
            row = conn.execute(
                select(rejected_records).where(
                    rejected_records.c.batch_id == summary.batch_id,
                    rejected_records.c.reason == "unknown_pin",
                )
            ).one()
        assert (row.raw, row.detail) == (self.LINES[3], "PIN 99 is not in the roster")

    def test_batch_records_its_counts_and_the_local_days_it_covers(self, office, tmp_path):
        lines = (*self.LINES, "        8\t2025-11-07 16:40:00\t1\t1\t0\t0")
        summary = _load(office, "attlog", _write(tmp_path, "attlog.dat", _attlog(*lines)))

        with connect(office) as conn:
            batch = conn.execute(
                select(import_batches).where(import_batches.c.batch_id == summary.batch_id)
            ).one()
        assert (batch.source_kind, batch.file_name) == ("attlog", "attlog.dat")
        assert (batch.rows_read, batch.rows_loaded, batch.rows_duplicate, batch.rows_rejected) == (
            7,
            3,
            1,
            3,
        )
        assert (batch.covers_from, batch.covers_to) == (dt.date(2025, 11, 3), dt.date(2025, 11, 7))

    def test_absences_of_an_unknown_nip_are_rejected(self, office, tmp_path):
        text = (
            "nip,kind,start_date,end_date,reference\n"
            f"{ANI},C,2025-11-10,2025-11-14,800/CT/0001/2025\n"  # 2 loaded
            f"{STRANGER},S,2025-11-05,2025-11-05,\n"  # 3 unknown_employee
            f"{ANI},X,2025-11-17,2025-11-17,\n"  # 4 unknown_kind
            f"{ANI},C,2025-11-10,2025-11-14,800/CT/0001/2025\n"  # 5 the same leave again
        )

        summary = _load(office, "absences", _write(tmp_path, "absences.csv", text))

        assert (summary.rows_read, summary.rows_loaded, summary.rows_duplicate) == (4, 1, 1)
        assert summary.rows_rejected == 2
        assert _rejections(office, summary.batch_id) == {
            (3, "unknown_employee"),
            (4, "unknown_kind"),
        }
        with connect(office) as conn:
            stored = conn.execute(select(absences.c.nip, absences.c.kind)).tuples().all()
        assert stored == [(ANI, "leave")]

    def test_unknown_employee_rejection_names_the_nip_and_the_next_step(self, office, tmp_path):
        text = f"nip,kind,start_date,end_date\n{STRANGER},S,2025-11-05,2025-11-05\n"
        summary = _load(office, "absences", _write(tmp_path, "absences.csv", text))

        with connect(office) as conn:
            row = conn.execute(
                select(rejected_records).where(rejected_records.c.batch_id == summary.batch_id)
            ).one()
        assert row.raw == f"{STRANGER},S,2025-11-05,2025-11-05"
        assert "import the roster first" in row.detail

    def test_reader_rejections_of_a_csv_are_kept(self, sqlite_engine, tmp_path):
        text = (
            "opd_code,opd_name,head_nip\nDINKES,Dinas Kesehatan,\n,Tanpa Kode,\nDISHUB,Dishub,123\n"
        )

        summary = _load(sqlite_engine, "units", _write(tmp_path, "units.csv", text))

        assert (summary.rows_read, summary.rows_loaded, summary.rows_rejected) == (3, 1, 2)
        assert summary.rows_duplicate == 0
        assert _rejections(sqlite_engine, summary.batch_id) == {
            (3, "missing_value"),
            (4, "invalid_nip"),
        }


class TestTimes:
    def test_punches_are_stored_in_utc_from_each_units_time_zone(self, office, tmp_path):
        path = _write(
            tmp_path,
            "attlog.dat",
            _attlog("      007\t2025-11-03 06:30:00\t1\t0", "        8\t2025-11-03 06:30:00\t1\t0"),
        )

        _load(office, "attlog", path)

        assert _punches(office) == {
            (ANI, dt.datetime(2025, 11, 2, 23, 30)),  # 06:30 WIB = 23:30 UTC the day before
            (BUDI, dt.datetime(2025, 11, 2, 22, 30)),  # 06:30 WITA = 22:30 UTC the day before
        }

    def test_punch_minutes_old_in_jakarta_is_loaded_on_a_utc_server(
        self, office, tmp_path, server_clock_in_utc
    ):
        # The terminal writes Jakarta wall time; the server's own clock (UTC here) must not
        # make a punch just made in Jakarta look like one from the future.
        jakarta_now = dt.datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
        just_now = (jakarta_now - dt.timedelta(minutes=10)).replace(microsecond=0)
        path = _write(tmp_path, "attlog.dat", _attlog(f"7\t{just_now:%Y-%m-%d %H:%M:%S}\t1\t0"))

        summary = _load(office, "attlog", path)

        assert (summary.rows_loaded, summary.rows_rejected) == (1, 0)

    def test_punch_later_than_now_in_its_units_zone_is_rejected_as_future(self, office, tmp_path):
        jakarta_now = dt.datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
        later = jakarta_now + dt.timedelta(hours=2)
        path = _write(tmp_path, "attlog.dat", _attlog(f"7\t{later:%Y-%m-%d %H:%M:%S}\t1\t0"))

        summary = _load(office, "attlog", path)

        assert (summary.rows_loaded, summary.rows_rejected) == (0, 1)
        assert _rejections(office, summary.batch_id) == {(1, "future_date")}


class TestRoster:
    def test_an_employee_of_an_unknown_unit_is_rejected(self, sqlite_engine, tmp_path):
        text = (
            "nip,name,opd_code,opd_name,start_date\n"
            f"{ANI},Ani,KEC-SELATAN,Kec. Selatan,2020-01-01\n"
        )

        summary = _load(sqlite_engine, "roster", _write(tmp_path, "roster.csv", text))

        assert (summary.rows_loaded, summary.rows_rejected) == (0, 1)
        assert _rejections(sqlite_engine, summary.batch_id) == {(2, "unknown_unit")}
        assert _count(sqlite_engine, employees) == 0

    def test_a_nip_listed_twice_keeps_the_last_row(self, office, tmp_path):
        text = (
            "nip,name,opd_code,start_date\n"
            f"{ANI},Ani Lama,DINKES,2005-01-01\n"
            f"{ANI},Ani Baru,DINKES,2005-01-01\n"
        )

        summary = _load(office, "roster", _write(tmp_path, "roster.csv", text))

        assert (summary.rows_loaded, summary.rows_rejected) == (1, 1)
        assert _rejections(office, summary.batch_id) == {(2, "duplicate_in_file")}
        with connect(office) as conn:
            assert conn.scalar(select(employees.c.name).where(employees.c.nip == ANI)) == "Ani Baru"

    def test_newer_roster_replaces_an_employees_fields(self, office, tmp_path):
        newer = ROSTER.replace(
            "Ani,DINKES,Dinas Kesehatan,2005-01-01", "Ani,KEC-UTARA,Kec. Utara,2005-01-01"
        )
        folder = tmp_path / "newer"
        folder.mkdir()

        summary = _load(office, "roster", _write(folder, "roster.csv", newer))

        assert summary.already_loaded is False
        with connect(office) as conn:
            unit = conn.scalar(select(employees.c.opd_code).where(employees.c.nip == ANI))
        assert unit == "KEC-UTARA"
        assert _count(office, employees) == 2


class TestInbox:
    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            ("attlog.dat", "attlog"),
            ("ATTLOG-Terminal2.DAT", "attlog"),
            ("units.csv", "units"),
            ("2025-11-roster.csv", "roster"),
            ("absences_nov.CSV", "absences"),
            ("notes.csv", None),
            ("roster.xlsx", None),
            ("presensi-kecamatan-nov.xlsx", "punch_export"),
            ("Presensi_Dinkes.csv", "punch_export"),
            ("punches-office-2.csv", "punch_export"),
            ("README.md", None),
        ],
        ids=[
            "dat",
            "dat-upper-case",
            "units",
            "roster",
            "absences",
            "other-csv",
            "xlsx",
            "punch-export-xlsx",
            "punch-export-csv",
            "punch-export-english",
            "markdown",
        ],
    )
    def test_file_kind_follows_its_name(self, tmp_path, name, kind):
        assert classify_inbox_file(tmp_path / name) == kind

    def test_inbox_loads_units_roster_absences_then_punches_whatever_the_names(
        self, sqlite_engine, tmp_path
    ):
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        # Alphabetical order would load the punches first and reject them all.
        _write(inbox, "a_terminal.dat", _attlog("7\t2025-11-03 07:15:00\t1\t0"))
        _write(
            inbox,
            "b_absences.csv",
            f"nip,kind,start_date,end_date\n{ANI},S,2025-11-04,2025-11-04\n",
        )
        _write(inbox, "c_roster.csv", ROSTER)
        _write(inbox, "d_units.csv", UNITS)
        _write(inbox, "e_notes.txt", "not a source")

        with connect(sqlite_engine) as conn:
            summaries = load_inbox(conn, inbox)

        assert [(s.source_kind, s.rows_loaded, s.rows_rejected) for s in summaries] == [
            ("units", 2, 0),
            ("roster", 2, 0),
            ("absences", 1, 0),
            ("attlog", 1, 0),
        ]


class TestRefusals:
    def test_unknown_source_kind_is_refused(self, sqlite_engine, tmp_path):
        with (
            connect(sqlite_engine) as conn,
            pytest.raises(ValueError, match=r"source_kind must be one of .* not 'punches'"),
        ):
            load_file(conn, "punches", _write(tmp_path, "x.dat", "7\t2025-11-03 07:15:00\n"))

    def test_empty_file_leaves_no_batch(self, office, tmp_path):
        batches = _count(office, import_batches)

        with pytest.raises(InputFileError, match="is empty"):
            _load(office, "attlog", _write(tmp_path, "attlog.dat", ""))

        assert _count(office, import_batches) == batches


class TestFutureWatermark:
    def test_a_watermark_in_the_future_judges_no_day_after_now(self, office, tmp_path):
        from dispenser_core.recap import unit_coverage

        path = _write(tmp_path, "attlog.dat", _attlog("      007\t2025-11-03 07:15:00\t1\t0"))
        with connect(office) as conn:
            load_file(conn, "attlog", path, synced_until=dt.datetime(2099, 1, 1))
            coverage = unit_coverage(conn)
        now_in_jakarta = dt.datetime.now(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
        [until] = coverage.loc[coverage["opd_code"] == "DINKES", "judged_until"]
        assert until.to_pydatetime() <= now_in_jakarta
        assert until.to_pydatetime() > now_in_jakarta - dt.timedelta(minutes=5)

    def test_the_cli_refuses_a_synced_until_after_now(self, tmp_path, monkeypatch, capsys):
        from dispenser_core.cli import main

        monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
        path = _write(tmp_path, "attlog.dat", _attlog("      007\t2025-11-03 07:15:00\t1\t0"))
        code = main(["import", "attlog", str(path), "--synced-until", "2099-01-01T00:00"])
        assert code != 0
        assert "after now" in capsys.readouterr().err
        code = main(["sync-source", "--source", "attlog", "--synced-until", "2099-01-01T00:00"])
        assert code != 0
