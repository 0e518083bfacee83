"""The recap as files people open in a spreadsheet: .xlsx with a summary and a per-day sheet,
and CSV with the same headers.

Workbooks are written in openpyxl's write-only mode, streamed from the database row by row, so
memory stays bounded however many rows match. Time grows with the cells, at openpyxl's pace
(about 50,000 cells a second on two cores): a unit's month takes a second or two, a whole city's
month with its days over a minute.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Connection

from dispenser_core import dashboard
from dispenser_core.dashboard import RecapFilter

log = logging.getLogger(__name__)

RECAP_HEADERS = {
    "periode": "Periode",
    "pegawai": "Pegawai",
    "nip": "NIP",
    "kode_opd": "Kode OPD",
    "opd": "OPD",
    "golongan": "Golongan",
    "hari_kerja": "Hari Kerja",
    "hadir": "Hadir",
    "tidak_hadir": "Tidak Hadir",
    "tanpa_keterangan": "Tanpa Keterangan",
    "cuti": "Cuti",
    "sakit": "Sakit",
    "izin": "Izin",
    "dinas_luar": "Dinas Luar",
    "tidak_absen_masuk": "Tidak Absen Masuk",
    "tidak_absen_pulang": "Tidak Absen Pulang",
    "menit_terlambat": "Menit Terlambat",
    "menit_pulang_cepat": "Menit Pulang Cepat",
    "tk_setara": "TK Setara",
    "tk_kumulatif_tahun_ini": "TK Kumulatif Tahun Ini",
}
DAY_HEADERS = {
    "nip": "NIP",
    "pegawai": "Pegawai",
    "tanggal": "Tanggal",
    "status": "Status",
    "jam_masuk": "Jam Masuk",
    "jam_pulang": "Jam Pulang",
    "menit_terlambat": "Menit Terlambat",
    "menit_pulang_cepat": "Menit Pulang Cepat",
}
SUMMARY_SHEET, DAYS_SHEET = "Rekap", "Rincian Harian"

# Excel's limit per sheet, the header row included.
EXCEL_MAX_ROWS = 1_048_576
MAX_COLUMN_WIDTH = 60
# Kept as text so a spreadsheet never turns an 18-digit NIP into 1.98E+17.
TEXT_COLUMNS = frozenset({"nip"})
FORMATS = {dt.datetime: "dd/mm/yyyy hh:mm", dt.date: "dd/mm/yyyy", dt.time: "hh:mm"}
SHOWN_WIDTH = {dt.datetime: 16, dt.date: 10, dt.time: 5}


@dataclass(frozen=True)
class Sheet:
    """One worksheet: ``headers`` maps a row key to its column header, in column order.

    ``rows`` may be read only once (a stream from the database) when ``longest`` gives, per
    key, the length of its longest value; without it the rows are measured, so they must be a
    list. A ``note`` is written under the header instead of rows that cannot fit.
    """

    title: str
    headers: dict[str, str]
    rows: Iterable[dict]
    longest: dict[str, int] | None = None
    note: str = ""


def recap_xlsx(conn: Connection, f: RecapFilter) -> bytes:
    """Every recap row that matches ``f`` (not one page) in the sheet "Rekap", and their days
    in "Rincian Harian"."""
    recaps = dashboard.count_matching_recaps(conn, f)
    _refuse_overflow(recaps, SUMMARY_SHEET)
    longest = dashboard.longest_recap_values(conn, f)
    summary = Sheet(SUMMARY_SHEET, RECAP_HEADERS, dashboard.matching_recaps(conn, f), longest)

    days = dashboard.count_matching_days(conn, f)
    if days < EXCEL_MAX_ROWS:
        detail_rows = dashboard.matching_days(conn, f)
        detail = Sheet(DAYS_SHEET, DAY_HEADERS, detail_rows, _day_longest(longest))
    else:
        # The summary is still worth having; the note says how to get the days.
        detail = Sheet(DAYS_SHEET, DAY_HEADERS, [], note=_too_many_days(days))
    log.info("Recap export %s..%s: %d rows, %d days", f.period_from, f.period_to, recaps, days)
    return workbook([summary, detail])


def _day_longest(recap_longest: dict[str, int]) -> dict[str, int]:
    """The widths the day sheet needs, known before its rows are read: its employees are those
    of the summary, the rest has a fixed width."""
    return {
        "nip": recap_longest["nip"],
        "pegawai": recap_longest["pegawai"],
        "tanggal": SHOWN_WIDTH[dt.date],
        "status": max(len(label) for label in dashboard.STATUS_LABELS.values()),
        "jam_masuk": SHOWN_WIDTH[dt.time],
        "jam_pulang": SHOWN_WIDTH[dt.time],
        "menit_terlambat": 3,
        "menit_pulang_cepat": 3,
    }


def _too_many_days(days: int) -> str:
    return (
        f"{days} hari tidak muat dalam satu lembar Excel; pilih lebih sedikit OPD atau bulan "
        f"untuk rincian harian. ({days} days do not fit one sheet: filter fewer units or months.)"
    )


def _refuse_overflow(rows: int, title: str) -> None:
    if rows >= EXCEL_MAX_ROWS:
        raise ValueError(
            f"{rows} baris tidak muat dalam lembar {title!r}; saring lebih sempit. ({rows} rows "
            f"do not fit the sheet {title!r}: filter fewer units or periods.)"
        )


def recap_csv(conn: Connection, f: RecapFilter) -> str:
    """The summary of :func:`recap_xlsx` as CSV, with the same headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RECAP_HEADERS.values())
    for row in dashboard.matching_recaps(conn, f):
        writer.writerow(row[key] for key in RECAP_HEADERS)
    return buffer.getvalue()


