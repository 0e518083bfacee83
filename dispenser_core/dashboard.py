"""What the dashboard and the "Rekapitulasi Kehadiran" page show, read from the stored recaps
and daily status (nothing is recomputed here).

Rows use the column names of the original screen (``periode``, ``pegawai``, ``hari_kerja``,
...), so a page, an export and the ``rekap_kehadiran`` view speak the same words.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Select, String, Subquery, and_, cast, func, or_, select

from dispenser_core import drafts as draft_rules
from dispenser_core import reports
from dispenser_core.daily_status import DATA_PROBLEM, NO_DATA, PENDING, PRESENT, TK
from dispenser_core.periods import MONTHS_ID, Period
from dispenser_core.storage.schema import daily_status, employees, punches, recaps, work_units

PERIOD_KINDS = ("month", "year")
MAX_PAGE_SIZE = 500
# Beyond any city's recap, and inside what a database integer holds.
MAX_PAGE = 1_000_000
# Longer than any name or NIP; a longer search is a mistake (and SQLite refuses long patterns).
MAX_WHO = 100
TREND_MONTHS = 12
TOP_UNITS = 5
# Rows fetched at a time when an export reads every matching row.
STREAM_ROWS = 5_000

# Key of a recap row -> the stored column it shows; every key is also a sort column.
RECAP_COLUMNS = {
    "periode": recaps.c.period,
    "nip": recaps.c.nip,
    "pegawai": employees.c.name,
    "kode_opd": recaps.c.opd_code,
    "opd": work_units.c.name,
    "golongan": employees.c.grade,
    "hari_kerja": recaps.c.working_days,
    "hadir": recaps.c.present,
    "tidak_hadir": recaps.c.absent,
    "tanpa_keterangan": recaps.c.tk,
    "cuti": recaps.c.leave,
    "sakit": recaps.c.sick,
    "izin": recaps.c.permit,
    "dinas_luar": recaps.c.official_duty,
    "tidak_absen_masuk": recaps.c.missing_check_in,
    "tidak_absen_pulang": recaps.c.missing_check_out,
    "menit_terlambat": recaps.c.late_minutes,
    "menit_pulang_cepat": recaps.c.early_leave_minutes,
    "tk_setara": recaps.c.tk_equivalent,
    "tk_kumulatif_tahun_ini": recaps.c.tk_ytd_equivalent,
}
SORT_KEYS = tuple(RECAP_COLUMNS)

STATUS_LABELS = {
    PRESENT: "Hadir",
    TK: "Tanpa Keterangan",
    "leave": "Cuti",
    "sick": "Sakit",
    "permit": "Izin",
    "official_duty": "Dinas Luar",
    "study": "Tugas Belajar",
    NO_DATA: "Belum Ada Data",
    PENDING: "Menunggu Data",
    DATA_PROBLEM: "Masalah Data",
}


@dataclass(frozen=True)
class RecapFilter:
    """The filters of the "Rekapitulasi Kehadiran" page; a bad value is a ValueError that says
    (in Indonesian, then English) what to change."""

    period_kind: str = "month"
    period_from: str | None = None  # "YYYY-MM" (or "YYYY" for years), inclusive
    period_to: str | None = None
    units: tuple[str, ...] = ()  # OPD codes; empty means every unit
    who: str = ""  # part of a name (any case) or the start of a NIP
    sort: str = "nip"
    descending: bool = False
    page: int = 1
    page_size: int = 50

    def __post_init__(self) -> None:
        if self.period_kind not in PERIOD_KINDS:
            raise ValueError(
                f"Jenis periode {self.period_kind!r} tidak dikenal; pilih 'month' atau 'year'. "
                f"(Unknown period kind {self.period_kind!r}: choose 'month' or 'year'.)"
            )
        first = _period_of(self.period_from, self.period_kind, "awal")
        last = _period_of(self.period_to, self.period_kind, "akhir")
        if first and last and str(first) > str(last):
            raise ValueError(
                f"Periode awal {first} sesudah periode akhir {last}; tukar keduanya. "
                f"(The first period {first} is after the last {last}: swap them.)"
            )
        if self.sort not in RECAP_COLUMNS:
            raise ValueError(
                f"Kolom urutan {self.sort!r} tidak dikenal; pilih salah satu dari "
                f"{', '.join(SORT_KEYS)}. (Unknown sort column {self.sort!r}: choose one of "
                "those.)"
            )
        if self.page < 1 or self.page_size < 1:
            raise ValueError(
                f"Halaman {self.page} dengan {self.page_size} baris per halaman tidak ada; "
                "mulai dari halaman 1 dengan sedikitnya 1 baris. (Page and page size start at "
                f"1, not {self.page} and {self.page_size}.)"
            )
        if self.page > MAX_PAGE:
            raise ValueError(
                f"Halaman {self.page} terlalu jauh; halaman terakhir tertulis di bawah tabel. "
                f"(Page {self.page} is beyond any recap: the last page is shown below the table.)"
            )
        if len(self.who.strip()) > MAX_WHO:
            raise ValueError(
                f"Nama atau NIP yang dicari lebih dari {MAX_WHO} huruf; persingkat. "
                f"(The name or NIP searched for is over {MAX_WHO} characters: shorten it.)"
            )
        # Normalised once here, so every query below reads clean values.
        object.__setattr__(self, "period_from", str(first) if first else None)
        object.__setattr__(self, "period_to", str(last) if last else None)
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "who", self.who.strip())
        object.__setattr__(self, "page_size", min(self.page_size, MAX_PAGE_SIZE))


@dataclass(frozen=True)
class RecapPage:
    rows: list[dict]
    total: int
    page: int
    page_size: int
    pages: int


def _period_of(text: str | None, kind: str, which: str) -> Period | None:
    if text is None or not str(text).strip():
        return None
    example = "2025-11" if kind == "month" else "2025"
    try:
        period = Period.parse(text)
    except ValueError as err:
        raise ValueError(
            f"Periode {which} {text!r} tidak dikenal; tulis seperti {example}. "
            f"(Period {text!r} is not like {example}.)"
        ) from err
    if period.kind != kind:
        raise ValueError(
            f"Periode {which} {text!r} bukan {'bulan' if kind == 'month' else 'tahun'}; tulis "
            f"seperti {example}. (Period {text!r} is not a {kind}: write it like {example}.)"
        )
    return period


# -- the recap table ----------------------------------------------------------------------------


def _with_names():
    """Recaps with their employee and unit. Outer joins: a recap row is shown even if its
    employee or unit record is gone."""
    return recaps.outerjoin(employees, employees.c.nip == recaps.c.nip).outerjoin(
        work_units, work_units.c.opd_code == recaps.c.opd_code
    )


def _recap_rows_query() -> Select:
    columns = (column.label(key) for key, column in RECAP_COLUMNS.items())
    return select(*columns).select_from(_with_names())


def _conditions(f: RecapFilter) -> list:
    """The filter as conditions on the recaps table (names are matched in a subquery), so
    that counting and cutting a page need no join."""
    conditions = [recaps.c.period_kind == f.period_kind]
    if f.period_from:
        conditions.append(recaps.c.period >= f.period_from)
    if f.period_to:
        conditions.append(recaps.c.period <= f.period_to)
    if f.units:
        conditions.append(recaps.c.opd_code.in_(f.units))
    if f.who:
        named = select(employees.c.nip).where(
            or_(
                func.lower(employees.c.name).contains(f.who.lower(), autoescape=True),
                employees.c.nip.startswith(f.who, autoescape=True),
            )
        )
        conditions.append(recaps.c.nip.in_(named))
    return conditions


def _order(f: RecapFilter) -> list:
    column = RECAP_COLUMNS[f.sort]
    first = column.desc() if f.descending else column.asc()
    if f.sort == "golongan":
        first = first.nulls_last()  # SQLite and PostgreSQL put NULLs at opposite ends
    # The NIP, then the period, break ties so that pages never overlap or skip a row.
    ties = [recaps.c.nip, recaps.c.period]
    return [first, *(c for c in ties if c is not column)]


def _page_keys(f: RecapFilter) -> Subquery:
    """The keys of the page's recap rows: sorted and cut on the recaps table, joined to names
    only where the sort column needs them, so a city-wide page sorts narrow rows."""
    source = recaps
    if RECAP_COLUMNS[f.sort].table is not recaps:
        source = _with_names()
    return (
        select(recaps.c.period_kind, recaps.c.period, recaps.c.nip)
        .select_from(source)
        .where(*_conditions(f))
        .order_by(*_order(f))
        .limit(f.page_size)
        .offset((f.page - 1) * f.page_size)
        .subquery("page_keys")
    )


def count_matching_recaps(conn: Connection, f: RecapFilter) -> int:
    """How many recap rows match ``f``, on every page."""
    return conn.scalar(select(func.count()).select_from(recaps).where(*_conditions(f)))


def recap_page(conn: Connection, f: RecapFilter) -> RecapPage:
    """One page of the recap rows that match ``f``, and how many match in all."""
    total = count_matching_recaps(conn, f)
    keys = _page_keys(f)
    query = (
        _recap_rows_query()
        .join(
            keys,
            and_(
                keys.c.period_kind == recaps.c.period_kind,
                keys.c.period == recaps.c.period,
                keys.c.nip == recaps.c.nip,
            ),
        )
        .order_by(*_order(f))
    )
    rows = [dict(row) for row in conn.execute(query).mappings()]
    return RecapPage(rows, total, f.page, f.page_size, max(1, math.ceil(total / f.page_size)))


def matching_recaps(conn: Connection, f: RecapFilter) -> Iterator[dict]:
    """Every recap row that matches ``f``, in the page's order, read as it is consumed (for
    exports: no paging; consume it before ``conn`` closes)."""
    query = _recap_rows_query().where(*_conditions(f)).order_by(*_order(f))
    for row in conn.execute(query.execution_options(yield_per=STREAM_ROWS)).mappings():
        yield dict(row)


def longest_recap_values(conn: Connection, f: RecapFilter) -> dict[str, int]:
    """Per key of a recap row, the length of the longest value matching ``f`` written as text
    (what a spreadsheet column must show), without reading the rows."""
    lengths = (
        func.max(func.length(cast(column, String))).label(key)
        for key, column in RECAP_COLUMNS.items()
    )
    query = select(*lengths).select_from(_with_names()).where(*_conditions(f))
    return {key: length or 0 for key, length in conn.execute(query).mappings().one().items()}


# -- days ----------------------------------------------------------------------------------------


def _day_range(conn: Connection, f: RecapFilter) -> tuple[dt.date, dt.date] | None:
    """The dates the matching recaps cover, from the first period to the last."""
    first, last = conn.execute(
        select(func.min(recaps.c.period), func.max(recaps.c.period)).where(*_conditions(f))
    ).one()
    if first is None:
        return None
    return Period.parse(first).start, Period.parse(last).end


def _days_query(conn: Connection, f: RecapFilter) -> Select | None:
    span = _day_range(conn, f)
    if span is None:
        return None
    ds = daily_status.c
    matching = select(recaps.c.nip).where(*_conditions(f))
    query = (
        select(
            ds.nip,
            employees.c.name.label("pegawai"),
            ds.day,
            ds.status,
            ds.check_in_local,
            ds.check_out_local,
            ds.late_minutes,
            ds.early_leave_minutes,
        )
        .select_from(daily_status.outerjoin(employees, employees.c.nip == ds.nip))
        .where(ds.day.between(*span), ds.nip.in_(matching))
    )
    if f.units:
        query = query.where(ds.opd_code.in_(f.units))
    return query


def count_matching_days(conn: Connection, f: RecapFilter) -> int:
    """How many days :func:`matching_days` would return."""
    query = _days_query(conn, f)
    if query is None:
        return 0
    return conn.scalar(select(func.count()).select_from(query.subquery()))


def matching_days(conn: Connection, f: RecapFilter) -> Iterator[dict]:
    """The daily status behind the recaps that match ``f``, by NIP and date: one row per
    employee and working day (nip, pegawai, tanggal, status, jam_masuk, jam_pulang,
    menit_terlambat, menit_pulang_cepat), read as it is consumed."""
    query = _days_query(conn, f)
    if query is None:
        return
    query = query.order_by(daily_status.c.nip, daily_status.c.day)
    for row in conn.execute(query.execution_options(yield_per=STREAM_ROWS)):
        yield {
            "nip": row.nip,
            "pegawai": row.pegawai,
            "tanggal": row.day,
            "status": STATUS_LABELS.get(row.status, row.status),
            "jam_masuk": _time_of(row.check_in_local),
            "jam_pulang": _time_of(row.check_out_local),
            "menit_terlambat": row.late_minutes,
            "menit_pulang_cepat": row.early_leave_minutes,
        }


def _time_of(moment: dt.datetime | None) -> dt.time | None:
    return moment.time() if moment is not None else None


# -- one employee ------------------------------------------------------------------------------


def employee_detail(conn: Connection, nip: str, period_from: str, period_to: str) -> dict | None:
    """An employee, their recaps from ``period_from`` to ``period_to`` (both months or both
    years) and each of their working days there with its punches in the unit's local time;
    None when no employee has this NIP."""
    first, last = _detail_range(period_from, period_to)
    employee = _employee(conn, nip)
    if employee is None:
        return None
    recap_rows = (
        _recap_rows_query()
        .where(
            recaps.c.nip == nip,
            recaps.c.period_kind == first.kind,
            recaps.c.period.between(str(first), str(last)),
        )
        .order_by(recaps.c.period)
    )
    return {
        "employee": {k: v for k, v in employee.items() if k != "timezone"},
        "recaps": [dict(row) for row in conn.execute(recap_rows).mappings()],
        "days": _employee_days(conn, nip, employee["timezone"], first.start, last.end),
    }


def _detail_range(period_from: str, period_to: str) -> tuple[Period, Period]:
    if not (period_from or "").strip() or not (period_to or "").strip():
        raise ValueError(
            "Isi periode awal dan akhir, misalnya 2025-01 dan 2025-11. "
            "(Give both the first and the last period, e.g. 2025-01 and 2025-11.)"
        )
    try:
        kind = Period.parse(period_from).kind
    except ValueError:
        kind = "month"  # the filter below names the bad value
    checked = RecapFilter(period_kind=kind, period_from=period_from, period_to=period_to)
    return Period.parse(checked.period_from), Period.parse(checked.period_to)


def _employee(conn: Connection, nip: str) -> dict | None:
    row = (
        conn.execute(
            select(
                employees.c.nip,
                employees.c.name,
                employees.c.opd_code,
                work_units.c.name.label("opd"),
                employees.c.grade,
                work_units.c.timezone,
            )
            .outerjoin(work_units, work_units.c.opd_code == employees.c.opd_code)
            .where(employees.c.nip == nip)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _employee_days(
    conn: Connection, nip: str, timezone: str | None, first: dt.date, last: dt.date
) -> list[dict]:
    ds = daily_status.c
    days = conn.execute(
        select(
            ds.day,
            ds.status,
            ds.reason,
            ds.check_in_local,
            ds.check_out_local,
            ds.late_minutes,
            ds.early_leave_minutes,
        )
        .where(ds.nip == nip, ds.day.between(first, last))
        .order_by(ds.day)
    ).all()
    punched = _local_punches(conn, nip, timezone or "Asia/Jakarta", first, last)
    return [
        {
            "day": day.day,
            "status": STATUS_LABELS.get(day.status, day.status),
            "status_code": day.status,
            "reason": day.reason,
            "check_in": _time_of(day.check_in_local),
            "check_out": _time_of(day.check_out_local),
            "late_minutes": day.late_minutes,
            "early_leave_minutes": day.early_leave_minutes,
            "punches": punched.get(day.day, []),
        }
        for day in days
    ]


def _local_punches(
    conn: Connection, nip: str, timezone: str, first: dt.date, last: dt.date
) -> dict[dt.date, list[dt.time]]:
    """The employee's punches per local date; stored times are UTC, so a day away each side."""
    low = dt.datetime.combine(first - dt.timedelta(days=1), dt.time())
    high = dt.datetime.combine(last + dt.timedelta(days=2), dt.time())
    moments = conn.scalars(
        select(punches.c.punched_at)
        .where(punches.c.nip == nip, punches.c.punched_at.between(low, high))
        .order_by(punches.c.punched_at)
    )
    by_day: dict[dt.date, list[dt.time]] = {}
    for moment in moments:
        local = reports.in_zone(moment, timezone)
        if first <= local.date() <= last:
            by_day.setdefault(local.date(), []).append(local.time().replace(tzinfo=None))
    return by_day


