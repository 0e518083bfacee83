"""The production topology on one machine, from the project's environment (``make cluster``).

Airflow's CeleryExecutor with Redis as the broker; Airflow's metadata and Dispenser's data as two
databases of one PostgreSQL server; the API server, scheduler, DAG processor, triggerer and two
Celery workers as processes of their own, each bound to 127.0.0.1 on ports of its own. It is
what ``docker-compose.yml`` describes, without containers: the server addresses come from
DISPENSER_CLUSTER_POSTGRES and DISPENSER_CLUSTER_BROKER (a PostgreSQL and a Redis that already
run), the secrets are generated on first start and kept in the cluster's folder.

What was started is written to ``cluster.json`` in that folder, so ``make cluster-stop`` ends
exactly those processes, by their ids, from another shell.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dispenser_core.exceptions import ConfigurationError
from dispenser_core.local.airflow_standalone import LocalAirflow, free_port, still_running

log = logging.getLogger(__name__)

DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
STATE_FILE = "cluster.json"
GATEWAY = "notification-service"
MONTHLY_DAG = "dispenser_monthly_discipline"


def worker_name(number: int) -> str:
    return f"worker-{number}"


def _database_url(server: str, database: str, driver: str = "postgresql+psycopg2") -> str:
    return make_url(server).set(drivername=driver, database=database).render_as_string(False)


def create_databases(server: str, *names: str) -> None:
    """Create the databases that do not exist yet on the PostgreSQL ``server``."""
    admin = create_engine(make_url(server).set(drivername="postgresql+psycopg2"))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in names:
                exists = conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                )
                if not exists:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def drop_databases(server: str, name: str) -> None:
    """Drop the two databases of the cluster called ``name`` (its runs and its data)."""
    admin = create_engine(make_url(server).set(drivername="postgresql+psycopg2"))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for database in (f"{name}_airflow", f"{name}_data"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class LocalCluster(LocalAirflow):
    """Airflow's components as separate processes with Celery workers (see the module)."""

    postgres: str = DEFAULT_POSTGRES
    broker: str = DEFAULT_BROKER
    name: str = "dispenser_cluster"
    workers: int = 2
    worker_concurrency: int = 2
    processes: dict[str, psutil.Process] = field(default_factory=dict, init=False, repr=False)

    @property
    def metadata_url(self) -> str:
        return _database_url(self.postgres, f"{self.name}_airflow")

    @property
    def database_name(self) -> str:
        return f"{self.name}_data"

    @property
    def database_url(self) -> str:
        """Dispenser's own database (DISPENSER_DATABASE_URL of every component)."""
        return _database_url(self.postgres, f"{self.name}_data")

    def environment(self) -> dict[str, str]:
        env = super().environment()
        result_backend = _database_url(self.postgres, f"{self.name}_airflow", "postgresql")
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
                "AIRFLOW__CELERY__BROKER_URL": self.broker,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{result_backend}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__API__WORKERS": "1",
                # As docker-compose.yml: a dead worker's tasks are retried after two minutes.
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "120",
                "DISPENSER_DATABASE_URL": self.database_url,
            }
        )
        env.setdefault("DISPENSER_INBOX_DIR", str(self.home / "inbox"))
        env.setdefault("DISPENSER_DATA_DIR", str(self.home / "data"))
        env.update(self.extra_env)
        return env

    def component_command(self, component: str) -> list[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        if component == GATEWAY:
            port = self.environment()["DISPENSER_NOTIFY_URL"].rsplit(":", 1)[1]
            journal = self.home / "notifications.jsonl"
            dispenser = str(Path(sys.executable).parent / "dispenser")
            return [dispenser, GATEWAY, "--port", port, "--journal", str(journal)]
        if component.startswith("worker-"):
            return [
                airflow,
                "celery",
                "worker",
                "--celery-hostname",
                f"{component}@127.0.0.1",
                "--concurrency",
                str(self.worker_concurrency),
            ]
        return [airflow, component]

    def start(self, log_path: Path | None = None) -> None:
        """Create the databases, migrate Airflow's, empty the broker's queue database, then
        start every component."""
        create_databases(self.postgres, f"{self.name}_airflow", f"{self.name}_data")
        Path(self.environment()["DISPENSER_INBOX_DIR"]).mkdir(parents=True, exist_ok=True)
        # Messages left by an earlier run of this cluster name task tries that are over.
        redis.Redis.from_url(self.broker, socket_timeout=5).flushdb()
        migrate = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            env=self.environment(),
            cwd=self.home,
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stderr[-3000:]}")
        for component in (*SERVICES, *(worker_name(n) for n in range(1, self.workers + 1))):
            self.start_component(component)

    def bring_up(self, dag_id: str, unpause: tuple[str, ...] = ()) -> None:
        """Start, wait until ``dag_id`` is parsed and every worker answers, create the pools,
        and unpause the ``unpause`` DAGs."""
        self.start()
        self.wait_until_ready(timeout=300, dag_id=dag_id)
        self.prepare_dispenser()
        for name in unpause:
            self.unpause(name)

    def start_component(self, component: str) -> psutil.Process:
        """Start one component in a session of its own; its output goes to <component>.log."""
        env = self.environment()
        if component.startswith("worker-"):
            # Each worker serves its own task logs, on a port of its own.
            env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
        with (self.home / f"{component}.log").open("ab") as output:
            popen = subprocess.Popen(
                self.component_command(component),
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        process = psutil.Process(popen.pid)
        self.processes[component] = process
        self._save_state()
        return process

    def stop_component(self, component: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """End a component and everything it started: ``sig`` first, SIGKILL after a grace."""
        process = self.processes.pop(component, None)
        self._save_state()
        if process is not None:
            end_tree(process, sig)

    def wait_until_ready(self, timeout: float = 240.0, dag_id: str | None = None) -> None:
        """The API answers, ``dag_id`` (if given) is parsed, and every worker answers a ping."""
        super().wait_until_ready(timeout, dag_id)
        self.wait_for_workers(timeout)

    def wait_for_workers(self, timeout: float = 120.0) -> None:
        wanted = {f"{worker_name(n)}@127.0.0.1" for n in range(1, self.workers + 1)}
        wanted &= {f"{c}@127.0.0.1" for c in self.processes}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            if wanted <= workers_answering(self.broker):
                return
            time.sleep(1)
        raise TimeoutError(f"Celery workers {sorted(wanted)} did not answer; see {self.home}")

    def _check_running(self) -> None:
        for component, process in self.processes.items():
            if not still_running(process):
                raise RuntimeError(
                    f"The cluster's {component} stopped; see {self.home / (component + '.log')}"
                )

    def stop(self, grace: float = 20.0) -> None:
        """End every component this cluster started (workers first, the API server last)."""
        for component in sorted(self.processes, key=_stop_order):
            process = self.processes.pop(component)
            end_tree(process, signal.SIGTERM, grace)
        self._save_state()

    def _save_state(self) -> None:
        state = {
            "url": self.url,
            "database_url": self.database_url,
            "components": {
                name: {"pid": p.pid, "started": p.create_time()}
                for name, p in self.processes.items()
                if still_running(p)
            },
        }
        path = self.home / STATE_FILE
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)


def _stop_order(component: str) -> int:
    order = ["worker-", "scheduler", "triggerer", "dag-processor", "api-server", GATEWAY]
    return next(i for i, prefix in enumerate(order) if component.startswith(prefix))


def end_tree(process: psutil.Process, sig: signal.Signals, grace: float = 20.0) -> None:
    """Send ``sig`` to ``process`` and all its descendants; SIGKILL what is left after
    ``grace`` seconds."""
    with suppress(psutil.Error):
        tree = [process, *process.children(recursive=True)]
        for member in tree:
            with suppress(psutil.Error):
                member.send_signal(sig)
        _, alive = psutil.wait_procs(tree, timeout=grace)
        for member in alive:
            with suppress(psutil.Error):
                member.kill()
        psutil.wait_procs(alive, timeout=10)


def stop_recorded(home: Path, grace: float = 20.0) -> list[str]:
    """End the components recorded in ``home``/cluster.json that are still the processes
    started then (a process id reused since is left alone); returns their names."""
    processes = _recorded(home)
    for component in sorted(processes, key=_stop_order):
        end_tree(processes[component], signal.SIGTERM, grace)
    path = Path(home) / STATE_FILE
    if path.exists():
        path.write_text(json.dumps({**json.loads(path.read_text()), "components": {}}, indent=2))
    return sorted(processes, key=_stop_order)


def _recorded(home: Path) -> dict[str, psutil.Process]:
    path = Path(home) / STATE_FILE
    if not path.exists():
        return {}
    recorded = json.loads(path.read_text()).get("components", {})
    processes = {}
    for component, started in recorded.items():
        with suppress(psutil.NoSuchProcess):
            process = psutil.Process(started["pid"])
            if abs(process.create_time() - started["started"]) < 1 and still_running(process):
                processes[component] = process
    return processes


def recorded_running(home: Path) -> list[str]:
    """The components recorded in ``home`` that still run."""
    return sorted(_recorded(home))


def _settings_from_environment() -> tuple[str, str, int]:
    """DISPENSER_CLUSTER_POSTGRES, _BROKER and _WORKERS, checked."""
    postgres = os.environ.get("DISPENSER_CLUSTER_POSTGRES", DEFAULT_POSTGRES)
    broker = os.environ.get("DISPENSER_CLUSTER_BROKER", DEFAULT_BROKER)
    workers = os.environ.get("DISPENSER_CLUSTER_WORKERS", "2")
    try:
        make_url(postgres)
    except ArgumentError as err:
        raise ConfigurationError(
            "DISPENSER_CLUSTER_POSTGRES is not a database URL; write it as "
            "postgresql://USER@HOST:PORT/postgres."
        ) from err
    parts = urlsplit(broker)
    if parts.scheme != "redis" or not re.fullmatch(r"/\d{1,2}", parts.path or ""):
        raise ConfigurationError(
            f"DISPENSER_CLUSTER_BROKER must be redis://HOST:PORT/DB with a database number, "
            f"not {_without_password(broker)}."
        )
    if not workers.isdigit() or not 1 <= int(workers) <= 16:
        raise ConfigurationError("DISPENSER_CLUSTER_WORKERS must be a number from 1 to 16.")
    return postgres, broker, int(workers)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _check_servers(postgres: str, broker: str, port: int) -> None:
    """Refuse to start, saying what to do, when the PostgreSQL or the Redis does not answer,
    another cluster's workers use the broker's database, or the port is taken."""
    where = make_url(postgres).render_as_string(hide_password=True)
    engine = create_engine(make_url(postgres).set(drivername="postgresql+psycopg2"))
    try:
        with engine.connect():
            pass
    except Exception as err:  # noqa: BLE001 - any failure means the same to the user
        raise ConfigurationError(
            f"No PostgreSQL answers at {where} ({type(err).__name__}). Start one, or set "
            "DISPENSER_CLUSTER_POSTGRES to a server URL where user may create databases."
        ) from err
    finally:
        engine.dispose()
    try:
        redis.Redis.from_url(broker, socket_timeout=5).ping()
    except (redis.RedisError, ValueError) as err:
        raise ConfigurationError(
            f"No Redis answers at {_without_password(broker)} ({type(err).__name__}). Start "
            "one, or set DISPENSER_CLUSTER_BROKER to redis://HOST:PORT/DB."
        ) from err
    if workers_answering(broker):
        raise ConfigurationError(
            f"Celery workers of another cluster use {_without_password(broker)}; stop that "
            "cluster, or give this one another database with DISPENSER_CLUSTER_BROKER."
        )
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as err:
            raise ConfigurationError(
                f"Port {port} on 127.0.0.1 is taken; choose another with CLUSTER_PORT."
            ) from err


def workers_answering(broker: str) -> set[str]:
    """The names of the Celery workers that answer a ping on ``broker``."""
    from celery import Celery

    app = Celery(broker=broker)
    try:
        return {name for reply in app.control.ping(timeout=2) for name in reply}
    finally:
        app.close()


def start_cluster(home: Path, port: int) -> LocalCluster:
    """Start the cluster of ``make cluster`` and wait until it can run the DAGs: servers from
    DISPENSER_CLUSTER_POSTGRES and DISPENSER_CLUSTER_BROKER, as many workers as
    DISPENSER_CLUSTER_WORKERS (2), and the local stand-in notification gateway unless
    DISPENSER_NOTIFY_URL names the real one. On failure, nothing it started is left."""
    postgres, broker, workers = _settings_from_environment()
    if running := recorded_running(home):
        raise ConfigurationError(
            f"A cluster already runs from {home} ({', '.join(running)}); "
            "stop it first with `make cluster-stop`."
        )
    _check_servers(postgres, broker, port)
    # Each checkout's cluster has databases of its own on a shared server.
    name = "dispenser_cluster_" + hashlib.sha1(str(Path(home).resolve()).encode()).hexdigest()[:6]
    cluster = LocalCluster(
        Path(home), port=port, postgres=postgres, broker=broker, name=name, workers=workers
    )
    local_gateway = not os.environ.get("DISPENSER_NOTIFY_URL")
    if local_gateway:
        cluster.extra_env["DISPENSER_NOTIFY_URL"] = f"http://127.0.0.1:{free_port()}"
    try:
        if local_gateway:
            cluster.start_component(GATEWAY)
        cluster.bring_up(MONTHLY_DAG)
    except BaseException:
        cluster.stop()
        raise
    return cluster
