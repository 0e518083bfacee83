"""The analyst views (sql/views.sql) over a hand-made city, on SQLite and on PostgreSQL, and the
analysts' read-only role on PostgreSQL. Every expected number is counted by hand below.

The city: two units, seven employees who all joined on Monday 24 November 2025 (B4 on Monday
15 December), the office schedule (Mon-Thu 07:30-16:00, Fri 07:30-16:30, no grace), and one
attendance export from 24 November to 31 December. December 2025 has 23 weekdays; Christmas
(25th) and the collective leave after it (26th) leave 21 working days. The last November week
adds 5, so the year counts 26 (B4: 15-19, 22-24, 29-31 December, 11 days).

Everyone punches 07:15 and 16:10 (Friday 16:40) on every working day, except:

- A2: no punch on 26 November and on 2, 9 and 16 December: 3 TK in December, 4 in the year,
  band R2 (4-6 days).
- A3: leave 8-10 December, sick on the 15th; in at 07:50:59 on 1 December (late 20: whole
  minutes, rounded down), out at 15:40 on the 3rd (early leave 20).
- B2: permit on 4 December, official duty 11-12 December; only 07:15 on the 1st (no check-out),
  only 16:10 on the 2nd (no check-in).
- B3: in at 11:30 on 1 and 3 December (late 240 each, before the 11:45 midpoint); no punch on
  17-19, 22-23 and 29-30 December: 7 TK plus one day for 480 minutes is 8, band R3 (7-10).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from dispenser_core import pipeline
from dispenser_core.drafts import record_decision, request_approval
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.periods import Period
from dispenser_core.settings import Settings
from dispenser_core.storage import db
from dispenser_core.storage.db import ANALYST_ROLE, connect, create_schema
from tests.conftest import POSTGRES_URL, fresh_postgres_database

DECEMBER, YEAR = Period(2025, 12), Period(2025)
ALFA, BETA = "DINAS-ALFA", "BADAN-BETA"
A1, A2, A3 = "197001012000011001", "198502022010011002", "199003032015032003"
B1, B2, B3, B4 = (
    "197104042001011004",
    "198805052012012005",
    "199206062018011006",
    "199907072025122007",
)
VIEWS = (
    "rekap_kehadiran",
    "rekap_per_opd",
    "kandidat_pelanggaran",
    "kandidat_apresiasi",
    "draft_pending",
    "riwayat_notifikasi",
)

UNITS = f"""opd_code,opd_name,head_nip
{ALFA},Dinas Alfa,{A1}
{BETA},Badan Beta,{B1}
"""
ROSTER = f"""pin,nip,name,opd_code,grade,supervisor_nip,start_date
1,{A1},Kepala Dinas Alfa,{ALFA},IV/c,,2025-11-24
2,{A2},Pegawai Empat TK,{ALFA},III/b,{A1},2025-11-24
3,{A3},Pegawai Cuti Sakit,{ALFA},III/a,{A1},2025-11-24
4,{B1},Kepala Badan Beta,{BETA},IV/b,,2025-11-24
5,{B2},Pegawai Izin Dinas Luar,{BETA},III/c,{B1},2025-11-24
6,{B3},Pegawai Sering Absen,{BETA},III/a,{B1},2025-11-24
7,{B4},Pegawai Baru,{BETA},II/c,{B1},2025-12-15
"""
ABSENCES = f"""nip,kind,start_date,end_date
{A3},C,2025-12-08,2025-12-10
{A3},S,2025-12-15,2025-12-15
{B2},I,2025-12-04,2025-12-04
{B2},DL,2025-12-11,2025-12-12
"""
DAYS_OFF = ("2025-12-25", "2025-12-26")
# The punches of a day that differ from 07:15 and 16:10 (Friday 16:40); [] is no punch at all.
EXCEPTIONS = {
    **{(A2, day): [] for day in ("2025-11-26", "2025-12-02", "2025-12-09", "2025-12-16")},
    (A3, "2025-12-01"): ["07:50:59", "16:10:00"],
    (A3, "2025-12-03"): ["07:15:00", "15:40:00"],
    **{(A3, day): [] for day in ("2025-12-08", "2025-12-09", "2025-12-10", "2025-12-15")},
    (B2, "2025-12-01"): ["07:15:00"],
    (B2, "2025-12-02"): ["16:10:00"],
    **{(B2, day): [] for day in ("2025-12-04", "2025-12-11", "2025-12-12")},
    (B3, "2025-12-01"): ["11:30:00", "16:10:00"],
    (B3, "2025-12-03"): ["11:30:00", "16:10:00"],
    **{(B3, f"2025-12-{day}"): [] for day in ("17", "18", "19", "22", "23", "29", "30")},
}


def _attlog() -> str:
    """The ZKTeco export: every working day of everyone who has started, with the exceptions."""
    people = [line.split(",") for line in ROSTER.splitlines()[1:]]
    lines = []
    day = dt.date(2025, 11, 24)
    while day <= dt.date(2025, 12, 31):
        if day.weekday() < 5 and day.isoformat() not in DAYS_OFF:
            usual = ["07:15:00", "16:40:00" if day.weekday() == 4 else "16:10:00"]
            for pin, nip, *_, start in people:
                if day.isoformat() >= start:
                    for clock in EXCEPTIONS.get((nip, day.isoformat()), usual):
                        lines.append(f"{pin:>9}\t{day} {clock}\t1\t0\t0\t0")
        day += dt.timedelta(days=1)
    return "\n".join(lines) + "\n"


def _build_city(settings: Settings):
    settings.inbox_dir.mkdir(parents=True)
    for name, content in (
        ("units.csv", UNITS),
        ("roster.csv", ROSTER),
        ("absences.csv", ABSENCES),
        ("attlog.dat", _attlog()),
    ):
        (settings.inbox_dir / name).write_text(content, encoding="utf-8")
    engine = pipeline.prepare(settings)
    pipeline.run_until_approval(engine, settings, DECEMBER, actor="test")
    pipeline.recap(engine, YEAR)
    _send_violation_notices(engine, settings)
    return engine


def _send_violation_notices(engine, settings: Settings) -> None:
    with connect(engine) as conn:
        draft_id = conn.scalar(text("SELECT draft_id FROM draft_pending WHERE jenis = 'violation'"))
        request_approval(conn, draft_id, actor="test")
        record_decision(conn, draft_id, approved=True, actor="approver")
    gateway = start_in_thread()
    try:
        url = f"http://127.0.0.1:{gateway.server_address[1]}"
        pipeline.send_notices(engine, dataclasses.replace(settings, notify_url=url), draft_id)
    finally:
        gateway.shutdown()
        gateway.server_close()


def _settings(folder, url: str) -> Settings:
    return Settings(data_dir=folder / "data", database_url=url, inbox_dir=folder / "inbox")


@pytest.fixture(scope="module")
def sqlite_city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-city")
    engine = _build_city(_settings(folder, f"sqlite:///{folder / 'city.sqlite'}"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_city(tmp_path_factory):
    with fresh_postgres_database("dispenser_views") as url:
        engine = _build_city(_settings(tmp_path_factory.mktemp("postgres-city"), url))
        yield engine
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def city(request):
    """The city on each database, built once per module."""
    return request.getfixturevalue(f"{request.param}_city")


def _rows(engine, view: str, where: str = "") -> list[dict]:
    with connect(engine) as conn:
        query = f"SELECT * FROM {view} {where}"
        return [dict(row) for row in conn.execute(text(query)).mappings()]


RECAP_COLUMNS = (
    "hari_kerja",
    "hadir",
    "tidak_hadir",
    "tanpa_keterangan",
    "cuti",
    "sakit",
    "izin",
    "dinas_luar",
    "tidak_absen_masuk",
    "tidak_absen_pulang",
    "menit_terlambat",
    "menit_pulang_cepat",
    "tk_setara",
    "tk_kumulatif_tahun_ini",
)


def _recap(engine, period: str) -> dict[str, tuple]:
    rows = _rows(engine, "rekap_kehadiran", f"WHERE periode = '{period}'")
    return {row["nip"]: tuple(row[column] for column in RECAP_COLUMNS) for row in rows}


def test_monthly_recap_counts_every_working_day_by_hand(city):
    assert _recap(city, "2025-12") == {
        A1: (21, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        A2: (21, 18, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4),
        A3: (21, 17, 4, 0, 3, 1, 0, 0, 0, 0, 20, 20, 0, 0),
        B1: (21, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        B2: (21, 18, 3, 0, 0, 0, 1, 2, 1, 1, 0, 0, 0, 0),
        B3: (21, 14, 7, 7, 0, 0, 0, 0, 0, 0, 480, 0, 8, 8),
        B4: (11, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    }


def test_yearly_recap_adds_the_last_week_of_november(city):
    assert _recap(city, "2025") == {
        A1: (26, 26, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        A2: (26, 22, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4),
        A3: (26, 22, 4, 0, 3, 1, 0, 0, 0, 0, 20, 20, 0, 0),
        B1: (26, 26, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        B2: (26, 23, 3, 0, 0, 0, 1, 2, 1, 1, 0, 0, 0, 0),
        B3: (26, 19, 7, 7, 0, 0, 0, 0, 0, 0, 480, 0, 8, 8),
        B4: (11, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    }


def test_recap_names_the_employee_unit_and_grade(city):
    (row,) = _rows(city, "rekap_kehadiran", f"WHERE periode = '2025-12' AND nip = '{A3}'")
    assert (row["jenis_periode"], row["pegawai"], row["kode_opd"], row["opd"]) == (
        "month",
        "Pegawai Cuti Sakit",
        ALFA,
        "Dinas Alfa",
    )
    assert row["golongan"] == "III/a"


def test_recap_per_unit_sums_its_employees(city):
    columns = (
        "jumlah_pegawai",
        "hari_kerja",
        "hadir",
        "tidak_hadir",
        "tanpa_keterangan",
        "cuti",
        "sakit",
        "izin",
        "dinas_luar",
        "tidak_absen_masuk",
        "tidak_absen_pulang",
        "menit_terlambat",
        "menit_pulang_cepat",
        "tk_setara",
    )
    rows = _rows(city, "rekap_per_opd", "WHERE periode = '2025-12'")
    assert {row["kode_opd"]: tuple(row[c] for c in columns) for row in rows} == {
        ALFA: (3, 63, 56, 7, 3, 3, 1, 0, 0, 0, 0, 20, 20, 3),
        BETA: (4, 74, 64, 10, 7, 0, 0, 1, 2, 1, 1, 480, 0, 8),
    }
    # 56 of 63 and 64 of 74 working days, to one decimal.
    assert {row["opd"]: float(row["persen_hadir"]) for row in rows} == {
        "Dinas Alfa": 88.9,
        "Badan Beta": 86.5,
    }


def test_violation_candidates_carry_their_band_and_days(city):
    rows = _rows(city, "kandidat_pelanggaran")
    columns = (
        "periode",
        "kode_hukuman",
        "hari_pelanggaran",
        "tanpa_keterangan",
        "tk_setara",
        "tanpa_keterangan_tahun_ini",
        "tk_kumulatif_tahun_ini",
        "tk_berturut_terpanjang",
    )
    # A2: 4 TK days this year (one in November) is R2; B3: 7 TK days plus one day for 480 late
    # minutes is R3, and the longest run is 17-23 December (5 working days).
    assert {row["nip"]: tuple(row[c] for c in columns) for row in rows} == {
        A2: ("2025-12", "R2", 4, 3, 3, 4, 4, 1),
        B3: ("2025-12", "R3", 8, 7, 8, 7, 8, 5),
    }
    assert {(row["pegawai"], row["opd"]) for row in rows} == {
        ("Pegawai Empat TK", "Dinas Alfa"),
        ("Pegawai Sering Absen", "Badan Beta"),
    }


def test_appreciation_candidates_are_ranked_within_each_unit(city):
    columns = (
        "kode_opd",
        "peringkat_opd",
        "hari_kerja",
        "hadir",
        "menit_terlambat",
        "menit_pulang_cepat",
        "tidak_absen_masuk",
        "tidak_absen_pulang",
    )
    rows = _rows(city, "kandidat_apresiasi", "WHERE periode = '2025-12'")
    # Violation candidates are left out; ties on minutes and missing punches go by NIP.
    assert {row["nip"]: tuple(row[c] for c in columns) for row in rows} == {
        A1: (ALFA, 1, 21, 21, 0, 0, 0, 0),
        A3: (ALFA, 2, 21, 17, 20, 20, 0, 0),
        B1: (BETA, 1, 21, 21, 0, 0, 0, 0),
        B4: (BETA, 2, 11, 11, 0, 0, 0, 0),
        B2: (BETA, 3, 21, 18, 0, 0, 1, 1),
    }


def test_draft_pending_keeps_only_the_undecided_draft(city):
    rows = _rows(city, "draft_pending")
    assert [
        (r["jenis"], r["periode"], r["status"], r["jumlah_pegawai"], r["judul"]) for r in rows
    ] == [("appreciation", "2025-12", "pending", 5, "Draft Notifikasi Apresiasi - Desember 2025")]


def test_notice_history_names_who_was_notified_of_what(city):
    rows = _rows(city, "riwayat_notifikasi")
    columns = ("jenis", "periode", "kode_hukuman", "status", "percobaan", "disetujui_oleh")
    assert sorted((r["nip"], r["peran_penerima"], r["nip_penerima"]) for r in rows) == [
        (A2, "employee", A2),
        (A2, "supervisor", A1),
        (B3, "employee", B3),
        (B3, "supervisor", B1),
    ]
    assert {r["nip"]: tuple(r[c] for c in columns) for r in rows} == {
        A2: ("violation", "2025-12", "R2", "sent", 1, "approver"),
        B3: ("violation", "2025-12", "R3", "sent", 1, "approver"),
    }
    assert all(r["dikirim"] is not None and r["draft_id"] == rows[0]["draft_id"] for r in rows)


def test_notice_history_never_shows_the_text_of_a_notice(city):
    (row, *_) = _rows(city, "riwayat_notifikasi")
    assert list(row) == [
        "id_notifikasi",
        "draft_id",
        "jenis",
        "periode",
        "nip",
        "nip_penerima",
        "peran_penerima",
        "kode_hukuman",
        "status",
        "percobaan",
        "dibuat",
        "dikirim",
        "disetujui_oleh",
        "versi_template",
    ]


@pytest.mark.postgres
def test_every_view_and_column_is_described(postgres_city):
    with connect(postgres_city) as conn:
        missing = conn.execute(
            text(
                "SELECT c.relname, a.attname FROM pg_class c "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                "WHERE c.relname = ANY(:views) AND c.relnamespace = current_schema()::regnamespace "
                "AND (col_description(c.oid, a.attnum) IS NULL "
                "OR obj_description(c.oid, 'pg_class') IS NULL)"
            ),
            {"views": list(VIEWS)},
        ).all()
    assert missing == []


@pytest.fixture(scope="module")
def analyst(postgres_city):
    """A login of an analyst: a member of the analysts' role and nothing else."""
    name = f"analis_{uuid.uuid4().hex[:10]}"
    with connect(postgres_city) as conn:
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN IN ROLE {ANALYST_ROLE}'))
    engine = create_engine(make_url(postgres_city.url).set(username=name, password=None))
    yield engine
    engine.dispose()
    with connect(postgres_city) as conn:
        conn.execute(text(f'DROP ROLE "{name}"'))


