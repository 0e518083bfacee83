"""`make cluster-stop` ends exactly the processes `make cluster` recorded, and `make cluster`
refuses to start with a clear message when a server is missing or a cluster already runs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import psutil
import pytest

from dispenser_core.cli import main
from dispenser_core.exceptions import ConfigurationError
from dispenser_core.local import cluster


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _record(home, **components) -> None:
    home.mkdir(parents=True, exist_ok=True)
    state = {
        name: {"pid": p.pid, "started": psutil.Process(p.pid).create_time() + shift}
        for name, (p, shift) in components.items()
    }
    (home / cluster.STATE_FILE).write_text(json.dumps({"components": state}))


def test_stop_ends_the_recorded_processes_and_leaves_a_reused_id_alone(tmp_path):
    ours, stranger = _sleeper(), _sleeper()
    try:
        # The stranger's id is recorded with another start time: the id was given again.
        _record(tmp_path, scheduler=(ours, 0), **{"worker-1": (stranger, -100)})
        assert cluster.recorded_running(tmp_path) == ["scheduler"]

        assert cluster.stop_recorded(tmp_path, grace=5) == ["scheduler"]

        assert ours.wait(timeout=10) is not None
        assert stranger.poll() is None
        assert cluster.recorded_running(tmp_path) == []
    finally:
        for process in (ours, stranger):
            process.kill()
            process.wait()


def test_a_second_start_is_refused_while_the_first_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "_check_servers", lambda *servers: None)
    running = _sleeper()
    try:
        _record(tmp_path, **{"api-server": (running, 0)})
        with pytest.raises(ConfigurationError, match="make cluster-stop"):
            cluster.start_cluster(tmp_path, port=1)
    finally:
        running.kill()
        running.wait()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DISPENSER_CLUSTER_BROKER", "redis://127.0.0.1:1/0", "No Redis answers"),
        ("DISPENSER_CLUSTER_POSTGRES", "postgresql://postgres@127.0.0.1:1/x", "No PostgreSQL"),
        ("DISPENSER_CLUSTER_POSTGRES", "garbage", "not a database URL"),
        ("DISPENSER_CLUSTER_BROKER", "redis://:secret@127.0.0.1:6379/abc", "database number"),
        ("DISPENSER_CLUSTER_WORKERS", "two", "1 to 16"),
    ],
)
def test_a_missing_server_is_named_with_what_to_set(monkeypatch, capsys, variable, value, message):
    monkeypatch.setenv(variable, value)
    assert main(["cluster", "start", "--port", "1"]) != 0
    error = capsys.readouterr().err
    assert message in error and variable in error and "Traceback" not in error
    assert "secret" not in error


def test_a_taken_port_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DISPENSER_DATA_DIR", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["cluster", "start", "--port", str(port)]) != 0
    assert f"Port {port} on 127.0.0.1 is taken" in capsys.readouterr().err
    assert not (tmp_path / "cluster" / cluster.STATE_FILE).exists()
