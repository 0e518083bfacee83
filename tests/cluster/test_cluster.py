"""The production topology under faults: each test runs the monthly DAG of a sample-city month on
the session's Celery cluster, disturbs it, and checks that the results are those of one process
loading the same inbox into SQLite, that nothing was loaded or delivered twice."""

from __future__ import annotations

import csv
import re
import signal
import time
from collections import Counter

import psutil
import pytest
from sqlalchemy import create_engine, func, select, text

from dispenser_core import pipeline
from dispenser_core.periods import Period
from dispenser_core.storage.db import connect, create_schema
from dispenser_core.storage.frames import read_frame
from dispenser_core.storage.schema import (
    absences,
    daily_status,
    employees,
    import_batches,
    notices,
    punches,
    recaps,
)

pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.cluster]

DAG_ID = "dispenser_monthly_discipline"
APPROVE_ALL, REJECT = "Setujui semua", "Tolak"
UNIT_TASK = "build_daily_status"
RUN_TIMEOUT = 600
# A try the scheduler cannot hand to the broker fails without running and is retried after the
# retry delay, twice: an outage shorter than the two delays loses nothing.
BROKER_OUTAGE_SECONDS = 20


@pytest.fixture
def stack(cluster_stack):
    yield cluster_stack
    # A test that failed half-way must not hold the next one behind max_active_runs=1.
    runs = cluster_stack.airflow.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns").json()
    for run in runs["dag_runs"]:
        if run["state"] in ("queued", "running"):
            cluster_stack.airflow.api(
                "PATCH",
                f"/api/v2/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}",
                json={"state": "failed"},
            )


@pytest.fixture
def data(cluster_stack):
    engine = create_engine(cluster_stack.database_url)
    create_schema(engine)  # as the first task would; a test may need the tables before it
    yield engine
    engine.dispose()


def _results(engine, period: Period) -> dict:
    """The period's recap and the daily status up to its end, without when they were made."""
    with connect(engine) as conn:
        recap = read_frame(conn, select(recaps).where(recaps.c.period == str(period))).drop(
            columns=["computed_at", "revised_at", "revision"]
        )
        statuses = read_frame(
            conn, select(daily_status).where(daily_status.c.day <= period.end)
        ).drop(columns=["computed_at"])
    return {
        "recap": _rows(recap.sort_values("nip")),
        "daily_status": _rows(statuses.sort_values(["nip", "day"])),
    }


