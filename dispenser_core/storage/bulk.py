"""Writing many rows fast: PostgreSQL's COPY, or one batched INSERT where COPY does not exist."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Connection, Table, insert

CHUNK = 20_000


def copy_rows(conn: Connection, table: Table, rows: list[dict], columns: list[str]) -> int:
    """Append ``rows`` (dicts holding ``columns``) to ``table`` in the caller's transaction."""
    if not rows:
        return 0
    if conn.dialect.name != "postgresql":
        for offset in range(0, len(rows), CHUNK):
            conn.execute(
                insert(table), [{c: r[c] for c in columns} for r in rows[offset : offset + CHUNK]]
            )
        return len(rows)

    buffer = io.StringIO()
    # pandas writes the CSV in C; NULL is the empty unquoted field COPY expects.
    pd.DataFrame.from_records(rows, columns=columns).to_csv(
        buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S.%f"
    )
    buffer.seek(0)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer
        )
    finally:
        cursor.close()
    return len(rows)
