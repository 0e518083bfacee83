"""A small HTTP service that behaves like a city's attendance system API, for the tests and the
demo. It serves punches, employees and absences in the shape ``sources/api_mapping.json``
describes: pages (or cursors), a bearer token or basic credentials, and what real ones do on
a bad day, on request:

- ``POST /_control`` with ``{"slow_ms": 300}`` slows every page; ``{"throttle_every": 3}``
  answers every third request with 429 and ``Retry-After: 1``; ``{"fail_every": 4}`` answers
  every fourth with 500; ``{"repeat_page": 2}`` makes page 2 repeat the last rows of page 1;
  ``{"cursor": true}`` switches to cursor pagination; ``{"reset": true}``.
- ``POST /_data`` with ``{"punches": [...], "employees": [...], "absences": [...]}`` replaces
  what it serves (records in the API's own names); ``synced_until`` sets its watermark.

Run it with ``dispenser attendance-api --port 8766 --token secret --data records.json``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from dispenser_core.local.json_http import JsonHandler

REPEATED_ROWS = 5
PATHS = {
    "/api/v1/attendance": "punches",
    "/api/v1/employees": "employees",
    "/api/v1/absences": "absences",
}


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class ApiState:
    def __init__(self, token: str = "", login: str = "", password: str = "") -> None:
        self.token, self.login, self.password = token, login, password
        self.lock = threading.Lock()
        self.data = {"punches": [], "employees": [], "absences": []}
        self.synced_until = None
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.slow_ms = 0
        self.throttle_every = 0
        self.fail_every = 0
        self.repeat_page = 0
        self.cursor = False
        self.log: list[dict] = []

    def load(self, records: dict) -> None:
        """Serve ``records`` (punches, employees, absences, synced_until) from now on."""
        with self.lock:
            for kind in ("punches", "employees", "absences"):
                if kind in records:
                    self.data[kind] = sorted(
                        records[kind], key=lambda r: str(r.get("timestamp", ""))
                    )
            self.synced_until = records.get("synced_until", self.synced_until)

    def authorised(self, header: str | None) -> bool:
        if self.token:
            return header == f"Bearer {self.token}"
        if self.login:
            expected = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
            return header == f"Basic {expected}"
        return True

    def fault(self) -> tuple[int, dict] | None:
        """A throttle or failure answer for this request, if one is due."""
        with self.lock:
            self.requests += 1
            number = self.requests
        if self.throttle_every and number % self.throttle_every == 0:
            return HTTPStatus.TOO_MANY_REQUESTS, {"Retry-After": "1"}
        if self.fail_every and number % self.fail_every == 0:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {}
        return None

    def page(self, kind: str, query: dict) -> dict:
        rows = self.data[kind]
        since = query.get("since", [None])[0]
        if since and kind == "punches":
            after = _moment(since)
            rows = [r for r in rows if _moment(r["timestamp"]) >= after]
        size = int(query.get("per_page", ["500"])[0])
        if self.cursor:
            start = int(query.get("cursor", ["0"])[0] or 0)
        else:
            start = (int(query.get("page", ["1"])[0]) - 1) * size
        pages = max(1, -(-len(rows) // size))
        number = start // size + 1
        # A buggy page also carries the last rows of the page before (offsets that shifted).
        first = start - REPEATED_ROWS if self.repeat_page == number and start else start
        meta = {"page": number, "pages": pages, "synced_until": self.synced_until}
        if self.cursor:
            meta["next_cursor"] = str(start + size) if start + size < len(rows) else None
        return {"data": rows[first : start + size], "meta": meta}


class _Handler(JsonHandler):
    state: ApiState

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        if url.path == "/health":
            self._answer(HTTPStatus.OK, {"status": "ok"})
            return
        kind = PATHS.get(url.path)
        if kind is None:
            self._answer(HTTPStatus.NOT_FOUND, {"error": f"no route {url.path}"})
            return
        if not self.state.authorised(self.headers.get("Authorization")):
            self._answer(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong credentials"})
            return
        fault = self.state.fault()
        if fault:
            self._answer(fault[0], {"error": "induced"}, fault[1])
            return
        if self.state.slow_ms:
            time.sleep(self.state.slow_ms / 1000)
        query = parse_qs(url.query)
        self.state.log.append({"path": url.path, "query": query})
        self._answer(HTTPStatus.OK, self.state.page(kind, query))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/_control":
            if body.get("reset"):
                self.state.reset()
            for name in ("slow_ms", "throttle_every", "fail_every", "repeat_page", "cursor"):
                if name in body:
                    setattr(self.state, name, body[name])
        elif self.path == "/_data":
            self.state.load(body)
        else:
            self._answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            return
        self._answer(HTTPStatus.OK, {"status": "ok"})


def make_server(port: int = 0, token: str = "", login: str = "", password: str = ""):
    """A server bound to 127.0.0.1 (port 0 picks a free one); call ``serve_forever``."""
    state = ApiState(token, login, password)
    handler = type("AttendanceApiHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    return server


def start_in_thread(port: int = 0, **credentials) -> ThreadingHTTPServer:
    server = make_server(port, **credentials)
    threading.Thread(target=server.serve_forever, name="attendance-api", daemon=True).start()
    return server
