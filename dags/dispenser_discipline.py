"""Discipline runs: recap last month (or last year), find candidates, draft, approve, send."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from dispenser_airflow.intake import extract_sources, validate_batch
from dispenser_airflow.review import review_and_send
from dispenser_core.settings import load_settings

# 06:00 WIB on the first of each month: the month before is complete and synced.
AFTER_EACH_MONTH_ENDS = "0 6 1 * *"
# 07:00 WIB on 2 January: the year before is complete, after December's monthly run.
AFTER_EACH_YEAR_ENDS = "0 7 2 1 *"
LOCAL_TIMEZONE = "Asia/Jakarta"
SETTINGS = load_settings()
# Caps how many units' daily status are rebuilt at once across all runs (created with the
# deployment: `make demo`, `make cluster`, the compose `init`).
UNIT_POOL = "dispenser_units"

DOC = """
### {title}

Runs {when}, or by hand for any {unit} (param `period`, `{example}`).

1. `extract_sources` loads the files waiting in the inbox (`DISPENSER_INBOX_DIR`); a file loaded
   before is recognised and skipped; rows that cannot be used are kept aside with their reason.
2. `validate_batch` (one per new batch) and `validate_inputs` (the roster and punches of the
   period) run the great_expectations suites in `expectations/`; a failure stops the run and
   names the batch, the expectation and example rows. Each writes Data Docs; the task log gives
   their path.
3. `list_units` lists the units to judge, `count_source_days` the city's punches per source
   and day; `build_daily_status` (one per unit, as many at once as the pool `dispenser_units`
   has slots, spread over the workers) computes each unit's daily status from January 1st,
   rewriting only the employee-months that changed; `build_recap` merges them into the
   period's recap and checks that its counts add up.
4. `find_candidates` applies the PP 94/2021 bands (and escalation) and picks appreciations.
5. `save_drafts` saves a violation draft and an appreciation draft (overwriting pending ones).
6. Per draft, `review_and_send.request_approval` waits in **Required actions** for an approver;
   `review_and_send.send_notices` then delivers to each employee and their supervisor.

Every step is written to the audit log (`dispenser audit show`). Re-running any task is safe.
On failure: read the task log; the last line says what to fix.
"""


def _period_of_run(requested: str, yearly: bool) -> str:
    from dispenser_core.periods import Period

    if requested:
        return str(Period.parse(requested))
    run_after = get_current_context()["dag_run"].run_after
    today = pendulum.instance(run_after).in_tz(LOCAL_TIMEZONE).date()
    return str(Period(today.year - 1) if yearly else Period.month_before(today))


def discipline_dag(dag_id: str, *, yearly: bool) -> DAG:
    unit = "year" if yearly else "month"
    with DAG(
        dag_id=dag_id,
        description=("Rekap tahunan" if yearly else "Rekap bulanan")
        + ", kandidat pelanggaran dan apresiasi, persetujuan, pengiriman.",
        schedule=AFTER_EACH_YEAR_ENDS if yearly else AFTER_EACH_MONTH_ENDS,
        start_date=pendulum.datetime(2025, 1, 1, tz=LOCAL_TIMEZONE),
        catchup=False,
        max_active_runs=1,
        tags=["dispenser", "discipline", "yearly" if yearly else "monthly"],
        doc_md=DOC.format(
            title="Yearly discipline run" if yearly else "Monthly discipline run",
            when="on 2 January (07:00 WIB) for the year before"
            if yearly
            else "on the 1st of each month (06:00 WIB) for the month before",
            unit=unit,
            example="YYYY" if yearly else "YYYY-MM",
        ),
        default_args={
            "retries": 2,
            "retry_delay": timedelta(seconds=SETTINGS.retry_delay_seconds),
        },
        params={
            "period": Param(
                "",
                type="string",
                title="Periode (YYYY)" if yearly else "Periode (YYYY-MM)",
                description=f"Kosong = {'tahun' if yearly else 'bulan'} sebelum tanggal jalan.",
                pattern=r"^(\d{4})?$" if yearly else r"^(\d{4}-(0[1-9]|1[0-2]))?$",
            ),
        },
    ) as dag:

        @task
        def resolve_period(params: dict) -> str:
            return _period_of_run(params.get("period") or "", yearly)

        # Runs even when no new batch arrived (then nothing was mapped and skipped).
        @task(retries=0, trigger_rule="none_failed")
        def validate_inputs(period: str) -> dict:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            run_id = get_current_context()["run_id"]
            return pipeline.validate(
                pipeline.prepare(SETTINGS), SETTINGS, Period.parse(period), run_id
            ).as_dict()

        @task
        def list_units(period: str) -> list[str]:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            return pipeline.units_to_rebuild(pipeline.prepare(SETTINGS), Period.parse(period))

        @task
        def count_source_days(period: str) -> dict:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            return pipeline.count_source_days(pipeline.prepare(SETTINGS), Period.parse(period))

        @task(pool=UNIT_POOL, map_index_template="{{ opd_code }}")
        def build_daily_status(opd_code: str, period: str, source_days: dict) -> dict:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            get_current_context()["opd_code"] = opd_code  # names the mapped task in the UI
            engine = pipeline.prepare(SETTINGS)
            return pipeline.rebuild_unit_status(
                engine, Period.parse(period), [opd_code], source_days
            ).as_dict()

        # Runs when no unit had anyone at work too (then nothing was mapped and skipped).
        @task(trigger_rule="none_failed")
        def build_recap(period: str) -> dict:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            engine = pipeline.prepare(SETTINGS)
            built = pipeline.recap(engine, Period.parse(period), rebuild_status=False).as_dict()
            run_id = get_current_context()["run_id"]
            checked = pipeline.validate_results(engine, SETTINGS, Period.parse(period), run_id)
            return built | {"docs": checked.counts["docs"]}

        @task
        def find_candidates(period: str) -> dict:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            engine = pipeline.prepare(SETTINGS)
            return pipeline.find_candidates(
                engine, Period.parse(period), SETTINGS.appreciation_top_per_unit
            ).as_dict()

        @task
        def save_drafts(period: str) -> list[int]:
            from dispenser_core import pipeline
            from dispenser_core.periods import Period

            run_id = get_current_context()["run_id"]
            return pipeline.save_drafts(
                pipeline.prepare(SETTINGS), Period.parse(period), actor=f"airflow:{run_id}"
            )

        period = resolve_period()
        new_batches = extract_sources()
        checked = validate_batch.expand(batch_id=new_batches)
        validated = validate_inputs(period)
        units = list_units(period)
        source_days = count_source_days(period)
        statuses = build_daily_status.partial(period=period, source_days=source_days).expand(
            opd_code=units
        )
        recap = build_recap(period)
        candidates = find_candidates(period)
        drafts = save_drafts(period)

        checked >> validated >> [units, source_days]
        statuses >> recap >> candidates >> drafts
        review_and_send.expand(draft_id=drafts)
    return dag


monthly = discipline_dag("dispenser_monthly_discipline", yearly=False)
yearly = discipline_dag("dispenser_yearly_discipline", yearly=True)
