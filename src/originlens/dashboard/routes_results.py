"""Upload, the list of results, one result with its evidence, and the media behind it."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.responses import Response

from originlens.dashboard.core import CSRF, DashboardRoute, UserDep, redirect, render, wants_json
from originlens.errors import FieldValidationError, ForbiddenError, NotFoundError, PayloadTooLargeError
from originlens.media.images import sniff_image_type
from originlens.media.video import SNIFF_BYTES
from originlens.services import classifications as images_service
from originlens.services import dashboard_results as view
from originlens.services import videos as videos_service
from originlens.services.submissions import SubmitOptions
from originlens.storage.base import BlobNotFoundError, BlobTooLargeError
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
        heatmap_available=any(d.kind == "statistical" for d in container.registry),
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
    """An image or a video (told apart by content): the same services as the API, then the result page."""
    _require_submitter(user)
    options = SubmitOptions(
        with_heatmap=with_heatmap, with_tampering=with_tampering, with_nsfw=with_nsfw, with_morphing=with_morphing
    )
    head = file.file.read(SNIFF_BYTES)
    if not head:
        raise FieldValidationError("file", "The file is empty.")
    name = file.filename or "upload"
    if sniff_image_type(head[:32]) is not None:
        data = head + file.file.read(container.settings.max_upload_bytes + 1 - len(head))
        classification = images_service.submit_image(
            session, container.submit_context, user, data=data, name=name, options=options, ref_id=ref_id or None
        )
    else:
        classification = _submit_video(session, container, user, file, head, name, options, frames, ref_id or None)
    url = f"/dashboard/results/{classification.identifier}"
    if wants_json(request):
        return JSONResponse({"identifier": classification.identifier, "url": url})
    return redirect(request, url)


def _submit_video(
    session: Any,
    container: Any,
    user: User,
    file: UploadFile,
    head: bytes,
    name: str,
    options: SubmitOptions,
    frames: int,
    ref_id: str | None,
) -> Classification:
    """Stream the video to the blob store (never held in memory) and record it, as the API does."""
    if frames not in videos_service.FRAME_CHOICES:
        raise FieldValidationError("frames", "The selected frames is invalid: use 5, 10 or 30.")
    mime = videos_service.check_video_head(head)
    key = f"media/video/{secrets.token_hex(16)}"
    limit = container.settings.max_video_upload_bytes

    def chunks() -> Any:
        yield head
        yield from iter(lambda: file.file.read(CHUNK), b"")

    try:
        stored = container.blobs.put_stream(key, chunks(), max_bytes=limit)
    except BlobTooLargeError as exc:
        raise PayloadTooLargeError(f"The video must not be larger than {limit // (1024 * 1024)} MB.") from exc
    video_options = videos_service.VideoOptions(
        with_heatmap=options.with_heatmap, with_tampering=options.with_tampering, with_nsfw=options.with_nsfw,
        with_morphing=options.with_morphing, frames=frames,
    )  # fmt: skip
    try:
        return videos_service.submit_video(
            session, container.submit_context, user, blob_key=key, stored=stored, mime=mime, name=name,
            options=video_options, ref_id=ref_id,
        )  # fmt: skip
    except Exception:
        container.blobs.delete(key)  # refused (credits...): keep no orphan file
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
        context.update(
            models=view.model_rows(body["results"]),
            chunks=[
                {
                    **chunk,
                    "label": view.verdict_label({**chunk, "status": "done"}),
                    "artificial": view.artificial_probability(chunk.get("verdict")),
                    "models": view.model_rows(chunk["results"]),
                }
                for chunk in body["chunk_details"]
            ],
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
