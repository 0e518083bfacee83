-- The analysts' group role: it reads the views of views.sql and nothing else. Analysts log in
-- with roles of their own that are members of it (docs/analysts.md). Roles belong to the whole
-- server, so another database's set-up may be creating it at the same moment.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dispenser_analyst') THEN
        CREATE ROLE dispenser_analyst NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
-- statement
-- Start from nothing each time, so a grant made by hand or by an older version never lingers.
-- (Concatenated, not format(): the driver takes a percent sign for a parameter.)
DO $$
DECLARE
    here text := quote_ident(current_schema());
BEGIN
    EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA ' || here || ' FROM dispenser_analyst';
    EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || here || ' FROM dispenser_analyst';
    EXECUTE 'GRANT USAGE ON SCHEMA ' || here || ' TO dispenser_analyst';
END
$$;
-- statement
GRANT SELECT ON rekap_kehadiran, rekap_per_opd, kandidat_pelanggaran, kandidat_apresiasi,
    draft_pending, riwayat_notifikasi TO dispenser_analyst;
