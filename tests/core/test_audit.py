"""The append-only, hash-chained audit log: intact chains verify, and a change or a removal made
by someone who can drop the database's triggers is found at exactly the row it touched."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import delete, select, update

from dispenser_core import audit
from dispenser_core.cli import main
from dispenser_core.exceptions import DatabaseError
from dispenser_core.storage.db import connect
from dispenser_core.storage.schema import audit_log

STEPS = (
    ("system", "draft_created", "draft", 1, {"items": 4, "period": "2025-11"}),
    ("system", "approval_requested", "draft", 1, {"content_hash": "ab" * 32}),
    ("approver", "draft_approved", "draft", 1, {"excluded": 0}),
    ("system", "notice_sent", "notice", 11, {"gateway_id": "ntf-000001"}),
    ("system", "notice_sent", "notice", 12, {"gateway_id": "ntf-000002"}),
)


@pytest.fixture
def logged(sqlite_engine):
    """An audit log of five rows, seq 1 to 5, in the order of STEPS."""
    with connect(sqlite_engine) as conn:
        for actor, action, entity, entity_id, details in STEPS:
            audit.record(
                conn,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                details=details,
            )
    return sqlite_engine


def _drop_triggers(engine) -> None:
    """What someone with DDL rights can do: remove the append-only guard."""
    with connect(engine) as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")


def _verify(engine) -> audit.ChainReport:
    with connect(engine) as conn:
        return audit.verify_chain(conn)


def _rows(engine) -> list:
    with connect(engine) as conn:
        return conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()


class TestRecord:
    def test_rows_get_consecutive_sequence_numbers(self, logged):
        assert [row.seq for row in _rows(logged)] == [1, 2, 3, 4, 5]

    def test_each_row_points_at_the_hash_of_the_row_before(self, logged):
        rows = _rows(logged)

        assert rows[0].prev_hash == "0" * 64
        assert [row.prev_hash for row in rows[1:]] == [row.row_hash for row in rows[:-1]]

    def test_row_hash_covers_every_field_of_the_row(self, logged):
        row = _rows(logged)[2]
        # The chain's definition, written out: SHA-256 of the fields joined by the unit separator.
        material = "\x1f".join(
            [
                row.prev_hash,
                row.occurred_at.isoformat(timespec="microseconds"),
                "approver",
                "draft_approved",
                "draft",
                "1",
                '{"excluded":0}',
            ]
        )

        assert row.row_hash == hashlib.sha256(material.encode("utf-8")).hexdigest()

    def test_details_are_stored_as_canonical_json_with_sorted_keys(self, logged):
        assert _rows(logged)[0].details == '{"items":4,"period":"2025-11"}'

    def test_entries_of_one_entity_come_back_oldest_first_with_details_parsed(self, logged):
        with connect(logged) as conn:
            sent = audit.entries(conn, entity="notice")
            one = audit.entries(conn, entity="notice", entity_id=12)

        assert [(e["seq"], e["entity_id"], e["details"]) for e in sent] == [
            (4, "11", {"gateway_id": "ntf-000001"}),
            (5, "12", {"gateway_id": "ntf-000002"}),
        ]
        assert [e["seq"] for e in one] == [5]

    def test_dates_in_details_are_written_as_text(self, sqlite_engine):
        with connect(sqlite_engine) as conn:
            audit.record(
                conn,
                actor="cli",
                action="recap_built",
                entity="period",
                entity_id="2025-11",
                details={"until": dt.date(2025, 11, 30)},
            )
            (entry,) = audit.entries(conn)

        assert entry["details"] == {"until": "2025-11-30"}

    @pytest.mark.parametrize(
        ("statement", "refusal"),
        [
            (
                update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"),
                "UPDATE refused",
            ),
            (delete(audit_log).where(audit_log.c.seq == 2), "DELETE refused"),
        ],
        ids=["update", "delete"],
    )
    def test_database_refuses_to_change_or_remove_a_row(self, logged, statement, refusal):
        with (
            pytest.raises(DatabaseError, match=f"audit_log is append-only: {refusal}"),
            connect(logged) as conn,
        ):
            conn.execute(statement)

        assert _verify(logged).intact


class TestVerifyChain:
    def test_empty_log_is_intact(self, sqlite_engine):
        report = _verify(sqlite_engine)

        assert (report.intact, report.rows_checked, report.first_broken_seq) == (True, 0, None)

    def test_untouched_log_is_intact(self, logged):
        report = _verify(logged)

        assert (report.intact, report.rows_checked, report.first_broken_seq) == (True, 5, None)

    @pytest.mark.parametrize("seq", [1, 3, 5], ids=["first-row", "middle-row", "last-row"])
    def test_changed_details_name_exactly_that_row(self, logged, seq):
        _drop_triggers(logged)
        with connect(logged) as conn:
            conn.execute(
                update(audit_log).where(audit_log.c.seq == seq).values(details='{"excluded":9}')
            )

        report = _verify(logged)

        assert (report.intact, report.first_broken_seq, report.rows_checked) == (
            False,
            seq,
            seq - 1,
        )
        assert "the row was changed" in report.problem

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("actor", "intruder"),
            ("action", "draft_rejected"),
            ("entity_id", "2"),
            ("occurred_at", dt.datetime(2025, 1, 1, 8, 0)),
        ],
        ids=["actor", "action", "entity-id", "time"],
    )
    def test_any_changed_field_is_found(self, logged, column, value):
        _drop_triggers(logged)
        with connect(logged) as conn:
            conn.execute(update(audit_log).where(audit_log.c.seq == 3).values({column: value}))

        assert _verify(logged).first_broken_seq == 3

    @pytest.mark.parametrize(
        ("removed", "named"),
        [(1, 2), (3, 4), (4, 5)],
        ids=["first-row", "middle-row", "fourth-row"],
    )
    def test_removed_row_is_named_by_the_row_after_it(self, logged, removed, named):
        _drop_triggers(logged)
        with connect(logged) as conn:
            conn.execute(delete(audit_log).where(audit_log.c.seq == removed))

        report = _verify(logged)

        assert (report.first_broken_seq, report.rows_checked) == (named, removed - 1)
        assert "a row before it was removed or changed" in report.problem

    def test_row_rewritten_with_a_fresh_hash_breaks_the_link_to_the_next_row(self, logged):
        _drop_triggers(logged)
        row = _rows(logged)[2]
        forged = audit.row_hash(
            row.prev_hash,
            row.occurred_at,
            row.actor,
            "draft_rejected",
            row.entity,
            row.entity_id,
            row.details,
        )
        with connect(logged) as conn:
            conn.execute(
                update(audit_log)
                .where(audit_log.c.seq == 3)
                .values(action="draft_rejected", row_hash=forged)
            )

        report = _verify(logged)

        assert (report.first_broken_seq, report.rows_checked) == (4, 3)


class TestVerifyCommand:
    @pytest.fixture
    def database_env(self, logged, monkeypatch):
        monkeypatch.setenv(
            "DISPENSER_DATABASE_URL", logged.url.render_as_string(hide_password=False)
        )
        return logged

    def test_intact_log_exits_0(self, database_env, capsys):
        assert main(["audit", "verify"]) == 0

        assert capsys.readouterr().out == "Audit log intact: 5 rows checked.\n"

    def test_changed_row_exits_1_and_names_it(self, database_env, capsys):
        _drop_triggers(database_env)
        with connect(database_env) as conn:
            conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(details="{}"))

        assert main(["audit", "verify"]) == 1

        out = capsys.readouterr().out
        assert out.startswith("Audit log BROKEN at row 3: its content does not match its hash")
        assert "2 rows before it are intact" in out

    def test_removed_row_exits_1_and_names_the_row_after_it(self, database_env, capsys):
        _drop_triggers(database_env)
        with connect(database_env) as conn:
            conn.execute(delete(audit_log).where(audit_log.c.seq == 2))

        assert main(["audit", "verify"]) == 1

        assert capsys.readouterr().out.startswith("Audit log BROKEN at row 3: its prev_hash")


def test_writers_at_once_each_chain_onto_the_last_row(database_url):
    """Approvals of two runs answered together append to the log at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    from dispenser_core.storage.db import create_schema, make_engine

    create_schema(make_engine(database_url))

    def write(worker: int) -> None:
        engine = make_engine(database_url)
        for _ in range(15):
            with connect(engine) as conn:
                audit.entries(conn, entity="draft", entity_id=worker)  # a read first, as callers do
                audit.record(
                    conn, actor="t", action="draft_approved", entity="draft", entity_id=worker
                )
        engine.dispose()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    with connect(make_engine(database_url)) as conn:
        assert audit.verify_chain(conn).rows_checked == 90
        assert audit.verify_chain(conn).intact
