"""The discipline cases an auditor asks about, run through loading, daily status, recap and
candidates in the database. Schedule unless stated: Mon-Thu 07:30-16:00, Fri 07:30-16:30,
Asia/Jakarta. Expected values are worked out by hand in each test's comment."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys

import holidays
from sqlalchemy import insert, select

from dispenser_core import pipeline, reports
from dispenser_core.drafts import record_decision, request_approval
from dispenser_core.loading import load_file
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.periods import Period
from dispenser_core.recap import build_recap, rebuild_daily_status
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import (
    daily_status,
    import_batches,
    punches,
    recaps,
    source_units,
)
from tests.conftest import CASES

UNIT = "DINAS-CONTOH"
HEAD = "197501012000031001"
NIP = "198807142014021001"
E2 = "198502022010012002"


def _write_city(folder, *, joined="2014-02-01", punch_lines=(), absences=()):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "units.csv").write_text(f"opd_code,opd_name,head_nip\n{UNIT},Dinas Contoh,{HEAD}\n")
    (folder / "roster.csv").write_text(
        "pin,nip,name,opd_code,start_date,supervisor_nip\n"
        f"9,{HEAD},Kepala,{UNIT},2000-01-01,\n1,{NIP},Pegawai Uji,{UNIT},{joined},{HEAD}\n"
    )
    (folder / "absences.csv").write_text(
        "nip,kind,start_date,end_date\n" + "".join(f"{a}\n" for a in absences)
    )
    (folder / "attlog.dat").write_text("".join(f"{line}\r\n" for line in punch_lines))


def _working_days(first: str, last: str) -> list[dt.date]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    off = set(
        holidays.country_holidays(
            "ID", years=range(start.year, end.year + 1), categories=("public", "government")
        )
    )
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5 and d not in off]


def _on_time(pin: int, days, *, skip=()) -> list[str]:
    lines = []
    for day in days:
        if day.isoformat() in skip:
            continue
        leave = "16:40:00" if day.weekday() == 4 else "16:10:00"
        lines += [f"{pin:>9}\t{day} 07:15:00\t1\t0\t0\t0", f"{pin:>9}\t{day} {leave}\t1\t1\t0\t0"]
    return lines


def _violations(engine, period) -> dict[str, tuple]:
    with connect(engine) as conn:
        rows = reports.candidate_report_rows(conn, period)
    return {r["nip"]: (r["band_code"], r["counted_days"]) for r in rows if r["kind"] == "violation"}


def _run(engine, settings, period):
    pipeline.extract(engine, settings.inbox_dir)
    pipeline.recap(engine, period)
    pipeline.find_candidates(engine, period, top_per_unit=3)
    return pipeline.save_drafts(engine, period, actor="test")


def test_ten_consecutive_working_days_across_months_reach_the_dismissal_band(engine, settings):
    # TK 27-31 Oct and 3-7 Nov 2025: ten working days in a row (the weekend does not break it).
    absent = (
        "2025-10-27",
        "2025-10-28",
        "2025-10-29",
        "2025-10-30",
        "2025-10-31",
        "2025-11-03",
        "2025-11-04",
        "2025-11-05",
        "2025-11-06",
        "2025-11-07",
    )
    days = _working_days("2025-10-01", "2025-11-30")
    _write_city(settings.inbox_dir, punch_lines=_on_time(1, days, skip=absent) + _on_time(9, days))
    _run(engine, settings, Period(2025, 10))
    assert _violations(engine, Period(2025, 10)) == {NIP: ("R2", 5)}  # 5 days in October
    _run(engine, settings, Period(2025, 11))
    assert _violations(engine, Period(2025, 11)) == {NIP: ("B4", 10)}


def test_a_sent_warning_is_repeated_only_when_a_higher_band_is_reached(engine, settings):
    # TK 3, 4, 5 March (3 days: verbal reprimand, sent), then 5 and 6 May (5 days: written).
    days = _working_days("2025-01-01", "2025-06-30")
    absent = ("2025-03-03", "2025-03-04", "2025-03-05", "2025-05-05", "2025-05-06")
    _write_city(settings.inbox_dir, punch_lines=_on_time(1, days, skip=absent) + _on_time(9, days))
    gateway = start_in_thread()
    try:
        settings = settings.__class__(
            **{**vars(settings), "notify_url": f"http://127.0.0.1:{gateway.server_address[1]}"}
        )
        march = _run(engine, settings, Period(2025, 3))
        assert _violations(engine, Period(2025, 3)) == {NIP: ("R1", 3)}
        with connect(engine) as conn:
            request_approval(conn, march[0], actor="test")
            record_decision(conn, march[0], approved=True, actor="approver")
        pipeline.send_notices(engine, settings, march[0])

        _run(engine, settings, Period(2025, 4))
        assert _violations(engine, Period(2025, 4)) == {}  # still 3: already warned
        _run(engine, settings, Period(2025, 5))
        assert _violations(engine, Period(2025, 5)) == {NIP: ("R2", 5)}
        _run(engine, settings, Period(2025, 6))
        assert _violations(engine, Period(2025, 6)) == {NIP: ("R2", 5)}  # not sent yet: still open
    finally:
        gateway.shutdown()
        gateway.server_close()


def test_a_punch_stored_in_utc_belongs_to_its_local_date(engine):
    # 2025-11-02T23:55Z is Monday 3 Nov 06:55 WIB; 2025-11-03T09:05Z is 16:05 WIB.
    with connect(engine) as conn:
        inbox = CASES / "small_office"
        load_file(conn, "units", inbox / "units.csv")
        load_file(conn, "roster", inbox / "roster.csv")
        batch = conn.execute(
            insert(import_batches).values(
                source_kind="attlog",
                file_name="api",
                file_sha256="utc-case",
                source="api",
                imported_at=dt.datetime(2025, 11, 4),
                covers_from=dt.date(2025, 11, 1),
                covers_to=dt.date(2025, 11, 3),
                synced_until=dt.datetime(2025, 11, 4),
            )
        ).inserted_primary_key[0]
        conn.execute(insert(source_units).values(source="api", opd_code=UNIT))
        conn.execute(
            insert(punches),
            [
                {
                    "nip": HEAD,
                    "punched_at": dt.datetime(2025, 11, 2, 23, 55),
                    "batch_id": batch,
                    "ingested_at": dt.datetime(2025, 11, 4),
                },
                {
                    "nip": HEAD,
                    "punched_at": dt.datetime(2025, 11, 3, 9, 5),
                    "batch_id": batch,
                    "ingested_at": dt.datetime(2025, 11, 4),
                },
            ],
        )
    pipeline.recap(engine, Period(2025, 11))
    with connect(engine) as conn:
        row = (
            conn.execute(
                select(daily_status).where(
                    daily_status.c.nip == HEAD, daily_status.c.day == dt.date(2025, 11, 3)
                )
            )
            .mappings()
            .one()
        )
    assert (row["check_in_local"], row["check_out_local"]) == (
        dt.datetime(2025, 11, 3, 6, 55),
        dt.datetime(2025, 11, 3, 16, 5),
    )
    assert row["early_leave_minutes"] == 0 and row["late_minutes"] == 0


NIGHT_SHIFT_SCRIPT = """
import datetime as dt, sys, time
from pathlib import Path
from dispenser_core import pipeline
from dispenser_core.periods import Period
from dispenser_core.recap import build_recap, rebuild_daily_status
from dispenser_core.settings import Settings
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import daily_status
from sqlalchemy import select

