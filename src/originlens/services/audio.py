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

from originlens.errors import ForbiddenError, UnsupportedMediaTypeError
from originlens.media.audio import ACCEPTED_AUDIO_FORMATS, AudioError, AudioLimits, read_audio, sniff_audio_type
from originlens.pipeline import AudioOutcome, analyse_audio
from originlens.services import job_leases
from originlens.services import users as users_service
from originlens.services.outcomes import AnalysisContext, finish_done, record_failure, unexpected_failure_text
from originlens.services.submissions import (
    SubmitContext,
    find_cached,
    record_submission,
    select_verdict,
    shown_verdicts,
)
from originlens.storage.base import BlobNotFoundError, StoredBlob
from originlens.store.db import after_commit, unit_of_work
from originlens.store.models import Analysis, Classification, User
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
    if user.readonly:
        raise ForbiddenError("This user is read-only and cannot submit media.")
    cache_key = _cache_key(stored.sha256, ctx.detectors_fingerprint)
    analysis = None if options.no_cache else find_cached(session, user, cache_key)
    cached = analysis is not None
    charged = 0.0
    if analysis is None:
        charged = users_service.analysis_cost(user, {})  # one analysis, whatever the length
        users_service.charge(user, charged)
        analysis = Analysis(
            user_id=user.id,
            media_type="audio",
            sha256=stored.sha256,
            cache_key=cache_key,
            mime_type=mime,
            blob_key=blob_key,
            options=options.as_dict(),
        )
        session.add(analysis)
        session.flush()
        analysis_id = analysis.id
        after_commit(session, lambda: ctx.enqueue(analysis_id))
    else:
        after_commit(session, lambda: ctx.blobs.delete(blob_key))  # the earlier upload is reused
    return record_submission(
        session, ctx, user, analysis, name=name or "audio", options=options.as_dict(), ref_id=ref_id,
        webhook_url=webhook_url, cached=cached, charged=charged,
    )  # fmt: skip


# --------------------------------------------------------------------------------- the worker


def explain_unknown(verdicts: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``verdicts`` with a ``reason`` on the unknown ones: why the voting models could not judge
    (e.g. "no speech found: ..."), so the verdict itself says why it is unknown."""
    reasons = [
        str(r["classification_details"]["reason"])
        for r in results
        if r.get("votes") and r.get("unknown") and (r.get("classification_details") or {}).get("reason")
    ]
    if not reasons:
        return verdicts
    reason = "; ".join(dict.fromkeys(reasons))
    return [{**v, "reason": reason} if v.get("unknown") and "reason" not in v else v for v in verdicts]


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

    chunks = [{**chunk, "verdicts": explain_unknown(chunk["verdicts"], chunk["results"])} for chunk in outcome.chunks]
    with unit_of_work(ctx.sessions) as session:
        analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
        if analysis is None:  # taken over by another worker, or deleted with its user
            return
        analysis.results = outcome.results
        analysis.verdicts = explain_unknown(outcome.verdicts, outcome.results)
        analysis.c2pa = outcome.c2pa
        analysis.forced_by = {"evidence": outcome.forcing} if outcome.forcing else None
        analysis.details = chunks
        analysis.duration_s = outcome.duration_s
        analysis.speech_seconds = outcome.speech_seconds
        analysis.waveform = outcome.waveform
        if outcome.notes:
            analysis.notes = [*analysis.notes, *outcome.notes]
        finish_done(session, ctx, analysis)


# --------------------------------------------------------------------------------- the answer


def shown_chunks(
    analysis: Analysis, heuristic: str, options: dict[str, Any], forced_label: str | None
) -> list[dict[str, Any]]:
    """Each chunk as the client reads it: its verdicts, and ``verdict`` under the user's heuristic.

    Provenance describes the whole file, so a conclusive one (and the user's override) decides
    every chunk too: the chunks never contradict the recording's forced verdict.
    """
    forcing = (analysis.forced_by or {}).get("evidence", [])
    prevent = bool(options.get("prevent_c2pa_forces"))
    shown = []
    for chunk in analysis.details or []:
        item: dict[str, Any] = {
            "index": chunk["index"],
            "start": chunk["start"],
            "end": chunk["end"],
            "results": chunk["results"],
            "verdicts": policy.shown_verdicts(
                chunk["verdicts"], forcing, prevent_c2pa_forces=prevent, override=forced_label
            ),
        }
        verdict = policy.select_verdict(
            chunk["verdicts"], forcing, heuristic, prevent_c2pa_forces=prevent, override=forced_label
        )
        if verdict is not None:
            item["verdict"] = verdict
        shown.append(item)
    return shown


def build_audio_response(
    classification: Classification, user: User, forced_label: str | None, public_url: str
) -> dict[str, Any]:
    """identifAI's ``AudioResponse`` for one submission, as the client sees it now."""
    analysis = classification.analysis
    status = {"done": "done", "errored": "errored"}.get(analysis.state, "new")
    chunks = shown_chunks(analysis, user.heuristic, classification.options, forced_label)
    body: dict[str, Any] = {
        "hash": analysis.sha256,
        "identifier": classification.identifier,
        "api_version": analysis.api_version,
        "status": status,
        "errors": analysis.errors,
        "name": classification.name,
        "result_url": f"{public_url.rstrip('/')}/dashboard/results/{classification.identifier}",
        "c2pa": analysis.c2pa,
        "force_classification": forced_label,
        "verdicts": shown_verdicts(analysis, classification.options, forced_label),
        "results": analysis.results or [],
        "chunk_details": chunks,
        "details": {"clips": chunks},
        "duration": analysis.duration_s,
        "speech_seconds": analysis.speech_seconds,
        "cached": classification.cached,
        "options": classification.options,
        "notes": list(analysis.notes or []),
        "created_at": classification.created_at.isoformat(),
    }
    if classification.ref_id is not None:  # the vendor types ref_id as a string, never null
        body["ref_id"] = classification.ref_id
    verdict = select_verdict(analysis, user.heuristic, classification.options, forced_label)
    if verdict is not None:
        body["verdict"] = verdict
    return body
