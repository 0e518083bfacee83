"""What the approver reads before deciding: the draft, its employees with their counted days
and evidence, and a preview of both notices. Markdown, as Airflow's approval page renders it."""

from __future__ import annotations

from sqlalchemy import Connection, select

from dispenser_core.candidates import VIOLATION
from dispenser_core.drafts import Draft
from dispenser_core.notices.render import Person, notice_title, render_notice, tanggal
from dispenser_core.periods import Period
from dispenser_core.rules import rule_set_for
from dispenser_core.storage.schema import work_units
from dispenser_core.supervisors import people_on, supervisor_of

MAX_DATES_SHOWN = 12


def approval_subject(draft: Draft) -> str:
    return f"{draft.title} ({len(draft.items)} pegawai)"


def _tk_day(day: dict) -> str:
    label = tanggal(day["day"])
    if day["reason"] == "no_punch_in_windows":
        return f"{label} (presensi di luar jam: {day['punches']})"
    return label


def _evidence(item: dict) -> str:
    details = item["details"]
    if "tk_dates_ytd" not in details:
        return (
            f"hadir {details['present']}/{details['working_days']} hari kerja (selebihnya cuti, "
            f"sakit, izin atau dinas), {details['late_and_early_minutes']} menit terlambat/pulang "
            f"cepat, {details['missing_punches']} kali tidak absen"
        )
    tk_days = [d for d in details.get("evidence", []) if d["status"] == "absent_without_reason"]
    dates = [_tk_day(day) for day in tk_days]
    shown = ", ".join(dates[:MAX_DATES_SHOWN]) + (
        f" (+{len(dates) - MAX_DATES_SHOWN})" if len(dates) > MAX_DATES_SHOWN else ""
    )
    return (
        f"tahun ini: TK {details['tk_days_ytd']} hari ({shown or '-'}) dan "
        f"{details['late_early_minutes_ytd']} menit terlambat/pulang cepat; bulan ini: TK "
        f"{details['tk_days_period']}, terlambat {details['late_minutes_period']} mnt, pulang "
        f"cepat {details['early_leave_minutes_period']} mnt"
    )


def _preview(draft: Draft, period: Period, people: dict, units: dict) -> list[str]:
    item = draft.items[0]
    person = people[item["nip"]]
    heads = {code: unit.head_nip for code, unit in units.items()}
    supervisor = supervisor_of(person, people, heads)
    lines = [f"### Pratinjau notifikasi ({notice_title(draft.kind, period)})", ""]
    roles = [("employee", person["nip"])] + ([("supervisor", supervisor)] if supervisor else [])
    for role, recipient_nip in roles:
        recipient = people.get(recipient_nip, {"name": recipient_nip})
        body = render_notice(
            draft.kind,
            role,
            period=period,
            item={**item, "rank": item["details"].get("rank_in_unit")},
            employee=Person(person["nip"], person["name"]),
            recipient=Person(recipient_nip, recipient["name"]),
            unit_name=units[person["opd_code"]].name,
        )
        label = "Untuk pegawai" if role == "employee" else "Untuk atasan langsung"
        lines += [
            f"**{label}:**",
            "",
            *[f"> {line}  " if line else ">" for line in body.splitlines()],
            "",
        ]
    return lines


def approval_body(conn: Connection, draft: Draft) -> str:
    """The Markdown shown on the approval page."""
    period = Period.parse(draft.period)
    people = people_on(conn, period.end)
    units = {r.opd_code: r for r in conn.execute(select(work_units))}
    band_filter = (
        rule_set_for(period.end).band(draft.band_filter).label_id if draft.band_filter else "Semua"
    )
    lines = [
        f"## {draft.title}",
        "",
        f"- **Periode:** {period.label_id}",
        f"- **OPD:** {draft.opd_filter or 'Semua OPD'}",
        f"- **Data hukuman:** {band_filter}",
        f"- **Jumlah pegawai:** {len(draft.items)}",
        f"- **Draft:** #{draft.draft_id}, sidik isi `{draft.content_hash[:16]}`",
        f"- **Catatan:** {draft.note or '-'}",
        "",
        "Pilih **Setujui semua**, **Setujui kecuali NIP terpilih** (isi NIP yang dikecualikan di "
        "formulir), atau **Tolak**. Tanpa jawaban sampai batas waktu, draft dianggap ditolak.",
        "",
    ]
    band_header = "Hukuman" if draft.kind == VIOLATION else "Peringkat di OPD"
    lines += [
        f"| NIP | Pegawai | OPD | {band_header} | Hari dihitung | Bukti |",
        "|---|---|---|---|---|---|",
    ]
    for item in draft.items:
        person = people[item["nip"]]
        band = item["band_code"] or item["details"].get("rank_in_unit", "-")
        lines.append(
            f"| {item['nip']} | {person['name']} | {person['opd_code']} | {band} | "
            f"{item['counted_days']} | {_evidence(item)} |"
        )
    lines.append("")
    if draft.items:
        lines += _preview(draft, period, people, units)
    return "\n".join(lines)
