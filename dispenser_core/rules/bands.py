"""PP 94/2021 punishment bands, read from the versioned rule file ``discipline_bands.json``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from dispenser_core.exceptions import ConfigurationError

LEVELS_ID = {
    "ringan": "Hukuman disiplin ringan",
    "sedang": "Hukuman disiplin sedang",
    "berat": "Hukuman disiplin berat",
}


@dataclass(frozen=True)
class Band:
    code: str
    rank: int
    level: str
    punishment: str
    min_days: int
    max_days: int | None

    @property
    def label_id(self) -> str:
        """'Hukuman disiplin ringan - Teguran lisan'."""
        return f"{LEVELS_ID[self.level]} - {self.punishment}"

    @property
    def days_label(self) -> str:
        if self.max_days is None:
            return f"{self.min_days} hari atau lebih"
        if self.max_days == self.min_days:
            return f"{self.min_days} hari"
        return f"{self.min_days}-{self.max_days} hari"


@dataclass(frozen=True)
class RuleSet:
    version: str
    regulation: str
    effective_from: dt.date
    minutes_per_tk_day: int
    missing_check_in_minutes: int
    missing_check_out_minutes: int
    # Whether a day whose worked time is below the schedule's absent threshold counts as TK.
    absent_candidate_counts_as_tk: bool
    bands: tuple[Band, ...]
    consecutive_band: Band

    def tk_equivalent(
        self,
        tk: int,
        late: int,
        early: int,
        missing_in: int,
        missing_out: int,
        absent_candidates: int = 0,
    ) -> int:
        """TK days plus one day for every ``minutes_per_tk_day`` of late arrival and early
        leave (missing punches count as minutes by local policy, nothing by default; days worked
        too short count as TK only when the rule file says so)."""
        minutes = (
            late
            + early
            + missing_in * self.missing_check_in_minutes
            + missing_out * self.missing_check_out_minutes
        )
        short_days = absent_candidates if self.absent_candidate_counts_as_tk else 0
        return tk + short_days + minutes // self.minutes_per_tk_day

    def band_for(self, counted_days: int, longest_tk_run: int = 0) -> Band | None:
        """The highest band reached by ``counted_days`` in the year or by a run of TK days."""
        reached = [b for b in self.bands if counted_days >= b.min_days]
        if longest_tk_run >= self.consecutive_band.min_days:
            reached.append(self.consecutive_band)
        return max(reached, key=lambda band: band.rank, default=None)

    def band(self, code: str) -> Band:
        for band in (*self.bands, self.consecutive_band):
            if band.code == code:
                return band
        raise ValueError(f"Unknown band {code!r}; known bands are {self.band_codes()}.")

    def band_codes(self) -> list[str]:
        return [band.code for band in (*self.bands, self.consecutive_band)]


def _rule_set(raw: dict) -> RuleSet:
    consecutive = raw["consecutive"]
    return RuleSet(
        version=raw["version"],
        regulation=raw["regulation"],
        effective_from=dt.date.fromisoformat(raw["effective_from"]),
        minutes_per_tk_day=raw["counting"]["minutes_per_tk_day"],
        missing_check_in_minutes=raw["counting"]["missing_check_in_minutes"],
        missing_check_out_minutes=raw["counting"]["missing_check_out_minutes"],
        absent_candidate_counts_as_tk=raw["counting"].get("absent_candidate_counts_as_tk", False),
        bands=tuple(
            Band(b["code"], b["rank"], b["level"], b["punishment"], b["min_days"], b["max_days"])
            for b in raw["bands"]
        ),
        consecutive_band=Band(
            consecutive["code"],
            consecutive["rank"],
            consecutive["level"],
            consecutive["punishment"],
            consecutive["days"],
            None,
        ),
    )


@cache
def _all_rule_sets() -> tuple[RuleSet, ...]:
    text = resources.files("dispenser_core.rules").joinpath("discipline_bands.json").read_text()
    versions = [_rule_set(raw) for raw in json.loads(text)["versions"]]
    return tuple(sorted(versions, key=lambda r: r.effective_from))


def rule_set_for(day: dt.date) -> RuleSet:
    """The rule version in force on ``day``."""
    in_force = [r for r in _all_rule_sets() if r.effective_from <= day]
    if not in_force:
        first = _all_rule_sets()[0]
        raise ConfigurationError(
            f"No discipline rule version is in force on {day}: {first.regulation} applies from "
            f"{first.effective_from}. To judge older periods, add the rules then in force to "
            "rules/discipline_bands.json as an earlier version."
        )
    return in_force[-1]
