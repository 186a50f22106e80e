"""The client's exceptions: one base class, API errors by status code, and local failures.

::

    OriginlensError
    ├── APIError                    the server answered with an error (or an unreadable body)
    │   ├── BadRequestError         400, 422 (``errors``: the fields at fault)
    │   ├── AuthenticationError     401
    │   ├── InsufficientCreditsError 402
    │   ├── PermissionDeniedError   403
    │   ├── NotFoundError           404
    │   ├── PayloadTooLargeError    413
    │   ├── UnsupportedMediaTypeError 415
    │   ├── RateLimitError          429 (``retry_after``), after the client's own retries
    │   └── ServerError             5xx
    │       └── StorageFullError    507
    ├── TransportError              no answer: refused connection, DNS, time-out, TLS...
    ├── WaitTimeoutError            ``wait`` gave up while the result was still pending
    └── WebhookVerificationError    a received webhook is not genuine
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "InsufficientCreditsError",
    "NotFoundError",
    "OriginlensError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StorageFullError",
    "TransportError",
    "UnsupportedMediaTypeError",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "error_for_response",
]


class OriginlensError(Exception):
    """Base of every error this client raises, so ``except OriginlensError`` catches them all."""


class APIError(OriginlensError):
    """The server answered with an error status (or a body the client cannot read)."""

    def __init__(self, message: str, *, response: httpx.Response, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.status_code = response.status_code
        self.body = body

    def __str__(self) -> str:
        return f"{self.status_code}: {self.message}"


class BadRequestError(APIError):
    """400 or 422: the request is invalid; ``errors`` maps each faulty field to its messages."""

    def __init__(self, message: str, *, response: httpx.Response, body: Any = None) -> None:
        super().__init__(message, response=response, body=body)
        raw = body.get("errors") if isinstance(body, dict) else None
        self.errors: dict[str, list[str]] = (
            {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
            if isinstance(raw, dict)
            else {}
        )


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class InsufficientCreditsError(APIError):
    """402: the account has not enough credits for this analysis."""


class PermissionDeniedError(APIError):
    """403: read-only account, terms not accepted, or a partner-only endpoint."""


class NotFoundError(APIError):
    """404: no such identifier for this account (or no heatmap / tampering map for it)."""


class PayloadTooLargeError(APIError):
    """413: the file (or its pixel count) is over the server's limits."""


class UnsupportedMediaTypeError(APIError):
    """415: the bytes are not an image (or video) the server accepts, whatever their name says."""


class RateLimitError(APIError):
    """429 after the client's retries; ``retry_after`` is the server's advice in seconds."""

    def __init__(self, message: str, *, response: httpx.Response, body: Any = None) -> None:
        super().__init__(message, response=response, body=body)
        self.retry_after: float | None = parse_retry_after(response.headers.get("retry-after"))


class ServerError(APIError):
    """5xx: the server failed; the request may be retried later."""


class StorageFullError(ServerError):
    """507: the server's storage is full; nothing was recorded or charged."""


class TransportError(OriginlensError):
    """No answer from the server (connection refused, DNS, time-out...); ``__cause__`` is httpx's error."""


class WaitTimeoutError(OriginlensError):
    """``wait`` ran out of time; ``last`` is the latest (still pending) result."""

    def __init__(self, identifier: str, timeout: float, last: Any = None) -> None:
        super().__init__(f"{identifier} still pending after {timeout:g} s")
        self.identifier = identifier
        self.timeout = timeout
        self.last = last


class WebhookVerificationError(OriginlensError):
    """The webhook's signature, timestamp or body is not valid: do not trust it."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: BadRequestError,
    429: RateLimitError,
    507: StorageFullError,
}


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date (then the seconds until it)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_for_response(response: httpx.Response) -> APIError:
    """The exception for an error answer, with the server's message (``message`` or ``error``)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    message = ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or "")
    if not message:
        message = (body if isinstance(body, str) and body.strip() else response.reason_phrase) or "error"
        message = message.strip()[:500]
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(message, response=response, body=body)
