"""The dashboard and recap pages inside the session's Airflow: closed to anyone without an
Airflow session, open to any signed-in user, and showing the sample city's planted employees
with the days planted for them. November 2025 has 20 working days (no public holiday)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import requests

from dispenser_core.sample_city import PLANTED_RUN, PLANTED_THREE

pytestmark = pytest.mark.airflow

PAGES = (
    "/dispenser/",
    "/dispenser/rekap",
    "/dispenser/rekap/unduh.xlsx",
    "/dispenser/rekap/unduh.csv",
)


def _get(stack, path: str, user: str | None = "viewer", **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {stack.airflow.token(user)}"} if user else {}
    return requests.get(f"{stack.airflow.url}{path}", headers=headers, params=params, timeout=30)


@pytest.mark.parametrize("path", PAGES)
def test_a_request_without_a_session_is_refused(stack, path):
    assert _get(stack, path, user=None).status_code == 401
    forged = requests.get(
        f"{stack.airflow.url}{path}", cookies={"_token": "not-a-token"}, timeout=30
    )
    assert forged.status_code in (401, 403)


def test_the_plugin_is_in_the_navigation(stack):
    views = {
        view["url_route"]: view["href"]
        for plugin in stack.airflow.api("GET", "/api/v2/plugins").json()["plugins"]
        for view in plugin["external_views"]
    }
    assert views["dispenser-dasbor"] == "dispenser/"
    assert views["dispenser-rekap"] == "dispenser/rekap"


def test_the_recap_page_filters_by_nip(stack, recapped_november):
    page = _get(stack, "/dispenser/rekap", dari="2025-11", sampai="2025-11", cari=PLANTED_THREE)
    assert page.status_code == 200, page.text[-500:]
    assert "1 baris" in page.text
    assert f">{PLANTED_THREE}</a>" in page.text
    assert PLANTED_RUN not in page.text


def test_a_bad_filter_says_what_to_change(stack, recapped_november):
    page = _get(stack, "/dispenser/rekap", dari="November")
    assert page.status_code == 400
    assert "November" in page.text


def test_the_employee_page_shows_each_day(stack, recapped_november):
    page = _get(stack, f"/dispenser/pegawai/{PLANTED_THREE}", dari="2025-11", sampai="2025-11")
    assert page.status_code == 200, page.text[-500:]
    for day in ("2025-11-05", "2025-11-12", "2025-11-19"):
        row = page.text.split(f"<td>{day}</td>")[1].split("</tr>")[0]
        assert "Tanpa Keterangan" in row, row
    assert _get(stack, "/dispenser/pegawai/199999999999999999").status_code == 404


def test_the_dashboard_answers_for_a_signed_in_user(stack, recapped_november):
    page = _get(stack, "/dispenser/")
    assert page.status_code == 200, page.text[-500:]
    assert 'id="draft-pending"' in page.text and "<svg" in page.text
    assert "DISDIK" in page.text or "Dinas Pendidikan" in page.text


def test_the_xlsx_download_holds_the_filtered_recap(stack, recapped_november):
    response = _get(
        stack, "/dispenser/rekap/unduh.xlsx", dari="2025-11", sampai="2025-11", cari=PLANTED_THREE
    )
    assert response.status_code == 200, response.text[-500:]
    assert "attachment" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    summary = book.worksheets[0]
    headers = [cell.value for cell in summary[1]]
    row = dict(zip(headers, [cell.value for cell in summary[2]], strict=True))
    assert summary.max_row == 2
    assert row["NIP"] == PLANTED_THREE and isinstance(row["NIP"], str)
    assert (row["Hari Kerja"], row["TK"] if "TK" in row else row["Tanpa Keterangan"]) == (20, 3)


def test_the_csv_download_matches(stack, recapped_november):
    response = _get(
        stack, "/dispenser/rekap/unduh.csv", dari="2025-11", sampai="2025-11", cari=PLANTED_THREE
    )
    assert response.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["NIP"] == PLANTED_THREE and row["Hari Kerja"] == "20"


def test_a_download_needs_a_period(stack, recapped_november):
    response = _get(stack, "/dispenser/rekap/unduh.xlsx", opd="DISDIK")
    assert response.status_code == 400
    assert "Pilih periode" in response.text
