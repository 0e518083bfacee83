"""The start every discipline DAG shares ("Tarik Data"): load what waits in the inbox, pull
from the city's attendance API when one is configured, and check each new batch with its
great_expectations suite, one mapped task per batch.

The attendance API is the Airflow connection ``dispenser_attendance_api`` (type HTTP): host
and port (and ``schema`` ``https`` if it speaks TLS), login and password for basic auth or
``{"token": ...}`` in the extra for a bearer token. The extra may also name a ``mapping`` file
(another city's field names, see ``dispenser_core/sources/api_mapping.json``), the ``source``
name its punches are kept under (``api``) and ``overlap_minutes``. Without that connection,
``DISPENSER_API_URL`` and its companions in the settings are used; without either, only the
inbox is read.
"""

from __future__ import annotations

from airflow.sdk import get_current_context, task

from dispenser_core.settings import load_settings

SETTINGS = load_settings()
API_CONNECTION = "dispenser_attendance_api"


@task
def extract_sources() -> list[int]:
    """Load the inbox and pull the API; returns the batches this run added (files and pulls
    seen before are recognised and skipped)."""
    from dispenser_core import pipeline

    engine = pipeline.prepare(SETTINGS)
    loaded = pipeline.extract(engine, SETTINGS.inbox_dir)
    api = attendance_api()
    if api is not None:
        config, source = api
        print(f"Pulling the attendance API at {config.base_url} as source {source!r}")
        loaded += pipeline.pull_api(engine, SETTINGS, config, source=source)
    for summary in loaded:
        print(summary.describe())
    return [summary.batch_id for summary in loaded if not summary.already_loaded]


def attendance_api():
    """(ApiConfig, source name) of the connection, else of the settings; None without."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from dispenser_core import pipeline

    try:
        connection = BaseHook.get_connection(API_CONNECTION)
    except AirflowNotFoundException:
        config = pipeline.api_config(SETTINGS)
        return None if config is None else (config, "api")
    return config_of_connection(connection)


def config_of_connection(connection):
    """The API settings an Airflow connection holds (see the module's description)."""
    from dataclasses import replace

    from dispenser_core import pipeline

    extra = connection.extra_dejson
    host = connection.host or ""
    if "://" not in host:
        port = f":{connection.port}" if connection.port else ""
        host = f"{connection.schema or 'http'}://{host}{port}"
    settings = replace(SETTINGS, api_mapping=extra.get("mapping", SETTINGS.api_mapping))
    config = pipeline.api_config(
        settings,
        base_url=host,
        token=extra.get("token", ""),
        login=connection.login or "",
        password=connection.password or "",
        overlap_minutes=int(extra.get("overlap_minutes", SETTINGS.api_overlap_minutes)),
    )
    return config, extra.get("source", "api")


@task(retries=0)
def validate_batch(batch_id: int) -> dict:
    """Check one batch; a failure names the batch, the expectation and example rows, and links
    the Data Docs of the check."""
    from dispenser_core import pipeline

    label = f"{get_current_context()['run_id']}-batch-{batch_id}"
    return pipeline.validate_batches(
        pipeline.prepare(SETTINGS), SETTINGS, [batch_id], label
    ).as_dict()
