"""deliver() against a real receiver on 127.0.0.1 that checks signatures, and the backoff schedule."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from originlens.outbound.guard import AddressPolicy
from originlens.webhooks.delivery import DeliveryOutcome, backoff_schedule, deliver
from originlens.webhooks.signing import InvalidSignatureError, generate_secret, verify

LOCAL = AddressPolicy(allowed_networks=("127.0.0.1/32",))
STRICT = AddressPolicy()
BODY = b'{"identifier":"abc","status":"done"}'


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    base: str
    secret: str
    calls: list[Call] = field(default_factory=list)
    connections: int = 0


class _CountingServer(ThreadingHTTPServer):
    receiver: Receiver

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.receiver.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is expected here
            super().handle_error(request, client_address)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(base="", secret=generate_secret())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            hdrs = {k.lower(): v for k, v in self.headers.items()}
            try:
                verify(state.secret, hdrs, body)
                signature_ok = True
            except InvalidSignatureError:
                signature_ok = False
            state.calls.append(Call(self.path, hdrs, body, signature_ok))
            if not signature_ok:
                self._answer(401, b"bad signature")
            elif self.path == "/ok":
                self._answer(200, b"thanks " + b"x" * 2000)
            elif self.path == "/accepted":
                self._answer(202, b"")
            elif self.path == "/fail":
                self._answer(500, b"receiver exploded")
            elif self.path == "/moved":
                self._answer(302, b"", Location="/ok")
            elif self.path == "/slow":
                time.sleep(2)
                self._answer(200, b"late")
            else:
                self._answer(404, b"no such hook")

        def _answer(self, status: int, body: bytes, **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = _CountingServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.receiver = state
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def send(receiver: Receiver, path: str, policy: AddressPolicy = LOCAL, **kwargs: Any) -> DeliveryOutcome:
    return deliver(f"{receiver.base}{path}", BODY, secret=receiver.secret, msg_id="msg_test1", policy=policy, **kwargs)


def test_2xx_is_ok_and_signed(receiver: Receiver) -> None:
    outcome = send(receiver, "/ok")
    assert outcome.ok and outcome.status_code == 200 and outcome.error is None
    assert outcome.duration_ms > 0
    assert outcome.response_excerpt.startswith("thanks ") and len(outcome.response_excerpt) == 500
    (call,) = receiver.calls
    assert call.signature_ok and call.body == BODY
    assert call.headers["webhook-id"] == "msg_test1"
    assert call.headers["content-type"] == "application/json"
    assert abs(int(call.headers["webhook-timestamp"]) - time.time()) < 5


def test_202_with_empty_body_is_ok(receiver: Receiver) -> None:
    outcome = send(receiver, "/accepted")
    assert outcome.ok and outcome.status_code == 202 and outcome.response_excerpt == ""


def test_explicit_timestamp_is_signed(receiver: Receiver) -> None:
    ts = int(time.time()) - 10
    assert send(receiver, "/ok", timestamp=ts).ok
    assert receiver.calls[0].headers["webhook-timestamp"] == str(ts)


def test_500_is_a_failure_with_status(receiver: Receiver) -> None:
    outcome = send(receiver, "/fail")
    assert not outcome.ok
    assert outcome.status_code == 500
    assert outcome.error is not None and "HTTP 500" in outcome.error
    assert outcome.response_excerpt == "receiver exploded"


def test_redirect_is_a_failure_and_not_followed(receiver: Receiver) -> None:
    outcome = send(receiver, "/moved")
    assert not outcome.ok and outcome.status_code == 302
    assert outcome.error is not None and "redirects are not followed" in outcome.error
    assert [c.path for c in receiver.calls] == ["/moved"]


def test_wrong_secret_is_rejected_by_the_receiver(receiver: Receiver) -> None:
    outcome = deliver(f"{receiver.base}/ok", BODY, secret=generate_secret(), msg_id="msg_x", policy=LOCAL)
    assert not outcome.ok and outcome.status_code == 401
    assert not receiver.calls[0].signature_ok


def test_connection_refused_is_a_failure_with_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = deliver(f"http://127.0.0.1:{port}/hook", BODY, secret=generate_secret(), msg_id="m", policy=LOCAL)
    assert not outcome.ok and outcome.status_code is None
    assert outcome.error is not None and "could not connect" in outcome.error


def test_timeout_is_a_failure_with_error(receiver: Receiver) -> None:
    started = time.monotonic()
    outcome = send(receiver, "/slow", timeout_s=0.5)
    assert time.monotonic() - started < 1.5
    assert not outcome.ok and outcome.status_code is None
    assert outcome.error is not None and "did not answer within 0.5 seconds" in outcome.error


def test_blocked_address_is_a_failure_without_connecting(receiver: Receiver) -> None:
    outcome = send(receiver, "/ok", policy=STRICT)
    assert not outcome.ok and outcome.status_code is None
    assert outcome.error is not None and "private or local address (127.0.0.1)" in outcome.error
    assert receiver.connections == 0 and receiver.calls == []


@pytest.mark.parametrize("url", ["http://169.254.169.254/hook", "http://[::1]/hook", "http://10.0.0.1/hook"])
def test_private_literals_are_failures(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    outcome = deliver(url, BODY, secret=generate_secret(), msg_id="m", policy=STRICT)
    assert not outcome.ok and outcome.error is not None and "private or local" in outcome.error


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", ""])
def test_invalid_url_is_a_failure(url: str) -> None:
    outcome = deliver(url, BODY, secret=generate_secret(), msg_id="m", policy=STRICT)
    assert not outcome.ok and outcome.status_code is None and outcome.error


def test_backoff_schedule() -> None:
    assert [backoff_schedule(n) for n in range(1, 9)] == [5, 15, 45, 135, 405, 1215, 3600, 3600]
    assert [backoff_schedule(n, base_s=0.2, factor=2.0) for n in (1, 2, 3)] == pytest.approx([0.2, 0.4, 0.8])
    assert backoff_schedule(3, base_s=1, factor=10, max_s=50) == 50
    assert backoff_schedule(10_000) == 3600  # no overflow
    with pytest.raises(ValueError):
        backoff_schedule(0)
