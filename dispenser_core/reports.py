"""What the CLI and the demo print: recaps, candidates and drafts as rows and tables."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select
from tabulate import tabulate

from dispenser_core.periods import MONTHS_ID, Period
from dispenser_core.rules import rule_set_for
from dispenser_core.storage.schema import (
    candidates,
    draft_items,
    drafts,
    employees,
    import_batches,
    recaps,
    rejected_records,
    work_units,
)

RECAP_FIELDS = (
    "nip",
    "name",
    "opd_code",
    "grade",
    "working_days",
    "present",
    "absent",
    "tk",
    "leave",
    "sick",
    "permit",
    "official_duty",
    "study",
    "no_data",
    "pending",
    "data_problem",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
    "tk_equivalent",
    "tk_ytd_equivalent",
    "revision",
)
# Headers as on the original "Rekapitulasi Kehadiran" screen.
RECAP_HEADERS_ID = {
    "nip": "NIP",
    "name": "PEGAWAI",
    "opd_code": "OPD",
    "grade": "GOL",
    "working_days": "HARI KERJA",
    "present": "HADIR",
    "absent": "TIDAK HADIR",
    "tk": "TANPA KET",
    "leave": "CUTI",
    "sick": "SAKIT",
    "permit": "IZIN",
    "official_duty": "DL",
    "study": "TB",
    "no_data": "BLM ADA DATA",
    "pending": "MENUNGGU",
    "data_problem": "MASALAH DATA",
    "missing_check_in": "TIDAK MASUK",
    "missing_check_out": "TIDAK PULANG",
    "late_minutes": "TELAT (MNT)",
    "early_leave_minutes": "PSW (MNT)",
    "tk_equivalent": "TK SETARA",
    "tk_ytd_equivalent": "TK TAHUN INI",
    "revision": "REVISI",
}
# The recap summed per unit: "PEGAWAI" counts the unit's employees there.
UNIT_HEADERS_ID = RECAP_HEADERS_ID | {"employees": "PEGAWAI"}
UNIT_LIST_HEADERS_ID = {"opd_code": "KODE OPD", "name": "NAMA OPD"}
UNIT_SUM_FIELDS = (
    "working_days",
    "present",
    "tk",
    "leave",
    "sick",
    "permit",
    "official_duty",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
)


def unit_names(conn: Connection) -> dict[str, str]:
    """Every loaded unit: code -> name."""
    return dict(conn.execute(select(work_units.c.opd_code, work_units.c.name)).all())


def recap_rows(conn: Connection, period: Period, units: tuple[str, ...] = ()) -> list[dict]:
    query = (
        select(recaps, employees.c.name, employees.c.grade)
        .join(employees, employees.c.nip == recaps.c.nip)
        .where(recaps.c.period_kind == period.kind, recaps.c.period == str(period))
        .order_by(recaps.c.opd_code, recaps.c.nip)
    )
    if units:
        query = query.where(recaps.c.opd_code.in_(units))
    return [{name: row[name] for name in RECAP_FIELDS} for row in conn.execute(query).mappings()]


def unit_rows(rows: list[dict]) -> list[dict]:
    """The recap summed per unit."""
    units: dict[str, dict] = {}
    for row in rows:
        unit = units.setdefault(
            row["opd_code"],
            {"opd_code": row["opd_code"], "employees": 0, **dict.fromkeys(UNIT_SUM_FIELDS, 0)},
        )
        unit["employees"] += 1
        for name in UNIT_SUM_FIELDS:
            unit[name] += row[name]
    return list(units.values())


def candidate_report_rows(conn: Connection, period: Period) -> list[dict]:
    rules = rule_set_for(period.end)
    query = (
        select(
            candidates.c.kind,
            candidates.c.nip,
            employees.c.name,
            candidates.c.opd_code,
            candidates.c.band_code,
            candidates.c.counted_days,
            candidates.c.rank,
        )
        .join(employees, employees.c.nip == candidates.c.nip)
        .where(candidates.c.period == str(period))
        .order_by(candidates.c.kind.desc(), candidates.c.opd_code, candidates.c.nip)
    )
    rows = []
    for row in conn.execute(query).mappings():
        band = rules.band(row["band_code"]).label_id if row["band_code"] else ""
        rows.append({**row, "band": band})
    return rows


def draft_rows(conn: Connection, status: str | None = None) -> list[dict]:
    query = (
        select(
            drafts.c.draft_id,
            drafts.c.title,
            drafts.c.kind,
            drafts.c.period,
            drafts.c.status,
            func.count(draft_items.c.nip).label("employees"),
            drafts.c.excluded_nips,
            drafts.c.updated_at,
        )
        .join(draft_items, draft_items.c.draft_id == drafts.c.draft_id, isouter=True)
        .group_by(drafts.c.draft_id)
        .order_by(drafts.c.updated_at.desc(), drafts.c.draft_id.desc())
    )
    if status:
        query = query.where(drafts.c.status == status)
    rows = []
    for row in conn.execute(query).mappings():
        row = dict(row)
        row["excluded"] = len(row.pop("excluded_nips") or [])
        rows.append(row)
    return rows


def in_zone(moment: dt.datetime, timezone: str) -> dt.datetime:
    """A stored time (naive UTC) as the agency reads it."""
    return moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone))


def local_draft_rows(
    rows: list[dict], timezone: str, fmt: str
) -> tuple[list[dict], dict[str, str]]:
    """Drafts with ``updated_at`` in the agency's zone, and table headers that name the zone
    ('updated_at (WIB)'); CSV and JSON keep the offset in the value instead."""
    zone_name = dt.datetime.now(ZoneInfo(timezone)).tzname()
    shown = []
    for row in rows:
        local = in_zone(row["updated_at"], timezone).replace(microsecond=0)
        shown.append(row | {"updated_at": f"{local:%Y-%m-%d %H:%M}" if fmt == "table" else local})
    return shown, {"updated_at": f"updated_at ({zone_name})"}


def batch_exists(conn: Connection, batch_id: int) -> bool:
    found = select(import_batches.c.batch_id).where(import_batches.c.batch_id == batch_id)
    return conn.execute(found).first() is not None


def rejected_rows(
    conn: Connection, batch_id: int | None = None, limit: int | None = None
) -> list[dict]:
    """Rows kept aside by loading, newest batch first, with their reason."""
    query = (
        select(
            rejected_records.c.batch_id,
            import_batches.c.file_name,
            rejected_records.c.line_number,
            rejected_records.c.reason,
            rejected_records.c.detail,
            rejected_records.c.raw,
        )
        .join(import_batches, import_batches.c.batch_id == rejected_records.c.batch_id)
        .order_by(rejected_records.c.batch_id.desc(), rejected_records.c.line_number)
    )
    if batch_id is not None:
        query = query.where(rejected_records.c.batch_id == batch_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def pending_summary(rows: list[dict], timezone: str = "Asia/Jakarta") -> str:
    """The dashboard's sentence: 'Anda memiliki 1 draft pending siap dikirim.' and the latest."""
    pending = [r for r in rows if r["status"] in ("pending", "awaiting_approval")]
    if not pending:
        return "Tidak ada draft pending."
    latest = pending[0]
    updated = in_zone(latest["updated_at"], timezone)
    return (
        f"Anda memiliki {len(pending)} draft pending siap dikirim. Draft terbaru: "
        f"{latest['title']} ({latest['employees']} pegawai, diperbarui "
        f"{updated.day} {MONTHS_ID[updated.month - 1][:3]} {updated.year}, {updated:%H:%M})"
    )


def band_summary(found: list[dict], period: Period) -> list[dict]:
    """How many candidates per band, the most severe band first, appreciation last."""
    rules = rule_set_for(period.end)
    counts: dict[tuple, int] = {}
    for row in found:
        key = (row["band_code"] or "APR", row["band"] or "Apresiasi (kehadiran terbaik)")
        counts[key] = counts.get(key, 0) + 1

    def severity(code: str) -> int:
        return 0 if code == "APR" else rules.band(code).rank

    return [
        {"kode": code, "kategori": label, "pegawai": n}
        for (code, label), n in sorted(counts.items(), key=lambda c: -severity(c[0][0]))
    ]


def render(
    rows: list[dict], fmt: str, headers: dict[str, str] | None = None, columns: tuple[str, ...] = ()
) -> str:
    """Rows as a terminal table, CSV or JSON; ``columns`` names the CSV header when no row
    is there to give it."""
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        names = list(rows[0]) if rows else list(columns)
        if names:
            writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return buffer.getvalue()
    if not rows:
        return "(tidak ada data)\n"
    labels = {name: (headers or {}).get(name, name) for name in rows[0]}
    return (
        tabulate([list(r.values()) for r in rows], headers=list(labels.values()), tablefmt="simple")
        + "\n"
    )