# -- the dashboard -----------------------------------------------------------------------------


def units(conn: Connection) -> list[tuple[str, str]]:
    """Every unit as (code, name), by name: the choices of the unit filter."""
    query = select(work_units.c.opd_code, work_units.c.name).order_by(
        work_units.c.name, work_units.c.opd_code
    )
    return [(code, name) for code, name in conn.execute(query)]


def dashboard_summary(conn: Connection, today: dt.date, *, timezone: str = "Asia/Jakarta") -> dict:
    """The home page: pending drafts, the month's TK and late minutes per unit, twelve months
    of city-wide trend, and the units with the most violation days.

    The month is ``today``'s if it has a recap, else the latest month recapped before it.
    """
    every_draft = reports.draft_rows(conn)
    pending = [
        d
        for d in every_draft
        if d["status"] in (draft_rules.PENDING, draft_rules.AWAITING_APPROVAL)
    ]
    month = latest_judged_month(conn, today)
    return {
        "pending_message": reports.pending_summary(every_draft, timezone),
        "pending_drafts": len(pending),
        "latest_draft": _latest_draft(pending, timezone),
        "month": str(month) if month else None,
        "month_label": month.label_id if month else "",
        "units": _unit_totals(conn, month) if month else [],
        "trend": _trend(conn, month or Period(today.year, today.month)),
        "top_units": _top_units(conn, month) if month else [],
    }


