"""The monthly discipline pipeline as plain steps, shared by the Airflow DAGs and the CLI.

Each step opens its own transaction, so a step either lands whole or not at all, and each can
run again with the same result::

    prepare -> extract -> validate -> build_recap -> find_candidates -> save_drafts
            -> (approval by a person) -> send_notices

``build_recap`` can also be spread over workers: ``count_source_days``, then
``rebuild_unit_status`` once per unit of ``units_to_rebuild`` (at the same time, in any order),
then ``recap`` with ``rebuild_status=False``; the result is the same, employee by employee.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, func, select

from dispenser_core import calendar
from dispenser_core import candidates as candidate_rules
from dispenser_core import drafts as draft_rules
from dispenser_core.analysis import AnalysisRequest, nothing_matches, read_request
from dispenser_core.loading import LoadSummary, load_file, load_inbox, load_pulled
from dispenser_core.notices.client import NotificationClient
from dispenser_core.notices.outbox import SendReport, send_outbox
from dispenser_core.periods import Period
from dispenser_core.recap import (
    build_recap,
    rebuild_daily_status,
    recap_is_current,
    source_day_counts,
    staff_of,
)
from dispenser_core.schedules import seed_schedules
from dispenser_core.settings import Settings
from dispenser_core.sources.api import ApiConfig, AttendanceApi, Pulled, punches_of, records_of
from dispenser_core.storage.db import connect, create_schema, make_engine, queue_sqlite_writer
from dispenser_core.storage.schema import import_batches, work_units
from dispenser_core.validation import batch_checks, period_checks, result_checks
from dispenser_core.validation import validate as check_data

log = logging.getLogger(__name__)

# Days the data could not judge; a run reports how many, since none of them can become TK.
UNJUDGED = ("data_problem", "pending", "no_data")


@dataclass(frozen=True)
class StepResult:
    """A small, JSON-friendly account of a step, for task logs and XCom."""

    step: str
    period: str
    counts: dict

    def as_dict(self) -> dict:
        return {"step": self.step, "period": self.period, **self.counts}


def prepare(settings: Settings, *, create: bool = True) -> Engine:
    """An engine on a database whose schema is ready (created on first use; with ``create``
    False, a SQLite file that does not exist is an error)."""
    engine = make_engine(settings, create=create)
    create_schema(engine)
    with connect(engine) as conn:
        seed_schedules(conn)
    return engine


def import_file(engine: Engine, source_kind: str, path: Path, **options) -> LoadSummary:
    with connect(engine) as conn:
        return load_file(conn, source_kind, path, **options)


def extract(engine: Engine, inbox: Path) -> list[LoadSummary]:
    """Load every file waiting in the inbox (files loaded before are recognised and skipped)."""
    if not Path(inbox).is_dir():
        log.info("Inbox %s does not exist; nothing to load", inbox)
        return []
    with connect(engine) as conn:
        return load_inbox(conn, inbox)


def _site(settings: Settings, label: str) -> Path:
    """Where one run's Data Docs go: a folder per run, under the data folder."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")
    return settings.data_dir / "validation" / safe


def _validated(step: str, period: str, reports, site: Path) -> StepResult:
    log.info("Data Docs of %s: %s", step, (site / "index.html").as_uri())
    return StepResult(step, period, {r.batch: r.rows for r in reports} | {"docs": str(site)})


def api_config(settings: Settings, **overrides) -> ApiConfig | None:
    """The attendance API of the settings (or of ``overrides``), or None when there is none."""
    values = {
        "base_url": settings.api_url,
        "token": settings.api_token,
        "login": settings.api_login,
        "password": settings.api_password,
        "overlap_minutes": settings.api_overlap_minutes,
    } | overrides
    if not values["base_url"]:
        return None
    mapping = Path(settings.api_mapping) if settings.api_mapping else None
    return ApiConfig.with_mapping(mapping_file=mapping, **values)


def _last_watermark(engine: Engine, source: str) -> dt.datetime | None:
    with connect(engine) as conn:
        return conn.scalar(
            select(func.max(import_batches.c.synced_until)).where(import_batches.c.source == source)
        )


