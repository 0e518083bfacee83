"""Shared fixtures: hermetic settings, and the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dispenser_core import pipeline
from dispenser_core.settings import Settings

CASES = Path(__file__).parent / "cases"
REAL_DATA = Path(
    os.environ.get("DISPENSER_REAL_DATA", Path(__file__).parents[2] / "shared" / "data" / "real")
)
POSTGRES_URL = os.environ.get(
    "DISPENSER_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch, tmp_path):
    """No test reads the developer's own DISPENSER_* settings or writes to ./data."""
    for name in list(os.environ):
        if name.startswith("DISPENSER_") and name not in (
            "DISPENSER_TEST_POSTGRES_URL",
            "DISPENSER_SKIP_POSTGRES",
            "DISPENSER_REAL_DATA",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DISPENSER_DATA_DIR", str(tmp_path / "data"))


@contextmanager
def fresh_postgres_database(prefix: str):
    """A database of its own on the test PostgreSQL server (its URL), dropped afterwards."""
    if os.environ.get("DISPENSER_SKIP_POSTGRES") == "1":
        pytest.skip("DISPENSER_SKIP_POSTGRES=1")
    server = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # noqa: BLE001 - any failure here means the same thing
        pytest.fail(
            f"No PostgreSQL at {POSTGRES_URL} ({err}). Start one, set "
            "DISPENSER_TEST_POSTGRES_URL, or DISPENSER_SKIP_POSTGRES=1 to skip."
        )
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    with fresh_postgres_database("dispenser_test") as url:
        yield url


def _empty_postgres(url: str) -> str:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """An empty database: a SQLite file, or the PostgreSQL test database wiped clean."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dispenser.sqlite'}"
    return _empty_postgres(request.getfixturevalue("postgres_database"))


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, inbox_dir=tmp_path / "inbox"
    )


@pytest.fixture
def engine(settings):
    engine = pipeline.prepare(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = pipeline.prepare(
        Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'd.sqlite'}")
    )
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def real_data() -> Path:
    # The real exports are test input kept outside the repository (beside it, in
    # ../shared/data/real); a checkout without them skips these tests and says why.
    if not (REAL_DATA / "zkteco-attlog-one-month.dat").exists():
        pytest.skip(f"The real attendance files are not at {REAL_DATA}; set DISPENSER_REAL_DATA.")
    return REAL_DATA