def _latest_draft(pending: list[dict], timezone: str) -> dict | None:
    if not pending:
        return None
    latest = pending[0]  # draft_rows lists the most recently updated first
    return {
        "draft_id": latest["draft_id"],
        "title": latest["title"],
        "kind": latest["kind"],
        "period": latest["period"],
        "status": latest["status"],
        "employees": latest["employees"],
        "updated_at": reports.in_zone(latest["updated_at"], timezone),
    }


def latest_judged_month(conn: Connection, today: dt.date, nip: str | None = None) -> Period | None:
    """The latest month up to ``today`` whose recap judged someone (of ``nip``) present or
    absent: a month whose days all wait for data says nothing yet."""
    query = select(func.max(recaps.c.period)).where(
        recaps.c.period_kind == "month",
        recaps.c.period <= f"{today:%Y-%m}",
        recaps.c.present + recaps.c.absent > 0,
    )
    if nip is not None:
        query = query.where(recaps.c.nip == nip)
    latest = conn.scalar(query)
    return Period.parse(latest) if latest else None


def _month_rows(month: Period):
    return and_(recaps.c.period_kind == "month", recaps.c.period == str(month))


def _unit_totals(conn: Connection, month: Period) -> list[dict]:
    query = (
        select(
            recaps.c.opd_code,
            work_units.c.name,
            func.count().label("employees"),
            func.sum(recaps.c.tk).label("tk"),
            func.sum(recaps.c.late_minutes).label("late_minutes"),
        )
        .outerjoin(work_units, work_units.c.opd_code == recaps.c.opd_code)
        .where(_month_rows(month))
        .group_by(recaps.c.opd_code, work_units.c.name)
        .order_by(recaps.c.opd_code)
    )
    return [
        {
            "opd_code": row.opd_code,
            "opd": row.name or row.opd_code,
            "employees": row.employees,
            "tk": int(row.tk),
            "late_minutes": int(row.late_minutes),
        }
        for row in conn.execute(query)
    ]


