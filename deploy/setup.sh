#!/usr/bin/env bash
# Generate the deployment's secrets once, beside docker-compose.yml: `.env` (database password,
# Fernet key, API and JWT secrets) and `secrets/passwords.json` (the Airflow users' passwords).
# Existing files are kept, so running it again changes nothing. Neither file is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077
if [ ! -f .env ]; then
  # Written aside first: a failure leaves no empty .env that a re-run would keep.
  python3 - > .env.new <<'PY'
import base64, os, secrets
print(f"POSTGRES_PASSWORD={secrets.token_urlsafe(24)}")
print(f"FERNET_KEY={base64.urlsafe_b64encode(os.urandom(32)).decode()}")
print(f"JWT_SECRET={secrets.token_urlsafe(32)}")
print(f"API_SECRET_KEY={secrets.token_urlsafe(32)}")
print(f"ANALYST_PASSWORD={secrets.token_urlsafe(18)}")
print("# The city's notification gateway and its token:")
print("DISPENSER_NOTIFY_URL=")
print("DISPENSER_NOTIFY_TOKEN=")
PY
  mv .env.new .env
  echo "Wrote .env: fill in DISPENSER_NOTIFY_URL and DISPENSER_NOTIFY_TOKEN."
fi
mkdir -p secrets inbox
if [ ! -f secrets/passwords.json ]; then
  python3 -c 'import json, secrets
users = ["admin", "operator", "approver", "viewer"]
print(json.dumps({u: secrets.token_urlsafe(12) for u in users}))' > secrets/passwords.new
  mv secrets/passwords.new secrets/passwords.json
  echo "Wrote secrets/passwords.json: hand each password to its user."
fi
