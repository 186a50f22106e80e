"""Every error becomes an HTTP response here, and only here."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from originlens.errors import (
    FieldValidationError,
    OriginlensError,
)
from originlens.outbound.fetch import TooLargeError
from originlens.outbound.guard import OutboundError
from originlens.storage import StorageFullError
from originlens.web.status import status_of


class TooManyAttemptsError(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too Many Attempts.")
        self.retry_after_s = retry_after_s


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    if status == 401:
        return {"error": "Unauthorized"}
    if status == 403:
        return {"error": "Forbidden", "message": message}
    body: dict[str, Any] = {"message": message}
    if field:
        body["errors"] = {field: [message]}
    return body


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OriginlensError)
    async def _domain(_: Request, exc: OriginlensError) -> JSONResponse:
        status = status_of(exc)
        field = exc.field if isinstance(exc, FieldValidationError) else None
        return JSONResponse(error_body(status, exc.message, field), status_code=status)

    @app.exception_handler(OutboundError)
    async def _outbound(_: Request, exc: OutboundError) -> JSONResponse:
        status = 413 if isinstance(exc, TooLargeError) else 422
        return JSONResponse(error_body(status, f"file_url: {exc}", "file_url"), status_code=status)

    @app.exception_handler(StorageFullError)
    async def _storage_full(_: Request, exc: StorageFullError) -> JSONResponse:
        message = (
            f"The server could not store the file ({exc.strerror}): its storage is full. "
            "Nothing was recorded and nothing was charged; try again later."
        )
        return JSONResponse(error_body(507, message), status_code=507)

    @app.exception_handler(TooManyAttemptsError)
    async def _throttled(_: Request, exc: TooManyAttemptsError) -> JSONResponse:
        return JSONResponse(
            {"message": "Too Many Attempts."}, status_code=429, headers={"Retry-After": str(exc.retry_after_s)}
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            field = _field_name(tuple(err.get("loc", ())))
            message = "field required" if err.get("type") == "missing" else err.get("msg", "invalid")
            errors.setdefault(field, []).append(f"The {field} field: {message}.")
        first = next(iter(errors.values()))[0] if errors else "The request is invalid."
        return JSONResponse({"message": first, "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Error"
        # keep the exception's headers: a 405 says which methods the path answers (``Allow``)
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code, headers=exc.headers)