def _months_back(last: Period, count: int) -> list[Period]:
    index = last.year * 12 + (last.month or 12) - 1
    return [Period(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def _trend(conn: Connection, last: Period) -> list[dict]:
    """City-wide TK days and late minutes of the twelve months up to ``last``; a month without
    a recap shows zeros and 0 employees."""
    months = _months_back(last, TREND_MONTHS)
    query = (
        select(
            recaps.c.period,
            func.count().label("employees"),
            func.sum(recaps.c.tk).label("tk"),
            func.sum(recaps.c.late_minutes).label("late_minutes"),
        )
        .where(
            recaps.c.period_kind == "month",
            recaps.c.period.between(str(months[0]), str(months[-1])),
        )
        .group_by(recaps.c.period)
    )
    found = {row.period: row for row in conn.execute(query)}
    return [_trend_point(month, found.get(str(month))) for month in months]


def _trend_point(month: Period, totals) -> dict:
    return {
        "period": str(month),
        "label": f"{MONTHS_ID[month.month - 1][:3]} {month.year}",
        "employees": totals.employees if totals else 0,
        "tk": int(totals.tk) if totals else 0,
        "late_minutes": int(totals.late_minutes) if totals else 0,
    }


def _top_units(conn: Connection, month: Period) -> list[dict]:
    """The units with the most violation days in ``month`` (TK days and their equivalent in
    late and early minutes, as PP 94/2021 counts them); units without any are left out."""
    days = func.sum(recaps.c.tk_equivalent)
    query = (
        select(recaps.c.opd_code, work_units.c.name, days.label("violation_days"))
        .outerjoin(work_units, work_units.c.opd_code == recaps.c.opd_code)
        .where(_month_rows(month))
        .group_by(recaps.c.opd_code, work_units.c.name)
        .having(days > 0)
        .order_by(days.desc(), recaps.c.opd_code)
        .limit(TOP_UNITS)
    )
    return [
        {
            "opd_code": row.opd_code,
            "opd": row.name or row.opd_code,
            "violation_days": int(row.violation_days),
        }
        for row in conn.execute(query)
    ]