@pytest.mark.postgres
@pytest.mark.parametrize("view", VIEWS)
def test_an_analyst_reads_every_view(analyst, postgres_city, view):
    with analyst.connect() as conn:
        seen = [dict(row) for row in conn.execute(text(f"SELECT * FROM {view}")).mappings()]
    assert seen == _rows(postgres_city, view) and seen


@pytest.mark.postgres
@pytest.mark.parametrize(
    "table",
    ["employees", "punches", "audit_log", "notices", "recaps", "candidates", "drafts", "absences"],
)
def test_an_analyst_cannot_read_base_tables(analyst, table):
    with analyst.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(f"SELECT * FROM {table} LIMIT 1"))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            f"INSERT INTO employees (nip, name, opd_code, start_date) "
            f"VALUES ('1', 'Siapa', '{ALFA}', '2025-01-01')",
            id="insert-table",
        ),
        pytest.param("UPDATE recaps SET tk = 0", id="update-table"),
        pytest.param("DELETE FROM draft_items", id="delete-table"),
        pytest.param("TRUNCATE punches", id="truncate-table"),
        pytest.param("UPDATE draft_pending SET status = 'approved'", id="update-view"),
        pytest.param("DELETE FROM rekap_kehadiran", id="delete-view"),
        pytest.param("CREATE TABLE catatan (isi text)", id="create-table"),
        pytest.param("CREATE VIEW rekap_saya AS SELECT 1 AS satu", id="create-view"),
        pytest.param("CREATE SCHEMA analis", id="create-schema"),
        pytest.param("DROP VIEW rekap_per_opd", id="drop-view"),
    ],
)
def test_an_analyst_cannot_change_or_create_anything(analyst, statement):
    # PostgreSQL refuses a write through a joined or grouped view before it checks privileges;
    # that the role holds no write privilege on the views is asserted below.
    refused = "permission denied|must be owner|cannot (update|delete from) view"
    with analyst.connect() as conn, pytest.raises(DBAPIError, match=refused):
        conn.execute(text(statement))


