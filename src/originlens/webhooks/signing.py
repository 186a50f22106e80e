"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``"whsec_"`` followed by the base64 of random bytes. A message is signed as::

    webhook-id:        <msg_id>
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64(HMAC-SHA256(key, f"{msg_id}.{timestamp}." + body))>

where ``key`` is the base64-decoded part of the secret after ``whsec_``. Receivers can
verify with any Standard Webhooks library, or with :func:`verify`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

__all__ = [
    "SECRET_PREFIX",
    "InvalidSignatureError",
    "generate_secret",
    "headers",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


class InvalidSignatureError(Exception):
    """The webhook's headers are missing or malformed, its timestamp is out of tolerance, or no signature matches."""


def generate_secret() -> str:
    """A new signing secret: ``"whsec_" + base64(32 random bytes)``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the webhook secret is not valid base64") from exc
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _digest(secret: str, msg_id: str, timestamp: int, body: bytes) -> bytes:
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(_key(secret), to_sign, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``"v1," + base64(HMAC-SHA256(...))``."""
    return "v1," + base64.b64encode(_digest(secret, msg_id, int(timestamp), body)).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of a signed delivery of ``body``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: float = 300,
    now: float | None = None,
) -> None:
    """Check a received webhook; raise :class:`InvalidSignatureError` unless it is genuine.

    Header names are matched case-insensitively. ``webhook-signature`` may hold several
    space-separated signatures (e.g. during a secret rotation); one matching ``v1``
    signature is enough. The timestamp must be within ``tolerance_s`` of ``now`` (default:
    the current time), in either direction.
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp_header = lowered.get("webhook-timestamp")
    signature_header = lowered.get("webhook-signature")
    if not (msg_id and timestamp_header and signature_header):
        raise InvalidSignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(timestamp_header.strip())
    except ValueError as exc:
        raise InvalidSignatureError("the webhook-timestamp header is not an integer") from exc
    current = time.time() if now is None else now
    if timestamp < current - tolerance_s:
        raise InvalidSignatureError("the message timestamp is too old")
    if timestamp > current + tolerance_s:
        raise InvalidSignatureError("the message timestamp is too new")
    expected = _digest(secret, msg_id, timestamp, body)
    for candidate in signature_header.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, given):
            return
    raise InvalidSignatureError("no matching signature found")
