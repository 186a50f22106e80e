"""Upload, the list of results, one result with its evidence, and the media behind it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.responses import Response

from originlens.dashboard.core import CSRF, DashboardRoute, UserDep, redirect, render, wants_json
from originlens.errors import (
    FieldValidationError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from originlens.media.audio import ACCEPTED_AUDIO_FORMATS
from originlens.media.images import ACCEPTED_IMAGE_FORMATS
from originlens.media.kinds import has_picture_track, sniff_kind
from originlens.media.video import SNIFF_BYTES
from originlens.services import audio as audio_service
from originlens.services import classifications as images_service
from originlens.services import dashboard_media
from originlens.services import dashboard_results as view
from originlens.services import videos as videos_service
from originlens.services.submissions import SubmitOptions
from originlens.storage.base import BlobNotFoundError, BlobTooLargeError, StoredBlob
from originlens.store.models import Classification, User
from originlens.web.deps import ContainerDep, SessionDep
from originlens.web.params import FrameIndexPath, FramesForm, PageQuery

router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)
CHUNK = 1 << 20
PRIVATE = {"Cache-Control": "private, max-age=3600"}


@router.get("/upload")
async def upload_form(request: Request, user: UserDep, container: ContainerDep) -> Response:
    settings = container.settings
    return render(
        request, "upload.html", user=user, frames=videos_service.FRAME_CHOICES,
        max_image_mb=settings.max_upload_bytes // (1024 * 1024),
        max_video_mb=settings.max_video_upload_bytes // (1024 * 1024),
        max_audio_mb=settings.max_audio_upload_bytes // (1024 * 1024),
        max_audio_minutes=f"{settings.audio_max_seconds / 60:g}",
        image_formats=ACCEPTED_IMAGE_FORMATS, video_formats=videos_service.ACCEPTED_VIDEO_FORMATS,
        audio_formats=ACCEPTED_AUDIO_FORMATS,
        heatmap_available=any(d.kind == "statistical" and "image" in d.modalities for d in container.registry),
    )  # fmt: skip


def _require_submitter(user: User) -> None:
    if user.terms_accepted_at is None:
        raise ForbiddenError("Accept the terms of service first (on the Account page).")


@router.post("/upload", dependencies=CSRF)
def upload(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    file: Annotated[UploadFile, File()],
    ref_id: Annotated[str, Form(max_length=255)] = "",
    with_heatmap: Annotated[bool, Form()] = False,
    with_tampering: Annotated[bool, Form()] = False,
    with_nsfw: Annotated[bool, Form()] = False,
    with_morphing: Annotated[bool, Form()] = False,
    frames: FramesForm = 5,
) -> Response:
    """An image, a video or a recording (told apart by content): the same services as the API,
    then the result page."""
    _require_submitter(user)
    options = SubmitOptions(
        with_heatmap=with_heatmap, with_tampering=with_tampering, with_nsfw=with_nsfw, with_morphing=with_morphing
    )
    head = file.file.read(SNIFF_BYTES)
    if not head:
        raise FieldValidationError("file", "The file is empty.")
    name = file.filename or "upload"
    kind = sniff_kind(head)
    if kind is None:
        raise UnsupportedMediaTypeError(
            "The file is not an image, video or recording this service accepts. "
            f"Images: {ACCEPTED_IMAGE_FORMATS}. Videos: {videos_service.ACCEPTED_VIDEO_FORMATS}. "
            f"Recordings: {ACCEPTED_AUDIO_FORMATS}."
        )
    if kind[0] == "image":
        data = head + file.file.read(container.settings.max_upload_bytes + 1 - len(head))
        classification = images_service.submit_image(
            session, container.submit_context, user, data=data, name=name, options=options, ref_id=ref_id or None
        )
    else:
        upload = _Upload(container, file, head, name, ref_id or None)
        classification = upload.submit(session, user, kind, options, frames)
    url = f"/dashboard/results/{classification.identifier}"
    if wants_json(request):
        return JSONResponse({"identifier": classification.identifier, "url": url})
    return redirect(request, url)


class _Upload:
    """A video or recording streamed to the blob store (never held in memory) and recorded with
    the API's services; an ambiguous container (MP4, WebM, Ogg) is a video if it has a picture
    track, else a recording."""

    def __init__(self, container: Any, file: UploadFile, head: bytes, name: str, ref_id: str | None) -> None:
        self.container, self.file, self.head, self.name, self.ref_id = container, file, head, name, ref_id
        self.blobs = container.blobs

    def _store(self, folder: str, limit: int, what: str) -> tuple[str, StoredBlob]:
        key = f"media/{folder}/{secrets.token_hex(16)}"

        def chunks() -> Any:
            yield self.head
            yield from iter(lambda: self.file.file.read(CHUNK), b"")

        try:
            return key, self.blobs.put_stream(key, chunks(), max_bytes=limit)
        except BlobTooLargeError as exc:
            raise PayloadTooLargeError(f"The {what} must not be larger than {limit // (1024 * 1024)} MB.") from exc

    def submit(
        self, session: Any, user: User, kind: tuple[str, str], options: SubmitOptions, frames: int
    ) -> Classification:
        settings = self.container.settings
        audio_limit = settings.max_audio_upload_bytes
        if kind[0] == "audio":
            key, stored = self._store("audio", audio_limit, "recording")
            return self._keep_or_delete(key, lambda: self._submit_audio(session, user, key, stored, kind[1]))
        if frames not in videos_service.FRAME_CHOICES:
            raise FieldValidationError("frames", "The selected frames is invalid: use 5, 10 or 30.")
        key, stored = self._store("video", settings.max_video_upload_bytes, "video")
        if kind[0] == "either":
            with self.blobs.local_path(key) as path:
                is_video = has_picture_track(path, kind[1]) is not False  # unreadable: the video analysis says why
            if not is_video:
                if stored.size > audio_limit:
                    self.blobs.delete(key)
                    raise PayloadTooLargeError(
                        f"The recording must not be larger than {audio_limit // (1024 * 1024)} MB."
                    )
                return self._keep_or_delete(key, lambda: self._submit_audio(session, user, key, stored, kind[1]))
        return self._keep_or_delete(key, lambda: self._submit_video(session, user, key, stored, options, frames))

    def _submit_video(
        self, session: Any, user: User, key: str, stored: StoredBlob, options: SubmitOptions, frames: int
    ) -> Classification:
        video_options = videos_service.VideoOptions(
            with_heatmap=options.with_heatmap, with_tampering=options.with_tampering, with_nsfw=options.with_nsfw,
            with_morphing=options.with_morphing, frames=frames,
        )  # fmt: skip
        return videos_service.submit_video(
            session, self.container.submit_context, user, blob_key=key, stored=stored,
            mime=videos_service.check_video_head(self.head), name=self.name, options=video_options, ref_id=self.ref_id,
        )  # fmt: skip

    def _submit_audio(self, session: Any, user: User, key: str, stored: StoredBlob, mime: str) -> Classification:
        return audio_service.submit_audio(
            session, self.container.submit_context, user, blob_key=key, stored=stored, mime=mime, name=self.name,
            options=audio_service.AudioOptions(), ref_id=self.ref_id,
        )  # fmt: skip

    def _keep_or_delete(self, key: str, submit: Callable[[], Classification]) -> Classification:
        try:
            return submit()
        except Exception:
            self.blobs.delete(key)  # refused (credits...): keep no orphan file
            raise


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldValidationError(field, f"The {field} date must look like 2026-11-28.") from exc


@router.get("/results")
def results_list(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    q: Annotated[str, Query(max_length=255)] = "",
    date_from: str | None = Query(None, alias="from"),
    date_to: str | None = Query(None, alias="to"),
    verdict: str = "",
    media: str = "",
    page: PageQuery = 1,
) -> Response:
    filters = view.ListFilters(
        query=q,
        date_from=_date(date_from, "from"),
        date_to=_date(date_to, "to"),
        verdict=verdict if verdict in view.VERDICT_FILTERS else "",
        media=media if media in ("image", "video", "audio") else "",
        page=page,
    )
    result = view.list_results(session, user, filters, container.settings.public_url)
    rows = [{**body, "label": view.verdict_label(body), "media": _media_of(body)} for body in result.items]
    query = {"q": q, "from": date_from or "", "to": date_to or "", "verdict": filters.verdict, "media": filters.media}

    def page_url(n: int) -> str:
        return "/dashboard/results?" + urlencode({**{k: v for k, v in query.items() if v}, "page": n})

    return render(
        request, "results.html", user=user, rows=rows, page=result, filters=query,
        verdicts=view.VERDICT_FILTERS, page_url=page_url,
    )  # fmt: skip


def _media_of(body: dict[str, Any]) -> str:
    if "chunk_details" in body:
        return "audio"
    return "video" if isinstance(body.get("results"), dict) else "image"


@router.get("/results/{identifier}")
def result_page(
    request: Request, identifier: str, session: SessionDep, container: ContainerDep, user: UserDep
) -> Response:
    classification, forced = view.find_own(session, user, identifier)
    body = view.response_for(classification, user, forced, container.settings.public_url)
    analysis = classification.analysis
    media = analysis.media_type
    size = view.image_size(container.blobs, analysis) if media == "image" else None
    context: dict[str, Any] = {
        "user": user,
        "body": body,
        "media": media,
        "label": view.verdict_label(body),
        "decided": view.decided_by(body),
        "c2pa": view.c2pa_summary(body),
        "metadata": view.metadata_summary(body),
        "file_kept": analysis.blob_key is not None,
        "size": size,
    }
    if media == "image":
        context.update(
            models=view.model_rows(body["results"]),
            faces=view.faces(body),
            nsfw=view.finding(body, "nsfw"),
            tampering=view.finding(body, "tampering"),
            morphing=view.finding(body, "morphing"),
        )
    elif media == "audio":
        chunks = view.chunk_rows(body)
        context.update(
            models=view.model_rows(body["results"]),
            chunks=chunks,
            wave=view.waveform_picture(analysis.waveform, body["duration"], chunks),
            tags=view.audio_metadata_summary(body),
            clock=view.clock,
        )
    else:
        frames = body["results"]["images"]
        context.update(
            frames=[
                {
                    **frame,
                    "label": view.verdict_label({**frame, "status": "done"}),
                    "artificial": view.artificial_probability(frame.get("verdict")),
                    "models": view.model_rows(frame["results"]),
                }
                for frame in frames
            ],
        )
    return render(request, "result.html", **context)


@router.get("/results/{identifier}/status")
async def result_status(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    """What the waiting result page polls: the status, progress for videos, and the verdict word."""
    classification, forced = view.find_own(session, user, identifier)
    body = view.response_for(classification, user, forced, container.settings.public_url)
    return JSONResponse(
        {
            "status": body["status"],
            "label": view.verdict_label(body),
            "frames_done": body.get("frames_done"),
            "frames_total": body.get("frames_total"),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/results/{identifier}/image")
def result_image(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    """The owner's uploaded image (upright); 404 when it was not kept."""
    classification, _ = view.find_own(session, user, identifier)
    if classification.analysis.media_type != "image":
        raise NotFoundError("This result is not an image.")
    shown = view.original_image(container.blobs, classification.analysis)
    if shown is None:
        raise NotFoundError("The file was not kept on this server.")
    data, mime = shown
    return Response(data, media_type=mime, headers={**PRIVATE, "X-Content-Type-Options": "nosniff"})


