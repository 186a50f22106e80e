"""The response bodies as published in ``/openapi.json``: what each route answers, for client
generators. The routes build these bodies as plain JSON (the hot reads skip model validation);
``tests/api/test_openapi.py`` checks real answers against the served document to keep it true.

Extra fields are allowed everywhere, as in identifAI's own schema: originlens adds some
(``evidence``, ``notes``, ...), and clients must ignore what they do not know.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------------------- errors


class ErrorBody(_Open):
    """402, 404, 409, 413, 415, 502, 503, 507: a sentence for a person."""

    message: str


class ValidationErrorBody(_Open):
    """422 (and 400): Laravel's shape, every invalid field named."""

    message: str
    errors: dict[str, list[str]] = Field(default_factory=dict)


class UnauthorizedBody(_Open):
    error: Literal["Unauthorized"]


class ForbiddenBody(_Open):
    error: Literal["Forbidden"]
    message: str


class ThrottledBody(_Open):
    message: Literal["Too Many Attempts."]


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}
_ALLOW = {"Allow": {"description": "The methods the path answers", "schema": {"type": "string"}}}

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ValidationErrorBody, "description": "The body could not be parsed"},
    401: {"model": UnauthorizedBody, "description": "No API key, or an unknown or revoked one"},
    402: {"model": ErrorBody, "description": "Not enough credits"},
    403: {"model": ForbiddenBody, "description": "Read-only key, terms not accepted, or not a partner"},
    404: {"model": ErrorBody, "description": "Unknown, or another user's"},
    405: {"model": ErrorBody, "description": "Method not allowed", "headers": _ALLOW},
    409: {"model": ErrorBody, "description": "Conflict"},
    413: {"model": ErrorBody, "description": "Body, file or pixel count over the limit"},
    415: {"model": ErrorBody, "description": "Not an accepted media type, by content"},
    422: {"model": ValidationErrorBody, "description": "A field is invalid"},
    429: {"model": ThrottledBody, "description": "Rate limited", "headers": _RETRY_AFTER},
    502: {"model": ErrorBody, "description": "The mail server refused the e-mail"},
    503: {"model": ErrorBody, "description": "No mail server is configured"},
    507: {"model": ErrorBody, "description": "The server's storage is full; nothing recorded or charged"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}


KEYED = errors(400, 401, 403, 405, 413, 422, 429)
"""What any route behind an API key may answer (body limit and parsing included)."""
SUBMIT = errors(402, 404, 415, 507)
ONE = errors(404)


# ----------------------------------------------------------------------- classifications


class Verdict(_Open):
    heuristic: str
    confidence: float
    classification: Literal["human", "artificial"]
    models: list[str] = Field(default_factory=list)


class Identifier(_Open):
    identifier: str


class _MediaResponse(_Open):
    """What every identifAI response shares (``services.submissions.response_body``)."""

    hash: str
    identifier: str
    api_version: str | None
    status: Literal["new", "done", "errored"]
    errors: str | None
    name: str
    ref_id: str | None = None
    result_url: str
    c2pa: dict[str, Any] | None
    force_classification: Literal["human", "artificial"] | None
    verdicts: list[Verdict]
    verdict: Verdict | None = None
    cached: bool
    options: dict[str, Any]
    notes: list[str]
    created_at: str


class ImageResponse(_MediaResponse):
    is_nsfw: bool | None = None
    has_heatmap: bool
    results: list[dict[str, Any]]
    details: list[dict[str, Any]]
    has_tampering_map: bool


class Chunk(_Open):
    """A stretch of a recording judged on its own; ``start``/``end`` in seconds from its start."""

    index: int
    start: float
    end: float
    results: list[dict[str, Any]]
    verdicts: list[Verdict]
    verdict: Verdict | None = None


class AudioDetails(_Open):
    clips: list[Chunk]


class SpeechTrack(_Open):
    """A video's speech track, judged like a recording (``results.audios``)."""

    status: Literal["done", "errored"]
    errors: str | None
    c2pa: dict[str, Any] | None = None
    results: list[dict[str, Any]]
    verdicts: list[Verdict]
    verdict: Verdict | None = None
    chunk_details: list[Chunk]
    details: AudioDetails
    duration: float | None
    speech_seconds: float | None


class VideoFrame(_Open):
    frame_index: int
    timestamp: float
    status: str
    results: list[dict[str, Any]]
    verdicts: list[Verdict]
    verdict: Verdict | None = None
    details: list[dict[str, Any]]
    is_nsfw: bool | None = None


class VideoResults(_Open):
    images: list[VideoFrame]
    audios: list[SpeechTrack]


class VideoResponse(_MediaResponse):
    results: VideoResults
    frames_done: int
    frames_total: int | None
    is_nsfw: bool | None = None


class AudioResponse(_MediaResponse):
    """``chunk_details`` and ``details.clips`` carry the same chunks (the vendor's pages disagree)."""

    results: list[dict[str, Any]]
    chunk_details: list[Chunk]
    details: AudioDetails
    duration: float | None
    speech_seconds: float | None


class _Page(_Open):
    """Laravel's paginator."""

    current_page: int
    from_: int | None = Field(alias="from")
    last_page: int
    next_page_url: str | None
    per_page: int
    to: int | None
    total: int


class ImagePage(_Page):
    data: list[ImageResponse]


class VideoPage(_Page):
    data: list[VideoResponse]


class AudioPage(_Page):
    data: list[AudioResponse]


class OverrideResponse(_Open):
    classification: Literal["human", "artificial"]
    type: Literal["image", "video", "audio"]
    hash: str


class MapGrid(_Open):
    """``format=json`` of a heatmap or tampering map."""

    cell: int
    values: list[list[float | None]]


# ------------------------------------------------------------------------------ accounts


class Pricing(_Open):
    id: int
    name: str
    sku: str
    image_cost: float
    option_cost: float


class UserBody(_Open):
    id: int
    name: str
    email: str
    email_verified_at: str | None
    created_at: str | None
    updated_at: str | None
    balance: float | None
    heuristic: str
    readonly: bool
    is_partner: bool
    terms_accepted: bool
    pricing: Pricing | None
    partner: dict[str, Any] | None


class UserEnvelope(_Open):
    data: UserBody


class Me(UserBody):
    webhook_secret: str


class MeEnvelope(_Open):
    data: Me


class CreatedUser(_Open):
    data: UserBody
    api_key: str


class UserPage(_Page):
    data: list[UserBody]


class Credits(_Open):
    available_credits: float | None
    total_spent: float


class Health(_Open):
    status: Literal["ok", "degraded"]
    version: str
    api_version: str
    components: dict[str, dict[str, Any]]


def ok(model: Any, *codes: int, description: str = "Success") -> dict[str, Any]:
    """Keyword arguments for a route decorator: its 200 body and the errors it may answer
    (besides :data:`KEYED`, which every router adds)."""
    return {"response_model": None, "responses": {200: {"model": model, "description": description}, **errors(*codes)}}


def submitted() -> dict[str, Any]:
    """A submission's answer: JSON with ``Accept: application/json``, the bare identifier otherwise."""
    return {
        "response_model": None,
        "responses": {
            200: {
                "model": Identifier,
                "description": "Recorded; poll the result with the identifier",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **SUBMIT,
        },
    }


def image_map() -> dict[str, Any]:
    """A heatmap or tampering map: the PNG overlay, or with ``format=json`` its grid."""
    return {
        "response_model": None,
        "responses": {
            200: {
                "model": MapGrid,
                "description": "PNG overlay; the raw grid with format=json",
                "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            },
            **ONE,
        },
    }
