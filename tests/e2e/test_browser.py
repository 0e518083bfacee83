"""An approver in a real browser: headless Chromium (Debian's package) driven by Playwright signs
in to the Airflow UI, opens the waiting approval and clicks Setujui semua; the notices arrive.
A viewer clicking the same button changes nothing. Every request that is not to 127.0.0.1 is
blocked, as on an intranet. Screenshots go to test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from dispenser_core.drafts import load_draft
from dispenser_core.sample_city import PLANTED_THREE
from dispenser_core.settings import PROJECT_ROOT
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import notices

pytestmark = pytest.mark.airflow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
DAG = "dispenser_analisis_disiplin"
# Flags that keep Chromium from calling outside hosts on start (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/ensure-browser.sh installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser, stack, user: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    local = stack.airflow.url
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(local) else route.abort(),
    )
    page.goto(f"{local}/auth/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", stack.airflow.password(user))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{local}/", timeout=30_000)
    return page


def _open_the_approval(page, subject: str) -> None:
    page.get_by_text("Required Actions").first.click()
    page.get_by_text(subject).first.click()
    page.get_by_role("button", name="Setujui semua").wait_for(timeout=30_000)


def _draft_status(stack, draft_id: int) -> str:
    with connect(create_engine(stack.database_url)) as conn:
        return load_draft(conn, draft_id).status


def test_the_approver_approves_in_the_ui_and_a_viewer_cannot(stack, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    run_id = stack.trigger_dag(
        DAG, {"periode": "2025-10", "opd": ["BAPPEDA"], "jenis": "Apresiasi"}
    )
    [detail] = stack.wait_for_approvals(run_id, expected=1, dag_id=DAG)
    draft_id = int(detail["body"].split("**Draft:** #")[1].split(",")[0])
    subject = detail["subject"]

    viewer = _page(browser, stack, "viewer")
    _open_the_approval(viewer, subject)
    viewer.get_by_role("button", name="Setujui semua").click()
    viewer.wait_for_timeout(3000)  # Airflow answers 403: the viewer is not a respondent
    viewer.screenshot(path=str(ARTIFACTS / "approval-as-viewer.png"), full_page=True)
    assert _draft_status(stack, draft_id) == "awaiting_approval"

    approver = _page(browser, stack, "approver")
    _open_the_approval(approver, subject)
    assert approver.get_by_text("Periode:").first.is_visible()
    approver.screenshot(path=str(ARTIFACTS / "approval-before-click.png"), full_page=True)
    approver.get_by_role("button", name="Setujui semua").click()

    assert stack.wait_for_end(run_id, timeout=90, dag_id=DAG) == "success"
    approver.screenshot(path=str(ARTIFACTS / "approval-after-click.png"), full_page=True)
    with connect(create_engine(stack.database_url)) as conn:
        keys = set(
            conn.scalars(select(notices.c.idempotency_key).where(notices.c.draft_id == draft_id))
        )
        approver_row = load_draft(conn, draft_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not keys <= {
        n["idempotency_key"] for n in stack.gateway.state.received
    }:
        time.sleep(1)
    assert keys and keys <= {n["idempotency_key"] for n in stack.gateway.state.received}
    assert (approver_row.status, approver_row.decided_by) == ("sent", "approver")


def test_a_signed_in_user_filters_the_recap_in_the_airflow_ui(stack, browser, recapped_november):
    ARTIFACTS.mkdir(exist_ok=True)
    page = _page(browser, stack, "viewer")

    page.goto(f"{stack.airflow.url}/plugin/dispenser-dasbor")
    dashboard = page.frame_locator("iframe")
    dashboard.locator("#draft-pending").wait_for(timeout=30_000)
    assert dashboard.locator("#tren rect").count() == 12  # one bar per month
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.goto(f"{stack.airflow.url}/plugin/dispenser-rekap")
    recap = page.frame_locator("iframe")
    recap.locator("input[name=dari]").fill("2025-11")
    recap.locator("input[name=sampai]").fill("2025-11")
    recap.locator("input[name=cari]").fill(PLANTED_THREE)
    recap.get_by_role("button", name="Tampilkan").click()
    recap.get_by_text("1 baris").wait_for(timeout=30_000)
    rows = recap.locator("#rekap tr")
    assert rows.count() == 2  # the header and the one employee
    cells = rows.nth(1).locator("td").all_inner_texts()
    headers = rows.nth(0).locator("th").all_inner_texts()
    row = dict(zip([h.strip(" ▲▼") for h in headers], cells, strict=True))
    assert (row["NIP"], row["Hari kerja"], row["TK"]) == (PLANTED_THREE, "20", "3")
    page.screenshot(path=str(ARTIFACTS / "recap-filtered.png"), full_page=True)
