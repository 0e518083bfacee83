"""One real Airflow (``airflow standalone`` on 127.0.0.1) and one local notification gateway for
the whole test session, with the sample city in the inbox."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dispenser_core.local.airflow_standalone import LocalAirflow, free_port
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.sample_city import write_sample_city

DAG_ID = "dispenser_monthly_discipline"
SETTLE_SECONDS = 5


@dataclass
class Stack:
    airflow: LocalAirflow
    gateway: object
    database_url: str
    sample_city: Path

    def trigger(self, period: str) -> str:
        response = self.airflow.api(
            "POST",
            f"/api/v2/dags/{DAG_ID}/dagRuns",
            json={"logical_date": None, "conf": {"period": period}},
        )
        assert response.status_code == 200, response.text
        return response.json()["dag_run_id"]

    def task_states(self, run_id: str) -> dict[tuple[str, int], str]:
        tasks = self.airflow.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
        return {(t["task_id"], t["map_index"]): t["state"] for t in tasks.json()["task_instances"]}

    def run_state(self, run_id: str) -> str:
        return self.airflow.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]

    def wait_for_approvals(self, run_id: str, expected: int, timeout: float = 300) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.task_states(run_id)
            broken = {k: s for k, s in states.items() if s in ("failed", "upstream_failed")}
            assert not broken, f"run {run_id} failed: {broken}"
            details = self.airflow.api(
                "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/hitlDetails"
            ).json()["hitl_details"]
            waiting = [d for d in details if d["task_instance"]["state"] == "awaiting_input"]
            if len(waiting) >= expected:
                # A person reads for a while; an answer given within a second of the request can
                # be lost by Airflow 3.3.2 (the scheduler has not yet settled the paused task).
                time.sleep(SETTLE_SECONDS)
                return waiting
            time.sleep(2)
        raise AssertionError(
            f"run {run_id} did not reach {expected} approvals: {self.task_states(run_id)}"
        )

    def wait_for_end(self, run_id: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise AssertionError(f"run {run_id} did not end: {self.task_states(run_id)}")

    def answer(self, detail: dict, option: str, user: str = "approver", excluded=(), note=""):
        ti = detail["task_instance"]
        path = (
            f"/api/v2/dags/{DAG_ID}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
            f"/{ti['map_index']}/hitlDetails"
        )
        return self.airflow.api(
            "PATCH",
            path,
            user=user,
            json={
                "chosen_options": [option],
                "params_input": {"nip_dikecualikan": list(excluded), "catatan": note},
            },
        )


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    sample_city = root / "sample-city"
    write_sample_city(sample_city)
    gateway = start_in_thread()
    database_url = f"sqlite:///{root / 'dispenser.sqlite'}"
    airflow = LocalAirflow(
        root / "airflow",
        port=free_port(),
        extra_env={
            "DISPENSER_DATA_DIR": str(root / "data"),
            "DISPENSER_DATABASE_URL": database_url,
            "DISPENSER_INBOX_DIR": str(sample_city),
            "DISPENSER_NOTIFY_URL": f"http://127.0.0.1:{gateway.server_address[1]}",
            "DISPENSER_APPROVAL_TIMEOUT_HOURS": "1",
        },
    )
    airflow.start()
    try:
        airflow.wait_until_ready(timeout=240, dag_id=DAG_ID)
        airflow.unpause(DAG_ID)
        yield Stack(airflow, gateway, database_url, sample_city)
    finally:
        airflow.stop()
        gateway.shutdown()
        gateway.server_close()
