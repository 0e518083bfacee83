"""The bundled sample city is the same, byte for byte, for the same seed, and has the shape the
demo promises."""

from __future__ import annotations

import csv
import hashlib

from dispenser_core.sample_city import PLANTED_RUN, PLANTED_THREE, write_sample_city


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_files(tmp_path):
    write_sample_city(tmp_path / "a")
    write_sample_city(tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_a_few_hundred_employees_in_several_units_over_a_year(tmp_path):
    files = write_sample_city(tmp_path)
    with (tmp_path / "roster.csv").open() as handle:
        roster = list(csv.DictReader(handle))
    assert 250 <= len(roster) <= 400
    assert len({row["opd_code"] for row in roster}) == 8
    assert len({row["nip"] for row in roster}) == len(roster)
    assert all(len(row["nip"]) == 18 and row["nip"].isdigit() for row in roster)
    assert {PLANTED_RUN, PLANTED_THREE} <= {row["nip"] for row in roster}

    punch_days = set()
    for path in (f for f in files if f.suffix == ".dat"):
        for line in path.read_text().splitlines():
            punch_days.add(line.split("\t")[1][:10])
    assert min(punch_days) <= "2025-01-03" and max(punch_days) >= "2025-12-30"
    assert "2025-12-25" not in punch_days  # Christmas: nobody punches
