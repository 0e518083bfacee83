"""Moving pandas frames in and out of the database."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Select, Table, insert


def read_frame(conn: Connection, query: Select) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _plain(value):
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """Rows of ``frame`` with only plain Python values, as every DB driver accepts them."""
    columns = list(frame.columns)
    return [
        {column: _plain(value) for column, value in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame, chunk: int = 20_000) -> int:
    """Insert every row of ``frame`` into ``table`` in chunks."""
    records = frame_records(frame)
    for offset in range(0, len(records), chunk):
        conn.execute(insert(table), records[offset : offset + chunk])
    return len(records)


def as_dates(series: pd.Series) -> pd.Series:
    """A column of dates (as drivers return them) as plain ``datetime.date`` values."""
    return series.map(
        lambda v: (
            v
            if isinstance(v, dt.date) and not isinstance(v, dt.datetime)
            else (pd.Timestamp(v).date() if v is not None and v is not pd.NaT else None)
        )
    )