@router.get("/results/{identifier}/audio")
def result_audio(
    request: Request, identifier: str, session: SessionDep, container: ContainerDep, user: UserDep
) -> Response:
    """The owner's recording for the page's player, with byte ranges (seeking); 404 when not kept."""
    classification, _ = view.find_own(session, user, identifier)
    analysis = classification.analysis
    if analysis.media_type != "audio":
        raise NotFoundError("This result is not a recording.")
    missing = "The recording was not kept on this server."
    if analysis.blob_key is None:
        raise NotFoundError(missing)
    headers = {**PRIVATE, "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff"}
    try:
        with container.blobs.local_path(analysis.blob_key) as path:
            size = path.stat().st_size
            try:
                wanted = dashboard_media.byte_range(request.headers.get("range"), size)
            except dashboard_media.RangeNotSatisfiableError:
                return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
            first, last = wanted or (0, size - 1)
            data = dashboard_media.read_bytes(path, first, last) if size else b""
    except BlobNotFoundError as exc:
        raise NotFoundError(missing) from exc
    if wanted is None:
        return Response(data, media_type=analysis.mime_type, headers=headers)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Response(data, status_code=206, media_type=analysis.mime_type, headers=headers)


def _map(container: Any, key: str | None, missing: str) -> Response:
    if key is None:
        raise NotFoundError(missing)
    try:
        return Response(container.blobs.get(key), media_type="image/png", headers=PRIVATE)
    except BlobNotFoundError as exc:
        raise NotFoundError(missing) from exc


