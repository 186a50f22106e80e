"""One signed webhook delivery, and the retry backoff schedule.

:func:`deliver` makes a single attempt; recording attempts and scheduling retries is the
caller's job (the server keeps them in its database and uses :func:`backoff_schedule`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import httpx

from originlens.outbound.guard import AddressPolicy, OutboundError, guarded_client, validate_url
from originlens.webhooks import signing

__all__ = ["EXCERPT_CHARS", "DeliveryOutcome", "backoff_schedule", "deliver"]

EXCERPT_CHARS = 500
_EXCERPT_READ_BYTES = 4 * EXCERPT_CHARS  # enough bytes for 500 characters of UTF-8
USER_AGENT = "originlens-webhooks"


def backoff_schedule(attempt: int, base_s: float = 5.0, factor: float = 3.0, max_s: float = 3600.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): ``base_s * factor**(attempt - 1)``, at most ``max_s``.

    With the defaults: 5 s, 15 s, 45 s, 2 min 15 s, 6 min 45 s, 20 min 15 s, then 1 h for
    every further retry. Retry ``n`` follows the failure of attempt ``n``.
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    try:
        delay = base_s * math.pow(factor, attempt - 1)
    except OverflowError:
        return max_s
    return min(delay, max_s)


@dataclass
class DeliveryOutcome:
    ok: bool
    """True when the receiver answered 2xx."""
    status_code: int | None
    """The receiver's HTTP status, None when no answer came."""
    error: str | None
    """Why the attempt failed, readable by the webhook's owner; None on success."""
    duration_ms: float
    response_excerpt: str
    """The first 500 characters of the response body ("" when there was none)."""


def deliver(
    url: str,
    body: bytes,
    *,
    secret: str,
    msg_id: str,
    policy: AddressPolicy,
    timeout_s: float = 10.0,
    timestamp: int | None = None,
) -> DeliveryOutcome:
    """POST ``body`` to ``url``, signed with ``secret`` the Standard Webhooks way; one attempt.

    Success is a 2xx answer. Redirects are not followed (a 3xx is a failure). ``timeout_s``
    bounds the whole attempt. Network errors, time-outs, refused addresses and invalid URLs
    never raise: they give ``ok=False`` with a readable ``error``.
    """
    started = time.monotonic()

    def outcome(ok: bool, status: int | None, error: str | None, excerpt: str = "") -> DeliveryOutcome:
        return DeliveryOutcome(ok, status, error, round((time.monotonic() - started) * 1000, 3), excerpt)

    ts = int(time.time()) if timestamp is None else int(timestamp)
    request_headers = signing.headers(secret, msg_id, ts, body)
    request_headers["user-agent"] = USER_AGENT
    request_headers["accept-encoding"] = "identity"
    try:
        target = validate_url(url)
        with (
            guarded_client(policy, timeout=timeout_s, deadline_s=timeout_s) as client,
            client.stream("POST", target, content=body, headers=request_headers) as response,
        ):
            excerpt = _excerpt(response)
            status = response.status_code
    except OutboundError as exc:
        return outcome(False, None, str(exc))
    except httpx.TimeoutException:
        return outcome(False, None, f"the receiver did not answer within {timeout_s:g} seconds")
    except httpx.ConnectError as exc:
        return outcome(False, None, f"could not connect to the receiver ({_reason(exc)})")
    except (httpx.HTTPError, OSError) as exc:
        return outcome(False, None, f"the delivery failed ({_reason(exc)})")
    if 200 <= status < 300:
        return outcome(True, status, None, excerpt)
    reason = f"HTTP {status} {response.reason_phrase}".strip()
    if 300 <= status < 400:
        return outcome(False, status, f"the receiver answered {reason}; redirects are not followed", excerpt)
    return outcome(False, status, f"the receiver answered {reason}", excerpt)


def _reason(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def _excerpt(response: httpx.Response) -> str:
    """The first characters of the body, reading no more than a few KB of it (and never failing)."""
    data = b""
    try:
        for chunk in response.iter_raw():
            data += chunk
            if len(data) >= _EXCERPT_READ_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status already arrived; a body cut short or too slow is only an excerpt lost
    encoding = response.charset_encoding or "utf-8"
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    return text[:EXCERPT_CHARS]
