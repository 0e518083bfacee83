"""Daily status rules, each expected value worked out by hand from the punches given."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dispenser_core.daily_status import (
    NO_DATA,
    PRESENT,
    TK,
    build_daily_status,
    drop_repeats,
    working_days,
)
from dispenser_core.schedules import bundled_schedules

NIP = "198001012005011001"


def _employee(start="2020-01-01", end=None, schedule="office") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "nip": NIP,
                "opd_code": "UNIT",
                "schedule_code": schedule,
                "start_date": dt.date.fromisoformat(start),
                "end_date": dt.date.fromisoformat(end) if end else None,
            }
        ]
    )


def _statuses(punch_times, start, end, *, days_off=(), absences=(), employee=None, covered=None):
    grid = working_days(
        employee if employee is not None else _employee(),
        pd.DataFrame(bundled_schedules()),
        set(days_off),
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
    )
    punches = pd.DataFrame(
        {"nip": [NIP] * len(punch_times), "local_time": pd.to_datetime(list(punch_times))}
    )
    absence_frame = pd.DataFrame(list(absences), columns=["nip", "kind", "start_date", "end_date"])
    frame = build_daily_status(grid, punches, absence_frame, covered)
    return {row["day"].isoformat(): row for row in frame.to_dict("records")}


class TestOneDay:
    def test_two_punches_a_minute_apart_are_one_check_in(self):
        day = _statuses(
            ["2025-11-03 07:20:00", "2025-11-03 07:21:00", "2025-11-03 16:30:00"],
            "2025-11-03",
            "2025-11-03",
        )["2025-11-03"]
        assert day["status"] == PRESENT
        assert day["check_in_local"] == pd.Timestamp("2025-11-03 07:20:00")
        assert day["check_out_local"] == pd.Timestamp("2025-11-03 16:30:00")
        assert (day["repeats_dropped"], day["late_minutes"], day["early_leave_minutes"]) == (
            1,
            0,
            0,
        )

    def test_only_a_check_in_is_present_with_a_missing_check_out(self):
        day = _statuses(["2025-11-03 07:41:00"], "2025-11-03", "2025-11-03")["2025-11-03"]
        assert day["status"] == PRESENT
        assert (day["missing_check_in"], day["missing_check_out"]) == (0, 1)
        assert day["late_minutes"] == 11  # 07:30 to 07:41
        assert day["early_leave_minutes"] == 0  # a missing punch adds no minutes

    def test_late_minutes_are_whole_minutes_and_repeats_are_counted(self):
        # Monday: 07:58:10 is 28 min 10 s late; 07:59:02 is a repeat (52 s after).
        day = _statuses(
            ["2025-11-03 07:58:10", "2025-11-03 07:59:02", "2025-11-03 16:02:40"],
            "2025-11-03",
            "2025-11-03",
        )["2025-11-03"]
        assert (day["late_minutes"], day["early_leave_minutes"], day["repeats_dropped"]) == (
            28,
            0,
            1,
        )

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
        assert _statuses([], "2025-11-03", "2025-11-03")["2025-11-03"]["status"] == TK

    def test_a_day_no_source_covers_is_not_judged(self):
        days = _statuses([], "2025-11-03", "2025-11-04", covered={dt.date(2025, 11, 3)})
        assert (days["2025-11-03"]["status"], days["2025-11-04"]["status"]) == (TK, NO_DATA)


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
        day = _statuses([punch], "2025-11-03", "2025-11-03")["2025-11-03"]
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
            "2025-11-03",
        )["2025-11-03"]
        assert day["check_in_local"] == pd.Timestamp("2025-11-03 06:00:00")
        assert day["check_out_local"] == pd.Timestamp("2025-11-03 17:00:00")


class TestRepeats:
    def test_a_repeat_is_measured_from_the_last_kept_punch(self):
        punches = pd.DataFrame(
            {
                "nip": [NIP] * 3,
                "local_time": pd.to_datetime(
                    ["2025-11-03 07:00", "2025-11-03 07:03", "2025-11-03 07:06"]
                ),
            }
        )
        kept = drop_repeats(punches)
        assert kept["kept"].tolist() == [True, False, True]

    def test_repeats_are_found_whatever_the_file_order(self):
        punches = pd.DataFrame(
            {
                "nip": [NIP] * 2,
                "local_time": pd.to_datetime(["2025-11-03 15:53", "2025-11-03 15:50"]),
            }
        )
        kept = drop_repeats(punches)
        assert kept.loc[kept["kept"], "local_time"].tolist() == [pd.Timestamp("2025-11-03 15:50")]


class TestCalendarAndAbsences:
    def test_a_holiday_is_not_a_working_day(self):
        days = _statuses(
            [], "2025-12-22", "2025-12-26", days_off={dt.date(2025, 12, 25), dt.date(2025, 12, 26)}
        )
        assert sorted(days) == ["2025-12-22", "2025-12-23", "2025-12-24"]

    def test_a_leave_day_wins_over_punches_and_keeps_them_as_evidence(self):
        days = _statuses(
            ["2025-11-04 09:00:00"],
            "2025-11-03",
            "2025-11-04",
            absences=[(NIP, "leave", dt.date(2025, 11, 1), dt.date(2025, 11, 4))],
        )
        assert days["2025-11-03"]["status"] == "leave"
        assert days["2025-11-04"]["status"] == "leave"
        assert days["2025-11-04"]["check_in_local"] == pd.Timestamp("2025-11-04 09:00:00")
        assert days["2025-11-04"]["late_minutes"] == 0

    def test_an_employee_counts_only_between_joining_and_leaving(self):
        days = _statuses(
            ["2025-11-14 08:00:00"],
            "2025-11-10",
            "2025-11-21",
            employee=_employee(start="2025-11-17", end="2025-11-20"),
        )
        assert sorted(days) == ["2025-11-17", "2025-11-18", "2025-11-19", "2025-11-20"]

    def test_weekends_are_not_working_days_in_the_office_schedule(self):
        assert sorted(_statuses([], "2025-11-01", "2025-11-03")) == ["2025-11-03"]
