"""Run every detector on one file and apply the evidence policy: the whole analysis, with no
server around it. The worker, ``originlens eval`` and ``originlens classify`` all call
:func:`analyse_media` (images) and :func:`sample_video` + :func:`analyse_video_frames` (videos),
so what is measured and what the command line says is exactly what is served."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.registry import DetectorRegistry
from originlens.verdicts import policy
from originlens.verdicts.heuristics import HEURISTICS
from originlens.verdicts.policy import ScoredModel, decide, select_verdict
from originlens.verdicts.video import FrameVerdict, SpeechTrackVerdict, video_verdict, with_speech

if TYPE_CHECKING:  # PyAV loads only when a video or a recording is analysed
    from originlens.media.audio import AudioLimits
    from originlens.media.video import Frame, VideoLimits

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    results: list[dict[str, Any]]
    """identifAI ``results``: one ModelResult per detector."""
    verdicts: list[dict[str, Any]]
    forcing: list[dict[str, Any]]
    c2pa: dict[str, Any] | None
    predictions: list[Prediction] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    """identifAI ``details``: the faces found, each with its own results and verdicts."""
    is_nsfw: bool | None = None
    """Set only when ``with_nsfw`` was asked and the NSFW model could judge the image."""
    notes: list[str] = field(default_factory=list)

    def verdict(self, heuristic: str, *, prevent_c2pa_forces: bool = False) -> dict[str, Any] | None:
        return select_verdict(self.verdicts, self.forcing, heuristic, prevent_c2pa_forces=prevent_c2pa_forces)


def detector_result(prediction: Prediction, detector: Detector) -> dict[str, Any]:
    """A ``results`` entry for ``detector``'s prediction."""
    return _result_json(prediction, detector)


def _result_json(prediction: Prediction, detector: Detector) -> dict[str, Any]:
    details = dict(prediction.details)
    details.setdefault("confidence", round(abs(prediction.artificial - 0.5) * 2, 6))
    return {
        "model": prediction.model,
        "version": detector.version,
        "kind": detector.kind,
        "votes": votes(detector),
        "unknown": prediction.unknown,
        "obsolete": detector.obsolete,
        "relevance": detector.relevance,
        "elapsed_time": prediction.elapsed_time,
        "classification": [
            {"label": "human", "score": round(prediction.human, 6)},
            {"label": "artificial", "score": round(prediction.artificial, 6)},
        ],
        "classification_details": details,
    }


def votes(detector: Detector) -> bool:
    """Whether the heuristics count this detector: statistical detectors that are not indicators."""
    return detector.kind == "statistical" and detector.votes


def _predict_parts(detector: Detector, media: MediaInput, bounds: list[tuple[float, float]]) -> list[Prediction]:
    """``detector.predict_parts``; a crash makes every part ``unknown``, as :func:`_predict` does."""
    try:
        return detector.predict_parts(media, bounds)
    except Exception:
        log.exception("detector %s failed", detector.name)
        failed = Prediction(
            model=detector.name,
            artificial=0.5,
            unknown=True,
            details={"reason": "the detector failed on this file (the error was logged for the operator)."},
        )
        return [failed for _ in bounds]


def _predict(detector: Detector, media: MediaInput) -> Prediction:
    started = time.perf_counter()
    try:
        return detector.predict(media)
    except Exception:  # a broken detector must not sink the others
        log.exception("detector %s failed", detector.name)
        return Prediction(
            model=detector.name,
            artificial=0.5,
            unknown=True,
            elapsed_time=round(time.perf_counter() - started, 6),
            details={"reason": "the detector failed on this file (the error was logged for the operator)."},
        )


def _scored(prediction: Prediction, detector: Detector) -> ScoredModel:
    return ScoredModel(
        model=prediction.model,
        kind=detector.kind,
        votes=detector.votes,
        artificial=prediction.artificial,
        unknown=prediction.unknown,
        obsolete=detector.obsolete,
        relevance=detector.relevance,
        forces=prediction.forces,
        reason=str(prediction.details.get("reason") or "") or None,
    )


