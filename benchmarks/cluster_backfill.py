"""Benchmark: backfilling a city's year on the Celery cluster, with one worker and with two.

The synthetic city (25,000 employees in 50 units, see city_scale.py; --employees, --units and
--months scale it down) is written once, under /tmp, as the files the inbox takes: ``units.csv``,
``roster.csv`` and one ``attlog-2025-MM.dat`` per month (every terminal of the city in one
export). All of them wait in the inbox before the first run, so January's ``extract_sources``
loads (and ``validate_batch`` checks) every month; that loading is part of January's time and is
also printed on its own.

The cluster (dispenser_core.local.cluster: API server, scheduler, DAG processor, triggerer and
Celery workers, Airflow's metadata and Dispenser's data in PostgreSQL, Redis as the broker) runs
``dispenser_monthly_discipline`` for each month in turn, first with one worker, then, on fresh
databases, with two. A month's time runs from its trigger until its ``save_drafts`` succeeded;
once its approvals wait, the run is marked successful (nobody approves) and the next month is
triggered.

Prints the time per month and in total for each worker count, the speedup, the measured cost of
``build_daily_status`` per unit (task durations on one worker) with the workers a national
deployment (4.3 million employees) would need for it, the share of a run no worker count
shortens, and ends with ``ratio: X.XX`` (total time on two workers over total time on one;
smaller is better).

    .venv/bin/python -m benchmarks.cluster_backfill [--employees 25000] [--units 50] [--months 12]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import city_scale
from dispenser_core.local.airflow_standalone import UNIT_POOL_SLOTS_POSTGRES, free_port
from dispenser_core.local.cluster import LocalCluster, drop_databases
from dispenser_core.local.notification_service import start_in_thread

DAG_ID = "dispenser_monthly_discipline"
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
BROKER = "redis://127.0.0.1:6379/12"
UNIT_TASK = "build_daily_status"
LOADING_TASKS = ("extract_sources", "validate_batch")
BROKEN = ("failed", "upstream_failed")
APPROVAL_TASK = "review_and_send.request_approval"
SETTLED = ("success", "skipped", "removed", "awaiting_input", *BROKEN)
ACTIVE = ("scheduled", "queued", "running", "restarting", "up_for_retry")
# Airflow 3.3.2 may not yet have settled a task that has just started to wait (see the e2e tests).
SETTLE_SECONDS = 8
NATIONAL_EMPLOYEES = 4_300_000
HOUR = 3600


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _attlog_text(pins: np.ndarray, times: np.ndarray) -> str:
    order = np.argsort(times, kind="stable")
    times = times[order]
    stamps = pd.Series(np.datetime_as_string(times, unit="s")).str.replace("T", " ", regex=False)
    hours = (times - times.astype("datetime64[D]")).astype("timedelta64[h]").astype(int)
    lines = (
        pd.Series(pins[order]).astype(str).str.rjust(9)
        + "\t"
        + stamps
        + "\t1\t"
        + pd.Series(np.where(hours < 12, "0", "1"))
        + "\t0\t0\r\n"
    )
    return "".join(lines)


def write_inbox(folder: Path, employees: int, units: int, months: int) -> int:
    """The city's units, roster and one attlog file per month; returns the punches written."""
    folder.mkdir(parents=True)
    staff = city_scale.employees(employees, units)
    pins = np.arange(1, len(staff) + 1)
    codes = sorted(staff["opd_code"].unique())
    pd.DataFrame({"opd_code": codes, "opd_name": [f"Dinas {c}" for c in codes]}).to_csv(
        folder / "units.csv", index=False
    )
    pd.DataFrame(
        {
            "pin": pins,
            "nip": staff["nip"],
            "name": [f"Pegawai {p}" for p in pins],
            "opd_code": staff["opd_code"],
            "schedule": "office",
            "start_date": "2010-01-01",
            "end_date": "",
        }
    ).to_csv(folder / "roster.csv", index=False)

    punches = city_scale.punches(staff)
    times = punches["local_time"].to_numpy()
    month_of = times.astype("datetime64[M]").astype(int) % 12 + 1
    person = pins[punches["nip"].cat.codes.to_numpy()]
    written = 0
    for month in range(1, months + 1):
        chosen = month_of == month
        path = folder / f"attlog-{city_scale.YEAR}-{month:02d}.dat"
        path.write_text(_attlog_text(person[chosen], times[chosen]), "ascii", newline="")
        written += int(chosen.sum())
    return written


