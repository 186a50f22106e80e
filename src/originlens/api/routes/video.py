"""Video classification endpoints, with identifAI's paths (HTTP only; the use cases are in
``services/videos.py``). Uploads are streamed to the blob store in 1 MiB chunks."""

from __future__ import annotations

from typing import Annotated

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
    _json,
)
from originlens.api.streams import StreamedKind, list_results, submit_download, submit_upload
from originlens.errors import FieldValidationError
from originlens.media.video import SNIFF_BYTES
from originlens.services import classifications as images_service
from originlens.services import videos as service
from originlens.web.params import FramesForm, PageQuery, PerPageQuery

router = APIRouter(prefix="/api", tags=["Video"], responses=schemas.KEYED)


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


VIDEO = StreamedKind(
    field="video",
    noun="video",
    sniff_bytes=SNIFF_BYTES,
    check_head=service.check_video_head,
    submit=service.submit_video,
    max_bytes=lambda settings: settings.max_video_upload_bytes,
    fetch_timeout_s=lambda settings: settings.video_fetch_timeout_s,
    empty="The video file is empty.",
)


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
    return submit_upload(request, session, container, user, VIDEO, video, webhook_url, options=options, ref_id=ref_id)


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
    return submit_download(
        request, session, container, user, VIDEO, file_url, webhook_url, options=options, ref_id=ref_id
    )


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
    ids = (identifiers or []) + (identifiers_plain or [])
    return list_results(request, session, container, user, "video", ids, ref_id=ref_id, page=page, per_page=per_page)


@router.post(
    "/classification_video/{hash}/override",
    summary="Override video classification",
    **schemas.ok(schemas.OverrideResponse, 404),
)
def override_video(hash: str, body: OverrideRequest, session: SessionDep, user: UserDep) -> dict[str, str]:
    row = images_service.override(session, user, hash.lower(), body.classification, "video")
    return {"classification": row.classification, "type": "video", "hash": row.sha256}
