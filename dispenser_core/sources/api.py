"""Pulling attendance from an HTTP API ("Tarik Data"): punches, the roster and absence records.

The API's names map to ours through a small mapping file (``api_mapping.json`` is the model), so
another city's API plugs in without code. Pages (or cursors) are followed to the end; 429, 5xx
and timeouts are retried with backoff honouring ``Retry-After`` (``dispenser_core.http``).
Punches are pulled incrementally from the source's last watermark, minus an overlap that
catches late arrivals; what the overlap brings twice is kept aside as duplicates by the loader.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from dispenser_core.exceptions import ConfigurationError, DispenserError, InputFileError
from dispenser_core.http import (
    Refused,
    RetryPolicy,
    Unavailable,
    pooled_session,
    request_with_retries,
)
from dispenser_core.sources.records import RawPunch, ReadResult, Rejection
from dispenser_core.sources.tables import parse_records

log = logging.getLogger(__name__)

KINDS = ("punches", "roster", "absences")


class SourceError(DispenserError):
    """The attendance API refused the request (wrong credentials, a wrong path)."""


class SourceUnavailable(SourceError):
    """The attendance API did not answer after every retry; try again later."""

    transient = True


@dataclass(frozen=True)
class ApiConfig:
    base_url: str
    token: str = ""  # bearer token; or login and password for basic auth
    login: str = ""
    password: str = ""
    mapping: dict = field(default_factory=dict)
    policy: RetryPolicy = RetryPolicy()
    # Punches are pulled from this long before the last watermark: a terminal that syncs late
    # still gets its punches in.
    overlap_minutes: int = 60

    @classmethod
    def with_mapping(cls, base_url: str, mapping_file: Path | None = None, **options) -> ApiConfig:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"The attendance API address {base_url!r} has no http:// or https://; write it "
                "whole, e.g. http://127.0.0.1:8766."
            )
        return cls(base_url=base_url.rstrip("/"), mapping=load_mapping(mapping_file), **options)


def load_mapping(path: Path | None = None) -> dict:
    """A mapping file, or the bundled one."""
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else resources.files("dispenser_core.sources").joinpath("api_mapping.json").read_text()
        )
        return json.loads(text)
    except (OSError, json.JSONDecodeError) as err:
        raise InputFileError(
            f"Cannot read the API mapping {path}: {err}. It follows "
            "dispenser_core/sources/api_mapping.json."
        ) from err


def _field(record: dict, dotted: str):
    value = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass
class Pulled:
    """What one pull brought: the records in our names, and how far the source says it is."""

    kind: str
    records: list[dict]
    synced_until: dt.datetime | None
    requests: int


class AttendanceApi:
    """One API, one pooled session."""

    def __init__(self, config: ApiConfig) -> None:
        self.config = config
        self.mapping = config.mapping
        self.session = pooled_session(2)
        if config.token:
            self.session.headers["Authorization"] = f"Bearer {config.token}"
        elif config.login:
            self.session.auth = (config.login, config.password)

    def close(self) -> None:
        self.session.close()

    def _get(self, path: str, params: dict) -> dict:
        url = f"{self.config.base_url}{path}"
        try:
            response = request_with_retries(
                self.session, "GET", url, self.config.policy, params=params
            )
        except Refused as err:
            status = err.response.status_code
            hint = (
                (
                    "Check the API credentials (in Airflow, the connection "
                    "dispenser_attendance_api; from the command line, DISPENSER_API_TOKEN or "
                    "DISPENSER_API_LOGIN and DISPENSER_API_PASSWORD)"
                )
                if status in (401, 403)
                else "Check the API address and the mapping file"
            )
            raise SourceError(
                f"The attendance API refused {url} with {status}: "
                f"{err.response.text[:200]}. {hint}."
            ) from err
        except Unavailable as err:
            raise SourceUnavailable(
                f"The attendance API at {url} did not answer after {err}; "
                "the pull can be run again later."
            ) from err
        try:
            return response.json()
        except requests.JSONDecodeError as err:
            raise SourceError(
                f"The attendance API at {url} answered with something that is not "
                f"JSON ({response.text[:100]!r}); check the address."
            ) from err

    def _pages(self, path: str, params: dict):
        paging = self.mapping["pagination"]
        params = {**params, paging["size_param"]: paging["size"]}
        if paging["style"] == "cursor":
            cursor = None
            while True:
                answer = self._get(
                    path, {**params, **({paging["cursor_param"]: cursor} if cursor else {})}
                )
                yield answer
                cursor = _field(answer, paging["next_cursor_field"])
                if not cursor:
                    return
        page, pages = 1, 1
        while page <= pages:
            answer = self._get(path, {**params, paging["page_param"]: page})
            yield answer
            pages = int(_field(answer, paging["pages_field"]) or page)
            page += 1

    def pull(self, kind: str, since: dt.datetime | None = None) -> Pulled:
        """Every record of ``kind`` (since ``since``, a UTC time, for punches)."""
        spec = self.mapping[kind]
        params = {self.mapping["since_param"]: since.isoformat() + "Z"} if since else {}
        records, synced, calls = [], None, 0
        for answer in self._pages(spec["path"], params):
            calls += 1
            items = _field(answer, self.mapping["items_field"]) or []
            records += [
                {ours: _field(item, theirs) for ours, theirs in spec["fields"].items()}
                for item in items
            ]
            synced = _field(answer, self.mapping.get("synced_until_field", "")) or synced
        log.info("Pulled %d %s records in %d requests", len(records), kind, calls)
        return Pulled(kind, records, _utc(synced) if synced else None, calls)


def _utc(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no offset")
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def punches_of(pulled: Pulled, timezone: str = "Asia/Jakarta") -> ReadResult:
    """Pulled punch records as the loader reads an attlog: a time without an offset is the
    terminal's local time; one with an offset is exact."""
    zone = ZoneInfo(timezone)
    result = ReadResult(lines_read=len(pulled.records))
    for number, record in enumerate(pulled.records, start=1):
        raw = json.dumps(record, ensure_ascii=False, default=str)[:500]
        try:
            moment = dt.datetime.fromisoformat(str(record.get("time") or "").replace("Z", "+00:00"))
        except ValueError:
            result.rejected.append(
                Rejection(number, raw, "invalid_date", f"time {record.get('time')!r}")
            )
            continue
        utc = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else None
        local = moment.astimezone(zone).replace(tzinfo=None) if moment.tzinfo else moment
        pin = str(record.get("pin") or "").strip().lstrip("0") or None
        nip = str(record.get("nip") or "").strip() or None
        if not pin and not nip:
            result.rejected.append(Rejection(number, raw, "invalid_pin", "no PIN and no NIP"))
            continue
        result.rows.append(
            RawPunch(
                number,
                pin or "",
                local,
                _int(record.get("verify_mode")),
                _int(record.get("state_code")),
                raw=raw,
                nip=nip,
                utc=utc,
            )
        )
    return result


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def records_of(pulled: Pulled) -> ReadResult:
    """Pulled roster or absence records, checked as the CSV files are."""
    return parse_records(pulled.kind, pulled.records)
