"""Loading the reference data: units, roster, calendar, schedules and schedule assignments.

A bad row is kept aside with its reason and the rest of its file loads; a file of another kind
is refused whole, before anything is stored. One unit, DINKES (head HEAD), and two employees:
Ani (PIN 1, supervised by the head) and Budi (PIN 2, supervised by Ani). The bundled schedules
are office, shift and six_day. Every expected value is worked out from the rows written here.
"""

from __future__ import annotations

import datetime as dt
import logging
import textwrap

import pytest
from sqlalchemy import func, select

from dispenser_core.cli import main
from dispenser_core.exceptions import InputFileError
from dispenser_core.loading import LoadSummary, load_file
from dispenser_core.schedules import read_schedule_file
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import (
    calendar_days,
    employees,
    import_batches,
    punches,
    rejected_records,
    schedule_assignments,
    work_schedules,
    work_units,
)
from dispenser_core.supervisors import people_on, supervisor_of

HEAD = "197501012000031001"
ANI = "198001012005011001"
BUDI = "199003032015032003"
STRANGER = "199912312025011099"

UNITS = f"opd_code,opd_name,head_nip\nDINKES,Dinas Kesehatan,{HEAD}\n"
# With opd_name, as exports have it: a units file needs no other column.
ROSTER = (
    "pin,nip,name,opd_code,opd_name,start_date,supervisor_nip\n"
    f"9,{HEAD},Kepala,DINKES,Dinas Kesehatan,2000-03-01,\n"
    f"1,{ANI},Ani,DINKES,Dinas Kesehatan,2005-01-01,{HEAD}\n"
    f"2,{BUDI},Budi,DINKES,Dinas Kesehatan,2015-03-01,{ANI}\n"
)


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _import(engine, kind: str, path) -> LoadSummary:
    with connect(engine) as conn:
        return load_file(conn, kind, path)


def _counts(summary: LoadSummary) -> tuple[int, int, int, int]:
    return (
        summary.rows_read,
        summary.rows_loaded,
        summary.rows_duplicate,
        summary.rows_rejected,
    )


def _rejections(engine, batch_id: int) -> dict[int, tuple[str, str]]:
    """Line number to (reason, detail) of each row kept aside by one batch."""
    with connect(engine) as conn:
        rows = conn.execute(
            select(
                rejected_records.c.line_number, rejected_records.c.reason, rejected_records.c.detail
            ).where(rejected_records.c.batch_id == batch_id)
        )
        return {line: (reason, detail) for line, reason, detail in rows}


def _rows(engine, statement) -> set[tuple]:
    with connect(engine) as conn:
        return set(conn.execute(statement).tuples())


@pytest.fixture
def unit(engine, tmp_path):
    """DINKES and its head, loaded."""
    _import(engine, "units", _write(tmp_path, "units.csv", UNITS))
    return engine


@pytest.fixture
def office(unit, tmp_path):
    """DINKES with its head, Ani and Budi, loaded."""
    _import(unit, "roster", _write(tmp_path, "roster.csv", ROSTER))
    return unit


