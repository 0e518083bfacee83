"""The start every discipline DAG shares: load what waits in the inbox ("Tarik Data") and
check each new batch with its great_expectations suite, one mapped task per batch."""

from __future__ import annotations

from airflow.sdk import get_current_context, task

from dispenser_core.settings import load_settings

SETTINGS = load_settings()


@task
def extract_sources() -> list[int]:
    """Load the inbox; returns the batches this run added (files seen before are skipped)."""
    from dispenser_core import pipeline

    engine = pipeline.prepare(SETTINGS)
    loaded = pipeline.extract(engine, SETTINGS.inbox_dir)
    for summary in loaded:
        print(summary.describe())
    return [summary.batch_id for summary in loaded if not summary.already_loaded]


@task(retries=0)
def validate_batch(batch_id: int) -> dict:
    """Check one batch; a failure names the batch, the expectation and example rows, and links
    the Data Docs of the check."""
    from dispenser_core import pipeline

    label = f"{get_current_context()['run_id']}-batch-{batch_id}"
    return pipeline.validate_batches(
        pipeline.prepare(SETTINGS), SETTINGS, [batch_id], label
    ).as_dict()
