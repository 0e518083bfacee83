"""``make demo``: the sample city through the monthly run, waiting for approval in Airflow.

Steps: write the sample city's files, start the local notification service and Airflow on
127.0.0.1, trigger the monthly run for a past month, wait until its drafts wait for approval,
print the recap and the candidates, and keep everything running until Ctrl-C. Running it again
reuses the run that already waits; ``make demo-reset`` starts from nothing.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from dataclasses import replace
from urllib.parse import urlparse

from dispenser_core import pipeline, reports
from dispenser_core.local.airflow_standalone import LocalAirflow
from dispenser_core.local.notification_service import make_server
from dispenser_core.periods import Period
from dispenser_core.sample_city import write_sample_city
from dispenser_core.settings import Settings
from dispenser_core.storage.db import connect

log = logging.getLogger(__name__)

DAG_ID = "dispenser_monthly_discipline"
# A past month of the sample city, the month of the original product's screenshots.
DEMO_PERIOD = Period(2025, 11)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _waiting_run(airflow: LocalAirflow, period: Period) -> str | None:
    runs = airflow.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns?limit=100").json()["dag_runs"]
    for run in runs:
        if (run.get("conf") or {}).get("period") == str(period) and run["state"] in (
            "queued",
            "running",
        ):
            return run["dag_run_id"]
    return None


def _wait_for_approval(airflow: LocalAirflow, run_id: str, timeout: float = 600) -> int:
    """Wait until the run's drafts wait for approval (returns how many) or the run ends."""
    run_path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = airflow.api("GET", f"{run_path}/taskInstances").json()["task_instances"]
        waiting = sum(t["state"] == "awaiting_input" for t in tasks)
        failed = sorted(
            {t["task_id"] for t in tasks if t["state"] in ("failed", "upstream_failed")}
        )
        if failed:
            raise RuntimeError(
                f"The monthly run failed at {failed}; open {airflow.url} to read the task log."
            )
        if waiting or airflow.api("GET", run_path).json()["state"] == "success":
            return waiting
        print(f"  ... {sum(t['state'] == 'success' for t in tasks)} tasks done", flush=True)
        time.sleep(5)
    raise TimeoutError(f"The run did not reach the approval in {timeout:.0f} s; see {airflow.url}")


def _print_summary(settings: Settings, period: Period) -> None:
    engine = pipeline.prepare(settings)
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, period)
        units = reports.unit_rows(rows)
        found = reports.candidate_report_rows(conn, period)
        drafts = reports.draft_rows(conn)
    print(f"\nRekap bulanan {period.label_id} per OPD ({len(rows)} pegawai):")
    print(reports.render(units, "table", reports.UNIT_HEADERS_ID))
    print(f"Kandidat {period.label_id}:")
    print(reports.render(reports.band_summary(found, period), "table"))
    print(reports.pending_summary(drafts, settings.timezone))
    print(f"Daftar lengkap: .venv/bin/dispenser candidates --period {period}")


def run_demo(
    settings: Settings,
    *,
    port: int = 8080,
    period: Period | None = None,
    keep_running: bool = True,
) -> int:
    period = period or DEMO_PERIOD
    sample_dir = settings.data_dir / "sample-city"
    settings = replace(settings, inbox_dir=sample_dir)
    notify_port = urlparse(settings.notify_url).port or 8765
    for needed in (port, notify_port):
        if not _port_is_free(needed):
            print(
                f"Port {needed} on 127.0.0.1 is in use. Stop what uses it, or choose other "
                "ports: make demo PORT=8081 (and DISPENSER_NOTIFY_URL for the gateway)."
            )
            return 1

    print(f"1/5 Sample city -> {sample_dir}", flush=True)
    write_sample_city(sample_dir)
    pipeline.prepare(settings)

    print(f"2/5 Notification service on http://127.0.0.1:{notify_port}", flush=True)
    gateway = make_server(
        notify_port, settings.notify_token, settings.data_dir / "notifications.jsonl"
    )
    threading.Thread(target=gateway.serve_forever, daemon=True).start()

    airflow = LocalAirflow(
        settings.data_dir / "airflow",
        port=port,
        extra_env={
            "DISPENSER_DATA_DIR": str(settings.data_dir),
            "DISPENSER_DATABASE_URL": settings.database_url,
            "DISPENSER_INBOX_DIR": str(sample_dir),
            "DISPENSER_NOTIFY_URL": settings.notify_url,
        },
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"3/5 Airflow on {airflow.url} (log: {airflow.home / 'standalone.log'})", flush=True)
        airflow.start()
        airflow.wait_until_ready(timeout=300, dag_id=DAG_ID)
        airflow.prepare_dispenser()
        airflow.unpause(DAG_ID)

        run_id = _waiting_run(airflow, period)
        if run_id is None:
            response = airflow.api(
                "POST",
                f"/api/v2/dags/{DAG_ID}/dagRuns",
                json={"logical_date": None, "conf": {"period": str(period)}},
            )
            response.raise_for_status()
            run_id = response.json()["dag_run_id"]
        print(f"4/5 Monthly run {run_id} for {period}", flush=True)
        waiting = _wait_for_approval(airflow, run_id)

        print("5/5 Ready.", flush=True)
        _print_summary(settings, period)
        if waiting:
            print(f"\n{waiting} draft(s) wait for approval: {airflow.url} -> Required Actions")
        else:
            print(
                "\nNo draft waits: this period was decided before. `make demo-reset` starts over."
            )
        print(f"Approver login: user 'approver', password '{airflow.password('approver')}'")
        print(f"Notices received by the local gateway: {settings.data_dir / 'notifications.jsonl'}")
        if keep_running:
            print("Press Ctrl-C to stop Airflow and the notification service.", flush=True)
            while not stop.wait(1):
                pass
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        print("Stopping Airflow and the notification service...", flush=True)
        airflow.stop()
        gateway.shutdown()
        gateway.server_close()