class TestUnits:
    def test_unknown_time_zone_is_rejected_and_the_other_units_load(self, engine, tmp_path):
        text = (
            "opd_code,opd_name,head_nip,timezone\n"
            "C1,Unit Satu,,Asia/Makassar\n"
            "C3,Unit Tiga,,Mars/Olympus\n"
            "C4,Unit Empat,,\n"
        )

        summary = _import(engine, "units", _write(tmp_path, "units.csv", text))

        assert _counts(summary) == (3, 2, 0, 1)
        reason, detail = _rejections(engine, summary.batch_id)[3]
        assert reason == "invalid_timezone"
        assert "'Mars/Olympus' is not an IANA time zone" in detail
        assert "Asia/Jakarta, Asia/Makassar, Asia/Jayapura" in detail
        stored = _rows(engine, select(work_units.c.opd_code, work_units.c.timezone))
        assert stored == {("C1", "Asia/Makassar"), ("C4", "Asia/Jakarta")}

    def test_punches_load_after_a_units_file_with_a_bad_time_zone(self, engine, tmp_path):
        units = (
            "opd_code,opd_name,timezone\nC1,Unit Satu,Asia/Makassar\nC3,Unit Tiga,Mars/Olympus\n"
        )
        _import(engine, "units", _write(tmp_path, "units.csv", units))
        roster = f"pin,nip,name,opd_code,start_date\n1,{ANI},Ani,C1,2005-01-01\n"
        _import(engine, "roster", _write(tmp_path, "roster.csv", roster))
        attlog = f"{1:>9}\t2025-11-03 07:15:00\t1\t0\t0\t0\n"

        summary = _import(engine, "attlog", _write(tmp_path, "attlog.dat", attlog))

        # 07:15 WITA (UTC+8) is 23:15 UTC the day before.
        assert (summary.rows_loaded, summary.rows_rejected) == (1, 0)
        stored = _rows(engine, select(punches.c.nip, punches.c.punched_at))
        assert stored == {(ANI, dt.datetime(2025, 11, 2, 23, 15))}

    def test_a_roster_given_as_units_is_refused_and_nothing_changes(self, office, tmp_path):
        path = _write(tmp_path, "roster.csv", ROSTER)
        with connect(office) as conn:
            batches = conn.scalar(select(func.count()).select_from(import_batches))

        with pytest.raises(
            InputFileError, match=r"has the column\(s\) nip, pin: it looks like a roster file"
        ):
            _import(office, "units", path)

        with connect(office) as conn:
            assert conn.scalar(select(func.count()).select_from(import_batches)) == batches
        assert _rows(office, select(work_units.c.opd_code, work_units.c.head_nip)) == {
            ("DINKES", HEAD)
        }

    def test_a_unit_listed_twice_loads_its_last_row_and_rejects_the_earlier(self, engine, tmp_path):
        text = (
            "opd_code,opd_name,head_nip\n"
            "DINKES,Dinas Kesehatan Lama,\n"
            "DISHUB,Dinas Perhubungan,\n"
            f"DINKES,Dinas Kesehatan,{HEAD}\n"
        )

        summary = _import(engine, "units", _write(tmp_path, "units.csv", text))

        assert _counts(summary) == (3, 2, 0, 1)
        assert _rejections(engine, summary.batch_id) == {
            2: (
                "duplicate_in_file",
                "opd_code DINKES appears again on line 4, which is the one loaded",
            )
        }
        stored = _rows(engine, select(work_units.c.opd_code, work_units.c.name))
        assert stored == {("DINKES", "Dinas Kesehatan"), ("DISHUB", "Dinas Perhubungan")}


class TestUnitsOnTheCommandLine:
    @pytest.fixture
    def database(self, tmp_path, monkeypatch):
        monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{tmp_path / 'city.sqlite'}")

    def test_import_units_of_a_roster_file_says_which_kind_it_seems(
        self, database, tmp_path, capsys
    ):
        path = _write(tmp_path, "roster-one-month.csv", ROSTER)

        assert main(["import", "units", str(path)]) == 2

        err = capsys.readouterr().err
        assert "it looks like a roster file" in err
        assert f"run `dispenser import roster {path}`" in err
        assert "Nothing was loaded" in err


class TestRoster:
    def test_own_supervisor_is_loaded_as_written_and_said_in_a_warning(
        self, unit, tmp_path, caplog
    ):
        text = (
            "pin,nip,name,opd_code,start_date,supervisor_nip\n"
            f"1,{ANI},Ani,DINKES,2005-01-01,{HEAD}\n"
            f"2,{BUDI},Budi,DINKES,2015-03-01,{BUDI}\n"
        )

        with caplog.at_level(logging.WARNING, logger="dispenser_core.loading"):
            summary = _import(unit, "roster", _write(tmp_path, "roster.csv", text))

        assert _counts(summary) == (2, 2, 0, 0)
        assert _rejections(unit, summary.batch_id) == {}
        stored = _rows(unit, select(employees.c.nip, employees.c.supervisor_nip))
        assert stored == {(ANI, HEAD), (BUDI, BUDI)}
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert "1 row(s) name the employee as their own supervisor (line 3)" in warning
        assert "their notices go to the unit head" in warning

    def test_own_supervisor_sends_notices_to_the_unit_head(self, unit, tmp_path):
        text = (
            "pin,nip,name,opd_code,start_date,supervisor_nip\n"
            f"2,{BUDI},Budi,DINKES,2015-03-01,{BUDI}\n"
        )
        _import(unit, "roster", _write(tmp_path, "roster.csv", text))

        with connect(unit) as conn:
            people = people_on(conn, dt.date(2025, 11, 3))

        assert supervisor_of(people[BUDI], people, {"DINKES": HEAD}) == HEAD


