"""The outbox: approved notices become rows first, then a sender delivers them.

Because every notice is a row with its own idempotency key before anything is sent, a crash in
the middle of sending resumes with the rest, and a notice that reached the gateway but was not
yet marked sent is answered by the gateway as the same notice, never delivered twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select, update

from dispenser_core import audit
from dispenser_core.candidates import VIOLATION
from dispenser_core.drafts import APPROVED, Draft, load_draft, mark_sending, mark_sent
from dispenser_core.drafts import SENT as DRAFT_SENT
from dispenser_core.exceptions import DraftError, GatewayUnavailable, NotificationError
from dispenser_core.notices.client import NotificationClient, OutgoingNotice
from dispenser_core.notices.render import TEMPLATE_VERSION, Person, notice_title, render_notice
from dispenser_core.periods import Period
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import drafts, notices, work_units
from dispenser_core.storage.upsert import insert_new
from dispenser_core.supervisors import people_on, supervisor_of

log = logging.getLogger(__name__)

QUEUED, SENT, FAILED = "queued", "sent", "failed"
# Outcomes are written in batches: one transaction per notice would make the database, not the
# gateway, the limit.
RECORD_EVERY = 50
CATEGORY = {VIOLATION: "peringatan_disiplin", "appreciation": "apresiasi"}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def idempotency_key(draft: Draft, nip: str, role: str) -> str:
    material = f"{draft.draft_id}|{draft.approval_hash}|{nip}|{role}"
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def build_outbox(conn: Connection, draft_id: int) -> int:
    """Turn an approved draft into notice rows (employee and supervisor); returns how many rows
    the outbox holds for it. Running it again adds nothing."""
    draft = load_draft(conn, draft_id)
    if draft.status not in (APPROVED, "sending", "partly_failed"):
        raise DraftError(f"Draft {draft_id} is {draft.status}; only an approved draft is sent.")

    period = Period.parse(draft.period)
    people = people_on(conn, period.end)
    units = {r.opd_code: r for r in conn.execute(select(work_units))}
    heads = {code: unit.head_nip for code, unit in units.items()}
    title = notice_title(draft.kind, period)
    excluded = set(draft.excluded_nips or [])
    notified = _notified_by_other_drafts(conn, draft)

    rows, skipped_supervisor, already = [], 0, []
    now = _utcnow()
    for item in draft.items:
        if item["nip"] in excluded:
            continue
        if (item["nip"], item["band_code"] or "") in notified:
            already.append(item["nip"])
            continue
        person = people[item["nip"]]
        unit_name = units[person["opd_code"]].name
        employee = Person(person["nip"], person["name"])
        recipients = [("employee", person["nip"])]
        supervisor = supervisor_of(person, people, heads)
        if supervisor:
            recipients.append(("supervisor", supervisor))
        else:
            skipped_supervisor += 1
        for role, recipient_nip in recipients:
            recipient = people.get(recipient_nip)
            body = render_notice(
                draft.kind,
                role,
                period=period,
                item={**item, "rank": item["details"].get("rank_in_unit")},
                employee=employee,
                unit_name=unit_name,
                recipient=Person(recipient_nip, recipient["name"] if recipient else recipient_nip),
            )
            rows.append(
                {
                    "draft_id": draft_id,
                    "nip": person["nip"],
                    "recipient_nip": recipient_nip,
                    "recipient_role": role,
                    "band_code": item["band_code"],
                    "template_version": TEMPLATE_VERSION,
                    "title": title,
                    "body": body,
                    "idempotency_key": idempotency_key(draft, person["nip"], role),
                    "status": QUEUED,
                    "attempts": 0,
                    "created_at": now,
                }
            )
    added = insert_new(conn, notices, rows, ["idempotency_key"])
    if added or already:
        audit.record(
            conn,
            actor=audit.SYSTEM_ACTOR,
            action="notices_queued",
            entity="draft",
            entity_id=draft_id,
            details={
                "notices": len(rows),
                "without_supervisor": skipped_supervisor,
                "already_notified": already,
            },
        )
    return len(rows)


def _notified_by_other_drafts(conn: Connection, draft: Draft) -> set[tuple[str, str]]:
    """(NIP, band) of this draft's employees whom another draft already gave the same notice
    (same kind, period and band): two approved drafts of one case never notify twice."""
    found = conn.execute(
        select(notices.c.nip, notices.c.band_code)
        .join(drafts, drafts.c.draft_id == notices.c.draft_id)
        .where(
            drafts.c.kind == draft.kind,
            drafts.c.period == draft.period,
            notices.c.draft_id != draft.draft_id,
            notices.c.recipient_role == "employee",
            notices.c.nip.in_([item["nip"] for item in draft.items]),
        )
    )
    return {(nip, band or "") for nip, band in found}


@dataclass(frozen=True)
class SendReport:
    draft_id: int
    sent: int
    failed: int
    still_queued: int
    status: str


def _outgoing(row, category: str) -> OutgoingNotice:
    return OutgoingNotice(
        idempotency_key=row.idempotency_key,
        recipient_nip=row.recipient_nip,
        subject_nip=row.nip,
        recipient_role=row.recipient_role,
        category=category,
        title=row.title,
        body=row.body,
        reference=f"dispenser:draft:{row.draft_id}:notice:{row.notice_id}",
    )


@dataclass(frozen=True)
class _Outcome:
    row: object
    values: dict
    action: str
    details: dict


def _attempt(client: NotificationClient, row, category: str) -> _Outcome:
    """Send one notice (with the client's retries); what happened, to be recorded."""
    values: dict = {"attempts": row.attempts + 1}
    try:
        gateway_id = client.send(_outgoing(row, category))
    except GatewayUnavailable as err:
        values["last_error"] = str(err)[:500]
        return _Outcome(row, values, "notice_delivery_postponed", {"reason": "gateway_unavailable"})
    except NotificationError as err:
        values |= {"status": FAILED, "last_error": str(err)[:500]}
        return _Outcome(row, values, "notice_failed", {"reason": str(err)[:200]})
    values |= {"status": SENT, "gateway_id": gateway_id, "sent_at": _utcnow(), "last_error": None}
    return _Outcome(row, values, "notice_sent", {"gateway_id": gateway_id})


def _record(engine: Engine, outcomes: list[_Outcome]) -> None:
    """Write a batch of outcomes and their audit rows in one transaction.

    A notice delivered but not yet recorded when a worker dies is sent again on resume with the
    same idempotency key, and the gateway answers with the notice it already has.
    """
    if not outcomes:
        return
    with connect(engine) as conn:
        for outcome in outcomes:
            conn.execute(
                update(notices)
                .where(notices.c.notice_id == outcome.row.notice_id)
                .values(**outcome.values)
            )
        audit.record_many(
            conn,
            [
                {
                    "actor": audit.SYSTEM_ACTOR,
                    "action": o.action,
                    "entity": "notice",
                    "entity_id": o.row.notice_id,
                    "details": {
                        **o.details,
                        "draft_id": o.row.draft_id,
                        "nip": o.row.nip,
                        "role": o.row.recipient_role,
                    },
                }
                for o in outcomes
            ],
        )


def send_outbox(
    engine: Engine, draft_id: int, client: NotificationClient, concurrency: int = 8
) -> SendReport:
    """Deliver every queued notice of an approved draft, ``concurrency`` at a time."""
    with connect(engine) as conn:
        draft = load_draft(conn, draft_id)
        if draft.status == DRAFT_SENT:
            counts = _status_counts(conn, draft_id)
            return SendReport(draft_id, counts.get(SENT, 0), counts.get(FAILED, 0), 0, DRAFT_SENT)
        build_outbox(conn, draft_id)
        mark_sending(conn, draft_id)
        kind = draft.kind
        queued = conn.execute(
            select(notices)
            .where(notices.c.draft_id == draft_id, notices.c.status == QUEUED)
            .order_by(notices.c.notice_id)
        ).all()

    log.info(
        "Draft %s: sending %d queued notices, %d at a time", draft_id, len(queued), concurrency
    )
    delivered = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        pending = [pool.submit(_attempt, client, row, CATEGORY[kind]) for row in queued]
        batch: list[_Outcome] = []
        for done in as_completed(pending):
            batch.append(done.result())
            if len(batch) >= RECORD_EVERY:
                _record(engine, batch)
                delivered += sum(o.values.get("status") == SENT for o in batch)
                batch = []
        _record(engine, batch)
        delivered += sum(o.values.get("status") == SENT for o in batch)

    with connect(engine) as conn:
        counts = _status_counts(conn, draft_id)
        still_queued = counts.get(QUEUED, 0)
        status = "sending"
        if not still_queued:
            status = mark_sent(conn, draft_id, failed=counts.get(FAILED, 0))
            audit.record(
                conn,
                actor=audit.SYSTEM_ACTOR,
                action="draft_sent",
                entity="draft",
                entity_id=draft_id,
                details={
                    "sent": counts.get(SENT, 0),
                    "failed": counts.get(FAILED, 0),
                    "status": status,
                },
            )
    report = SendReport(draft_id, counts.get(SENT, 0), counts.get(FAILED, 0), still_queued, status)
    log.info(
        "Draft %s: %d sent, %d failed, %d still queued (this run delivered %d)",
        draft_id,
        report.sent,
        report.failed,
        report.still_queued,
        delivered,
    )
    if still_queued:
        raise GatewayUnavailable(
            f"Draft {draft_id}: {still_queued} notices could not be delivered yet; they stay "
            "queued and the next attempt sends only those."
        )
    return report


def _status_counts(conn: Connection, draft_id: int) -> dict[str, int]:
    return dict(
        conn.execute(
            select(notices.c.status, func.count())
            .where(notices.c.draft_id == draft_id)
            .group_by(notices.c.status)
        ).all()
    )
