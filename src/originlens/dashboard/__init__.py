"""The dashboard: server-rendered pages under ``/dashboard`` for people (API keys stay for programs).

Jinja2 templates, a little plain JavaScript and CSS, all served from this package (no build step,
no CDN). Routes call ``services/``; errors become pages in ``core.error_response``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from originlens.dashboard import routes_account, routes_auth, routes_results
from originlens.dashboard.core import HERE

UPLOAD_PATH = "/dashboard/upload"


def install(app: FastAPI) -> None:
    """Mount the dashboard's routes and its static files on ``app``."""
    app.include_router(routes_auth.router)
    app.include_router(routes_results.router)
    app.include_router(routes_account.router)
    app.mount("/dashboard/static", StaticFiles(directory=str(HERE / "static")), name="dashboard-static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        """Browsers ask for it on every first visit; a 404 there fills logs for nothing."""
        return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon")
