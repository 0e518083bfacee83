"""The dashboard's data on a tiny city built by the real loaders and pipeline, on SQLite and on
PostgreSQL: the small office (tests/cases/small_office/README.md) and a second unit, Badan Uji
Coba, written below. Every expected number is counted by hand.

Badan Uji Coba punches from its own terminal (source ``gedung-b``) on every working day of
October and November 2025 (Mon-Thu 07:15 and 16:10, Fri 07:15 and 16:40; schedule 07:30-16:00,
Fri -16:30), except:

- F1, Budi Santoso (199207072019031007): in 08:00 on Mon 6 Oct (late 30); in 07:45 on Mon
  3 Nov (late 15); no punch on 10 and 11 Nov (2 TK).
- F2, Siti Rahmawati (198806062012012006): out 16:00 on Fri 31 Oct (early 30); only 07:15 on
  Thu 20 Nov (no check-out).

October 2025 has 23 working days, November 20. The small office's terminal delivered from
3 November only, so its October days have no data; its new employee E5 is not in October.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispenser_core import pipeline
from dispenser_core.dashboard import (
    RecapFilter,
    dashboard_summary,
    employee_detail,
    recap_page,
    units,
)
from dispenser_core.periods import Period
from dispenser_core.settings import Settings
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import recaps
from tests.conftest import CASES, fresh_postgres_database

OFFICE = CASES / "small_office"
OCTOBER, NOVEMBER, YEAR = Period(2025, 10), Period(2025, 11), Period(2025)
HEAD, E1, E2, E3, E4, E5 = (
    "197501012000031001",
    "198001012005011001",
    "198502022010012002",
    "199003032015032003",
    "199104042016011004",
    "199505052025111005",
)
F1, F2 = "199207072019031007", "198806062012012006"

UJI_UNITS = "opd_code,opd_name,head_nip\nBADAN-UJI,Badan Uji Coba,198806062012012006\n"
UJI_ROSTER = (
    "pin,nip,name,opd_code,grade,position,supervisor_nip,schedule,start_date\n"
    f"11,{F1},Budi Santoso,BADAN-UJI,III/b,Staf,{F2},office,2019-03-01\n"
    f"12,{F2},Siti Rahmawati,BADAN-UJI,IV/a,Kepala,{F2},office,2012-01-01\n"
)


def _uji_punches() -> list[tuple[str, str]]:
    """(pin, 'YYYY-MM-DD HH:MM:SS') of Badan Uji Coba, as the module docstring lists them."""
    changed = {
        ("11", "2025-10-06"): ["08:00", "16:10"],
        ("11", "2025-11-03"): ["07:45", "16:10"],
        ("11", "2025-11-10"): [],
        ("11", "2025-11-11"): [],
        ("12", "2025-10-31"): ["07:15", "16:00"],
        ("12", "2025-11-20"): ["07:15"],
    }
    punches = []
    day = dt.date(2025, 10, 1)
    while day <= dt.date(2025, 11, 30):
        if day.weekday() < 5:
            usual = ["07:15", "16:40" if day.weekday() == 4 else "16:10"]
            for pin in ("11", "12"):
                for hhmm in changed.get((pin, day.isoformat()), usual):
                    punches.append((pin, f"{day} {hhmm}:00"))
        day += dt.timedelta(days=1)
    return punches


def write_uji_files(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "units.csv").write_text(UJI_UNITS, encoding="utf-8")
    (folder / "roster.csv").write_text(UJI_ROSTER, encoding="utf-8")
    lines = [f"{pin:>9}\t{moment}\t1\t0\t0\t0\n" for pin, moment in _uji_punches()]
    (folder / "attlog.dat").write_text("".join(lines), encoding="utf-8")
    return folder


def build_city(engine: Engine, folder: Path) -> None:
    """Load both units through the loaders, recap October, November and 2025, and save
    November's drafts."""
    for kind in ("units", "roster", "absences"):
        pipeline.import_file(engine, kind, OFFICE / f"{kind}.csv")
    pipeline.import_file(engine, "attlog", OFFICE / "attlog.dat")
    uji = write_uji_files(folder)
    for kind in ("units", "roster"):
        pipeline.import_file(engine, kind, uji / f"{kind}.csv")
    pipeline.import_file(engine, "attlog", uji / "attlog.dat", source="gedung-b")
    for period in (OCTOBER, NOVEMBER, YEAR):
        pipeline.recap(engine, period)
    pipeline.find_candidates(engine, NOVEMBER, 3)
    pipeline.save_drafts(engine, NOVEMBER, actor="test")


