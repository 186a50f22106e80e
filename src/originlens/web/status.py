"""Which HTTP status each domain error is, for the API's JSON and the dashboard's pages alike."""

from __future__ import annotations

from originlens.errors import (
    ConflictError,
    FieldValidationError,
    ForbiddenError,
    InsufficientCreditsError,
    NotFoundError,
    OriginlensError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from originlens.services.mail import MailDeliveryError, MailNotConfiguredError

STATUS: tuple[tuple[type[OriginlensError], int], ...] = (
    (UnauthorizedError, 401),
    (InsufficientCreditsError, 402),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (FieldValidationError, 422),
    (MailNotConfiguredError, 503),
    (MailDeliveryError, 502),
)


def status_of(exc: OriginlensError) -> int:
    """The status of a domain error (400 for one no row names)."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)
