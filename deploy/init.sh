#!/usr/bin/env bash
# The compose `init` service: run once before the other components, and again after an upgrade
# (each step is safe to repeat). Migrates Airflow's database, creates Dispenser's schema, views and
# the read-only role dispenser_analyst, the pools, and the analysts' login `analyst`.
set -euo pipefail
airflow db migrate
dispenser init
airflow pools set dispenser_notifications 2 "Sending tasks at once"
airflow pools set dispenser_units "${DISPENSER_UNIT_SLOTS:-4}" "Units whose daily status is rebuilt at once"
if [ -n "${ANALYST_PASSWORD:-}" ]; then
  python - <<'PY'
import os
from sqlalchemy import create_engine, text
engine = create_engine(os.environ["DISPENSER_DATABASE_URL"], isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = 'analyst'"))
    verb = "ALTER" if exists else "CREATE"
    password = conn.scalar(text("SELECT quote_literal(:p)"), {"p": os.environ["ANALYST_PASSWORD"]})
    conn.execute(text(f"{verb} ROLE analyst LOGIN PASSWORD {password}"))
    conn.execute(text("GRANT dispenser_analyst TO analyst"))
print("Analysts log in to the dispenser database as `analyst` (ANALYST_PASSWORD in .env).")
PY
fi