def pull_api(
    engine: Engine, settings: Settings, config: ApiConfig, source: str = "api"
) -> list[LoadSummary]:
    """Pull the roster (with its units), the absences and the punches since the last watermark
    (less the overlap) from an attendance API, and load them like files. A pull that brings
    what an earlier one brought changes nothing."""
    api = AttendanceApi(config)
    zone = ZoneInfo(config.mapping.get("timezone", settings.timezone))
    try:
        roster, absences = api.pull("roster"), api.pull("absences")
        units = {
            r["opd_code"]: {"opd_code": r["opd_code"], "opd_name": r.get("opd_name")}
            for r in roster.records
            if r.get("opd_code")
        }
        summaries = [
            _load_records(
                engine,
                "units",
                f"{source}:units",
                records_of(Pulled("units", list(units.values()), None, 0)),
                list(units.values()),
            ),
            _load_records(engine, "roster", f"{source}:roster", records_of(roster), roster.records),
            _load_records(
                engine, "absences", f"{source}:absences", records_of(absences), absences.records
            ),
        ]

        last = _last_watermark(engine, source)  # the unit's local time; the API speaks UTC
        since = None
        if last is not None:
            since = (
                (last - dt.timedelta(minutes=config.overlap_minutes))
                .replace(tzinfo=zone)
                .astimezone(dt.UTC)
                .replace(tzinfo=None)
            )
        punches = api.pull("punches", since)
        result = punches_of(punches, str(zone))
        latest = max((p.local_time for p in result.rows), default=None)
        synced = _to_local(punches.synced_until, zone) or latest
        summaries.append(
            _load_records(
                engine,
                "punches",
                f"{source}:punches since {since or 'the start'} UTC",
                result,
                punches.records,
                source=source,
                synced_until=synced,
            )
        )
    finally:
        api.close()
    return summaries


def validate(engine: Engine, settings: Settings, period: Period, label: str = "cli") -> StepResult:
    """Check the roster active in ``period`` and its punches (great_expectations)."""
    site = _site(settings, f"{label}-inputs-{period}")
    return _validated(
        "validate", str(period), check_data(engine, period_checks(period), site), site
    )


def validate_batches(
    engine: Engine, settings: Settings, batch_ids: list[int], label: str = "cli"
) -> StepResult:
    """Check each newly loaded batch; a batch that fails stops the run, named."""
    checks = [check for batch_id in batch_ids for check in batch_checks(engine, batch_id)]
    site = _site(settings, f"{label}-batches")
    return _validated("validate_batches", "", check_data(engine, checks, site), site)


def validate_results(
    engine: Engine, settings: Settings, period: Period, label: str = "cli"
) -> StepResult:
    """Check that the period's daily status and recap add up."""
    site = _site(settings, f"{label}-results-{period}")
    return _validated(
        "validate_results", str(period), check_data(engine, result_checks(period), site), site
    )


def units_to_rebuild(engine: Engine, period: Period) -> list[str]:
    """The units with employees at work in ``period``'s year up to its end."""
    with connect(engine) as conn:
        staff = staff_of(conn, None, period.year_start, period.end)
    return sorted(str(unit) for unit in staff["opd_code"].unique())


def count_source_days(engine: Engine, period: Period) -> dict:
    """What each unit rebuilt on its own needs from the whole city: its punches per source and
    day, from January 1st (JSON-friendly, for XCom). The rows every unit reads and none may
    write at the same time (the bundled schedules, the year's calendar) are stored first."""
    with connect(engine) as conn:
        seed_schedules(conn)
        for year in range(period.year_start.year, period.end.year + 1):
            calendar.ensure_year(conn, year)
        counts = source_day_counts(conn, period.year_start, period.end)
    log.info("%s: %d source-days counted", period, len(counts))
    return {
        "source": [str(source) for source in counts.index.get_level_values(0)],
        "day": [day.date().isoformat() for day in counts.index.get_level_values(1)],
        "punches": [int(n) for n in counts],
    }


def _source_counts(source_days: dict) -> pd.Series:
    index = pd.MultiIndex.from_arrays(
        [source_days["source"], pd.to_datetime(source_days["day"])], names=["source", "day"]
    )
    return pd.Series(source_days["punches"], index=index, dtype="int64")


def rebuild_unit_status(
    engine: Engine, period: Period, units: list[str], source_days: dict
) -> StepResult:
    """Rebuild the daily status of ``units`` from January 1st to the period's end, with the
    ``source_days`` of ``count_source_days``."""
    with connect(engine) as conn:
        queue_sqlite_writer(conn)  # SQLite has one writer; on PostgreSQL units run side by side
        rebuilt = rebuild_daily_status(
            conn, period.year_start, period.end, list(units), _source_counts(source_days)
        )
    return StepResult(
        "daily_status",
        str(period),
        {
            "units": list(units),
            "employee_months_changed": rebuilt.employee_months_changed,
            "rows_written": rebuilt.rows_written,
        },
    )


