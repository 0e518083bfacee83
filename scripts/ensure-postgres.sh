#!/usr/bin/env bash
# The PostgreSQL tests need a server: DISPENSER_TEST_POSTGRES_URL, by default the local one on
# 127.0.0.1:5432 (user postgres, trust auth). Start the machine's own cluster if it is installed
# but stopped; otherwise say what to do. Nothing is installed here.
set -euo pipefail
url="${DISPENSER_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
if [ "${DISPENSER_SKIP_POSTGRES:-0}" = "1" ]; then
  echo "DISPENSER_SKIP_POSTGRES=1: the PostgreSQL tests will be skipped."
  exit 0
fi
ready() { pg_isready -q -d "$url" 2>/dev/null || .venv/bin/python -c "import psycopg2,sys; psycopg2.connect(sys.argv[1]).close()" "$url" 2>/dev/null; }
if ready; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    echo "Starting the local PostgreSQL $version cluster for the tests."
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
echo "No PostgreSQL answers at $url. Start one (trust auth for user postgres on 127.0.0.1:5432),"
echo "or point DISPENSER_TEST_POSTGRES_URL at another, or set DISPENSER_SKIP_POSTGRES=1."
exit 1
