"""One real Airflow (``airflow standalone`` on 127.0.0.1) and one local notification gateway for
the whole test session, with the sample city in the inbox."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from dispenser_core import pipeline
from dispenser_core.local.airflow_standalone import LocalAirflow, free_port
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.periods import Period
from dispenser_core.sample_city import write_sample_city
from dispenser_core.storage.db import create_schema
from tests.conftest import fresh_postgres_database

DAG_ID = "dispenser_monthly_discipline"
ANALYSIS_DAG_ID = "dispenser_analisis_disiplin"
SETTLE_SECONDS = 8


@dataclass
class Stack:
    airflow: LocalAirflow
    gateway: object
    database_url: str
    sample_city: Path
    answers: dict = field(default_factory=dict)

    def trigger(self, period: str) -> str:
        return self.trigger_dag(DAG_ID, {"period": period})

    def trigger_dag(self, dag_id: str, conf: dict) -> str:
        response = self.airflow.api(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf}
        )
        assert response.status_code == 200, response.text
        return response.json()["dag_run_id"]

    def task_instances(self, run_id: str, dag_id: str = DAG_ID) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self.airflow.api("GET", path).json()["task_instances"]

    def task_states(self, run_id: str, dag_id: str = DAG_ID) -> dict[tuple[str, int], str]:
        return {
            (t["task_id"], t["map_index"]): t["state"] for t in self.task_instances(run_id, dag_id)
        }

    def run_state(self, run_id: str, dag_id: str = DAG_ID) -> str:
        return self.airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]

    def task_log(
        self,
        run_id: str,
        task_id: str,
        dag_id: str = DAG_ID,
        try_number: int = 1,
        map_index: int = -1,
    ) -> str:
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/"
            f"{try_number}?map_index={map_index}"
        )
        content = self.airflow.api("GET", path).json().get("content", [])
        # Each line is a record; an exception's message sits in its error details.
        return "\n".join(
            json.dumps(line, ensure_ascii=False) if isinstance(line, dict) else str(line)
            for line in content
        )

    def wait_for_approvals(
        self, run_id: str, expected: int, timeout: float = 300, dag_id: str = DAG_ID
    ) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.task_states(run_id, dag_id)
            broken = {k: s for k, s in states.items() if s in ("failed", "upstream_failed")}
            assert not broken, f"run {run_id} failed: {broken}"
            details = self.airflow.api(
                "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/hitlDetails"
            ).json()["hitl_details"]
            waiting = [d for d in details if d["task_instance"]["state"] == "awaiting_input"]
            if len(waiting) >= expected:
                # A person reads for a while; an answer given within a second of the request can
                # be lost by Airflow 3.3.2 (the scheduler has not yet settled the paused task).
                time.sleep(SETTLE_SECONDS)
                return waiting
            time.sleep(2)
        raise AssertionError(
            f"run {run_id} did not reach {expected} approvals: {self.task_states(run_id, dag_id)}"
        )

    def wait_for_end(self, run_id: str, timeout: float = 120, dag_id: str = DAG_ID) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(run_id, dag_id)
            if state in ("success", "failed"):
                return state
            self._answer_again(run_id, dag_id)
            time.sleep(2)
        raise AssertionError(f"run {run_id} did not end: {self.task_states(run_id, dag_id)}")

    def _answer_again(self, run_id: str, dag_id: str) -> None:
        """Airflow 3.3.2 may lose an answer given while it settles a paused task; the approval
        step then asks again, and the approver answers again, as a person would."""
        details = self.airflow.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/hitlDetails"
        ).json()["hitl_details"]
        for detail in details:
            ti = detail["task_instance"]
            given = self.answers.get((dag_id, run_id, ti["task_id"], ti["map_index"]))
            if ti["state"] == "awaiting_input" and given and ti["try_number"] > given["try"]:
                time.sleep(SETTLE_SECONDS)
                self.answer(
                    detail, given["option"], given["user"], given["excluded"], given["note"]
                )

    def answer(self, detail: dict, option: str, user: str = "approver", excluded=(), note=""):
        ti = detail["task_instance"]
        path = (
            f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/"
            f"{ti['task_id']}/{ti['map_index']}/hitlDetails"
        )
        response = self.airflow.api(
            "PATCH",
            path,
            user=user,
            json={
                "chosen_options": [option],
                "params_input": {"nip_dikecualikan": list(excluded), "catatan": note},
            },
        )
        if response.ok:
            self.answers[(ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"])] = {
                "try": ti["try_number"],
                "option": option,
                "user": user,
                "excluded": list(excluded),
                "note": note,
            }
        return response


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    # Airflow's own metadata lives in PostgreSQL: on SQLite, its API server and scheduler
    # contend for the one writer and answers fail with "database is locked" under load.
    with fresh_postgres_database("airflow_e2e") as metadata_url:
        yield from _stack(tmp_path_factory, metadata_url)


def _stack(tmp_path_factory, metadata_url: str):
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
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        },
        inherit_dispenser_env=False,
    )
    airflow.start()
    try:
        airflow.wait_until_ready(timeout=240, dag_id=DAG_ID)
        airflow.prepare_dispenser()
        airflow.unpause(DAG_ID)
        airflow.unpause(ANALYSIS_DAG_ID)
        yield Stack(airflow, gateway, database_url, sample_city)
    finally:
        airflow.stop()
        gateway.shutdown()
        gateway.server_close()


@pytest.fixture(scope="session")
def recapped_november(stack):
    """The sample city loaded and November 2025 recapped, as a monthly run leaves them."""
    engine = create_engine(stack.database_url)
    create_schema(engine)
    pipeline.extract(engine, stack.sample_city)
    pipeline.recap(engine, Period(2025, 11))
    return engine
