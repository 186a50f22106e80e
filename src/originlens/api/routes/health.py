"""GET /api/health: no key, no rate limit; the state of each component."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from originlens import API_VERSION, __version__
from originlens.api import schemas
from originlens.container import Container

router = APIRouter(prefix="/api", tags=["Infrastructure"])


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def _check(fn: Any) -> dict[str, Any]:
    try:
        extra = fn() or {}
        return {"status": "ok", **extra}
    except Exception as exc:
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"}


@router.get(
    "/health",
    summary="Check infrastructure health",
    response_model=None,
    responses={
        200: {"model": schemas.Health, "description": "Up (possibly degraded)"},
        503: {"model": schemas.Health, "description": "The database cannot be reached"},
        **schemas.errors(405),
    },
)
def health(request: Request) -> JSONResponse:
    container: Container = request.app.state.container

    def database() -> None:
        with container.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def workers() -> dict[str, Any]:
        if not container.queue.healthy():
            raise RuntimeError("no worker thread is alive" if container.runs_jobs_here else "the broker is unreachable")
        return {
            "backend": _without_password(container.settings.queue_url),
            "queued": container.queue.depth(),
            "workers": container.settings.workers if container.runs_jobs_here else "separate processes",
        }

    def webhooks() -> None:
        if not container.dispatcher.alive():
            raise RuntimeError("the webhook dispatcher is not running")

    components = {
        "database": _check(database),
        "storage": _check(container.blobs.check),
        "queue": _check(workers),
        "webhooks": _check(webhooks),
        "detectors": {"status": "ok" if len(container.registry) else "down", "models": container.registry.describe()},
    }
    healthy = all(c["status"] == "ok" for c in components.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "api_version": API_VERSION,
        "components": components,
    }
    status_code = 503 if components["database"]["status"] != "ok" else 200
    return JSONResponse(body, status_code=status_code)