def table_xlsx(title: str, rows: list[dict], headers: dict[str, str] | None = None) -> bytes:
    """Rows printed by a command (candidates, drafts, a recap per unit) as a one-sheet workbook;
    ``headers`` renames the columns it names."""
    _refuse_overflow(len(rows), title)
    keys = list(rows[0]) if rows else list(headers or {})
    return workbook([Sheet(title, {key: (headers or {}).get(key, key) for key in keys}, rows)])


def workbook(sheets: list[Sheet]) -> bytes:
    """The sheets as an .xlsx: a bold, frozen header row and columns as wide as their longest
    value (up to a limit)."""
    book = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(book, sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_sheet(book: Workbook, sheet: Sheet) -> None:
    worksheet = book.create_sheet(sheet.title)
    # Write-only sheets take their layout before the first row.
    worksheet.freeze_panes = "A2"
    longest = sheet.longest if sheet.longest is not None else _measured(sheet)
    for index, (key, header) in enumerate(sheet.headers.items(), start=1):
        width = min(max(longest.get(key, 0), len(header)) + 2, MAX_COLUMN_WIDTH)
        worksheet.column_dimensions[get_column_letter(index)].width = width

    bold = Font(bold=True)
    worksheet.append([_cell(worksheet, header, font=bold) for header in sheet.headers.values()])
    if sheet.note:
        worksheet.append([sheet.note])
    text_keys = {key for key in sheet.headers if key in TEXT_COLUMNS}
    for row in sheet.rows:
        worksheet.append([_value(worksheet, row[key], key in text_keys) for key in sheet.headers])


def _measured(sheet: Sheet) -> dict[str, int]:
    return {
        key: max((_shown_length(row[key]) for row in sheet.rows), default=0)
        for key in sheet.headers
    }


def _value(worksheet, value, as_text: bool):
    if value is None:
        return None
    if as_text:
        return _cell(worksheet, str(value), number_format="@")
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no time zones; the value is local
    number_format = FORMATS.get(type(value))
    return _cell(worksheet, value, number_format=number_format) if number_format else value


def _cell(worksheet, value, *, font: Font | None = None, number_format: str | None = None):
    cell = WriteOnlyCell(worksheet, value=value)
    if font is not None:
        cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _shown_length(value) -> int:
    if value is None:
        return 0
    return SHOWN_WIDTH.get(type(value)) or len(str(value))
