"""A throwaway PostgreSQL database holding the synthetic city's units and employees, for the
benchmarks that time work in the database. Dropped when done, whatever happens."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid

from sqlalchemy import Engine, create_engine, insert, text

from benchmarks import city_scale
from dispenser_core.storage.db import connect, create_schema
from dispenser_core.storage.schema import employees, import_batches, work_units

SERVER = os.environ.get(
    "DISPENSER_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def city_database():
    """(engine, staff, batch_id): Dispenser's schema with the city's roster and one open
    attlog batch, in a database of its own."""
    name = f"dispenser_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(admin.url.set(database=name))
    try:
        create_schema(engine)
        staff = city_scale.employees()
        yield engine, staff, _load_roster(engine, staff)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load_roster(engine: Engine, staff) -> int:
    with connect(engine) as conn:
        conn.execute(
            insert(work_units), [{"opd_code": u, "name": u} for u in staff["opd_code"].unique()]
        )
        conn.execute(
            insert(employees),
            [
                {
                    "nip": r.nip,
                    "name": r.nip,
                    "opd_code": r.opd_code,
                    "start_date": dt.date(2010, 1, 1),
                }
                for r in staff.itertuples()
            ],
        )
        return conn.execute(
            insert(import_batches).values(
                source_kind="attlog",
                file_name="bench",
                file_sha256="bench",
                imported_at=dt.datetime(2025, 12, 1),
            )
        ).inserted_primary_key[0]
