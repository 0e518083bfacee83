"""Stopping the demo stops everything it started.

Airflow itself is replaced by a small process tree of the same shape, started the same way
(its own session): a leader that exits on SIGTERM, a "scheduler" in the leader's group that
ignores SIGTERM, and a "task" in a process group of its own, as Airflow puts each task runner.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from dispenser_core.local.airflow_standalone import LocalAirflow, free_port
from dispenser_core.settings import PROJECT_ROOT

TREE = """
import os, signal, subprocess, sys, time

pids, role = sys.argv[1], sys.argv[2]


def spawn(child, **options):
    return subprocess.Popen([sys.executable, __file__, pids, child], **options)


if role in ("standalone", "crashed"):
    spawn("scheduler")
elif role == "scheduler":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    spawn("task", process_group=0)
with open(pids, "a") as out:
    out.write(f"{os.getpid()}\\n")
if role == "crashed":
    sys.exit(1)
time.sleep(600)
"""
TREE_SIZE = 3


class TreeAirflow(LocalAirflow):
    """LocalAirflow whose ``airflow standalone`` is the small tree above."""

    role = "standalone"

    @property
    def script(self) -> Path:
        return self.home / "tree.py"

    @property
    def pids_file(self) -> Path:
        return self.home / "tree.pids"

    def command(self) -> list[str]:
        self.script.write_text(TREE)
        return [sys.executable, str(self.script), str(self.pids_file), self.role]

    def tree_pids(self) -> list[int]:
        if not self.pids_file.exists():
            return []
        return [int(line) for line in self.pids_file.read_text().split()]

    def wait_for_tree(self, timeout: float = 30) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.tree_pids()) < TREE_SIZE:
            assert time.monotonic() < deadline, f"the tree did not start: {self.tree_pids()}"
            time.sleep(0.05)
        return self.tree_pids()

    # Stand-ins for the API calls the demo makes.
    def wait_until_ready(self, timeout: float = 180.0, dag_id: str | None = None) -> None:
        self.wait_for_tree()
        print("stub: airflow tree ready", flush=True)
        time.sleep(float(os.environ.get("STUB_READY_DELAY", "0")))

    def prepare_dispenser(self) -> None:
        pass

    def unpause(self, dag_id: str) -> None:
        pass

    def stop(self, grace: float = 1.0) -> None:
        super().stop(grace)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _survivors(pids: list[int], wait: float = 3.0) -> list[int]:
    """The pids still running after ``wait`` seconds (orphans are reaped by someone else)."""
    deadline = time.monotonic() + wait
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


@pytest.fixture
def leftovers(tmp_path):
    """Kills, after the test, whatever of the trees under ``tmp_path`` is still running."""
    yield
    for pids_file in tmp_path.rglob("tree.pids"):
        script = str(pids_file.with_name("tree.py"))
        for pid in map(int, pids_file.read_text().split()):
            try:
                process = psutil.Process(pid)
                if script in process.cmdline():
                    process.kill()
            except psutil.Error:
                pass


@pytest.mark.usefixtures("leftovers")
def test_stop_ends_the_whole_tree_even_what_ignores_sigterm(tmp_path):
    airflow = TreeAirflow(tmp_path / "airflow", port=free_port())
    airflow.start()
    pids = airflow.wait_for_tree()

    started = time.monotonic()
    airflow.stop(grace=1)

    assert _survivors(pids) == []
    assert airflow.process.returncode is not None
    assert time.monotonic() - started < 15


@pytest.mark.usefixtures("leftovers")
def test_stop_ends_what_an_exited_airflow_left_running(tmp_path):
    airflow = TreeAirflow(tmp_path / "airflow", port=free_port())
    airflow.role = "crashed"
    airflow.start()
    pids = airflow.wait_for_tree()
    airflow.process.wait(10)

    airflow.stop(grace=1)

    assert _survivors(pids) == []


def test_stop_before_start_does_nothing(tmp_path):
    TreeAirflow(tmp_path / "airflow").stop()


def stubbed_demo() -> None:
    """``run_demo`` with TreeAirflow for Airflow and no pipeline (run in a child process)."""
    from dispenser_core.local import demo
    from dispenser_core.settings import load_settings

    demo.LocalAirflow = TreeAirflow
    demo.write_sample_city = lambda directory: None
    demo.pipeline = SimpleNamespace(prepare=lambda settings: None)
    demo._waiting_run = lambda airflow, period: "stub_run"
    demo._wait_for_approval = lambda airflow, run_id: 1
    demo._print_summary = lambda settings, period: None
    sys.exit(demo.run_demo(load_settings(), port=int(os.environ["STUB_PORT"])))


def _start_demo(tmp_path: Path, ready_delay: float = 0) -> subprocess.Popen:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "DISPENSER_DATA_DIR": str(data),
        "DISPENSER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}",
        "DISPENSER_NOTIFY_URL": f"http://127.0.0.1:{free_port()}",
        "STUB_PORT": str(free_port()),
        "STUB_READY_DELAY": str(ready_delay),
    }
    with (tmp_path / "demo.stderr").open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import stubbed_demo; stubbed_demo()"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            bufsize=0,
            # As in a terminal: a test run started in the background inherits SIGINT ignored,
            # which the demo (rightly) keeps, as under nohup.
            preexec_fn=_interruptible,
        )


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _read_until(demo: subprocess.Popen, marker: str, timeout: float = 60) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"the demo never printed {marker!r}: {seen.decode()}"
        if select.select([demo.stdout], [], [], left)[0]:
            chunk = os.read(demo.stdout.fileno(), 4096)
            assert chunk, f"the demo ended before {marker!r}: {seen.decode()}"
            seen += chunk
    return seen.decode()


def _tree_pids(tmp_path: Path) -> list[int]:
    return [int(line) for line in (tmp_path / "data/airflow/tree.pids").read_text().split()]


def _output_after(demo: subprocess.Popen, timeout: float = 30) -> str:
    rest = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([demo.stdout], [], [], 0.5)[0]:
            chunk = os.read(demo.stdout.fileno(), 4096)
            if not chunk:
                break
            rest += chunk
    return rest.decode()


@pytest.mark.usefixtures("leftovers")
def test_sigterm_while_airflow_starts_stops_the_demo_and_all_of_airflow(tmp_path):
    demo = _start_demo(tmp_path, ready_delay=20)
    try:
        _read_until(demo, "stub: airflow tree ready")
        pids = _tree_pids(tmp_path)

        demo.send_signal(signal.SIGTERM)
        rest = _output_after(demo)
        demo.wait(60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()

    assert "Stopping" in rest
    assert "4/5" not in rest, "the demo went on after SIGTERM"
    assert _survivors(pids) == []


@pytest.mark.usefixtures("leftovers")
def test_ctrl_c_after_the_reader_of_the_output_died_still_stops_airflow(tmp_path):
    """`make demo | tee log`, then Ctrl-C: tee is gone before the demo prints "Stopping"."""
    demo = _start_demo(tmp_path)
    try:
        _read_until(demo, "Press Ctrl-C")
        pids = _tree_pids(tmp_path)

        demo.stdout.close()
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()

    assert _survivors(pids) == []
    assert "Traceback" not in (tmp_path / "demo.stderr").read_text()
