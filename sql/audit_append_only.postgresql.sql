-- The audit log only grows: PostgreSQL refuses to change, remove or truncate its rows.
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit_log is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
-- statement
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
-- statement
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
-- statement
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
-- statement
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
