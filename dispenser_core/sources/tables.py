"""CSV files of the work units, the roster, the absence records, shifts, schedule assignments
and local calendar overrides.

A reader checks each row on its own and hands back the good rows and the rejected ones with
their reason (a value in a column the header does not name is ``extra_fields``); only a file
that cannot be read at all (wrong or repeated columns, not text, another kind of file, a quote
never closed) is refused whole. Checks that need the database (a unit or schedule that must
exist) are the loader's.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispenser_core.calendar import OVERRIDE_KINDS
from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.attlog import normalise_pin
from dispenser_core.sources.records import ReadResult, Rejection

NIP_PATTERN = re.compile(r"^\d{18}$")

# Absence codes of the leave system (and the product's own names) to absence kinds.
ABSENCE_KINDS = {
    "C": "leave",
    "S": "sick",
    "I": "permit",
    "DL": "official_duty",
    "TB": "study",
    "leave": "leave",
    "sick": "sick",
    "permit": "permit",
    "official_duty": "official_duty",
    "study": "study",
}

UNIT_COLUMNS = ("opd_code", "opd_name")
ROSTER_COLUMNS = ("nip", "name", "opd_code", "start_date")
ABSENCE_COLUMNS = ("nip", "kind", "start_date", "end_date")
SHIFT_COLUMNS = ("nip", "day", "start", "end")
ASSIGNMENT_COLUMNS = ("schedule", "effective_from")
CALENDAR_COLUMNS = ("day", "kind")
# A unit names its head in head_nip; a file with a person's own columns lists people, and
# loading it as units would replace every unit's head with nothing.
PERSON_COLUMNS = ("nip", "pin")
INDONESIAN_ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


class _RowProblem(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _read_csv(
    path: Path, required: tuple[str, ...], foreign: tuple[str, ...] = ()
) -> tuple[list[dict | _RowProblem], list[tuple[int, str]]]:
    """The rows of a CSV file (or why a row cannot be read), and the line number and raw text of
    each; a header without the ``required`` columns, with a ``foreign`` one or with a column
    named twice is refused."""
    try:
        text = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"Cannot read {path}: {err.strerror}.") from err
    if b"\x00" in text[:4096]:
        raise InputFileError(f"{path} holds binary data, not CSV text. Save it as CSV (UTF-8).")
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputFileError(f"{path} is not UTF-8 text: save it as CSV (UTF-8).") from err

    lines = decoded.splitlines()
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as err:
        raise InputFileError(unreadable_header(str(path), err)) from err
    _check_header(path, header, required, foreign)
    rows, sources = [], []
    while True:
        first_line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            refuse_unclosed_quote(str(path), first_line, reader.line_num, err)
            rows.append(_RowProblem("unreadable_line", unreadable_line(err)))
            sources.append((reader.line_num, lines[reader.line_num - 1][:200]))
            continue
        if not fields:
            continue  # a blank line
        extra = extra_fields(header, [bool(value.strip()) for value in fields])
        if extra:
            rows.append(_RowProblem("extra_fields", extra))
        else:
            rows.append(
                {
                    name: (fields[index].strip() if index < len(fields) else "")
                    for index, name in enumerate(header)
                    if name
                }
            )
        # A quoted value may run over several lines; the row is known by its last.
        sources.append((reader.line_num, lines[reader.line_num - 1]))
    return rows, sources


def extra_fields(header: list[str], filled: list[bool]) -> str | None:
    """What is wrong with a row that holds a value in a column its header does not name (past
    the last name, or under an empty one), or None; ``filled`` tells which fields hold one.

    Such a value is usually a comma inside a value that was not quoted, so the row's other
    values are not where the header says either; empty fields there hold nothing and pass."""
    unnamed = [
        index
        for index, full in enumerate(filled)
        if full and (index >= len(header) or not header[index])
    ]
    if not unnamed:
        return None
    fields = max(index for index, full in enumerate(filled) if full) + 1
    named = [name for name in header if name]
    return (
        f"{fields} fields, but the header names {len(named)} ({', '.join(named)}): quote a "
        "value that holds the separator, or name its column in the header"
    )


def unreadable_line(err: csv.Error) -> str:
    """The detail of a line the CSV reader gave up on."""
    return (
        f"the CSV reader cannot read this line ({err}); a value this long is usually a quote "
        '(") that is never closed: fix the line and load the file again'
    )


def unreadable_header(name: str, err: csv.Error) -> str:
    return (
        f"{name}: line 1 (the header) cannot be read as CSV ({err}). Nothing was loaded; export "
        "the file again with one line of column names first."
    )


def refuse_unclosed_quote(name: str, first_line: int, last_line: int, err: csv.Error) -> None:
    """Refuse the file when the value the reader gave up on started on an earlier line: a quote
    was opened there and never closed, and what follows is not the file's rows."""
    if last_line > first_line:
        raise InputFileError(
            f"{name}: the value that starts on line {first_line} runs on to line {last_line} "
            f'({err}): a quote (") opened on line {first_line} is never closed. Nothing was '
            "loaded; close the quote (or remove it) and load the file again."
        )


