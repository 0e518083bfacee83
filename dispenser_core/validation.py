"""Validating what was loaded with the great_expectations suites in ``expectations/``.

great_expectations is imported only when a validation runs (the import takes seconds), never
at module import, so DAG files that import this module stay fast to parse.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, or_, select

from dispenser_core.exceptions import ValidationFailed
from dispenser_core.periods import Period
from dispenser_core.settings import PROJECT_ROOT
from dispenser_core.storage.frames import read_frame
from dispenser_core.storage.schema import employees, punches, work_units

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
EXAMPLES_SHOWN = 5


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
    rows: int
    failures: list[ExpectationFailure] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        if self.failures:
            listed = "; ".join(f.describe() for f in self.failures)
            raise ValidationFailed(
                f"Batch {self.batch} failed the {self.suite!r} suite ({self.rows} rows): {listed}. "
                "Fix the source file or the roster and load it again; nothing was judged."
            )


def load_suite_definition(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def _context():
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
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    return gx, gx.get_context(mode="ephemeral", project_config=config)


def validate_frame(
    suite_name: str,
    frame: pd.DataFrame,
    batch: str,
    parameters: dict | None = None,
    index_column: str = "nip",
) -> ValidationReport:
    """Run the suite ``expectations/<suite_name>.json`` on ``frame``."""
    gx, context = _context()
    definition = load_suite_definition(suite_name)
    suite = context.suites.add(
        gx.ExpectationSuite(name=definition["name"], expectations=definition["expectations"])
    )
    asset = context.data_sources.add_pandas(f"{suite_name}_source").add_dataframe_asset(suite_name)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=f"{suite_name}_validation",
            data=asset.add_batch_definition_whole_dataframe("batch"),
            suite=suite,
        )
    )
    result = validation.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=parameters or {},
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [index_column],
        },
    )

    failures = []
    for outcome in result.results:
        if outcome.success:
            continue
        kwargs = outcome.expectation_config.kwargs
        column = kwargs.get("column") or ",".join(kwargs.get("column_list", []))
        examples = (outcome.result.get("partial_unexpected_list") or [])[:EXAMPLES_SHOWN]
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            examples = [outcome.exception_info.get("exception_message")]
        failures.append(
            ExpectationFailure(
                outcome.expectation_config.type,
                column,
                outcome.result.get("unexpected_count"),
                [str(e) for e in examples],
            )
        )
    report = ValidationReport(suite_name, batch, len(frame), failures)
    log.info(
        "Validated %s with %r: %d rows, %d expectations failed",
        batch,
        suite_name,
        len(frame),
        len(failures),
    )
    return report


def _period_punches(conn: Connection, period: Period) -> pd.DataFrame:
    low = dt.datetime.combine(period.start - dt.timedelta(days=1), dt.time())
    high = dt.datetime.combine(period.end + dt.timedelta(days=2), dt.time())
    frame = read_frame(
        conn,
        select(punches.c.nip, punches.c.punched_at, punches.c.batch_id, work_units.c.timezone)
        .join(employees, employees.c.nip == punches.c.nip)
        .join(work_units, work_units.c.opd_code == employees.c.opd_code)
        .where(punches.c.punched_at.between(low, high)),
    )
    frame["local_time"] = pd.NaT
    for zone, rows in frame.groupby("timezone").groups.items():
        frame.loc[rows, "local_time"] = (
            pd.to_datetime(frame.loc[rows, "punched_at"])
            .dt.tz_localize("UTC")
            .dt.tz_convert(zone)
            .dt.tz_localize(None)
        )
    frame["local_time"] = pd.to_datetime(frame["local_time"])
    inside = (frame["local_time"].dt.date >= period.start) & (
        frame["local_time"].dt.date <= period.end
    )
    return frame.loc[inside, ["nip", "local_time", "batch_id"]].reset_index(drop=True)


def validate_period(conn: Connection, period: Period) -> list[ValidationReport]:
    """Validate the roster active in ``period`` and the punches of ``period``."""
    roster = read_frame(
        conn,
        select(
            employees.c.nip,
            employees.c.pin,
            employees.c.opd_code,
            employees.c.start_date,
            work_units.c.name.label("unit_name"),
        )
        .join(work_units, work_units.c.opd_code == employees.c.opd_code, isouter=True)
        .where(
            employees.c.start_date <= period.end,
            or_(employees.c.end_date.is_(None), employees.c.end_date >= period.start),
        ),
    )
    period_punches = _period_punches(conn, period)
    batches = sorted(period_punches["batch_id"].unique().tolist())
    bounds = {"period_start": f"{period.start}T00:00:00", "period_end": f"{period.end}T23:59:59"}
    return [
        validate_frame("roster", roster, f"roster active in {period}"),
        validate_frame(
            "punches", period_punches, f"punches of {period} (batches {batches})", bounds
        ),
    ]