def analyse_media(registry: DetectorRegistry, media: MediaInput, options: Collection[str] = ()) -> Outcome:
    """Every detector's prediction (a crashing detector reports ``unknown``), then the policy.

    ``options`` names the optional analyses asked for (``with_tampering``, ``with_nsfw``,
    ``with_morphing``); a detector whose ``option`` is not among them does not run. Faces are
    looked for whenever the registry has a face finder; the morph model runs on each face.
    """
    predictions: list[Prediction] = []
    results: list[dict[str, Any]] = []
    scored: list[ScoredModel] = []
    asked = set(options)
    morphing = None
    for detector in registry:
        if "image" not in detector.modalities:
            continue
        if detector.option is not None and detector.option not in asked:
            continue
        if detector.option == "with_morphing":
            morphing = detector  # judged per face below
            continue
        prediction = _predict(detector, media)
        predictions.append(prediction)
        results.append(_result_json(prediction, detector))
        scored.append(_scored(prediction, detector))
    outcome = Outcome(results=results, verdicts=[], forcing=[], c2pa=None, predictions=predictions)
    _analyse_faces(registry, media, morphing, outcome)
    verdicts, forcing = decide(scored)
    outcome.verdicts, outcome.forcing = verdicts, forcing
    outcome.c2pa = next((p.evidence for p in predictions if p.model == "c2pa" and p.evidence), None)
    nsfw = next((p for p in predictions if p.model == "nsfw" and not p.unknown), None)
    if nsfw is not None:
        outcome.is_nsfw = bool(nsfw.details.get("is_nsfw", nsfw.artificial >= 0.5))
    return outcome


def _analyse_faces(registry: DetectorRegistry, media: MediaInput, morphing: Detector | None, outcome: Outcome) -> None:
    """``details`` (faces with per-face results) and, when asked, the image-level ``morphing`` result."""
    if registry.faces is None or not media.mime_type.startswith("image/"):
        if morphing is not None:
            prediction = morphing.unknown("no face finder is installed, so faces could not be looked for")
            outcome.predictions.append(prediction)
            outcome.results.append(detector_result(prediction, morphing))
        return
    from originlens.faces.analysis import analyse_faces, summarise_morphs

    crop_detectors = [d for d in registry if d.kind == "statistical" and d.option is None]
    found = analyse_faces(registry.faces, media.image(), crop_detectors, morphing, detector_result)
    outcome.details = found.details
    if found.note:
        outcome.notes.append(found.note)
    if morphing is not None:
        summary = summarise_morphs(found.morph_predictions, morphing.name)
        outcome.predictions.append(summary)
        outcome.results.append(detector_result(summary, morphing))


# ------------------------------------------------------------------------------------ videos


@dataclass
class SampledVideo:
    """The frames to judge and the C2PA read from the container (frames carry none)."""

    frames: list[Frame]
    provenance: Prediction | None = None
    speech: Any = None
    """The first audio track, decoded (``media.audio.DecodedAudio``); ``None`` when there is none."""
    speech_mime: str = ""
    speech_error: str | None = None
    """Why the audio track could not be read (the video is still judged from its frames)."""

    @property
    def c2pa(self) -> dict[str, Any] | None:
        """The container's C2PA evidence, shown even when it does not decide."""
        return self.provenance.evidence if self.provenance is not None else None

    @property
    def forcing(self) -> list[dict[str, Any]]:
        """Forcing evidence from a conclusive container manifest (empty when there is none)."""
        found = self.provenance
        if found is None or found.evidence is None or not found.forces or found.unknown:
            return []
        reason = str(found.details.get("reason") or "c2pa is conclusive")
        return [{"by": "c2pa", "classification": found.forces, "reason": reason}]


@dataclass
class VideoOutcome:
    """A whole video's analysis: one entry per analysed frame and one verdict per heuristic."""

    frames: list[dict[str, Any]]
    """Per frame: ``frame_index``, ``timestamp``, ``results``, ``verdicts``, ``forcing``, ``details``, ``is_nsfw``."""
    verdicts: list[dict[str, Any]]
    """Whole-video verdicts (``verdicts/video.py``), one per heuristic."""
    c2pa: dict[str, Any] | None
    forcing: list[dict[str, Any]]
    frames_asked: int
    is_nsfw: bool | None = None
    """Set only when ``with_nsfw`` was asked: any analysed frame judged NSFW."""
    audios: list[dict[str, Any]] = field(default_factory=list)
    """The speech track's analysis (:func:`speech_track_json`), when the video has one."""

    @property
    def unanalysed(self) -> int:
        """Frames asked for that could not be sampled."""
        return max(0, self.frames_asked - len(self.frames))

    def verdict(self, heuristic: str, *, prevent_c2pa_forces: bool = False) -> dict[str, Any] | None:
        """The one verdict a user sees: the heuristic's, unless the container's C2PA decides."""
        if not self.verdicts:
            return None
        chosen = next((v for v in self.verdicts if v["heuristic"] == heuristic), self.verdicts[0])
        return force_video_verdict(chosen, self.forcing, prevent_c2pa_forces=prevent_c2pa_forces)