@router.get("/results/{identifier}/heatmap")
def result_heatmap(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    classification, _ = view.find_own(session, user, identifier)
    return _map(container, classification.analysis.heatmap_blob_key, "This classification has no heatmap.")


@router.get("/results/{identifier}/tampering")
def result_tampering(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    classification, _ = view.find_own(session, user, identifier)
    return _map(container, classification.analysis.tampering_blob_key, "This classification has no tampering map.")


@router.get("/results/{identifier}/frames/{frame_index}.jpg")
def result_thumbnail(
    identifier: str, frame_index: FrameIndexPath, session: SessionDep, container: ContainerDep, user: UserDep
) -> Response:
    """A frame's thumbnail, decoded from the stored video on first request and then cached."""
    classification, _ = view.find_own(session, user, identifier)
    analysis = classification.analysis
    frame = next((f for f in analysis.results or [] if f.get("frame_index") == frame_index), None)
    if analysis.media_type != "video" or frame is None:
        raise NotFoundError("No such frame.")
    data = view.video_thumbnail(container.blobs, analysis, frame_index, float(frame["timestamp"]))
    if data is None:
        raise NotFoundError("The video was not kept on this server.")
    return Response(data, media_type="image/jpeg", headers=PRIVATE)


@router.post("/results/{identifier}/override", dependencies=CSRF)
def override(
    request: Request,
    identifier: str,
    session: SessionDep,
    user: UserDep,
    classification: Annotated[str, Form()],
) -> Response:
    """Force human or artificial on every result of this file, as ``POST /api/.../override`` does."""
    found, _ = view.find_own(session, user, identifier)
    images_service.override(session, user, found.analysis.sha256, classification, found.analysis.media_type)
    return redirect(request, f"/dashboard/results/{identifier}", f"Classification overridden: {classification}.")
