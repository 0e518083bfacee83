"""The "Analisis Disiplin" form in a real Airflow, each way an approval can go: approved with
exclusions, not answered in time, answered after the draft changed, a gateway that fails then
recovers, and a worker killed while sending. Each uses its own unit so their warnings do not
meet (an employee is warned once per band a year)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import create_engine, update

from dispenser_core import audit
from dispenser_core.drafts import load_draft
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import draft_items, notices

pytestmark = pytest.mark.airflow

DAG = "dispenser_analisis_disiplin"
APPROVE_ALL, APPROVE_EXCEPT, REJECT = "Setujui semua", "Setujui kecuali NIP terpilih", "Tolak"


def _form(unit: str, **changes) -> dict:
    return {
        "periode": "2025-11",
        "opd": [unit],
        "jenis": "Pelanggaran",
        "data_hukuman": "Semua",
        "mode_draft": "Buat Draft Baru",
    } | changes


def _engine(stack):
    return create_engine(stack.database_url)


def _draft(stack, detail):
    draft_id = int(detail["body"].split("**Draft:** #")[1].split(",")[0])
    with connect(_engine(stack)) as conn:
        return load_draft(conn, draft_id)


def _actions(stack, draft_id) -> list[str]:
    with connect(_engine(stack)) as conn:
        return [e["action"] for e in audit.entries(conn, entity="draft", entity_id=draft_id)]


def _notice_keys(stack, draft_id) -> set[str]:
    with connect(_engine(stack)) as conn:
        return set(
            conn.scalars(
                notices.select()
                .with_only_columns(notices.c.idempotency_key)
                .where(notices.c.draft_id == draft_id)
            )
        )


def _received_for(stack, keys: set[str]) -> list[dict]:
    return [n for n in stack.gateway.state.received if n["idempotency_key"] in keys]


def test_approve_with_exclusions_leaves_those_employees_out(stack):
    run_id = stack.trigger_dag(DAG, _form("DINKES"))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft = _draft(stack, detail)
    left_out = draft.items[0]["nip"]
    assert len(draft.items) >= 2

    assert stack.answer(detail, APPROVE_EXCEPT, excluded=[left_out], note="satu dikecualikan").ok
    assert stack.wait_for_end(run_id, dag_id=DAG) == "success"

    received = _received_for(stack, _notice_keys(stack, draft.draft_id))
    assert {n["subject_nip"] for n in received} == {i["nip"] for i in draft.items} - {left_out}
    assert _actions(stack, draft.draft_id)[-3:] == [
        "draft_approved",
        "notices_queued",
        "draft_sent",
    ]


def test_no_answer_in_time_is_a_rejection(stack):
    # 0.003 hours is about 11 seconds; the scheduler checks for timeouts every 5 seconds.
    run_id = stack.trigger_dag(DAG, _form("KEC-MEDAN-BARU", batas_waktu_persetujuan_jam=0.003))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    assert stack.wait_for_end(run_id, timeout=120, dag_id=DAG) == "success"

    draft = _draft(stack, detail)
    assert (draft.status, draft.decided_by) == ("rejected", "timeout")
    assert _actions(stack, draft.draft_id)[-1] == "approval_timed_out"
    assert _notice_keys(stack, draft.draft_id) == set()


def test_a_draft_changed_after_the_request_is_not_sent(stack):
    run_id = stack.trigger_dag(DAG, _form("KEC-MEDAN-TIMUR"))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft = _draft(stack, detail)
    with connect(_engine(stack)) as conn:  # someone edits the draft behind the approver's back
        conn.execute(
            update(draft_items)
            .where(draft_items.c.draft_id == draft.draft_id)
            .values(counted_days=99)
        )

    assert stack.answer(detail, APPROVE_ALL).ok
    assert stack.wait_for_end(run_id, dag_id=DAG) == "failed"
    assert _actions(stack, draft.draft_id)[-1] == "approval_refused_content_changed"
    assert _notice_keys(stack, draft.draft_id) == set()
    log = stack.task_log(run_id, "review_and_send.request_approval", dag_id=DAG, map_index=0)
    assert "changed after approval was requested" in log, log[-2000:]


def test_a_gateway_that_fails_for_a_while_gets_every_notice_once(stack):
    run_id = stack.trigger_dag(DAG, _form("DISHUB"))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft = _draft(stack, detail)
    stack.gateway.state.control({"fail_next": 12, "fail_status": 503, "retry_after": 1})

    assert stack.answer(detail, APPROVE_ALL).ok
    assert stack.wait_for_end(run_id, timeout=180, dag_id=DAG) == "success"

    keys = _notice_keys(stack, draft.draft_id)
    received = _received_for(stack, keys)
    assert stack.gateway.state.fail_next == 0  # every induced failure was met
    assert len(received) == len(keys) == len({n["idempotency_key"] for n in received})
    assert "draft_sent" in _actions(stack, draft.draft_id)


def test_a_sender_killed_mid_send_resumes_without_sending_twice(stack):
    run_id = stack.trigger_dag(DAG, _form("SATPOLPP"))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft = _draft(stack, detail)
    stack.gateway.state.control({"delay_ms": 700})
    before = len(stack.gateway.state.received)
    assert stack.answer(detail, APPROVE_ALL).ok

    # Wait until the sender has delivered some notices, then kill its process.
    deadline = time.monotonic() + 120
    while len(stack.gateway.state.received) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    sender = next(
        t
        for t in stack.task_instances(run_id, DAG)
        if t["task_id"] == "review_and_send.send_notices"
    )
    assert sender["state"] == "running" and sender["pid"], sender
    os.kill(sender["pid"], signal.SIGKILL)
    stack.gateway.state.control({"delay_ms": 0})

    assert stack.wait_for_end(run_id, timeout=240, dag_id=DAG) == "success"
    keys = _notice_keys(stack, draft.draft_id)
    received = _received_for(stack, keys)
    assert len(received) == len(keys) == len({n["idempotency_key"] for n in received})
    assert "draft_sent" in _actions(stack, draft.draft_id)


def test_a_bad_form_stops_before_anything_is_written(stack):
    run_id = stack.trigger_dag(
        DAG, _form("NOPE", periode="2031-01", minimal_hari=5, maksimal_hari=2)
    )
    assert stack.wait_for_end(run_id, dag_id=DAG) == "failed"
    states = stack.task_states(run_id, DAG)
    assert states[("check_request", -1)] == "failed"
    assert states[("save_draft", -1)] == "upstream_failed"
    log = stack.task_log(run_id, "check_request", dag_id=DAG)
    for message in (
        "Periode Januari 2031 belum dimulai",
        "OPD tidak dikenal: NOPE",
        "Minimal hari pelanggaran (5) lebih besar dari maksimal (2)",
    ):
        assert message in log, log[-2000:]


def test_timpa_draft_supersedes_a_draft_awaiting_approval(stack):
    # Not DISDIK: its planted employees must still be unnotified when the monthly run is tested.
    first_run = stack.trigger_dag(DAG, _form("BAPPEDA"))
    [first_detail] = stack.wait_for_approvals(first_run, expected=1, dag_id=DAG)
    second_run = stack.trigger_dag(DAG, _form("BAPPEDA", mode_draft="Timpa Draft"))
    [second_detail] = stack.wait_for_approvals(second_run, expected=1, dag_id=DAG)
    first, second = _draft(stack, first_detail), _draft(stack, second_detail)
    assert second.draft_id != first.draft_id
    assert first.status == "superseded"

    # Both answered: only the newer draft is sent, each notice once.
    assert stack.answer(first_detail, APPROVE_ALL).ok
    assert stack.answer(second_detail, APPROVE_ALL).ok
    assert stack.wait_for_end(first_run, dag_id=DAG) == "success"
    assert stack.wait_for_end(second_run, timeout=180, dag_id=DAG) == "success"
    assert _notice_keys(stack, first.draft_id) == set()
    keys = _notice_keys(stack, second.draft_id)
    received = _received_for(stack, keys)
    assert len(received) == len(keys) == 2 * len(second.items)
    assert "answer_to_superseded_draft" in _actions(stack, first.draft_id)
    states = stack.task_states(first_run, DAG)
    assert states[("review_and_send.send_notices", 0)] == "skipped"


def test_excluding_a_nip_not_in_the_draft_is_refused_recorded_and_not_retried(stack):
    run_id = stack.trigger_dag(DAG, _form("BKPSDM"))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft = _draft(stack, detail)
    assert stack.answer(detail, APPROVE_EXCEPT, excluded=["199999999999999999"]).ok

    assert stack.wait_for_end(run_id, dag_id=DAG) == "failed"
    assert _draft(stack, detail).status == "rejected"
    assert _actions(stack, draft.draft_id)[-1] == "approval_refused_unknown_nips"
    assert _notice_keys(stack, draft.draft_id) == set()
    [approval] = [
        t
        for t in stack.task_instances(run_id, DAG)
        if t["task_id"] == "review_and_send.request_approval"
    ]
    assert (approval["state"], approval["try_number"]) == ("failed", 1)
    log = stack.task_log(run_id, "review_and_send.request_approval", dag_id=DAG, map_index=0)
    assert "199999999999999999 tidak ada di draft ini" in log, log[-2000:]


def test_a_rejection_with_only_a_note_is_recorded(stack):
    run_id = stack.trigger_dag(DAG, _form("BKPSDM"))
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft = _draft(stack, detail)
    ti = detail["task_instance"]
    response = stack.airflow.api(
        "PATCH",
        f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/"
        f"{ti['map_index']}/hitlDetails",
        user="approver",
        json={"chosen_options": [REJECT], "params_input": {"catatan": "data belum lengkap"}},
    )
    assert response.ok, response.text

    assert stack.wait_for_end(run_id, dag_id=DAG) == "success"
    with connect(_engine(stack)) as conn:
        last = audit.entries(conn, entity="draft", entity_id=draft.draft_id)[-1]
    assert (last["action"], last["details"]["note"]) == ("draft_rejected", "data belum lengkap")
    assert _draft(stack, detail).status == "rejected"