class TestPins:
    """A terminal PIN names one employee city-wide. The office holds PINs 9 (head), 1 (Ani)
    and 2 (Budi)."""

    HEADER = "pin,nip,name,opd_code,start_date,end_date\n"

    def _pins(self, engine) -> dict[str, str | None]:
        return dict(_rows(engine, select(employees.c.nip, employees.c.pin)))

    def test_a_pin_another_employee_holds_is_refused_for_the_newcomer(self, office, tmp_path):
        text = self.HEADER + f"1,{STRANGER},Baru,DINKES,2025-01-01,\n"
        summary = _import(office, "roster", _write(tmp_path, "new.csv", text))
        assert _counts(summary) == (1, 0, 0, 1)
        reason, detail = _rejections(office, summary.batch_id)[2]
        assert reason == "duplicate_pin" and f"PIN 1 is NIP {ANI}'s" in detail
        assert self._pins(office)[ANI] == "1" and STRANGER not in self._pins(office)

    def test_in_one_file_the_last_row_with_a_pin_keeps_it(self, unit, tmp_path):
        text = self.HEADER + f"5,{ANI},Ani,DINKES,2005-01-01,\n5,{BUDI},Budi,DINKES,2015-03-01,\n"
        summary = _import(unit, "roster", _write(tmp_path, "roster.csv", text))
        assert _counts(summary) == (2, 1, 0, 1)
        assert _rejections(unit, summary.batch_id)[2][0] == "duplicate_pin"
        assert self._pins(unit) == {BUDI: "5"}

    def test_two_employees_swap_pins_in_one_roster(self, office, tmp_path):
        text = self.HEADER + f"2,{ANI},Ani,DINKES,2005-01-01,\n1,{BUDI},Budi,DINKES,2015-03-01,\n"
        summary = _import(office, "roster", _write(tmp_path, "swap.csv", text))
        assert _counts(summary) == (2, 2, 0, 0)
        assert self._pins(office) == {HEAD: "9", ANI: "2", BUDI: "1"}

    def test_a_leavers_pin_goes_to_someone_who_joined_after(self, office, tmp_path):
        left = self.HEADER + f"2,{BUDI},Budi,DINKES,2015-03-01,2025-06-30\n"
        _import(office, "roster", _write(tmp_path, "left.csv", left))
        text = self.HEADER + f"2,{STRANGER},Baru,DINKES,2025-07-01,\n"
        summary = _import(office, "roster", _write(tmp_path, "new.csv", text))
        assert _counts(summary) == (1, 1, 0, 0)
        assert self._pins(office) == {HEAD: "9", ANI: "1", BUDI: None, STRANGER: "2"}

    def test_an_employee_refused_a_new_pin_keeps_the_old_one(self, office, tmp_path):
        text = self.HEADER + f"9,{ANI},Ani,DINKES,2005-01-01,\n"  # 9 is the head's
        summary = _import(office, "roster", _write(tmp_path, "roster.csv", text))
        assert _counts(summary) == (1, 0, 0, 1)
        assert self._pins(office) == {HEAD: "9", ANI: "1", BUDI: "2"}


class TestScheduleAssignments:
    FILE = (
        "schedule,effective_from,nip,opd_code\n"
        f"nope_schedule,2022-01-01,{ANI},\n"
        "office,2025-11-01,,ZZZ\n"
        f"office,2025-11-01,{STRANGER},\n"
        "six_day,2025-11-01,,DINKES\n"
        f"office,2025-12-01,{BUDI},\n"
        f"shift,2025-12-01,{BUDI},\n"
    )

    @pytest.fixture
    def loaded(self, office, tmp_path) -> LoadSummary:
        """Ani on six_day from 2022, then the file above."""
        first = f"nip,schedule,effective_from\n{ANI},six_day,2022-01-01\n"
        _import(office, "schedule_assignments", _write(tmp_path, "first.csv", first))
        return _import(office, "schedule_assignments", _write(tmp_path, "second.csv", self.FILE))

    def test_only_rows_naming_what_exists_are_loaded(self, office, loaded):
        assert _counts(loaded) == (6, 2, 0, 4)
        stored = _rows(
            office,
            select(
                schedule_assignments.c.nip,
                schedule_assignments.c.opd_code,
                schedule_assignments.c.schedule_code,
                schedule_assignments.c.effective_from,
            ),
        )
        # Ani's assignment from the first file stays: the unknown schedule did not replace it.
        assert stored == {
            (ANI, None, "six_day", dt.date(2022, 1, 1)),
            (None, "DINKES", "six_day", dt.date(2025, 11, 1)),
            (BUDI, None, "shift", dt.date(2025, 12, 1)),
        }

    @pytest.mark.parametrize(
        ("line", "reason", "detail"),
        [
            (
                2,
                "unknown_schedule",
                "schedule nope_schedule is not a known schedule (known: office, shift, six_day); "
                "import the file that defines it first (dispenser import schedules FILE)",
            ),
            (
                3,
                "unknown_unit",
                "opd_code ZZZ is not a known unit; import the units file first "
                "(dispenser import units FILE)",
            ),
            (4, "unknown_employee", "NIP not in the roster; import the roster first"),
            (
                6,
                "duplicate_in_file",
                f"nip {BUDI} and effective_from 2025-12-01 appears again on line 7, "
                "which is the one loaded",
            ),
        ],
        ids=["unknown-schedule", "unknown-unit", "unknown-employee", "same-person-same-day"],
    )
    def test_a_row_naming_nothing_known_is_rejected_with_the_next_step(
        self, office, loaded, line, reason, detail
    ):
        assert _rejections(office, loaded.batch_id)[line] == (reason, detail)

    def test_a_schedule_loaded_from_a_file_can_then_be_assigned(self, office, tmp_path):
        schedules = (
            '{"four_day": {"effective_from": "2025-01-01", "days": {"0": ["07:00", "17:00"]}}}'
        )
        _import(office, "schedules", _write(tmp_path, "schedules.json", schedules))
        text = f"nip,schedule,effective_from\n{ANI},four_day,2025-11-01\n"

        summary = _import(office, "schedule_assignments", _write(tmp_path, "a.csv", text))

        assert _counts(summary) == (1, 1, 0, 0)