def recap(engine: Engine, period: Period, *, rebuild_status: bool = True) -> StepResult:
    """Build the period's recap; its totals count the days the data could not judge. Without
    ``rebuild_status``, the daily status must have been rebuilt unit by unit."""
    with connect(engine) as conn:
        frame = build_recap(conn, period, rebuild_status)
    totals = {
        "employees": len(frame),
        "tk_days": int(frame["tk"].sum()),
        "late_minutes": int(frame["late_minutes"].sum()),
    } | {f"{status}_days": int(frame[status].sum()) for status in UNJUDGED}
    if totals["data_problem_days"]:
        units = sorted(frame.loc[frame["data_problem"] > 0, "opd_code"].unique())
        log.warning(
            "%s: %d employee-days are data problems (the terminals of %s delivered far fewer "
            "punches than usual); they count as no TK. Load the missing export and rerun.",
            period,
            totals["data_problem_days"],
            ", ".join(units),
        )
    return StepResult("recap", str(period), totals)


def ensure_recap(engine: Engine, period: Period) -> None:
    """Build the recap of ``period`` unless the stored one is newer than every load."""
    with connect(engine) as conn:
        current = recap_is_current(conn, period)
    if not current:
        recap(engine, period)


def find_candidates(engine: Engine, period: Period, top_per_unit: int) -> StepResult:
    with connect(engine) as conn:
        counts = candidate_rules.find_candidates(conn, period, top_per_unit)
    return StepResult("candidates", str(period), counts)


def save_drafts(
    engine: Engine,
    period: Period,
    *,
    filters: list[draft_rules.DraftFilters] | None = None,
    mode: str = draft_rules.OVERWRITE,
    title: str | None = None,
    note: str = "",
    actor: str = "system",
) -> list[int]:
    """Save one draft per filter set (by default: all violations, all appreciations)."""
    filters = filters or [draft_rules.DraftFilters(kind=kind) for kind in candidate_rules.KINDS]
    saved = []
    with connect(engine) as conn:
        for wanted in filters:
            draft_id = draft_rules.save_draft(
                conn, period, wanted, mode=mode, title=title, note=note, actor=actor
            )
            if draft_id is not None:
                saved.append(draft_id)
    log.info("Drafts for %s: %s", period, saved)
    return saved


def run_until_approval(
    engine: Engine, settings: Settings, period: Period, actor: str = "system"
) -> list[int]:
    """Everything before a person must decide: load, validate, recap, candidates, drafts."""
    loaded = extract(engine, settings.inbox_dir)
    validate_batches(engine, settings, [s.batch_id for s in loaded if not s.already_loaded])
    validate(engine, settings, period)
    recap(engine, period)
    validate_results(engine, settings, period)
    find_candidates(engine, period, settings.appreciation_top_per_unit)
    return save_drafts(engine, period, actor=actor)


def _today_local(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()


def check_request(
    engine: Engine, settings: Settings, form: dict, today: dt.date | None = None
) -> AnalysisRequest:
    """The "Analisis Disiplin" form, checked against the rules and the known units."""
    with connect(engine) as conn:
        units = dict(conn.execute(select(work_units.c.opd_code, work_units.c.name)).all())
    return read_request(form, today=today or _today_local(settings), units=units)


def analyse(
    engine: Engine, settings: Settings, form: dict, *, actor: str, today: dt.date | None = None
) -> int:
    """Save the draft an operator asked for: recap and candidates of the period brought up to
    date first. A request that matches nobody is refused and writes no draft."""
    request = check_request(engine, settings, form, today)
    ensure_recap(engine, request.period)
    find_candidates(engine, request.period, settings.appreciation_top_per_unit)
    with connect(engine) as conn:
        draft_id = draft_rules.save_draft(
            conn,
            request.period,
            request.filters,
            mode=request.mode,
            title=request.title,
            note=request.note,
            actor=actor,
        )
    if draft_id is None:
        raise nothing_matches(request)
    log.info("Analysis %s by %s: draft %s", request.period, actor, draft_id)
    return draft_id


def notification_client(settings: Settings) -> NotificationClient:
    return NotificationClient(
        settings.notify_url,
        settings.notify_token,
        timeout=settings.notify_timeout_seconds,
        max_attempts=settings.notify_max_attempts,
        pool_size=settings.notify_concurrency,
    )


def send_notices(
    engine: Engine, settings: Settings, draft_id: int, client: NotificationClient | None = None
) -> SendReport:
    """Deliver the notices of an approved draft (only the ones not delivered yet)."""
    own_client = client is None
    client = client or notification_client(settings)
    try:
        return send_outbox(engine, draft_id, client, settings.notify_concurrency)
    finally:
        if own_client:
            client.close()


def _load_records(
    engine: Engine, kind: str, name: str, result, records: list[dict], **options
) -> LoadSummary:
    content = json.dumps(records, sort_keys=True, default=str)
    with connect(engine) as conn:
        return load_pulled(conn, kind, name, result, content, **options)


def _to_local(moment: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
