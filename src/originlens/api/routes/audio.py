"""Speech/audio classification endpoints, with identifAI's paths (HTTP only; the use cases are in
``services/audio.py``). Uploads are streamed to the blob store in 1 MiB chunks, like videos."""

from __future__ import annotations

from typing import Annotated

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
    _json,
)
from originlens.api.streams import StreamedKind, list_results, submit_download, submit_upload
from originlens.media.audio import SNIFF_BYTES
from originlens.services import audio as service
from originlens.services import classifications as images_service
from originlens.web.params import PageQuery, PerPageQuery

router = APIRouter(prefix="/api", tags=["Speech"], responses=schemas.KEYED)
EMPTY = "The audio file is empty."


def audio_options(no_cache: FormBool = False, prevent_c2pa_forces: FormBool = False) -> service.AudioOptions:
    """The options a recording takes; image options (heatmap, morphing...) do not apply and are ignored."""
    return service.AudioOptions(no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces)


AudioOptionsDep = Annotated[service.AudioOptions, Depends(audio_options)]


AUDIO = StreamedKind(
    field="audio",
    noun="recording",
    sniff_bytes=SNIFF_BYTES,
    check_head=service.check_audio_head,
    submit=service.submit_audio,
    max_bytes=lambda settings: settings.max_audio_upload_bytes,
    fetch_timeout_s=lambda settings: settings.audio_fetch_timeout_s,
    empty=EMPTY,
)


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
    return submit_upload(request, session, container, user, AUDIO, audio, webhook_url, options=options, ref_id=ref_id)


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
    return submit_download(
        request, session, container, user, AUDIO, file_url, webhook_url, options=options, ref_id=ref_id
    )


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
    ids = (identifiers or []) + (identifiers_plain or [])
    return list_results(request, session, container, user, "audio", ids, ref_id=ref_id, page=page, per_page=per_page)


@router.post(
    "/classification_audio/{hash}/override",
    summary="Override audio classification",
    **schemas.ok(schemas.OverrideResponse, 404),
)
def override_audio(hash: str, body: OverrideRequest, session: SessionDep, user: UserDep) -> dict[str, str]:
    row = images_service.override(session, user, hash.lower(), body.classification, "audio")
    return {"classification": row.classification, "type": "audio", "hash": row.sha256}
