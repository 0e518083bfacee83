"""The monthly pipeline on the hand-made small office (tests/cases/small_office/README.md),
on SQLite and on PostgreSQL. Every expected number is counted by hand from those files."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select, update

from dispenser_core import audit, pipeline, reports
from dispenser_core.drafts import (
    APPROVED,
    REJECTED,
    SUPERSEDED,
    close_request,
    load_draft,
    record_decision,
    request_approval,
)
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.periods import Period
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import draft_items, notices
from tests.conftest import CASES

NOVEMBER = Period(2025, 11)
HEAD, E1, E2, E3, E4, E5 = (
    "197501012000031001",
    "198001012005011001",
    "198502022010012002",
    "199003032015032003",
    "199104042016011004",
    "199505052025111005",
)


@pytest.fixture
def office(engine, settings):
    shutil.copytree(CASES / "small_office", settings.inbox_dir)
    pipeline.run_until_approval(engine, settings, NOVEMBER, actor="test")
    return engine


@pytest.fixture
def gateway():
    server = start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def _recap(engine) -> dict[str, dict]:
    with connect(engine) as conn:
        return {row["nip"]: row for row in reports.recap_rows(conn, NOVEMBER)}


def _send(engine, settings, gateway, draft_id):
    port = gateway.server_address[1]
    settings = settings.__class__(**{**vars(settings), "notify_url": f"http://127.0.0.1:{port}"})
    return pipeline.send_notices(engine, settings, draft_id)


def test_recap_counts_every_working_day_by_hand(office):
    recap = _recap(office)
    columns = (
        "working_days",
        "present",
        "tk",
        "leave",
        "missing_check_in",
        "missing_check_out",
        "late_minutes",
        "early_leave_minutes",
    )
    assert {nip: tuple(row[c] for c in columns) for nip, row in recap.items()} == {
        HEAD: (20, 20, 0, 0, 0, 0, 0, 0),
        E1: (20, 20, 0, 0, 0, 0, 0, 0),
        E2: (20, 17, 3, 0, 0, 0, 0, 0),
        E3: (20, 15, 0, 5, 0, 0, 28, 25),
        E4: (20, 14, 6, 0, 0, 1, 11, 0),
        E5: (10, 10, 0, 0, 0, 0, 0, 0),
    }


def test_loading_the_same_files_again_changes_nothing(office, settings):
    before = _recap(office)
    summaries = pipeline.extract(office, settings.inbox_dir)
    assert all(s.already_loaded for s in summaries)
    pipeline.recap(office, NOVEMBER)
    assert _recap(office) == {nip: {**row} for nip, row in before.items()}


def test_candidates_follow_the_bands_and_rank_appreciation(office):
    with connect(office) as conn:
        found = reports.candidate_report_rows(conn, NOVEMBER)
    violations = {
        r["nip"]: (r["band_code"], r["counted_days"]) for r in found if r["kind"] == "violation"
    }
    appreciations = [(r["nip"], r["rank"]) for r in found if r["kind"] == "appreciation"]
    assert violations == {E2: ("R1", 3), E4: ("R2", 6)}
    # Present on every working day: HEAD, E1, E5 (0 minutes), E3 (53 minutes; leave allowed).
    # The best three of the unit, ties broken by NIP.
    assert appreciations == [(HEAD, 1), (E1, 2), (E5, 3)]


def test_drafts_are_titled_by_period_and_kind(office):
    with connect(office) as conn:
        titles = {
            d["kind"]: (d["title"], d["employees"], d["status"]) for d in reports.draft_rows(conn)
        }
    assert titles == {
        "violation": ("Draft Notifikasi Disiplin - November 2025", 2, "pending"),
        "appreciation": ("Draft Notifikasi Apresiasi - November 2025", 3, "pending"),
    }


def test_a_rerun_overwrites_the_pending_draft_instead_of_adding_one(office, settings):
    pipeline.run_until_approval(office, settings, NOVEMBER, actor="test")
    with connect(office) as conn:
        drafts = reports.draft_rows(conn)
        actions = [e["action"] for e in audit.entries(conn, entity="draft")]
    assert len(drafts) == 2
    assert actions.count("draft_created") == 2 and actions.count("draft_overwritten") == 2


def test_approved_notices_reach_employee_and_supervisor_once(office, settings, gateway):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        record_decision(conn, 1, approved=True, actor="approver")

    report = _send(office, settings, gateway, 1)
    again = _send(office, settings, gateway, 1)

    received = sorted(
        (n["subject_nip"], n["recipient_role"], n["recipient_nip"]) for n in gateway.state.received
    )
    # E2's supervisor is E1; E4 is recorded as their own supervisor, so the unit head hears.
    assert received == [
        (E2, "employee", E2),
        (E2, "supervisor", E1),
        (E4, "employee", E4),
        (E4, "supervisor", HEAD),
    ]
    assert (report.sent, report.failed, report.status) == (4, 0, "sent")
    assert (again.sent, again.status) == (4, "sent")
    assert gateway.state.repeated_keys == 0
    with connect(office) as conn:
        actions = [e["action"] for e in audit.entries(conn)]
        assert audit.verify_chain(conn).intact
    assert actions.count("notice_sent") == 4 and "draft_approved" in actions


def test_approving_with_exclusions_leaves_those_employees_out(office, settings, gateway):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        record_decision(conn, 1, approved=True, actor="approver", excluded_nips=[E4])
    _send(office, settings, gateway, 1)
    assert {n["subject_nip"] for n in gateway.state.received} == {E2}


def test_a_rejected_draft_sends_nothing(office, settings, gateway):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        draft = record_decision(
            conn, 1, approved=False, actor="approver", note="data belum lengkap"
        )
        actions = [e["action"] for e in audit.entries(conn, entity="draft", entity_id=1)]
    assert draft.status == REJECTED
    assert actions[-1] == "draft_rejected"
    with pytest.raises(Exception, match="only an approved draft is sent"):
        _send(office, settings, gateway, 1)
    assert gateway.state.received == []


def test_an_approval_of_changed_content_is_refused(office):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        conn.execute(update(draft_items).where(draft_items.c.nip == E2).values(counted_days=30))
        draft = record_decision(conn, 1, approved=True, actor="approver")
        last = audit.entries(conn, entity="draft", entity_id=1)[-1]
    assert draft.status == REJECTED
    assert last["action"] == "approval_refused_content_changed"


def test_a_warning_sent_is_not_repeated_the_next_run(office, settings, gateway):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        record_decision(conn, 1, approved=True, actor="approver")
    _send(office, settings, gateway, 1)

    pipeline.find_candidates(office, NOVEMBER, top_per_unit=3)
    with connect(office) as conn:
        found = reports.candidate_report_rows(conn, NOVEMBER)
    assert [r for r in found if r["kind"] == "violation"] == []


def test_gateway_outage_keeps_notices_queued_and_a_retry_sends_the_rest(office, settings, gateway):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        record_decision(conn, 1, approved=True, actor="approver")
    gateway.state.control({"fail_next": 100, "fail_status": 503})
    settings = settings.__class__(**{**vars(settings), "notify_max_attempts": 2})
    with pytest.raises(Exception, match="could not be delivered yet"):
        _send(office, settings, gateway, 1)
    gateway.state.control({"fail_next": 0})
    report = _send(office, settings, gateway, 1)
    assert (report.sent, report.status, len(gateway.state.received)) == (4, "sent", 4)
    with connect(office) as conn:
        statuses = set(conn.scalars(select(notices.c.status)))
    assert statuses == {"sent"}
    assert load_draft_status(office) == "sent"


def load_draft_status(engine) -> str:
    with connect(engine) as conn:
        return load_draft(conn, 1).status


def test_audit_log_refuses_changes(office):
    from dispenser_core.exceptions import DatabaseError
    from dispenser_core.storage.schema import audit_log

    with pytest.raises(DatabaseError), connect(office) as conn:
        conn.execute(update(audit_log).values(actor="someone else"))
    with pytest.raises(DatabaseError), connect(office) as conn:
        conn.execute(audit_log.delete())


def test_status_constant_names_are_the_ones_stored():
    assert (APPROVED, REJECTED) == ("approved", "rejected")


def test_overwriting_a_draft_awaiting_approval_supersedes_it(office, settings, gateway):
    """Draft 1 (violations: E2, E4) awaits approval; a rerun with "Timpa Draft" makes draft 3
    and retires draft 1. An approval of draft 1 arriving later is only recorded."""
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
    [newer, _] = pipeline.save_drafts(office, NOVEMBER, actor="test")
    assert newer == 3
    with connect(office) as conn:
        late = record_decision(conn, 1, approved=True, actor="approver")
        actions = [e["action"] for e in audit.entries(conn, entity="draft", entity_id=1)]
        created = audit.entries(conn, entity="draft", entity_id=3)[0]
    assert late.status == SUPERSEDED
    assert actions[-2:] == ["draft_superseded", "answer_to_superseded_draft"]
    assert created["details"]["replaces"] == 1
    with pytest.raises(Exception, match="only an approved draft is sent"):
        _send(office, settings, gateway, 1)


def test_two_approved_drafts_of_one_case_notify_each_person_once(office, settings, gateway):
    """ "Buat Draft Baru" twice gives drafts 1 and 3 with the same two employees; both approved
    before either is sent, the second sends nothing new."""
    [second, _] = pipeline.save_drafts(office, NOVEMBER, mode="new", actor="test")
    with connect(office) as conn:
        for draft_id in (1, second):
            request_approval(conn, draft_id, actor="test")
            record_decision(conn, draft_id, approved=True, actor="approver")
    first_report = _send(office, settings, gateway, 1)
    second_report = _send(office, settings, gateway, second)
    assert (first_report.sent, second_report.sent) == (4, 0)
    assert sorted(n["subject_nip"] for n in gateway.state.received) == [E2, E2, E4, E4]
    with connect(office) as conn:
        queued = [
            e
            for e in audit.entries(conn, entity="draft", entity_id=second)
            if e["action"] == "notices_queued"
        ]
    assert queued[0]["details"]["already_notified"] == [E2, E4]


def test_an_exclusion_of_a_nip_not_in_the_draft_refuses_the_approval(office):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        draft = record_decision(
            conn, 1, approved=True, actor="approver", excluded_nips=["199999999999999999"]
        )
        last = audit.entries(conn, entity="draft", entity_id=1)[-1]
    assert draft.status == REJECTED
    assert last["action"] == "approval_refused_unknown_nips"
    assert last["details"]["unknown"] == ["199999999999999999"]


def test_a_failed_approval_step_closes_the_draft_as_rejected(office):
    with connect(office) as conn:
        request_approval(conn, 1, actor="test")
        assert close_request(conn, 1, actor="airflow:run")
        assert not close_request(conn, 1, actor="airflow:run")  # closed once
        draft = load_draft(conn, 1)
        last = audit.entries(conn, entity="draft", entity_id=1)[-1]
    assert (draft.status, last["action"]) == (REJECTED, "approval_step_failed")
