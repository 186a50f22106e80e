"""Domain errors raised by services; ``api/errors.py`` maps them to HTTP in one place."""

from __future__ import annotations


class OriginlensError(Exception):
    """Base class; ``message`` is safe to show to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(OriginlensError):
    pass


class UnauthorizedError(OriginlensError):
    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class ForbiddenError(OriginlensError):
    def __init__(self, message: str = "Forbidden") -> None:
        super().__init__(message)


class PayloadTooLargeError(OriginlensError):
    pass


class UnsupportedMediaTypeError(OriginlensError):
    pass


class FieldValidationError(OriginlensError):
    """A request field is malformed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InsufficientCreditsError(OriginlensError):
    pass


class ConflictError(OriginlensError):
    pass
