"""How an analysis job ends, for the image, video and audio workers alike: ``done`` (with what
follows: webhooks, dropping unkept files), ``errored`` with a sentence for the user and a refund,
or a refund of an option that produced nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from originlens import API_VERSION
from originlens.detectors.registry import DetectorRegistry
from originlens.services import job_leases
from originlens.services import users as users_service
from originlens.services.submissions import create_delivery
from originlens.storage import BlobStore, StorageFullError
from originlens.store.db import after_commit, unit_of_work
from originlens.store.models import Analysis, Classification, User, utcnow

log = logging.getLogger(__name__)


@dataclass
class AnalysisContext:
    sessions: sessionmaker[Session]
    blobs: BlobStore
    registry: DetectorRegistry
    max_image_pixels: int
    max_attempts: int
    wake_webhooks: Callable[[], None] = lambda: None
    video_max_seconds: float = 3 * 3600.0
    video_decode_deadline_s: float = 120.0
    audio_max_seconds: float = 3600.0
    audio_decode_deadline_s: float = 60.0
    lease_s: float = 60.0


def finish_done(session: Session, ctx: AnalysisContext, analysis: Analysis) -> None:
    """Mark a finished analysis done and queue what follows (webhooks, file clean-up)."""
    analysis.state = "done"
    analysis.api_version = API_VERSION
    analysis.finished_at = utcnow()
    after_finish(session, ctx, analysis)


def unexpected_failure_text(exc: Exception, analysis_id: int) -> str:
    """The ``errors`` text for a failure no check foresaw: a sentence for the user, while the
    exception (type, message, traceback) goes to the log with the job id. A full disk is named."""
    log.error("analysis %s failed unexpectedly", analysis_id, exc_info=exc)
    if isinstance(exc, OSError) and StorageFullError.is_full(exc):
        return (
            f"The results could not be stored ({exc.strerror}): the server's storage is full. "
            "Submit the file again once space has been freed."
        )
    return (
        "The analysis failed because of an internal error (it was logged for the operator, "
        "and the credits were refunded). Submit the file again with no_cache=true to retry."
    )


def record_failure(ctx: AnalysisContext, analysis_id: int, message: str, token: str | None) -> None:
    """End the analysis as ``errored`` with ``message`` (and refund), if ``token`` still holds it;
    used by the video worker too."""
    with unit_of_work(ctx.sessions) as session:
        analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
        if analysis is not None:
            finish_errored(session, analysis, message)
            after_finish(session, ctx, analysis)


def refund_unproduced_option(session: Session, analysis: Analysis) -> None:
    """Give back one option's credit to each submission charged for an option that produced nothing."""
    for classification in session.scalars(
        select(Classification).where(Classification.analysis_id == analysis.id)
    ).unique():
        user = session.get(User, classification.user_id)
        if user is None or not classification.credits_charged:
            continue
        amount = min(users_service.option_cost(user), classification.credits_charged)
        users_service.refund(user, amount)
        classification.credits_charged -= amount


def finish_errored(session: Session, analysis: Analysis, message: str) -> None:
    """Errored analyses refund what their submissions were charged."""
    analysis.state = "errored"
    analysis.errors = message
    analysis.api_version = API_VERSION
    analysis.finished_at = utcnow()
    for classification in session.scalars(
        select(Classification).where(Classification.analysis_id == analysis.id)
    ).unique():
        if classification.credits_charged:
            user = session.get(User, classification.user_id)
            if user is not None:
                users_service.refund(user, classification.credits_charged)
            classification.credits_charged = 0.0


def after_finish(session: Session, ctx: AnalysisContext | None, analysis: Analysis) -> None:
    """Queue the webhooks of every submission waiting on this analysis; drop unwanted files."""
    waiting = session.scalars(
        select(Classification).where(Classification.analysis_id == analysis.id, Classification.webhook_url.is_not(None))
    ).unique()
    queued = False
    for classification in waiting:
        create_delivery(session, classification)
        queued = True
    owner = session.get(User, analysis.user_id) if analysis.user_id else None
    if ctx is None:
        return
    blobs = ctx.blobs
    if owner is not None and not owner.save_files and analysis.blob_key:
        key = analysis.blob_key
        analysis.blob_key = None
        after_commit(session, lambda: blobs.delete(key))
    if queued:
        after_commit(session, ctx.wake_webhooks)
