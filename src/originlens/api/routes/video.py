"""Video classification endpoints, with identifAI's paths (HTTP only; the use cases are in
``services/videos.py``). Uploads are streamed to the blob store in 1 MiB chunks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from originlens.api import schemas
from originlens.api.deps import ContainerDep, SessionDep, UserDep
from originlens.api.routes.classification import (
    FormBool,
    ListIdentifiers,
    OptionsDep,
    OverrideRequest,
    PlainIdentifiers,
    RefId,
    WebhookUrl,
    _checked_webhook,
    _identifier_response,
    _json,
    paginator,
)
from originlens.api.streams import split_head
from originlens.errors import FieldValidationError, PayloadTooLargeError
from originlens.media.video import SNIFF_BYTES
from originlens.outbound.fetch import fetch_media
from originlens.outbound.guard import validate_url
from originlens.services import classifications as images_service
from originlens.services import results
from originlens.services import videos as service
from originlens.storage.base import BlobTooLargeError, StoredBlob
from originlens.web.params import FramesForm, PageQuery, PerPageQuery

router = APIRouter(prefix="/api", tags=["Video"], responses=schemas.KEYED)
CHUNK = 1 << 20


def video_options(
    options: OptionsDep,
    frames: FramesForm = 5,
    key_frames: FormBool = False,
    key_frames_method: Annotated[str, Form(max_length=20)] = "iframes",
) -> service.VideoOptions:
    """The image options plus how frames are chosen; bad values are 422 with the field named."""
    if frames not in service.FRAME_CHOICES:
        raise FieldValidationError("frames", "The selected frames is invalid: use 5, 10 or 30.")
    method = "iframes" if key_frames_method == "iframe" else key_frames_method  # identifAI's older spelling
    if method not in service.KEY_FRAME_METHODS:
        raise FieldValidationError("key_frames_method", "The key_frames_method must be iframes, flow or color.")
    return service.VideoOptions(**options.as_dict(), frames=frames, key_frames=key_frames, key_frames_method=method)


VideoOptionsDep = Annotated[service.VideoOptions, Depends(video_options)]


def _store(container: Any, head: bytes, rest: Iterator[bytes]) -> tuple[str, StoredBlob]:
    key = f"media/video/{secrets.token_hex(16)}"
    limit = container.settings.max_video_upload_bytes

    def chunks() -> Iterator[bytes]:
        yield head
        yield from rest

    try:
        stored = container.blobs.put_stream(key, chunks(), max_bytes=limit)
    except BlobTooLargeError as exc:
        raise PayloadTooLargeError(f"The video must not be larger than {limit // (1024 * 1024)} MB.") from exc
    if stored.size == 0:
        container.blobs.delete(key)
        raise FieldValidationError("video", "The video file is empty.")
    return key, stored


def _submit(
    session: Any, container: Any, user: Any, key: str, stored: StoredBlob, mime: str, name: str, **kwargs: Any
) -> Any:
    try:
        return service.submit_video(
            session, container.submit_context, user, blob_key=key, stored=stored, mime=mime, name=name, **kwargs
        )
    except Exception:
        container.blobs.delete(key)  # refused (credits, read-only...): keep no orphan file
        raise


@router.post("/classification_video", summary="Classify a video (file upload)", **schemas.submitted())
def submit_video(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    video: Annotated[UploadFile, File(description="Any common video container, at most 5 GB")],
    options: VideoOptionsDep,
    ref_id: RefId = None,
    webhook_url: WebhookUrl = None,
) -> Response:
    webhook = _checked_webhook(webhook_url)
    head = video.file.read(SNIFF_BYTES)
    if not head:
        raise FieldValidationError("video", "The video file is empty.")
    mime = service.check_video_head(head)
    key, stored = _store(container, head, iter(lambda: video.file.read(CHUNK), b""))
    classification = _submit(
        session, container, user, key, stored, mime, video.filename or "video",
        options=options, ref_id=ref_id, webhook_url=webhook,
    )  # fmt: skip
    return _identifier_response(request, classification)


@router.post("/video_fromurl", summary="Classify a video from a URL", **schemas.submitted())
def submit_video_from_url(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    file_url: Annotated[str, Form(max_length=2000)],
    options: VideoOptionsDep,
    ref_id: RefId = None,
    webhook_url: WebhookUrl = None,
) -> Response:
    """The download is streamed into the blob store (capped like uploads), never held in memory."""
    webhook = _checked_webhook(webhook_url)
    settings = container.settings
    sniffed: list[str] = []

    def stream_to_store(chunks: Iterator[bytes]) -> tuple[str, StoredBlob]:
        head, rest = split_head(chunks, SNIFF_BYTES)
        if not head:
            raise FieldValidationError("file_url", "The URL returned an empty file.")
        sniffed.append(service.check_video_head(head))  # 415 before anything is stored
        return _store(container, head, rest)

    fetched = fetch_media(
        validate_url(file_url),
        policy=container.policy,
        max_bytes=settings.max_video_upload_bytes,
        timeout_s=settings.video_fetch_timeout_s,
        max_redirects=settings.url_fetch_max_redirects,
        consume=stream_to_store,
    )
    key, stored = fetched.consumed
    classification = _submit(
        session, container, user, key, stored, sniffed[0], fetched.filename,
        options=options, ref_id=ref_id, webhook_url=webhook,
    )  # fmt: skip
    return _identifier_response(request, classification)


@router.get(
    "/classification_video/{identifier}",
    summary="Get single video classification result",
    **schemas.ok(schemas.VideoResponse, 404),
)
async def get_video_result(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    classification, forced = images_service.get_with_override(session, user, identifier, "video")
    return _json(service.build_video_response(classification, user, forced, container.settings.public_url))


@router.get(
    "/classifications_video",
    summary="Get several video results, or list your own",
    **schemas.ok(list[schemas.VideoResponse] | schemas.VideoPage),
)
async def list_video_results(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    identifiers: ListIdentifiers = None,
    identifiers_plain: PlainIdentifiers = None,
    ref_id: str | None = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Response:
    public_url = container.settings.public_url
    ids = (identifiers or []) + (identifiers_plain or [])
    if ids:
        rows = images_service.get_many(session, user, ids, "video")
    else:
        rows, total = images_service.list_own(
            session, user, ref_id=ref_id, page=page, per_page=per_page, media_type="video"
        )
    data = results.render(session, user, rows, public_url)
    return _json(data if ids else paginator(request, data, page, per_page, total))


@router.post(
    "/classification_video/{hash}/override",
    summary="Override video classification",
    **schemas.ok(schemas.OverrideResponse, 404),
)
def override_video(hash: str, body: OverrideRequest, session: SessionDep, user: UserDep) -> dict[str, str]:
    row = images_service.override(session, user, hash.lower(), body.classification, "video")
    return {"classification": row.classification, "type": "video", "hash": row.sha256}
