"""Image classification endpoints, with identifAI's paths and aliases."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from originlens.api import schemas
from originlens.api.deps import ContainerDep, SessionDep, UserDep
from originlens.errors import FieldValidationError, NotFoundError
from originlens.outbound.fetch import fetch_media
from originlens.outbound.guard import OutboundError, validate_url
from originlens.services import classifications as service
from originlens.services import results
from originlens.services.submissions import SubmitOptions
from originlens.store.models import Classification
from originlens.web.params import PageQuery, PerPageQuery

router = APIRouter(prefix="/api", tags=["Classification"], responses=schemas.KEYED)

FormBool = Annotated[bool, Form()]


def submit_options(
    with_morphing: FormBool = False,
    with_tampering: FormBool = False,
    with_heatmap: FormBool = False,
    with_nsfw: FormBool = False,
    no_cache: FormBool = False,
    prevent_c2pa_forces: FormBool = False,
) -> SubmitOptions:
    """The analysis options every submit endpoint takes (images and videos)."""
    return SubmitOptions(
        with_morphing=with_morphing,
        with_tampering=with_tampering,
        with_heatmap=with_heatmap,
        with_nsfw=with_nsfw,
        no_cache=no_cache,
        prevent_c2pa_forces=prevent_c2pa_forces,
    )


OptionsDep = Annotated[SubmitOptions, Depends(submit_options)]
RefId = Annotated[str | None, Form(max_length=255)]
WebhookUrl = Annotated[str | None, Form(max_length=2000)]


def _checked_webhook(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return validate_url(url)
    except OutboundError as exc:
        raise FieldValidationError("webhook_url", f"The webhook_url is invalid: {exc}") from exc


def _identifier_response(request: Request, classification: Classification) -> Response:
    """identifAI: JSON with ``Accept: application/json``, the bare identifier otherwise."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"identifier": classification.identifier})
    return PlainTextResponse(classification.identifier)


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status_code, media_type="application/json")


@router.post("/classification", summary="Classify an image (file upload)", **schemas.submitted())
def submit_image(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    image: Annotated[UploadFile, File(description="PNG, JPEG, GIF, WebP or TIFF, at most 50 MB")],
    options: OptionsDep,
    ref_id: RefId = None,
    webhook_url: WebhookUrl = None,
) -> Response:
    data = image.file.read(container.settings.max_upload_bytes + 1)
    classification = service.submit_image(
        session,
        container.submit_context,
        user,
        data=data,
        name=image.filename or "image",
        options=options,
        ref_id=ref_id,
        webhook_url=_checked_webhook(webhook_url),
    )
    return _identifier_response(request, classification)


@router.post("/image_fromurl", summary="Classify an image from a URL", **schemas.submitted())
def submit_image_from_url(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    user: UserDep,
    file_url: Annotated[str, Form(max_length=2000)],
    options: OptionsDep,
    ref_id: RefId = None,
    webhook_url: WebhookUrl = None,
) -> Response:
    webhook = _checked_webhook(webhook_url)
    settings = container.settings
    fetched = fetch_media(
        validate_url(file_url),
        policy=container.policy,
        max_bytes=settings.max_upload_bytes,
        timeout_s=settings.url_fetch_timeout_s,
        max_redirects=settings.url_fetch_max_redirects,
    )
    classification = service.submit_image(
        session,
        container.submit_context,
        user,
        data=fetched.data,
        name=fetched.filename,
        options=options,
        ref_id=ref_id,
        webhook_url=webhook,
    )
    return _identifier_response(request, classification)


# identifAI serves every image read under a second, ``_image`` path: one handler, two routes.


@router.get(
    "/classification/{identifier}",
    summary="Get single image classification result",
    **schemas.ok(schemas.ImageResponse, 404),
)
@router.get("/classification_image/{identifier}", include_in_schema=False)
async def get_result(identifier: str, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    return _json(service.render_one(session, user, identifier, container.settings.public_url))


ListIdentifiers = Annotated[list[str] | None, Query(alias="identifiers[]", max_length=100)]
PlainIdentifiers = Annotated[list[str] | None, Query(alias="identifiers")]


@router.get(
    "/classifications",
    summary="Get several image results, or list your own",
    **schemas.ok(list[schemas.ImageResponse] | schemas.ImagePage),
)
@router.get("/classifications_image", include_in_schema=False)
async def list_results(
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
        return _json(results.render(session, user, service.get_many(session, user, ids), public_url))
    rows, total = service.list_own(session, user, ref_id=ref_id, page=page, per_page=per_page)
    return _json(paginator(request, results.render(session, user, rows, public_url), page, per_page, total))


def paginator(request: Request, data: list[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    """Laravel's paginator, as identifAI's list endpoints return it."""
    last_page = max(1, -(-total // per_page))
    first = (page - 1) * per_page + 1 if data else None
    next_url = str(request.url.include_query_params(page=page + 1)) if page < last_page else None
    return {
        "current_page": page,
        "data": data,
        "from": first,
        "last_page": last_page,
        "next_page_url": next_url,
        "per_page": per_page,
        "to": first + len(data) - 1 if first else None,
        "total": total,
    }


HeatmapFormat = Annotated[Literal["png", "json"], Query(alias="format")]


@router.get("/classification/heatmap/{identifier}", summary="Get an image AI heatmap (PNG)", **schemas.image_map())
@router.get("/classification_image/heatmap/{identifier}", include_in_schema=False)
async def get_heatmap(
    identifier: str, session: SessionDep, container: ContainerDep, user: UserDep, fmt: HeatmapFormat = "png"
) -> Response:
    """The PNG overlay, or with ``format=json`` the raw per-cell probabilities."""
    found = service.get_classification(session, user, identifier)
    return _map_response(container, found.analysis.heatmap_blob_key, fmt, "This classification has no heatmap.")


def _map_response(container: Any, key: str | None, fmt: str, missing: str) -> Response:
    """A stored map: the PNG overlay, or its raw grid (stored beside it as JSON); ``missing`` is
    the 404 message when the classification has none (``key`` is ``None``)."""
    if key is None:
        raise NotFoundError(missing)
    if fmt == "json":
        return Response(container.blobs.get(key.removesuffix(".png") + ".json"), media_type="application/json")
    return Response(container.blobs.get(key), media_type="image/png")


@router.get("/classification/tampering/{identifier}", summary="Get an image tampering map (PNG)", **schemas.image_map())
@router.get("/classification_image/tampering/{identifier}", include_in_schema=False)
async def get_tampering_map(
    identifier: str, session: SessionDep, container: ContainerDep, user: UserDep, fmt: HeatmapFormat = "png"
) -> Response:
    """originlens extension: where the tampering model (``with_tampering``) saw manipulation."""
    found = service.get_classification(session, user, identifier)
    missing = "This classification has no tampering map (submit it with with_tampering=true)."
    return _map_response(container, found.analysis.tampering_blob_key, fmt, missing)


class OverrideRequest(BaseModel):
    classification: Literal["human", "artificial"]


@router.post(
    "/classification/{hash}/override",
    summary="Override image classification",
    **schemas.ok(schemas.OverrideResponse, 404),
)
def override_image(hash: str, body: OverrideRequest, session: SessionDep, user: UserDep) -> dict[str, str]:
    row = service.override(session, user, hash.lower(), body.classification, "image")
    return {"classification": row.classification, "type": "image", "hash": row.sha256}
