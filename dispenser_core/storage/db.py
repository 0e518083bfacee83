"""The engine, the schema set-up and the one place where database errors are translated."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dispenser_core.exceptions import DatabaseError
from dispenser_core.settings import PROJECT_ROOT, Settings, load_settings
from dispenser_core.storage.schema import metadata

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "sql"


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Airflow tasks write while the CLI or a page reads: WAL lets readers go on.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(settings: Settings | str | None = None) -> Engine:
    """An engine for the configured database; creates the SQLite file's folder if needed."""
    if settings is None:
        settings = load_settings()
    url = settings if isinstance(settings, str) else settings.database_url
    parsed = make_url(url)

    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A transaction that commits on success, rolls back on error, and speaks our errors."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as err:
        reason = err.args[0] if err.args else err
        raise DatabaseError(
            f"The database refused a statement ({type(err).__name__}: {reason}). "
            f"Check that {engine.url.render_as_string(hide_password=True)} is reachable and "
            "its schema is current (`dispenser init`)."
        ) from err


def _run_sql_file(conn: Connection, path: Path) -> None:
    script = path.read_text(encoding="utf-8")
    for statement in script.split("\n-- statement\n"):
        if statement.strip():
            conn.exec_driver_sql(statement)


def create_schema(engine: Engine) -> None:
    """Create every table, the audit log's append-only triggers and the analyst views.

    Safe to run again: tables that exist are left as they are.
    """
    dialect = engine.dialect.name
    with connect(engine) as conn:
        metadata.create_all(conn)
        _run_sql_file(conn, SQL_DIR / f"audit_append_only.{dialect}.sql")
        _run_sql_file(conn, SQL_DIR / "views.sql")
    log.info("Schema ready on %s", dialect)
