"""What every submission shares, images, videos and recordings alike: the options, what the submit use
cases need from the composition root, the cache, the recorded submission and its webhook, and
how stored verdicts are shown (forced or not) and face details read."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from originlens.errors import ForbiddenError
from originlens.services import users as users_service
from originlens.storage import BlobStore
from originlens.storage.base import StoredBlob
from originlens.store.db import after_commit
from originlens.store.models import Analysis, Classification, User, WebhookDelivery
from originlens.verdicts import policy

CACHE_OPTION_FIELDS = ("with_heatmap", "with_morphing", "with_tampering", "with_nsfw")
"""Options that change what is analysed; ``prevent_c2pa_forces`` only changes how the
verdict is read, so it is applied per submission and does not split the cache."""


@dataclass
class SubmitOptions:
    with_morphing: bool = False
    with_tampering: bool = False
    with_heatmap: bool = False
    with_nsfw: bool = False
    no_cache: bool = False
    prevent_c2pa_forces: bool = False

    def as_dict(self) -> dict[str, bool]:
        return dict(self.__dict__)


@dataclass
class SubmitContext:
    """What the submit use case needs from the composition root."""

    blobs: BlobStore
    detectors_fingerprint: str
    max_upload_bytes: int
    max_image_pixels: int
    enqueue: Callable[[int], None]
    wake_webhooks: Callable[[], None] = field(default=lambda: None)


def find_cached(session: Session, user: User, cache_key: str) -> Analysis | None:
    """The caller's newest analysis of the same bytes and options that has not failed."""
    return session.scalar(
        select(Analysis)
        .where(Analysis.user_id == user.id, Analysis.cache_key == cache_key, Analysis.state != "errored")
        .order_by(Analysis.id.desc())
        .limit(1)
    )


def submit_streamed(
    session: Session,
    ctx: SubmitContext,
    user: User,
    *,
    media_type: str,
    cache_key: str,
    cost: float,
    blob_key: str,
    stored: StoredBlob,
    mime: str,
    name: str,
    options: dict[str, Any],
    ref_id: str | None,
    webhook_url: str | None,
    **analysis_fields: Any,
) -> Classification:
    """Record a streamed submission (video, recording) whose bytes are already in the blob store.

    An earlier analysis with the same ``cache_key`` is reused unless ``no_cache`` (the new upload
    is then deleted after commit); otherwise ``cost`` is charged and the new analysis is enqueued
    after commit. ``analysis_fields`` set media-specific columns of the new analysis.
    """
    if user.readonly:
        raise ForbiddenError("This user is read-only and cannot submit media.")
    analysis = None if options.get("no_cache") else find_cached(session, user, cache_key)
    cached = analysis is not None
    charged = 0.0
    if analysis is None:
        charged = cost
        users_service.charge(user, charged)
        analysis = Analysis(
            user_id=user.id,
            media_type=media_type,
            sha256=stored.sha256,
            cache_key=cache_key,
            mime_type=mime,
            blob_key=blob_key,
            options=options,
            **analysis_fields,
        )
        session.add(analysis)
        session.flush()
        analysis_id = analysis.id
        after_commit(session, lambda: ctx.enqueue(analysis_id))
    else:
        after_commit(session, lambda: ctx.blobs.delete(blob_key))  # the earlier upload is reused
    return record_submission(
        session, ctx, user, analysis, name=name or media_type, options=options, ref_id=ref_id,
        webhook_url=webhook_url, cached=cached, charged=charged,
    )  # fmt: skip


