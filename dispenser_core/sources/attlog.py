"""ZKTeco ``attlog.dat`` exports, as a fingerprint terminal writes them to a USB stick.

Each line is tab-separated: the user PIN (right-aligned, padded with spaces), the punch time
``YYYY-MM-DD HH:MM:SS`` in the terminal's local time, the verify mode, the in/out state the
person pressed (not trusted: people press the wrong one), a work code and reserved fields.
Older firmware writes 6 fields, newer firmware 11; only the first four matter here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dispenser_core.exceptions import InputFileError
from dispenser_core.sources.records import RawPunch, ReadResult, Rejection

MAX_LINE_BYTES = 1024
# A terminal whose clock was reset writes dates like 2000-01-01; nothing that old is real.
EARLIEST_PLAUSIBLE = dt.datetime(2005, 1, 1)
LATEST_UTC_OFFSET = dt.timedelta(hours=14)


def normalise_pin(pin: str) -> str:
    """The PIN as the roster knows it: no padding, no leading zeros ('  007' -> '7')."""
    stripped = pin.strip().lstrip("0")
    return stripped or "0"


def _optional_int(text: str) -> int | None:
    text = text.strip()
    # isdigit() alone accepts '²', which int() refuses.
    return int(text) if text.isascii() and text.isdigit() else None


def _parse_line(line_number: int, line: str, now_local: dt.datetime) -> RawPunch | Rejection:
    fields = line.split("\t")
    if len(fields) < 2:
        return Rejection(line_number, line, "malformed_line", "expected tab-separated fields")

    # An empty PIN must not become PIN '0' (normalise_pin's answer for '000').
    pin_text = fields[0].strip()
    if not (pin_text.isascii() and pin_text.isdigit()):
        return Rejection(line_number, line, "invalid_pin", f"PIN {pin_text!r}")
    pin = normalise_pin(pin_text)

    try:
        local_time = dt.datetime.strptime(fields[1].strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return Rejection(line_number, line, "invalid_date", f"time {fields[1].strip()!r}")
    if local_time < EARLIEST_PLAUSIBLE:
        return Rejection(line_number, line, "implausible_date", f"time {local_time}")
    if local_time > now_local:
        return Rejection(line_number, line, "future_date", f"time {local_time}")

    verify_mode = _optional_int(fields[2]) if len(fields) > 2 else None
    state_code = _optional_int(fields[3]) if len(fields) > 3 else None
    return RawPunch(line_number, pin, local_time, verify_mode, state_code, raw=line)


def read_attlog(path: Path, now_local: dt.datetime | None = None) -> ReadResult:
    """Read every punch of an attlog file; lines that cannot be used are rejected, not lost."""
    try:
        content = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"Cannot read the attlog file {path}: {err.strerror}.") from err
    if not content.strip():
        raise InputFileError(f"The attlog file {path} is empty: export it again from the terminal.")
    if b"\x00" in content[:4096]:
        raise InputFileError(
            f"{path} is not a text attlog export (it holds binary data). Export the attendance "
            "log again as attlog.dat, or pass the right file."
        )

    # The terminal's zone is not known here and the server's may differ (UTC while the
    # terminal keeps WIB), so by default only a time later than anywhere on Earth (UTC+14) is
    # in the future; the loader checks each punch against now in its own unit's zone.
    now_local = now_local or dt.datetime.now(dt.UTC).replace(tzinfo=None) + LATEST_UTC_OFFSET
    result = ReadResult()
    for line_number, raw_line in enumerate(content.splitlines(), start=1):
        if not raw_line.strip():
            continue
        result.lines_read += 1
        line = raw_line.decode("utf-8", errors="replace").rstrip("\r")
        if len(raw_line) > MAX_LINE_BYTES:
            result.rejected.append(
                Rejection(line_number, line[:200], "line_too_long", f"{len(raw_line)} bytes")
            )
            continue
        parsed = _parse_line(line_number, line, now_local)
        (result.rejected if isinstance(parsed, Rejection) else result.rows).append(parsed)
    return result
