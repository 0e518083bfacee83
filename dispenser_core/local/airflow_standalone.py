"""Starting a real Airflow (``airflow standalone``) on 127.0.0.1 for the demo and the tests.

Everything Airflow writes goes under one home folder. Secrets (Fernet key, API secrets, user
passwords) are generated on first start and kept in that folder, never in the repository. The
users and their Airflow roles: ``admin`` (admin), ``operator`` (op), ``approver`` (user; the one
named in ``DISPENSER_APPROVERS``) and ``viewer`` (viewer).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from dispenser_core.settings import PROJECT_ROOT

USERS = {"admin": "admin", "operator": "op", "approver": "user", "viewer": "viewer"}
# The pool the sending tasks use (plugins/dispenser_airflow/review.py names it too).
NOTIFICATION_POOL = "dispenser_notifications"
NOTIFICATION_POOL_SLOTS = 2


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

    def start(self, log_path: Path | None = None) -> None:
        """Start standalone in its own process group; output goes to ``log_path``."""
        log_path = log_path or self.home / "standalone.log"
        log_file = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=self.environment(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.home,
        )

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
            timeout=10,
            json={"username": user, "password": self.password(user)},
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def api(self, method: str, path: str, user: str = "admin", **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def ensure_pool(self, name: str, slots: int, description: str = "") -> None:
        """Create the pool (or set its slots) that tasks name."""
        body = {"name": name, "slots": slots, "description": description}
        response = self.api("PATCH", f"/api/v2/pools/{name}", json=body)
        if response.status_code == 404:
            response = self.api("POST", "/api/v2/pools", json=body)
        response.raise_for_status()

    def prepare_dispenser(self) -> None:
        """What every Dispenser deployment has: the notification pool."""
        self.ensure_pool(
            NOTIFICATION_POOL,
            NOTIFICATION_POOL_SLOTS,
            "Sending tasks at once; each sends DISPENSER_NOTIFY_CONCURRENCY notices.",
        )

    def unpause(self, dag_id: str) -> None:
        response = self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        response.raise_for_status()

    def stop(self, grace: float = 20.0) -> None:
        """End the whole process group that ``start`` created."""
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
