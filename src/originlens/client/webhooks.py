"""Checking the webhooks originlens sends (Standard Webhooks signatures).

The signature scheme lives in :mod:`originlens.webhooks.signing` (standard library only, and
its package imports nothing else), so the server that signs and the client that verifies
share one implementation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from originlens.client.errors import WebhookVerificationError
from originlens.webhooks import signing

__all__ = ["verify_webhook"]


def verify_webhook(body: bytes, headers: Mapping[str, str], secret: str, *, tolerance_s: float = 300) -> dict[str, Any]:
    """The payload of a genuine webhook; raise :class:`WebhookVerificationError` otherwise.

    ``body`` must be the raw bytes received (not re-serialised JSON), ``headers`` the request's
    headers (any case), ``secret`` your ``whsec_...`` secret (``Client.me().webhook_secret``).
    A timestamp more than ``tolerance_s`` seconds away from now is refused, so a captured
    delivery cannot be replayed later.
    """
    try:
        signing.verify(secret, headers, body, tolerance_s=tolerance_s)
    except signing.InvalidSignatureError as exc:
        raise WebhookVerificationError(str(exc)) from exc
    except ValueError as exc:  # the secret itself is malformed
        raise WebhookVerificationError(f"bad webhook secret: {exc}") from exc
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("the webhook body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the webhook body is not a JSON object")
    return payload
