"""The notification gateway client against the local fake gateway on 127.0.0.1.

Backoffs are a few milliseconds so the retries cost nothing; only the Retry-After test waits
the one second the gateway asks for.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from dispenser_core import http as client_module
from dispenser_core.exceptions import GatewayUnavailable, NotificationError
from dispenser_core.local.airflow_standalone import free_port
from dispenser_core.local.notification_service import start_in_thread
from dispenser_core.notices.client import NotificationClient, OutgoingNotice

EMPLOYEE = "198502022010012002"
SUPERVISOR = "198001012005011001"
TOKEN = "test-token-for-the-fake-gateway"


def _notice(key: str = "key-0001-aaaaaaaaaaaa", recipient: str = EMPLOYEE) -> OutgoingNotice:
    return OutgoingNotice(
        idempotency_key=key,
        recipient_nip=recipient,
        subject_nip=EMPLOYEE,
        recipient_role="employee" if recipient == EMPLOYEE else "supervisor",
        category="violation",
        title="Teguran lisan - November 2025",
        body="Anda tercatat 3 hari tanpa keterangan pada November 2025.",
        reference="draft-1",
    )


class CountingSession:
    """Counts the POSTs the client makes, and passes each one on to the real session."""

    def __init__(self, session) -> None:
        self.session = session
        self.posts = 0

    def request(self, method, *args, **kwargs):
        self.posts += method == "POST"
        return self.session.request(method, *args, **kwargs)

    def close(self) -> None:
        self.session.close()


def _client(base_url: str, **options) -> NotificationClient:
    options = {"timeout": 2.0, "max_attempts": 3, "backoff_seconds": 0.01, **options}
    client = NotificationClient(base_url, **options)
    client.session = CountingSession(client.session)
    return client


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _stop(server) -> None:
    server.shutdown()
    server.server_close()


# One server per module (stopping one takes half a second); each test starts from a reset.
@pytest.fixture(scope="module")
def open_server():
    server = start_in_thread()
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def guarded_server():
    server = start_in_thread(token=TOKEN)
    yield server
    _stop(server)


@pytest.fixture
def gateway(open_server):
    open_server.state.control({"reset": True})
    return open_server


@pytest.fixture
def guarded_gateway(guarded_server):
    guarded_server.state.control({"reset": True})
    return guarded_server


@pytest.fixture
def client(gateway):
    client = _client(_url(gateway))
    yield client
    client.close()


class TestDelivery:
    def test_accepted_notice_returns_the_gateway_id(self, gateway, client):
        assert client.send(_notice()) == "ntf-000001"

        (received,) = gateway.state.received
        assert received["idempotency_key"] == "key-0001-aaaaaaaaaaaa"
        assert (received["recipient_nip"], received["category"]) == (EMPLOYEE, "violation")
        assert client.session.posts == 1

    def test_each_new_notice_gets_its_own_id(self, gateway, client):
        ids = [client.send(_notice("key-0001-aaaaaaaaaaaa")), client.send(_notice("key-0002-bbbb"))]

        assert ids == ["ntf-000001", "ntf-000002"]

    def test_same_idempotency_key_twice_is_stored_once(self, gateway, client):
        first = client.send(_notice("key-0001-aaaaaaaaaaaa"))
        second = client.send(_notice("key-0001-aaaaaaaaaaaa"))

        assert first == second == "ntf-000001"
        assert len(gateway.state.received) == 1
        assert gateway.state.repeated_keys == 1

    def test_base_url_with_a_trailing_slash_reaches_the_same_path(self, gateway):
        client = _client(_url(gateway) + "/")

        assert client.send(_notice()) == "ntf-000001"
        assert client.url == f"{_url(gateway)}/api/v1/notifications"


class TestRetries:
    @pytest.mark.parametrize("status", [500, 502, 503, 504], ids=["500", "502", "503", "504"])
    def test_server_error_then_success_is_retried(self, gateway, client, status):
        gateway.state.control({"fail_next": 1, "fail_status": status})

        assert client.send(_notice()) == "ntf-000001"
        assert client.session.posts == 2

    def test_two_failures_then_success_within_three_attempts(self, gateway, client):
        gateway.state.control({"fail_next": 2, "fail_status": 503})

        assert client.send(_notice()) == "ntf-000001"
        assert client.session.posts == 3

    def test_429_waits_as_long_as_retry_after_says(self, gateway, client):
        gateway.state.control({"fail_next": 1, "fail_status": 429, "retry_after": 1})

        started = time.monotonic()
        gateway_id = client.send(_notice())
        elapsed = time.monotonic() - started

        assert gateway_id == "ntf-000001"
        assert 0.9 <= elapsed < 5
        assert client.session.posts == 2

    def test_every_attempt_failing_raises_gateway_unavailable(self, gateway, client):
        gateway.state.control({"fail_next": 10, "fail_status": 503})

        with pytest.raises(GatewayUnavailable, match=r"after 3 attempts \(last: HTTP 503\)"):
            client.send(_notice())

        assert client.session.posts == 3
        assert gateway.state.fail_next == 7
        assert gateway.state.received == []

    def test_gateway_unavailable_is_transient(self, gateway, client):
        gateway.state.control({"fail_next": 10, "fail_status": 502})

        with pytest.raises(GatewayUnavailable) as caught:
            client.send(_notice())

        assert caught.value.transient is True
        assert "It stays queued" in str(caught.value)

    def test_refused_connection_is_retried_then_gateway_unavailable(self):
        # A port that was free a moment ago, where nothing was started.
        client = _client(f"http://127.0.0.1:{free_port()}", max_attempts=3)

        with pytest.raises(GatewayUnavailable, match=r"after 3 attempts \(last: ConnectionError\)"):
            client.send(_notice())

        assert client.session.posts == 3

    def test_slow_gateway_times_out_and_is_retried(self):
        # A server of its own: the requests it is still answering must not reach another test.
        server = start_in_thread()
        server.state.control({"delay_ms": 300})
        client = _client(_url(server), timeout=0.05, max_attempts=2)

        try:
            with pytest.raises(GatewayUnavailable, match=r"last: ReadTimeout"):
                client.send(_notice())
        finally:
            _stop(server)

        assert client.session.posts == 2

    def test_backoff_doubles_from_attempt_to_attempt(self, monkeypatch):
        waits: list[float] = []
        monkeypatch.setattr(
            client_module, "time", SimpleNamespace(sleep=waits.append, time=time.time)
        )
        client = _client(f"http://127.0.0.1:{free_port()}", max_attempts=4, backoff_seconds=0.5)

        with pytest.raises(GatewayUnavailable):
            client.send(_notice())

        # No wait after the last attempt.
        assert waits == [0.5, 1.0, 2.0]

    def test_long_retry_after_is_capped_at_thirty_seconds(self, gateway, client, monkeypatch):
        waits: list[float] = []
        monkeypatch.setattr(
            client_module, "time", SimpleNamespace(sleep=waits.append, time=time.time)
        )
        gateway.state.control({"fail_next": 1, "fail_status": 429, "retry_after": 3600})

        assert client.send(_notice()) == "ntf-000001"
        assert waits == [30.0]


class TestRefusals:
    def test_422_is_final_and_not_retried(self, gateway, client):
        gateway.state.control({"reject_nips": [SUPERVISOR]})

        with pytest.raises(
            NotificationError, match=r"refused notice key-0001-aaa with 422"
        ) as caught:
            client.send(_notice(recipient=SUPERVISOR))

        assert not isinstance(caught.value, GatewayUnavailable)
        assert caught.value.transient is False
        assert client.session.posts == 1
        assert gateway.state.received == []

    def test_refusal_message_carries_the_gateways_reason(self, gateway, client):
        gateway.state.control({"reject_nips": [EMPLOYEE]})

        with pytest.raises(NotificationError, match="recipient has no ASN account"):
            client.send(_notice())

    def test_malformed_notice_is_refused_with_400(self, gateway, client):
        bad = _notice(recipient="12345")

        with pytest.raises(NotificationError, match=r"with 400: .*recipient_nip must be 18 digits"):
            client.send(bad)

        assert client.session.posts == 1


class TestBearerToken:
    def test_token_is_required_when_the_gateway_has_one(self, guarded_gateway):
        client = _client(_url(guarded_gateway))

        with pytest.raises(NotificationError, match=r"with 401: .*bearer token"):
            client.send(_notice())

        assert client.session.posts == 1
        assert guarded_gateway.state.received == []

    def test_wrong_token_is_refused(self, guarded_gateway):
        client = _client(_url(guarded_gateway), token="not-the-token")

        with pytest.raises(NotificationError, match="401"):
            client.send(_notice())

    def test_right_token_is_accepted(self, guarded_gateway):
        client = _client(_url(guarded_gateway), token=TOKEN)

        assert client.send(_notice()) == "ntf-000001"
        assert len(guarded_gateway.state.received) == 1

    def test_error_message_does_not_carry_the_token(self, guarded_gateway):
        guarded_gateway.state.control({"fail_next": 5, "fail_status": 503})
        client = _client(_url(guarded_gateway), token=TOKEN, max_attempts=2)

        with pytest.raises(GatewayUnavailable) as caught:
            client.send(_notice())

        assert TOKEN not in str(caught.value)


class TestRetryAfterHeader:
    @pytest.mark.parametrize(
        ("header", "seconds"),
        [
            (None, None),
            ("", None),
            ("7", 7.0),
            (" 2 ", 2.0),
            ("soon", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ],
        ids=["absent", "empty", "seconds", "padded-seconds", "garbage", "date-in-the-past"],
    )
    def test_header_is_read_as_seconds_or_an_http_date(self, header, seconds):
        assert client_module.retry_after_seconds(header) == seconds

    def test_http_date_in_the_future_is_the_seconds_until_then(self):
        in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))

        assert 55 <= client_module.retry_after_seconds(in_a_minute) <= 60
