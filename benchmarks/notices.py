"""Benchmark: sending an approved draft's notices to a gateway that answers in 50 ms.

A temporary SQLite database holds one approved violation draft of N employees (2N notices:
employee and supervisor); the local notification service (dispenser_core/local) answers every
notice after 50 ms. The sender runs with its configured concurrency. Prints notices per second,
the duplicates the gateway saw (must be 0), and ``ratio: X.XX``: the time taken over the ideal of
one 50 ms round trip per notice divided by the concurrency.

    .venv/bin/python -m benchmarks.notices [--employees 1000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import insert

from dispenser_core import pipeline
from dispenser_core.drafts import record_decision, request_approval
from dispenser_core.local.airflow_standalone import free_port
from dispenser_core.notices.client import NOTICES_PATH, NotificationClient
from dispenser_core.notices.outbox import build_outbox, send_outbox
from dispenser_core.settings import Settings
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import draft_items, drafts, employees, work_units

DELAY_SECONDS = 0.05
UNIT = "OPD-BENCH"


def _nip(n: int) -> str:
    return f"19850101201001{n:04d}"


def _approved_draft(engine, count: int) -> int:
    now = dt.datetime(2025, 12, 1)
    head = _nip(9999)
    with connect(engine) as conn:
        conn.execute(insert(work_units).values(opd_code=UNIT, name="Dinas Uji", head_nip=head))
        conn.execute(
            insert(employees),
            [
                {
                    "nip": _nip(n),
                    "name": f"Pegawai {n}",
                    "opd_code": UNIT,
                    "start_date": dt.date(2010, 1, 1),
                    "supervisor_nip": head if n != 9999 else None,
                }
                for n in [*range(count), 9999]
            ],
        )
        draft_id = conn.execute(
            insert(drafts).values(
                kind="violation",
                title="Benchmark",
                period="2025-11",
                status="pending",
                content_hash="",
                created_by="benchmark",
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        details = {
            "tk_days_period": 3,
            "tk_days_ytd": 3,
            "late_early_minutes_ytd": 0,
            "tk_equivalent_period": 3,
            "tk_ytd_equivalent": 3,
            "longest_tk_run_ytd": 1,
            "late_minutes_period": 0,
            "early_leave_minutes_period": 0,
            "missing_check_in_period": 0,
            "missing_check_out_period": 0,
            "tk_dates_ytd": ["2025-11-03", "2025-11-10", "2025-11-17"],
        }
        conn.execute(
            insert(draft_items),
            [
                {
                    "draft_id": draft_id,
                    "nip": _nip(n),
                    "band_code": "R1",
                    "counted_days": 3,
                    "details": details,
                }
                for n in range(count)
            ],
        )
    with connect(engine) as conn:
        from dispenser_core.drafts import current_hash, load_draft

        digest = current_hash(load_draft(conn, draft_id))
        conn.execute(
            drafts.update().where(drafts.c.draft_id == draft_id).values(content_hash=digest)
        )
        request_approval(conn, draft_id, actor="benchmark")
        record_decision(conn, draft_id, approved=True, actor="benchmark")
    return draft_id


def _wait_for(url: str) -> None:
    for _ in range(100):
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"The notification service at {url} did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        engine = pipeline.prepare(
            Settings(data_dir=Path(folder), database_url=f"sqlite:///{folder}/bench.sqlite")
        )
        draft_id = _approved_draft(engine, args.employees)
        # The gateway runs in its own process, as the real one does, so that its work does not
        # share this process's interpreter lock with the sender.
        port = free_port()
        gateway = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dispenser_core.cli",
                "notification-service",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        client = NotificationClient(url, pool_size=args.concurrency)
        try:
            _wait_for(url)
            requests.post(
                f"{url}/_control", json={"delay_ms": int(DELAY_SECONDS * 1000)}, timeout=5
            )
            with connect(engine) as conn:
                build_outbox(conn, draft_id)  # rendering is not sending: done before the clock
            started = time.perf_counter()
            report = send_outbox(engine, draft_id, client, args.concurrency)
            seconds = time.perf_counter() - started
            seen = requests.get(f"{url}{NOTICES_PATH}", timeout=30).json()
        finally:
            client.close()
            gateway.terminate()
            gateway.wait(10)

    received = seen["received"]
    notices = report.sent + report.failed
    duplicates = (
        seen["repeated_keys"] + len(received) - len({n["idempotency_key"] for n in received})
    )
    ideal = notices * DELAY_SECONDS / args.concurrency
    print(
        f"{notices} notices ({args.employees} employees and their supervisor), gateway answers "
        f"in {DELAY_SECONDS * 1000:.0f} ms, concurrency {args.concurrency}"
    )
    print(
        f"sent {report.sent}, failed {report.failed}, in {seconds:.2f} s: "
        f"{notices / seconds:.0f} notices/s (ideal {notices / ideal:.0f}/s)"
    )
    print(f"duplicates seen by the gateway: {duplicates}")
    print(f"ratio: {seconds / ideal:.2f}")


if __name__ == "__main__":
    main()
