"""The monthly run in a real Airflow: approved through the REST API as the approver, the notices
reach the local gateway and the audit log; rejected, nothing is sent."""

from __future__ import annotations

import csv
import time

import pytest
from sqlalchemy import create_engine

from dispenser_core import audit
from dispenser_core.drafts import load_draft
from dispenser_core.sample_city import PLANTED_RUN, PLANTED_THREE
from dispenser_core.storage.db import connect

pytestmark = pytest.mark.airflow

APPROVE_ALL, REJECT = "Setujui semua", "Tolak"


def _supervisors(sample_city) -> dict[str, str]:
    """Who hears about each employee, read straight from the roster and units files: the direct
    supervisor, or the unit head when there is none or it is the employee themself."""
    with (sample_city / "units.csv").open() as handle:
        heads = {row["opd_code"]: row["head_nip"] for row in csv.DictReader(handle)}
    with (sample_city / "roster.csv").open() as handle:
        roster = list(csv.DictReader(handle))
    known = {row["nip"] for row in roster}
    chosen = {}
    for row in roster:
        supervisor = row["supervisor_nip"]
        if not supervisor or supervisor == row["nip"] or supervisor not in known:
            supervisor = heads[row["opd_code"]] if heads[row["opd_code"]] != row["nip"] else None
        chosen[row["nip"]] = supervisor
    return chosen


def _draft_of(stack, detail):
    draft_id = int(detail["body"].split("**Draft:** #")[1].split(",")[0])
    with connect(create_engine(stack.database_url)) as conn:
        return load_draft(conn, draft_id)


def _audit(stack, **where):
    with connect(create_engine(stack.database_url)) as conn:
        return audit.entries(conn, **where), audit.verify_chain(conn)


def test_approved_run_delivers_exactly_the_drafted_notices(stack):
    run_id = stack.trigger("2025-11")
    waiting = stack.wait_for_approvals(run_id, expected=2)
    by_kind = {("violation" if "Disiplin" in d["subject"] else "appreciation"): d for d in waiting}
    violation = _draft_of(stack, by_kind["violation"])

    # What the approver reads: period, filters, how many, who, each one's counted days.
    body = by_kind["violation"]["body"]
    assert "**Periode:** November 2025" in body and "**OPD:** Semua OPD" in body
    assert f"**Jumlah pegawai:** {len(violation.items)}" in body
    assert f"| {PLANTED_RUN} |" in body and f"| {PLANTED_THREE} |" in body
    bands = {item["nip"]: (item["band_code"], item["counted_days"]) for item in violation.items}
    assert bands[PLANTED_RUN] == ("B4", 10)  # 10 consecutive working days, Oct 27 - Nov 7
    assert bands[PLANTED_THREE] == ("R1", 3)  # 5, 12 and 19 November

    # Only the approver may answer.
    assert stack.answer(by_kind["violation"], APPROVE_ALL, user="viewer").status_code == 403
    assert stack.answer(by_kind["violation"], APPROVE_ALL, user="admin").status_code == 403

    sent_before = len(stack.gateway.state.received)
    repeated_before = stack.gateway.state.repeated_keys
    answered = time.monotonic()
    assert stack.answer(by_kind["violation"], APPROVE_ALL, note="sesuai").status_code == 200
    assert stack.answer(by_kind["appreciation"], REJECT).status_code == 200
    assert stack.wait_for_end(run_id, timeout=60) == "success"
    assert time.monotonic() - answered < 60

    supervisors = _supervisors(stack.sample_city)
    expected = sorted(
        [(nip, "employee", nip) for nip in bands]
        + [(nip, "supervisor", supervisors[nip]) for nip in bands if supervisors[nip]]
    )
    received = stack.gateway.state.received[sent_before:]
    assert (
        sorted((n["subject_nip"], n["recipient_role"], n["recipient_nip"]) for n in received)
        == expected
    )
    assert {n["category"] for n in received} == {"peringatan_disiplin"}
    assert stack.gateway.state.repeated_keys == repeated_before

    rows, chain = _audit(stack)
    assert chain.intact
    actions = [r["action"] for r in rows]
    for action in (
        "draft_created",
        "approval_requested",
        "draft_approved",
        "draft_rejected",
        "notices_queued",
        "draft_sent",
    ):
        assert action in actions, action
    sent_for_draft = [
        r
        for r in rows
        if r["action"] == "notice_sent" and r["details"]["draft_id"] == violation.draft_id
    ]
    assert len(sent_for_draft) == len(expected)
    approved = next(
        r
        for r in rows
        if r["action"] == "draft_approved" and r["entity_id"] == str(violation.draft_id)
    )
    assert approved["actor"] == "approver" and approved["entity_id"] == str(violation.draft_id)


def test_rejected_run_sends_nothing_and_is_recorded(stack):
    run_id = stack.trigger("2025-10")
    waiting = stack.wait_for_approvals(run_id, expected=1)
    received_before = len(stack.gateway.state.received)
    for detail in waiting:
        assert stack.answer(detail, REJECT, note="periksa ulang").status_code == 200
    assert stack.wait_for_end(run_id, timeout=60) == "success"

    assert len(stack.gateway.state.received) == received_before
    states = stack.task_states(run_id)
    assert {s for (task, _), s in states.items() if task.endswith("send_notices")} == {"skipped"}
    for detail in waiting:
        draft = _draft_of(stack, detail)
        assert (draft.status, draft.decided_by) == ("rejected", "approver")
        rows, _ = _audit(stack, entity="draft", entity_id=draft.draft_id)
        assert rows[-1]["action"] == "draft_rejected"