time.tzset()
folder = Path(sys.argv[1])
engine = pipeline.prepare(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/db.sqlite"))
for kind in ("units", "roster", "schedule_assignments", "shifts", "attlog"):
    name = {"schedule_assignments": "assignments.csv", "shifts": "shifts.csv",
            "attlog": "attlog.dat"}.get(kind, f"{kind}.csv")
    pipeline.import_file(engine, kind, folder / name)
pipeline.recap(engine, Period(2025, 10))
with connect(engine) as conn:
    print(conn.execute(select(daily_status.c.worked_minutes)
                       .where(daily_status.c.day == dt.date(2025, 10, 25))).scalar())
"""


def test_night_shift_hours_do_not_depend_on_the_machine_timezone(tmp_path):
    # 22:00 on 25 Oct to 06:00 on 26 Oct WIB: 8 hours, although Berlin's clocks go back that night.
    _write_city(
        tmp_path,
        punch_lines=[
            f"{1:>9}\t2025-10-25 22:00:00\t1\t0\t0\t0",
            f"{1:>9}\t2025-10-26 06:00:00\t1\t1\t0\t0",
        ],
    )
    (tmp_path / "assignments.csv").write_text(
        "nip,schedule,effective_from\n" + f"{NIP},shift,2025-10-01\n"
    )
    (tmp_path / "shifts.csv").write_text(f"nip,day,start,end\n{NIP},2025-10-25,22:00,06:00\n")
    env = {**os.environ, "TZ": "Europe/Berlin"}
    result = subprocess.run(
        [sys.executable, "-c", NIGHT_SHIFT_SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "480"


def test_a_punch_before_joining_is_reported_and_not_counted(engine, settings):
    shutil.copytree(CASES / "small_office", settings.inbox_dir)
    summaries = pipeline.extract(engine, settings.inbox_dir)
    punches_summary = next(s for s in summaries if s.source_kind == "attlog")
    # E5 joined on 17 November; their test punch on 14 November is kept aside with its reason.
    assert punches_summary.rows_rejected == 1
    pipeline.recap(engine, Period(2025, 11))
    with connect(engine) as conn:
        recap = {r["nip"]: r for r in reports.recap_rows(conn, Period(2025, 11))}
    assert (
        recap["199505052025111005"]["working_days"],
        recap["199505052025111005"]["present"],
    ) == (10, 10)


def test_a_late_absence_rewrites_only_the_employee_month_it_touches(engine, settings):
    shutil.copytree(CASES / "small_office", settings.inbox_dir)
    pipeline.extract(engine, settings.inbox_dir)
    november = Period(2025, 11)
    with connect(engine) as conn:
        build_recap(conn, november)
        again = rebuild_daily_status(conn, november.year_start, november.end)
    assert again.employee_months_changed == 0  # nothing new: nothing rewritten

    late = settings.inbox_dir / "absences-late.csv"
    late.write_text(f"nip,kind,start_date,end_date\n{E2},S,2025-11-05,2025-11-05\n")
    pipeline.extract(engine, settings.inbox_dir)
    with connect(engine) as conn:
        changed = rebuild_daily_status(conn, november.year_start, november.end)
        build_recap(conn, november, rebuild_status=False)
        stored = {
            r.nip: r for r in conn.execute(select(recaps).where(recaps.c.period == "2025-11"))
        }
    assert changed.employee_months_changed == 1
    assert (stored[E2].tk, stored[E2].sick, stored[E2].revision) == (2, 1, 2)
    assert stored[E2].revised_at is not None
    assert {nip: row.revision for nip, row in stored.items() if nip != E2} == dict.fromkeys(
        set(stored) - {E2}, 1
    )


def test_a_local_holiday_for_one_unit_leaves_the_others_working(engine, settings):
    shutil.copytree(CASES / "small_office", settings.inbox_dir)
    (settings.inbox_dir / "calendar.csv").write_text(
        "day,kind,name,opd_code\n2025-11-10,holiday,Hari jadi kota,ANOTHER-UNIT\n"
        f"2025-11-11,holiday,Libur OPD,{UNIT}\n"
    )
    pipeline.extract(engine, settings.inbox_dir)
    pipeline.import_file(engine, "calendar", settings.inbox_dir / "calendar.csv")
    pipeline.recap(engine, Period(2025, 11))
    with connect(engine) as conn:
        recap = {r["nip"]: r for r in reports.recap_rows(conn, Period(2025, 11))}
    # 11 Nov is off for this unit only; E2's TK days (5, 12, 19) are untouched.
    assert recap[HEAD]["working_days"] == 19
    assert (recap[E2]["working_days"], recap[E2]["tk"]) == (19, 3)


def test_the_yearly_recap_counts_only_judged_days(engine, settings):
    shutil.copytree(CASES / "small_office", settings.inbox_dir)
    pipeline.extract(engine, settings.inbox_dir)
    pipeline.recap(engine, Period(2025))
    with connect(engine) as conn:
        recap = {r["nip"]: r for r in reports.recap_rows(conn, Period(2025))}
        year_row = (
            conn.execute(select(recaps).where(recaps.c.period == "2025", recaps.c.nip == HEAD))
            .mappings()
            .one()
        )
    # 2025 has 261 weekdays and 24 weekday holidays or collective-leave days: 237 working days.
    # November (20) is judged; January-October (196) precede the first export; December (21)
    # follows the export's last day (28 November).
    head = recap[HEAD]
    assert (head["working_days"], head["present"], head["no_data"], year_row["pending"]) == (
        237,
        20,
        196,
        21,
    )


def test_a_run_from_december_into_january_counts_in_the_new_year(engine, settings):
    # TK 23, 24, 29, 30, 31 Dec 2025 and 2, 5, 6, 7, 8 Jan 2026: ten working days in a row
    # (25-26 Dec are holidays, 1 Jan New Year's Day, weekends in between).
    absent = (
        "2025-12-23",
        "2025-12-24",
        "2025-12-29",
        "2025-12-30",
        "2025-12-31",
        "2026-01-02",
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
        "2026-01-08",
    )
    days = _working_days("2025-12-01", "2026-01-31")
    assert sum(d.isoformat() in absent for d in days) == 10
    _write_city(settings.inbox_dir, punch_lines=_on_time(1, days, skip=absent) + _on_time(9, days))
    _run(engine, settings, Period(2025, 12))
    _run(engine, settings, Period(2026, 1))
    # In January the year's own count is 5 (written reprimand), but the run reaches ten.
    assert _violations(engine, Period(2026, 1)) == {NIP: ("B4", 10)}
