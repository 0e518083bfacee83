"""A bundled sample city, generated deterministically so the demo needs no download.

``write_sample_city(folder, seed)`` writes the same files, byte for byte, for the same seed:
``units.csv``, ``roster.csv``, ``absences.csv`` and one ``attlog-<unit>.dat`` per unit (ZKTeco
6-column layout), for the calendar year 2025, with about 300 employees in 8 units.

The proportions follow what real offices show: most people arrive before 07:30 and leave after
the end of the day; some are late now and then; a few are often absent; some forget to punch
out; a finger pressed twice gives a repeat a few seconds later; people take leave, fall sick,
travel on duty; nobody punches on holidays and collective-leave days (a few on weekends).

Two employees are scripted so that tests and the demo have known cases in November 2025:
``PLANTED_RUN`` is absent without reason on ten consecutive working days (2025-10-27 ..
2025-11-07: the dismissal band), ``PLANTED_THREE`` on exactly three days of November (11-05,
11-12, 11-19: a verbal reprimand) and on no other day of the year; both are otherwise on time.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import holidays

YEAR = 2025
UNITS = (
    ("DISDIK", "Dinas Pendidikan", 48),
    ("DINKES", "Dinas Kesehatan", 44),
    ("BAPPEDA", "Badan Perencanaan Pembangunan Daerah", 30),
    ("BKPSDM", "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", 32),
    ("DISHUB", "Dinas Perhubungan", 40),
    ("KEC-MEDAN-BARU", "Kecamatan Medan Baru", 34),
    ("KEC-MEDAN-TIMUR", "Kecamatan Medan Timur", 36),
    ("SATPOLPP", "Satuan Polisi Pamong Praja", 38),
)
FIRST_NAMES = (
    "Ahmad",
    "Budi",
    "Citra",
    "Dewi",
    "Eko",
    "Fitri",
    "Gita",
    "Hadi",
    "Indah",
    "Joko",
    "Kartika",
    "Lina",
    "Made",
    "Nanda",
    "Oki",
    "Putri",
    "Rahmat",
    "Sari",
    "Taufik",
    "Utami",
    "Wahyu",
    "Yusuf",
    "Zahra",
    "Agus",
    "Bayu",
    "Desi",
    "Fajar",
    "Hendra",
    "Irma",
    "Lestari",
    "Maya",
    "Nur",
    "Rina",
    "Sinta",
    "Teguh",
    "Yuni",
    "Rizky",
    "Siti",
    "Dian",
    "Andi",
)
LAST_NAMES = (
    "Siregar",
    "Lubis",
    "Nasution",
    "Harahap",
    "Tarigan",
    "Ginting",
    "Sembiring",
    "Hasibuan",
    "Simanjuntak",
    "Pohan",
    "Batubara",
    "Purba",
    "Sitompul",
    "Daulay",
    "Pane",
    "Ritonga",
    "Damanik",
    "Saragih",
    "Manurung",
    "Panjaitan",
    "Sinaga",
    "Situmorang",
    "Rangkuti",
    "Matondang",
)
GRADES = ("II/c", "II/d", "III/a", "III/b", "III/c", "III/d", "IV/a", "IV/b")
PLANTED_RUN = "198807142014021001"
PLANTED_THREE = "199203082017032002"
PLANTED_RUN_DAYS = (
    "2025-10-27",
    "2025-10-28",
    "2025-10-29",
    "2025-10-30",
    "2025-10-31",
    "2025-11-03",
    "2025-11-04",
    "2025-11-05",
    "2025-11-06",
    "2025-11-07",
)
PLANTED_THREE_DAYS = ("2025-11-05", "2025-11-12", "2025-11-19")

# Share of people per habit, and what each habit does on a working day.
HABITS = (("punctual", 0.83), ("often_late", 0.10), ("often_absent", 0.05), ("chronic", 0.02))
ABSENT_CHANCE = {"punctual": 0.002, "often_late": 0.01, "often_absent": 0.04, "chronic": 0.09}
LATE_CHANCE = {"punctual": 0.03, "often_late": 0.30, "often_absent": 0.15, "chronic": 0.35}
LATEST_ARRIVAL = {"punctual": 15, "often_late": 35, "often_absent": 60, "chronic": 95}
NO_CHECK_OUT_CHANCE = 0.02
NO_CHECK_IN_CHANCE = 0.008
REPEAT_CHANCE = 0.05
WEEKEND_CHANCE = 0.01


@dataclass
class Person:
    pin: int
    nip: str
    name: str
    opd_code: str
    grade: str
    position: str
    supervisor_nip: str
    employment_type: str
    start_date: dt.date
    end_date: dt.date | None
    habit: str


def _nip(rng: random.Random, serial: int, appointed: dt.date, pppk: bool) -> str:
    """Birth date, appointment month (PPPK: year and '21'), sex and a serial: 18 digits."""
    born = dt.date(
        appointed.year - 23 - rng.randrange(0, 12), rng.randrange(1, 13), rng.randrange(1, 29)
    )
    middle = f"{appointed.year}21" if pppk else f"{appointed:%Y%m}"
    return f"{born:%Y%m%d}{middle}{rng.choice('12')}{serial % 1000:03d}"


def _people(rng: random.Random) -> list[Person]:
    people: list[Person] = []
    serial = 0
    for opd_code, _, size in UNITS:
        unit: list[Person] = []
        for index in range(size):
            serial += 1
            pppk = index > 3 and rng.random() < 0.12
            habit = rng.choices([h for h, _ in HABITS], [w for _, w in HABITS])[0]
            start = dt.date(2005 + rng.randrange(0, 19), rng.randrange(1, 13), 1)
            if index > 5 and rng.random() < 0.03:
                start = dt.date(YEAR, rng.choice((3, 7, 9)), 1)  # joined during the year
            nip = _nip(rng, serial, start, pppk)
            end = (
                dt.date(YEAR, rng.choice((4, 8)), 30) if index > 5 and rng.random() < 0.02 else None
            )
            head = unit[0].nip if unit else ""
            section_head = unit[1 + index % 3].nip if index > 3 else head
            unit.append(
                Person(
                    pin=serial,
                    nip=nip,
                    name=" ".join(
                        (rng.choice(FIRST_NAMES), rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
                    ),
                    opd_code=opd_code,
                    grade="IX" if pppk else rng.choice(GRADES),
                    position=(
                        "Kepala" if index == 0 else "Kepala Bidang" if index <= 3 else "Staf"
                    ),
                    supervisor_nip=section_head,
                    employment_type="PPPK" if pppk else "PNS",
                    start_date=start,
                    end_date=end,
                    habit="punctual" if index <= 3 else habit,
                )
            )
        people.extend(unit)
    # Scripted people: the second and third staff member of the first unit.
    for person, nip, joined in (
        (people[5], PLANTED_RUN, dt.date(2014, 2, 1)),
        (people[6], PLANTED_THREE, dt.date(2017, 3, 1)),
    ):
        person.nip, person.habit, person.start_date, person.end_date = nip, "planted", joined, None
    if len({p.nip for p in people}) != len(people):
        raise RuntimeError("This seed gives two employees the same NIP; pick another seed.")
    return people


def _days_off() -> set[dt.date]:
    off = set()
    for category in ("public", "government"):
        off |= set(holidays.country_holidays("ID", years=YEAR, categories=(category,)))
    return off


def _hours(day: dt.date) -> tuple[dt.time, dt.time]:
    return dt.time(7, 30), dt.time(16, 30) if day.weekday() == 4 else dt.time(16, 0)


def _at(day: dt.date, clock: dt.time, minutes: float) -> dt.datetime:
    return dt.datetime.combine(day, clock) + dt.timedelta(seconds=int(minutes * 60))


def _absences(rng: random.Random, people: list[Person], working: list[dt.date]) -> list[dict]:
    records = []
    for person in people:
        if person.habit == "planted":
            continue
        for kind, chance, lengths in (
            ("C", 0.45, (2, 3, 5)),
            ("S", 0.25, (1, 2, 3)),
            ("DL", 0.2, (1, 2, 3)),
            ("I", 0.15, (1,)),
        ):
            if rng.random() >= chance:
                continue
            first = rng.choice(working)
            last = min(first + dt.timedelta(days=rng.choice(lengths) - 1), dt.date(YEAR, 12, 31))
            records.append(
                {
                    "nip": person.nip,
                    "kind": kind,
                    "start_date": first.isoformat(),
                    "end_date": last.isoformat(),
                    "reference": f"{rng.randrange(800, 900)}/{kind}/{len(records) + 1:04d}/{YEAR}",
                }
            )
    return records


def _covered(absences: list[dict]) -> set[tuple[str, dt.date]]:
    covered = set()
    for record in absences:
        day = dt.date.fromisoformat(record["start_date"])
        while day <= dt.date.fromisoformat(record["end_date"]):
            covered.add((record["nip"], day))
            day += dt.timedelta(days=1)
    return covered


def _day_punches(rng: random.Random, person: Person, day: dt.date) -> list[dt.datetime]:
    start, end = _hours(day)
    if person.habit == "planted":
        absent = day.isoformat() in (
            PLANTED_RUN_DAYS if person.nip == PLANTED_RUN else PLANTED_THREE_DAYS
        )
        return (
            []
            if absent
            else [_at(day, start, -rng.uniform(5, 40)), _at(day, end, rng.uniform(2, 50))]
        )
    if rng.random() < ABSENT_CHANCE[person.habit]:
        return []
    late = rng.random() < LATE_CHANCE[person.habit]
    arrive = rng.uniform(1, LATEST_ARRIVAL[person.habit]) if late else -rng.uniform(2, 50)
    punches = []
    if rng.random() >= NO_CHECK_IN_CHANCE:
        punches.append(_at(day, start, arrive))
    if rng.random() >= NO_CHECK_OUT_CHANCE:
        leave_early = late and rng.random() < 0.2
        punches.append(_at(day, end, -rng.uniform(5, 60) if leave_early else rng.uniform(0, 75)))
    if punches and rng.random() < REPEAT_CHANCE:
        first = punches[0]
        punches.insert(1, first + dt.timedelta(seconds=rng.randrange(2, 90)))
    return punches


def _attlog_lines(
    rng: random.Random,
    people: list[Person],
    days: list[dt.date],
    off: set[dt.date],
    covered: set[tuple[str, dt.date]],
) -> dict[str, list[tuple]]:
    lines: dict[str, list[tuple]] = {code: [] for code, _, _ in UNITS}
    for day in days:
        weekend = day.weekday() >= 5
        for person in people:
            if day < person.start_date or (person.end_date and day > person.end_date):
                continue
            if weekend or day in off:
                if weekend and day not in off and rng.random() < WEEKEND_CHANCE:
                    punches = [_at(day, dt.time(8, 0), rng.uniform(0, 120))]
                else:
                    continue
            elif (person.nip, day) in covered:
                continue
            else:
                punches = _day_punches(rng, person, day)
            for when in punches:
                # People press 0 (in) or 1 (out), sometimes the wrong one, or 4/5 (overtime).
                state = rng.choices((0, 1, 4, 5), (0.55, 0.35, 0.05, 0.05))[0]
                lines[person.opd_code].append((when, person.pin, state))
    return lines


def write_sample_city(folder: Path, seed: int = 2025) -> list[Path]:
    """Write the sample city's files into ``folder``; returns their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    people = _people(rng)
    off = _days_off()
    days = [dt.date(YEAR, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    working = [d for d in days if d.weekday() < 5 and d not in off]
    absences = _absences(rng, people, working)
    attlogs = _attlog_lines(rng, people, days, off, _covered(absences))

    written = [folder / "units.csv", folder / "roster.csv", folder / "absences.csv"]
    heads = {p.opd_code: p.nip for p in people if p.position == "Kepala"}
    with written[0].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["opd_code", "opd_name", "head_nip"])
        writer.writerows([code, name, heads[code]] for code, name, _ in UNITS)
    with written[1].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "pin",
                "nip",
                "name",
                "opd_code",
                "opd_name",
                "grade",
                "position",
                "supervisor_nip",
                "employment_type",
                "schedule",
                "start_date",
                "end_date",
            ]
        )
        names = {code: name for code, name, _ in UNITS}
        for p in people:
            writer.writerow(
                [
                    p.pin,
                    p.nip,
                    p.name,
                    p.opd_code,
                    names[p.opd_code],
                    p.grade,
                    p.position,
                    p.supervisor_nip,
                    p.employment_type,
                    "office",
                    p.start_date.isoformat(),
                    p.end_date.isoformat() if p.end_date else "",
                ]
            )
    with written[2].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, ["nip", "kind", "start_date", "end_date", "reference"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(absences)

    for code, _, _ in UNITS:
        path = folder / f"attlog-{code.lower()}.dat"
        with path.open("w", encoding="ascii", newline="") as handle:
            for when, pin, state in sorted(attlogs[code]):
                handle.write(f"{pin:>9}\t{when:%Y-%m-%d %H:%M:%S}\t1\t{state}\t0\t0\r\n")
        written.append(path)
    return written
