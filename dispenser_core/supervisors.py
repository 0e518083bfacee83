"""Who supervised whom, and when: a notice goes to the supervisor of the violation period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, or_, select

from dispenser_core.storage.schema import employees, supervisor_history


def people_on(conn: Connection, day: dt.date) -> dict[str, dict]:
    """Every employee as a dict, with ``supervisor_nip`` as it was recorded for ``day``
    (the roster's current value when the history does not reach that day)."""
    people = {row["nip"]: dict(row) for row in conn.execute(select(employees)).mappings()}
    recorded = conn.execute(
        select(supervisor_history.c.nip, supervisor_history.c.supervisor_nip).where(
            supervisor_history.c.effective_from <= day,
            or_(
                supervisor_history.c.effective_to.is_(None),
                supervisor_history.c.effective_to >= day,
            ),
        )
    )
    for nip, supervisor in recorded:
        if nip in people:
            people[nip]["supervisor_nip"] = supervisor
    return people


def supervisor_of(person: dict, people: dict[str, dict], unit_heads: dict[str, str]) -> str | None:
    """The direct supervisor; the unit head when there is none, when it is the person
    themself, or when it names nobody in the roster."""
    supervisor = person["supervisor_nip"]
    if supervisor and supervisor != person["nip"] and supervisor in people:
        return supervisor
    head = unit_heads.get(person["opd_code"])
    if head and head != person["nip"]:
        return head
    return None
