"""The outbox: approved notices become rows first, then a sender delivers them.

Because every notice is a row with its own idempotency key before anything is sent, a crash in
the middle of sending resumes with the rest, and a notice that reached the gateway but was not
yet marked sent is answered by the gateway as the same notice, never delivered twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
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
from dispenser_core.storage.schema import employees, notices, work_units
from dispenser_core.storage.upsert import insert_new

log = logging.getLogger(__name__)

QUEUED, SENT, FAILED = "queued", "sent", "failed"
CATEGORY = {VIOLATION: "peringatan_disiplin", "appreciation": "apresiasi"}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def idempotency_key(draft: Draft, nip: str, role: str) -> str:
    material = f"{draft.draft_id}|{draft.approval_hash}|{nip}|{role}"
    return hashlib.sha256(material.encode()).hexdigest()[:40]


def supervisor_of(person: dict, people: dict[str, dict], unit_heads: dict[str, str]) -> str | None:
    """The direct supervisor; the unit head when there is none or it is the person themself."""
    supervisor = person["supervisor_nip"]
    if supervisor and supervisor != person["nip"] and supervisor in people:
        return supervisor
    head = unit_heads.get(person["opd_code"])
    if head and head != person["nip"]:
        return head
    return None


def build_outbox(conn: Connection, draft_id: int) -> int:
    """Turn an approved draft into notice rows (employee and supervisor); returns how many rows
    the outbox holds for it. Running it again adds nothing."""
    draft = load_draft(conn, draft_id)
    if draft.status not in (APPROVED, "sending", "partly_failed"):
        raise DraftError(f"Draft {draft_id} is {draft.status}; only an approved draft is sent.")

    people = {r["nip"]: dict(r) for r in conn.execute(select(employees)).mappings()}
    units = {r.opd_code: r for r in conn.execute(select(work_units))}
    heads = {code: unit.head_nip for code, unit in units.items()}
    period = Period.parse(draft.period)
    title = notice_title(draft.kind, period)
    excluded = set(draft.excluded_nips or [])

    rows, skipped_supervisor = [], 0
    now = _utcnow()
    for item in draft.items:
        if item["nip"] in excluded:
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
    if added:
        audit.record(
            conn,
            actor=audit.SYSTEM_ACTOR,
            action="notices_queued",
            entity="draft",
            entity_id=draft_id,
            details={"notices": len(rows), "without_supervisor": skipped_supervisor},
        )
    return len(rows)


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


def _deliver(engine: Engine, client: NotificationClient, row, category: str) -> str:
    """Send one notice and record the outcome in its own transaction."""
    values: dict = {"attempts": row.attempts + 1}
    try:
        gateway_id = client.send(_outgoing(row, category))
        values |= {
            "status": SENT,
            "gateway_id": gateway_id,
            "sent_at": _utcnow(),
            "last_error": None,
        }
        action, details = "notice_sent", {"gateway_id": gateway_id}
    except GatewayUnavailable as err:
        values |= {"last_error": str(err)[:500]}
        action, details = "notice_delivery_postponed", {"reason": "gateway_unavailable"}
    except NotificationError as err:
        values |= {"status": FAILED, "last_error": str(err)[:500]}
        action, details = "notice_failed", {"reason": str(err)[:200]}

    with connect(engine) as conn:
        conn.execute(update(notices).where(notices.c.notice_id == row.notice_id).values(**values))
        audit.record(
            conn,
            actor=audit.SYSTEM_ACTOR,
            action=action,
            entity="notice",
            entity_id=row.notice_id,
            details={
                **details,
                "draft_id": row.draft_id,
                "nip": row.nip,
                "role": row.recipient_role,
            },
        )
    return values.get("status", QUEUED)


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
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = list(pool.map(lambda row: _deliver(engine, client, row, CATEGORY[kind]), queued))

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
        outcomes.count(SENT),
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