def _moment(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp()


def _task_instances(cluster: LocalCluster, run_id: str) -> list[dict]:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=1000"
    response = cluster.api("GET", path)
    response.raise_for_status()
    return response.json()["task_instances"]


def _waiting_for_approvers(tasks: list[dict]) -> bool:
    approvals = [t for t in tasks if t["task_id"] == APPROVAL_TASK]
    return (
        bool(approvals)
        and all(t["state"] in SETTLED for t in approvals)
        and not any(t["state"] in ACTIVE for t in tasks)
    )


def _finish(cluster: LocalCluster, run_id: str, timeout: float) -> None:
    """Once every task is done or waits for its approver, mark the run successful and wait
    until it is (marked earlier, the approvals still starting would be skipped under them)."""
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}"
    deadline = time.monotonic() + timeout
    while not _waiting_for_approvers(_task_instances(cluster, run_id)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the approvals of {run_id} did not start within {timeout:.0f} s")
        time.sleep(2)
    time.sleep(SETTLE_SECONDS)
    while time.monotonic() < deadline:
        state = cluster.api("GET", path).json()["state"]
        if state == "success":
            return
        if state == "failed":
            raise RuntimeError(f"run {run_id} failed after save_drafts")
        response = cluster.api("PATCH", path, json={"state": "success"})
        if not response.ok:
            raise RuntimeError(
                f"marking {run_id} successful: {response.status_code} {response.text}"
            )
        time.sleep(2)
    raise TimeoutError(f"run {run_id} was not marked successful within {timeout:.0f} s")


def run_month(cluster: LocalCluster, period: str, timeout: float) -> dict:
    """Trigger ``period``, wait for its drafts; its seconds and task instances."""
    triggered = time.time()
    response = cluster.api(
        "POST",
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        json={"logical_date": None, "conf": {"period": period}},
    )
    response.raise_for_status()
    run_id = response.json()["dag_run_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = _task_instances(cluster, run_id)
        broken = [f"{t['task_id']}[{t['map_index']}]" for t in tasks if t["state"] in BROKEN]
        if broken:
            raise RuntimeError(
                f"{period} ({run_id}): {', '.join(broken)} failed; see {cluster.home}"
            )
        drafts = next((t for t in tasks if t["task_id"] == "save_drafts"), None)
        if drafts and drafts["state"] == "success":
            _finish(cluster, run_id, 300)
            seconds = _moment(drafts["end_date"]) - triggered
            return {"period": period, "seconds": seconds, "tasks": _task_instances(cluster, run_id)}
        time.sleep(2)
    raise TimeoutError(f"{period} ({run_id}) did not save its drafts within {timeout:.0f} s")


def backfill(workers: int, args: argparse.Namespace, inbox: Path, notify_url: str) -> list[dict]:
    """Every month on a fresh cluster of ``workers`` Celery workers."""
    name = f"bench_backfill_w{workers}"
    home = args.home / f"w{workers}"
    shutil.rmtree(home, ignore_errors=True)
    drop_databases(POSTGRES, name)
    cluster = LocalCluster(
        home,
        port=free_port(),
        postgres=POSTGRES,
        broker=BROKER,
        name=name,
        workers=workers,
        worker_concurrency=args.concurrency,
        extra_env={
            "DISPENSER_INBOX_DIR": str(inbox),
            "DISPENSER_DATA_DIR": str(home / "data"),
            "DISPENSER_NOTIFY_URL": notify_url,
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        },
        inherit_dispenser_env=False,
    )
    try:
        cluster.bring_up(DAG_ID, unpause=(DAG_ID,))
        months = []
        for month in range(1, args.months + 1):
            months.append(run_month(cluster, f"{city_scale.YEAR}-{month:02d}", args.timeout))
            _say(f"{workers} worker(s): {months[-1]['period']} in {months[-1]['seconds']:.1f} s")
        return months
    finally:
        cluster.stop()
        drop_databases(POSTGRES, name)


def _durations(run: dict, task_ids: tuple[str, ...]) -> list[float]:
    return [t["duration"] or 0.0 for t in run["tasks"] if t["task_id"] in task_ids]


def _serial_seconds(run: dict) -> float:
    """The tasks of a run other than the units' and the approvals'."""
    return sum(
        t["duration"] or 0.0
        for t in run["tasks"]
        if t["task_id"] != UNIT_TASK and not t["task_id"].startswith("review_and_send.")
    )


def report_times(results: dict[int, list[dict]]) -> dict[int, float]:
    counts = sorted(results)
    print("month    " + "".join(f"{n} worker{'s' * (n > 1)}".rjust(12) for n in counts))
    for index, run in enumerate(results[counts[0]]):
        figures = "".join(f"{results[n][index]['seconds']:10.1f} s" for n in counts)
        print(f"{run['period']}  {figures}")
    totals = {n: sum(run["seconds"] for run in results[n]) for n in counts}
    print("total    " + "".join(f"{totals[n]:10.1f} s" for n in counts))
    loads = {n: sum(_durations(results[n][0], LOADING_TASKS)) for n in counts}
    print(
        "of which loading the inbox in January (extract_sources + validate_batch, task "
        "durations): " + ", ".join(f"{loads[n]:.1f} s on {n}" for n in counts)
    )
    retried = sorted(
        f"{run['period']} {t['task_id']}[{t['map_index']}] on {n}"
        for n in counts
        for run in results[n]
        for t in run["tasks"]
        if (t.get("try_number") or 1) > 1
    )
    if retried:
        print(f"tasks that needed more than one try: {', '.join(retried)}")
    return totals


def report_estimate(runs: list[dict], employees: int, units: int, concurrency: int) -> None:
    months = len(runs)
    per_run = [sum(_durations(run, (UNIT_TASK,))) for run in runs]
    unit_tasks = sum(len(_durations(run, (UNIT_TASK,))) for run in runs)
    judged = units * months * (months + 1) // 2
    per_unit = employees // units
    print(
        f"{UNIT_TASK}: {unit_tasks} task instances on 1 worker; each month's run judges its "
        f"units from January 1st (run m judges m months), so {judged} unit-months judged in "
        f"{sum(per_run):.1f} s of task durations: {sum(per_run) / judged:.2f} s per unit-month "
        f"({per_unit} employees per unit)"
    )
    december = per_run[-1] / units * 12 / months
    print(
        f"a December run (12 months judged per unit), from the last run's {per_run[-1]:.1f} s "
        f"over {units} units x 12/{months}: {december:.2f} s per unit, "
        f"{1000 * december / per_unit:.2f} ms per employee"
    )
    national_units = math.ceil(NATIONAL_EMPLOYEES / per_unit)
    unit_seconds = national_units * december
    workers = math.ceil(unit_seconds / (HOUR * concurrency))
    print(
        f"national: {NATIONAL_EMPLOYEES:,} employees in {national_units:,} units of {per_unit}: "
        f"{unit_seconds:,.0f} s of {UNIT_TASK} for a December run; within one hour that takes "
        f"{workers} workers ({unit_seconds:,.0f} s / (3,600 s x {concurrency} tasks at once per "
        "worker, its concurrency), assuming the task durations measured here with 1 worker, the "
        "unit pool raised to all the workers' slots, no wait for the scheduler or the queue, and "
        "a database that keeps up)"
    )
    scale = NATIONAL_EMPLOYEES / employees
    serial = _serial_seconds(runs[-1])
    loading = sum(_durations(runs[0], LOADING_TASKS)) / months
    national = (serial + loading) * scale
    print(
        f"the run's other tasks each run once, on one worker whatever their number: {serial:.1f} "
        f"s in the last run, plus {loading:.1f} s to load a month (January's loading / {months});"
        f" x {scale:,.0f} for the nation's employees, {national / HOUR:,.1f} h a month"
    )
    if national > HOUR:
        print("so no number of workers finishes a national month within one hour")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=city_scale.EMPLOYEES)
    parser.add_argument("--units", type=int, default=city_scale.UNITS)
    parser.add_argument("--months", type=int, default=12, choices=range(1, 13), metavar="1..12")
    parser.add_argument("--concurrency", type=int, default=2, help="tasks at once per worker")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per month at most")
    parser.add_argument("--home", type=Path, default=Path("/tmp/dispenser_bench_backfill"))
    args = parser.parse_args()

    inbox = args.home / f"inbox-{args.employees}-{args.units}-{args.months}"
    shutil.rmtree(inbox, ignore_errors=True)
    punches = write_inbox(inbox, args.employees, args.units, args.months)
    gateway = start_in_thread()
    notify_url = f"http://127.0.0.1:{gateway.server_address[1]}"
    try:
        results = {n: backfill(n, args, inbox, notify_url) for n in (1, 2)}
    finally:
        gateway.shutdown()
        gateway.server_close()

    print(
        f"city: {args.employees:,} employees in {args.units} units, {args.months} months of "
        f"{city_scale.YEAR}, {punches:,} punches in {args.months} attlog files, units and roster "
        f"CSV; Celery workers of concurrency {args.concurrency}, unit pool of "
        f"{UNIT_POOL_SLOTS_POSTGRES} slots"
    )
    print(
        "a month's time: from its trigger until save_drafts succeeded; every file waits in the "
        "inbox before January's run, so January's includes loading the whole backfill"
    )
    totals = report_times(results)
    print(f"speedup (1 worker / 2 workers): {totals[1] / totals[2]:.2f}")
    report_estimate(results[1], args.employees, args.units, args.concurrency)
    print(f"ratio: {totals[2] / totals[1]:.2f}")


if __name__ == "__main__":
    main()
