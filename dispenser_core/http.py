"""Talking to outside HTTP services: one session with pooled connections, timeouts, and retries
with exponential backoff on 429, 5xx, timeouts and refused connections, honouring
``Retry-After``. Callers translate the two outcomes below into their own errors."""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    timeout_seconds: float = 10.0

    def wait(self, attempt: int, retry_after: float | None) -> None:
        delay = (
            retry_after if retry_after is not None else self.backoff_seconds * 2 ** (attempt - 1)
        )
        time.sleep(min(delay, self.max_backoff_seconds))


class Refused(Exception):  # noqa: N818 - an outcome, translated by every caller
    """The service answered with a 4xx other than 429: trying again will not help."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {response.text[:200]}")
        self.response = response


class Unavailable(Exception):  # noqa: N818 - an outcome, translated by every caller
    """No usable answer after every attempt (429, 5xx, timeouts, refused connections)."""


def pooled_session(pool_size: int = 8) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    if header.strip().isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def request_with_retries(
    session: requests.Session, method: str, url: str, policy: RetryPolicy, **kwargs
) -> requests.Response:
    """The first answer that is neither 429 nor 5xx; raises Refused for another 4xx and
    Unavailable when every attempt failed."""
    problem = ""
    for attempt in range(1, policy.max_attempts + 1):
        retry_after = None
        try:
            response = session.request(method, url, timeout=policy.timeout_seconds, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as err:
            problem = type(err).__name__
        else:
            if response.status_code < 400:
                return response
            if response.status_code != 429 and response.status_code < 500:
                raise Refused(response)
            problem = f"HTTP {response.status_code}"
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        log.debug("%s %s attempt %d failed: %s", method, url, attempt, problem)
        if attempt < policy.max_attempts:
            policy.wait(attempt, retry_after)
    raise Unavailable(f"{policy.max_attempts} attempts (last: {problem})")
