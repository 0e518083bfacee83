"""The Dispenser schema, defined once for both databases.

Times: punches are stored as naive UTC (``punched_at``); daily status keeps the unit's local
wall time (``check_in_local``), because a working day is a local date. Dates are local dates.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)

metadata = MetaData()

# Raise when a table or column changes; a database made by another version is refused with
# a message instead of failing later (see storage/db.py).
SCHEMA_VERSION = 4

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")
Nip = String(18)

schema_info = Table(
    "schema_info",
    metadata,
    Column("schema_version", Integer, primary_key=True),
)

# The SQL scripts (triggers, views, grants) as last applied: set-up runs them again only when
# they changed, since every task prepares the schema and re-creating views blocks readers.
schema_scripts = Table(
    "schema_scripts",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("sha256", String(64), nullable=False),
)

work_units = Table(
    "work_units",
    metadata,
    Column("opd_code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("head_nip", Nip),
    Column("timezone", String(40), nullable=False, server_default="Asia/Jakarta"),
    # The unit's usual schedule; an employee's own code wins (see schedules.py).
    Column("schedule_code", String(40)),
)

employees = Table(
    "employees",
    metadata,
    Column("nip", Nip, primary_key=True),
    Column("pin", String(20), unique=True),
    Column("name", String(200), nullable=False),
    Column("opd_code", String(40), ForeignKey("work_units.opd_code"), nullable=False),
    Column("grade", String(10)),
    Column("position", String(200)),
    Column("supervisor_nip", Nip),
    Column("employment_type", String(10), nullable=False, server_default="PNS"),
    Column("schedule_code", String(40)),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
)

supervisor_history = Table(
    "supervisor_history",
    metadata,
    # Who was each employee's direct supervisor, and from when: a notice goes to the
    # supervisor of the violation period, not to whoever supervises the employee today.
    Column("nip", Nip, primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("effective_to", Date),
    Column("supervisor_nip", Nip),
)

work_schedules = Table(
    "work_schedules",
    metadata,
    Column("schedule_code", String(40), primary_key=True),
    # 0 = Monday .. 6 = Sunday; a weekday without a row is a day off. A roster schedule has
    # one row, weekday -1, holding its settings; its hours come from ``shifts``.
    Column("weekday", Integer, primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("effective_to", Date),
    Column("period_name", String(100)),  # a special period such as "Ramadan 1446 H"
    Column("is_roster", Boolean, nullable=False, server_default="0"),
    Column("start_time", Time),
    Column("end_time", Time),
    Column("grace_late_minutes", Integer, nullable=False, server_default="0"),
    Column("grace_early_minutes", Integer, nullable=False, server_default="0"),
    Column("check_in_opens_minutes", Integer, nullable=False, server_default="180"),
    Column("check_out_closes_minutes", Integer, nullable=False, server_default="360"),
    Column("absent_below_minutes", Integer),
    Column("short_below_minutes", Integer),
    Column("observes_holidays", Boolean, nullable=False, server_default="1"),
)

schedule_assignments = Table(
    "schedule_assignments",
    metadata,
    Column("assignment_id", Id, primary_key=True, autoincrement=True),
    # Either an employee or a whole unit.
    Column("nip", Nip),
    Column("opd_code", String(40)),
    Column("schedule_code", String(40), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    UniqueConstraint("nip", "opd_code", "effective_from", name="uq_schedule_assignment"),
)

shifts = Table(
    "shifts",
    metadata,
    Column("nip", Nip, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time, nullable=False),
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    # '' for every unit, or the unit a local decision is for.
    Column("scope", String(40), primary_key=True, server_default=""),
    # holiday | collective_leave (days off); working (a local override that makes a day a
    # working day again).
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("source", String(60), nullable=False),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("batch_id", Id, primary_key=True, autoincrement=True),
    Column("source_kind", String(20), nullable=False),
    Column("file_name", String(400), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("imported_at", DateTime, nullable=False),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("rows_loaded", Integer, nullable=False, server_default="0"),
    Column("rows_duplicate", Integer, nullable=False, server_default="0"),
    Column("rows_rejected", Integer, nullable=False, server_default="0"),
    # Where punches come from (a terminal, an API); each source has its own watermark.
    Column("source", String(100), nullable=False, server_default=""),
    # The local dates the batch covers, and the local time up to which its source is known to
    # have delivered everything: days after that are pending, not absent.
    Column("covers_from", Date),
    Column("covers_to", Date),
    Column("synced_until", DateTime),
    UniqueConstraint("source_kind", "file_sha256", name="uq_import_batches_file"),
)

punches = Table(
    "punches",
    metadata,
    # No surrogate key and no foreign keys here: punches are the one table of millions of rows,
    # a punch is named by its employee and second, and the loader only stores punches of known
    # employees in the batch it opened (a sequence or a check per row slows a city's monthly
    # load by a fifth or more).
    Column("nip", Nip, nullable=False),
    Column("punched_at", DateTime, nullable=False),
    Column("verify_mode", Integer),
    Column("state_code", Integer),
    Column("batch_id", Id, nullable=False),
    Column("ingested_at", DateTime, nullable=False),
    # One punch per employee and second. SQLite enforces it with a unique index; on
    # PostgreSQL loads take turns and check first (punch_store.py), so that appending a month
    # of a city with COPY stays about as fast as COPY itself, and a BRIN index finds time spans.
    UniqueConstraint("nip", "punched_at", name="uq_punches_nip_time").ddl_if(dialect="sqlite"),
    Index("ix_punches_time", "punched_at").ddl_if(dialect="sqlite"),
    Index("ix_punches_time_brin", "punched_at", postgresql_using="brin").ddl_if(
        dialect="postgresql"
    ),
)

rejected_records = Table(
    "rejected_records",
    metadata,
    Column("rejected_id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", Id, ForeignKey("import_batches.batch_id"), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("reason", String(60), nullable=False),
    Column("detail", Text),
)

absences = Table(
    "absences",
    metadata,
    Column("absence_id", Id, primary_key=True, autoincrement=True),
    Column("nip", Nip, ForeignKey("employees.nip"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("reference", String(100)),
    Column("batch_id", Id, ForeignKey("import_batches.batch_id"), nullable=False),
    UniqueConstraint("nip", "kind", "start_date", "end_date", name="uq_absences_record"),
    Index("ix_absences_batch", "batch_id"),
)

daily_status = Table(
    "daily_status",
    metadata,
    Column("nip", Nip, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("opd_code", String(40), nullable=False),
    # present | absent_without_reason | leave | sick | permit | official_duty | study
    # | no_data | pending | data_problem  (see daily_status.py)
    Column("status", String(30), nullable=False),
    Column("schedule_code", String(40), nullable=False),
    Column("check_in_local", DateTime),
    Column("check_out_local", DateTime),
    Column("missing_check_in", Integer, nullable=False),
    Column("missing_check_out", Integer, nullable=False),
    Column("late_minutes", Integer, nullable=False),
    Column("early_leave_minutes", Integer, nullable=False),
    Column("punches_seen", Integer, nullable=False),
    Column("repeats_dropped", Integer, nullable=False),
    Column("worked_minutes", Integer),
    # absent_candidate | short_hours, from the schedule's worked-time thresholds
    Column("policy_flag", String(20)),
    Column("schedule_start", DateTime),
    Column("schedule_end", DateTime),
    # Why the day counted as it did: late, early_leave, missing_check_in, missing_check_out,
    # no_punch, no_punch_in_windows, absence, or the status of a day not judged.
    Column("reason", String(100), nullable=False, server_default=""),
    Column("computed_at", DateTime, nullable=False),
    Index("ix_daily_status_day", "day"),
)

status_fingerprints = Table(
    "status_fingerprints",
    metadata,
    # A hash of one employee's daily status in one month: a rebuild rewrites only the
    # employee-months whose hash changed, so late or corrected data touches only what it must.
    Column("nip", Nip, primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("fingerprint", BigInteger, nullable=False),
)

source_units = Table(
    "source_units",
    metadata,
    # Which units' employees a punch source has delivered: a unit is judged only as far as
    # every one of its sources has delivered.
    Column("source", String(100), primary_key=True),
    Column("opd_code", String(40), primary_key=True),
)

recaps = Table(
    "recaps",
    metadata,
    Column("period_kind", String(5), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("nip", Nip, primary_key=True),
    Column("opd_code", String(40), nullable=False),
    Column("working_days", Integer, nullable=False),
    Column("present", Integer, nullable=False),
    Column("absent", Integer, nullable=False),
    Column("tk", Integer, nullable=False),
    Column("leave", Integer, nullable=False),
    Column("sick", Integer, nullable=False),
    Column("permit", Integer, nullable=False),
    Column("official_duty", Integer, nullable=False),
    Column("study", Integer, nullable=False),
    Column("no_data", Integer, nullable=False),
    Column("pending", Integer, nullable=False),
    Column("data_problem", Integer, nullable=False),
    Column("absent_candidate_days", Integer, nullable=False),
    Column("short_hours_days", Integer, nullable=False),
    Column("missing_check_in", Integer, nullable=False),
    Column("missing_check_out", Integer, nullable=False),
    Column("late_minutes", Integer, nullable=False),
    Column("early_leave_minutes", Integer, nullable=False),
    Column("tk_equivalent", Integer, nullable=False),
    Column("tk_ytd", Integer, nullable=False),
    Column("late_early_minutes_ytd", Integer, nullable=False),
    Column("tk_ytd_equivalent", Integer, nullable=False),
    Column("longest_tk_run_ytd", Integer, nullable=False),
    Column("rule_version", String(40), nullable=False),
    Column("calendar_version", String(40), nullable=False),
    Column("computed_at", DateTime, nullable=False),
    # 1 for the first recap of the period; +1 each time late or corrected data changes it.
    Column("revision", Integer, nullable=False, server_default="1"),
    Column("revised_at", DateTime),
    # The "Rekapitulasi Kehadiran" page filters by unit or employee and pages by NIP: without
    # these, every page of a city's year reads all its recap rows (benchmarks/recap_page.py).
    Index("ix_recaps_unit", "opd_code", "period_kind", "period"),
    Index("ix_recaps_nip", "nip", "period_kind", "period"),
)

recap_builds = Table(
    "recap_builds",
    metadata,
    # When each period's recap was last built, and what that build changed.
    Column("period_kind", String(5), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("built_at", DateTime, nullable=False),
    Column("employees", Integer, nullable=False),
    Column("new", Integer, nullable=False),
    Column("revised", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
)

candidates = Table(
    "candidates",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("nip", Nip, primary_key=True),
    Column("opd_code", String(40), nullable=False),
    Column("band_code", String(10)),
    Column("counted_days", Integer, nullable=False),
    Column("rank", Integer),
    Column("details", JSON, nullable=False),
    Column("rule_version", String(40), nullable=False),
    Column("computed_at", DateTime, nullable=False),
)

drafts = Table(
    "drafts",
    metadata,
    Column("draft_id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("period", String(7), nullable=False),
    Column("opd_filter", String(400), nullable=False, server_default=""),
    Column("band_filter", String(40), nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    # pending | awaiting_approval | approved | rejected | sending | sent | partly_failed
    Column("status", String(20), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # The content hash shown to the approver, and the one their answer was bound to.
    Column("requested_hash", String(64)),
    Column("approval_hash", String(64)),
    Column("decided_by", String(100)),
    Column("decided_at", DateTime),
    Column("decision_note", Text),
    Column("excluded_nips", JSON),
)

draft_items = Table(
    "draft_items",
    metadata,
    Column("draft_id", Id, ForeignKey("drafts.draft_id"), primary_key=True),
    Column("nip", Nip, primary_key=True),
    Column("band_code", String(10)),
    Column("counted_days", Integer, nullable=False),
    Column("details", JSON, nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("notice_id", Id, primary_key=True, autoincrement=True),
    Column("draft_id", Id, ForeignKey("drafts.draft_id"), nullable=False),
    Column("nip", Nip, nullable=False),
    Column("recipient_nip", Nip, nullable=False),
    # employee | supervisor
    Column("recipient_role", String(20), nullable=False),
    Column("band_code", String(10)),
    Column("template_version", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    # queued | sent | failed
    Column("status", String(20), nullable=False),
    Column("gateway_id", String(100)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
    Index("ix_notices_draft", "draft_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", String(100), nullable=False),
    Column("details", Text, nullable=False),
    # Unique: a row can follow only one row, so two writers racing cannot fork the chain.
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("row_hash", String(64), nullable=False, unique=True),
)
