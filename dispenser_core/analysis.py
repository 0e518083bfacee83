"""The "Analisis Disiplin" form: what an operator asks for, checked before anything is written.

The form's fields carry the labels of the original screen. Every problem is reported at once, in
Indonesian, saying what to change; nothing is saved until the whole request is valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dispenser_core.candidates import APPRECIATION, VIOLATION
from dispenser_core.drafts import NEW, OVERWRITE, DraftFilters
from dispenser_core.exceptions import DispenserError
from dispenser_core.notices.render import tanggal
from dispenser_core.periods import Period
from dispenser_core.rules import rule_set_for

KIND_LABELS = {"Pelanggaran": VIOLATION, "Apresiasi": APPRECIATION}
MODE_LABELS = {"Buat Draft Baru": NEW, "Timpa Draft": OVERWRITE}
ALL_BANDS = "Semua"


class RequestInvalid(DispenserError):
    """The form holds values that cannot be used; the message lists each and what to change."""


@dataclass(frozen=True)
class AnalysisRequest:
    period: Period
    filters: DraftFilters
    mode: str
    title: str
    note: str


def _whole_days(value, label: str, problems: list[str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        problems.append(f"{label} '{value}' bukan bilangan bulat: isi jumlah hari, misalnya 3.")
        return None
    if days < 0:
        problems.append(f"{label} ({days}) tidak boleh negatif.")
    return days


def _period(value, today: dt.date, problems: list[str]) -> Period | None:
    try:
        period = Period.parse(str(value or ""))
    except ValueError:
        problems.append(
            f"Periode '{value}' tidak dikenali: tulis bulan seperti 2025-11 atau tahun "
            "seperti 2025."
        )
        return None
    if not period.has_started(today):
        problems.append(
            f"Periode {period.label_id} belum dimulai (hari ini {tanggal(today)}): "
            "pilih periode yang sudah berjalan atau sudah lewat."
        )
        return None
    return period


def read_request(form: dict, *, today: dt.date, units: dict[str, str]) -> AnalysisRequest:
    """Check the form against the rules and the known units (code -> name)."""
    problems: list[str] = []
    period = _period(form.get("periode"), today, problems)

    kind = KIND_LABELS.get(form.get("jenis") or "Pelanggaran")
    if kind is None:
        problems.append(
            f"Jenis '{form.get('jenis')}' tidak dikenal: pilih Pelanggaran atau Apresiasi."
        )

    chosen_units = tuple(sorted({u.strip() for u in form.get("opd") or [] if u and u.strip()}))
    unknown = [u for u in chosen_units if u not in units]
    if unknown:
        problems.append(
            f"OPD tidak dikenal: {', '.join(unknown)}. Pilih dari: "
            f"{', '.join(sorted(units))} (kosongkan untuk Semua OPD)."
        )

    band = form.get("data_hukuman") or ALL_BANDS
    if band != ALL_BANDS:
        if kind == APPRECIATION:
            problems.append(
                "Data hukuman hanya berlaku untuk Pelanggaran: pilih 'Semua' untuk Apresiasi."
            )
        elif period and band not in rule_set_for(period.end).band_codes():
            problems.append(
                f"Data hukuman '{band}' tidak dikenal: pilih salah satu dari "
                f"{', '.join(rule_set_for(period.end).band_codes())}."
            )

    low = _whole_days(form.get("minimal_hari"), "Minimal hari pelanggaran", problems)
    high = _whole_days(form.get("maksimal_hari"), "Maksimal hari pelanggaran", problems)
    if low is not None and high is not None and low > high:
        problems.append(
            f"Minimal hari pelanggaran ({low}) lebih besar dari maksimal ({high}): "
            "turunkan minimal atau naikkan maksimal."
        )

    mode = MODE_LABELS.get(form.get("mode_draft") or "Buat Draft Baru")
    if mode is None:
        problems.append(
            f"Mode draft '{form.get('mode_draft')}' tidak dikenal: pilih Buat Draft "
            "Baru atau Timpa Draft."
        )

    if problems:
        raise RequestInvalid("Formulir belum bisa diproses:\n- " + "\n- ".join(problems))
    filters = DraftFilters(
        kind=kind,
        units=chosen_units,
        band=None if band == ALL_BANDS else band,
        min_days=low,
        max_days=high,
        employee=(form.get("pegawai") or "").strip() or None,
    )
    return AnalysisRequest(
        period,
        filters,
        mode,
        (form.get("judul") or "").strip(),
        (form.get("catatan") or "").strip(),
    )


def nothing_matches(request: AnalysisRequest) -> RequestInvalid:
    """The error for a request whose filters leave nobody."""
    what = "pelanggaran" if request.filters.kind == VIOLATION else "apresiasi"
    return RequestInvalid(
        f"Tidak ada kandidat {what} {request.period.label_id} yang cocok dengan filter ini "
        "(OPD, pegawai, data hukuman, rentang hari). Longgarkan filternya; tidak ada draft yang "
        "disimpan."
    )
