"""Streamed media (videos, recordings): uploads and downloads go to the blob store in 1 MiB
chunks, never held in memory, and the first bytes are sniffed before anything is stored.
The video and audio routes differ only in the :class:`StreamedKind` they pass here."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import Response

from originlens.api.routes.classification import _checked_webhook, _identifier_response, _json, paginator
from originlens.errors import FieldValidationError, PayloadTooLargeError
from originlens.outbound.fetch import fetch_media
from originlens.outbound.guard import validate_url
from originlens.services import classifications as classifications_service
from originlens.services import results
from originlens.storage.base import BlobTooLargeError, StoredBlob

CHUNK = 1 << 20


@dataclass(frozen=True)
class StreamedKind:
    """What differs between streamed media types."""

    field: str
    """The multipart field, the blob folder and the ``media_type`` (``video``, ``audio``)."""
    noun: str
    """How messages name the file: "video", "recording"."""
    sniff_bytes: int
    check_head: Callable[[bytes], str]
    """The sniffed MIME type of the first bytes, or 415 naming the accepted formats."""
    submit: Callable[..., Any]
    """The service's use case: ``(session, ctx, user, *, blob_key, stored, mime, name, ...)``."""
    max_bytes: Callable[[Any], int]
    """The upload limit, from the settings."""
    fetch_timeout_s: Callable[[Any], float]
    empty: str
    """The 422 message for an empty file."""


def split_head(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes (for sniffing) and an iterator over everything after them."""
    head = b""
    iterator = iter(chunks)
    for chunk in iterator:
        head += chunk
        if len(head) >= size:
            break

    def rest() -> Iterator[bytes]:
        if len(head) > size:
            yield head[size:]
        yield from iterator

    return head[:size], rest()


def _store(container: Any, kind: StreamedKind, head: bytes, rest: Iterator[bytes]) -> tuple[str, StoredBlob]:
    key = f"media/{kind.field}/{secrets.token_hex(16)}"
    limit = kind.max_bytes(container.settings)

    def chunks() -> Iterator[bytes]:
        yield head
        yield from rest

    try:
        stored = container.blobs.put_stream(key, chunks(), max_bytes=limit)
    except BlobTooLargeError as exc:
        raise PayloadTooLargeError(f"The {kind.noun} must not be larger than {limit // (1024 * 1024)} MB.") from exc
    if stored.size == 0:
        container.blobs.delete(key)
        raise FieldValidationError(kind.field, kind.empty)
    return key, stored


def _submit(
    session: Any, container: Any, user: Any, kind: StreamedKind, stored: tuple[str, StoredBlob], **kwargs: Any
) -> Any:
    key, blob = stored
    try:
        return kind.submit(session, container.submit_context, user, blob_key=key, stored=blob, **kwargs)
    except Exception:
        container.blobs.delete(key)  # refused (credits, read-only...): keep no orphan file
        raise


def submit_upload(
    request: Request,
    session: Any,
    container: Any,
    user: Any,
    kind: StreamedKind,
    upload: UploadFile,
    webhook_url: str | None,
    **kwargs: Any,
) -> Response:
    """Sniff, stream to the blob store, record the submission; answer with its identifier."""
    webhook = _checked_webhook(webhook_url)
    head = upload.file.read(kind.sniff_bytes)
    if not head:
        raise FieldValidationError(kind.field, kind.empty)
    mime = kind.check_head(head)
    stored = _store(container, kind, head, iter(lambda: upload.file.read(CHUNK), b""))
    classification = _submit(
        session, container, user, kind, stored, mime=mime, name=upload.filename or kind.field,
        webhook_url=webhook, **kwargs,
    )  # fmt: skip
    return _identifier_response(request, classification)


def submit_download(
    request: Request,
    session: Any,
    container: Any,
    user: Any,
    kind: StreamedKind,
    file_url: str,
    webhook_url: str | None,
    **kwargs: Any,
) -> Response:
    """The download is streamed into the blob store (capped like uploads), never held in memory;
    a file of the wrong type is refused (415) before anything is stored."""
    webhook = _checked_webhook(webhook_url)
    settings = container.settings
    sniffed: list[str] = []

    def stream_to_store(chunks: Iterator[bytes]) -> tuple[str, StoredBlob]:
        head, rest = split_head(chunks, kind.sniff_bytes)
        if not head:
            raise FieldValidationError("file_url", "The URL returned an empty file.")
        sniffed.append(kind.check_head(head))
        return _store(container, kind, head, rest)

    fetched = fetch_media(
        validate_url(file_url),
        policy=container.policy,
        max_bytes=kind.max_bytes(settings),
        timeout_s=kind.fetch_timeout_s(settings),
        max_redirects=settings.url_fetch_max_redirects,
        consume=stream_to_store,
    )
    classification = _submit(
        session, container, user, kind, fetched.consumed, mime=sniffed[0], name=fetched.filename,
        webhook_url=webhook, **kwargs,
    )  # fmt: skip
    return _identifier_response(request, classification)


def list_results(
    request: Request,
    session: Any,
    container: Any,
    user: Any,
    media_type: str,
    ids: list[str],
    *,
    ref_id: str | None,
    page: int,
    per_page: int,
) -> Response:
    """With identifiers: those results, in order. Without: your own, newest first, paginated."""
    if ids:
        rows = classifications_service.get_many(session, user, ids, media_type)
        return _json(results.render(session, user, rows, container.settings.public_url))
    rows, total = classifications_service.list_own(
        session, user, ref_id=ref_id, page=page, per_page=per_page, media_type=media_type
    )
    data = results.render(session, user, rows, container.settings.public_url)
    return _json(paginator(request, data, page, per_page, total))
