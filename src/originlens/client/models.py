"""Typed answers of the API (pydantic v2).

Every model allows extra fields (``extra="allow"``): a newer server that adds fields never
breaks an older client, and the added fields stay readable as attributes. Types are kept
loose where the server passes third-party data through (C2PA assertions, detector details).
The image models mirror the vendor's ``ImageResponse`` schema and its nested schemas, the
audio ones its ``AudioResponse``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "C2PA",
    "AudioChunk",
    "AudioDetails",
    "AudioResult",
    "Box",
    "C2PAAssertion",
    "C2PAIngredient",
    "C2PAManifest",
    "C2PASignatureInfo",
    "C2PAValidationResults",
    "C2PAValidationStatus",
    "Credits",
    "Detection",
    "FlaggedFrame",
    "ImageResult",
    "ModelResult",
    "ObjectDetails",
    "Pricing",
    "Score",
    "Submission",
    "UserProfile",
    "Verdict",
    "VideoFrame",
    "VideoMediaResults",
    "VideoResult",
    "VideoVerdict",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Submission(_Model):
    """The answer to a submit: the identifier to read the result with."""

    identifier: str


class Score(_Model):
    label: str
    score: float


class ModelResult(_Model):
    """One detector's judgement (the vendor's ``Result``)."""

    model: str
    unknown: bool = False
    elapsed_time: float | None = None
    classification: list[Score] = Field(default_factory=list)
    classification_details: dict[str, Any] = Field(default_factory=dict)
    version: str | None = None
    kind: str | None = None

    @property
    def scores(self) -> dict[str, float]:
        """``{"human": ..., "artificial": ...}``, easier to read than the list."""
        return {item.label: item.score for item in self.classification}

    @property
    def artificial_score(self) -> float | None:
        return self.scores.get("artificial")


class Verdict(_Model):
    """A heuristic's verdict; ``classification`` is ``"human"`` or ``"artificial"``."""

    heuristic: str
    confidence: float
    classification: str
    models: list[str] = Field(default_factory=list)
    unknown: bool = False
    evidence: str | None = None
    forced_by: str | None = None
    reason: str | None = None

    @property
    def is_artificial(self) -> bool:
        return self.classification == "artificial"


class Box(_Model):
    x1: float
    y1: float
    x2: float
    y2: float


class Detection(_Model):
    """A face (or other object) found in the image, judged on its own crop."""

    box: Box
    score: float | None = None
    keypoints: list[Any] = Field(default_factory=list)
    results: list[ModelResult] = Field(default_factory=list)
    verdict: Verdict | None = None
    verdicts: list[Verdict] = Field(default_factory=list)


class ObjectDetails(_Model):
    """One group of detections (the vendor's ``ObjectDetails``)."""

    object: str | None = None
    model: str | None = None
    elapsed_time: float | None = None
    box_coordinates: str | None = None
    detections: list[Detection] = Field(default_factory=list)


class C2PAAssertion(_Model):
    label: str | None = None
    data: Any = None


class C2PAIngredient(_Model):
    label: str | None = None
    title: str | None = None
    format: str | None = None
    relationship: str | None = None
    active_manifest: str | None = None
    validation_results: dict[str, Any] | None = None


class C2PASignatureInfo(_Model):
    alg: str | None = None
    issuer: str | None = None
    common_name: str | None = None
    cert_serial_number: str | None = None


class C2PAManifest(_Model):
    label: str | None = None
    title: str | None = None
    assertions: list[C2PAAssertion] = Field(default_factory=list)
    ingredients: list[C2PAIngredient] = Field(default_factory=list)
    instance_id: str | None = None
    signature_info: C2PASignatureInfo | None = None
    claim_generator_info: list[dict[str, Any]] = Field(default_factory=list)


class C2PAValidationStatus(_Model):
    url: str | None = None
    code: str | None = None
    explanation: str | None = None


class C2PAValidationResults(_Model):
    active_manifest: dict[str, list[Any]] | None = Field(default=None, alias="activeManifest")
    ingredient_deltas: list[Any] = Field(default_factory=list, alias="ingredientDeltas")


class C2PA(_Model):
    """The C2PA manifest store read from the file (content credentials)."""

    manifests: dict[str, C2PAManifest] = Field(default_factory=dict)
    active_manifest: str | None = None
    validation_state: str | None = None
    validation_status: list[C2PAValidationStatus] = Field(default_factory=list)
    validation_results: C2PAValidationResults | None = None

    @property
    def active(self) -> C2PAManifest | None:
        """The manifest that speaks for the file, if any."""
        return self.manifests.get(self.active_manifest) if self.active_manifest else None


class _StatusMixin:
    """Status helpers shared by image and video results (``status``: new, done or errored)."""

    status: str
    verdict: Verdict | None

    @property
    def pending(self) -> bool:
        """Still queued or running: poll again (or use ``Client.wait``)."""
        return self.status == "new"

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def errored(self) -> bool:
        """The analysis failed; ``errors`` says why (credits were refunded)."""
        return self.status == "errored"

    @property
    def classification(self) -> str | None:
        """``"human"``/``"artificial"`` under the user's heuristic, ``None`` until done."""
        return self.verdict.classification if self.verdict else None


