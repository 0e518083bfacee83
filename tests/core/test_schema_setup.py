"""Schema set-up as the DAG's tasks do it: every task prepares the schema, mapped tasks start
together, and a set-up must neither fail nor disturb another."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, inspect, text

from dispenser_core.storage.db import connect, create_schema, make_engine
from dispenser_core.storage.schema import schema_scripts

VIEWS = {
    "rekap_kehadiran",
    "rekap_per_opd",
    "kandidat_pelanggaran",
    "kandidat_apresiasi",
    "draft_pending",
    "riwayat_notifikasi",
}


def _set_up_at_once(url: str, processes: int = 6) -> None:
    def set_up(_):
        engine = make_engine(url)
        try:
            create_schema(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(set_up, range(processes)))


def test_set_ups_that_start_together_all_succeed(database_url):
    _set_up_at_once(database_url)
    _set_up_at_once(database_url)  # and again, on the ready schema
    engine = create_engine(database_url)
    assert set(inspect(engine).get_view_names()) >= VIEWS


def test_the_views_are_made_again_only_when_their_scripts_changed(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    with connect(engine) as conn:
        conn.execute(text("DROP VIEW rekap_per_opd"))
    create_schema(engine)  # same scripts: nothing is re-run
    assert "rekap_per_opd" not in inspect(engine).get_view_names()

    with connect(engine) as conn:  # as after an upgrade that changed the scripts
        conn.execute(schema_scripts.update().values(sha256="an older version"))
    create_schema(engine)
    assert "rekap_per_opd" in inspect(engine).get_view_names()


def test_an_older_database_gets_the_indexes_added_since(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    with connect(engine) as conn:
        conn.execute(text("DROP INDEX ix_recaps_unit"))
        conn.execute(schema_scripts.delete())  # a set-up from before the index existed
    create_schema(engine)
    assert "ix_recaps_unit" in {i["name"] for i in inspect(engine).get_indexes("recaps")}
