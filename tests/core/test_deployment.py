"""The compose deployment: its secrets are generated at set-up, never written in the repository,
and it holds every component of the production topology."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import yaml
from cryptography.fernet import Fernet

from dispenser_core.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_topology_has_every_component_and_workers_on_celery():
    services = _compose()["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "init",
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        "worker",
    }
    assert services["worker"]["command"] == ["airflow", "celery", "worker"]
    env = services["worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert env["DISPENSER_DATABASE_URL"].endswith("@postgres:5432/dispenser")
    # Only the UI is published, and only on the host's loopback.
    published = {name: s.get("ports") for name, s in services.items() if s.get("ports")}
    assert published == {"api-server": ["127.0.0.1:8080:8080"]}


def test_no_secret_is_written_in_the_compose_file():
    env = _compose()["services"]["scheduler"]["environment"]
    for name in (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
    ):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", env[name]), env[name]
    assert "${POSTGRES_PASSWORD" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_setup_generates_the_secrets_once(tmp_path):
    (tmp_path / "deploy").mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "setup.sh", tmp_path / "deploy" / "setup.sh")
    script = tmp_path / "deploy" / "setup.sh"

    subprocess.run(["bash", str(script)], check=True, capture_output=True)
    values = dict(
        line.split("=", 1)
        for line in (tmp_path / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    Fernet(values["FERNET_KEY"].encode())  # a key Airflow accepts
    assert len(values["JWT_SECRET"]) >= 32 and values["JWT_SECRET"] != values["API_SECRET_KEY"]
    passwords = json.loads((tmp_path / "secrets" / "passwords.json").read_text())
    assert set(passwords) == {"admin", "operator", "approver", "viewer"}
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0

    before = (tmp_path / ".env").read_text(), (tmp_path / "secrets" / "passwords.json").read_text()
    subprocess.run(["bash", str(script)], check=True, capture_output=True)
    after = (tmp_path / ".env").read_text(), (tmp_path / "secrets" / "passwords.json").read_text()
    assert after == before
