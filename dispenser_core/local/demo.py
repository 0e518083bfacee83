"""``make demo``: the sample city through the monthly run, waiting for approval in Airflow.

Steps: write the sample city's files, start the local notification service and Airflow on
127.0.0.1, trigger the monthly run for a past month, wait until its drafts wait for approval,
print the recap and the candidates, and keep everything running until Ctrl-C (or SIGTERM, or
SIGHUP), which stops every process it started. Running it again reuses the run that already
waits; ``make demo-reset`` starts from nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
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


def _say(text: str = "") -> None:
    """Print, and go on when nobody reads any more (`make demo | tee log` after Ctrl-C)."""
    try:
        print(text, flush=True)
    except OSError:
        _silence_stdout()


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; pointing it at devnull keeps that flush quiet.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stdout for the rest of the run


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
        _say(f"  ... {sum(t['state'] == 'success' for t in tasks)} tasks done")
        time.sleep(5)
    raise TimeoutError(f"The run did not reach the approval in {timeout:.0f} s; see {airflow.url}")


def _print_summary(settings: Settings, period: Period) -> None:
    engine = pipeline.prepare(settings)
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, period)
        units = reports.unit_rows(rows)
        found = reports.candidate_report_rows(conn, period)
        drafts = reports.draft_rows(conn)
    _say(f"\nRekap bulanan {period.label_id} per OPD ({len(rows)} pegawai):")
    _say(reports.render(units, "table", reports.UNIT_HEADERS_ID))
    _say(f"Kandidat {period.label_id}:")
    _say(reports.render(reports.band_summary(found, period), "table"))
    _say(reports.pending_summary(drafts, settings.timezone))
    _say(f"Daftar lengkap: .venv/bin/dispenser candidates --period {period}")


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

    stop_signals = [signal.SIGTERM, signal.SIGHUP]
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *stop_signals)}
    for sig in stop_signals:
        # Left ignored when started with nohup.
        if previous[sig] is not signal.SIG_IGN:
            signal.signal(sig, signal.default_int_handler)
    gateway = airflow = None
    try:
        _say(f"1/5 Sample city -> {sample_dir}")
        write_sample_city(sample_dir)
        pipeline.prepare(settings)

        _say(f"2/5 Notification service on http://127.0.0.1:{notify_port}")
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
        _say(f"3/5 Airflow on {airflow.url} (log: {airflow.home / 'standalone.log'})")
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
        _say(f"4/5 Monthly run {run_id} for {period}")
        waiting = _wait_for_approval(airflow, run_id)

        _say("5/5 Ready.")
        _print_summary(settings, period)
        if waiting:
            _say(f"\n{waiting} draft(s) wait for approval: {airflow.url} -> Required Actions")
        else:
            _say("\nNo draft waits: this period was decided before. `make demo-reset` starts over.")
        _say(f"Approver login: user 'approver', password '{airflow.password('approver')}'")
        _say(f"Dashboard and recap: {airflow.url}/plugin/dispenser-dasbor (any signed-in user)")
        _say(f"Notices received by the local gateway: {settings.data_dir / 'notifications.jsonl'}")
        if keep_running:
            _say("Press Ctrl-C to stop Airflow and the notification service.")
            while True:
                time.sleep(60)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave Airflow running.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            _stop(airflow, gateway)
        finally:
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)


def _stop(airflow: LocalAirflow | None, gateway) -> None:
    if airflow is None and gateway is None:
        return
    _say("Stopping Airflow and the notification service...")
    try:
        if airflow is not None:
            airflow.stop()
    finally:
        if gateway is not None:
            gateway.shutdown()
            gateway.server_close()
