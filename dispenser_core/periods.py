"""Periods of a recap: a month (``2025-11``) or a year (``2025``), in local dates."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2}))?$")


@dataclass(frozen=True)
class Period:
    year: int
    month: int | None = None

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read ``YYYY-MM`` or ``YYYY``; anything else is a ValueError that says what to type."""
        match = _PATTERN.match(str(text).strip())
        month = int(match["month"]) if match and match["month"] else None
        if not match or (month is not None and not 1 <= month <= 12) or int(match["year"]) < 1900:
            raise ValueError(f"Period {text!r} is not a month like 2025-11 or a year like 2025.")
        return cls(int(match["year"]), month)

    @classmethod
    def month_before(cls, day: dt.date) -> Period:
        first = day.replace(day=1) - dt.timedelta(days=1)
        return cls(first.year, first.month)

    @property
    def kind(self) -> str:
        return "year" if self.month is None else "month"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.month or 1, 1)

    @property
    def end(self) -> dt.date:
        month = self.month or 12
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    @property
    def year_start(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def label_id(self) -> str:
        """The period as people read it: 'November 2025' or 'Tahun 2025'."""
        if self.month is None:
            return f"Tahun {self.year}"
        return f"{MONTHS_ID[self.month - 1]} {self.year}"

    def has_started(self, today: dt.date) -> bool:
        """Whether the period can be judged on ``today``: a month or year not yet begun has no
        attendance, only days that would all look absent."""
        return self.start <= today

    def __str__(self) -> str:
        return str(self.year) if self.month is None else f"{self.year}-{self.month:02d}"
