"""PP 94/2021 punishment bands and the counting of TK days, from the bundled rule file."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dispenser_core.exceptions import ConfigurationError
from dispenser_core.rules import rule_set_for

RULES = rule_set_for(dt.date(2025, 11, 30))


class TestBandFor:
    @pytest.mark.parametrize(
        ("days", "band"),
        [
            (0, None),
            (2, None),
            (3, "R1"),
            (4, "R2"),
            (6, "R2"),
            (7, "R3"),
            (10, "R3"),
            (11, "S1"),
            (13, "S1"),
            (14, "S2"),
            (16, "S2"),
            (17, "S3"),
            (20, "S3"),
            (21, "B1"),
            (24, "B1"),
            (25, "B2"),
            (27, "B2"),
            (28, "B3"),
            (40, "B3"),
        ],
        ids=lambda value: f"{value}-days" if isinstance(value, int) else str(value),
    )
    def test_cumulative_days_reach_their_band(self, days, band):
        reached = RULES.band_for(days)

        assert (reached.code if reached else None) == band

    @pytest.mark.parametrize(
        ("days", "run", "band"),
        [
            (10, 10, "B4"),
            (40, 10, "B4"),
            (14, 12, "B4"),
            (10, 9, "R3"),
            (9, 9, "R3"),
            (2, 2, None),
        ],
        ids=[
            "ten-day-run-of-ten-days",
            "ten-day-run-above-dismissal-by-count",
            "twelve-day-run",
            "nine-day-run-counts-by-days-only",
            "nine-days-all-in-a-row",
            "two-days-in-a-row",
        ],
    )
    def test_ten_consecutive_working_days_give_b4(self, days, run, band):
        reached = RULES.band_for(days, longest_tk_run=run)

        assert (reached.code if reached else None) == band

    def test_b4_is_the_heaviest_band(self):
        assert RULES.band("B4").rank > RULES.band("B3").rank
        assert RULES.band("B4").level == "berat"


class TestTkEquivalent:
    @pytest.mark.parametrize(
        ("tk", "late", "early", "expected"),
        [
            (0, 449, 0, 0),
            (0, 450, 0, 1),
            (0, 899, 0, 1),
            (0, 900, 0, 2),
            (0, 300, 150, 1),
            (0, 0, 450, 1),
            (3, 449, 0, 3),
            (3, 450, 450, 5),
            (0, 0, 0, 0),
        ],
        ids=[
            "449-minutes-add-nothing",
            "450-minutes-add-a-day",
            "899-minutes-add-one-day",
            "900-minutes-add-two-days",
            "late-and-early-add-up",
            "early-leave-alone",
            "tk-plus-449",
            "tk-plus-900-split",
            "nothing",
        ],
    )
    def test_every_450_minutes_of_late_and_early_leave_is_one_more_day(
        self, tk, late, early, expected
    ):
        assert RULES.tk_equivalent(tk, late, early, 0, 0) == expected

    def test_missing_punches_count_nothing_by_default(self):
        assert RULES.tk_equivalent(1, 0, 0, 20, 20) == 1

    def test_missing_punches_count_as_minutes_when_local_policy_says_so(self):
        # 3 missing check-ins at 90 minutes and 3 missing check-outs at 60: 270 + 180 = 450.
        policy = dataclasses.replace(
            RULES, missing_check_in_minutes=90, missing_check_out_minutes=60
        )

        assert policy.tk_equivalent(0, 0, 0, 3, 3) == 1
        assert policy.tk_equivalent(0, 0, 0, 3, 2) == 0


class TestBands:
    @pytest.mark.parametrize(
        ("code", "label", "days"),
        [
            ("R1", "Hukuman disiplin ringan - Teguran lisan", "3 hari"),
            ("R2", "Hukuman disiplin ringan - Teguran tertulis", "4-6 hari"),
            (
                "S1",
                "Hukuman disiplin sedang - Pemotongan tunjangan kinerja sebesar 25% selama 6 bulan",
                "11-13 hari",
            ),
            (
                "B3",
                "Hukuman disiplin berat - Pemberhentian dengan hormat tidak atas permintaan "
                "sendiri sebagai PNS",
                "28 hari atau lebih",
            ),
        ],
        ids=["R1", "R2", "S1", "B3"],
    )
    def test_band_reads_in_indonesian(self, code, label, days):
        band = RULES.band(code)

        assert (band.label_id, band.days_label) == (label, days)

    def test_bands_are_contiguous_from_3_days_without_gaps(self):
        bands = RULES.bands

        assert bands[0].min_days == 3
        assert [b.min_days for b in bands[1:]] == [b.max_days + 1 for b in bands[:-1]]
        assert bands[-1].max_days is None

    def test_every_band_code_in_rank_order(self):
        assert RULES.band_codes() == ["R1", "R2", "R3", "S1", "S2", "S3", "B1", "B2", "B3", "B4"]

    def test_unknown_band_code_is_refused_with_the_known_ones(self):
        with pytest.raises(ValueError, match=r"Unknown band 'R9'; known bands are \['R1', "):
            RULES.band("R9")


class TestRuleSetFor:
    def test_rules_in_force_on_the_day_pp_94_2021_took_effect(self):
        rules = rule_set_for(dt.date(2021, 8, 31))

        assert (rules.version, rules.regulation) == ("pp94-2021.1", "PP 94/2021")
        assert rules.minutes_per_tk_day == 450

    def test_day_before_any_rule_version_is_refused(self):
        with pytest.raises(
            ConfigurationError,
            match=r"No discipline rule version is in force on 2021-08-30: PP 94/2021 applies "
            r"from 2021-08-31",
        ):
            rule_set_for(dt.date(2021, 8, 30))
