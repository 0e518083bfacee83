"""A small HTTP service that behaves like the ASN notification gateway.

It accepts the notice JSON at ``POST /api/v1/notifications`` (bearer token when one is set,
an ``Idempotency-Key`` header required), answers ``201 {"id": ...}``, and answers a repeated
key with ``200`` and the same id without storing the notice twice. Tests and the demo steer it:

- ``POST /_control`` with ``{"fail_next": 3, "fail_status": 503, "retry_after": 1}`` fails the
  next three notices, ``{"delay_ms": 200}`` slows every answer, ``{"reject_nips": [...]}``
  answers 422 for those recipients, ``{"reset": true}`` forgets everything;
- ``GET /api/v1/notifications`` lists what was received, with the number of repeated keys.

Run it with ``dispenser notification-service --port 8765``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path

from dispenser_core.local.json_http import JsonHandler

log = logging.getLogger(__name__)

NOTICES_PATH = "/api/v1/notifications"
REQUIRED_FIELDS = ("recipient_nip", "subject_nip", "recipient_role", "category", "title", "body")
NIP = re.compile(r"^\d{18}$")


class GatewayState:
    """What the service received and how it is told to behave; shared by all request threads."""

    def __init__(self, token: str = "", journal: Path | None = None) -> None:
        self.token = token
        self.journal = journal
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.received: list[dict] = []
        self.by_key: dict[str, str] = {}
        self.repeated_keys = 0
        self.fail_next = 0
        self.fail_status = 503
        self.retry_after: int | None = None
        self.delay_ms = 0
        self.reject_nips: set[str] = set()

    def control(self, orders: dict) -> None:
        with self.lock:
            if orders.get("reset"):
                self.reset()
            self.fail_next = int(orders.get("fail_next", self.fail_next))
            self.fail_status = int(orders.get("fail_status", self.fail_status))
            self.retry_after = orders.get("retry_after", self.retry_after)
            self.delay_ms = int(orders.get("delay_ms", self.delay_ms))
            self.reject_nips = set(orders.get("reject_nips", self.reject_nips))

    def accept(self, key: str, notice: dict) -> tuple[int, dict, dict]:
        """Decide the answer to one notice: (status, body, extra headers)."""
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                headers = (
                    {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
                )
                return self.fail_status, {"error": "induced failure"}, headers
            if key in self.by_key:
                self.repeated_keys += 1
                return HTTPStatus.OK, {"id": self.by_key[key], "repeated": True}, {}
            if notice["recipient_nip"] in self.reject_nips:
                return (
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    {"error": "recipient has no ASN account"},
                    {},
                )
            notice_id = f"ntf-{len(self.received) + 1:06d}"
            self.by_key[key] = notice_id
            self.received.append({"id": notice_id, "idempotency_key": key, **notice})
            if self.journal:
                with self.journal.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(self.received[-1], ensure_ascii=False) + "\n")
            return HTTPStatus.CREATED, {"id": notice_id}, {}


def _problems(notice: object) -> list[str]:
    if not isinstance(notice, dict):
        return ["the body must be a JSON object"]
    problems = [f"{name} is required" for name in REQUIRED_FIELDS if not notice.get(name)]
    for name in ("recipient_nip", "subject_nip"):
        if notice.get(name) and not NIP.match(str(notice[name])):
            problems.append(f"{name} must be 18 digits")
    return problems


class _Handler(JsonHandler):
    state: GatewayState

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and delayed
        # ACKs add about 40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def _json_body(self) -> object:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except json.JSONDecodeError:
            return None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            self._answer(HTTPStatus.OK, {"status": "ok"})
        elif self.path == NOTICES_PATH:
            with self.state.lock:
                body = {
                    "received": list(self.state.received),
                    "repeated_keys": self.state.repeated_keys,
                }
            self._answer(HTTPStatus.OK, body)
        else:
            self._answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self._json_body()
        if self.path == "/_control":
            self.state.control(body or {})
            self._answer(HTTPStatus.OK, {"status": "ok"})
            return
        if self.path != NOTICES_PATH:
            self._answer(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            return

        if self.state.delay_ms:
            time.sleep(self.state.delay_ms / 1000)
        if self.state.token and self.headers.get("Authorization") != f"Bearer {self.state.token}":
            self._answer(HTTPStatus.UNAUTHORIZED, {"error": "missing or wrong bearer token"})
            return
        key = self.headers.get("Idempotency-Key", "")
        problems = _problems(body) + ([] if key else ["the Idempotency-Key header is required"])
        if problems:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": "; ".join(problems)})
            return
        self._answer(*self.state.accept(key, body))


def make_server(port: int = 0, token: str = "", journal: Path | None = None) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1 (port 0 picks a free one); call ``serve_forever``."""
    state = GatewayState(token, journal)
    handler = type("GatewayHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.state = state  # type: ignore[attr-defined]
    return server


def start_in_thread(port: int = 0, token: str = "") -> ThreadingHTTPServer:
    """Start the service in a background thread (for tests); stop it with ``shutdown()``."""
    server = make_server(port, token)
    threading.Thread(target=server.serve_forever, name="notification-service", daemon=True).start()
    return server
