"""Storage: one schema definition for SQLite and PostgreSQL, and the engine that reaches it."""

from dispenser_core.storage.db import connect, create_schema, make_engine
from dispenser_core.storage.schema import metadata

__all__ = ["connect", "create_schema", "make_engine", "metadata"]
