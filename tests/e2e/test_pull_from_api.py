"""The monthly run pulls from the city's attendance API named by the Airflow connection
``dispenser_attendance_api`` (created through Airflow's REST API, as an operator would in the
UI): the local stand-in serves the hand-made small office (tests/cases/small_office), whose
outcome is counted by hand in its README."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sqlalchemy import create_engine, select

from dispenser_core.local.attendance_api import start_in_thread
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import candidates, import_batches
from tests.core.test_api_source import _office_records
from tests.e2e.conftest import DAG_ID, SETTLE_SECONDS

pytestmark = pytest.mark.airflow

TOKEN = "token-kota-uji"
CONNECTION = "dispenser_attendance_api"
E2, E4 = "198502022010012002", "199104042016011004"


@pytest.fixture
def attendance_api(stack):
    server = start_in_thread(token=TOKEN)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    employees, absences, attendance = _office_records()
    # The city's own terminals already use PINs 1 to 300; this office's terminal from 901.
    employees = [e | {"pin": f"90{e['pin']}"} for e in employees]
    attendance = [a | {"employee_pin": f"90{a['employee_pin']}"} for a in attendance]
    requests.post(
        f"{url}/_data",
        timeout=5,
        json={
            "employees": employees,
            "absences": absences,
            "punches": attendance,
            "synced_until": "2025-11-29T00:00:00Z",
        },
    ).raise_for_status()
    created = stack.airflow.api(
        "POST",
        "/api/v2/connections",
        json={
            "connection_id": CONNECTION,
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": server.server_address[1],
            "extra": json.dumps({"token": TOKEN, "source": "api-kota"}),
        },
    )
    assert created.status_code in (200, 201), created.text
    yield server
    stack.airflow.api("DELETE", f"/api/v2/connections/{CONNECTION}")
    server.shutdown()
    server.server_close()


def _reject_every_request_until_the_end(stack, run_id: str, timeout: float = 400) -> str:
    answered = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = stack.run_state(run_id)
        if state in ("success", "failed"):
            return state
        details = stack.airflow.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/hitlDetails")
        for detail in details.json()["hitl_details"]:
            ti = detail["task_instance"]
            key = (ti["map_index"], ti["try_number"])
            if ti["state"] == "awaiting_input" and key not in answered:
                time.sleep(SETTLE_SECONDS)
                assert stack.answer(detail, "Tolak", note="uji tarik data").ok
                answered.add(key)
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not end: {stack.task_states(run_id)}")


def _failures(stack, run_id: str) -> str:
    failed = [key for key, state in stack.task_states(run_id).items() if state == "failed"]
    logs = [
        line
        for task, index in failed
        for line in stack.task_log(run_id, task, map_index=index).splitlines()
        if '"exc_value"' in line
    ]
    return f"failed tasks {failed}:\n" + "\n".join(logs)


def test_the_monthly_run_pulls_the_api_of_the_connection(stack, attendance_api):
    run_id = stack.trigger("2025-11")
    assert _reject_every_request_until_the_end(stack, run_id) == "success", _failures(stack, run_id)

    # Only requests with the connection's token are served (and logged).
    assert {r["path"] for r in attendance_api.state.log} == {
        "/api/v1/employees",
        "/api/v1/absences",
        "/api/v1/attendance",
    }
    with connect(create_engine(stack.database_url)) as conn:
        batches = conn.execute(
            select(import_batches).where(import_batches.c.file_name.like("api-kota:%"))
        ).all()
        found = dict(
            conn.execute(
                select(candidates.c.nip, candidates.c.band_code).where(
                    candidates.c.period == "2025-11", candidates.c.nip.in_([E2, E4])
                )
            ).all()
        )
    # 195 punches, E5's test punch before joining kept aside; six employees, one leave. The
    # scheduled run of the unpaused DAG may pull too: it finds nothing new.
    loaded = {(b.source_kind, b.source, b.rows_read, b.rows_loaded) for b in batches if b.rows_read}
    assert loaded == {
        ("api_units", "", 1, 1),
        ("api_roster", "", 6, 6),
        ("api_absences", "", 1, 1),
        ("api_punches", "api-kota", 195, 194),
    }
    # E2 missed 3 working days (verbal reprimand, R1), E4 missed 6 (written reprimand, R2).
    assert found == {E2: "R1", E4: "R2"}
