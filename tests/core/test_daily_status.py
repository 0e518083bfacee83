"""Daily status rules, each expected value worked out by hand from the punches given."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dispenser_core.daily_status import (
    NO_DATA,
    PENDING,
    PRESENT,
    TK,
    DayInputs,
    build_daily_status,
    drop_repeats,
    kept_punches,
)
from dispenser_core.schedules import bundled_schedules, expand_schedule_days, schedule_rows

NIP = "198001012005011001"
UNIT = "DINAS-CONTOH"


def _employee(start="2020-01-01", end=None, schedule="office") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "nip": NIP,
                "opd_code": UNIT,
                "schedule_code": schedule,
                "start_date": dt.date.fromisoformat(start),
                "end_date": dt.date.fromisoformat(end) if end else None,
            }
        ]
    )


def _frame(rows, columns, dates=()):
    frame = pd.DataFrame(list(rows), columns=columns)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _statuses(
    punch_times,
    start,
    end=None,
    *,
    days_off=(),
    absences=(),
    employee=None,
    coverage=None,
    schedules=None,
    shifts=(),
):
    start = dt.date.fromisoformat(start)
    end = dt.date.fromisoformat(end) if end else start
    rows = schedules if schedules is not None else bundled_schedules()
    inputs = DayInputs(
        employees=employee if employee is not None else _employee(),
        schedule_days=expand_schedule_days(rows, start - dt.timedelta(days=1), end),
        punches=pd.DataFrame(
            {"nip": [NIP] * len(punch_times), "local_time": pd.to_datetime(list(punch_times))}
        ),
        absences=_frame(
            absences, ["nip", "kind", "start_date", "end_date"], ["start_date", "end_date"]
        ),
        days_off=_frame([(UNIT, d) for d in days_off], ["opd_code", "day"], ["day"]),
        shifts=_frame(shifts, ["nip", "day", "start_seconds", "end_seconds"], ["day"]),
        coverage=coverage,
    )
    frame = build_daily_status(inputs, start, end)
    return {f"{row['day']:%Y-%m-%d}": row for row in frame.to_dict("records")}


def _at(clock: str) -> float:
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


class TestOneDay:
    def test_two_punches_a_minute_apart_are_one_check_in(self):
        day = _statuses(
            ["2025-11-03 07:20:00", "2025-11-03 07:21:00", "2025-11-03 16:30:00"], "2025-11-03"
        )["2025-11-03"]
        assert day["status"] == PRESENT
        assert day["check_in_local"] == pd.Timestamp("2025-11-03 07:20:00")
        assert day["check_out_local"] == pd.Timestamp("2025-11-03 16:30:00")
        assert (day["repeats_dropped"], day["late_minutes"], day["early_leave_minutes"]) == (
            1,
            0,
            0,
        )

    def test_only_a_check_in_is_present_with_a_missing_check_out_and_no_worked_time(self):
        days = _statuses(
            ["2025-11-03 07:41:00", "2025-11-04 07:38:00", "2025-11-04 16:05:00"],
            "2025-11-03",
            "2025-11-04",
        )
        first, second = days["2025-11-03"], days["2025-11-04"]
        assert first["status"] == PRESENT
        assert (first["missing_check_in"], first["missing_check_out"]) == (0, 1)
        assert first["late_minutes"] == 11  # 07:30 to 07:41
        assert first["early_leave_minutes"] == 0  # a missing punch adds no minutes
        assert pd.isna(first["worked_minutes"])  # not almost 24 hours
        assert first["reason"] == "late,missing_check_out"
        assert (
            second["missing_check_in"],
            second["missing_check_out"],
            second["late_minutes"],
        ) == (0, 0, 8)
        assert second["worked_minutes"] == 507  # 07:38 to 16:05

    def test_late_minutes_are_whole_minutes_and_repeats_are_counted(self):
        # Monday: 07:58:10 is 28 min 10 s late; 07:59:02 is a repeat (52 s after).
        day = _statuses(
            ["2025-11-03 07:58:10", "2025-11-03 07:59:02", "2025-11-03 16:02:40"], "2025-11-03"
        )["2025-11-03"]
        assert (day["late_minutes"], day["early_leave_minutes"], day["repeats_dropped"]) == (
            28,
            0,
            1,
        )

    def test_without_the_afternoon_punch_the_check_out_is_missing(self):
        day = _statuses(["2025-11-03 07:58:10", "2025-11-03 07:59:02"], "2025-11-03")["2025-11-03"]
        assert (day["status"], day["check_in_local"]) == (
            PRESENT,
            pd.Timestamp("2025-11-03 07:58:10"),
        )
        assert (day["missing_check_out"], day["repeats_dropped"]) == (1, 1)

    def test_friday_ends_at_half_past_four(self):
        days = _statuses(
            [
                "2025-11-06 07:28:00",
                "2025-11-06 16:02:00",
                "2025-11-07 07:28:00",
                "2025-11-07 16:05:00",
            ],
            "2025-11-06",
            "2025-11-07",
        )
        assert days["2025-11-06"]["early_leave_minutes"] == 0  # Thursday ends 16:00
        assert days["2025-11-07"]["early_leave_minutes"] == 25  # Friday ends 16:30

    def test_no_punch_is_absent_without_reason(self):
        day = _statuses([], "2025-11-03")["2025-11-03"]
        assert (day["status"], day["reason"]) == (TK, "no_punch")

    def test_a_punch_outside_both_windows_does_not_make_a_day(self):
        day = _statuses(["2025-11-03 03:59:02"], "2025-11-03")["2025-11-03"]
        assert (day["status"], day["reason"]) == (TK, "no_punch_in_windows")


class TestWindows:
    @pytest.mark.parametrize(
        ("punch", "check_in", "check_out"),
        [
            ("2025-11-03 04:29:59", False, False),  # before the window opens (07:30 - 3 h)
            ("2025-11-03 04:30:00", True, False),  # the window opens, included
            ("2025-11-03 11:44:59", True, False),  # just before the midpoint of 07:30-16:00
            ("2025-11-03 11:45:00", False, True),  # the midpoint starts the check-out window
            ("2025-11-03 22:00:00", False, True),  # 16:00 + 6 h, included
            ("2025-11-03 22:00:01", False, False),
        ],
        ids=[
            "before-opening",
            "opening",
            "before-midpoint",
            "midpoint",
            "closing",
            "after-closing",
        ],
    )
    def test_window_edges(self, punch, check_in, check_out):
        day = _statuses([punch], "2025-11-03")["2025-11-03"]
        assert (pd.notna(day["check_in_local"]), pd.notna(day["check_out_local"])) == (
            check_in,
            check_out,
        )
        assert day["status"] == (PRESENT if check_in or check_out else TK)

    def test_first_in_window_is_check_in_and_last_is_check_out(self):
        day = _statuses(
            [
                "2025-11-03 06:00:00",
                "2025-11-03 09:00:00",
                "2025-11-03 13:00:00",
                "2025-11-03 17:00:00",
            ],
            "2025-11-03",
        )["2025-11-03"]
        assert day["check_in_local"] == pd.Timestamp("2025-11-03 06:00:00")
        assert day["check_out_local"] == pd.Timestamp("2025-11-03 17:00:00")

    def test_windows_are_schedule_settings(self):
        office = {
            "effective_from": "2000-01-01",
            "days": {"0": ["07:30", "16:00"]},
            "settings": {"check_in_opens_minutes": 60, "check_out_closes_minutes": 30},
        }
        rows = schedule_rows({"narrow": office})
        days = _statuses(
            ["2025-11-03 06:00:00", "2025-11-03 16:45:00"],
            "2025-11-03",
            schedules=rows,
            employee=_employee(schedule="narrow"),
        )
        assert days["2025-11-03"]["status"] == TK  # 06:00 before 06:30, 16:45 after 16:30


class TestRepeats:
    def test_a_repeat_is_measured_from_the_last_kept_punch(self):
        punches = pd.DataFrame(
            {
                "nip": [NIP] * 3,
                "local_time": pd.to_datetime(
                    ["2025-11-03 07:00:00", "2025-11-03 07:03:00", "2025-11-03 07:06:00"]
                ),
            }
        )
        assert drop_repeats(punches)["kept"].tolist() == [True, False, True]

    def test_repeats_are_found_whatever_the_file_order(self):
        punches = pd.DataFrame(
            {
                "nip": [NIP] * 2,
                "local_time": pd.to_datetime(["2025-11-03 15:53:00", "2025-11-03 15:50:00"]),
            }
        )
        kept = drop_repeats(punches)
        assert kept.loc[kept["kept"], "local_time"].tolist() == [pd.Timestamp("2025-11-03 15:50")]

    def test_a_long_run_of_close_punches_keeps_every_fifth_minute_from_the_last_kept(self):
        # 0 s kept; 250 dropped; 520 kept (520 after 0); 700 dropped (180 after 520); 830 kept.
        seconds = np.array([0, 250, 520, 700, 830])
        assert kept_punches(np.zeros(5, dtype=int), seconds).tolist() == [
            True,
            False,
            True,
            False,
            True,
        ]

    def test_each_person_starts_afresh(self):
        assert kept_punches(np.array([1, 2]), np.array([0, 10])).tolist() == [True, True]


class TestCalendarAbsencesAndEmployment:
    def test_a_holiday_is_not_a_working_day(self):
        days = _statuses([], "2025-12-22", "2025-12-26", days_off=["2025-12-25", "2025-12-26"])
        assert sorted(days) == ["2025-12-22", "2025-12-23", "2025-12-24"]

    def test_a_leave_day_wins_over_punches_and_keeps_them_as_evidence(self):
        days = _statuses(
            ["2025-11-04 09:00:00"],
            "2025-11-03",
            "2025-11-04",
            absences=[(NIP, "leave", "2025-11-01", "2025-11-04")],
        )
        assert days["2025-11-03"]["status"] == "leave"
        assert days["2025-11-04"]["status"] == "leave"
        assert days["2025-11-04"]["check_in_local"] == pd.Timestamp("2025-11-04 09:00:00")
        assert days["2025-11-04"]["late_minutes"] == 0

    def test_an_absence_over_a_weekend_and_a_holiday_counts_only_working_days(self):
        days = _statuses(
            [],
            "2025-12-22",
            "2025-12-31",
            days_off=["2025-12-25", "2025-12-26"],
            absences=[(NIP, "leave", "2025-12-22", "2025-12-31")],
        )
        assert sorted(days) == [
            "2025-12-22",
            "2025-12-23",
            "2025-12-24",
            "2025-12-29",
            "2025-12-30",
            "2025-12-31",
        ]
        assert {d["status"] for d in days.values()} == {"leave"}

    def test_an_employee_counts_only_between_joining_and_leaving(self):
        days = _statuses(
            ["2025-11-14 08:00:00"],
            "2025-11-10",
            "2025-11-21",
            employee=_employee(start="2025-11-17", end="2025-11-20"),
        )
        assert sorted(days) == ["2025-11-17", "2025-11-18", "2025-11-19", "2025-11-20"]

    def test_joining_mid_month_gives_the_working_days_from_then(self):
        punches = [
            f"2025-11-{d:02d} {t}"
            for d in (17, 18, 19, 20, 21, 24, 25, 26, 27, 28)
            for t in ("07:15:00", "16:40:00")
        ]
        days = _statuses(
            punches, "2025-11-01", "2025-11-30", employee=_employee(start="2025-11-17")
        )
        assert len(days) == 10
        assert {d["status"] for d in days.values()} == {PRESENT}

    def test_weekends_are_not_working_days_in_the_office_schedule(self):
        assert sorted(_statuses([], "2025-11-01", "2025-11-03")) == ["2025-11-03"]


class TestNotYetJudged:
    COVERAGE = pd.DataFrame(
        {
            "opd_code": [UNIT],
            "judged_from": pd.to_datetime(["2025-11-04"]),
            "judged_until": pd.to_datetime(["2025-11-05 21:00:00"]),
        }
    )

    def test_days_before_any_source_and_after_its_watermark_are_not_tk(self):
        days = _statuses([], "2025-11-03", "2025-11-06", coverage=self.COVERAGE)
        # 3 Nov: before the first data; 4 Nov: judged; 5 Nov: window closes 22:00, after the
        # 21:00 watermark; 6 Nov: later still.
        assert [days[d]["status"] for d in sorted(days)] == [NO_DATA, TK, PENDING, PENDING]

    def test_a_unit_no_source_delivers_for_is_not_judged(self):
        coverage = self.COVERAGE.assign(opd_code="ANOTHER-UNIT")
        assert _statuses([], "2025-11-04", coverage=coverage)["2025-11-04"]["status"] == NO_DATA

    def test_a_recorded_absence_is_known_even_before_the_watermark(self):
        days = _statuses(
            [],
            "2025-11-06",
            coverage=self.COVERAGE,
            absences=[(NIP, "sick", "2025-11-06", "2025-11-06")],
        )
        assert days["2025-11-06"]["status"] == "sick"


class TestShiftsAndSpecialPeriods:
    SHIFT = schedule_rows(
        {
            "shift": {
                "effective_from": "2000-01-01",
                "roster": True,
                "settings": {"observes_holidays": False},
            }
        }
    )

    def test_a_night_shift_check_out_is_never_the_next_day_check_in(self):
        # 3 Nov night duty 18:00-07:00; 4 Nov a regular 07:30-16:00 shift.
        shifts = [
            (NIP, "2025-11-03", _at("18:00"), _at("07:00")),
            (NIP, "2025-11-04", _at("07:30"), _at("16:00")),
        ]
        days = _statuses(
            ["2025-11-03 17:55:00", "2025-11-04 07:06:00"],
            "2025-11-03",
            "2025-11-04",
            schedules=self.SHIFT,
            shifts=shifts,
            employee=_employee(schedule="shift"),
        )
        night, day = days["2025-11-03"], days["2025-11-04"]
        assert (night["status"], night["check_out_local"]) == (
            PRESENT,
            pd.Timestamp("2025-11-04 07:06:00"),
        )
        assert night["early_leave_minutes"] == 0  # 07:06 is after the 07:00 end
        assert day["status"] == TK

    def test_night_shift_worked_time_crosses_midnight(self):
        shifts = [(NIP, "2025-11-03", _at("18:00"), _at("06:00"))]
        day = _statuses(
            ["2025-11-03 23:55:00", "2025-11-04 00:05:00"],
            "2025-11-03",
            schedules=self.SHIFT,
            shifts=shifts,
            employee=_employee(schedule="shift"),
        )["2025-11-03"]
        assert day["worked_minutes"] == 10

    def test_a_roster_works_through_holidays_and_rests_on_days_without_a_shift(self):
        shifts = [(NIP, "2025-12-25", _at("07:00"), _at("14:00"))]
        days = _statuses(
            ["2025-12-25 06:55:00", "2025-12-25 14:05:00"],
            "2025-12-24",
            "2025-12-26",
            schedules=self.SHIFT,
            shifts=shifts,
            days_off=["2025-12-25"],
            employee=_employee(schedule="shift"),
        )
        assert list(days) == ["2025-12-25"]
        assert days["2025-12-25"]["status"] == PRESENT

    def test_ramadan_hours_replace_the_usual_ones(self):
        # Monday 10 March 2025 is inside the bundled Ramadan 1446 H period (08:00-15:00).
        day = _statuses(["2025-03-10 07:58:00", "2025-03-10 15:01:00"], "2025-03-10")["2025-03-10"]
        assert (day["late_minutes"], day["early_leave_minutes"], day["reason"]) == (0, 0, "")
        assert day["schedule_start"] == pd.Timestamp("2025-03-10 08:00:00")


class TestWorkedTimeThresholds:
    ROWS = schedule_rows(
        {
            "strict": {
                "effective_from": "2000-01-01",
                "days": {"0": ["07:30", "16:00"]},
                "settings": {"absent_below_minutes": 240, "short_below_minutes": 450},
            }
        }
    )

    @pytest.mark.parametrize(
        ("check_in", "check_out", "flag"),
        [
            ("08:00:00", "09:42:00", "absent_candidate"),
            ("08:00:00", "13:00:00", "short_hours"),
            ("07:30:00", "16:00:00", None),
        ],
        ids=["102-minutes", "300-minutes", "full-day"],
    )
    def test_worked_time_below_a_threshold_is_flagged(self, check_in, check_out, flag):
        day = _statuses(
            [f"2025-11-03 {check_in}", f"2025-11-03 {check_out}"],
            "2025-11-03",
            schedules=self.ROWS,
            employee=_employee(schedule="strict"),
        )["2025-11-03"]
        assert day["status"] == PRESENT
        assert (day["policy_flag"] if pd.notna(day["policy_flag"]) else None) == flag
