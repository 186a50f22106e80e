"""originlens' Python client: ``Client`` (sync) and ``AsyncClient`` (asyncio) for the
identifAI-compatible API, typed results, an exception per error, and webhook verification.

Needs only httpx and pydantic; see ``docs/client.md``.
"""

from originlens.client._client import AsyncClient, Client
from originlens.client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    OriginlensError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StorageFullError,
    TransportError,
    UnsupportedMediaTypeError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from originlens.client.models import (
    AudioChunk,
    AudioResult,
    Credits,
    ImageResult,
    ModelResult,
    Submission,
    UserProfile,
    Verdict,
    VideoFrame,
    VideoResult,
    VideoVerdict,
)
from originlens.client.webhooks import verify_webhook

__all__ = [
    "APIError",
    "AsyncClient",
    "AudioChunk",
    "AudioResult",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "Credits",
    "ImageResult",
    "InsufficientCreditsError",
    "ModelResult",
    "NotFoundError",
    "OriginlensError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StorageFullError",
    "Submission",
    "TransportError",
    "UnsupportedMediaTypeError",
    "UserProfile",
    "Verdict",
    "VideoFrame",
    "VideoResult",
    "VideoVerdict",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "verify_webhook",
]
