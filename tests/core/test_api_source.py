"""Pulling from an attendance API, against the local stand-in (dispenser_core/local): pages and
cursors, credentials, retries, a page that repeats rows, incremental pulls with an overlap, and
another city's field names through a mapping file. Expected counts come from the case files."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
import requests
from sqlalchemy import func, select

from dispenser_core import pipeline, reports
from dispenser_core.http import RetryPolicy
from dispenser_core.local.attendance_api import start_in_thread
from dispenser_core.periods import Period
from dispenser_core.sources.api import SourceError, load_mapping
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import punches, rejected_records, work_units
from tests.conftest import CASES

OFFICE = CASES / "small_office"
TOKEN = "rahasia-uji"
FAST = RetryPolicy(max_attempts=6, backoff_seconds=0.01, timeout_seconds=5)


def _office_records():
    """The small office in the API's own names: punches in UTC (WIB less seven hours)."""
    with (OFFICE / "units.csv").open() as handle:
        units = {row["opd_code"]: row for row in csv.DictReader(handle)}
    with (OFFICE / "roster.csv").open() as handle:
        employees = [
            {
                "nip": r["nip"],
                "pin": r["pin"],
                "name": r["name"],
                "unit": {"code": r["opd_code"], "name": units[r["opd_code"]]["opd_name"]},
                "grade": r["grade"],
                "supervisor_nip": r["supervisor_nip"],
                "start_date": r["start_date"],
                "end_date": r["end_date"] or None,
            }
            for r in csv.DictReader(handle)
        ]
    with (OFFICE / "absences.csv").open() as handle:
        absences = [
            {
                "nip": r["nip"],
                "type": r["kind"],
                "from": r["start_date"],
                "until": r["end_date"],
                "letter_number": r["reference"],
            }
            for r in csv.DictReader(handle)
        ]
    attendance = []
    for line in (OFFICE / "attlog.dat").read_text().splitlines():
        pin, when = line.split("\t")[:2]
        local = dt.datetime.fromisoformat(when)
        attendance.append(
            {
                "employee_pin": pin.strip(),
                "timestamp": (local - dt.timedelta(hours=7)).isoformat() + "Z",
            }
        )
    return employees, absences, attendance


@pytest.fixture
def api():
    server = start_in_thread(token=TOKEN)
    employees, absences, attendance = _office_records()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    requests.post(
        f"{url}/_data",
        timeout=5,
        json={
            "employees": employees,
            "absences": absences,
            "punches": attendance,
            "synced_until": "2025-11-29T00:00:00Z",
        },
    )
    yield server, url
    server.shutdown()
    server.server_close()


def _config(settings, url, **changes):
    config = pipeline.api_config(settings, base_url=url, token=TOKEN)
    mapping = config.mapping | {"pagination": config.mapping["pagination"] | {"size": 50}}
    return config.__class__(**{**vars(config), "mapping": mapping, "policy": FAST} | changes)


def _stored(engine) -> int:
    with connect(engine) as conn:
        return conn.scalar(select(func.count()).select_from(punches))


def test_every_page_is_followed_and_the_recap_matches_the_files(engine, settings, api):
    server, url = api
    summaries = pipeline.pull_api(engine, settings, _config(settings, url))
    # 195 punch lines; E5's test punch before joining is kept aside (see small_office/README).
    by_kind = {s.source_kind: s for s in summaries}
    assert (by_kind["api_punches"].rows_read, by_kind["api_punches"].rows_loaded) == (195, 194)
    assert (by_kind["api_roster"].rows_loaded, by_kind["api_absences"].rows_loaded) == (6, 1)
    # 195 rows at 50 a page: 4 pages of punches, after one page each of roster and absences.
    punch_pages = [r for r in server.state.log if r["path"] == "/api/v1/attendance"]
    assert [r["query"]["page"] for r in punch_pages] == [["1"], ["2"], ["3"], ["4"]]

    pipeline.recap(engine, Period(2025, 11))
    with connect(engine) as conn:
        recap = {r["nip"]: r for r in reports.recap_rows(conn, Period(2025, 11))}
    assert (recap["198502022010012002"]["tk"], recap["199003032015032003"]["leave"]) == (3, 5)


def test_wrong_credentials_are_refused_with_what_to_check(engine, settings, api):
    _, url = api
    with pytest.raises(SourceError, match="refused .* with 401.*Check the API credentials"):
        pipeline.pull_api(engine, settings, _config(settings, url, token="salah"))
    assert _stored(engine) == 0


def test_throttling_and_failures_are_retried(engine, settings, api):
    server, url = api
    server.state.throttle_every, server.state.fail_every = 3, 5
    pipeline.pull_api(engine, settings, _config(settings, url))
    assert _stored(engine) == 194
    assert server.state.requests > 6  # six pages, and the retries


