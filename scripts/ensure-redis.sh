#!/usr/bin/env bash
# The cluster tests need a Redis for Celery's broker: DISPENSER_TEST_REDIS_URL, by default the
# local one on 127.0.0.1:6379. Start the machine's own redis-server (bound to 127.0.0.1, keeping
# nothing on disk) if it is installed but not running; otherwise say what to do.
set -euo pipefail
url="${DISPENSER_TEST_REDIS_URL:-redis://127.0.0.1:6379/14}"
if [ "${DISPENSER_SKIP_CLUSTER:-0}" = "1" ]; then
  echo "DISPENSER_SKIP_CLUSTER=1: the cluster tests will be skipped."
  exit 0
fi
ready() { .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_timeout=2).ping()" "$url" 2>/dev/null; }
if ready; then exit 0; fi
port=$(.venv/bin/python -c "import sys; from urllib.parse import urlsplit; print(urlsplit(sys.argv[1]).port or 6379)" "$url")
if command -v redis-server >/dev/null 2>&1; then
  echo "Starting redis-server on 127.0.0.1:$port for the tests."
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 20); do ready && exit 0; sleep 0.5; done
fi
echo "No Redis answers at $url. Start one on 127.0.0.1:6379 (apt install redis-server),"
echo "or point DISPENSER_TEST_REDIS_URL at another, or set DISPENSER_SKIP_CLUSTER=1."
exit 1
