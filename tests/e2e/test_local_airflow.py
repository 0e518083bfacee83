"""What LocalAirflow asks of the real Airflow REST API."""

from __future__ import annotations

from dispenser_core.local.airflow_standalone import (
    NOTIFICATION_POOL,
    NOTIFICATION_POOL_SLOTS,
    UNIT_POOL,
    UNIT_POOL_SLOTS_SQLITE,
)


def _pool(stack, name: str) -> dict:
    response = stack.airflow.api("GET", f"/api/v2/pools/{name}")
    assert response.status_code == 200, response.text
    return response.json()


def test_ensure_pool_creates_the_pool_then_updates_it(stack):
    airflow = stack.airflow
    assert airflow.api("GET", "/api/v2/pools/lifecycle_check").status_code == 404

    airflow.ensure_pool("lifecycle_check", 3, "first")
    created = _pool(stack, "lifecycle_check")
    assert (created["slots"], created["description"]) == (3, "first")

    airflow.ensure_pool("lifecycle_check", 5, "second")
    updated = _pool(stack, "lifecycle_check")
    assert (updated["slots"], updated["description"]) == (5, "second")
    assert updated["include_deferred"] is False


def test_a_second_start_prepares_the_existing_notification_pool(stack):
    # The session's Airflow was prepared once already, as by a first `make demo`.
    stack.airflow.prepare_dispenser()
    assert _pool(stack, NOTIFICATION_POOL)["slots"] == NOTIFICATION_POOL_SLOTS
    # The session's Dispenser database is SQLite: its units take turns at the one writer.
    assert _pool(stack, UNIT_POOL)["slots"] == UNIT_POOL_SLOTS_SQLITE
