"""Speech/audio classification endpoints, with identifAI's paths (HTTP only; the use cases are in
``services/audio.py``). Uploads are streamed to the blob store in 1 MiB chunks, like videos."""

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
from originlens.media.audio import SNIFF_BYTES
from originlens.outbound.fetch import fetch_media
from originlens.outbound.guard import validate_url
from originlens.services import audio as service
from originlens.services import classifications as images_service
from originlens.services import results
from originlens.storage.base import BlobTooLargeError, StoredBlob
from originlens.web.params import PageQuery, PerPageQuery

router = APIRouter(prefix="/api", tags=["Speech"], responses=schemas.KEYED)
CHUNK = 1 << 20
EMPTY = "The audio file is empty."


def audio_options(no_cache: FormBool = False, prevent_c2pa_forces: FormBool = False) -> service.AudioOptions:
    """The options a recording takes; image options (heatmap, morphing...) do not apply and are ignored."""
    return service.AudioOptions(no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces)


AudioOptionsDep = Annotated[service.AudioOptions, Depends(audio_options)]


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The recording must not be larger than {limit // (1024 * 1024)} MB.")


def _store(container: Any, head: bytes, rest: Iterator[bytes]) -> tuple[str, StoredBlob]:
    key = f"media/audio/{secrets.token_hex(16)}"
    limit = container.settings.max_audio_upload_bytes

    def chunks() -> Iterator[bytes]:
        yield head
        yield from rest

    try:
        stored = container.blobs.put_stream(key, chunks(), max_bytes=limit)
    except BlobTooLargeError as exc:
        raise _too_large(limit) from exc
    if stored.size == 0:
        container.blobs.delete(key)
        raise FieldValidationError("audio", EMPTY)
    return key, stored


def _submit(
    session: Any, container: Any, user: Any, key: str, stored: StoredBlob, mime: str, name: str, **kwargs: Any
) -> Any:
    try:
        return service.submit_audio(
            session, container.submit_context, user, blob_key=key, stored=stored, mime=mime, name=name, **kwargs
        )
    except Exception:
        container.blobs.delete(key)  # refused (credits, read-only...): keep no orphan file
        raise


@router.post("/classification_audio", summary="Classify a speech (file upload)", **schemas.submitted())
def submit_audio(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    audio: Annotated[
        UploadFile, File(description="MP3, WAV, OGG (Vorbis/Opus), FLAC, AAC, 3GP/AMR, M4A, MP4 or WebM; at most 50 MB")
    ],
    options: AudioOptionsDep,
    ref_id: RefId = None,
    webhook_url: WebhookUrl = None,
) -> Response:
    webhook = _checked_webhook(webhook_url)
    head = audio.file.read(SNIFF_BYTES)
    if not head:
        raise FieldValidationError("audio", EMPTY)
    mime = service.check_audio_head(head)
    key, stored = _store(container, head, iter(lambda: audio.file.read(CHUNK), b""))
    classification = _submit(
        session, container, user, key, stored, mime, audio.filename or "audio",
        options=options, ref_id=ref_id, webhook_url=webhook,
    )  # fmt: skip
    return _identifier_response(request, classification)


@router.post("/audio_fromurl", summary="Classify a speech from a URL", **schemas.submitted())
def submit_audio_from_url(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    file_url: Annotated[str, Form(max_length=2000)],
    options: AudioOptionsDep,
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
        sniffed.append(service.check_audio_head(head))  # 415 before anything is stored
        return _store(container, head, rest)

    fetched = fetch_media(
        validate_url(file_url),
        policy=container.policy,
        max_bytes=settings.max_audio_upload_bytes,
        timeout_s=settings.audio_fetch_timeout_s,
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
    "/classification_audio/{identifier}",
    summary="Get single audio classification result",
    **schemas.ok(schemas.AudioResponse, 404),
)
async def get_audio_result(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    classification, forced = images_service.get_with_override(session, user, identifier, "audio")
    return _json(service.build_audio_response(classification, user, forced, container.settings.public_url))


@router.get(
    "/classifications_audio",
    summary="Get several audio results, or list your own",
    **schemas.ok(list[schemas.AudioResponse] | schemas.AudioPage),
)
async def list_audio_results(
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
    """With ``identifiers[]``: those results, in order. Without: your own, newest first, paginated."""
    public_url = container.settings.public_url
    ids = (identifiers or []) + (identifiers_plain or [])
    if ids:
        rows = images_service.get_many(session, user, ids, "audio")
    else:
        rows, total = images_service.list_own(
            session, user, ref_id=ref_id, page=page, per_page=per_page, media_type="audio"
        )
    data = results.render(session, user, rows, public_url)
    return _json(data if ids else paginator(request, data, page, per_page, total))


@router.post(
    "/classification_audio/{hash}/override",
    summary="Override audio classification",
    **schemas.ok(schemas.OverrideResponse, 404),
)
def override_audio(hash: str, body: OverrideRequest, session: SessionDep, user: UserDep) -> dict[str, str]:
    row = images_service.override(session, user, hash.lower(), body.classification, "audio")
    return {"classification": row.classification, "type": "audio", "hash": row.sha256}