class _ResultFields(_StatusMixin, _Model):
    """The fields image and video results share."""

    hash: str
    identifier: str
    status: str
    api_version: str | None = None
    errors: str | None = None
    name: str | None = None
    ref_id: str | None = None
    result_url: str | None = None
    is_nsfw: bool | None = None
    c2pa: C2PA | None = None


class ImageResult(_ResultFields):
    """An image's result (the vendor's ``ImageResponse`` plus originlens' extensions)."""

    has_heatmap: bool = False
    has_tampering_map: bool = False
    verdict: Verdict | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    force_classification: str | None = None
    results: list[ModelResult] = Field(default_factory=list)
    details: list[ObjectDetails] = Field(default_factory=list)
    cached: bool | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None

    def result(self, model: str) -> ModelResult | None:
        """The named detector's result, or ``None`` when it did not run."""
        return next((item for item in self.results if item.model == model), None)

    @property
    def faces(self) -> list[Detection]:
        return [d for group in self.details if group.object == "face" for d in group.detections]


class FlaggedFrame(_Model):
    index: int
    timestamp: float
    confidence: float


class VideoVerdict(Verdict):
    """The whole-video verdict: ``count`` of frames per outcome and the frames that decided it."""

    count: dict[str, int] | int | None = None
    frames_flagged: list[FlaggedFrame] = Field(default_factory=list)


class VideoFrame(_Model):
    """One analysed frame: an image-like result at ``timestamp`` seconds."""

    frame_index: int
    timestamp: float
    status: str = "done"
    results: list[ModelResult] = Field(default_factory=list)
    verdict: Verdict | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    details: list[ObjectDetails] = Field(default_factory=list)
    is_nsfw: bool | None = None


class VideoMediaResults(_Model):
    images: list[VideoFrame] = Field(default_factory=list)
    audios: list[Any] = Field(default_factory=list)


class VideoResult(_ResultFields):
    """A video's result (``VideoResponse``): the whole-video verdict and one entry per frame."""

    verdict: VideoVerdict | None = None
    verdicts: list[VideoVerdict] = Field(default_factory=list)
    force_classification: str | None = None
    results: VideoMediaResults = Field(default_factory=VideoMediaResults)
    frames_done: int = 0
    frames_total: int | None = None
    cached: bool | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None

    @property
    def frames(self) -> list[VideoFrame]:
        """The analysed frames in time order (they appear as they finish, even while pending)."""
        return self.results.images


class AudioChunk(_Model):
    """One chunk of a recording (5 s on originlens), judged on its own; ``start`` and ``end``
    are seconds from the start of the recording."""

    index: int
    start: float
    end: float
    results: list[ModelResult] = Field(default_factory=list)
    verdict: Verdict | None = None
    verdicts: list[Verdict] = Field(default_factory=list)

    @property
    def classification(self) -> str | None:
        return self.verdict.classification if self.verdict else None

    def result(self, model: str) -> ModelResult | None:
        return next((item for item in self.results if item.model == model), None)


class AudioDetails(_Model):
    clips: list[AudioChunk] = Field(default_factory=list)


class AudioResult(_ResultFields):
    """A recording's result (the vendor's ``AudioResponse``): the whole-recording verdict and
    one entry per chunk.

    The vendor documents the chunks as ``chunk_details`` on one page and as ``details.clips``
    on another; originlens sends both, and this model fills whichever a server left out, so
    ``chunk_details``, ``details.clips`` and :attr:`chunks` always agree.
    """

    verdict: Verdict | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    force_classification: str | None = None
    results: list[ModelResult] = Field(default_factory=list)
    chunk_details: list[AudioChunk] = Field(default_factory=list)
    details: AudioDetails = Field(default_factory=AudioDetails)
    duration: float | None = None
    """Seconds; ``None`` until the recording is decoded."""
    speech_seconds: float | None = None
    """Seconds in which the speech model heard a voice (``None`` until analysed)."""
    cached: bool | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    created_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _details_may_be_null(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("details") is None and "details" in data:
            return {**data, "details": {}}
        return data

    @model_validator(mode="after")
    def _one_chunk_list(self) -> AudioResult:
        if not self.chunk_details and self.details.clips:
            self.chunk_details = list(self.details.clips)
        elif self.chunk_details and not self.details.clips:
            self.details.clips = list(self.chunk_details)
        return self

    @property
    def chunks(self) -> list[AudioChunk]:
        """The chunks in time order (``chunk_details``, or ``details.clips`` from a server that sends only that)."""
        return self.chunk_details

    def result(self, model: str) -> ModelResult | None:
        """The named detector's whole-recording result, or ``None`` when it did not run."""
        return next((item for item in self.results if item.model == model), None)


class Credits(_Model):
    available_credits: float | None = None
    total_spent: float = 0.0

    @property
    def unlimited(self) -> bool:
        """``available_credits`` is ``null`` for accounts without a credit limit."""
        return self.available_credits is None


class Pricing(_Model):
    id: int
    name: str
    sku: str | None = None
    image_cost: float | None = None
    option_cost: float | None = None


class UserProfile(_Model):
    """Your account (``GET /api/user``), with the secret that signs your webhooks."""

    id: int
    name: str
    email: str
    balance: float | None = None
    heuristic: str | None = None
    readonly: bool = False
    is_partner: bool = False
    terms_accepted: bool | None = None
    pricing: Pricing | None = None
    webhook_secret: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
