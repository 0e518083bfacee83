"""What a reader hands to the loader: good rows, and rejected rows with their reason."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rejection:
    line_number: int
    raw: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class RawPunch:
    line_number: int
    pin: str
    local_time: dt.datetime
    verify_mode: int | None
    state_code: int | None
    # The line as the terminal wrote it, kept when the loader rejects the punch later.
    raw: str = field(default="", compare=False)
    # Sources other than terminals may name the employee by NIP, and give a time with its
    # offset (then in UTC here, and local_time is only a fallback).
    nip: str | None = field(default=None, compare=False)
    utc: dt.datetime | None = field(default=None, compare=False)


@dataclass
class ReadResult:
    """Rows read from one file, in file order."""

    rows: list = field(default_factory=list)
    # The file line of each row of ``rows``, for rejections found later by the loader.
    row_lines: list[int] = field(default_factory=list)
    row_raw: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    lines_read: int = 0
