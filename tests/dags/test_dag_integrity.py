"""Every DAG imports cleanly and fast, touches no database or network at parse time, and
follows the house policies. Each failure message says how to fix the DAG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dispenser_core.settings import PROJECT_ROOT

DAGS = PROJECT_ROOT / "dags"
PLUGINS = PROJECT_ROOT / "plugins"
DAG_FILES = sorted(DAGS.glob("*.py"))
HEAVY_MODULES = ("pandas", "great_expectations", "numpy", "requests", "psycopg2")
PARSE_SECONDS = 10

PARSE_PROBE = """
import importlib.util, json, sys, time
sys.path[:0] = [sys.argv[2], sys.argv[3]]
started = time.monotonic()
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"seconds": time.monotonic() - started,
                  "heavy": [m for m in sys.argv[4].split(",") if m in sys.modules]}))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))
    sys.path[:0] = [str(PLUGINS)]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}, (
        "Fix the import errors above; a DAG file may only import dispenser_core and airflow."
    )
    assert dagbag.dags, "No DAG was found in dags/"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[f.name for f in DAG_FILES])
def test_parsing_is_fast_and_touches_no_database(dag_file, tmp_path):
    # A database URL that cannot be reached: parsing must not try it.
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "DISPENSER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/unreachable",
    }
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            PARSE_PROBE,
            str(dag_file),
            str(PLUGINS),
            str(DAGS),
            ",".join(HEAVY_MODULES),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, f"{dag_file.name} failed to import:\n{probe.stderr[-2000:]}"
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], (
        f"{dag_file.name} imports {result['heavy']} at parse time; import them inside the task."
    )
    assert result["seconds"] < PARSE_SECONDS, f"{dag_file.name} took {result['seconds']:.1f} s"


def test_house_policies(dagbag):
    problems = []
    for dag_id, dag in dagbag.dags.items():
        if not dag.tags or "dispenser" not in dag.tags:
            problems.append(f"{dag_id}: add the tag 'dispenser'")
        if not dag.doc_md:
            problems.append(f"{dag_id}: add doc_md for the on-call reader")
        if dag.catchup:
            problems.append(f"{dag_id}: set catchup=False (periods are run on purpose, by param)")
        if str(dag.timezone.name) != "Asia/Jakarta":
            problems.append(f"{dag_id}: schedule in Asia/Jakarta, not {dag.timezone.name}")
        for task in dag.tasks:
            if task.retries is None:
                problems.append(f"{dag_id}.{task.task_id}: set retries")
    assert problems == []


def test_approval_is_a_human_in_the_loop_step_limited_to_approvers(dagbag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = dagbag.dags["dispenser_monthly_discipline"]
    approval = dag.get_task("review_and_send.request_approval")
    assert isinstance(approval, HITLOperator)
    assert approval.assigned_users == [{"id": "approver", "name": "approver"}]
    assert approval.defaults == ["Tolak"], "no answer in time must mean reject"
    assert approval.options == ["Setujui semua", "Setujui kecuali NIP terpilih", "Tolak"]
    assert Path(dag.fileloc).name == "dispenser_discipline.py"
