"""Validating what was loaded with the great_expectations suites in ``expectations/``.

Each check runs one suite on one batch (a loaded file, or a period) and writes Data Docs into
``<data dir>/validation/<label>/index.html``, rewritten to open offline: the pages as
great_expectations writes them load styles, scripts and a logo from public hosts, which an
agency intranet cannot reach. On PostgreSQL the expectations run in the database (a query
asset); on SQLite, which has no regular expressions, on a pandas frame read with the same query.

great_expectations is imported only when a check runs (the import takes seconds), never at
module import, so DAG files that import this module stay fast to parse.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

from dispenser_core.exceptions import ValidationFailed
from dispenser_core.loading import PUNCH_KINDS
from dispenser_core.periods import Period
from dispenser_core.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
EXAMPLES_SHOWN = 5
TIME_COLUMNS = {"punched_at", "start_date", "end_date", "day", "check_in_local", "check_out_local"}


@dataclass(frozen=True)
class ExpectationFailure:
    expectation: str
    column: str
    unexpected_count: int | None
    examples: list

    def describe(self) -> str:
        count = "?" if self.unexpected_count is None else self.unexpected_count
        return f"{self.expectation} on {self.column}: {count} rows, e.g. {self.examples}"


@dataclass(frozen=True)
class ValidationReport:
    suite: str
    batch: str
    rows: int | None
    failures: list[ExpectationFailure] = field(default_factory=list)
    docs: Path | None = None

    @property
    def success(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        if self.failures:
            listed = "; ".join(f.describe() for f in self.failures)
            where = f" Details: {self.docs}" if self.docs else ""
            raise ValidationFailed(
                f"The check of {self.batch} failed the {self.suite!r} suite: {listed}. Fix "
                f"the source file or the roster and load it again; nothing was judged.{where}"
            )


@dataclass(frozen=True)
class Check:
    """One suite on the rows a query selects (with ``:name`` parameters)."""

    suite: str
    batch: str
    query: str
    query_parameters: dict = field(default_factory=dict)
    expectation_parameters: dict = field(default_factory=dict)
    index_column: str = "nip"


def load_suite_definition(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


# -- great_expectations, behind one door -------------------------------------------------------


def _context(site: Path):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={
            "local_site": {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(site),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx, gx.get_context(mode="ephemeral", project_config=config)


def _inline(query: str, parameters: dict) -> str:
    """The query with its (integer or date) parameters written in, for a query asset."""

    def value(match: re.Match) -> str:
        found = parameters[match.group(1)]
        return str(int(found)) if isinstance(found, int) else f"'{found}'"

    return re.sub(r":(\w+)", value, query)


def _failures(result) -> list[ExpectationFailure]:
    failures = []
    for outcome in result.results:
        if outcome.success:
            continue
        kwargs = outcome.expectation_config.kwargs
        column = kwargs.get("column") or ",".join(
            kwargs.get("column_list") or [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
        )
        # The rows (by their index column) say more than the bad values alone: a missing
        # roster_nip is only "empty", the NIP beside it names the punch.
        examples = (
            outcome.result.get("partial_unexpected_index_list")
            or outcome.result.get("partial_unexpected_list")
            or []
        )[:EXAMPLES_SHOWN]
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            examples = [outcome.exception_info.get("exception_message")]
        failures.append(
            ExpectationFailure(
                outcome.expectation_config.type,
                column,
                outcome.result.get("unexpected_count"),
                [_example(e) for e in examples],
            )
        )
    return failures


def _example(found) -> str:
    if isinstance(found, dict):
        return " ".join(f"{name}={_example(value)}" for name, value in found.items())
    missing = found is None or (isinstance(found, float) and found != found)  # None or NaN
    return "empty" if missing else str(found)


def run_checks(engine: Engine, checks: list[Check], site: Path) -> list[ValidationReport]:
    """Run each check and write their Data Docs into ``site``."""
    from great_expectations.checkpoint import UpdateDataDocsAction

    gx, context = _context(site)
    in_database = engine.dialect.name == "postgresql"
    if in_database:
        source = context.data_sources.add_postgres(
            "dispenser", connection_string=engine.url.render_as_string(hide_password=False)
        )
    else:
        source = context.data_sources.add_pandas("dispenser")

    reports = []
    for number, check in enumerate(checks):
        definition = load_suite_definition(check.suite)
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=f"{check.suite}-{number}", expectations=definition["expectations"]
            )
        )
        batch_parameters: dict = {}
        if in_database:
            asset = source.add_query_asset(
                f"{check.suite}-{number}", query=_inline(check.query, check.query_parameters)
            )
            batch = asset.add_batch_definition_whole_table("whole")
        else:
            asset = source.add_dataframe_asset(f"{check.suite}-{number}")
            batch = asset.add_batch_definition_whole_dataframe("whole")
            with engine.connect() as conn:
                frame = pd.read_sql(text(check.query), conn, params=check.query_parameters)
            # SQLite hands dates and times back as text; compare them as times.
            for column in TIME_COLUMNS & set(frame.columns):
                frame[column] = pd.to_datetime(frame[column])
            batch_parameters["dataframe"] = frame
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=check.batch, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"checkpoint-{number}",
                validation_definitions=[validation],
                actions=[UpdateDataDocsAction(name="data_docs")],
                result_format={
                    "result_format": "SUMMARY",
                    "unexpected_index_column_names": [check.index_column],
                },
            )
        )
        outcome = checkpoint.run(
            batch_parameters=batch_parameters, expectation_parameters=check.expectation_parameters
        )
        result = next(iter(outcome.run_results.values()))
        reports.append(
            ValidationReport(
                check.suite, check.batch, _row_count(result), _failures(result), site / "index.html"
            )
        )
        log.info(
            "Validated %s with %r: %d expectations failed",
            check.batch,
            check.suite,
            len(reports[-1].failures),
        )
    make_offline(site)
    return reports


def _row_count(result) -> int | None:
    for outcome in result.results:
        count = outcome.result.get("element_count")
        if count is not None:
            return int(count)
    return None


# -- Data Docs that open without the internet --------------------------------------------------

_OUTSIDE = re.compile(
    r"<script[^>]+src=\"https?://[^\"]*\"[^>]*>\s*</script>"
    r"|<link[^>]+href=\"https?://[^\"]*\"[^>]*>"
    r"|<img[^>]+src=\"https?://[^\"]*\"[^>]*>"
    r"|url\('https?://[^']*'\)[^;]*;"
    r"|<a[^>]+href=\"https?://greatexpectations\.io[^\"]*\"[^>]*>.*?</a>",
    re.IGNORECASE | re.DOTALL,
)
_ICON = re.compile(r'href="[./]*static/images/favicon\.ico"')
_OFFLINE_STYLE = """<style>
body { font-family: sans-serif; margin: 1.5rem; color: #1a202c; }
table { border-collapse: collapse; margin: 0.5rem 0; }
td, th { border: 1px solid #cbd5e0; padding: 0.25rem 0.5rem; vertical-align: top; }
.hide-succeeded-validations-column-section, .navbar, nav { display: none; }
.text-danger, .fa-times { color: #c53030; } .text-success, .fa-check { color: #2f855a; }
</style>"""


def make_offline(site: Path) -> None:
    """Drop every reference to an outside host from the Data Docs in ``site`` and add a small
    stylesheet of their own, so the pages open, readable, with no network."""
    for page in [*site.rglob("*.html"), *site.rglob("*.css")]:
        content = _OUTSIDE.sub("", page.read_text(encoding="utf-8"))
        if page.suffix == ".html":
            content = _ICON.sub(_icon_that_exists(page, site), content)
            if _OFFLINE_STYLE not in content:
                content = content.replace("</head>", f"{_OFFLINE_STYLE}</head>", 1)
        page.write_text(content, encoding="utf-8")


# -- what is checked -----------------------------------------------------------------------------


def _utc_bounds(first: dt.date, last: dt.date) -> dict:
    # Local dates of any unit (UTC-12 .. UTC+14) reach this far either side in UTC.
    return {
        "earliest": f"{first - dt.timedelta(days=1)}T00:00:00",
        "latest": f"{last + dt.timedelta(days=2)}T00:00:00",
    }


PUNCHES_OF_BATCH = """
SELECT p.nip, p.punched_at, p.batch_id, e.nip AS roster_nip
FROM punches p LEFT JOIN employees e ON e.nip = p.nip
WHERE p.batch_id = :batch
"""
ABSENCES_OF_BATCH = """
SELECT a.nip, a.kind, a.start_date, a.end_date, e.nip AS roster_nip
FROM absences a LEFT JOIN employees e ON e.nip = a.nip
WHERE a.batch_id = :batch
"""
ROSTER_OF_PERIOD = """
SELECT e.nip, e.pin, e.opd_code, e.start_date, u.name AS unit_name
FROM employees e LEFT JOIN work_units u ON u.opd_code = e.opd_code
WHERE e.start_date <= :last AND (e.end_date IS NULL OR e.end_date >= :first)
"""
PUNCHES_OF_PERIOD = """
SELECT p.nip, p.punched_at, p.batch_id, e.nip AS roster_nip
FROM punches p LEFT JOIN employees e ON e.nip = p.nip
WHERE p.punched_at >= :earliest AND p.punched_at < :latest
"""
RECAP_OF_PERIOD = """
SELECT period, nip, working_days, absent, late_minutes, early_leave_minutes, tk_equivalent,
       tk_ytd_equivalent,
       present + tk + leave + sick + permit + official_duty + study + no_data + pending
           + data_problem AS accounted_days,
       tk + leave + sick + permit + official_duty + study AS absent_days
FROM recaps WHERE period_kind = :kind AND period = :period
"""
DAILY_STATUS_OF_PERIOD = """
SELECT nip, day, status, check_in_local, check_out_local
FROM daily_status WHERE day >= :first AND day <= :last
"""


def batch_checks(engine: Engine, batch_id: int) -> list[Check]:
    """The checks of one loaded batch, by what it holds."""
    with engine.connect() as conn:
        kind, first, last = conn.execute(
            text(
                "SELECT source_kind, covers_from, covers_to FROM import_batches WHERE batch_id = :b"
            ),
            {"b": batch_id},
        ).one()
    label = f"batch {batch_id} ({kind})"
    if kind in PUNCH_KINDS and first is not None:
        first, last = (
            d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)[:10])
            for d in (first, last)
        )
        return [
            Check("punches", label, PUNCHES_OF_BATCH, {"batch": batch_id}, _utc_bounds(first, last))
        ]
    if kind in ("absences", "api_absences"):
        return [Check("absences", label, ABSENCES_OF_BATCH, {"batch": batch_id})]
    return []


def period_checks(period: Period) -> list[Check]:
    """The checks of a period's inputs: the roster active in it and its punches."""
    bounds = _utc_bounds(period.start, period.end)
    return [
        Check(
            "roster",
            f"roster active in {period}",
            ROSTER_OF_PERIOD,
            {"first": period.start, "last": period.end},
        ),
        # Bound as times, not text: SQLite compares text, and '2025-12-02 00:05' sorts
        # before '2025-12-02T00:00'.
        Check(
            "punches",
            f"punches of {period}",
            PUNCHES_OF_PERIOD,
            {name: dt.datetime.fromisoformat(value) for name, value in bounds.items()},
            bounds,
        ),
    ]


def result_checks(period: Period) -> list[Check]:
    """The checks of a period's results: daily status and the recap add up."""
    return [
        Check(
            "daily_status",
            f"daily status of {period}",
            DAILY_STATUS_OF_PERIOD,
            {"first": period.start, "last": period.end},
        ),
        Check(
            "recap",
            f"recap of {period}",
            RECAP_OF_PERIOD,
            {"kind": period.kind, "period": str(period)},
        ),
    ]


def validate(engine: Engine, checks: list[Check], site: Path) -> list[ValidationReport]:
    """Run ``checks``; the first report with a failure stops here with its details."""
    reports = run_checks(engine, checks, site) if checks else []
    for report in reports:
        report.raise_for_failures()
    return reports


def _icon_that_exists(page: Path, site: Path) -> str:
    """great_expectations links the icon one folder short on validation pages; point every
    page at the icon that is there."""
    icon = site / "static" / "images" / "favicon.ico"
    return f'href="{Path(os.path.relpath(icon, page.parent)).as_posix()}"'