def test_a_page_that_repeats_rows_loads_each_punch_once(engine, settings, api):
    server, url = api
    server.state.repeat_page = 2  # page 2 also carries the last 5 rows of page 1
    summaries = pipeline.pull_api(engine, settings, _config(settings, url))
    pulled = next(s for s in summaries if s.source_kind == "api_punches")
    assert (pulled.rows_read, pulled.rows_loaded, pulled.rows_duplicate) == (200, 194, 5)
    with connect(engine) as conn:
        reasons = conn.execute(
            select(rejected_records.c.reason, func.count())
            .where(rejected_records.c.batch_id == pulled.batch_id)
            .group_by(rejected_records.c.reason)
        ).all()
    assert dict(reasons) == {"duplicate": 5, "before_start_date": 1}


def test_cursor_pagination(engine, settings, api):
    server, url = api
    server.state.cursor = True
    paging = load_mapping()["pagination"] | {"style": "cursor", "size": 50}
    config = _config(settings, url)
    pipeline.pull_api(
        engine,
        settings,
        config.__class__(**{**vars(config), "mapping": config.mapping | {"pagination": paging}}),
    )
    assert _stored(engine) == 194


def test_an_incremental_pull_asks_from_the_watermark_less_the_overlap(engine, settings, api):
    server, url = api
    pipeline.pull_api(engine, settings, _config(settings, url))
    # A punch that reached the source late, 30 minutes before its first watermark (00:00Z).
    late = {"employee_pin": "1", "timestamp": "2025-11-28T23:30:00Z"}
    employees, absences, attendance = _office_records()
    requests.post(
        f"{url}/_data",
        timeout=5,
        json={"punches": [*attendance, late], "synced_until": "2025-11-30T00:00:00Z"},
    )
    server.state.log.clear()

    summaries = pipeline.pull_api(engine, settings, _config(settings, url))
    second = next(s for s in summaries if s.source_kind == "api_punches")
    # The watermark was 29 Nov 00:00Z; less the 60-minute overlap.
    asked = [r["query"]["since"][0] for r in server.state.log if r["path"] == "/api/v1/attendance"]
    assert set(asked) == {"2025-11-28T23:00:00Z"}
    assert (second.rows_read, second.rows_loaded) == (1, 1)
    assert _stored(engine) == 195


def test_another_citys_field_names_plug_in_through_a_mapping_file(engine, settings, api, tmp_path):
    server, url = api
    employees, absences, attendance = _office_records()
    renamed = [{"badge": p["employee_pin"], "at": p["timestamp"]} for p in attendance]
    requests.post(f"{url}/_data", timeout=5, json={"punches": renamed})
    mapping = load_mapping()
    mapping["punches"]["fields"] = {"pin": "badge", "time": "at"}
    mapping_file = tmp_path / "other-city.json"
    mapping_file.write_text(json.dumps(mapping))

    other = settings.__class__(**{**vars(settings), "api_mapping": str(mapping_file)})
    pipeline.pull_api(engine, other, _config(other, url))
    assert _stored(engine) == 194


def test_the_cli_pulls_with_the_settings_credentials(settings, api, monkeypatch, capsys):
    from dispenser_core.cli import main

    _, url = api
    monkeypatch.setenv("DISPENSER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISPENSER_API_TOKEN", TOKEN)
    assert main(["pull", "--url", url, "--source", "api-kota"]) == 0
    out = capsys.readouterr().out
    assert "api-kota:punches since the start UTC" in out
    assert "195 rows read, 194 loaded, 0 already present, 1 rejected" in out
    assert "before_start_date" in out

    monkeypatch.delenv("DISPENSER_API_TOKEN")
    assert main(["pull"]) == 2
    assert "No attendance API is configured" in capsys.readouterr().err


def test_the_attendance_api_command_serves_a_data_file(tmp_path):
    import subprocess
    import sys

    employees, absences, attendance = _office_records()
    data = tmp_path / "records.json"
    data.write_text(json.dumps({"employees": employees, "punches": attendance}))
    server = subprocess.Popen(
        [sys.executable, "-m", "dispenser_core.cli", "attendance-api", "--port", "0"]
        + ["--token", TOKEN, "--data", str(data)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().split(" on ")[1].strip()
        refused = requests.get(f"{url}/api/v1/employees", timeout=5)
        served = requests.get(
            f"{url}/api/v1/employees",
            params={"page": 1, "per_page": 100},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert refused.status_code == 401
    assert len(served.json()["data"]) == 6


def test_a_pull_keeps_what_the_units_file_set(engine, settings, api):
    """The API names units by code and name only: a unit the units file gave a head and a
    zone keeps them."""
    _, url = api
    pipeline.import_file(engine, "units", OFFICE / "units.csv")
    pipeline.pull_api(engine, settings, _config(settings, url))
    with connect(engine) as conn:
        head, zone = conn.execute(
            select(work_units.c.head_nip, work_units.c.timezone).where(
                work_units.c.opd_code == "DINAS-CONTOH"
            )
        ).one()
    assert (head, zone) == ("197501012000031001", "Asia/Jakarta")
