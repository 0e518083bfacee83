"""The real one-month ZKTeco export (../shared/data/real) for December 2022.

The expected recaps were counted by hand, day by day, from the export and the roster and
absence files beside it (see the per-day tables in docs/real-data-december-2022.md). The
holidays package lists no collective-leave day in December 2022, so 26 December is a working
day and the month has 22; a city whose calendar makes it cuti bersama adds a local override,
and then the month has 21.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispenser_core import pipeline, reports
from dispenser_core.calendar import apply_overrides
from dispenser_core.periods import Period
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import rejected_records

DECEMBER = Period(2022, 12)
COLUMNS = (
    "working_days",
    "present",
    "tk",
    "leave",
    "sick",
    "permit",
    "official_duty",
    "missing_check_in",
    "missing_check_out",
    "late_minutes",
    "early_leave_minutes",
)

WITH_26_DECEMBER_WORKED = {
    "198204172008011003": (22, 7, 10, 5, 0, 0, 0, 5, 2, 315, 41),  # PIN 1, leave 12-16 Dec
    "199106232019032011": (22, 13, 9, 0, 0, 0, 0, 7, 4, 2, 0),  # PIN 2, punches before 04:30
    "199408302019032006": (22, 15, 6, 0, 0, 1, 0, 1, 4, 175, 0),  # PIN 7, permit 21 Dec
    "199607172022212008": (22, 21, 1, 0, 0, 0, 0, 0, 8, 1089, 0),  # PIN 9, joined 1 Dec
    "199211112017081001": (22, 4, 16, 0, 0, 0, 2, 0, 4, 733, 0),  # PIN 11, official duty
    "199701092020122009": (22, 5, 14, 0, 3, 0, 0, 1, 4, 905, 0),  # PIN 12, sick 5-7 Dec
}
WITH_26_DECEMBER_COLLECTIVE_LEAVE = {
    "198204172008011003": (21, 6, 10, 5, 0, 0, 0, 4, 2, 315, 41),
    "199106232019032011": (21, 12, 9, 0, 0, 0, 0, 6, 4, 2, 0),
    "199408302019032006": (21, 14, 6, 0, 0, 1, 0, 0, 4, 175, 0),
    "199607172022212008": (21, 20, 1, 0, 0, 0, 0, 0, 7, 1044, 0),
    "199211112017081001": (21, 4, 15, 0, 0, 0, 2, 0, 4, 733, 0),
    "199701092020122009": (21, 4, 14, 0, 3, 0, 0, 0, 4, 905, 0),
}


def _load(engine, real_data):
    for kind, name in (
        ("units", "units-one-month.csv"),
        ("roster", "roster-one-month.csv"),
        ("absences", "absences-one-month.csv"),
        ("attlog", "zkteco-attlog-one-month.dat"),
    ):
        pipeline.import_file(engine, kind, real_data / name)


def _recap(engine) -> dict[str, tuple]:
    pipeline.recap(engine, DECEMBER)
    with connect(engine) as conn:
        rows = reports.recap_rows(conn, DECEMBER)
    return {row["nip"]: tuple(row[c] for c in COLUMNS) for row in rows}


def test_the_export_loads_every_line(engine, real_data):
    summary = pipeline.import_file(engine, "units", real_data / "units-one-month.csv")
    pipeline.import_file(engine, "roster", real_data / "roster-one-month.csv")
    punches = pipeline.import_file(engine, "attlog", real_data / "zkteco-attlog-one-month.dat")
    assert summary.rows_loaded == 3
    # 384 lines, 13 PINs all in the roster, no two lines of one PIN at the same second; PIN 9
    # joined on 1 December and punched once on 30 November (line 8): kept aside, not loaded.
    assert (punches.rows_read, punches.rows_loaded, punches.rows_rejected) == (384, 383, 1)
    with connect(engine) as conn:
        rejected = conn.execute(
            select(rejected_records.c.line_number, rejected_records.c.reason).where(
                rejected_records.c.batch_id == punches.batch_id
            )
        ).all()
    assert rejected == [(8, "before_start_date")]


def test_december_recap_as_counted_by_hand(engine, real_data):
    _load(engine, real_data)
    recap = _recap(engine)
    assert len(recap) == 13
    assert {nip: recap[nip] for nip in WITH_26_DECEMBER_WORKED} == WITH_26_DECEMBER_WORKED


def test_a_local_override_makes_26_december_collective_leave(engine, real_data):
    import datetime as dt

    _load(engine, real_data)
    with connect(engine) as conn:
        apply_overrides(
            conn,
            [
                {
                    "day": dt.date(2022, 12, 26),
                    "kind": "collective_leave",
                    "name": "Cuti bersama Natal",
                    "source": "local",
                }
            ],
        )
    recap = _recap(engine)
    assert {nip: recap[nip] for nip in WITH_26_DECEMBER_COLLECTIVE_LEAVE} == (
        WITH_26_DECEMBER_COLLECTIVE_LEAVE
    )


@pytest.mark.parametrize("fmt", ["csv"])
def test_cli_prints_the_recap_as_csv(real_data, tmp_path, monkeypatch, capsys, fmt):
    from dispenser_core.cli import main

    monkeypatch.setenv("DISPENSER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    for kind, name in (
        ("units", "units-one-month.csv"),
        ("roster", "roster-one-month.csv"),
        ("absences", "absences-one-month.csv"),
        ("attlog", "zkteco-attlog-one-month.dat"),
    ):
        assert main(["import", kind, str(real_data / name)]) == 0
    capsys.readouterr()
    assert main(["recap", "--period", "2022-12", "--format", fmt]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    header = lines[0].split(",")
    for column in ("nip", *COLUMNS):
        assert column in header
    rows = {
        line.split(",")[0]: dict(zip(header, line.split(","), strict=True)) for line in lines[1:]
    }
    assert len(rows) == 13
    pin_one = rows["198204172008011003"]
    assert tuple(int(pin_one[c]) for c in COLUMNS) == WITH_26_DECEMBER_WORKED["198204172008011003"]
