"""Submitting images, reading results, overrides: the classification use cases."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session, contains_eager

from originlens.errors import (
    FieldValidationError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from originlens.media.images import (
    ACCEPTED_IMAGE_FORMATS,
    ImageTooLargeError,
    check_image_header,
    sha256_hex,
    sniff_image_type,
)
from originlens.services import users as users_service
from originlens.services.submissions import (
    CACHE_OPTION_FIELDS,
    SubmitContext,
    SubmitOptions,
    face_details,
    find_cached,
    record_submission,
    response_body,
)
from originlens.store.db import after_commit, after_rollback
from originlens.store.models import Analysis, Classification, Override, User

MAX_BATCH_IDENTIFIERS = 100


def _cache_key(sha256: str, options: SubmitOptions, fingerprint: str) -> str:
    analysed = {name: getattr(options, name) for name in CACHE_OPTION_FIELDS}
    raw = json.dumps([sha256, analysed, fingerprint], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def validate_image_upload(data: bytes, max_upload_bytes: int, max_image_pixels: int) -> str:
    """Upload-time checks, by content only; returns the sniffed MIME type."""
    if len(data) > max_upload_bytes:
        raise PayloadTooLargeError(f"The image must not be larger than {max_upload_bytes // (1024 * 1024)} MB.")
    if not data:
        raise FieldValidationError("image", "The image file is empty.")
    mime = sniff_image_type(data[:32])
    if mime is None:
        raise UnsupportedMediaTypeError(
            f"The file is not an image this service accepts. Accepted formats: {ACCEPTED_IMAGE_FORMATS}."
        )
    try:
        check_image_header(data, max_image_pixels)
    except ImageTooLargeError as exc:
        raise PayloadTooLargeError(f"The image is refused: {exc}.") from exc
    return mime


def submit_image(
    session: Session,
    ctx: SubmitContext,
    user: User,
    *,
    data: bytes,
    name: str,
    options: SubmitOptions,
    ref_id: str | None = None,
    webhook_url: str | None = None,
) -> Classification:
    """Record a submission; reuse a finished or running analysis of the same bytes and options.

    The analysis job is enqueued only after the caller commits.
    """
    if user.readonly:
        raise ForbiddenError("This user is read-only and cannot submit media.")
    mime = validate_image_upload(data, ctx.max_upload_bytes, ctx.max_image_pixels)
    sha256 = sha256_hex(data)
    cache_key = _cache_key(sha256, options, ctx.detectors_fingerprint)

    analysis = None if options.no_cache else find_cached(session, user, cache_key)
    cached = analysis is not None
    charged = 0.0
    if analysis is None:
        charged = users_service.analysis_cost(user, options.as_dict())
        users_service.check_affordable(user, charged)  # before storing bytes for nothing
        # The bytes are stored before the first write to the database, so no database lock
        # (SQLite's one writer, the user's row on PostgreSQL) is held during a slow write;
        # if the transaction is rolled back after all, the file is deleted.
        blob_key = f"media/{sha256[:2]}/{sha256}-{secrets.token_hex(4)}"
        ctx.blobs.put(blob_key, data)
        after_rollback(session, lambda: ctx.blobs.delete(blob_key))
        users_service.charge(user, charged)
        analysis = Analysis(
            user_id=user.id,
            media_type="image",
            sha256=sha256,
            cache_key=cache_key,
            mime_type=mime,
            blob_key=blob_key,
            options=options.as_dict(),
        )
        session.add(analysis)
        session.flush()
        analysis_id = analysis.id
        after_commit(session, lambda: ctx.enqueue(analysis_id))

    return record_submission(
        session, ctx, user, analysis, name=name or "image", options=options.as_dict(), ref_id=ref_id,
        webhook_url=webhook_url, cached=cached, charged=charged,
    )  # fmt: skip


# One query for the hottest read: the submission, its analysis and the caller's override.
_ONE_WITH_OVERRIDE = (
    select(Classification, Override.classification)
    .join(Classification.analysis)
    .outerjoin(
        Override,
        and_(
            Override.user_id == Classification.user_id,
            Override.sha256 == Analysis.sha256,
            Override.media_type == Analysis.media_type,
        ),
    )
    .options(contains_eager(Classification.analysis))
    .where(
        Classification.identifier == bindparam("identifier"),
        Classification.user_id == bindparam("user_id"),
        Analysis.media_type == bindparam("media_type"),
    )
)


def get_with_override(
    session: Session, user: User, identifier: str, media_type: str = "image"
) -> tuple[Classification, str | None]:
    """The caller's own classification and the label it forced on that hash, if any.

    Another user's classification is indistinguishable from a missing one.
    """
    row = session.execute(
        _ONE_WITH_OVERRIDE, {"identifier": identifier, "user_id": user.id, "media_type": media_type}
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"No classification with identifier {identifier}.")
    return row[0], row[1]


def get_classification(session: Session, user: User, identifier: str, media_type: str = "image") -> Classification:
    return get_with_override(session, user, identifier, media_type)[0]


def render_one(session: Session, user: User, identifier: str, public_url: str) -> dict[str, Any]:
    classification, forced = get_with_override(session, user, identifier)
    return build_response(classification, user, forced, public_url)


def get_many(
    session: Session, user: User, identifiers: Sequence[str], media_type: str = "image"
) -> list[Classification]:
    """The caller's classifications among ``identifiers``, in the order asked; unknown ones are left out."""
    if len(identifiers) > MAX_BATCH_IDENTIFIERS:
        raise FieldValidationError(
            "identifiers", f"The identifiers may not have more than {MAX_BATCH_IDENTIFIERS} items."
        )
    rows = session.scalars(
        select(Classification)
        .join(Classification.analysis)
        .where(
            Classification.identifier.in_(set(identifiers)),
            Classification.user_id == user.id,
            Analysis.media_type == media_type,
        )
    ).unique()
    by_id = {row.identifier: row for row in rows}
    seen: set[str] = set()
    ordered = []
    for identifier in identifiers:
        if identifier in by_id and identifier not in seen:
            ordered.append(by_id[identifier])
            seen.add(identifier)
    return ordered


