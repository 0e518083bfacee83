"""Notification drafts: a reviewed list of candidates waiting for an approver.

A draft is created new ("Buat Draft Baru") or overwrites the pending draft with the same kind,
period and filters ("Timpa Draft"). Its life::

    pending -> awaiting_approval -> approved -> sending -> sent | partly_failed
                                 \\-> rejected

Only a pending draft can be overwritten. An approval is bound to the draft's content hash:
if the content changed after the approver was asked, nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, insert, select, update

from dispenser_core import audit
from dispenser_core.candidates import APPRECIATION, VIOLATION, candidate_rows
from dispenser_core.exceptions import DraftError
from dispenser_core.periods import Period
from dispenser_core.rules import rule_set_for
from dispenser_core.storage.schema import draft_items, drafts, employees, work_units

log = logging.getLogger(__name__)

NEW, OVERWRITE = "new", "overwrite"
PENDING, AWAITING_APPROVAL = "pending", "awaiting_approval"
APPROVED, REJECTED = "approved", "rejected"
SENDING, SENT, PARTLY_FAILED = "sending", "sent", "partly_failed"
# Replaced by a newer draft of the same filters while it waited for approval: its request may
# still be answered in Airflow, but nothing of it is ever sent.
SUPERSEDED = "superseded"
STATUSES = (
    PENDING,
    AWAITING_APPROVAL,
    APPROVED,
    REJECTED,
    SENDING,
    SENT,
    PARTLY_FAILED,
    SUPERSEDED,
)

TITLE_PREFIX = {VIOLATION: "Draft Notifikasi Disiplin", APPRECIATION: "Draft Notifikasi Apresiasi"}


@dataclass(frozen=True)
class DraftFilters:
    """The filters of the original "Analisis Disiplin" screen."""

    kind: str = VIOLATION
    units: tuple[str, ...] = ()  # empty means all units ("Semua OPD")
    band: str | None = None
    min_days: int | None = None
    max_days: int | None = None
    employee: str | None = None  # part of a name or a NIP

    def __post_init__(self) -> None:
        if self.kind not in TITLE_PREFIX:
            raise ValueError(f"kind must be {VIOLATION!r} or {APPRECIATION!r}, not {self.kind!r}")
        if None not in (self.min_days, self.max_days) and self.min_days > self.max_days:
            raise ValueError(
                f"The minimum of violation days ({self.min_days}) is above the maximum "
                f"({self.max_days}); lower the minimum or raise the maximum."
            )

    @property
    def opd_filter(self) -> str:
        return ",".join(sorted(self.units))


@dataclass
class Draft:
    draft_id: int
    kind: str
    title: str
    period: str
    opd_filter: str
    band_filter: str
    note: str
    status: str
    content_hash: str
    created_by: str
    updated_at: dt.datetime
    items: list[dict] = field(default_factory=list)
    requested_hash: str | None = None
    approval_hash: str | None = None
    decided_by: str | None = None
    excluded_nips: list[str] | None = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def draft_title(period: Period, filters: DraftFilters, unit_names: list[str]) -> str:
    """'Draft Notifikasi Disiplin - November 2025', with the units and band when filtered."""
    parts = [TITLE_PREFIX[filters.kind], period.label_id]
    if unit_names:
        parts.append(", ".join(unit_names))
    if filters.band:
        parts.append(rule_set_for(period.end).band(filters.band).label_id)
    return " - ".join(parts)


def content_hash(
    kind: str, period: str, opd_filter: str, band_filter: str, items: list[dict]
) -> str:
    """The fingerprint an approval is bound to: who is in the draft, with what and why."""
    body = {
        "kind": kind,
        "period": period,
        "opd_filter": opd_filter,
        "band_filter": band_filter,
        "items": sorted(
            (
                {
                    "nip": i["nip"],
                    "band_code": i["band_code"],
                    "counted_days": i["counted_days"],
                    "details": i["details"],
                }
                for i in items
            ),
            key=lambda item: item["nip"],
        ),
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _matching_candidates(conn: Connection, period: Period, filters: DraftFilters) -> list[dict]:
    rows = candidate_rows(conn, period, filters.kind)
    if filters.units:
        rows = [r for r in rows if r["opd_code"] in filters.units]
    if filters.band:
        rows = [r for r in rows if r["band_code"] == filters.band]
    if filters.min_days is not None:
        rows = [r for r in rows if r["counted_days"] >= filters.min_days]
    if filters.max_days is not None:
        rows = [r for r in rows if r["counted_days"] <= filters.max_days]
    if filters.employee:
        wanted = filters.employee.strip().lower()
        names = dict(conn.execute(select(employees.c.nip, employees.c.name)).all())
        rows = [r for r in rows if wanted in r["nip"] or wanted in names.get(r["nip"], "").lower()]
    return [
        {
            "nip": r["nip"],
            "band_code": r["band_code"],
            "counted_days": r["counted_days"],
            "details": r["details"],
        }
        for r in rows
    ]


def _unit_names(conn: Connection, codes: tuple[str, ...]) -> list[str]:
    if not codes:
        return []
    names = dict(
        conn.execute(
            select(work_units.c.opd_code, work_units.c.name).where(work_units.c.opd_code.in_(codes))
        ).all()
    )
    unknown = sorted(set(codes) - set(names))
    if unknown:
        raise DraftError(f"Unknown unit(s) {unknown}: pick units from `dispenser units`.")
    return [names[code] for code in sorted(codes)]


def _open_twin(conn: Connection, kind: str, period: str, opd_filter: str, band_filter: str):
    """The newest draft of the same filters that is not decided yet (pending or awaiting)."""
    return conn.execute(
        select(drafts.c.draft_id, drafts.c.status)
        .where(
            drafts.c.kind == kind,
            drafts.c.period == period,
            drafts.c.opd_filter == opd_filter,
            drafts.c.band_filter == band_filter,
            drafts.c.status.in_((PENDING, AWAITING_APPROVAL)),
        )
        .order_by(drafts.c.draft_id.desc())
    ).first()


def _changes(conn: Connection, draft_id: int, items: list[dict]) -> dict:
    before = {
        r.nip: r.counted_days
        for r in conn.execute(
            select(draft_items.c.nip, draft_items.c.counted_days).where(
                draft_items.c.draft_id == draft_id
            )
        )
    }
    after = {i["nip"]: i["counted_days"] for i in items}
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "days_changed": sorted(n for n in set(after) & set(before) if after[n] != before[n]),
    }


def save_draft(
    conn: Connection,
    period: Period,
    filters: DraftFilters,
    *,
    mode: str = OVERWRITE,
    title: str | None = None,
    note: str = "",
    actor: str = audit.SYSTEM_ACTOR,
) -> int | None:
    """Save the candidates matching ``filters`` as a pending draft; returns its id, or None when
    no candidate matches (nothing is written then).

    ``OVERWRITE`` ("Timpa Draft") replaces the undecided draft of the same kind, period, units
    and band: a pending one is rewritten in place; one already awaiting approval is marked
    superseded (its request can still be answered, but nothing of it is sent) and a new draft
    takes its place. ``NEW`` ("Simpan Baru") always adds a draft.
    """
    if mode not in (NEW, OVERWRITE):
        raise ValueError(f"mode must be {NEW!r} or {OVERWRITE!r}, not {mode!r}")
    title = (title or "").strip() or draft_title(period, filters, _unit_names(conn, filters.units))
    items = _matching_candidates(conn, period, filters)
    if not items:
        log.info("No %s candidates for %s match the filters; no draft saved", filters.kind, period)
        return None

    band_filter = filters.band or ""
    digest = content_hash(filters.kind, str(period), filters.opd_filter, band_filter, items)
    twin = _open_twin(conn, filters.kind, str(period), filters.opd_filter, band_filter)
    if mode == OVERWRITE and twin is not None and twin.status == PENDING:
        draft_id = twin.draft_id
        details = {"employees": len(items), **_changes(conn, draft_id, items)}
        conn.execute(
            update(drafts)
            .where(drafts.c.draft_id == draft_id)
            .values(title=title, note=note, content_hash=digest, updated_at=_utcnow())
        )
        conn.execute(delete(draft_items).where(draft_items.c.draft_id == draft_id))
        action = "draft_overwritten"
    else:
        draft_id = _insert_draft(conn, period, filters, title, note, digest, actor)
        details, action = {"employees": len(items)}, "draft_created"
        if mode == OVERWRITE and twin is not None:
            _supersede(conn, twin.draft_id, draft_id, actor)
            details["replaces"] = twin.draft_id

    conn.execute(insert(draft_items), [{**item, "draft_id": draft_id} for item in items])
    audit.record(
        conn,
        actor=actor,
        action=action,
        entity="draft",
        entity_id=draft_id,
        details={**details, "kind": filters.kind, "period": str(period), "content_hash": digest},
    )
    return draft_id


def load_draft(conn: Connection, draft_id: int) -> Draft:
    row = conn.execute(select(drafts).where(drafts.c.draft_id == draft_id)).mappings().first()
    if row is None:
        raise DraftError(f"Draft {draft_id} does not exist; list drafts with `dispenser drafts`.")
    items = [
        dict(r)
        for r in conn.execute(
            select(draft_items)
            .where(draft_items.c.draft_id == draft_id)
            .order_by(draft_items.c.nip)
        ).mappings()
    ]
    return Draft(
        draft_id=row["draft_id"],
        kind=row["kind"],
        title=row["title"],
        period=row["period"],
        opd_filter=row["opd_filter"],
        band_filter=row["band_filter"],
        note=row["note"],
        status=row["status"],
        content_hash=row["content_hash"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        items=items,
        requested_hash=row["requested_hash"],
        approval_hash=row["approval_hash"],
        decided_by=row["decided_by"],
        excluded_nips=row["excluded_nips"],
    )


def current_hash(draft: Draft) -> str:
    """The hash of what the draft holds now, recomputed from its items."""
    return content_hash(draft.kind, draft.period, draft.opd_filter, draft.band_filter, draft.items)


def _set_status(
    conn: Connection, draft_id: int, expected: tuple[str, ...], new: str, **values
) -> None:
    changed = conn.execute(
        update(drafts)
        .where(drafts.c.draft_id == draft_id, drafts.c.status.in_(expected))
        .values(status=new, updated_at=_utcnow(), **values)
    ).rowcount
    if not changed:
        status = conn.scalar(select(drafts.c.status).where(drafts.c.draft_id == draft_id))
        raise DraftError(
            f"Draft {draft_id} is {status or 'missing'}, not {' or '.join(expected)}: "
            f"it cannot become {new}."
        )


def request_approval(conn: Connection, draft_id: int, actor: str = audit.SYSTEM_ACTOR) -> Draft:
    """Move a pending draft to awaiting approval and record the content the approver sees."""
    draft = load_draft(conn, draft_id)
    if draft.status == AWAITING_APPROVAL:
        # Asked again (the approval step was retried): the approver answers anew.
        audit.record(
            conn,
            actor=actor,
            action="approval_requested_again",
            entity="draft",
            entity_id=draft_id,
            details={"content_hash": draft.content_hash, "employees": len(draft.items)},
        )
        return draft
    _set_status(conn, draft_id, (PENDING,), AWAITING_APPROVAL, requested_hash=draft.content_hash)
    audit.record(
        conn,
        actor=actor,
        action="approval_requested",
        entity="draft",
        entity_id=draft_id,
        details={"content_hash": draft.content_hash, "employees": len(draft.items)},
    )
    return load_draft(conn, draft_id)


def record_decision(
    conn: Connection,
    draft_id: int,
    *,
    approved: bool,
    actor: str,
    excluded_nips: list[str] | None = None,
    note: str = "",
    timed_out: bool = False,
) -> Draft:
    """Store the approver's answer; nothing is sent unless the draft ends up approved.

    - An approval for content that changed since the request is refused: the draft becomes
      rejected and the audit log says why.
    - An approval excluding a NIP the draft does not hold is refused the same way (the approver
      meant to spare someone; sending to the others could spare the wrong person).
    - An answer to a superseded draft is only written to the audit log.

    The caller tells a refused approval by an approval that returns a rejected draft.
    """
    draft = load_draft(conn, draft_id)
    excluded = sorted(set(excluded_nips or []))
    if draft.status == SUPERSEDED:
        _record_answer(conn, draft, actor, "answer_to_superseded_draft", excluded, note)
        return draft

    requested_hash = draft.requested_hash or ""
    unknown = sorted(set(excluded) - {item["nip"] for item in draft.items})
    stale = current_hash(draft) != requested_hash or draft.content_hash != requested_hash
    outcome = APPROVED if approved and not (stale or unknown) else REJECTED
    _set_status(
        conn,
        draft_id,
        (AWAITING_APPROVAL,),
        outcome,
        approval_hash=requested_hash,
        decided_by=actor,
        decided_at=_utcnow(),
        decision_note=note,
        excluded_nips=excluded,
    )
    if timed_out:
        action = "approval_timed_out"
    elif not approved:
        action = "draft_rejected"
    elif stale:
        action = "approval_refused_content_changed"
    elif unknown:
        action = "approval_refused_unknown_nips"
    else:
        action = "draft_approved"
    _record_answer(conn, draft, actor, action, excluded, note, unknown=unknown)
    return load_draft(conn, draft_id)


def close_request(conn: Connection, draft_id: int, actor: str) -> bool:
    """Close a draft whose approval step failed for good as rejected (nothing is sent); returns
    whether it was still awaiting approval."""
    draft = load_draft(conn, draft_id)
    if draft.status != AWAITING_APPROVAL:
        return False
    _set_status(conn, draft_id, (AWAITING_APPROVAL,), REJECTED, decided_by=actor)
    _record_answer(conn, draft, actor, "approval_step_failed", [], "")
    return True


def mark_sending(conn: Connection, draft_id: int) -> None:
    _set_status(conn, draft_id, (APPROVED, SENDING, PARTLY_FAILED), SENDING)


def mark_sent(conn: Connection, draft_id: int, failed: int) -> str:
    status = PARTLY_FAILED if failed else SENT
    _set_status(conn, draft_id, (SENDING,), status)
    return status


def list_drafts(conn: Connection, status: str | None = None) -> list[dict]:
    query = select(drafts).order_by(drafts.c.updated_at.desc(), drafts.c.draft_id.desc())
    if status:
        query = query.where(drafts.c.status == status)
    return [dict(r) for r in conn.execute(query).mappings()]


def _supersede(conn: Connection, draft_id: int, newer_id: int, actor: str) -> None:
    _set_status(conn, draft_id, (AWAITING_APPROVAL,), SUPERSEDED)
    audit.record(
        conn,
        actor=actor,
        action="draft_superseded",
        entity="draft",
        entity_id=draft_id,
        details={"replaced_by": newer_id},
    )


def _insert_draft(
    conn: Connection,
    period: Period,
    filters: DraftFilters,
    title: str,
    note: str,
    digest: str,
    actor: str,
) -> int:
    now = _utcnow()
    return conn.execute(
        insert(drafts).values(
            kind=filters.kind,
            title=title,
            period=str(period),
            opd_filter=filters.opd_filter,
            band_filter=filters.band or "",
            note=note,
            status=PENDING,
            content_hash=digest,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key[0]


def _record_answer(
    conn: Connection,
    draft: Draft,
    actor: str,
    action: str,
    excluded: list[str],
    note: str,
    **extra,
) -> None:
    audit.record(
        conn,
        actor=actor,
        action=action,
        entity="draft",
        entity_id=draft.draft_id,
        details={
            "content_hash": draft.requested_hash or "",
            "excluded": excluded,
            "note": note[:500],
            "employees": len(draft.items) - len(excluded),
            **{key: value for key, value in extra.items() if value},
        },
    )
