"""Violation and appreciation candidates of a period, from its recap.

A violation candidate is an employee whose year-to-date TK equivalent (or a run of consecutive
TK days) reaches a PP 94/2021 band *higher than the last band approved and sent to them this
year*: reruns and later months never repeat a warning. An appreciation candidate was present
on every working day (absences with a reason allowed), had no TK, and is ranked by the fewest
late and early-leave minutes, then the fewest missing punches. Anyone who is a violation
candidate, or was warned this year, is never an appreciation candidate.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, delete, func, or_, select

from dispenser_core.daily_status import TK, drop_repeats
from dispenser_core.periods import Period
from dispenser_core.recap import IN_CHUNKS, local_punches, staff_of
from dispenser_core.rules import RuleSet, rule_set_for
from dispenser_core.storage.frames import insert_frame, read_frame
from dispenser_core.storage.schema import candidates, daily_status, drafts, notices, recaps

log = logging.getLogger(__name__)

VIOLATION = "violation"
APPRECIATION = "appreciation"
KINDS = (VIOLATION, APPRECIATION)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def last_sent_bands(conn: Connection, year: int) -> dict[str, str]:
    """Per employee, the band of the latest violation notice delivered to them in ``year``."""
    rows = conn.execute(
        select(notices.c.nip, notices.c.band_code, notices.c.sent_at)
        .join(drafts, drafts.c.draft_id == notices.c.draft_id)
        .where(
            drafts.c.kind == VIOLATION,
            notices.c.status == "sent",
            notices.c.recipient_role == "employee",
            drafts.c.period.like(f"{year}%"),
        )
        .order_by(notices.c.sent_at)
    ).all()
    return {nip: band for nip, band, _ in rows}


def _punch_lists(conn: Connection, nips: list[str], period: Period) -> dict[tuple, str]:
    """Every punch of each (nip, local date) of the year so far, '*' marking a repeat."""
    staff = staff_of(conn, nips, period.year_start, period.end)
    found = drop_repeats(local_punches(conn, staff, period.year_start, period.end))
    found["date"] = found["local_time"].dt.date
    found["label"] = found["local_time"].dt.strftime("%H:%M:%S") + np.where(found["kept"], "", "*")
    grouped = found.groupby(["nip", "date"], observed=True)["label"]
    return {key: " ".join(labels) for key, labels in grouped}


def counted_days(conn: Connection, period: Period, nips: list[str]) -> dict[str, list[dict]]:
    """Per employee, every day of the year so far that counted towards their violation days,
    with its evidence: the schedule that applied, the punches seen, why it counted."""
    ds = daily_status.c
    counted = or_(
        ds.status == TK,
        ds.late_minutes > 0,
        ds.early_leave_minutes > 0,
        ds.missing_check_in > 0,
        ds.missing_check_out > 0,
        ds.policy_flag == "absent_candidate",
    )
    days: dict[str, list[dict]] = {}
    for offset in range(0, len(nips), IN_CHUNKS):
        rows = conn.execute(
            select(
                ds.nip,
                ds.day,
                ds.status,
                ds.schedule_code,
                ds.schedule_start,
                ds.schedule_end,
                ds.check_in_local,
                ds.check_out_local,
                ds.late_minutes,
                ds.early_leave_minutes,
                ds.reason,
            )
            .where(
                ds.day.between(period.year_start, period.end),
                counted,
                ds.nip.in_(nips[offset : offset + IN_CHUNKS]),
            )
            .order_by(ds.nip, ds.day)
        ).mappings()
        for row in rows:
            days.setdefault(row["nip"], []).append(_evidence(row))
    punches = _punch_lists(conn, list(days), period) if days else {}
    for nip, listed in days.items():
        for day in listed:
            day["punches"] = punches.get((nip, dt.date.fromisoformat(day["day"])), "")
    return days


def _clock(value) -> str | None:
    return f"{value:%H:%M:%S}" if value else None


def _evidence(row) -> dict:
    return {
        "day": row["day"].isoformat(),
        "status": row["status"],
        "reason": row["reason"],
        "schedule": f"{row['schedule_code']} {row['schedule_start']:%H:%M}-"
        f"{row['schedule_end']:%H:%M}",
        "check_in": _clock(row["check_in_local"]),
        "check_out": _clock(row["check_out_local"]),
        "late_minutes": row["late_minutes"],
        "early_leave_minutes": row["early_leave_minutes"],
    }


def _read_recap(conn: Connection, period: Period) -> pd.DataFrame:
    return read_frame(
        conn,
        select(recaps).where(recaps.c.period_kind == period.kind, recaps.c.period == str(period)),
    )


def _violation_rows(
    recap: pd.DataFrame, rules: RuleSet, sent: dict[str, str], evidence: dict[str, list[dict]]
) -> list[dict]:
    found = []
    for row in recap.itertuples():
        band = rules.band_for(row.tk_ytd_equivalent, row.longest_tk_run_ytd)
        if band is None:
            continue
        last = sent.get(row.nip)
        if last is not None and rules.band(last).rank >= band.rank:
            continue
        counted = (
            row.longest_tk_run_ytd if band is rules.consecutive_band else row.tk_ytd_equivalent
        )
        found.append(
            {
                "nip": row.nip,
                "opd_code": row.opd_code,
                "band_code": band.code,
                "counted_days": int(counted),
                "rank": None,
                "details": {
                    "tk_days_period": int(row.tk),
                    "tk_equivalent_period": int(row.tk_equivalent),
                    "tk_days_ytd": int(row.tk_ytd),
                    "late_early_minutes_ytd": int(row.late_early_minutes_ytd),
                    "tk_ytd_equivalent": int(row.tk_ytd_equivalent),
                    "longest_tk_run_ytd": int(row.longest_tk_run_ytd),
                    "late_minutes_period": int(row.late_minutes),
                    "early_leave_minutes_period": int(row.early_leave_minutes),
                    "missing_check_in_period": int(row.missing_check_in),
                    "missing_check_out_period": int(row.missing_check_out),
                    "tk_dates_ytd": [
                        d["day"] for d in evidence.get(row.nip, []) if d["status"] == TK
                    ],
                    "evidence": evidence.get(row.nip, []),
                    "last_sent_band": last,
                    "calendar_version": row.calendar_version,
                },
            }
        )
    return found


def _appreciation_rows(recap: pd.DataFrame, excluded: set[str], top_per_unit: int) -> list[dict]:
    reasoned = (
        recap["leave"] + recap["sick"] + recap["permit"] + recap["official_duty"] + recap["study"]
    )
    qualifies = (
        (recap["present"] > 0)
        & (recap["tk"] == 0)
        & (recap["no_data"] == 0)
        & (recap["present"] + reasoned == recap["working_days"])
        & ~recap["nip"].isin(excluded)
    )
    best = (
        recap[qualifies]
        .assign(
            minutes=recap["late_minutes"] + recap["early_leave_minutes"],
            missing=recap["missing_check_in"] + recap["missing_check_out"],
        )
        .sort_values(["opd_code", "minutes", "missing", "nip"])
    )
    best["rank"] = best.groupby("opd_code").cumcount() + 1
    if top_per_unit > 0:
        best = best[best["rank"] <= top_per_unit]
    return [
        {
            "nip": r.nip,
            "opd_code": r.opd_code,
            "band_code": None,
            "counted_days": int(r.present),
            "rank": int(r.rank),
            "details": {
                "rank_in_unit": int(r.rank),
                "present": int(r.present),
                "absences_with_reason": int(r.working_days - r.present),
                "working_days": int(r.working_days),
                "late_and_early_minutes": int(r.minutes),
                "missing_punches": int(r.missing),
            },
        }
        for r in best.itertuples()
    ]


def find_candidates(conn: Connection, period: Period, top_per_unit: int = 3) -> dict[str, int]:
    """Store the violation and appreciation candidates of ``period``; returns counts per kind."""
    rules = rule_set_for(period.end)
    recap = _read_recap(conn, period)
    sent = last_sent_bands(conn, period.year)

    reached = [
        r.nip
        for r in recap.itertuples()
        if rules.band_for(r.tk_ytd_equivalent, r.longest_tk_run_ytd) is not None
    ]
    violations = _violation_rows(recap, rules, sent, counted_days(conn, period, reached))
    excluded = {row["nip"] for row in violations} | set(sent)
    appreciations = _appreciation_rows(recap, excluded, top_per_unit)

    conn.execute(delete(candidates).where(candidates.c.period == str(period)))
    now = _utcnow()
    for kind, rows in ((VIOLATION, violations), (APPRECIATION, appreciations)):
        frame = pd.DataFrame(
            rows, columns=["nip", "opd_code", "band_code", "counted_days", "rank", "details"]
        )
        frame = frame.assign(
            kind=kind, period=str(period), rule_version=rules.version, computed_at=now
        )
        insert_frame(conn, candidates, frame)
    counts = {VIOLATION: len(violations), APPRECIATION: len(appreciations)}
    log.info("Candidates %s: %d violation, %d appreciation", period, *counts.values())
    return counts


def candidate_rows(conn: Connection, period: Period, kind: str) -> list[dict]:
    query = (
        select(candidates)
        .where(and_(candidates.c.period == str(period), candidates.c.kind == kind))
        .order_by(candidates.c.opd_code, candidates.c.nip)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def candidate_counts(conn: Connection, period: Period) -> dict[str, int]:
    rows = conn.execute(
        select(candidates.c.kind, func.count())
        .where(candidates.c.period == str(period))
        .group_by(candidates.c.kind)
    ).all()
    return {kind: 0 for kind in KINDS} | dict(rows)
