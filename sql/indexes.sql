-- Indexes added after a database may already exist: schema.py gives them to new databases,
-- this gives them to older ones. Valid SQL for both SQLite and PostgreSQL.
CREATE INDEX IF NOT EXISTS ix_recaps_unit ON recaps (opd_code, period_kind, period);
-- statement
CREATE INDEX IF NOT EXISTS ix_recaps_nip ON recaps (nip, period_kind, period);
