"""Attendance exports that offices keep in spreadsheets when a terminal is offline: CSV or Excel
(``.xlsx``), in either of the two layouts seen in practice.

- one row per punch: a NIP (or the terminal's PIN), a date and a time (or one date-and-time);
- one row per employee and day: a NIP, a date, a check-in time and a check-out time.

Dates are written ``dd/mm/yyyy`` (or ISO); the column headers are matched in Indonesian or
English, in any case. A workbook's date, time and date-time cells, and Excel's serial numbers
(days since 1899-12-30, a time as the fraction of a day), are read by the column they are in.
Every row that cannot be read is rejected with its reason, not lost; a file with two columns
for one value, or with a header and no rows, is refused whole.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.attlog import EARLIEST_PLAUSIBLE, normalise_pin
from dispenser_core.sources.records import RawPunch, ReadResult, Rejection
from dispenser_core.sources.tables import (
    extra_fields,
    refuse_unclosed_quote,
    unreadable_header,
    unreadable_line,
)

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
# Excel keeps a date as the days since this day, and a time as the fraction of a day.
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# 9999-12-31, the last day a date can hold.
LAST_SERIAL = 2_958_465
SECONDS_PER_DAY = 86_400


def _rows_of(path: Path) -> list[tuple[int, list | Rejection]]:
    """Each row with its line: its cells (text from a CSV, Excel's own values from a workbook,
    an empty cell as ""), or its rejection when the CSV reader cannot read it."""
    if path.suffix.lower() == ".xlsx":
        return list(enumerate(_sheet_rows(path), start=1))
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputFileError(f"{path.name} is not UTF-8 text: save it as CSV (UTF-8).") from err
    dialect = _dialect(text)
    # Split here, not by the reader, so that a line ending in CR alone is a line too.
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, dialect)
    rows: list[tuple[int, list | Rejection]] = []
    while True:
        first_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as err:
            if reader.line_num == 1:
                raise InputFileError(unreadable_header(path.name, err)) from err
            refuse_unclosed_quote(path.name, first_line, reader.line_num, err)
            raw = lines[reader.line_num - 1].rstrip("\r\n")[:200]
            rows.append(
                (
                    reader.line_num,
                    Rejection(reader.line_num, raw, "unreadable_line", unreadable_line(err)),
                )
            )
            continue
        rows.append((reader.line_num, [cell.strip() for cell in cells]))


def _dialect(text: str) -> type[csv.Dialect]:
    # The sniffer wants every sampled row to have as many separators; a row with a value too
    # many (rejected later, as extra_fields) must not make the whole file one column, so the
    # header line alone decides when the sample cannot.
    for sample in (text[:4096], text[:4096].partition("\n")[0]):
        try:
            return csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            continue
    return csv.excel  # one column: read as plain CSV


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


def _blank(value) -> bool:
    return isinstance(value, str) and not value.strip()


def _columns(name: str, header: list[str]) -> dict[str, int]:
    """Where each of our columns is; a file with two columns for one of them is refused, as
    which one holds the value cannot be told."""
    found: dict[str, list[int]] = {}
    for index, title in enumerate(header):
        for ours, aliases in ALIASES.items():
            if title.strip().lower() in aliases:
                found.setdefault(ours, []).append(index)
    repeated = [indexes for indexes in found.values() if len(indexes) > 1]
    if repeated:
        named = "; ".join(_repeated(header, indexes) for indexes in repeated)
        raise InputFileError(
            f"{name} has more than one column for {named}; its header is {header}. Nothing was "
            "loaded: keep one of them (delete or rename the others) and load it again."
        )
    return {ours: indexes[0] for ours, indexes in found.items()}


def _repeated(header: list[str], indexes: list[int]) -> str:
    titles = list(dict.fromkeys(repr(header[index]) for index in indexes))
    positions = _and([str(index + 1) for index in indexes])
    return f"{_and(titles)} (columns {positions})"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _parse(text: str, formats: tuple[str, ...]):
    for pattern in formats:
        try:
            return dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


def _serial(value) -> float | None:
    """An Excel number that can be a date or a time (text never is: it was typed, not kept)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < LAST_SERIAL + 1 else None


