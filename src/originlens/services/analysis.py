"""The analysis task: run every detector over one stored file and record the verdicts.

A job is the ``analyses`` row itself, so nothing lives only in memory: a worker claims it
with a lease (``services.job_leases``); a worker that dies mid-job leaves it ``running``
until its lease passes (or until a process on the same host sees the worker is dead), and
it is run again, up to ``max_attempts`` times before it is marked errored. Every write
after the claim checks that this worker still holds the job, so a job is finished once.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from originlens import heatmap
from originlens.detectors.base import MediaInput
from originlens.media.images import ImageError, decode_image
from originlens.pipeline import Outcome, analyse_media
from originlens.services import job_leases
from originlens.services.audio import analyse_audio_job
from originlens.services.outcomes import (
    AnalysisContext,
    after_finish,
    finish_done,
    finish_errored,
    record_failure,
    refund_unproduced_option,
    unexpected_failure_text,
)
from originlens.services.videos import analyse_video
from originlens.storage import BlobNotFoundError
from originlens.store.db import unit_of_work
from originlens.store.models import Analysis

log = logging.getLogger(__name__)


def recover_unfinished(session: Session) -> list[int]:
    """At start-up: give back the jobs of dead processes on this host; returns every ``new``
    job, to enqueue (jobs another live process holds are left alone)."""
    job_leases.release_dead_claims(session)
    return job_leases.stale_new(session, None)


def _claim(session: Session, ctx: AnalysisContext, analysis_id: int, token: str) -> Analysis | None:
    """Take the job if it is still ``new``, atomically, so two workers never both run it.

    A job already interrupted ``max_attempts`` times is marked errored instead.
    """
    claimed = job_leases.claim(session, analysis_id, token, ctx.lease_s, ctx.max_attempts)
    analysis = session.get(Analysis, analysis_id, populate_existing=True)
    if claimed:
        return analysis
    if analysis is not None and analysis.state == "new":
        finish_errored(
            session,
            analysis,
            f"The analysis was interrupted {analysis.attempts} time(s) (the worker stopped while working on it) "
            "and was abandoned. Submit the file again with no_cache=true to retry.",
        )
        after_finish(session, None, analysis)
    return None


def analyse(ctx: AnalysisContext, analysis_id: int) -> None:
    """The task body: claim, analyse outside any transaction (keeping the lease), then record
    the outcome if the job is still ours. Safe to call twice for one job."""
    token = job_leases.new_claim()
    with unit_of_work(ctx.sessions) as session:
        claimed = _claim(session, ctx, analysis_id, token)
        if claimed is None:
            return
        blob_key, mime, name = claimed.blob_key, claimed.mime_type, claimed.sha256
        options = dict(claimed.options or {})
        media_type = claimed.media_type

    with job_leases.LeaseKeeper(ctx.sessions, analysis_id, token, ctx.lease_s):
        if media_type == "video":
            analyse_video(ctx, analysis_id, blob_key, options, mime, token)
        elif media_type == "audio":
            analyse_audio_job(ctx, analysis_id, blob_key, mime, name, token)
        else:
            _analyse_image(ctx, analysis_id, token, blob_key, mime, name, options)


def _analyse_image(
    ctx: AnalysisContext,
    analysis_id: int,
    token: str,
    blob_key: str | None,
    mime: str,
    name: str,
    options: dict[str, Any],
) -> None:
    try:
        if blob_key is None:
            raise BlobNotFoundError("no blob key")
        data = ctx.blobs.get(blob_key)
        decoded = decode_image(data, ctx.max_image_pixels)
    except ImageError as exc:
        record_failure(ctx, analysis_id, f"The image could not be analysed: {exc}.", token)
        return
    except BlobNotFoundError:
        record_failure(ctx, analysis_id, "The stored file is missing; submit it again.", token)
        return

    try:
        media = MediaInput(data=data, mime_type=mime, name=name, decoded=decoded)
        asked = [name for name in ("with_tampering", "with_nsfw", "with_morphing") if options.get(name)]
        outcome = analyse_media(ctx.registry, media, asked)
        heatmap_key, heatmap_note = None, None
        if options.get("with_heatmap"):
            heatmap_key, heatmap_note = _make_heatmap(ctx, analysis_id, outcome, decoded)
        tampering_key = _store_tampering_map(ctx, analysis_id, outcome, decoded)
    except Exception as exc:
        record_failure(ctx, analysis_id, unexpected_failure_text(exc, analysis_id), token)
        return

    with unit_of_work(ctx.sessions) as session:
        analysis = job_leases.hold(session, analysis_id, token, ctx.lease_s)
        if analysis is None:  # taken over by another worker, or deleted with its user
            return
        analysis.results = outcome.results
        analysis.verdicts = outcome.verdicts
        analysis.c2pa = outcome.c2pa
        analysis.forced_by = {"evidence": outcome.forcing} if outcome.forcing else None
        analysis.heatmap_blob_key = heatmap_key
        analysis.tampering_blob_key = tampering_key
        analysis.details = outcome.details
        analysis.is_nsfw = outcome.is_nsfw
        notes = [*outcome.notes, *([heatmap_note] if heatmap_note else [])]
        if notes:
            analysis.notes = [*analysis.notes, *notes]
        if heatmap_note:
            refund_unproduced_option(session, analysis)
        finish_done(session, ctx, analysis)


def _make_heatmap(
    ctx: AnalysisContext, analysis_id: int, outcome: Outcome, image: Any
) -> tuple[str | None, str | None]:
    """Build, store and summarise the heatmap; returns (PNG blob key, note when none was made)."""
    made = heatmap.build(list(ctx.registry), image)
    if made is None:
        return None, (
            "with_heatmap: no statistical detector could judge this image, so no heatmap was made "
            "and the option's credit was refunded."
        )
    key = f"heatmaps/{analysis_id:012d}.png"
    ctx.blobs.put(key, heatmap.render_png(made, image))
    ctx.blobs.put(key.removesuffix(".png") + ".json", made.raw_json())
    outcome.results.append(heatmap.result_json(made))
    return key, None


def _store_tampering_map(ctx: AnalysisContext, analysis_id: int, outcome: Outcome, image: Any) -> str | None:
    """Render and store the tampering map the tampering model left in its evidence, if any."""
    found = next((p for p in outcome.predictions if p.model == "tampering" and not p.unknown and p.evidence), None)
    if found is None or found.evidence is None or "map" not in found.evidence:
        return None
    made = heatmap.Heatmap(
        grid=found.evidence["map"],
        cell=int(found.evidence["cell"]),
        width=image.width,
        height=image.height,
        windows=0,
        models=["tampering"],
        elapsed_time=found.elapsed_time,
    )
    key = f"tampering/{analysis_id:012d}.png"
    ctx.blobs.put(key, heatmap.render_png(made, image, low="untouched", high="manipulated", summary="share flagged"))
    ctx.blobs.put(key.removesuffix(".png") + ".json", made.raw_json())
    return key