def _rows(frame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _loaded(engine) -> dict[str, int]:
    with connect(engine) as conn:
        return {
            table.name: conn.scalar(select(func.count()).select_from(table))
            for table in (import_batches, punches, absences, employees)
        }


def _expected(stack, tmp_path, period: Period):
    reference = stack.reference(tmp_path)
    pipeline.recap(reference, period)
    return reference


def _until_drafts(stack, run_id: str) -> list[dict]:
    """Wait for the run's drafts, then for one approval waiting per draft."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while stack.task_states(run_id).get(("save_drafts", -1)) != "success":
        broken = {k: s for k, s in stack.task_states(run_id).items() if s in ("failed",)}
        assert not broken, f"run {run_id} failed: {broken}"
        assert time.monotonic() < deadline, stack.task_states(run_id)
        time.sleep(3)
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/save_drafts/xcomEntries/"
    drafts = stack.airflow.api("GET", path + "return_value").json()["value"]
    return stack.wait_for_approvals(run_id, expected=len(drafts), timeout=RUN_TIMEOUT)


def _reject_and_end(stack, run_id: str, waiting: list[dict]) -> None:
    for detail in waiting:
        assert stack.answer(detail, REJECT, note="uji klaster").status_code == 200
    assert stack.wait_for_end(run_id, timeout=RUN_TIMEOUT) == "success"


def _unit_tasks(stack, run_id: str) -> list[dict]:
    return [t for t in stack.task_instances(run_id) if t["task_id"] == UNIT_TASK]


def _worker_running(stack, task_instance_id: str) -> str | None:
    """The worker component whose processes run the task instance (its process title holds
    the instance's id)."""
    for component, process in stack.cluster.processes.items():
        if not component.startswith("worker-"):
            continue
        for child in process.children(recursive=True):
            try:
                if task_instance_id in " ".join(child.cmdline()):
                    return component
            except psutil.Error:
                continue
    return None


def test_a_run_spread_over_two_workers_equals_one_process(stack, data, tmp_path):
    november = Period(2025, 11)
    run_id = stack.trigger(str(november))
    waiting = _until_drafts(stack, run_id)

    units = {t["rendered_map_index"] for t in _unit_tasks(stack, run_id)}
    with (stack.sample_city / "roster.csv").open() as roster:
        roster_units = {row["opd_code"] for row in csv.DictReader(roster)}
    assert units == roster_units
    logs = {w: (stack.cluster.home / f"{w}.log").read_text() for w in ("worker-1", "worker-2")}
    assert all(UNIT_TASK in text for text in logs.values()), "both workers ran unit tasks"

    assert _results(data, november) == _results(_expected(stack, tmp_path, november), november)
    _reject_and_end(stack, run_id, waiting)


def test_a_worker_killed_mid_daily_status_is_retried_with_the_same_result(stack, data, tmp_path):
    december = Period(2025, 12)
    run_id = stack.trigger(str(december))
    victim, killed = _catch_a_running_unit_task(stack, run_id)
    stack.cluster.stop_component(victim, signal.SIGKILL)
    try:
        waiting = _until_drafts(stack, run_id)
    finally:
        stack.cluster.start_component(victim)
        stack.cluster.wait_for_workers()

    again = next(t for t in _unit_tasks(stack, run_id) if t["map_index"] == killed["map_index"])
    assert (again["state"], again["try_number"] > 1) == ("success", True)
    expected = _expected(stack, tmp_path, december)
    assert _results(data, december) == _results(expected, december)
    assert _loaded(data) == _loaded(expected)
    _reject_and_end(stack, run_id, waiting)


def _catch_a_running_unit_task(stack, run_id: str) -> tuple[str, dict]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        for task in _unit_tasks(stack, run_id):
            if task["state"] == "running" and (worker := _worker_running(stack, task["id"])):
                return worker, task
        time.sleep(0.2)
    raise AssertionError(f"no unit task was seen running: {stack.task_states(run_id)}")


def test_a_load_whose_connections_are_cut_is_retried_and_loads_once(stack, data, tmp_path):
    year_before = (stack.sample_city / "attlog-dinkes.dat").read_text().replace("2025-", "2024-")
    (stack.sample_city / "attlog-dinkes-2024.dat").write_text(year_before)
    database = data.url.database
    with data.connect() as blocker:
        # Hold the punches table so the load waits inside its transaction, then cut it there.
        blocker.execute(text("LOCK TABLE punches IN SHARE MODE"))
        ours = blocker.scalar(text("SELECT pg_backend_pid()"))
        run_id = stack.trigger("2025-08")
        loader = _wait_for_a_waiting_backend(data, database, ours)
        with data.connect() as admin:
            assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": loader})
        blocker.rollback()
    waiting = _until_drafts(stack, run_id)

    extract = next(t for t in stack.task_instances(run_id) if t["task_id"] == "extract_sources")
    assert (extract["state"], extract["try_number"] > 1) == ("success", True), stack.task_log(
        run_id, "extract_sources"
    )[-3000:]
    expected = _expected(stack, tmp_path, Period(2025, 8))
    assert _loaded(data) == _loaded(expected)
    with connect(data) as conn:
        names = list(conn.scalars(select(import_batches.c.file_name)))
    assert names.count("attlog-dinkes-2024.dat") == 1
    _reject_and_end(stack, run_id, waiting)


def _wait_for_a_waiting_backend(engine, database: str, ours: int) -> int:
    deadline = time.monotonic() + RUN_TIMEOUT
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text(
                    "SELECT pid, query FROM pg_stat_activity WHERE datname = :db "
                    "AND pid <> :ours AND wait_event_type = 'Lock'"
                ),
                {"db": database, "ours": ours},
            ).all()
            watcher.rollback()
            if waiting:
                assert len(waiting) == 1 and "punches" in waiting[0].query, waiting
                return waiting[0].pid
            time.sleep(0.2)
    raise AssertionError("no load waited on the punches table")


def test_tasks_queued_while_the_broker_is_away_run_once_it_is_back(stack, data, tmp_path):
    july = Period(2025, 7)
    stack.gate.close()
    try:
        run_id = stack.trigger(str(july))
        time.sleep(BROKER_OUTAGE_SECONDS)
        started = {
            k: s for k, s in stack.task_states(run_id).items() if s in ("running", "success")
        }
        assert not started, f"tasks ran without a broker: {started}"
    finally:
        stack.gate.open()
    waiting = _until_drafts(stack, run_id)

    # A task the scheduler could not hand to the broker failed that try without running, and
    # ran on its retry: every task that ran, ran once.
    ran = {(t["task_id"], t["map_index"]) for t in stack.task_instances(run_id) if t["start_date"]}
    executions = _executions(stack, run_id)
    assert ran and set(executions) == ran
    assert {key: n for key, n in executions.items() if n != 1} == {}
    assert _results(data, july) == _results(_expected(stack, tmp_path, july), july)
    _reject_and_end(stack, run_id, waiting)


def _executions(stack, run_id: str) -> Counter:
    """How many times the workers started each (task, map index) of the run."""
    started = re.compile(
        rf"Executing workload in Celery: .*log_path='[^']*run_id={re.escape(run_id)}"
        r"/task_id=([^/]+)/(?:map_index=(\d+)/)?attempt="
    )
    counts: Counter = Counter()
    for log in stack.cluster.home.glob("worker-*.log"):
        for match in started.finditer(log.read_text()):
            counts[(match[1], int(match[2]) if match[2] else -1)] += 1
    return counts


def test_the_scheduler_restarted_while_approving_and_sending_delivers_each_notice_once(stack, data):
    run_id = stack.trigger("2025-09")
    waiting = _until_drafts(stack, run_id)
    _restart(stack, "scheduler")

    received_before = len(stack.gateway.state.received)
    stack.gateway.state.control({"delay_ms": 1500})
    try:
        for detail in waiting:
            assert stack.answer(detail, APPROVE_ALL).status_code == 200
        _wait_for_sending(stack, run_id)
        _restart(stack, "scheduler")
        assert stack.wait_for_end(run_id, timeout=RUN_TIMEOUT) == "success"
    finally:
        stack.gateway.state.control({"delay_ms": 0})

    with connect(data) as conn:
        keys = set(
            conn.scalars(
                select(notices.c.idempotency_key).where(
                    notices.c.draft_id.in_(_draft_ids(stack, run_id)),
                    notices.c.status == "sent",
                )
            )
        )
    delivered = [n["idempotency_key"] for n in stack.gateway.state.received[received_before:]]
    assert keys
    assert sorted(delivered) == sorted(keys)
    assert stack.gateway.state.repeated_keys == 0


def _restart(stack, component: str) -> None:
    stack.cluster.stop_component(component)
    time.sleep(3)
    stack.cluster.start_component(component)


def _wait_for_sending(stack, run_id: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        states = stack.task_states(run_id)
        if any(task.endswith("send_notices") and s == "running" for (task, _), s in states.items()):
            return
        time.sleep(0.5)
    raise AssertionError(f"sending never started: {stack.task_states(run_id)}")


def _draft_ids(stack, run_id: str) -> list[int]:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/save_drafts/xcomEntries/"
    return stack.airflow.api("GET", path + "return_value").json()["value"]