def list_own(
    session: Session, user: User, *, ref_id: str | None, page: int, per_page: int, media_type: str = "image"
) -> tuple[list[Classification], int]:
    from sqlalchemy import func

    query = (
        select(Classification)
        .join(Classification.analysis)
        .where(Classification.user_id == user.id, Analysis.media_type == media_type)
    )
    if ref_id is not None:
        query = query.where(Classification.ref_id == ref_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Classification.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).unique()
    return list(rows), total


def override(session: Session, user: User, sha256: str, label: str, media_type: str = "image") -> Override:
    """Force the label on every one of the caller's results with this hash."""
    if label not in ("human", "artificial"):
        raise FieldValidationError("classification", "The classification must be human or artificial.")
    exists = session.scalar(
        select(Analysis.id)
        .join(Classification, Classification.analysis_id == Analysis.id)
        .where(Classification.user_id == user.id, Analysis.sha256 == sha256, Analysis.media_type == media_type)
        .limit(1)
    )
    if exists is None:
        raise NotFoundError(f"No {media_type} with hash {sha256} among your classifications.")
    row = session.scalar(
        select(Override).where(
            Override.user_id == user.id, Override.sha256 == sha256, Override.media_type == media_type
        )
    )
    if row is None:
        row = Override(user_id=user.id, sha256=sha256, media_type=media_type, classification=label)
        session.add(row)
    else:
        row.classification = label
    session.flush()
    return row


def overrides_for(session: Session, user_id: int, hashes: set[str], media_type: str = "image") -> dict[str, str]:
    if not hashes:
        return {}
    rows = session.execute(
        select(Override.sha256, Override.classification).where(
            Override.user_id == user_id, Override.sha256.in_(hashes), Override.media_type == media_type
        )
    )
    return {sha: label for sha, label in rows}


def build_response(
    classification: Classification, user: User, forced_label: str | None, public_url: str
) -> dict[str, Any]:
    """The identifAI ``ImageResponse`` for one submission, as the client sees it now."""
    analysis = classification.analysis
    return response_body(
        classification, user, forced_label, public_url,
        has_heatmap=analysis.heatmap_blob_key is not None,
        results=analysis.results or [],
        details=face_details(analysis.details or [], user.heuristic),
        has_tampering_map=analysis.tampering_blob_key is not None,
    )  # fmt: skip
