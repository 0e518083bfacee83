"""Analisis Disiplin: an operator's own draft, from the filters of the original screen."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from dispenser_airflow.intake import extract_sources, validate_batch
from dispenser_airflow.review import review_and_send
from dispenser_core.settings import load_settings

LOCAL_TIMEZONE = "Asia/Jakarta"
SETTINGS = load_settings()
# The bands offered in the form, read from the rule file shipped with the code (no database).
_RULES = json.loads(
    resources.files("dispenser_core.rules").joinpath("discipline_bands.json").read_text()
)["versions"][-1]
BANDS = {"Semua": "Semua data hukuman"} | {
    band["code"]: f"{band['code']} - {band['punishment']}"
    for band in (*_RULES["bands"], _RULES["consecutive"])
}
LAST_MONTH = pendulum.now(LOCAL_TIMEZONE).start_of("month").subtract(days=1).format("YYYY-MM")

DOC = """
### Analisis Disiplin

The operator's screen of the original product, as a trigger form: choose the period, the
units, an employee, violations or appreciations, the punishment band and the range of
violation days, then **Buat Draft Baru** (a new draft) or **Timpa Draft** (replace the pending
draft with the same filters). The title fills itself from period, units and band unless you
write one.

1. `extract_sources` loads what waits in the inbox ("Tarik Data").
2. `check_request` checks the whole form and lists every value to change; nothing is written
   before it passes.
3. `save_draft` brings the period's recap and candidates up to date and saves the draft; a
   filter that leaves nobody stops here with a message, and no draft is saved.
4. `review_and_send.request_approval` waits in **Required actions** for an approver, then
   `review_and_send.send_notices` delivers the notices.
"""

with DAG(
    dag_id="dispenser_analisis_disiplin",
    description="Analisis Disiplin: draft notifikasi dari filter, persetujuan, pengiriman.",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz=LOCAL_TIMEZONE),
    catchup=False,
    tags=["dispenser", "discipline", "analysis"],
    doc_md=DOC,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=SETTINGS.retry_delay_seconds)},
    params={
        "periode": Param(
            LAST_MONTH,
            type="string",
            title="Periode",
            description="Per bulan (YYYY-MM) atau per tahun (YYYY), waktu WIB.",
            pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$",
        ),
        "opd": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Filter OPD",
            description="Kode OPD, satu per baris; kosong = Semua OPD.",
        ),
        "pegawai": Param(
            "",
            type="string",
            title="Nama Pegawai atau NIP",
            description="Sebagian nama atau NIP; kosong = semua pegawai.",
        ),
        "jenis": Param(
            "Pelanggaran", type="string", enum=["Pelanggaran", "Apresiasi"], title="Analisis"
        ),
        "data_hukuman": Param(
            "Semua", type="string", enum=list(BANDS), values_display=BANDS, title="Data Hukuman"
        ),
        "minimal_hari": Param(
            None, type=["null", "integer"], minimum=0, title="Minimal Hari Pelanggaran"
        ),
        "maksimal_hari": Param(
            None, type=["null", "integer"], minimum=0, title="Maksimal Hari Pelanggaran"
        ),
        "mode_draft": Param(
            "Buat Draft Baru",
            type="string",
            enum=["Buat Draft Baru", "Timpa Draft"],
            title="Pengaturan Draft",
        ),
        "judul": Param(
            "",
            type="string",
            title="Judul Notifikasi",
            description="Kosong = otomatis, mis. Draft Notifikasi Disiplin - November 2025.",
        ),
        "catatan": Param("", type="string", title="Catatan"),
        "batas_waktu_persetujuan_jam": Param(
            SETTINGS.approval_timeout_hours,
            type="number",
            exclusiveMinimum=0,
            title="Batas waktu persetujuan (jam)",
            description="Tanpa jawaban sampai batas ini, draft dianggap ditolak.",
        ),
    },
) as dag:

    @task(retries=0, trigger_rule="none_failed")
    def check_request(params: dict) -> dict:
        from dispenser_core import pipeline

        request = pipeline.check_request(pipeline.prepare(SETTINGS), SETTINGS, params)
        return {"period": str(request.period), "title": request.title or "(otomatis)"}

    @task(retries=0)
    def save_draft(params: dict) -> list[int]:
        from dispenser_core import pipeline

        run_id = get_current_context()["run_id"]
        engine = pipeline.prepare(SETTINGS)
        return [pipeline.analyse(engine, SETTINGS, params, actor=f"airflow:{run_id}")]

    new_batches = extract_sources()
    batches_checked = validate_batch.expand(batch_id=new_batches)
    checked = check_request()
    drafts = save_draft()
    batches_checked >> checked >> drafts
    review_and_send.expand(draft_id=drafts)