def _check_header(
    path: Path, header: list[str], required: tuple[str, ...], foreign: tuple[str, ...]
) -> None:
    # Another kind of file is named first: its missing columns would only mislead.
    found = [name for name in foreign if name in header]
    if found:
        kind = _seems_to_be(header)
        raise InputFileError(
            f"{path} has the column(s) {', '.join(found)}: it looks like a {kind} file, not the "
            f"kind given. Nothing was loaded; if it is a {kind} file, run "
            f"`dispenser import {kind} {path}`."
        )
    repeated = [name for index, name in enumerate(header) if name and header.index(name) < index]
    if repeated:
        names = ", ".join(dict.fromkeys(repeated))
        raise InputFileError(
            f"{path} names the column(s) {names} more than once; its header is {header}. "
            "Nothing was loaded: which of them holds the value cannot be told, so keep one "
            "column of each name (delete or rename the others) and load the file again."
        )
    missing = [name for name in required if name not in header]
    if missing:
        raise InputFileError(
            f"{path} lacks the column(s) {', '.join(missing)}; its header is {header or 'empty'}."
        )


def _seems_to_be(header: list[str]) -> str:
    """The kind of file whose required columns ``header`` has (a roster when none fits)."""
    kinds = (
        ("roster", ROSTER_COLUMNS),
        ("absences", ABSENCE_COLUMNS),
        ("shifts", SHIFT_COLUMNS),
        ("schedule-assignments", ASSIGNMENT_COLUMNS),
    )
    return next((kind for kind, columns in kinds if set(columns) <= set(header)), "roster")


def _date(row: dict, column: str, required: bool = True) -> dt.date | None:
    value = row.get(column, "")
    if not value:
        if required:
            raise _RowProblem("missing_value", f"{column} is empty")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as err:
        raise _RowProblem(
            "invalid_date", f"{column} {value!r} is not a date like 2025-11-03"
        ) from err


def _nip(row: dict, column: str = "nip", required: bool = True) -> str | None:
    value = row.get(column, "")
    if not value and not required:
        return None
    if not NIP_PATTERN.match(value):
        raise _RowProblem("invalid_nip", f"{column} {value!r} is not 18 digits")
    return value


def _read_rows(
    path: Path, required: tuple[str, ...], parse, foreign: tuple[str, ...] = ()
) -> ReadResult:
    rows, sources = _read_csv(path, required, foreign)
    return _parse_rows(rows, sources, parse)


def _parse_rows(
    rows: list[dict | _RowProblem], sources: list[tuple[int, str]], parse
) -> ReadResult:
    result = ReadResult(lines_read=len(rows))
    for row, (line_number, raw) in zip(rows, sources, strict=True):
        try:
            if isinstance(row, _RowProblem):
                raise row
            result.rows.append(parse(row))
            result.row_lines.append(line_number)
            result.row_raw.append(raw)
        except _RowProblem as problem:
            result.rejected.append(Rejection(line_number, raw, problem.reason, problem.detail))
    return result


def _unit(row: dict) -> dict:
    if not row["opd_code"]:
        raise _RowProblem("missing_value", "opd_code is empty")
    return {
        "opd_code": row["opd_code"],
        "name": row["opd_name"] or row["opd_code"],
        "head_nip": _nip(row, "head_nip", required=False),
        "timezone": _timezone(row),
        "schedule_code": row.get("schedule") or None,
    }


def _timezone(row: dict) -> str:
    # Checked here because every later punch of the unit is placed in this zone: a bad name
    # would make each attlog load fail instead of this one row.
    name = row.get("timezone") or "Asia/Jakarta"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise _RowProblem(
            "invalid_timezone",
            f"timezone {name!r} is not an IANA time zone; Indonesia's are "
            f"{', '.join(INDONESIAN_ZONES)} (blank: Asia/Jakarta)",
        ) from err
    return name


def _employee(row: dict) -> dict:
    start_date = _date(row, "start_date")
    end_date = _date(row, "end_date", required=False)
    if end_date and end_date < start_date:
        raise _RowProblem(
            "range_reversed", f"end_date {end_date} is before start_date {start_date}"
        )
    if not row["name"] or not row["opd_code"]:
        raise _RowProblem("missing_value", "name and opd_code are required")
    return {
        "nip": _nip(row),
        "pin": normalise_pin(row["pin"]) if row.get("pin") else None,
        "name": row["name"],
        "opd_code": row["opd_code"],
        "opd_name": row.get("opd_name") or row["opd_code"],
        "grade": row.get("grade") or None,
        "position": row.get("position") or None,
        "supervisor_nip": _nip(row, "supervisor_nip", required=False),
        "employment_type": row.get("employment_type") or "PNS",
        "schedule_code": row.get("schedule") or None,
        "start_date": start_date,
        "end_date": end_date,
    }


