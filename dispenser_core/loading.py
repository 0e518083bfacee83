"""Loading files into the database: once, idempotently, every rejected row kept with its reason.

A file is recognised by its SHA-256: loading the same export again changes nothing. Two
overlapping exports give one punch each, because a punch is unique by employee and time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, insert, select, update

from dispenser_core.calendar import LOCAL_SOURCE, apply_overrides
from dispenser_core.exceptions import InputFileError
from dispenser_core.punch_store import DEFAULT_PUNCH_SOURCE, store_punches
from dispenser_core.schedules import read_schedule_file, seed_schedules
from dispenser_core.sources.attlog import read_attlog
from dispenser_core.sources.office_exports import read_office_export
from dispenser_core.sources.records import ReadResult, Rejection
from dispenser_core.sources.tables import (
    read_absences,
    read_calendar_overrides,
    read_roster,
    read_schedule_assignments,
    read_shifts,
    read_units,
)
from dispenser_core.storage.schema import (
    absences,
    employees,
    import_batches,
    rejected_records,
    schedule_assignments,
    shifts,
    supervisor_history,
    work_schedules,
    work_units,
)
from dispenser_core.storage.upsert import insert_new, upsert

log = logging.getLogger(__name__)

SOURCE_KINDS = ("units", "roster", "absences", "attlog", "punch_export")
# Batches that hold punches: terminal files, office spreadsheets, pulls from an API.
# Batches that say how far a punch source has delivered; "source_sync" carries no punch, only
# an operator's word that a source has nothing more up to a time (see declare_synced).
PUNCH_KINDS = ("attlog", "punch_export", "api_punches", "source_sync")
_A_PUNCH = {
    "attlog": "an attlog punch",
    "punch_export": "a punch of an office export",
    "api_punches": "a punch of the attendance API",
}
# Files that change how days are judged; loaded like the sources so that a recap built before
# them is known to be out of date.
RULE_KINDS = ("calendar", "schedules", "shifts", "schedule_assignments")
# Punches rejected for what a corrected roster can change: loading the same file again after
# the roster is fixed tries these rows again.
RETRIED_REASONS = ("unknown_pin", "before_start_date", "after_end_date")


@dataclass(frozen=True)
class LoadSummary:
    """What one file did to the database."""

    source_kind: str
    file_name: str
    batch_id: int
    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    rows_rejected: int
    already_loaded: bool = False
    # Rows rejected at an earlier load of the same file and tried again now.
    tried_again: int = 0

    def describe(self) -> str:
        if self.already_loaded:
            return f"{self.file_name}: already loaded as batch {self.batch_id}, nothing changed"
        if self.tried_again:
            return (
                f"{self.file_name}: batch {self.batch_id} again, {self.tried_again} rows rejected "
                f"before tried again; now {self.rows_loaded} loaded, {self.rows_duplicate} "
                f"already present, {self.rows_rejected} rejected"
            )
        return (
            f"{self.file_name}: batch {self.batch_id}, {self.rows_read} rows read, "
            f"{self.rows_loaded} loaded, {self.rows_duplicate} already present, "
            f"{self.rows_rejected} rejected"
        )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _previous_batch(conn: Connection, source_kind: str, sha: str, name: str) -> LoadSummary | None:
    row = (
        conn.execute(
            select(import_batches).where(
                import_batches.c.source_kind == source_kind, import_batches.c.file_sha256 == sha
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return LoadSummary(
        source_kind,
        name,
        row["batch_id"],
        row["rows_read"],
        row["rows_loaded"],
        row["rows_duplicate"],
        row["rows_rejected"],
        already_loaded=True,
    )


def _open_batch(conn: Connection, source_kind: str, sha: str, name: str, rows_read: int) -> int:
    return conn.execute(
        insert(import_batches).values(
            source_kind=source_kind,
            file_name=name,
            file_sha256=sha,
            imported_at=_utcnow(),
            rows_read=rows_read,
        )
    ).inserted_primary_key[0]


def _close_batch(conn: Connection, batch_id: int, **counts) -> None:
    conn.execute(
        import_batches.update().where(import_batches.c.batch_id == batch_id).values(**counts)
    )


def _keep_rejections(conn: Connection, batch_id: int, rejected: list[Rejection]) -> None:
    if rejected:
        conn.execute(
            insert(rejected_records),
            [
                {
                    "batch_id": batch_id,
                    "line_number": r.line_number,
                    "raw": r.raw,
                    "reason": r.reason,
                    "detail": r.detail,
                }
                for r in rejected
            ],
        )


def _load(conn: Connection, source_kind: str, path: Path, read, store) -> LoadSummary:
    """A file: recognised by its content, read, then stored like any batch."""
    if not path.is_file():
        raise InputFileError(
            f"{path} is not a file{' (it is a folder)' if path.is_dir() else ''}; give the path "
            f"of the {source_kind} file."
        )
    sha = _sha256(path)
    previous = _previous_batch(conn, source_kind, sha, path.name)
    if previous is None:
        return _store_batch(conn, source_kind, path.name, sha, read(path), store)
    if source_kind in PUNCH_KINDS and _lines_to_try_again(conn, previous.batch_id):
        return _load_again(conn, previous, read(path), store)
    log.info("Skipping %s: batch %s already holds this file", path.name, previous.batch_id)
    return previous


def _store_units(conn: Connection, batch_id: int, result: ReadResult):
    keep, rejected = _duplicates_in_file(result, "opd_code")
    upsert(conn, work_units, [result.rows[index] for index in keep], ["opd_code"])
    return len(keep), rejected, {}


def _store_units_named_by_roster(conn: Connection, batch_id: int, result: ReadResult):
    """Units an API's roster names: new ones are added; a known unit keeps its head, zone and
    schedule, which only a units file sets."""
    return insert_new(conn, work_units, result.rows, ["opd_code"]), [], {}


def _duplicates_in_file(result: ReadResult, *keys: str) -> tuple[list[int], list[Rejection]]:
    """Positions of the rows to keep and rejections for the others: a file may list a key twice,
    and its last row wins, as a person reading it top-down expects."""
    last = {tuple(row[k] for k in keys): index for index, row in enumerate(result.rows)}
    keep, rejected = [], []
    for index, row in enumerate(result.rows):
        kept = last[tuple(row[k] for k in keys)]
        if kept == index:
            keep.append(index)
            continue
        named = " and ".join(f"{k} {row[k]}" for k in keys if row[k] not in (None, ""))
        rejected.append(
            _rejection(
                result,
                index,
                "duplicate_in_file",
                f"{named} appears again on line {result.row_lines[kept]}, which is the one loaded",
            )
        )
    return keep, rejected


def _rejection(result: ReadResult, index: int, reason: str, detail: str) -> Rejection:
    """A rejection, found by the loader, of the row at ``index`` of ``result``."""
    return Rejection(result.row_lines[index], result.row_raw[index], reason, detail)


def _known_units(conn: Connection) -> set[str]:
    return set(conn.scalars(select(work_units.c.opd_code)))


def _unknown_unit(code: str) -> str:
    return (
        f"opd_code {code} is not a known unit; import the units file first "
        "(dispenser import units FILE)"
    )


def _store_roster(
    conn: Connection, batch_id: int, result: ReadResult, *, as_of: dt.date | None = None
):
    keep, rejected = _duplicates_in_file(result, "nip")
    known_units = _known_units(conn)
    people, own_supervisor = [], []
    for index in keep:
        row = result.rows[index]
        if row["opd_code"] not in known_units:
            rejected.append(
                _rejection(result, index, "unknown_unit", _unknown_unit(row["opd_code"]))
            )
            continue
        people.append({k: v for k, v in row.items() if k != "opd_name"})
        if row["supervisor_nip"] == row["nip"]:
            own_supervisor.append(result.row_lines[index])
    people, pin_clashes = _one_employee_per_pin(conn, people, result)
    rejected += pin_clashes
    upsert(conn, employees, people, ["nip"])
    _record_supervisors(conn, people, as_of)
    _warn_own_supervisor(batch_id, own_supervisor)
    return len(people), rejected, {}


def _one_employee_per_pin(conn: Connection, people: list[dict], result: ReadResult):
    """The employees whose PIN no one else holds, and rejections for the others.

    A terminal PIN names one employee city-wide (punches are matched by it). In the file, the
    last row with a PIN keeps it, as for a NIP listed twice. Against the database, a PIN stays
    with an employee this file does not list, unless they left before the newcomer joined
    (terminals hand a leaver's PIN on). Employees the file lists give up their old PINs, so two
    people may swap PINs in one roster.
    """
    index_of = {row["nip"]: index for index, row in enumerate(result.rows)}
    last_with_pin = {person["pin"]: person["nip"] for person in people if person.get("pin")}
    others = conn.execute(
        select(employees.c.pin, employees.c.nip, employees.c.end_date).where(
            employees.c.pin.in_(list(last_with_pin)),
            employees.c.nip.not_in([person["nip"] for person in people]),
        )
    ).all()
    held = {pin: (nip, left) for pin, nip, left in others}

    kept, rejected, handed_on = [], [], []
    for person in people:
        pin, nip = person.get("pin"), person["nip"]
        holder, left = held.get(pin, (None, None))
        if holder and left is not None and left < person["start_date"]:
            handed_on.append(holder)
            holder = None
        holder = holder or (last_with_pin.get(pin) if pin else nip)
        if holder != nip:
            detail = (
                f"PIN {pin} is NIP {holder}'s; a terminal PIN names one employee. Give one of "
                "them another PIN (where units' terminals reuse PINs, number them city-wide)."
            )
            rejected.append(_rejection(result, index_of[nip], "duplicate_pin", detail))
            continue
        kept.append(person)
    released = handed_on + [person["nip"] for person in kept]
    conn.execute(update(employees).where(employees.c.nip.in_(released)).values(pin=None))
    return kept, rejected


def _warn_own_supervisor(batch_id: int, lines: list[int], shown: int = 10) -> None:
    # Loaded, not rejected (see read_roster), but said aloud: it may also be a typing mistake.
    if lines:
        log.warning(
            "Roster batch %s: %s row(s) name the employee as their own supervisor (line %s); "
            "their notices go to the unit head. Correct supervisor_nip in the roster if that "
            "is not meant.",
            batch_id,
            len(lines),
            ", ".join(map(str, lines[:shown])) + (", ..." if len(lines) > shown else ""),
        )


def _record_supervisors(conn: Connection, people: list[dict], as_of: dt.date | None) -> None:
    """Open a supervisor period for each employee whose supervisor is new or changed.

    The first supervisor known for someone holds from the day they joined; a change holds from
    ``as_of`` (the date the roster describes, by default the day it is loaded).
    """
    as_of = as_of or _today_local()
    open_now = dict(
        conn.execute(
            select(supervisor_history.c.nip, supervisor_history.c.supervisor_nip).where(
                supervisor_history.c.effective_to.is_(None)
            )
        ).all()
    )
    known = set(conn.scalars(select(supervisor_history.c.nip).distinct()))
    for person in people:
        nip, supervisor = person["nip"], person["supervisor_nip"]
        if nip in open_now and open_now[nip] == supervisor:
            continue
        if nip in known:
            conn.execute(
                update(supervisor_history)
                .where(supervisor_history.c.nip == nip, supervisor_history.c.effective_to.is_(None))
                .values(effective_to=as_of - dt.timedelta(days=1))
            )
            start = as_of
        else:
            start = person["start_date"]
        upsert(
            conn,
            supervisor_history,
            [
                {
                    "nip": nip,
                    "effective_from": start,
                    "effective_to": None,
                    "supervisor_nip": supervisor,
                }
            ],
            ["nip", "effective_from"],
        )


def _today_local() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Jakarta")).date()


def _rows_of_batch(conn: Connection, table, batch_id: int) -> int:
    # Counted, not taken from rowcount: drivers disagree on rowcount for skipped conflicts.
    return conn.scalar(select(func.count()).select_from(table).where(table.c.batch_id == batch_id))


def _known_nips(conn: Connection) -> set[str]:
    return set(conn.scalars(select(employees.c.nip)))


def _store_absences(conn: Connection, batch_id: int, result: ReadResult):
    known = _known_nips(conn)
    good, rejected = [], []
    for line, raw, row in zip(result.row_lines, result.row_raw, result.rows, strict=True):
        if row["nip"] in known:
            good.append({**row, "batch_id": batch_id})
        else:
            rejected.append(
                Rejection(
                    line,
                    raw,
                    "unknown_employee",
                    "NIP not in the roster; import the roster first",
                )
            )
    insert_new(conn, absences, good, ["nip", "kind", "start_date", "end_date"])
    return _rows_of_batch(conn, absences, batch_id), rejected, {}


def _store_calendar(conn: Connection, batch_id: int, result: ReadResult):
    # Two rows for one day and unit would break the day's replacement; the last one wins.
    keep, rejected = _duplicates_in_file(result, "day", "opd_code")
    known_units = _known_units(conn)
    overrides = []
    for index in keep:
        row = result.rows[index]
        if row["opd_code"] and row["opd_code"] not in known_units:
            rejected.append(
                _rejection(result, index, "unknown_unit", _unknown_unit(row["opd_code"]))
            )
            continue
        overrides.append(
            {
                "day": row["day"],
                "scope": row["opd_code"],
                "kind": row["kind"],
                "name": row["name"],
                "source": LOCAL_SOURCE,
            }
        )
    return apply_overrides(conn, overrides), rejected, {}


def _store_schedules(conn: Connection, batch_id: int, result: ReadResult):
    # Each entry of result.rows is one schedule: the rows of its weekdays and special periods.
    seed_schedules(conn, [row for schedule in result.rows for row in schedule])
    return len(result.rows), [], {}


def _store_shifts(conn: Connection, batch_id: int, result: ReadResult):
    upsert(conn, shifts, _last_per_key_pair(result.rows, ("nip", "day")), ["nip", "day"])
    return len(result.rows), [], {}


def _store_assignments(conn: Connection, batch_id: int, result: ReadResult):
    keys = ("nip", "opd_code", "effective_from")
    keep, rejected = _duplicates_in_file(result, *keys)
    known = _AssignmentTargets.of(conn)
    rows = []
    for index in keep:
        problem = known.problem_of(result.rows[index])
        if problem:
            rejected.append(_rejection(result, index, *problem))
        else:
            rows.append(result.rows[index])
    _replace_assignments(conn, rows, keys)
    return len(rows), rejected, {}


@dataclass(frozen=True)
class _AssignmentTargets:
    """What an assignment may name: stored schedules, units and employees."""

    schedules: set[str]
    units: set[str]
    nips: set[str]

    @classmethod
    def of(cls, conn: Connection) -> _AssignmentTargets:
        schedules = set(conn.scalars(select(work_schedules.c.schedule_code).distinct()))
        return cls(schedules, _known_units(conn), _known_nips(conn))

    def problem_of(self, row: dict) -> tuple[str, str] | None:
        """The reason and detail to reject ``row`` with, or None when all it names exists."""
        if row["schedule_code"] not in self.schedules:
            return "unknown_schedule", (
                f"schedule {row['schedule_code']} is not a known schedule (known: "
                f"{', '.join(sorted(self.schedules))}); import the file that defines it first "
                "(dispenser import schedules FILE)"
            )
        if row["opd_code"] and row["opd_code"] not in self.units:
            return "unknown_unit", _unknown_unit(row["opd_code"])
        if row["nip"] and row["nip"] not in self.nips:
            return "unknown_employee", "NIP not in the roster; import the roster first"
        return None


def _replace_assignments(conn: Connection, rows: list[dict], keys: tuple[str, ...]) -> None:
    for row in rows:
        # NULLs never conflict in a unique index, so replace by hand.
        conn.execute(
            delete(schedule_assignments).where(
                *[
                    schedule_assignments.c[k].is_(None)
                    if row[k] is None
                    else schedule_assignments.c[k] == row[k]
                    for k in keys
                ]
            )
        )
    if rows:
        conn.execute(insert(schedule_assignments), rows)


def _last_per_key_pair(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return list({tuple(row[k] for k in keys): row for row in rows}.values())


_READERS = {
    "units": (read_units, _store_units),
    "roster": (read_roster, _store_roster),
    "absences": (read_absences, _store_absences),
    "attlog": (read_attlog, store_punches),
    "punch_export": (read_office_export, store_punches),
    "calendar": (read_calendar_overrides, _store_calendar),
    "schedules": (read_schedule_file, _store_schedules),
    "shifts": (read_shifts, _store_shifts),
    "schedule_assignments": (read_schedule_assignments, _store_assignments),
}


def load_file(
    conn: Connection,
    source_kind: str,
    path: Path,
    *,
    source: str | None = None,
    synced_until: dt.datetime | None = None,
    as_of: dt.date | None = None,
) -> LoadSummary:
    """Load one file of ``source_kind`` (units, roster, absences, attlog or punch_export).

    For punches, ``source`` names where they come from (one name per terminal or API; by
    default every file is the one source ``attlog``) and ``synced_until`` the local time up to
    which that source has delivered everything (by default the end of the file's last day).
    """
    if source_kind not in _READERS:
        raise ValueError(
            f"source_kind must be one of {(*SOURCE_KINDS, *RULE_KINDS)}, not {source_kind!r}"
        )
    read, store = _READERS[source_kind]
    if source_kind in PUNCH_KINDS:
        store = partial(store, source=source or DEFAULT_PUNCH_SOURCE, synced_until=synced_until)
    if source_kind == "roster":
        store = partial(store, as_of=as_of)
    return _load(conn, source_kind, Path(path), read, store)


def classify_inbox_file(path: Path) -> str | None:
    """Which source a file in the inbox is, from its name: ``*.dat`` terminal logs,
    ``*units*.csv``, ``*roster*.csv``, ``*absences*.csv``, and any other ``.csv`` or ``.xlsx``
    with ``presensi`` or ``punch`` in its name as an office's punch export."""
    name = path.name.lower()
    if name.endswith(".dat"):
        return "attlog"
    if not name.endswith((".csv", ".xlsx")):
        return None
    if name.endswith(".csv"):
        for kind in ("units", "roster", "absences"):
            if kind in name:
                return kind
    if "presensi" in name or "punch" in name:
        return "punch_export"
    return None


def load_inbox(conn: Connection, inbox: Path) -> list[LoadSummary]:
    """Load every recognised file of ``inbox`` in dependency order: units, roster, absences,
    punches."""
    files = sorted(p for p in Path(inbox).iterdir() if p.is_file())
    by_kind = {kind: [p for p in files if classify_inbox_file(p) == kind] for kind in SOURCE_KINDS}
    return [load_file(conn, kind, path) for kind in SOURCE_KINDS for path in by_kind[kind]]


def load_pulled(
    conn: Connection,
    kind: str,
    name: str,
    result: ReadResult,
    content: str,
    *,
    source: str = "api",
    synced_until: dt.datetime | None = None,
) -> LoadSummary:
    """Records pulled from an API (``kind`` punches, roster or absences), stored like a file's;
    a pull that brings exactly what an earlier one brought changes nothing."""
    source_kind = f"api_{kind}"
    sha = hashlib.sha256(content.encode("utf-8")).hexdigest()
    previous = _previous_batch(conn, source_kind, sha, name)
    if previous is not None:
        return previous
    store = {
        "punches": partial(store_punches, source=source, synced_until=synced_until),
        "units": _store_units_named_by_roster,
        "roster": _store_roster,
        "absences": _store_absences,
    }[kind]
    return _store_batch(conn, source_kind, name, sha, result, store)


def declare_synced(conn: Connection, source: str, synced_until: dt.datetime) -> LoadSummary:
    """Record that ``source`` has delivered everything up to ``synced_until`` (local time)
    without a new file: a terminal that was retired, or a feed with nothing new. Its units'
    days up to then are judged (present, absent, or data problem) instead of pending."""
    known = conn.scalar(
        select(func.max(import_batches.c.synced_until)).where(
            import_batches.c.source == source, import_batches.c.source_kind.in_(PUNCH_KINDS)
        )
    )
    if known is None:
        raise InputFileError(
            f"No punches were ever loaded from source {source!r}; name a source of an earlier "
            "import (dispenser import attlog --source NAME FILE)."
        )
    if synced_until <= known:
        raise InputFileError(
            f"Source {source!r} is already synced until {known}; a watermark only moves forward."
        )
    name = f"{source}: synced until {synced_until.isoformat(sep=' ')}"
    batch_id = _open_batch(conn, "source_sync", hashlib.sha256(name.encode()).hexdigest(), name, 0)
    _close_batch(conn, batch_id, source=source, synced_until=synced_until, rows_loaded=0)
    summary = LoadSummary("source_sync", name, batch_id, 0, 0, 0, 0)
    log.info("Source %s declared synced until %s (batch %d)", source, synced_until, batch_id)
    return summary


def _store_batch(
    conn: Connection, source_kind: str, name: str, sha: str, result: ReadResult, store
) -> LoadSummary:
    """The shared shape of every load: open a batch, store, keep the rejections, count."""
    if result.lines_read and not result.rows and source_kind in PUNCH_KINDS:
        first = result.rejected[0]
        raise InputFileError(
            f"None of the {result.lines_read} lines of {name} is {_A_PUNCH[source_kind]} (line "
            f"{first.line_number}: {first.reason}, {first.detail}). Is it the right file? "
            "Nothing was loaded."
        )
    batch_id = _open_batch(conn, source_kind, sha, name, result.lines_read)
    loaded, rejected, extra = store(conn, batch_id, result)
    rejected = result.rejected + rejected
    _keep_rejections(conn, batch_id, rejected)

    # A duplicate is kept aside like a rejection, with what it repeats, but counted apart.
    rejected_count = len(rejected) - sum(r.reason == "duplicate" for r in rejected)
    if source_kind in PUNCH_KINDS:  # a row of a per-day export holds two punches
        duplicates = len(rejected) - rejected_count
    else:
        duplicates = result.lines_read - loaded - rejected_count
    _close_batch(
        conn,
        batch_id,
        rows_loaded=loaded,
        rows_duplicate=duplicates,
        rows_rejected=rejected_count,
        **extra,
    )
    summary = LoadSummary(
        source_kind, name, batch_id, result.lines_read, loaded, duplicates, rejected_count
    )
    log.info("Loaded %s", summary.describe())
    return summary


def _lines_to_try_again(conn: Connection, batch_id: int) -> set[int]:
    return set(
        conn.scalars(
            select(rejected_records.c.line_number).where(
                rejected_records.c.batch_id == batch_id,
                rejected_records.c.reason.in_(RETRIED_REASONS),
            )
        )
    )


def _load_again(conn: Connection, previous: LoadSummary, result: ReadResult, store):
    """A file loaded before, given again after the roster changed: the punches it rejected for
    an unknown PIN or outside the employee's service are tried again, in the same batch. When
    none of them loads, nothing changes (and recaps stay current)."""
    batch_id = previous.batch_id
    lines = _lines_to_try_again(conn, batch_id)
    retried = ReadResult(
        rows=[p for p in result.rows if p.line_number in lines],
        lines_read=len(lines),
    )
    loaded, rejected, _ = store(conn, batch_id, retried)
    if not loaded:
        log.info("Skipping %s: its rejected rows are still rejected", previous.file_name)
        return previous
    conn.execute(
        delete(rejected_records).where(
            rejected_records.c.batch_id == batch_id,
            rejected_records.c.reason.in_(RETRIED_REASONS),
        )
    )
    _keep_rejections(conn, batch_id, rejected)
    still_rejected = sum(r.reason != "duplicate" for r in rejected)
    duplicates = len(rejected) - still_rejected
    summary = LoadSummary(
        previous.source_kind,
        previous.file_name,
        batch_id,
        previous.rows_read,
        previous.rows_loaded + loaded,
        previous.rows_duplicate + duplicates,
        previous.rows_rejected - len(lines) + still_rejected,
        tried_again=len(lines),
    )
    # Recaps older than this load are out of date again.
    _close_batch(
        conn,
        batch_id,
        imported_at=_utcnow(),
        rows_loaded=summary.rows_loaded,
        rows_duplicate=summary.rows_duplicate,
        rows_rejected=summary.rows_rejected,
    )
    log.info("Loaded again %s", summary.describe())
    return summary
