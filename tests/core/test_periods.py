"""Periods of a recap: a month or a year, parsed from what an operator types."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dispenser_core.periods import Period


class TestParse:
    @pytest.mark.parametrize(
        ("text", "period"),
        [
            ("2025-11", Period(2025, 11)),
            ("2025-01", Period(2025, 1)),
            ("2025-12", Period(2025, 12)),
            ("2025", Period(2025)),
            (" 2025-11 ", Period(2025, 11)),
        ],
        ids=["november", "january", "december", "year", "surrounding-spaces"],
    )
    def test_month_or_year_is_read(self, text, period):
        assert Period.parse(text) == period

    @pytest.mark.parametrize(
        "text",
        [
            "2025-13",
            "2025-00",
            "25-11",
            "2025/11",
            "",
            "2025-1",
            "11-2025",
            "2025-11-03",
            "November",
        ],
        ids=[
            "month-13",
            "month-00",
            "two-digit-year",
            "slash",
            "empty",
            "one-digit-month",
            "month-first",
            "a-day",
            "month-name",
        ],
    )
    def test_anything_else_is_refused_with_what_to_type(self, text):
        with pytest.raises(
            ValueError,
            match=rf"^Period {re.escape(repr(text))} is not a month like 2025-11 or a year like "
            r"2025\.$",
        ):
            Period.parse(text)

    @pytest.mark.parametrize("text", ["2025-11", "2025"], ids=["month", "year"])
    def test_parse_and_str_round_trip(self, text):
        assert str(Period.parse(text)) == text


class TestDates:
    @pytest.mark.parametrize(
        ("period", "start", "end"),
        [
            (Period(2025, 11), dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
            (Period(2025, 12), dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
            (Period(2025, 2), dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
            (Period(2024, 2), dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
            (Period(2025), dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ],
        ids=["november", "december", "february", "leap-february", "year"],
    )
    def test_period_runs_from_its_first_to_its_last_day(self, period, start, end):
        assert (period.start, period.end) == (start, end)

    def test_month_knows_its_year_start_and_kind(self):
        november = Period(2025, 11)

        assert (november.kind, november.year_start) == ("month", dt.date(2025, 1, 1))
        assert Period(2025).kind == "year"


class TestLabels:
    @pytest.mark.parametrize(
        ("period", "label"),
        [
            (Period(2025, 11), "November 2025"),
            (Period(2025, 1), "Januari 2025"),
            (Period(2025, 8), "Agustus 2025"),
            (Period(2025, 12), "Desember 2025"),
            (Period(2025), "Tahun 2025"),
        ],
        ids=["november", "januari", "agustus", "desember", "year"],
    )
    def test_label_is_in_indonesian(self, period, label):
        assert period.label_id == label

    @pytest.mark.parametrize(
        ("period", "text"),
        [(Period(2025, 3), "2025-03"), (Period(2025), "2025")],
        ids=["month", "year"],
    )
    def test_str_is_what_the_operator_types(self, period, text):
        assert str(period) == text


class TestMonthBefore:
    @pytest.mark.parametrize(
        ("day", "period"),
        [
            (dt.date(2025, 12, 1), Period(2025, 11)),
            (dt.date(2025, 12, 31), Period(2025, 11)),
            (dt.date(2026, 1, 1), Period(2025, 12)),
            (dt.date(2024, 3, 31), Period(2024, 2)),
        ],
        ids=["first-of-december", "last-of-december", "new-year", "end-of-march-leap-year"],
    )
    def test_month_before_the_day(self, day, period):
        assert Period.month_before(day) == period
