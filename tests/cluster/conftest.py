"""One Celery cluster for these tests (``dispenser_core.local.cluster``, as ``make cluster``
starts it): its own two databases in the test PostgreSQL, two workers, Redis reached through a
gate the tests can close, a local notification gateway, the sample city in the inbox."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dispenser_core import pipeline
from dispenser_core.local.airflow_standalone import free_port
from dispenser_core.local.cluster import LocalCluster, drop_databases
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.sample_city import write_sample_city
from dispenser_core.settings import Settings
from tests.cluster.broker_gate import BrokerGate
from tests.conftest import POSTGRES_URL
from tests.e2e.conftest import DAG_ID, Stack

REDIS_URL = os.environ.get("DISPENSER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
# A dead worker's task is failed (and retried) once its heartbeat is this many seconds late.
HEARTBEAT_TIMEOUT = 20


class ClusterStack(Stack):
    """The e2e helpers (trigger, wait, answer) on the cluster, and its parts."""

    cluster: LocalCluster
    gate: BrokerGate

    def reference(self, tmp_path: Path):
        """The same inbox loaded by one process into SQLite: what the cluster must match."""
        settings = Settings(
            data_dir=tmp_path / "reference",
            database_url=f"sqlite:///{tmp_path / 'reference.sqlite'}",
            inbox_dir=self.sample_city,
        )
        engine = pipeline.prepare(settings)
        pipeline.extract(engine, self.sample_city)
        return engine


# Once for the package's tests, and gone before the other packages' tests run.
@pytest.fixture(scope="package")
def cluster_stack(tmp_path_factory):
    if os.environ.get("DISPENSER_SKIP_CLUSTER") == "1":
        pytest.skip("DISPENSER_SKIP_CLUSTER=1")
    root = tmp_path_factory.mktemp("cluster")
    inbox = root / "inbox"
    write_sample_city(inbox)
    redis = urlsplit(REDIS_URL)
    gate = BrokerGate((redis.hostname or "127.0.0.1", redis.port or 6379))
    gate.open()
    gateway = start_in_thread()
    name = f"dispenser_cluster_test_{uuid.uuid4().hex[:8]}"
    cluster = LocalCluster(
        root / "airflow",
        port=free_port(),
        postgres=POSTGRES_URL,
        broker=f"redis://127.0.0.1:{gate.port}{redis.path or '/14'}",
        name=name,
        extra_env={
            "DISPENSER_DATA_DIR": str(root / "data"),
            "DISPENSER_INBOX_DIR": str(inbox),
            "DISPENSER_NOTIFY_URL": f"http://127.0.0.1:{gateway.server_address[1]}",
            "DISPENSER_APPROVAL_TIMEOUT_HOURS": "1",
            # Shorter than a deployment's 30 s, and long enough that the broker test's outage
            # (BROKER_OUTAGE_SECONDS) stays within a task's two retries.
            "DISPENSER_RETRY_DELAY_SECONDS": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            # Only the tests' own runs: no scheduled run of last month when the DAG is unpaused.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        },
        inherit_dispenser_env=False,
    )
    try:
        cluster.bring_up(DAG_ID, unpause=(DAG_ID,))
        stack = ClusterStack(cluster, gateway, cluster.database_url, inbox)
        stack.cluster, stack.gate = cluster, gate
        yield stack
    finally:
        cluster.stop()
        gate.close()
        gateway.shutdown()
        gateway.server_close()
        drop_databases(POSTGRES_URL, name)
