"""The end every discipline DAG shares: per draft, an approval by a person, then sending."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import task, task_group
from airflow.sdk.exceptions import AirflowSkipException

from dispenser_airflow.approval import DraftApprovalOperator, close_unanswered_draft
from dispenser_core.settings import load_settings

SETTINGS = load_settings()
# Caps how many notices are sent at once across all runs (created with the deployment).
NOTIFICATION_POOL = "dispenser_notifications"


@task(
    retries=6,
    retry_delay=timedelta(seconds=15),
    retry_exponential_backoff=True,
    max_retry_delay=timedelta(minutes=10),
    pool=NOTIFICATION_POOL,
)
def send_notices(draft_id: int) -> dict:
    """Deliver an approved draft's notices; a retry sends only those not delivered yet."""
    from dispenser_core import pipeline
    from dispenser_core.drafts import APPROVED, PARTLY_FAILED, SENDING, load_draft
    from dispenser_core.storage.db import connect

    engine = pipeline.prepare(SETTINGS)
    with connect(engine) as conn:
        status = load_draft(conn, draft_id).status
    if status not in (APPROVED, SENDING, PARTLY_FAILED):
        raise AirflowSkipException(f"Draft {draft_id} is {status}: nothing is sent.")
    return vars(pipeline.send_notices(engine, SETTINGS, draft_id))


@task_group
def review_and_send(draft_id: int) -> None:
    approval = DraftApprovalOperator(
        task_id="request_approval",
        draft_id=draft_id,
        approvers=list(SETTINGS.approvers),
        timeout=timedelta(hours=SETTINGS.approval_timeout_hours),
        # Airflow 3.3.2 can lose an answer given within a second or two of the request (the
        # scheduler then fails the task); the retry asks the approver again.
        retries=1,
        retry_delay=timedelta(seconds=5),
        on_failure_callback=close_unanswered_draft,
    )
    approval >> send_notices(draft_id)
