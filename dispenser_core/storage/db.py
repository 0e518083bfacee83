"""The engine, the schema set-up and the one place where database errors are translated."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from dispenser_core.exceptions import ConfigurationError, DatabaseError
from dispenser_core.settings import PROJECT_ROOT, Settings, load_settings
from dispenser_core.storage.schema import SCHEMA_VERSION, metadata, schema_info, schema_scripts

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "sql"

# The read-only group role of analysts' logins on PostgreSQL, as named in
# sql/analyst_role.postgresql.sql. Not a setting: every deployment and docs/analysts.md name it
# alike.
ANALYST_ROLE = "dispenser_analyst"
ANALYST_GRANTS = SQL_DIR / "analyst_role.postgresql.sql"
# Any fixed number: the advisory lock every schema set-up on PostgreSQL takes.
SETUP_LOCK = 7_234_500


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Airflow tasks write while the CLI or a page reads: WAL lets readers go on.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(settings: Settings | str | None = None, *, create: bool = True) -> Engine:
    """An engine for the configured database.

    For SQLite, ``create`` makes the file (and its folder) when it does not exist; without it a
    missing file is an error, so a mistyped path never shows an empty database as if it were
    the real one.
    """
    if settings is None:
        settings = load_settings()
    url = settings if isinstance(settings, str) else settings.database_url
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise ConfigurationError(
            f"DISPENSER_DATABASE_URL {url!r} is not a database address; write "
            "sqlite:////path/to/file.sqlite or postgresql+psycopg2://user@host/database."
        ) from err

    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if parsed.database and parsed.database != ":memory:":
            if not create and not path.exists():
                raise ConfigurationError(
                    f"There is no database at {path}. Check DISPENSER_DATABASE_URL, or load "
                    "files first (dispenser import ...) to create it."
                )
            path.parent.mkdir(parents=True, exist_ok=True)
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
        where = engine.url.render_as_string(hide_password=True)
        unreachable = isinstance(err, OperationalError) and any(
            word in str(reason).lower() for word in ("connect", "unable to open")
        )
        if unreachable:
            raise DatabaseError(
                f"Cannot reach the database {where} ({reason}). Check that it runs and that "
                "DISPENSER_DATABASE_URL is right; the step can be run again once it answers."
            ) from err
        raise DatabaseError(
            f"The database refused a statement ({type(err).__name__}: {reason}). "
            f"Check that {where} is reachable and its schema is current (`dispenser init`)."
        ) from err


def queue_sqlite_writer(conn: Connection) -> None:
    """On SQLite, take the write lock now: a transaction that reads before it writes would
    otherwise fail, not wait, when another writer committed in between."""
    if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _run_sql_file(conn: Connection, path: Path) -> None:
    script = path.read_text(encoding="utf-8")
    for statement in script.split("\n-- statement\n"):
        if statement.strip():
            conn.exec_driver_sql(statement)


def _check_version(conn: Connection, engine: Engine) -> None:
    tables = set(inspect(conn).get_table_names())
    if not tables or "work_units" not in tables:
        return  # a new database
    found = conn.execute(schema_info.select()).scalar() if "schema_info" in tables else 1
    if found != SCHEMA_VERSION:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigurationError(
            f"The database {where} has schema version {found}; this Dispenser needs "
            f"{SCHEMA_VERSION}. Load its files into a new database (for the demo: make "
            "demo-reset), or keep using the Dispenser version that made it."
        )


def _grant_views_to_analysts(conn: Connection) -> bool:
    """Create the analysts' role when it is missing, and let it read the views and nothing else."""
    exists, may_create = conn.execute(
        text(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = :role), "
            "(SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)"
        ),
        {"role": ANALYST_ROLE},
    ).one()
    if not (exists or may_create):
        log.warning(
            "The role %s does not exist and this database user may not create roles, so "
            "analysts cannot read the views. Have an administrator run CREATE ROLE %s NOLOGIN, "
            "then run `dispenser init` again.",
            ANALYST_ROLE,
            ANALYST_ROLE,
        )
        return False
    _run_sql_file(conn, ANALYST_GRANTS)
    return True


def create_schema(engine: Engine) -> None:
    """Create every table, the audit log's append-only triggers and the analyst views; on
    PostgreSQL also the views' column comments and the analysts' read-only role.

    Safe to run again, and by several processes at once (mapped tasks start together): one
    set-up runs at a time, tables that exist are left as they are, and the SQL scripts run
    again only when they changed.
    """
    dialect = engine.dialect.name
    scripts = _scripts_of(dialect)
    fingerprint = hashlib.sha256(
        "".join(path.read_text(encoding="utf-8") for path in scripts).encode()
    ).hexdigest()
    with connect(engine) as conn:
        _one_setup_at_a_time(conn)
        _check_version(conn, engine)
        metadata.create_all(conn)
        if conn.execute(schema_info.select()).first() is None:
            conn.execute(schema_info.insert().values(schema_version=SCHEMA_VERSION))
        applied = conn.execute(
            select(schema_scripts.c.sha256).where(schema_scripts.c.name == dialect)
        ).scalar()
        if applied != fingerprint and _apply_scripts(conn, scripts):
            conn.execute(schema_scripts.delete().where(schema_scripts.c.name == dialect))
            conn.execute(schema_scripts.insert().values(name=dialect, sha256=fingerprint))
    log.debug("Schema ready on %s", dialect)


def _scripts_of(dialect: str) -> list[Path]:
    """The SQL scripts a set-up runs, in order; on PostgreSQL the last grants the views."""
    scripts = [
        SQL_DIR / f"audit_append_only.{dialect}.sql",
        SQL_DIR / "indexes.sql",
        SQL_DIR / "views.sql",
    ]
    if dialect == "postgresql":
        scripts += [SQL_DIR / "view_comments.postgresql.sql", ANALYST_GRANTS]
    return scripts


def _apply_scripts(conn: Connection, scripts: list[Path]) -> bool:
    """Run the scripts; False when the analysts' grants had to be left for a later set-up."""
    for path in scripts:
        if path == ANALYST_GRANTS:
            return _grant_views_to_analysts(conn)
        _run_sql_file(conn, path)
    return True


def _one_setup_at_a_time(conn: Connection) -> None:
    """Hold the database's set-up lock until the transaction ends."""
    if conn.dialect.name == "sqlite":
        # The driver opens no transaction for DDL: take SQLite's write lock explicitly.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(select(func.pg_advisory_xact_lock(SETUP_LOCK)))
