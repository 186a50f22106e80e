"""The detector contract: every detector, pixel model or provenance reader, speaks this.

A detector is a class with metadata (name, version, obsolete, relevance), loads its
resources lazily on first use and returns typed human/artificial scores. A detector that
cannot judge an input returns ``unknown=True`` and the verdict logic leaves it out.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

log = logging.getLogger(__name__)

Label = Literal["human", "artificial"]
EvidenceKind = Literal["provenance", "statistical", "derived", "auxiliary"]


@dataclass(frozen=True)
class MediaInput:
    """What a detector sees: the raw bytes plus what the media layer already learnt."""

    data: bytes
    mime_type: str
    """Sniffed from the content, e.g. ``image/jpeg``; never taken from the client."""
    name: str = ""
    decoded: Any = field(default=None, compare=False, repr=False)
    """The decoded ``PIL.Image`` when the caller already has it; see :meth:`image`. For audio,
    a ``media.audio.DecodedAudio`` (mono 16 kHz samples and the container's tags)."""
    path: str | None = None
    """The file on local disk, when there is one (large recordings are not held as ``data``)."""

    def image(self) -> Any:
        """The decoded image (first frame), decoded at most once for all detectors.

        Callers that validated the file pass it in ``decoded``; otherwise it is decoded here
        on first use. Detectors must not modify it (convert a copy instead).
        """
        if self.decoded is None:
            import io

            from PIL import Image

            image = Image.open(io.BytesIO(self.data))
            image.load()
            object.__setattr__(self, "decoded", image)
        return self.decoded


@dataclass(frozen=True)
class Prediction:
    """One detector's judgement of one input.

    ``artificial`` is the probability-like score in [0, 1] that the input is AI-made;
    ``human`` is always ``1 - artificial``. When ``unknown`` is true the score carries no
    information and must not be used by any heuristic.
    """

    model: str
    artificial: float
    unknown: bool = False
    elapsed_time: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    """Free-form evidence shown to the user as ``classification_details``."""
    forces: Label | None = None
    """Set when the evidence is strong enough to force the verdict (e.g. a valid C2PA AI
    assertion). Whether forcing is applied is the verdict layer's decision."""
    evidence: dict[str, Any] | None = None
    """Structured evidence that has its own place in the response (e.g. the ``c2pa`` object)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.artificial <= 1.0:
            raise ValueError(f"{self.model}: artificial score {self.artificial} is outside [0, 1]")

    @property
    def human(self) -> float:
        return 1.0 - self.artificial

    @property
    def label(self) -> Label:
        return "artificial" if self.artificial > 0.5 else "human"


class Detector(ABC):
    """Base class: subclasses set the metadata and implement ``_load`` and ``_predict``."""

    name: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[EvidenceKind] = "statistical"
    """``provenance`` detectors read proof (C2PA, metadata, watermarks): conclusive when they
    find it, so they may force the verdict, and they never vote in the heuristics.
    ``statistical`` detectors judge pixels and are combined by the heuristics. ``derived``
    results (the heatmap summary) restate other detectors and never vote. ``auxiliary``
    analyses (tampering, NSFW, morphing) answer another question than "made by generative
    AI?", so they are reported in ``results`` but never vote either."""
    option: ClassVar[str | None] = None
    """The request option that turns this analysis on (``with_tampering``, ``with_nsfw``,
    ``with_morphing``); ``None`` means it always runs."""
    obsolete: ClassVar[bool] = False
    """Obsolete detectors still run and report, but ``AverageExcludeObsolete`` ignores them."""
    relevance: ClassVar[float] = 0.5
    """How much this detector is trusted relative to others, in [0, 1]; ``TopRelevant`` picks the highest."""
    votes: bool = True
    """A statistical detector with ``votes = False`` is a visible *indicator*: it runs, reports
    its score in ``results``, in heatmaps and per face, but no heuristic counts it. Used for a
    model whose measured quality does not yet earn a vote (see ``docs/models/pixel.md``)."""
    media_types: ClassVar[tuple[str, ...]] = ("image/",)
    """MIME prefixes this detector can judge; others get ``unknown``."""
    modalities: ClassVar[tuple[str, ...]] = ("image",)
    """Which analyses run it: ``image`` (images and video frames) and/or ``audio`` (recordings
    and video speech tracks). A detector is never shown in the results of another modality."""

    def __init__(self) -> None:
        self._loaded = False
        self._lock = threading.Lock()

    def accepts(self, media: MediaInput) -> bool:
        return media.mime_type.startswith(self.media_types)

    def load(self) -> None:
        """Load weights or resources once, thread-safely; later calls are free."""
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    def predict(self, media: MediaInput) -> Prediction:
        """Judge one input; never raises for a bad input, says ``unknown`` instead."""
        started = time.perf_counter()
        if not self.accepts(media):
            return Prediction(
                model=self.name,
                artificial=0.5,
                unknown=True,
                details={"reason": f"{self.name} does not judge {media.mime_type}"},
            )
        self.load()
        prediction = self._predict(media)
        elapsed = time.perf_counter() - started
        return Prediction(
            model=prediction.model,
            artificial=prediction.artificial,
            unknown=prediction.unknown,
            elapsed_time=round(elapsed, 6),
            details=prediction.details,
            forces=prediction.forces,
            evidence=prediction.evidence,
        )

    def predict_parts(self, media: MediaInput, bounds: list[tuple[float, float]]) -> list[Prediction]:
        """Judge each ``(start, end)`` seconds of a recording (``media.decoded`` is a
        ``media.audio.DecodedAudio``). By default each part is cut out and judged alone; a
        detector that can share work across parts overrides this (the speech model reads every
        part from one pass over the recording)."""
        from dataclasses import replace

        return [
            self.predict(replace(media, data=b"", decoded=media.decoded.segment(start, end), path=None))
            for start, end in bounds
        ]

    def _load(self) -> None:  # noqa: B027 - optional hook
        """Override to load heavy resources; the default has none."""

    @abstractmethod
    def _predict(self, media: MediaInput) -> Prediction:
        """Return the judgement; ``elapsed_time`` is filled in by ``predict``."""

    def unknown_because(self, reason: str, exc: BaseException, **details: Any) -> Prediction:
        """``unknown`` with a sentence about the file for the user; the exception itself goes to
        the operator's log (users never see Python internals in ``results``)."""
        log.warning("detector %s: %s", self.name, reason, exc_info=exc)
        return self.unknown(reason, **details)

    def load_failed(self, exc: BaseException) -> str:
        """Log why the model could not be loaded; return what users may read about it. Our own
        model-file errors are sentences written for operators (which package to install)."""
        log.error("detector %s could not load its model", self.name, exc_info=exc)
        from originlens.detectors.weights import ModelFileError

        if isinstance(exc, ModelFileError):
            return str(exc)
        return "its model could not be loaded (the operator's log says why)"

    def unknown(self, reason: str, **details: Any) -> Prediction:
        """A prediction that says this detector cannot judge the input, and why."""
        return Prediction(model=self.name, artificial=0.5, unknown=True, details={"reason": reason, **details})
