"""Speech/audio use cases: submit (the file is already streamed to the blob store), analyse the
recording as a whole and in 5 s chunks, and render identifAI's ``AudioResponse``. Never commits;
the caller owns the transaction.

A recording is decoded to mono 16 kHz (``media/audio.py``) and judged by every audio detector
(``pipeline.analyse_audio``): the whole recording decides ``verdict``/``verdicts``; each chunk
gets its own results and verdicts (``chunk_details``, also served as ``details.clips`` because the
vendor's two pages disagree). Credits: one analysis (the plan's ``image_cost``) per recording,
whatever its length; audio has no paid options.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from originlens.errors import UnsupportedMediaTypeError
from originlens.media.audio import ACCEPTED_AUDIO_FORMATS, AudioError, AudioLimits, read_audio, sniff_audio_type
from originlens.pipeline import AudioOutcome, analyse_audio
from originlens.services import job_leases
from originlens.services import users as users_service
from originlens.services.outcomes import AnalysisContext, finish_done, record_failure, unexpected_failure_text
from originlens.services.submissions import (
    SubmitContext,
    response_body,
    submit_streamed,
)
from originlens.storage.base import BlobNotFoundError, StoredBlob
from originlens.store.db import unit_of_work
from originlens.store.models import Classification, User
from originlens.verdicts import policy

log = logging.getLogger(__name__)

UNDECODABLE_AUDIO = (
    "The recording could not be decoded: its data is damaged, or it uses a feature the decoder does not support."
)
MISSING_FILE = "The stored file is missing; submit it again."


@dataclass
class AudioOptions:
    """What a speech submission may ask: neither changes the analysis, so neither is charged."""

    no_cache: bool = False
    prevent_c2pa_forces: bool = False

    def as_dict(self) -> dict[str, bool]:
        return dict(self.__dict__)


def check_audio_head(head: bytes) -> str:
    """The sniffed MIME type of a recording, or 415 naming the accepted formats (first bytes only)."""
    mime = sniff_audio_type(head)
    if mime is None:
        raise UnsupportedMediaTypeError(
            f"The file is not a recording this service accepts. Accepted formats: {ACCEPTED_AUDIO_FORMATS}."
        )
    return mime


def _cache_key(sha256: str, fingerprint: str) -> str:
    """Same bytes and same detectors: the same analysis (``prevent_c2pa_forces`` only changes
    how the verdict is read, so it does not split the cache)."""
    raw = json.dumps([sha256, {"media": "audio"}, fingerprint], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


def submit_audio(
    session: Session,
    ctx: SubmitContext,
    user: User,
    *,
    blob_key: str,
    stored: StoredBlob,
    mime: str,
    name: str,
    options: AudioOptions,
    ref_id: str | None = None,
    webhook_url: str | None = None,
) -> Classification:
    """Record a speech submission whose bytes are already in the blob store under ``blob_key``;
    reuse an earlier analysis of the same bytes unless ``no_cache``. The job is enqueued after commit."""
    return submit_streamed(
        session, ctx, user, media_type="audio", cache_key=_cache_key(stored.sha256, ctx.detectors_fingerprint),
        cost=users_service.analysis_cost(user, {}),  # one analysis, whatever the length
        blob_key=blob_key, stored=stored, mime=mime, name=name, options=options.as_dict(), ref_id=ref_id,
        webhook_url=webhook_url,
    )  # fmt: skip


# --------------------------------------------------------------------------------- the worker


def decode_and_analyse(ctx: AnalysisContext, blob_key: str | None, mime: str, name: str) -> AudioOutcome | str:
    """The recording's analysis, or the sentence to end the job with when it cannot be read.

    The file's local path is held while the detectors run: a provenance reader reads the
    container itself (C2PA). Failures of the analysis proper propagate (``unexpected_failure_text``).
    """
    if blob_key is None:
        return MISSING_FILE
    limits = AudioLimits(max_duration_s=ctx.audio_max_seconds, deadline_s=ctx.audio_decode_deadline_s)
    try:
        with ctx.blobs.local_path(blob_key) as path:
            try:
                decoded = read_audio(path, mime, limits)
            except AudioError as exc:
                return f"The recording could not be analysed: {exc}."
            except Exception:  # FFmpeg surprises: a readable error, never a stuck job
                log.exception("recording %s failed to decode", name)
                return UNDECODABLE_AUDIO
            return analyse_audio(ctx.registry, decoded, mime, name=name, path=path)
    except BlobNotFoundError:
        return MISSING_FILE


def analyse_audio_job(
    ctx: AnalysisContext, analysis_id: int, blob_key: str | None, mime: str, name: str, token: str | None
) -> None:
    """Decode, analyse (whole recording and chunks), then record the outcome if the job is still
    ours; failures end ``errored`` with a sentence and a refund (``outcomes.record_failure``)."""
    try:
        outcome = decode_and_analyse(ctx, blob_key, mime, name)
    except Exception as exc:
        record_failure(ctx, analysis_id, unexpected_failure_text(exc, analysis_id), token)
        return
    if isinstance(outcome, str):
        record_failure(ctx, analysis_id, outcome, token)
        return

    with unit_of_work(ctx.sessions) as session:
        analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
        if analysis is None:  # taken over by another worker, or deleted with its user
            return
        analysis.results = outcome.results
        analysis.verdicts = outcome.verdicts
        analysis.c2pa = outcome.c2pa
        analysis.forced_by = {"evidence": outcome.forcing} if outcome.forcing else None
        analysis.details = outcome.chunks
        analysis.duration_s = outcome.duration_s
        analysis.speech_seconds = outcome.speech_seconds
        analysis.waveform = outcome.waveform
        if outcome.notes:
            analysis.notes = [*analysis.notes, *outcome.notes]
        finish_done(session, ctx, analysis)


# --------------------------------------------------------------------------------- the answer


def shown_chunks(
    chunks: list[dict[str, Any]],
    forcing: list[dict[str, Any]],
    heuristic: str,
    *,
    prevent_c2pa_forces: bool = False,
    override: str | None = None,
) -> list[dict[str, Any]]:
    """Each stored chunk as the client reads it: its verdicts, and ``verdict`` under the user's heuristic.

    Provenance describes the whole file, so a conclusive one (and the user's override) decides
    every chunk too: the chunks never contradict the recording's forced verdict.
    """
    shown = []
    for chunk in chunks:
        item: dict[str, Any] = {
            "index": chunk["index"],
            "start": chunk["start"],
            "end": chunk["end"],
            "results": chunk["results"],
            "verdicts": policy.shown_verdicts(
                chunk["verdicts"], forcing, prevent_c2pa_forces=prevent_c2pa_forces, override=override
            ),
        }
        verdict = policy.select_verdict(
            chunk["verdicts"], forcing, heuristic, prevent_c2pa_forces=prevent_c2pa_forces, override=override
        )
        if verdict is not None:
            item["verdict"] = verdict
        shown.append(item)
    return shown


def speech_track_item(track: dict[str, Any], heuristic: str) -> dict[str, Any]:
    """A video's speech track (stored by ``pipeline.speech_track_json``) as an ``AudioResponse``-like
    item of ``results.audios``; like the frames, it shows its own evidence (no override)."""
    forcing = track.get("forcing") or []
    chunks = shown_chunks(track.get("chunks") or [], forcing, heuristic)
    item: dict[str, Any] = {
        "status": track["status"],
        "errors": track.get("errors"),
        "c2pa": track.get("c2pa"),
        "results": track.get("results") or [],
        "verdicts": policy.shown_verdicts(track.get("verdicts") or [], forcing),
        "chunk_details": chunks,
        "details": {"clips": chunks},
        "duration": track.get("duration"),
        "speech_seconds": track.get("speech_seconds"),
    }
    verdict = policy.select_verdict(track.get("verdicts") or [], forcing, heuristic)
    if verdict is not None:
        item["verdict"] = verdict
    return item


def build_audio_response(
    classification: Classification, user: User, forced_label: str | None, public_url: str
) -> dict[str, Any]:
    """identifAI's ``AudioResponse`` for one submission, as the client sees it now."""
    analysis = classification.analysis
    chunks = shown_chunks(
        analysis.details or [],
        (analysis.forced_by or {}).get("evidence", []),
        user.heuristic,
        prevent_c2pa_forces=bool(classification.options.get("prevent_c2pa_forces")),
        override=forced_label,
    )
    return response_body(
        classification, user, forced_label, public_url,
        results=analysis.results or [],
        chunk_details=chunks,
        details={"clips": chunks},
        duration=analysis.duration_s,
        speech_seconds=analysis.speech_seconds,
    )  # fmt: skip
