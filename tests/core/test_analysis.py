"""The "Analisis Disiplin" form: every bad value gets a message saying what to change, and a
good form on the small office gives the draft an operator expects."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from dispenser_core import pipeline, reports
from dispenser_core.analysis import RequestInvalid, read_request
from dispenser_core.periods import Period
from dispenser_core.storage.db import connect
from tests.conftest import CASES

TODAY = dt.date(2026, 12, 4)
UNITS = {"DINAS-CONTOH": "Dinas Contoh", "DISDIK": "Dinas Pendidikan"}
E2, E4 = "198502022010012002", "199104042016011004"


def _form(**changes) -> dict:
    return {
        "periode": "2025-11",
        "opd": [],
        "pegawai": "",
        "jenis": "Pelanggaran",
        "data_hukuman": "Semua",
        "minimal_hari": None,
        "maksimal_hari": None,
        "mode_draft": "Buat Draft Baru",
        "judul": "",
        "catatan": "",
    } | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"periode": "2025-13"}, "Periode '2025-13' tidak dikenali"),
        ({"periode": "November"}, "tulis bulan seperti 2025-11 atau tahun seperti 2025"),
        ({"periode": "2027-01"}, "Periode Januari 2027 belum dimulai (hari ini 4 Desember 2026)"),
        ({"opd": ["DISDIK", "NOPE"]}, "OPD tidak dikenal: NOPE. Pilih dari: DINAS-CONTOH, DISDIK"),
        (
            {"minimal_hari": 5, "maksimal_hari": 3},
            "Minimal hari pelanggaran (5) lebih besar dari maksimal (3)",
        ),
        ({"minimal_hari": -1}, "Minimal hari pelanggaran (-1) tidak boleh negatif"),
        ({"maksimal_hari": "tiga"}, "Maksimal hari pelanggaran 'tiga' bukan bilangan bulat"),
        ({"jenis": "Hukuman"}, "Jenis 'Hukuman' tidak dikenal"),
        ({"data_hukuman": "X9"}, "Data hukuman 'X9' tidak dikenal"),
        (
            {"jenis": "Apresiasi", "data_hukuman": "R1"},
            "Data hukuman hanya berlaku untuk Pelanggaran",
        ),
        ({"mode_draft": "Hapus"}, "Mode draft 'Hapus' tidak dikenal"),
    ],
    ids=[
        "month-13",
        "words",
        "future",
        "unknown-unit",
        "min-above-max",
        "negative",
        "not-a-number",
        "unknown-kind",
        "unknown-band",
        "band-for-appreciation",
        "unknown-mode",
    ],
)
def test_a_bad_value_is_named_with_what_to_change(changes, message):
    with pytest.raises(RequestInvalid, match="Formulir belum bisa diproses") as raised:
        read_request(_form(**changes), today=TODAY, units=UNITS)
    assert message in str(raised.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(RequestInvalid) as raised:
        read_request(
            _form(periode="x", opd=["NOPE"], minimal_hari=9, maksimal_hari=1),
            today=TODAY,
            units=UNITS,
        )
    assert str(raised.value).count("\n- ") == 3


def test_a_good_form_becomes_filters():
    request = read_request(
        _form(
            opd=["DISDIK"],
            data_hukuman="R2",
            minimal_hari=4,
            maksimal_hari=6,
            mode_draft="Timpa Draft",
            pegawai=" Ani ",
        ),
        today=TODAY,
        units=UNITS,
    )
    assert (request.period, request.mode) == (Period(2025, 11), "overwrite")
    assert (request.filters.units, request.filters.band, request.filters.employee) == (
        ("DISDIK",),
        "R2",
        "Ani",
    )


@pytest.fixture
def office(engine, settings):
    shutil.copytree(CASES / "small_office", settings.inbox_dir)
    pipeline.extract(engine, settings.inbox_dir)
    return engine


def test_a_filtered_analysis_saves_one_titled_draft(office, settings):
    form = _form(data_hukuman="R2", opd=["DINAS-CONTOH"])
    draft_id = pipeline.analyse(office, settings, form, actor="operator", today=TODAY)
    with connect(office) as conn:
        draft = next(d for d in reports.draft_rows(conn) if d["draft_id"] == draft_id)
    # Only E4 (6 TK days) is in band R2; E2 (3 days) is R1.
    assert (draft["employees"], draft["status"]) == (1, "pending")
    assert draft["title"] == (
        "Draft Notifikasi Disiplin - November 2025 - Dinas Contoh - "
        "Hukuman disiplin ringan - Teguran tertulis"
    )


def test_a_filter_that_leaves_nobody_writes_nothing(office, settings):
    with pytest.raises(RequestInvalid, match="Tidak ada kandidat pelanggaran November 2025"):
        pipeline.analyse(office, settings, _form(minimal_hari=7), actor="operator", today=TODAY)
    with connect(office) as conn:
        assert reports.draft_rows(conn) == []


def test_new_draft_and_overwrite_follow_the_operator(office, settings):
    first = pipeline.analyse(office, settings, _form(), actor="operator", today=TODAY)
    second = pipeline.analyse(office, settings, _form(), actor="operator", today=TODAY)
    replaced = pipeline.analyse(
        office,
        settings,
        _form(mode_draft="Timpa Draft", judul="Peringatan November"),
        actor="operator",
        today=TODAY,
    )
    with connect(office) as conn:
        drafts = {d["draft_id"]: d for d in reports.draft_rows(conn)}
    assert first != second and replaced == second  # overwrite replaces the latest pending one
    assert drafts[second]["title"] == "Peringatan November"
    assert len(drafts) == 2


def test_overwrite_never_touches_a_draft_already_decided(office, settings):
    from dispenser_core import audit
    from dispenser_core.drafts import record_decision, request_approval

    first = pipeline.analyse(office, settings, _form(), actor="operator", today=TODAY)
    with connect(office) as conn:
        request_approval(conn, first, actor="test")
        record_decision(conn, first, approved=True, actor="approver")
    again = pipeline.analyse(
        office, settings, _form(mode_draft="Timpa Draft"), actor="operator", today=TODAY
    )
    assert again != first
    with connect(office) as conn:
        statuses = {d["draft_id"]: d["status"] for d in reports.draft_rows(conn)}
        created = [e for e in audit.entries(conn, entity="draft") if e["action"] == "draft_created"]
    assert statuses == {first: "approved", again: "pending"}
    assert [e["details"]["employees"] for e in created] == [2, 2]


def test_overwriting_records_who_was_added_and_removed(office, settings):
    from dispenser_core import audit

    first = pipeline.analyse(office, settings, _form(pegawai=E2), actor="op", today=TODAY)
    pipeline.analyse(office, settings, _form(mode_draft="Timpa Draft"), actor="op", today=TODAY)
    with connect(office) as conn:
        last = audit.entries(conn, entity="draft", entity_id=first)[-1]
    assert last["action"] == "draft_overwritten"
    assert (last["details"]["added"], last["details"]["removed"]) == ([E4], [])
