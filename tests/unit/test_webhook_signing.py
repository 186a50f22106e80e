"""Standard Webhooks signatures: known answers, round trips, tampering, and interoperability."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime

import pytest

from originlens.webhooks.signing import InvalidSignatureError, generate_secret, headers, sign, verify

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = json.dumps({"identifier": "abc", "status": "done"}, separators=(",", ":")).encode()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
TS = 1_700_000_000


def test_generate_secret_format() -> None:
    secret = generate_secret()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    assert 24 <= len(key) <= 64
    assert generate_secret() != secret


def test_known_answer() -> None:
    expected = base64.b64encode(hmac.new(KEY, f"{MSG_ID}.{TS}.".encode() + BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, MSG_ID, TS, BODY) == f"v1,{expected}"


def test_known_answer_published_example() -> None:
    """The example from the Standard Webhooks / Svix test suites."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    body = b'{"test": 2432232314}'
    assert sign(secret, msg_id, 1614265330, body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_headers() -> None:
    got = headers(SECRET, MSG_ID, TS, BODY)
    assert got == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TS),
        "webhook-signature": sign(SECRET, MSG_ID, TS, BODY),
        "content-type": "application/json",
    }


def test_round_trip_with_case_insensitive_headers() -> None:
    now = time.time()
    sent = headers(SECRET, MSG_ID, int(now), BODY)
    verify(SECRET, sent, BODY)
    verify(SECRET, {k.title(): v for k, v in sent.items()}, BODY, now=now)


def test_tampered_body_fails() -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    with pytest.raises(InvalidSignatureError, match="no matching signature"):
        verify(SECRET, sent, BODY.replace(b"done", b"fail"), now=TS)


def test_tampered_id_or_timestamp_fails() -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    with pytest.raises(InvalidSignatureError):
        verify(SECRET, {**sent, "webhook-id": "msg_other"}, BODY, now=TS)
    with pytest.raises(InvalidSignatureError):
        verify(SECRET, {**sent, "webhook-timestamp": str(TS + 1)}, BODY, now=TS)


def test_wrong_secret_fails() -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    with pytest.raises(InvalidSignatureError):
        verify(generate_secret(), sent, BODY, now=TS)


def test_timestamp_tolerance() -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    verify(SECRET, sent, BODY, now=TS + 299)
    verify(SECRET, sent, BODY, now=TS - 299)
    with pytest.raises(InvalidSignatureError, match="too old"):
        verify(SECRET, sent, BODY, now=TS + 301)
    with pytest.raises(InvalidSignatureError, match="too new"):
        verify(SECRET, sent, BODY, now=TS - 301)
    with pytest.raises(InvalidSignatureError, match="too old"):
        verify(SECRET, headers(SECRET, MSG_ID, int(time.time()) - 3600, BODY), BODY)


def test_several_signatures_one_matching() -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    other = sign(generate_secret(), MSG_ID, TS, BODY)
    sent["webhook-signature"] = f"v1a,xyz {other} v1,!!notbase64 {sent['webhook-signature']}"
    verify(SECRET, sent, BODY, now=TS)
    sent["webhook-signature"] = other
    with pytest.raises(InvalidSignatureError):
        verify(SECRET, sent, BODY, now=TS)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_fail(missing: str) -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    del sent[missing]
    with pytest.raises(InvalidSignatureError, match="missing"):
        verify(SECRET, sent, BODY, now=TS)


def test_malformed_timestamp_fails() -> None:
    sent = headers(SECRET, MSG_ID, TS, BODY)
    sent["webhook-timestamp"] = "yesterday"
    with pytest.raises(InvalidSignatureError, match="not an integer"):
        verify(SECRET, sent, BODY, now=TS)


def test_interop_with_reference_library() -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks")
    secret = generate_secret()
    now = int(time.time())
    # Theirs verifies ours.
    ours = headers(secret, MSG_ID, now, BODY)
    assert standardwebhooks.Webhook(secret).verify(BODY, ours) == json.loads(BODY)
    # Ours verifies theirs.
    theirs = standardwebhooks.Webhook(secret).sign(MSG_ID, datetime.fromtimestamp(now, tz=UTC), BODY.decode())
    assert theirs == ours["webhook-signature"]
    verify(secret, {"webhook-id": MSG_ID, "webhook-timestamp": str(now), "webhook-signature": theirs}, BODY)
    # And theirs refuses a tampered body signed by us.
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(BODY + b" ", ours)
