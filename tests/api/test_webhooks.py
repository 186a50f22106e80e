"""Webhooks: the result is pushed, signed the Standard Webhooks way, and retried."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from originlens.store.db import make_engine, make_session_factory
from originlens.store.models import WebhookAttempt, WebhookDelivery
from originlens.webhooks.signing import InvalidSignatureError, verify
from tests.conftest import SPEC, RunningServer, image_bytes, make_user, submit, wait_done
from tests.support.receiver import Receiver, webhook_receiver
from tests.support.schema import assert_valid


def wait_for_calls(receiver: Receiver, count: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while len(receiver.requests) < count:
        assert time.time() < deadline, f"got {len(receiver.requests)} webhook calls, wanted {count}"
        time.sleep(0.05)


def test_result_is_delivered_signed_and_equal_to_the_get(server: RunningServer) -> None:
    _, key = make_user(server)
    with webhook_receiver() as receiver, server.client(key) as client:
        secret = client.get("/api/user").json()["data"]["webhook_secret"]
        identifier = submit(client, image_bytes(seed=70), webhook_url=receiver.url)
        wait_for_calls(receiver, 1)
        result = wait_done(client, identifier)
    call = receiver.requests[0]
    verify(secret, call.headers, call.body)  # raises if the signature is wrong
    payload = json.loads(call.body)
    assert_valid(SPEC, "ImageResponse", payload)
    assert payload["identifier"] == identifier and payload["status"] == "done"
    assert payload["verdicts"] == result["verdicts"]
    assert call.headers["webhook-id"].startswith("msg_")


def test_failed_delivery_is_retried_and_every_attempt_recorded(server: RunningServer) -> None:
    _, key = make_user(server)
    with webhook_receiver(fail_first=1) as receiver, server.client(key) as client:
        submit(client, image_bytes(seed=71), webhook_url=receiver.url)
        wait_for_calls(receiver, 2)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # same message, redelivered
    sessions = make_session_factory(make_engine(server.settings.resolved_database_url))
    with sessions() as session:
        delivery = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.msg_id == first.headers["webhook-id"])
        ).one()
        attempts = session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.number)
        ).all()
        deadline = time.time() + 5
        while delivery.state != "delivered" and time.time() < deadline:
            time.sleep(0.05)
            session.refresh(delivery)
    assert delivery.state == "delivered"
    assert [(a.number, a.ok, a.status_code) for a in attempts][:2] == [(1, False, 500), (2, True, 200)]


def test_cache_hit_fires_the_webhook_too(server: RunningServer) -> None:
    _, key = make_user(server)
    data = image_bytes(seed=72)
    with webhook_receiver() as receiver, server.client(key) as client:
        wait_done(client, submit(client, data))
        cached = submit(client, data, webhook_url=receiver.url)
        wait_for_calls(receiver, 1)
    payload = json.loads(receiver.requests[0].body)
    assert payload["identifier"] == cached and payload["cached"] is True


def test_webhook_url_must_be_http(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        response = client.post(
            "/api/classification",
            files={"image": ("a.png", image_bytes(seed=73))},
            data={"webhook_url": "file:///etc/passwd"},
        )
    assert response.status_code == 422
    assert "webhook_url" in response.json()["errors"]


def test_rotating_the_secret_changes_the_signature(server: RunningServer) -> None:
    _, key = make_user(server)
    with webhook_receiver() as receiver, server.client(key) as client:
        old = client.get("/api/user").json()["data"]["webhook_secret"]
        new = client.post("/api/user/webhook_secret").json()["data"]["webhook_secret"]
        submit(client, image_bytes(seed=74), webhook_url=receiver.url)
        wait_for_calls(receiver, 1)
    call = receiver.requests[0]
    assert new != old
    verify(new, call.headers, call.body)
    with pytest.raises(InvalidSignatureError):
        verify(old, call.headers, call.body)