def record_submission(
    session: Session,
    ctx: SubmitContext,
    user: User,
    analysis: Analysis,
    *,
    name: str,
    options: dict[str, Any],
    ref_id: str | None,
    webhook_url: str | None,
    cached: bool,
    charged: float,
) -> Classification:
    """The submission the client sees (its own identifier) on an analysis, new or reused; a
    reused analysis that is already finished gets its webhook queued at once."""
    classification = Classification(
        identifier=secrets.token_hex(32),
        user_id=user.id,
        analysis_id=analysis.id,
        name=name[:500],
        ref_id=ref_id,
        options=options,
        webhook_url=webhook_url,
        cached=cached,
        credits_charged=charged,
    )
    session.add(classification)
    session.flush()
    if webhook_url and analysis.state in ("done", "errored"):
        create_delivery(session, classification)
        after_commit(session, ctx.wake_webhooks)
    return classification


def create_delivery(session: Session, classification: Classification) -> WebhookDelivery:
    assert classification.webhook_url
    delivery = WebhookDelivery(
        classification_id=classification.id, url=classification.webhook_url, msg_id="msg_" + secrets.token_hex(16)
    )
    session.add(delivery)
    return delivery


def face_details(details: list[dict[str, Any]], heuristic: str) -> list[dict[str, Any]]:
    """Stored ``details`` with each detection's ``verdict`` under the user's heuristic."""
    shown = []
    for group in details:
        detections = []
        for detection in group.get("detections", []):
            item = {k: v for k, v in detection.items() if k != "verdicts"}
            verdicts = detection.get("verdicts") or []
            item["verdict"] = next(
                (v for v in verdicts if v["heuristic"] == heuristic), verdicts[0] if verdicts else {}
            )
            item["verdicts"] = verdicts
            detections.append(item)
        shown.append({**group, "detections": detections})
    return shown


def shown_verdicts(analysis: Analysis, options: dict[str, Any], forced_label: str | None) -> list[dict[str, Any]]:
    """Every heuristic's verdict, each forced (and saying so) when provenance or the override decides."""
    forcing = (analysis.forced_by or {}).get("evidence", [])
    return policy.shown_verdicts(
        analysis.verdicts or [],
        forcing,
        prevent_c2pa_forces=bool(options.get("prevent_c2pa_forces")),
        override=forced_label,
    )


def select_verdict(
    analysis: Analysis, heuristic: str, options: dict[str, Any], forced_label: str | None
) -> dict[str, Any] | None:
    """The user's verdict under the evidence policy (``originlens.verdicts.policy``): its
    heuristic's entry of :func:`shown_verdicts`."""
    if analysis.state != "done":
        return None
    forcing = (analysis.forced_by or {}).get("evidence", [])
    return policy.select_verdict(
        analysis.verdicts or [],
        forcing,
        heuristic,
        prevent_c2pa_forces=bool(options.get("prevent_c2pa_forces")),
        override=forced_label,
    )


def response_body(
    classification: Classification, user: User, forced_label: str | None, public_url: str, **media_fields: Any
) -> dict[str, Any]:
    """An identifAI response (image, video or audio): the fields every kind shares, with
    ``media_fields`` (results, details, progress...) between the verdicts and the bookkeeping."""
    analysis = classification.analysis
    body: dict[str, Any] = {
        "hash": analysis.sha256,
        "identifier": classification.identifier,
        "api_version": analysis.api_version,
        "status": {"done": "done", "errored": "errored"}.get(analysis.state, "new"),
        "errors": analysis.errors,
        "name": classification.name,
        "result_url": f"{public_url.rstrip('/')}/dashboard/results/{classification.identifier}",
        "c2pa": analysis.c2pa,
        "force_classification": forced_label,
        "verdicts": shown_verdicts(analysis, classification.options, forced_label),
        **media_fields,
        "cached": classification.cached,
        "options": classification.options,
        "notes": list(analysis.notes or []),
        "created_at": classification.created_at.isoformat(),
    }
    if classification.ref_id is not None:  # the vendor schema types ref_id as a string, never null
        body["ref_id"] = classification.ref_id
    if classification.options.get("with_nsfw"):
        body["is_nsfw"] = analysis.is_nsfw
    verdict = select_verdict(analysis, user.heuristic, classification.options, forced_label)
    if verdict is not None:
        body["verdict"] = verdict
    return body
