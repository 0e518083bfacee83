"""The approval step: a human-in-the-loop task per draft, answered in the Airflow UI.

The approver reads the draft (period, filters, band, employees with their counted days and
evidence, a preview of both notices) and picks one of three fixed options. Only the users named
in ``DISPENSER_APPROVERS`` may answer (Airflow refuses anyone else with 403). No answer within
``DISPENSER_APPROVAL_TIMEOUT_HOURS`` counts as a rejection. The answer is bound to the draft's
content hash: if the draft changed after the request, the task fails and nothing is sent.

An answer is never thrown away: one that leaves out the optional fields is completed with
empty ones, an exclusion of a NIP the draft does not hold is recorded and refuses the approval
(nothing is sent), and an answer to a draft a newer one superseded is only recorded. If the
step fails for good, the draft is closed as rejected, so no draft waits for an answer nobody
can give any more.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowFailException

APPROVE_ALL = "Setujui semua"
APPROVE_EXCEPT = "Setujui kecuali NIP terpilih"
REJECT = "Tolak"
EXCLUDED_PARAM = "nip_dikecualikan"
NOTE_PARAM = "catatan"
# A run's own answer time, in hours, when its DAG offers it as a param.
TIMEOUT_PARAM = "batas_waktu_persetujuan_jam"


def _answer_params(nips: list[str] | None = None) -> dict[str, Param]:
    # Both may stay empty: a type that admits null is what makes the form's field optional.
    excluded = Param(
        None,
        type=["null", "array"],
        title="NIP yang dikecualikan",
        description="Hanya untuk 'Setujui kecuali NIP terpilih': pegawai yang tidak dikirimi.",
        **({"examples": nips, "items": {"type": "string", "enum": nips}} if nips else {}),
    )
    note = Param(
        None,
        type=["null", "string"],
        title="Catatan",
        description="Catatan persetujuan (opsional).",
    )
    return {EXCLUDED_PARAM: excluded, NOTE_PARAM: note}


class DraftApprovalOperator(HITLOperator):
    """Ask an approver to approve all, approve with exclusions, or reject draft ``draft_id``."""

    template_fields = (*HITLOperator.template_fields, "draft_id")

    def __init__(
        self, *, draft_id: Any, approvers: list[str], timeout: timedelta, **kwargs
    ) -> None:
        # The answer form is ours; DAG-level params are not part of it.
        kwargs.pop("params", None)
        super().__init__(
            subject="Persetujuan draft notifikasi",
            options=[APPROVE_ALL, APPROVE_EXCEPT, REJECT],
            defaults=[REJECT],
            multiple=False,
            params=_answer_params(),
            assigned_users=[{"id": name, "name": name} for name in approvers],
            response_timeout=timeout,
            **kwargs,
        )
        self.draft_id = draft_id

    def execute(self, context):
        from airflow.sdk.definitions.param import ParamsDict

        from dispenser_core.approval_view import approval_body, approval_subject
        from dispenser_core.drafts import request_approval
        from dispenser_core.settings import load_settings
        from dispenser_core.storage.db import connect, make_engine

        engine = make_engine(load_settings())
        with connect(engine) as conn:
            draft = request_approval(conn, int(self.draft_id), actor=f"airflow:{context['run_id']}")
            self.subject = approval_subject(draft)
            self.body = approval_body(conn, draft)
        self.params = ParamsDict(_answer_params([item["nip"] for item in draft.items]))
        hours = (context.get("params") or {}).get(TIMEOUT_PARAM)
        if hours:
            self.response_timeout = timedelta(hours=float(hours))
        self.log.info(
            "Draft %s awaits approval: %d employees, content hash %s",
            draft.draft_id,
            len(draft.items),
            draft.content_hash[:12],
        )
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from dispenser_core.drafts import REJECTED, SUPERSEDED, record_decision
        from dispenser_core.settings import load_settings
        from dispenser_core.storage.db import connect, make_engine

        answer = super().execute_complete(context, _with_every_field(event))
        choice = answer["chosen_options"][0]
        params = answer["params_input"] or {}
        user = answer["responded_by_user"]
        approved = choice in (APPROVE_ALL, APPROVE_EXCEPT)
        excluded = list(params.get(EXCLUDED_PARAM) or []) if choice == APPROVE_EXCEPT else []

        engine = make_engine(load_settings())
        with connect(engine) as conn:
            draft = record_decision(
                conn,
                int(self.draft_id),
                approved=approved,
                actor=user["name"] if user else "timeout",
                excluded_nips=excluded,
                note=str(params.get(NOTE_PARAM) or ""),
                timed_out=bool(event.get("timedout")),
            )
        self.log.info(
            "Draft %s: %s by %s (%d excluded)",
            draft.draft_id,
            draft.status,
            user["id"] if user else "timeout",
            len(excluded),
        )
        if draft.status == SUPERSEDED:
            self.log.info(
                "Draft %s was superseded by a newer draft; nothing is sent.", draft.draft_id
            )
        elif approved and draft.status == REJECTED:
            raise AirflowFailException(_refusal(draft, excluded))
        return {"draft_id": draft.draft_id, "status": draft.status, "choice": choice}


def _with_every_field(event: dict[str, Any]) -> dict[str, Any]:
    """The answer with the form's optional fields it left out set to empty, and nothing else:
    Airflow refuses an answer whose fields differ from the form's, after accepting it."""
    given = event.get("params_input") or {}
    completed = {name: given.get(name) for name in (EXCLUDED_PARAM, NOTE_PARAM)}
    return {**event, "params_input": completed} if "params_input" in event else event


def _refusal(draft, excluded: list[str]) -> str:
    unknown = sorted(set(excluded) - {item["nip"] for item in draft.items})
    if unknown:
        return (
            f"Draft {draft.draft_id}: NIP {', '.join(unknown)} tidak ada di draft ini, jadi "
            "persetujuan ditolak dan tidak ada yang dikirim. Jalankan analisis lagi dan pilih "
            "NIP dari daftar draft."
        )
    return (
        f"Draft {draft.draft_id} changed after approval was requested; nothing will be sent. "
        "Run the analysis again to create a new draft and request approval anew."
    )


def close_unanswered_draft(context) -> None:
    """On the approval step's final failure: a draft still awaiting approval becomes rejected."""
    from dispenser_core.drafts import close_request
    from dispenser_core.settings import load_settings
    from dispenser_core.storage.db import connect, make_engine

    draft_id = getattr(context["task"], "draft_id", None)
    if draft_id is None:
        return
    with connect(make_engine(load_settings())) as conn:
        close_request(conn, int(draft_id), actor=f"airflow:{context['run_id']}")