class TestCalendar:
    def test_bad_rows_are_rejected_one_by_one_and_the_rest_loads(self, unit, tmp_path):
        text = (
            "day,kind,name,opd_code\n"
            "2025-12-24,collective_leave,Cuti bersama Natal,\n"
            "2025-13-01,holiday,Bulan tiga belas,\n"
            "2025-12-29,vacation,Libur,\n"
            "2025-12-30,holiday,Libur OPD,NOPE\n"
            "2025-12-31,holiday,Libur OPD,DINKES\n"
        )

        summary = _import(unit, "calendar", _write(tmp_path, "calendar.csv", text))

        assert _counts(summary) == (5, 2, 0, 3)
        assert _rejections(unit, summary.batch_id) == {
            3: ("invalid_date", "day '2025-13-01' is not a date like 2025-11-03"),
            4: ("unknown_kind", "kind 'vacation' is not one of holiday, collective_leave, working"),
            5: (
                "unknown_unit",
                "opd_code NOPE is not a known unit; import the units file first "
                "(dispenser import units FILE)",
            ),
        }
        assert _local_days(unit) == {
            (dt.date(2025, 12, 24), "", "collective_leave", "Cuti bersama Natal"),
            (dt.date(2025, 12, 31), "DINKES", "holiday", "Libur OPD"),
        }

    def test_a_day_listed_twice_for_one_scope_loads_the_last_row(self, unit, tmp_path):
        text = (
            "day,kind,name,opd_code\n"
            "2025-12-24,holiday,Libur,\n"
            "2025-12-24,collective_leave,Cuti bersama,\n"
            "2025-12-24,working,Masuk,DINKES\n"
        )

        summary = _import(unit, "calendar", _write(tmp_path, "calendar.csv", text))

        assert _counts(summary) == (3, 2, 0, 1)
        assert _rejections(unit, summary.batch_id) == {
            2: (
                "duplicate_in_file",
                "day 2025-12-24 appears again on line 3, which is the one loaded",
            )
        }
        assert _local_days(unit) == {
            (dt.date(2025, 12, 24), "", "collective_leave", "Cuti bersama"),
            (dt.date(2025, 12, 24), "DINKES", "working", "Masuk"),
        }

    def test_the_command_line_loads_the_good_rows_and_shows_the_bad(
        self, tmp_path, monkeypatch, capsys
    ):
        monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{tmp_path / 'city.sqlite'}")
        text = "day,kind,name\n2025-12-24,collective_leave,Cuti bersama\n2025-12-26,vacation,X\n"

        assert main(["import", "calendar", str(_write(tmp_path, "calendar.csv", text))]) == 0

        out = capsys.readouterr().out
        assert "2 rows read, 1 loaded, 0 already present, 1 rejected" in out
        assert "line 3: unknown_kind" in out


def _local_days(engine) -> set[tuple]:
    return _rows(
        engine,
        select(
            calendar_days.c.day, calendar_days.c.scope, calendar_days.c.kind, calendar_days.c.name
        ).where(calendar_days.c.source == "local"),
    )