def _absence(row: dict) -> dict:
    kind = ABSENCE_KINDS.get(row["kind"]) or ABSENCE_KINDS.get(row["kind"].upper())
    if kind is None:
        raise _RowProblem("unknown_kind", f"kind {row['kind']!r} is not one of C, S, I, DL, TB")
    start_date, end_date = _date(row, "start_date"), _date(row, "end_date")
    if end_date < start_date:
        raise _RowProblem(
            "range_reversed", f"end_date {end_date} is before start_date {start_date}"
        )
    return {
        "nip": _nip(row),
        "kind": kind,
        "start_date": start_date,
        "end_date": end_date,
        "reference": row.get("reference") or None,
    }


def read_units(path: Path) -> ReadResult:
    """Work units: ``opd_code, opd_name`` and optionally ``head_nip, timezone, schedule``.

    ``timezone`` is an IANA name (blank: Asia/Jakarta); a row with another is rejected
    (``invalid_timezone``). A file with a ``nip`` or ``pin`` column lists people, not units, and
    is refused whole, naming the kind it seems to be. A code listed twice is the loader's to
    reject (``duplicate_in_file``; the last row is loaded)."""
    return _read_rows(path, UNIT_COLUMNS, _unit, foreign=PERSON_COLUMNS)


def read_roster(path: Path) -> ReadResult:
    """Employees: ``nip, name, opd_code, start_date`` and optionally ``pin, opd_name, grade,
    position, supervisor_nip, employment_type, schedule, end_date``.

    A row whose ``supervisor_nip`` is the employee's own NIP is loaded as written and not
    rejected: it is how a source says "no supervisor above this person in the roster", and
    notices then go to the unit head (see ``supervisors.supervisor_of``). The loader logs a
    warning with the count and lines of such rows, so the person loading sees them."""
    return _read_rows(path, ROSTER_COLUMNS, _employee)


def read_absences(path: Path) -> ReadResult:
    """Absence records with a reason: ``nip, kind, start_date, end_date`` and ``reference``."""
    return _read_rows(path, ABSENCE_COLUMNS, _absence)


PARSERS = {"units": _unit, "roster": _employee, "absences": _absence}


def parse_records(kind: str, records: list[dict]) -> ReadResult:
    """Rows that arrived some other way than a CSV file (an HTTP API), already named with our
    column names, checked exactly as the CSV rows of ``kind`` are; a record's number stands for
    its line."""
    rows = [
        {k: "" if v is None else str(v).strip() for k, v in record.items()} for record in records
    ]
    sources = [(number, str(record)[:500]) for number, record in enumerate(records, start=1)]
    return _parse_rows(rows, sources, PARSERS[kind])


def _clock(row: dict, column: str) -> dt.time:
    try:
        return dt.time.fromisoformat(row.get(column, ""))
    except ValueError as err:
        raise _RowProblem(
            "invalid_time", f"{column} {row.get(column)!r} is not a time like 07:30"
        ) from err


def _shift(row: dict) -> dict:
    return {
        "nip": _nip(row),
        "day": _date(row, "day"),
        "start_time": _clock(row, "start"),
        "end_time": _clock(row, "end"),
    }


def _assignment(row: dict) -> dict:
    nip = _nip(row, required=False)
    unit = row.get("opd_code") or None
    if bool(nip) == bool(unit):
        raise _RowProblem("missing_value", "give either nip or opd_code, not both or neither")
    first, last = _date(row, "effective_from"), _date(row, "effective_to", required=False)
    if last and last < first:
        raise _RowProblem("range_reversed", f"effective_to {last} is before effective_from {first}")
    return {
        "nip": nip,
        "opd_code": unit,
        "schedule_code": row["schedule"],
        "effective_from": first,
        "effective_to": last,
    }


def read_shifts(path: Path) -> ReadResult:
    """Shift rosters: ``nip, day, start, end`` (an end at or before the start is the next day)."""
    return _read_rows(path, SHIFT_COLUMNS, _shift)


def read_schedule_assignments(path: Path) -> ReadResult:
    """Dated schedules: ``schedule, effective_from`` with ``nip`` or ``opd_code``, and optionally
    ``effective_to``. Whether the schedule, unit and employee exist is the loader's to check."""
    return _read_rows(path, ASSIGNMENT_COLUMNS, _assignment)


def _override(row: dict) -> dict:
    if row["kind"] not in OVERRIDE_KINDS:
        raise _RowProblem(
            "unknown_kind", f"kind {row['kind']!r} is not one of {', '.join(OVERRIDE_KINDS)}"
        )
    return {
        "day": _date(row, "day"),
        "opd_code": row.get("opd_code", ""),
        "kind": row["kind"],
        "name": row.get("name") or row["kind"],
    }


def read_calendar_overrides(path: Path) -> ReadResult:
    """A local calendar: ``day, kind`` and optionally ``name, opd_code`` (blank: the decision
    holds for every unit). Kind is holiday, collective_leave or working. Whether the unit exists
    is the loader's to check."""
    return _read_rows(path, CALENDAR_COLUMNS, _override)
