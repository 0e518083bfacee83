"""The HTTP client of the ASN notification gateway.

One POST per notice, with an ``Idempotency-Key`` header: the gateway answers a repeated key
with the notice it already has, so a retry after a lost answer never delivers twice. 429, 5xx,
timeouts and refused connections are retried with exponential backoff, honouring
``Retry-After``; any other 4xx is final and raised as :class:`NotificationError`.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from dispenser_core.exceptions import GatewayUnavailable, NotificationError

log = logging.getLogger(__name__)

NOTICES_PATH = "/api/v1/notifications"
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class OutgoingNotice:
    idempotency_key: str
    recipient_nip: str
    subject_nip: str
    recipient_role: str
    category: str
    title: str
    body: str
    reference: str

    def payload(self) -> dict:
        return {
            "recipient_nip": self.recipient_nip,
            "subject_nip": self.subject_nip,
            "recipient_role": self.recipient_role,
            "category": self.category,
            "title": self.title,
            "body": self.body,
            "reference": self.reference,
        }


def _retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    if header.strip().isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class NotificationClient:
    """Sends notices to the gateway at ``base_url``; safe to share between threads."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        pool_size: int = 8,
    ) -> None:
        self.url = base_url.rstrip("/") + NOTICES_PATH
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        delay = (
            retry_after if retry_after is not None else self.backoff_seconds * 2 ** (attempt - 1)
        )
        time.sleep(min(delay, MAX_BACKOFF_SECONDS))

    def _gateway_id(self, response: requests.Response, notice: OutgoingNotice) -> str:
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError) as err:
            raise NotificationError(
                f"The gateway accepted notice {notice.idempotency_key[:12]} but its answer has "
                f"no id ({response.text[:200]!r}); check the gateway's API version."
            ) from err

    def send(self, notice: OutgoingNotice) -> str:
        """Deliver ``notice``; returns the gateway's id for it."""
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            retry_after = None
            try:
                response = self.session.post(
                    self.url,
                    json=notice.payload(),
                    timeout=self.timeout,
                    headers={"Idempotency-Key": notice.idempotency_key},
                )
            except (requests.Timeout, requests.ConnectionError) as err:
                problem = f"{type(err).__name__}"
            else:
                if response.status_code in (200, 201):
                    return self._gateway_id(response, notice)
                if response.status_code != 429 and response.status_code < 500:
                    raise NotificationError(
                        f"The gateway refused notice {notice.idempotency_key[:12]} with "
                        f"{response.status_code}: {response.text[:200]}. Fix the notice or the "
                        "gateway settings; it will not be retried."
                    )
                problem = f"HTTP {response.status_code}"
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))

            log.debug(
                "Notice %s attempt %d failed: %s", notice.idempotency_key[:12], attempt, problem
            )
            if attempt < self.max_attempts:
                self._wait(attempt, retry_after)
        raise GatewayUnavailable(
            f"The gateway at {self.url} did not accept notice {notice.idempotency_key[:12]} after "
            f"{self.max_attempts} attempts (last: {problem}). It stays queued; run the send step "
            "again when the gateway is back."
        )

    def close(self) -> None:
        self.session.close()