SCHEDULES = textwrap.dedent(
    """\
    {
      "_about": "two schedules of a city",
      "bad_week": {
        "effective_from": "2025-01-01",
        "days": {"0": ["08:00", "15:00"], "9": ["08:00", "15:00"]}
      },
      "four_day": {
        "effective_from": "2025-01-01",
        "days": {"0": ["07:00", "17:00"], "1": ["07:00", "17:00"],
                 "2": ["07:00", "17:00"], "3": ["07:00", "17:00"]}
      }
    }
    """
)


class TestSchedules:
    def test_weekday_nine_rejects_its_schedule_and_the_other_loads(self, engine, tmp_path):
        summary = _import(engine, "schedules", _write(tmp_path, "schedules.json", SCHEDULES))

        assert _counts(summary) == (2, 1, 0, 1)
        assert _rejections(engine, summary.batch_id) == {
            3: (
                "invalid_weekday",
                "schedule bad_week: days: weekday '9' is not one of 0 (Monday) to 6 (Sunday)",
            )
        }
        stored = _rows(
            engine,
            select(work_schedules.c.schedule_code, work_schedules.c.weekday).where(
                work_schedules.c.schedule_code.in_(["bad_week", "four_day"])
            ),
        )
        assert stored == {("four_day", 0), ("four_day", 1), ("four_day", 2), ("four_day", 3)}

    @pytest.mark.parametrize(
        ("definition", "reason", "detail"),
        [
            (
                '{"effective_from": "2025-01-01", "days": {"0": ["07:30", "25:00"]}}',
                "invalid_time",
                "days weekday 0: '25:00' is not a time like 07:30",
            ),
            ('{"days": {"0": ["07:30", "16:00"]}}', "missing_value", "effective_from is missing"),
            ('{"effective_from": "2025-01-01"}', "missing_value", "days must map weekday"),
            (
                '{"effective_from": "2025-01-01", "days": {}, "settings": {"grace": 5}}',
                "unknown_setting",
                "unknown settings ['grace']",
            ),
            (
                '{"effective_from": "2025-01-01", "days": {}, '
                '"settings": {"grace_late_minutes": "ten"}}',
                "invalid_setting",
                "settings ['grace_late_minutes'] must be whole minutes",
            ),
            (
                '{"effective_from": "2025-01-01", "days": {"0": ["07:30", "16:00"]}, '
                '"special_periods": [{"name": "Ramadan", "from": "2025-01-01", '
                '"to": "2025-01-31", "days": {"0": ["08:00", "15:00"]}}]}',
                "overlapping_periods",
                "two periods start on the same day",
            ),
            ('["07:30", "16:00"]', "invalid_schedule", "is not an object"),
        ],
        ids=[
            "hour-25",
            "no-start",
            "no-days",
            "unknown-setting",
            "setting-not-a-number",
            "special-period-starting-with-the-schedule",
            "not-an-object",
        ],
    )
    def test_a_bad_schedule_is_rejected_with_its_reason(self, tmp_path, definition, reason, detail):
        other = '{"effective_from": "2025-01-01", "days": {}}'
        text = f'{{\n  "custom": {definition},\n  "other": {other}\n}}\n'

        result = read_schedule_file(_write(tmp_path, "schedules.json", text))

        assert (result.lines_read, result.row_lines) == (2, [3])
        (rejection,) = result.rejected
        assert (rejection.line_number, rejection.reason) == (2, reason)
        assert rejection.detail.startswith(f"schedule custom: {detail}")

    def test_a_code_given_twice_loads_the_later_definition(self, tmp_path):
        text = (
            "{\n"
            '  "late": {"effective_from": "2025-01-01", "days": {"0": ["08:00", "16:00"]}},\n'
            '  "late": {"effective_from": "2025-01-01", "days": {"0": ["09:00", "17:00"]}}\n'
            "}\n"
        )

        result = read_schedule_file(_write(tmp_path, "schedules.json", text))

        assert [(r.line_number, r.reason, r.detail) for r in result.rejected] == [
            (
                2,
                "duplicate_in_file",
                "schedule late: appears again on line 3, which is the one loaded",
            )
        ]
        ((row,),) = result.rows
        assert (row["weekday"], row["start_time"]) == (0, dt.time(9, 0))

    def test_a_file_that_is_not_a_json_object_is_refused_whole(self, tmp_path):
        with pytest.raises(InputFileError, match=r"is not a JSON object of schedules by code"):
            read_schedule_file(_write(tmp_path, "schedules.json", '["office"]'))
