"""The dashboard and "Rekapitulasi Kehadiran" pages, served by Airflow's API server.

Every route asks Airflow for the signed-in user (``GetUserDep``): a page opened from the
Airflow UI carries its session cookie, a script sends a bearer token, anyone else gets 401.
The pages read only precomputed tables (recaps, daily status) through
``dispenser_core.dashboard``; links are relative, so the pages work under any URL prefix and
inside the UI's frame. Nothing is loaded from another host.
"""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
from pathlib import Path
from typing import Annotated

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, Query
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dispenser_core import dashboard, exports
from dispenser_core.exceptions import DispenserError
from dispenser_core.settings import load_settings
from dispenser_core.storage.db import connect, make_engine

SETTINGS = load_settings()
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The recap table's columns: key of dashboard.recap_page's rows, header of the original screen.
COLUMNS = (
    ("periode", "Periode"),
    ("pegawai", "Pegawai"),
    ("nip", "NIP"),
    ("opd", "OPD"),
    ("golongan", "Gol."),
    ("hari_kerja", "Hari kerja"),
    ("hadir", "Hadir"),
    ("tidak_hadir", "Tidak hadir"),
    ("tanpa_keterangan", "TK"),
    ("cuti", "Cuti"),
    ("sakit", "Sakit"),
    ("izin", "Izin"),
    ("dinas_luar", "DL"),
    ("tidak_absen_masuk", "Tdk absen masuk"),
    ("tidak_absen_pulang", "Tdk absen pulang"),
    ("menit_terlambat", "Menit terlambat"),
    ("menit_pulang_cepat", "Menit pulang cepat"),
    ("tk_setara", "TK setara"),
    ("tk_kumulatif_tahun_ini", "TK kumulatif"),
)

app = FastAPI(title="Dispenser", docs_url=None, redoc_url=None, openapi_url=None)


@functools.cache
def _engine():
    return make_engine(SETTINGS, create=False)


def _page(template: str, status_code: int = 200, **context) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def _no_data(error: Exception) -> HTMLResponse:
    return _page("message.html", 503, title="Belum ada data", message=str(error))


class RecapQuery:
    """The recap page's filters as query parameters, with the original screen's names."""

    def __init__(
        self,
        jenis: str = "bulan",
        dari: str = "",
        sampai: str = "",
        opd: Annotated[list[str] | None, Query()] = None,
        cari: str = "",
        urut: str = "nip",
        turun: str = "",
        halaman: int = 1,
        per_halaman: int = 50,
    ):
        self.values = {
            "jenis": jenis,
            "dari": dari,
            "sampai": sampai,
            "opd": opd or [],
            "cari": cari,
            "urut": urut,
            "turun": turun,
            "halaman": halaman,
            "per_halaman": per_halaman,
        }

    def to_filter(self) -> dashboard.RecapFilter:
        v = self.values
        return dashboard.RecapFilter(
            period_kind="year" if v["jenis"] == "tahun" else "month",
            period_from=v["dari"] or None,
            period_to=v["sampai"] or None,
            units=tuple(code for code in v["opd"] if code),
            who=v["cari"].strip(),
            sort=v["urut"] or "nip",
            descending=v["turun"] == "1",
            page=v["halaman"],
            page_size=v["per_halaman"],
        )

    def link(self, **changes) -> str:
        """The query string of these filters with ``changes`` applied."""
        values = {k: v for k, v in (self.values | changes).items() if v not in ("", None, [])}
        return urllib.parse.urlencode(values, doseq=True)


@app.get("/", response_class=HTMLResponse)
def dasbor(user: GetUserDep) -> HTMLResponse:
    try:
        with connect(_engine()) as conn:
            summary = dashboard.dashboard_summary(conn, dt.date.today())
    except DispenserError as error:
        return _no_data(error)
    return _page("dashboard.html", summary=summary, chart=_trend_chart(summary["trend"]), user=user)


@app.get("/rekap", response_class=HTMLResponse)
def rekap(user: GetUserDep, query: Annotated[RecapQuery, Depends()]) -> HTMLResponse:
    try:
        recap_filter = query.to_filter()
        with connect(_engine()) as conn:
            page = dashboard.recap_page(conn, recap_filter)
            units = dashboard.units(conn)
    except ValueError as error:
        return _page("message.html", 400, title="Filter tidak valid", message=str(error))
    except DispenserError as error:
        return _no_data(error)
    return _page(
        "recap.html",
        page=page,
        units=units,
        query=query,
        values=query.values,
        columns=COLUMNS,
        user=user,
    )


@app.get("/pegawai/{nip}", response_class=HTMLResponse)
def pegawai(user: GetUserDep, nip: str, dari: str = "", sampai: str = "") -> HTMLResponse:
    try:
        with connect(_engine()) as conn:
            if not dari:  # one month: a year of one person's punches is slow to read
                month = dashboard.latest_judged_month(conn, dt.date.today(), nip)
                dari = str(month) if month else f"{dt.date.today():%Y-%m}"
            sampai = sampai or dari
            detail = dashboard.employee_detail(conn, nip, dari, sampai)
    except ValueError as error:
        return _page("message.html", 400, title="Periode tidak valid", message=str(error))
    except DispenserError as error:
        return _no_data(error)
    if detail is None:
        return _page("message.html", 404, title="Pegawai tidak ditemukan", message=f"NIP {nip}")
    return _page("employee.html", detail=detail, dari=dari, sampai=sampai, user=user)


@app.get("/rekap/unduh.xlsx")
def unduh_xlsx(user: GetUserDep, query: Annotated[RecapQuery, Depends()]) -> Response:
    return _download(query, exports.recap_xlsx, XLSX, "xlsx")


@app.get("/rekap/unduh.csv")
def unduh_csv(user: GetUserDep, query: Annotated[RecapQuery, Depends()]) -> Response:
    return _download(query, exports.recap_csv, "text/csv; charset=utf-8", "csv")


def _download(query: RecapQuery, export, media_type: str, suffix: str) -> Response:
    if not query.values["dari"]:
        # Every period of a whole city is millions of rows and minutes of work: ask for a range.
        return Response(
            "Pilih periode (Dari) sebelum mengunduh, misalnya dari=2025-11.",
            status_code=400,
            media_type="text/plain; charset=utf-8",
        )
    try:
        recap_filter = query.to_filter()
        with connect(_engine()) as conn:
            content = export(conn, recap_filter)
    except ValueError as error:
        return Response(str(error), status_code=400, media_type="text/plain; charset=utf-8")
    except DispenserError as error:
        return Response(str(error), status_code=503, media_type="text/plain; charset=utf-8")
    name = f"rekap-kehadiran-{recap_filter.period_from or 'semua'}.{suffix}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _trend_chart(trend: list[dict], width: int = 640, height: int = 180) -> dict:
    """Bars of TK days per month, as coordinates for an inline SVG (no script, no CDN)."""
    if not trend:
        return {"bars": [], "width": width, "height": height}
    top = max(max(point["tk"] for point in trend), 1)
    slot = width / len(trend)
    bars = []
    for index, point in enumerate(trend):
        bar_height = (height - 30) * point["tk"] / top
        bars.append(
            {
                "x": round(index * slot + slot * 0.15, 1),
                "y": round(height - 20 - bar_height, 1),
                "width": round(slot * 0.7, 1),
                "height": round(bar_height, 1),
                "label": point.get("label", point["period"]),
                "label_x": round(index * slot + slot / 2, 1),
                "value": point["tk"],
                "late": point.get("late_minutes", 0),
            }
        )
    return {"bars": bars, "width": width, "height": height}
