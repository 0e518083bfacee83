"""Attendance exports that offices keep in spreadsheets when a terminal is offline: CSV or Excel
(``.xlsx``), in either of the two layouts seen in practice.

- one row per punch: a NIP (or the terminal's PIN), a date and a time (or one date-and-time);
- one row per employee and day: a NIP, a date, a check-in time and a check-out time.

Dates are written ``dd/mm/yyyy`` (or ISO); the column headers are matched in Indonesian or
English, in any case. Every row that cannot be read is rejected with its reason, not lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.attlog import EARLIEST_PLAUSIBLE, normalise_pin
from dispenser_core.sources.records import RawPunch, ReadResult, Rejection

ALIASES = {
    "nip": ("nip",),
    "pin": ("pin", "id", "no. id", "user id", "badge"),
    "date": ("tanggal", "tgl", "date"),
    "time": ("jam", "waktu", "time"),
    "moment": ("tanggal jam", "waktu presensi", "datetime", "timestamp"),
    "check_in": ("jam masuk", "masuk", "check in", "check_in", "datang"),
    "check_out": ("jam pulang", "pulang", "check out", "check_out"),
}
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H.%M")


def _rows_of(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        return _sheet_rows(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputFileError(f"{path.name} is not UTF-8 text: save it as CSV (UTF-8).") from err
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # one column, or too few rows to tell: read as plain CSV
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _cell(value) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if isinstance(value, dt.datetime):
        if value.year < 1901:  # a time typed into a cell Excel formats as a date-time
            return value.strftime("%H:%M:%S")
        if value.time() == dt.time():  # a date cell
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a PIN typed as a number
    return str(value).strip()


def _columns(header: list[str]) -> dict[str, int]:
    named = {name.strip().lower(): index for index, name in enumerate(header)}
    return {
        ours: named[alias]
        for ours, aliases in ALIASES.items()
        for alias in aliases
        if alias in named
    }


def _parse(text: str, formats: tuple[str, ...]):
    for pattern in formats:
        try:
            return dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


def _moment(date_text: str, time_text: str) -> dt.datetime | None:
    if " " in date_text.strip() and not time_text:
        date_part, time_part = date_text.strip().split(" ", 1)
        return _moment(date_part, time_part)
    day = _parse(date_text, DATE_FORMATS)
    clock = _parse(time_text, TIME_FORMATS)
    if day is None or clock is None:
        return None
    return dt.datetime.combine(day.date(), clock.time())


def read_office_export(path: Path) -> ReadResult:
    """Punches of a CSV or Excel export in either layout (see the module's description)."""
    rows = _rows_of(path)
    if not rows or not any(cell for cell in rows[0]):
        raise InputFileError(f"{path.name} is empty: export it again with its header row.")
    columns = _columns(rows[0])
    who = "nip" if "nip" in columns else "pin" if "pin" in columns else None
    per_day = "check_in" in columns or "check_out" in columns
    has_time = "date" in columns if per_day else ("moment" in columns or "date" in columns)
    if who is None or not has_time:
        raise InputFileError(
            f"{path.name} lacks a NIP (or PIN) column and a date with a time; its header is "
            f"{rows[0]}. Name them e.g. NIP, Tanggal, Jam (or Jam Masuk, Jam Pulang)."
        )

    result = ReadResult()
    for line_number, row in enumerate(rows[1:], start=2):
        if any(cell.strip() for cell in row):
            result.lines_read += 1
            _read_row(result, line_number, row, columns, who, per_day)
    return result


def _read_row(result: ReadResult, line_number: int, row: list[str], columns, who, per_day):
    raw = ",".join(row)
    value = {name: (row[index] if index < len(row) else "") for name, index in columns.items()}
    person = value[who].strip()
    if not (person.isascii() and person.isdigit()):
        detail = f"{who.upper()} {person!r}: digits expected (in Excel, format the column as text)"
        result.rejected.append(Rejection(line_number, raw, "invalid_pin", detail))
        return
    if per_day:
        times = [value.get("check_in", ""), value.get("check_out", "")]
        moments = [_moment(value["date"], t) for t in times if t.strip()]
    else:
        moments = [_moment(value.get("moment") or value.get("date", ""), value.get("time", ""))]
    if not moments or None in moments:
        result.rejected.append(
            Rejection(line_number, raw, "invalid_date", "date dd/mm/yyyy and time HH:MM expected")
        )
        return
    if min(moments) < EARLIEST_PLAUSIBLE:
        result.rejected.append(
            Rejection(line_number, raw, "implausible_date", f"time {min(moments)}")
        )
        return
    nip = person if who == "nip" else None
    pin = normalise_pin(person) if who == "pin" else ""
    for moment in moments:
        result.rows.append(RawPunch(line_number, pin, moment, None, None, raw=raw, nip=nip))


def _sheet_rows(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InputFileError(f"{path.name} is not a readable Excel workbook ({err}).") from err
    try:
        return [
            ["" if value is None else _cell(value) for value in row]
            for row in workbook.active.iter_rows(values_only=True)
        ]
    finally:
        workbook.close()