def force_video_verdict(
    verdict: dict[str, Any], forcing: list[dict[str, Any]], *, prevent_c2pa_forces: bool = False
) -> dict[str, Any]:
    """A copy of ``verdict``, decided by the container's conclusive C2PA when there is one
    (as for images; ``prevent_c2pa_forces`` turns that off)."""
    return policy.shown_verdicts([verdict], forcing, prevent_c2pa_forces=prevent_c2pa_forces)[0]


def container_c2pa(registry: DetectorRegistry, path: str | Path, mime: str) -> Prediction | None:
    """C2PA read from the video container itself, when the registry has a reader that can."""
    detector = registry.get("c2pa")
    if detector is None or not hasattr(detector, "predict_file"):
        return None
    prediction: Prediction = detector.predict_file(path, mime)
    return prediction


def sample_video(
    registry: DetectorRegistry,
    path: str | Path,
    mime: str,
    frames: int = 5,
    sampling: str = "even",
    limits: VideoLimits | None = None,
    audio_limits: AudioLimits | None = None,
) -> SampledVideo:
    """Read the container's C2PA, sample ``frames`` frames (raises ``VideoError`` subclasses) and
    decode the speech track when the registry has audio detectors.

    The file is only needed during this call; the frames and the track are analysed afterwards."""
    from originlens.media.video import sample_frames

    provenance = container_c2pa(registry, path, mime)
    sampled = SampledVideo(frames=sample_frames(path, frames, sampling, limits), provenance=provenance)
    if _audio_detectors(registry):
        sampled.speech, sampled.speech_error = read_speech_track(path, mime, audio_limits)
        sampled.speech_mime = mime
    return sampled


def read_speech_track(path: str | Path, mime: str, limits: AudioLimits | None) -> tuple[Any, str | None]:
    """The video's first audio track decoded, or why it could not be; no track is no error."""
    from originlens.media.audio import AudioError, NoAudioStreamError, read_audio

    try:
        return read_audio(path, mime, limits), None
    except NoAudioStreamError:
        return None, None
    except AudioError as exc:
        return None, f"The speech track could not be analysed: {exc}."


