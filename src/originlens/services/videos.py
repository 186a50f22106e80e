"""Video use cases: submit (the file is already streamed to the blob store), analyse frame by
frame, and render identifAI's ``VideoResponse``. Never commits; the caller owns the transaction.

A video is judged from sampled frames (``frames`` = 5, 10 or 30; evenly spaced, or key frames by
``key_frames_method``), each frame analysed exactly like an image (``pipeline.analyse_media``),
then a whole-video verdict per heuristic (``verdicts/video.py``, rule in ``docs/video.md``). The
first audio track is judged like a recording (``results.audios``): a synthetic voice makes the
video artificial, a human voice proves nothing about the picture (``verdicts.video.with_speech``).
Credits: one image analysis per sampled frame is charged at submit; frames that could not be
sampled are refunded when the analysis ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from originlens.errors import UnsupportedMediaTypeError
from originlens.media.audio import AudioLimits, sniff_audio_type
from originlens.media.video import VideoError, VideoLimits, sniff_video_type
from originlens.pipeline import analyse_video_frames, sample_video
from originlens.services import job_leases
from originlens.services import users as users_service
from originlens.services.audio import speech_track_item
from originlens.services.outcomes import AnalysisContext, finish_done, record_failure, unexpected_failure_text
from originlens.services.submissions import (
    CACHE_OPTION_FIELDS,
    SubmitContext,
    SubmitOptions,
    face_details,
    response_body,
    submit_streamed,
)
from originlens.storage.base import BlobNotFoundError, StoredBlob
from originlens.store.db import unit_of_work
from originlens.store.models import Analysis, Classification, User
from originlens.verdicts import policy

log = logging.getLogger(__name__)

VIDEO_HEATMAP_NOTE = "with_heatmap: videos get no heatmap, so the option was not charged."
UNDECODABLE_VIDEO = (
    "The video could not be decoded: its data is damaged, or it uses a feature the decoder does not support."
)

FRAME_CHOICES = (5, 10, 30)
KEY_FRAME_METHODS = ("iframes", "flow", "color")
ACCEPTED_VIDEO_FORMATS = "MP4/MOV/3GP, WebM/MKV, AVI, MPEG-TS/PS, FLV, ASF/WMV, Ogg, animated WebP"


@dataclass
class VideoOptions(SubmitOptions):
    frames: int = 5
    key_frames: bool = False
    key_frames_method: str = "iframes"

    @property
    def sampling(self) -> str:
        """The media layer's method: evenly spaced frames unless key frames were asked for."""
        return self.key_frames_method if self.key_frames else "even"


def check_video_head(head: bytes) -> str:
    """The sniffed MIME type of a video upload, or 415 (checked on the first bytes only)."""
    mime = sniff_video_type(head)
    if mime is None:
        hint = " It is a sound recording: send it to /api/classification_audio." if sniff_audio_type(head) else ""
        raise UnsupportedMediaTypeError(
            f"The file is not a video this service accepts. Accepted formats: {ACCEPTED_VIDEO_FORMATS}.{hint}"
        )
    return mime


