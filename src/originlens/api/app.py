"""``create_app(settings)``: the FastAPI application, with its backends started in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from originlens import __version__
from originlens.api.errors import install_error_handlers
from originlens.api.limits_middleware import BodySizeLimitMiddleware
from originlens.api.ratelimit import RateLimiter
from originlens.api.routes import accounts, audio, classification, health, video
from originlens.container import Container
from originlens.dashboard import UPLOAD_PATH
from originlens.dashboard import install as install_dashboard
from originlens.settings import Settings

MULTIPART_OVERHEAD = 256 * 1024
"""Room for form fields and multipart boundaries on top of the largest accepted file."""


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or Container.build(settings)
        # Before ``start``: every backend is constructed before any background thread runs.
        app.state.limiter = RateLimiter(
            settings.ratelimit_url, settings.ratelimit_get, settings.ratelimit_post, settings.ratelimit_enabled
        )
        built.start()
        app.state.container = built
        try:
            yield
        finally:
            built.stop()

    app = FastAPI(
        title="originlens",
        version=__version__,
        description=(
            "Self-hosted, identifAI-compatible detection of AI-generated images, videos and speech, with the evidence."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(classification.router)
    app.include_router(video.router)
    app.include_router(audio.router)
    app.include_router(accounts.router)
    app.include_router(health.router)
    install_dashboard(app)
    limit_mb = settings.max_upload_bytes // (1024 * 1024)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD,
        message=f"The upload must not be larger than {limit_mb} MB.",
        path_limits={
            **dict.fromkeys(
                ("/api/classification_video", UPLOAD_PATH),  # the dashboard's upload takes videos too
                (
                    settings.max_video_upload_bytes + MULTIPART_OVERHEAD,
                    f"The video must not be larger than {settings.max_video_upload_bytes // (1024 * 1024)} MB.",
                ),
            ),
            "/api/classification_audio": (
                settings.max_audio_upload_bytes + MULTIPART_OVERHEAD,
                f"The recording must not be larger than {settings.max_audio_upload_bytes // (1024 * 1024)} MB.",
            ),
        },
    )
    return app