def _day(value) -> dt.date | None:
    """The date of a date column's value: text, a date (or its date-time's date), or an Excel
    serial number of days."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    serial = _serial(value)
    if serial is not None:
        return (EXCEL_EPOCH + dt.timedelta(days=int(serial))).date()
    parsed = _parse(value, DATE_FORMATS) if isinstance(value, str) else None
    return parsed.date() if parsed else None


def _clock(value) -> dt.time | None:
    """The time of a time column's value: text, a time (or a date-time's time), or an Excel
    serial number's fraction of a day."""
    if isinstance(value, dt.datetime):
        # Midnight of a real date is a date typed into the time column, not a punch at 00:00.
        if value.time() == dt.time() and value.year > 1900:
            return None
        return value.time().replace(microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(microsecond=0)
    serial = _serial(value)
    if serial is not None:
        if serial >= 1 and serial.is_integer():
            return None  # a number of days, with no time in it
        seconds = min(round(serial % 1 * SECONDS_PER_DAY), SECONDS_PER_DAY - 1)
        return (dt.datetime.min + dt.timedelta(seconds=seconds)).time()
    parsed = _parse(value, TIME_FORMATS) if isinstance(value, str) else None
    return parsed.time() if parsed else None


def _moment(date_value, time_value) -> dt.datetime | None:
    if _blank(time_value):
        return _date_and_time(date_value)
    day, clock = _day(date_value), _clock(time_value)
    if day is None or clock is None:
        return None
    return dt.datetime.combine(day, clock)


def _date_and_time(value) -> dt.datetime | None:
    """One value holding both a date and a time; a date alone or a time alone is not a punch."""
    if isinstance(value, dt.datetime):
        if value.year < 1901 or value.time() == dt.time():
            return None
        return value.replace(microsecond=0)
    serial = _serial(value)
    if serial is not None:
        if serial < 1 or serial.is_integer():
            return None
        return dt.datetime.combine(_day(serial), _clock(serial))
    if isinstance(value, str) and " " in value.strip():
        date_part, time_part = value.strip().split(" ", 1)
        return _moment(date_part, time_part)
    return None


def read_office_export(path: Path) -> ReadResult:
    """Punches of a CSV or Excel export in either layout (see the module's description)."""
    rows = _rows_of(path)
    header = [_cell(cell) for cell in rows[0][1]] if rows else []
    if not any(header):
        raise InputFileError(f"{path.name} is empty: export it again with its header row.")
    columns = _columns(path.name, header)
    who = "nip" if "nip" in columns else "pin" if "pin" in columns else None
    per_day = "check_in" in columns or "check_out" in columns
    has_time = "date" in columns if per_day else ("moment" in columns or "date" in columns)
    if who is None or not has_time:
        raise InputFileError(
            f"{path.name} lacks a NIP (or PIN) column and a date with a time; its header is "
            f"{header}. Name them e.g. NIP, Tanggal, Jam (or Jam Masuk, Jam Pulang)."
        )

    result = ReadResult()
    for line_number, row in rows[1:]:
        if isinstance(row, Rejection):
            result.lines_read += 1
            result.rejected.append(row)
        elif not all(_blank(cell) for cell in row):
            result.lines_read += 1
            _read_row(result, line_number, row, header, columns, who, per_day)
    if not result.lines_read:
        # As an empty attlog is: a batch of nothing would say the office sent its punches.
        raise InputFileError(
            f"{path.name} has a header but no rows. Nothing was loaded; export it again with "
            "the punches of the days it should hold, or check that it is the right file."
        )
    return result


def _read_row(
    result: ReadResult, line_number: int, row: list, header: list[str], columns, who, per_day
):
    raw = ",".join(_cell(cell) for cell in row)
    extra = extra_fields(header, [not _blank(cell) for cell in row])
    if extra:
        result.rejected.append(Rejection(line_number, raw, "extra_fields", extra))
        return
    value = {name: (row[index] if index < len(row) else "") for name, index in columns.items()}
    person = _cell(value[who])
    if not (person.isascii() and person.isdigit()):
        detail = f"{who.upper()} {person!r}: digits expected (in Excel, format the column as text)"
        result.rejected.append(Rejection(line_number, raw, "invalid_pin", detail))
        return
    if per_day:
        times = [value.get("check_in", ""), value.get("check_out", "")]
        moments = [_moment(value["date"], t) for t in times if not _blank(t)]
    else:
        when = value.get("moment", "")
        moments = [_moment(value.get("date", "") if _blank(when) else when, value.get("time", ""))]
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


def _sheet_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InputFileError(f"{path.name} is not a readable Excel workbook ({err}).") from err
    try:
        return [
            ["" if value is None else value for value in row]
            for row in workbook.active.iter_rows(values_only=True)
        ]
    finally:
        workbook.close()