def analyse_video_frames(
    registry: DetectorRegistry,
    sampled: SampledVideo,
    options: Collection[str] = (),
    *,
    frames_asked: int | None = None,
    on_frame: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> VideoOutcome | None:
    """Analyse each sampled frame like an image, then the whole-video verdict per heuristic.

    ``on_frame`` is called with the frames done so far after each one (the worker records
    progress there); when it returns ``False`` the analysis stops and ``None`` is returned.
    """
    per_frame: list[dict[str, Any]] = []
    for frame in sampled.frames:
        media = MediaInput(data=b"", mime_type="image/png", name=f"frame-{frame.index}", decoded=frame.image)
        outcome = analyse_media(registry, media, options)
        per_frame.append(
            {
                "frame_index": frame.index,
                "timestamp": round(frame.timestamp, 3),
                "results": outcome.results,
                "verdicts": outcome.verdicts,
                "forcing": outcome.forcing,
                "details": outcome.details,
                "is_nsfw": outcome.is_nsfw,
            }
        )
        if on_frame is not None and not on_frame(list(per_frame)):
            return None
    speech = analyse_speech_track(registry, sampled)
    audios = [] if speech is None else [speech_track_json(speech)]
    verdicts = [
        with_speech(video_verdict(name, frame_verdicts(per_frame, name)), speech_track_verdict(speech, name)).to_json()
        for name in HEURISTICS
    ]
    is_nsfw = None
    if "with_nsfw" in options:
        flags = [f["is_nsfw"] for f in per_frame if f["is_nsfw"] is not None]
        is_nsfw = any(flags) if flags else None
    return VideoOutcome(
        frames=per_frame,
        verdicts=verdicts,
        c2pa=sampled.c2pa,
        forcing=sampled.forcing,
        frames_asked=len(sampled.frames) if frames_asked is None else frames_asked,
        is_nsfw=is_nsfw,
        audios=audios,
    )


def analyse_speech_track(registry: DetectorRegistry, sampled: SampledVideo) -> AudioOutcome | str | None:
    """The speech track judged like a recording; the reason it could not be read; or ``None``
    when the video has no audio track (or no audio detector is installed)."""
    if sampled.speech_error is not None:
        return sampled.speech_error
    if sampled.speech is None:
        return None
    return analyse_audio(registry, sampled.speech, sampled.speech_mime, name="speech track")


def speech_track_verdict(speech: AudioOutcome | str | None, heuristic: str) -> SpeechTrackVerdict | None:
    """The track's verdict under ``heuristic`` (its own C2PA forcing applied), for the video's rule."""
    if not isinstance(speech, AudioOutcome):
        return None
    chosen = speech.verdict(heuristic)
    if chosen is None:
        return None
    return SpeechTrackVerdict(
        classification=chosen["classification"],
        confidence=float(chosen["confidence"]),
        unknown=bool(chosen.get("unknown", False)),
        models=tuple(chosen.get("models", [])),
    )


def speech_track_json(speech: AudioOutcome | str) -> dict[str, Any]:
    """What is stored for a video's speech track (rendered as an ``AudioResponse``-like item);
    ``speech`` is the analysis, or the sentence saying why the track could not be read."""
    if not isinstance(speech, AudioOutcome):
        return {"status": "errored", "errors": speech, "results": [], "verdicts": [], "forcing": [], "c2pa": None,
                "chunks": [], "duration": None, "speech_seconds": None}  # fmt: skip
    return {
        "status": "done",
        "errors": None,
        "results": speech.results,
        "verdicts": speech.verdicts,
        "forcing": speech.forcing,
        "c2pa": speech.c2pa,
        "chunks": speech.chunks,
        "duration": speech.duration_s,
        "speech_seconds": speech.speech_seconds,
    }


def frame_verdicts(per_frame: list[dict[str, Any]], heuristic: str) -> list[FrameVerdict]:
    """Each analysed frame's verdict under ``heuristic`` (frame-level provenance included)."""
    out = []
    for frame in per_frame:
        chosen = select_verdict(frame["verdicts"], frame["forcing"], heuristic)
        if chosen is None:
            continue
        out.append(
            FrameVerdict(
                index=frame["frame_index"],
                timestamp=frame["timestamp"],
                classification=chosen["classification"],
                confidence=float(chosen["confidence"]),
                models=tuple(chosen.get("models", [])),
                unknown=bool(chosen.get("unknown", False)),
            )
        )
    return out


# --------------------------------------------------------------------------------- audio

CHUNK_SECONDS = 5.0
"""A recording is judged as a whole and in chunks of this length (``chunk_details``)."""
MAX_CHUNKS = 120
"""Longer recordings get longer chunks (a whole number of seconds) so there are at most this many."""
MIN_TAIL_SECONDS = 1.0
"""A last chunk shorter than this is merged into the one before it."""


def chunk_bounds(duration_s: float, chunk_s: float = CHUNK_SECONDS) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of each chunk: ``chunk_s`` long (longer when there would be more
    than :data:`MAX_CHUNKS`), the last one merged into its neighbour when it is under 1 s."""
    if duration_s <= 0:
        return []
    import math

    length = max(chunk_s, float(math.ceil(duration_s / MAX_CHUNKS)))
    bounds: list[tuple[float, float]] = []
    start = 0.0
    while start < duration_s - 1e-9:
        end = min(start + length, duration_s)
        bounds.append((round(start, 3), round(end, 3)))
        start = end
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < MIN_TAIL_SECONDS:
        tail = bounds.pop()
        bounds[-1] = (bounds[-1][0], tail[1])
    return bounds


@dataclass
class AudioOutcome:
    """A recording's analysis: the whole recording and each chunk, each with results and verdicts."""

    duration_s: float
    results: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    forcing: list[dict[str, Any]]
    c2pa: dict[str, Any] | None
    chunks: list[dict[str, Any]]
    """Per chunk: ``index``, ``start``, ``end`` (seconds), ``results``, ``verdicts``."""
    speech_seconds: float | None = None
    waveform: list[float] = field(default_factory=list)
    """Peak amplitude of 400 equal slices, for drawing the recording."""
    notes: list[str] = field(default_factory=list)

    def verdict(self, heuristic: str, *, prevent_c2pa_forces: bool = False) -> dict[str, Any] | None:
        return select_verdict(self.verdicts, self.forcing, heuristic, prevent_c2pa_forces=prevent_c2pa_forces)


def _audio_detectors(registry: DetectorRegistry) -> list[Detector]:
    return [d for d in registry if "audio" in d.modalities]


def analyse_audio(
    registry: DetectorRegistry,
    audio: Any,
    mime: str,
    *,
    name: str = "",
    path: str | Path | None = None,
    chunk_s: float = CHUNK_SECONDS,
) -> AudioOutcome:
    """Judge a decoded recording (``media.audio.DecodedAudio``) as a whole, then chunk by chunk.

    Every audio detector judges the whole recording; the statistical ones also judge each chunk
    (provenance describes the file, so it is read once). ``path`` lets a provenance reader read
    the container itself (C2PA). The verdict policy is the images' (``verdicts/policy.py``).
    """
    from originlens.media.audio import waveform_envelope

    detectors = _audio_detectors(registry)
    whole = MediaInput(data=b"", mime_type=mime, name=name, decoded=audio, path=None if path is None else str(path))
    bounds = chunk_bounds(audio.duration_s, chunk_s)
    predictions: list[Prediction] = []
    per_chunk: list[list[tuple[Prediction, Detector]]] = [[] for _ in bounds]
    for detector in detectors:
        if detector.kind == "statistical":  # the whole recording first, then each chunk, in one call
            whole_and_chunks = _predict_parts(detector, whole, [(0.0, audio.duration_s), *bounds])
            predictions.append(whole_and_chunks[0])
            for judged, prediction in zip(per_chunk, whole_and_chunks[1:], strict=True):
                judged.append((prediction, detector))
        else:  # provenance describes the file: read once
            predictions.append(_predict(detector, whole))
    results = [_result_json(p, d) for p, d in zip(predictions, detectors, strict=True)]
    verdicts, forcing = decide([_scored(p, d) for p, d in zip(predictions, detectors, strict=True)])
    verdicts = explain_unknown(verdicts, results)
    c2pa = next((p.evidence for p in predictions if p.model == "c2pa" and p.evidence), None)
    chunks: list[dict[str, Any]] = []
    for index, ((start, end), judged) in enumerate(zip(bounds, per_chunk, strict=True)):
        chunk_verdicts, _ = decide([_scored(p, d) for p, d in judged])
        chunk_results = [_result_json(p, d) for p, d in judged]
        chunks.append(
            {
                "index": index,
                "start": start,
                "end": end,
                "results": chunk_results,
                "verdicts": explain_unknown(chunk_verdicts, chunk_results),
            }
        )
    speech = next((p.details.get("speech_seconds") for p in predictions if p.model == "speech"), None)
    return AudioOutcome(
        duration_s=round(audio.duration_s, 3),
        results=results,
        verdicts=verdicts,
        forcing=forcing,
        c2pa=c2pa,
        chunks=chunks,
        speech_seconds=None if speech is None else float(speech),
        waveform=waveform_envelope(audio.samples),
    )


def unknown_reason(results: list[dict[str, Any]]) -> str | None:
    """Why the voting models could not judge (e.g. "no speech found: ..."), from their
    ``classification_details.reason``; ``None`` when none of them said."""
    reasons = [
        str(r["classification_details"]["reason"])
        for r in results
        if r.get("votes", True) and r.get("unknown") and (r.get("classification_details") or {}).get("reason")
    ]
    return "; ".join(dict.fromkeys(reasons)) or None


def explain_unknown(verdicts: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``verdicts`` with a ``reason`` on the unknown ones, so the verdict itself says why."""
    reason = unknown_reason(results)
    if reason is None:
        return verdicts
    return [{**v, "reason": reason} if v.get("unknown") and "reason" not in v else v for v in verdicts]