def _analyst_grants(engine) -> list[tuple[str, str]]:
    """Every privilege the analysts' role holds on a table, view or sequence of the schema."""
    with connect(engine) as conn:
        return sorted(
            conn.execute(
                text(
                    "SELECT c.relname, p.privilege FROM pg_class c "
                    "CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', "
                    "'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege) "
                    "WHERE c.relnamespace = current_schema()::regnamespace "
                    "AND c.relkind IN ('r', 'v', 'm', 'p', 'S') "
                    "AND has_table_privilege(:role, c.oid, p.privilege)"
                ),
                {"role": ANALYST_ROLE},
            ).all()
        )


@pytest.mark.postgres
def test_setting_up_again_keeps_the_role_reading_views_only(postgres_city):
    create_schema(postgres_city)
    create_schema(postgres_city)

    with connect(postgres_city) as conn:
        can_login = conn.scalar(
            text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :role"), {"role": ANALYST_ROLE}
        )
    assert can_login is False
    assert _analyst_grants(postgres_city) == [(view, "SELECT") for view in sorted(VIEWS)]


@pytest.fixture
def owner_without_createrole():
    """An engine of a database user who owns the tables but may not create roles."""
    name = f"pemilik_{uuid.uuid4().hex[:10]}"
    server = create_engine(POSTGRES_URL)
    with connect(server) as conn:
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
    try:
        with fresh_postgres_database("dispenser_views_owner") as url:
            admin = create_engine(url)
            with connect(admin) as conn:
                conn.execute(text(f'GRANT CREATE, USAGE ON SCHEMA public TO "{name}"'))
            admin.dispose()
            engine = create_engine(make_url(url).set(username=name))
            yield engine
            engine.dispose()
    finally:
        with connect(server) as conn:
            conn.execute(text(f'DROP ROLE "{name}"'))
        server.dispose()


@pytest.mark.postgres
def test_a_user_who_may_not_create_roles_grants_the_existing_role(owner_without_createrole):
    create_schema(owner_without_createrole)
    create_schema(owner_without_createrole)
    assert _analyst_grants(owner_without_createrole) == [(view, "SELECT") for view in sorted(VIEWS)]


@pytest.mark.postgres
def test_a_missing_role_that_cannot_be_created_is_named_with_the_fix(
    owner_without_createrole, monkeypatch, caplog
):
    monkeypatch.setattr(db, "ANALYST_ROLE", "dispenser_analyst_missing")
    create_schema(owner_without_createrole)
    assert "CREATE ROLE dispenser_analyst_missing NOLOGIN" in caplog.text
