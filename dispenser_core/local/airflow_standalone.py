"""Starting a real Airflow (``airflow standalone``) on 127.0.0.1 for the demo and the tests.

Everything Airflow writes goes under one home folder. Secrets (Fernet key, API secrets, user
passwords) are generated on first start and kept in that folder, never in the repository. The
users and their Airflow roles: ``admin`` (admin), ``operator`` (op), ``approver`` (user; the one
named in ``DISPENSER_APPROVERS``) and ``viewer`` (viewer).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
from cryptography.fernet import Fernet

from dispenser_core.settings import PROJECT_ROOT

USERS = {"admin": "admin", "operator": "op", "approver": "user", "viewer": "viewer"}
# The pool the sending tasks use (plugins/dispenser_airflow/review.py names it too).
NOTIFICATION_POOL = "dispenser_notifications"
NOTIFICATION_POOL_SLOTS = 2
# The pool of the per-unit daily-status tasks (dags/dispenser_discipline.py names it too). On
# SQLite the units take turns at the one writer anyway; more slots only make them wait longer.
UNIT_POOL = "dispenser_units"
UNIT_POOL_SLOTS_SQLITE = 2
UNIT_POOL_SLOTS_POSTGRES = 4

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _secrets(home: Path) -> dict:
    """The generated secrets of this Airflow home, created once."""
    path = home / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "fernet_key": Fernet.generate_key().decode(),
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "passwords": {name: secrets.token_urlsafe(9) for name in USERS},
    }
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2))
    path.chmod(0o600)
    return values


@dataclass
class LocalAirflow:
    """One ``airflow standalone`` process group, bound to 127.0.0.1."""

    home: Path
    port: int = 8080
    extra_env: dict[str, str] = field(default_factory=dict)
    # Tests start Airflow with only the DISPENSER_* settings they give in extra_env.
    inherit_dispenser_env: bool = True
    process: subprocess.Popen | None = None
    _started: set[psutil.Process] = field(default_factory=set, init=False, repr=False)
    _tokens: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.secrets = _secrets(self.home)
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps(self.secrets["passwords"]))
        passwords.chmod(0o600)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def password(self, user: str) -> str:
        return self.secrets["passwords"][user]

    def environment(self) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        inherited = {
            name: value
            for name, value in os.environ.items()
            if self.inherit_dispenser_env or not name.startswith("DISPENSER_")
        }
        env = {
            **inherited,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": self.secrets["fernet_key"],
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{u}:{r}" for u, r in USERS.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Jakarta",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": self.secrets["api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": self.secrets["jwt_secret"],
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "5",
            # Only the DAGs a caller unpauses run (the demo runs the monthly one).
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "GX_ANALYTICS_ENABLED": "False",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        """What ``start`` runs."""
        return [str(Path(sys.executable).parent / "airflow"), "standalone"]

    def start(self, log_path: Path | None = None) -> None:
        """Start standalone in its own process group; output goes to ``log_path``."""
        log_path = log_path or self.home / "standalone.log"
        with log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                self.command(),
                env=self.environment(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        self._started = {psutil.Process(self.process.pid)}

    def wait_until_ready(self, timeout: float = 180.0, dag_id: str | None = None) -> None:
        """Wait for the API to answer (and, if given, for ``dag_id`` to be parsed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(
                    f"Airflow exited with {self.process.returncode}; see "
                    f"{self.home / 'standalone.log'}"
                )
            try:
                healthy = requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok
                if healthy and (dag_id is None or self.api("GET", f"/api/v2/dags/{dag_id}").ok):
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise TimeoutError(
            f"Airflow did not become ready within {timeout:.0f} s; see "
            f"{self.home / 'standalone.log'}"
        )

    def token(self, user: str = "admin") -> str:
        response = requests.post(
            f"{self.url}/auth/token",
            timeout=30,
            json={"username": user, "password": self.password(user)},
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def api(self, method: str, path: str, user: str = "admin", **kwargs) -> requests.Response:
        """Call the REST API as ``user``, with a token kept until the API refuses it."""
        headers = kwargs.pop("headers", {})
        for fresh in (False, True):
            if fresh or user not in self._tokens:
                self._tokens[user] = self.token(user)
            response = requests.request(
                method,
                f"{self.url}{path}",
                headers={"Authorization": f"Bearer {self._tokens[user]}", **headers},
                timeout=60,
                **kwargs,
            )
            if response.status_code != 401:
                break
        return response

    def ensure_pool(self, name: str, slots: int, description: str = "") -> None:
        """Create the pool (or set its slots) that tasks name; deferred tasks take no slot."""
        # Airflow 3.3 answers 422 to a PATCH of a pool without include_deferred, even with an
        # update_mask.
        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        response = self.api("PATCH", f"/api/v2/pools/{name}", json=body)
        if response.status_code == 404:
            response = self.api("POST", "/api/v2/pools", json=body)
        response.raise_for_status()

    def prepare_dispenser(self, unit_slots: int | None = None) -> None:
        """What every Dispenser deployment has: the notification pool and the unit pool (by
        default sized for the database of DISPENSER_DATABASE_URL)."""
        self.ensure_pool(
            NOTIFICATION_POOL,
            NOTIFICATION_POOL_SLOTS,
            "Sending tasks at once; each sends DISPENSER_NOTIFY_CONCURRENCY notices.",
        )
        if unit_slots is None:
            database = self.environment().get("DISPENSER_DATABASE_URL", "sqlite")
            postgres = database.startswith("postgresql")
            unit_slots = UNIT_POOL_SLOTS_POSTGRES if postgres else UNIT_POOL_SLOTS_SQLITE
        self.ensure_pool(UNIT_POOL, unit_slots, "Units whose daily status is rebuilt at once.")

    def unpause(self, dag_id: str) -> None:
        response = self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        response.raise_for_status()

    def stop(self, grace: float = 20.0) -> None:
        """End every process ``start`` started: SIGTERM, ``grace`` seconds, then SIGKILL.

        Signalling the process group is not enough: Airflow puts each task runner in a group
        of its own, and a scheduler waiting for one outlives the standalone process.
        """
        if self.process is None:
            return
        left = self._signal_tree(signal.SIGTERM, grace)
        if left:
            left = self._signal_tree(signal.SIGKILL, 10)
        if left:
            log.warning("Airflow processes %s did not end", sorted(p.pid for p in left))

    def _signal_tree(self, sig: signal.Signals, timeout: float) -> set[psutil.Process]:
        """Send ``sig`` to each running process of the tree, and to those that appear, until
        none runs or ``timeout`` passes; returns those still running."""
        signalled: set[psutil.Process] = set()
        deadline = time.monotonic() + timeout
        while True:
            self.process.poll()
            running = self._running_tree()
            for process in running - signalled:
                with suppress(psutil.Error):
                    process.send_signal(sig)
            signalled |= running
            if not running or time.monotonic() >= deadline:
                return running
            time.sleep(0.1)

    def _running_tree(self) -> set[psutil.Process]:
        """The running members of the process group ``start`` created and all descendants of
        what it started; orphans stay known once seen, although their parent is gone."""
        leader = self.process.pid
        # The group id stays ours while the leader runs; once it is gone, the pid cannot be
        # given to another process while a member of the group is left.
        leader_is_ours = any(p.pid == leader and p.is_running() for p in self._started)
        if leader_is_ours or not psutil.pid_exists(leader):
            for process in psutil.process_iter():
                with suppress(OSError):
                    if os.getpgid(process.pid) == leader:
                        self._started.add(process)
        for process in list(self._started):
            with suppress(psutil.Error):
                self._started.update(process.children(recursive=True))
        return {process for process in self._started if still_running(process)}


def still_running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
