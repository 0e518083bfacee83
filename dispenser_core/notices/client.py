"""The HTTP client of the ASN notification gateway.

One POST per notice, with an ``Idempotency-Key`` header: the gateway answers a repeated key
with the notice it already has, so a retry after a lost answer never delivers twice. 429, 5xx,
timeouts and refused connections are retried with exponential backoff, honouring
``Retry-After``; any other 4xx is final and raised as :class:`NotificationError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from dispenser_core.exceptions import GatewayUnavailable, NotificationError
from dispenser_core.http import (
    Refused,
    RetryPolicy,
    Unavailable,
    pooled_session,
    request_with_retries,
)

log = logging.getLogger(__name__)

NOTICES_PATH = "/api/v1/notifications"


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
        self.policy = RetryPolicy(
            max_attempts=max_attempts, backoff_seconds=backoff_seconds, timeout_seconds=timeout
        )
        self.session = pooled_session(pool_size)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

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
        try:
            response = request_with_retries(
                self.session,
                "POST",
                self.url,
                self.policy,
                json=notice.payload(),
                headers={"Idempotency-Key": notice.idempotency_key},
            )
        except Refused as err:
            raise NotificationError(
                f"The gateway refused notice {notice.idempotency_key[:12]} with "
                f"{err.response.status_code}: {err.response.text[:200]}. Fix the notice or the "
                "gateway settings; it will not be retried."
            ) from err
        except Unavailable as err:
            raise GatewayUnavailable(
                f"The gateway at {self.url} did not accept notice {notice.idempotency_key[:12]} "
                f"after {err}. It stays queued; run the send step again when the gateway is back."
            ) from err
        return self._gateway_id(response, notice)

    def close(self) -> None:
        self.session.close()