def _cache_key(sha256: str, options: VideoOptions, fingerprint: str) -> str:
    analysed: dict[str, Any] = {name: getattr(options, name) for name in CACHE_OPTION_FIELDS}
    analysed.update(frames=options.frames, sampling=options.sampling, media="video")
    raw = json.dumps([sha256, analysed, fingerprint], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def submit_video(
    session: Session,
    ctx: SubmitContext,
    user: User,
    *,
    blob_key: str,
    stored: StoredBlob,
    mime: str,
    name: str,
    options: VideoOptions,
    ref_id: str | None = None,
    webhook_url: str | None = None,
) -> Classification:
    """Record a video submission whose bytes are already in the blob store under ``blob_key``."""
    # No per-frame heatmap is made for videos, so ``with_heatmap`` is not charged (and says so).
    cost = options.frames * users_service.analysis_cost(user, {**options.as_dict(), "with_heatmap": False})
    return submit_streamed(
        session, ctx, user, media_type="video", cache_key=_cache_key(stored.sha256, options, ctx.detectors_fingerprint),
        cost=cost, blob_key=blob_key, stored=stored, mime=mime, name=name, options=options.as_dict(), ref_id=ref_id,
        webhook_url=webhook_url, frames_done=0, notes=[VIDEO_HEATMAP_NOTE] if options.with_heatmap else [],
    )  # fmt: skip


# --------------------------------------------------------------------------------- the worker


def analyse_video(
    ctx: AnalysisContext,
    analysis_id: int,
    blob_key: str | None,
    options: dict[str, Any],
    mime: str,
    token: str | None,
) -> None:
    """Sample the frames, analyse each like an image (recording progress), then the verdicts.

    The analysis itself is ``pipeline.sample_video`` + ``pipeline.analyse_video_frames`` (shared
    with ``originlens classify``); this adds the job's bookkeeping. ``ctx`` is the image worker's
    ``AnalysisContext``; failures end as ``errored`` with a readable text and a refund
    (``analysis.record_failure``).
    """
    frames_asked = int(options.get("frames") or 5)
    sampling = str(options.get("key_frames_method") or "iframes") if options.get("key_frames") else "even"
    asked = [name for name in ("with_tampering", "with_nsfw", "with_morphing") if options.get(name)]
    limits = VideoLimits(
        max_duration_s=ctx.video_max_seconds,
        deadline_s=ctx.video_decode_deadline_s,
    )
    audio_limits = AudioLimits(max_duration_s=ctx.audio_max_seconds, deadline_s=ctx.audio_decode_deadline_s)
    try:
        if blob_key is None:
            raise BlobNotFoundError("no blob key")
        with ctx.blobs.local_path(blob_key) as path:
            sampled = sample_video(ctx.registry, path, mime, frames_asked, sampling, limits, audio_limits)
    except VideoError as exc:
        record_failure(ctx, analysis_id, f"The video could not be analysed: {exc}.", token)
        return
    except BlobNotFoundError:
        record_failure(ctx, analysis_id, "The stored file is missing; submit it again.", token)
        return
    except Exception:  # FFmpeg or Pillow surprises: a readable error, never a stuck job
        log.exception("video %s failed to decode", analysis_id)
        record_failure(ctx, analysis_id, UNDECODABLE_VIDEO, token)
        return
    if not sampled.frames:
        record_failure(ctx, analysis_id, "No frame of the video could be decoded.", token)
        return

    with unit_of_work(ctx.sessions) as session:
        analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
        if analysis is None:
            return
        analysis.frames_total = len(sampled.frames)
        analysis.frames_done = 0
        analysis.results = []
        if sampled.c2pa is not None:  # shown even when it does not decide
            analysis.c2pa = sampled.c2pa
            if sampled.forcing:
                analysis.forced_by = {"evidence": sampled.forcing}

    def record_progress(per_frame: list[dict[str, Any]]) -> bool:
        """Progress the client can poll; ``False`` (stop) once the job is no longer ours."""
        with unit_of_work(ctx.sessions) as session:
            analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
            if analysis is None:
                return False
            analysis.results = per_frame
            analysis.frames_done = len(per_frame)
            return True

    try:
        outcome = analyse_video_frames(
            ctx.registry, sampled, asked, frames_asked=frames_asked, on_frame=record_progress
        )
    except Exception as exc:
        record_failure(ctx, analysis_id, unexpected_failure_text(exc, analysis_id), token)
        return
    if outcome is None:
        return

    with unit_of_work(ctx.sessions) as session:
        analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
        if analysis is None:
            return
        analysis.verdicts = outcome.verdicts
        analysis.details = outcome.audios
        if options.get("with_nsfw"):
            analysis.is_nsfw = outcome.is_nsfw
        unanalysed = outcome.unanalysed
        if unanalysed:
            analysis.notes = [
                *analysis.notes,
                f"frames: {frames_asked} were asked, {len(outcome.frames)} could be sampled; "
                f"the other {unanalysed} were not charged.",
            ]
            _refund_frames(session, analysis, unanalysed, frames_asked)
        finish_done(session, ctx, analysis)


def _refund_frames(session: Session, analysis: Analysis, unanalysed: int, frames_asked: int) -> None:
    for classification in session.scalars(
        select(Classification).where(Classification.analysis_id == analysis.id)
    ).unique():
        if classification.credits_charged:
            refund = classification.credits_charged * unanalysed / frames_asked
            user = session.get(User, classification.user_id)
            if user is not None:
                users_service.refund(user, refund)
            classification.credits_charged -= refund


# --------------------------------------------------------------------------------- the answer


def build_video_response(
    classification: Classification, user: User, forced_label: str | None, public_url: str
) -> dict[str, Any]:
    """identifAI's ``VideoResponse``: one ImageResponse-like entry per analysed frame."""
    analysis = classification.analysis
    images = []
    for frame in analysis.results or []:
        verdict = policy.select_verdict(frame["verdicts"], frame["forcing"], user.heuristic)
        item: dict[str, Any] = {
            "frame_index": frame["frame_index"],
            "timestamp": frame["timestamp"],
            "status": "done",
            "results": frame["results"],
            "verdicts": policy.shown_verdicts(frame["verdicts"], frame["forcing"]),
            "details": face_details(frame.get("details") or [], user.heuristic),
        }
        if verdict is not None:
            item["verdict"] = verdict
        if classification.options.get("with_nsfw"):
            item["is_nsfw"] = frame.get("is_nsfw")
        images.append(item)
    return response_body(
        classification, user, forced_label, public_url,
        results={
            "images": images,
            "audios": [speech_track_item(track, user.heuristic) for track in analysis.details or []],
        },
        frames_done=analysis.frames_done or 0,
        frames_total=analysis.frames_total,
    )  # fmt: skip
