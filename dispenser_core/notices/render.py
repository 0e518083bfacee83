"""Rendering notices in Indonesian from the versioned Jinja2 templates beside this module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from dispenser_core.candidates import VIOLATION
from dispenser_core.periods import MONTHS_ID, Period
from dispenser_core.rules import rule_set_for

# Bump when a template's wording changes: every notice records the version it was built from.
TEMPLATE_VERSION = "2025.2"

_environment = Environment(
    loader=PackageLoader("dispenser_core.notices", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=False,
    autoescape=False,  # plain text for the ASN app, not HTML
)


@dataclass(frozen=True)
class Person:
    nip: str
    name: str


def tanggal(day: dt.date | str) -> str:
    """A date as Indonesians write it: '3 November 2025'."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def notice_title(kind: str, period: Period) -> str:
    if kind == VIOLATION:
        return f"Peringatan Disiplin Kehadiran - {period.label_id}"
    return f"Apresiasi Kehadiran Terbaik - {period.label_id}"


def render_notice(
    kind: str,
    role: str,
    *,
    period: Period,
    item: dict,
    employee: Person,
    recipient: Person,
    unit_name: str,
) -> str:
    """The body of one notice; ``role`` is ``employee`` or ``supervisor``."""
    context = {
        "employee": employee,
        "recipient": recipient,
        "unit_name": unit_name,
        "period_label": period.label_id,
        "year": period.year,
        "details": item["details"],
        "counted_days": item["counted_days"],
        "rank": item.get("rank"),
    }
    if kind == VIOLATION:
        rules = rule_set_for(period.end)
        band = rules.band(item["band_code"])
        context |= {
            "band": band,
            "consecutive_code": rules.consecutive_band.code,
            "minutes_per_day": rules.minutes_per_tk_day,
            "band_days": (
                "10 hari kerja berturut-turut"
                if band is rules.consecutive_band
                else f"{band.days_label} dalam satu tahun"
            ),
            "tk_dates": [tanggal(d) for d in item["details"].get("tk_dates_ytd", [])],
        }
    # A violation notice has one template per band (what follows differs by level); each
    # extends the shared wording in violation_<role>.txt.j2.
    name = f"{kind}_{item['band_code']}_{role}" if kind == VIOLATION else f"{kind}_{role}"
    template = _environment.get_template(f"{name}.txt.j2")
    return template.render(**context).strip() + "\n"