@contextmanager
def city_engine(backend: str, folder: Path):
    """An engine on a new database of ``backend`` holding the tiny city."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'city.sqlite'}"
        yield _built(url, folder)
        return
    with fresh_postgres_database("dispenser_dashboard") as url:
        yield _built(url, folder)


def _built(url: str, folder: Path) -> Engine:
    engine = pipeline.prepare(Settings(data_dir=folder / "data", database_url=url))
    build_city(engine, folder / "uji")
    return engine


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def city(request, tmp_path_factory):
    with city_engine(request.param, tmp_path_factory.mktemp(request.param)) as engine:
        yield engine
        engine.dispose()


def _page(city, **filters):
    with connect(city) as conn:
        return recap_page(conn, RecapFilter(**filters))


def _keys(page) -> list[tuple[str, str]]:
    return [(row["periode"], row["nip"]) for row in page.rows]


class TestRecapFilter:
    @pytest.mark.parametrize(
        ("filters", "message"),
        [
            ({"sort": "gaji"}, "Kolom urutan 'gaji' tidak dikenal.*Unknown sort column"),
            ({"period_from": "11-2025"}, "tulis seperti 2025-11.*not like 2025-11"),
            ({"period_from": "2025"}, "bukan bulan.*not a month"),
            ({"period_kind": "year", "period_to": "2025-11"}, "bukan tahun.*not a year"),
            ({"period_from": "2025-11", "period_to": "2025-10"}, "tukar keduanya.*swap them"),
            ({"page": 0}, "mulai dari halaman 1.*start at 1"),
            ({"period_kind": "week"}, "pilih 'month' atau 'year'"),
            ({"page": 10**20}, "terlalu jauh.*beyond any recap"),
            ({"who": "A" * 101}, "persingkat.*shorten it"),
        ],
        ids=[
            "sort",
            "period-text",
            "year-for-month",
            "month-for-year",
            "reversed",
            "page-0",
            "kind",
            "page-huge",
            "who-long",
        ],
    )
    def test_a_bad_value_says_what_to_change(self, filters, message):
        with pytest.raises(ValueError, match=message):
            RecapFilter(**filters)

    def test_page_size_is_capped_and_text_is_trimmed(self):
        f = RecapFilter(period_from=" 2025-10 ", who="  Siti ", units=["BADAN-UJI"], page_size=9999)
        assert (f.period_from, f.who, f.units, f.page_size) == (
            "2025-10",
            "Siti",
            ("BADAN-UJI",),
            500,
        )


class TestRecapPage:
    def test_november_shows_every_column_of_the_original_screen(self, city):
        page = _page(city, period_from="2025-11", period_to="2025-11", who=F1)
        assert page.rows == [
            {
                "periode": "2025-11",
                "nip": F1,
                "pegawai": "Budi Santoso",
                "kode_opd": "BADAN-UJI",
                "opd": "Badan Uji Coba",
                "golongan": "III/b",
                "hari_kerja": 20,
                "hadir": 18,
                "tidak_hadir": 2,
                "tanpa_keterangan": 2,
                "cuti": 0,
                "sakit": 0,
                "izin": 0,
                "dinas_luar": 0,
                "tidak_absen_masuk": 0,
                "tidak_absen_pulang": 0,
                "menit_terlambat": 15,
                "menit_pulang_cepat": 0,
                "tk_setara": 2,
                "tk_kumulatif_tahun_ini": 2,
            }
        ]

    def test_a_month_range_holds_both_months_by_nip_then_period(self, city):
        page = _page(city, period_from="2025-10", period_to="2025-11")
        # October: the five of the small office who had joined, and both of Badan Uji Coba.
        assert (page.total, page.pages) == (15, 1)
        assert _keys(page)[:4] == [
            ("2025-10", HEAD),
            ("2025-11", HEAD),
            ("2025-10", E1),
            ("2025-11", E1),
        ]
        assert ("2025-10", E5) not in _keys(page)

    def test_an_open_range_reaches_every_recapped_month(self, city):
        assert _page(city).total == 15
        assert _page(city, period_to="2025-10").total == 7
        assert _page(city, period_from="2025-11").total == 8

    def test_one_unit(self, city):
        page = _page(city, units=("BADAN-UJI",), period_from="2025-10", period_to="2025-11")
        assert _keys(page) == [
            ("2025-10", F2),
            ("2025-11", F2),
            ("2025-10", F1),
            ("2025-11", F1),
        ]

    @pytest.mark.parametrize(
        ("who", "nips"),
        [
            ("siti", {F2}),
            ("SANTOSO", {F1}),
            ("pegawai", {E1, E2, E3, E4, E5}),
            ("199", {E3, E4, E5, F1}),
            ("19920707", {F1}),
            ("9920707", set()),  # a NIP matches from its start only
            ("50%", set()),  # wildcards are plain text
        ],
        ids=[
            "name-lower",
            "name-upper",
            "shared-word",
            "nip-prefix",
            "long-prefix",
            "inner",
            "wild",
        ],
    )
    def test_who_matches_part_of_a_name_or_the_start_of_a_nip(self, city, who, nips):
        page = _page(city, period_from="2025-11", period_to="2025-11", who=who)
        assert {row["nip"] for row in page.rows} == nips

    @pytest.mark.parametrize(
        ("sort", "descending", "first_three"),
        [
            ("tanpa_keterangan", True, [E4, E2, F1]),
            ("menit_terlambat", True, [E3, F1, E4]),
            ("pegawai", False, [F1, HEAD, E5]),
            ("kode_opd", False, [F2, F1, HEAD]),
            ("hari_kerja", False, [E5, HEAD, E1]),  # ties broken by NIP
            ("tidak_absen_pulang", True, [F2, E4, HEAD]),
        ],
        ids=["tk-desc", "late-desc", "name", "unit", "working-days-ties", "no-check-out"],
    )
    def test_sorting_by_a_column_then_by_nip(self, city, sort, descending, first_three):
        page = _page(
            city, period_from="2025-11", period_to="2025-11", sort=sort, descending=descending
        )
        assert [row["nip"] for row in page.rows[:3]] == first_three

    def test_pages_split_the_rows_without_overlap(self, city):
        pages = [
            _page(city, sort="hadir", descending=True, page=n, page_size=4) for n in (1, 2, 3, 4)
        ]
        assert [(p.total, p.pages, len(p.rows)) for p in pages] == [
            (15, 4, 4),
            (15, 4, 4),
            (15, 4, 4),
            (15, 4, 3),
        ]
        everything = [key for p in pages for key in _keys(p)]
        assert len(set(everything)) == 15
        assert everything == _keys(_page(city, sort="hadir", descending=True, page_size=15))

    def test_a_page_past_the_end_is_empty_but_keeps_the_total(self, city):
        page = _page(city, page=9, page_size=10)
        assert (page.rows, page.total, page.pages) == ([], 15, 2)

    def test_nothing_matching_is_one_empty_page(self, city):
        page = _page(city, who="tidak ada")
        assert (page.rows, page.total, page.pages) == ([], 0, 1)

    def test_years_are_their_own_rows(self, city):
        page = _page(city, period_kind="year", period_from="2025", period_to="2025", who=F1)
        [row] = page.rows
        # October 23 days present, November 18; late 30 + 15 minutes.
        assert (row["periode"], row["hadir"], row["tanpa_keterangan"], row["menit_terlambat"]) == (
            "2025",
            41,
            2,
            45,
        )
        assert _page(city, period_kind="year").total == 8


class TestEmployeeDetail:
    def test_an_unknown_nip_is_none(self, city):
        with connect(city) as conn:
            assert employee_detail(conn, "000000000000000000", "2025-10", "2025-11") is None

    def test_a_bad_range_is_refused(self, city):
        with connect(city) as conn, pytest.raises(ValueError, match="swap them"):
            employee_detail(conn, E3, "2025-11", "2025-10")

    def test_the_employee_their_recaps_and_days(self, city):
        with connect(city) as conn:
            detail = employee_detail(conn, E3, "2025-10", "2025-11")
        assert detail["employee"] == {
            "nip": E3,
            "name": "Pegawai Cuti",
            "opd_code": "DINAS-CONTOH",
            "opd": "Dinas Contoh",
            "grade": "III/a",
        }
        assert [(r["periode"], r["hadir"], r["cuti"]) for r in detail["recaps"]] == [
            ("2025-10", 0, 0),
            ("2025-11", 15, 5),
        ]
        days = {day["day"]: day for day in detail["days"]}
        # 23 October days without data, 20 November working days.
        assert len(days) == 43
        assert days[dt.date(2025, 10, 1)]["status_code"] == "no_data"

        monday = days[dt.date(2025, 11, 3)]
        assert (monday["status"], monday["check_in"], monday["check_out"]) == (
            "Hadir",
            dt.time(7, 58, 10),
            dt.time(16, 2, 40),
        )
        assert (monday["late_minutes"], monday["early_leave_minutes"]) == (28, 0)
        assert monday["punches"] == [dt.time(7, 58, 10), dt.time(7, 59, 2), dt.time(16, 2, 40)]
        # On leave, a punch is only evidence.
        leave = days[dt.date(2025, 11, 12)]
        assert (leave["status"], leave["punches"]) == ("Cuti", [dt.time(9, 0)])

    def test_a_day_without_check_out(self, city):
        with connect(city) as conn:
            detail = employee_detail(conn, F2, "2025-11", "2025-11")
        day = next(d for d in detail["days"] if d["day"] == dt.date(2025, 11, 20))
        assert (day["status"], day["check_in"], day["check_out"], day["punches"]) == (
            "Hadir",
            dt.time(7, 15),
            None,
            [dt.time(7, 15)],
        )
        assert len(detail["days"]) == 20


class TestDashboard:
    def test_units_for_the_filter_by_name(self, city):
        with connect(city) as conn:
            assert units(conn) == [
                ("BADAN-UJI", "Badan Uji Coba"),
                ("DINAS-CONTOH", "Dinas Contoh"),
            ]

    def test_the_summary_of_the_latest_recapped_month(self, city):
        with connect(city) as conn:
            summary = dashboard_summary(conn, dt.date(2025, 12, 4))
        assert (summary["month"], summary["month_label"]) == ("2025-11", "November 2025")
        assert summary["units"] == [
            {
                "opd_code": "BADAN-UJI",
                "opd": "Badan Uji Coba",
                "employees": 2,
                "tk": 2,
                "late_minutes": 15,
            },
            # E2 3 TK, E4 6 TK; E3 28 and E4 11 minutes late.
            {
                "opd_code": "DINAS-CONTOH",
                "opd": "Dinas Contoh",
                "employees": 6,
                "tk": 9,
                "late_minutes": 39,
            },
        ]
        assert summary["top_units"] == [
            {"opd_code": "DINAS-CONTOH", "opd": "Dinas Contoh", "violation_days": 9},
            {"opd_code": "BADAN-UJI", "opd": "Badan Uji Coba", "violation_days": 2},
        ]

    def test_the_trend_covers_twelve_months_up_to_the_shown_one(self, city):
        with connect(city) as conn:
            trend = dashboard_summary(conn, dt.date(2025, 12, 4))["trend"]
        assert [point["period"] for point in trend][:2] == ["2024-12", "2025-01"]
        assert len(trend) == 12
        assert trend[-2:] == [
            {"period": "2025-10", "label": "Okt 2025", "employees": 7, "tk": 0, "late_minutes": 30},
            {
                "period": "2025-11",
                "label": "Nov 2025",
                "employees": 8,
                "tk": 11,
                "late_minutes": 54,
            },
        ]
        assert {(p["employees"], p["tk"]) for p in trend[:-2]} == {(0, 0)}

    def test_a_month_with_its_own_recap_is_shown(self, city):
        with connect(city) as conn:
            assert dashboard_summary(conn, dt.date(2025, 10, 31))["month"] == "2025-10"

    def test_a_month_whose_days_all_wait_for_data_is_not_shown(self, city):
        """A scheduled run for a month no source delivered yet recaps everyone as pending."""
        with city.connect() as conn, conn.begin() as transaction:
            waiting = [
                dict(row) | {"period": "2025-12", "present": 0, "absent": 0, "tk": 0}
                for row in conn.execute(
                    recaps.select().where(recaps.c.period == "2025-11")
                ).mappings()
            ]
            conn.execute(recaps.insert(), waiting)
            assert dashboard_summary(conn, dt.date(2026, 1, 5))["month"] == "2025-11"
            transaction.rollback()

    def test_before_any_recap_the_summary_is_empty(self, city):
        with connect(city) as conn:
            summary = dashboard_summary(conn, dt.date(2025, 9, 30))
        assert (summary["month"], summary["units"], summary["top_units"]) == (None, [], [])
        assert trend_periods(summary) == ("2024-10", "2025-09")

    def test_the_pending_drafts_as_the_drafts_command_says_them(self, city):
        with connect(city) as conn:
            summary = dashboard_summary(conn, dt.date(2025, 12, 4))
        assert summary["pending_drafts"] == 2
        assert summary["pending_message"].startswith(
            "Anda memiliki 2 draft pending siap dikirim. Draft terbaru: "
        )
        latest = summary["latest_draft"]
        # Appreciation, saved last: HEAD, E1 and E5 of the small office, F2 of Badan Uji Coba.
        assert (latest["title"], latest["employees"]) == (
            "Draft Notifikasi Apresiasi - November 2025",
            4,
        )
        assert latest["updated_at"].utcoffset() == dt.timedelta(hours=7)
        assert f"({latest['employees']} pegawai, diperbarui" in summary["pending_message"]


def trend_periods(summary: dict) -> tuple[str, str]:
    return summary["trend"][0]["period"], summary["trend"][-1]["period"]
