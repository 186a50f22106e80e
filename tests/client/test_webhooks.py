"""A real signed delivery from the server verifies with the secret from ``me()``; forgeries do not."""

from __future__ import annotations

import base64
import json
import time

import pytest

from originlens.client import Client, WebhookVerificationError, verify_webhook
from originlens.webhooks import signing
from tests.conftest import image_bytes
from tests.support.receiver import webhook_receiver


def test_a_real_delivery_verifies_and_forgeries_are_refused(client: Client) -> None:
    secret = client.me().webhook_secret
    assert secret is not None
    with webhook_receiver() as receiver:
        submitted = client.submit_image(image_bytes(seed=41), webhook_url=receiver.url)
        assert receiver.event.wait(20), "no webhook arrived"
    delivery = receiver.requests[0]

    payload = verify_webhook(delivery.body, delivery.headers, secret)
    assert payload["identifier"] == submitted.identifier and payload["status"] == "done"

    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify_webhook(delivery.body.replace(b'"done"', b'"errored"'), delivery.headers, secret)
    other_secret = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify_webhook(delivery.body, delivery.headers, other_secret)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify_webhook(delivery.body, {"content-type": "application/json"}, secret)
    with pytest.raises(WebhookVerificationError, match="bad webhook secret"):
        verify_webhook(delivery.body, delivery.headers, "whsec_not base64!")


def test_a_genuinely_signed_but_old_delivery_is_refused() -> None:
    """Replay protection: the signature is right, only the timestamp is stale."""
    secret = signing.generate_secret()
    body = json.dumps({"identifier": "abc", "status": "done"}).encode()
    old = signing.headers(secret, "msg_1", int(time.time()) - 3600, body)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(body, old, secret)
    assert verify_webhook(body, old, secret, tolerance_s=7200)["identifier"] == "abc"
    fresh = signing.headers(secret, "msg_2", int(time.time()), b"[1, 2]")
    with pytest.raises(WebhookVerificationError, match="not a JSON object"):
        verify_webhook(b"[1, 2]", fresh, secret)
