"""What the dashboard shows about results: the caller's list with search and filters, one result
with its evidence explained in plain words, and the stored media behind it.

Built on the same responses the API returns (``classifications.build_response`` /
``videos.build_video_response``), so the pages never disagree with the API. Never commits.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from originlens.errors import NotFoundError
from originlens.services import classifications as images_service
from originlens.services import results
from originlens.storage import BlobStore
from originlens.storage.base import BlobNotFoundError
from originlens.store.models import Analysis, Classification, User

VERDICT_FILTERS = ("human", "artificial", "unknown", "pending", "errored")
THUMBNAIL_SIDE = 160
_SCAN_CHUNK = 200


def find_own(session: Session, user: User, identifier: str) -> tuple[Classification, str | None]:
    """The caller's classification (image, video or recording) and its override; anyone else's is a 404."""
    media_type = session.scalar(
        select(Analysis.media_type)
        .join(Classification, Classification.analysis_id == Analysis.id)
        .where(Classification.identifier == identifier, Classification.user_id == user.id)
    )
    if media_type is None:
        raise NotFoundError(f"No classification with identifier {identifier}.")
    return images_service.get_with_override(session, user, identifier, media_type)


def response_for(classification: Classification, user: User, forced: str | None, public_url: str) -> dict[str, Any]:
    """The API's JSON for this result (``ImageResponse``, ``VideoResponse`` or ``AudioResponse``)."""
    return results.build_one(classification, user, forced, public_url)


def verdict_label(body: dict[str, Any]) -> str:
    """One word for a result: pending, errored, unknown (nothing could judge), human or artificial."""
    if body["status"] == "new":
        return "pending"
    if body["status"] == "errored":
        return "errored"
    verdict = body.get("verdict")
    if not verdict or verdict.get("unknown"):
        return "unknown"
    return str(verdict["classification"])


# ------------------------------------------------------------------------------------ the list


@dataclass
class ListFilters:
    query: str = ""
    """Matches the ref_id exactly or the name in part (case-insensitive)."""
    date_from: date | None = None
    date_to: date | None = None
    verdict: str = ""
    media: str = ""
    page: int = 1
    per_page: int = 20


@dataclass
class ResultPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _base_query(user: User, filters: ListFilters) -> Select[Classification]:
    query = select(Classification).join(Classification.analysis).where(Classification.user_id == user.id)
    text = filters.query.strip()
    if text:
        like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Classification.ref_id == text, func.lower(Classification.name).like(like, escape="\\")))
    if filters.date_from:
        query = query.where(Classification.created_at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to:
        query = query.where(Classification.created_at < datetime.combine(filters.date_to + timedelta(days=1), time.min))
    if filters.media in ("image", "video", "audio"):
        query = query.where(Analysis.media_type == filters.media)
    if filters.verdict == "pending":
        query = query.where(Analysis.state.in_(("new", "running")))
    elif filters.verdict == "errored":
        query = query.where(Analysis.state == "errored")
    elif filters.verdict in ("human", "artificial", "unknown"):
        query = query.where(Analysis.state == "done")
    return query.order_by(Classification.id.desc())


def list_results(session: Session, user: User, filters: ListFilters, public_url: str) -> ResultPage:
    """The caller's results, newest first, filtered and paginated.

    Status filters run in SQL. The verdict (human / artificial / unknown) depends on the user's
    heuristic, overrides and provenance, so it is computed exactly as the API computes it, over
    the finished results that match the other filters.
    """
    query = _base_query(user, filters)
    offset = (filters.page - 1) * filters.per_page
    if filters.verdict not in ("human", "artificial", "unknown"):
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(session.scalars(query.offset(offset).limit(filters.per_page)).unique())
        bodies = results.render(session, user, rows, public_url)
        return ResultPage(bodies, total, filters.page, filters.per_page)
    matched: list[dict[str, Any]] = []
    total = 0
    start = 0
    while True:
        rows = list(session.scalars(query.offset(start).limit(_SCAN_CHUNK)).unique())
        if not rows:
            break
        for body in results.render(session, user, rows, public_url):
            if verdict_label(body) == filters.verdict:
                if offset <= total < offset + filters.per_page:
                    matched.append(body)
                total += 1
        start += _SCAN_CHUNK
    return ResultPage(matched, total, filters.page, filters.per_page)


# --------------------------------------------------------------------------- evidence, in words


def artificial_probability(verdict: dict[str, Any] | None) -> float | None:
    """A verdict as the probability of ``artificial`` (for a frame's bar); ``None`` when unknown."""
    if not verdict or verdict.get("unknown") or verdict.get("confidence") is None:
        return None
    confidence = float(verdict["confidence"])
    return confidence if verdict.get("classification") == "artificial" else 1.0 - confidence


def decided_by(body: dict[str, Any]) -> dict[str, str]:
    """Which kind of evidence decided the verdict, and a sentence saying so."""
    verdict = body.get("verdict") or {}
    evidence = verdict.get("evidence") or ("none" if verdict.get("unknown") or not verdict else "statistical")
    if evidence == "override":
        return {"kind": "override", "text": "You overrode this classification."}
    if evidence == "provenance":
        by = verdict.get("forced_by", "provenance")
        names = {"c2pa": "a C2PA manifest", "metadata": "generator metadata", "watermark": "an invisible watermark"}
        reason = verdict.get("reason") or ""
        return {"kind": f"provenance: {by}", "text": f"Decided by {names.get(by, by)}: {reason}".rstrip(": ")}
    if verdict.get("unknown") or evidence == "none":
        if "chunk_details" in body and verdict.get("reason"):  # a recording: the voice model says why
            return {
                "kind": "none",
                "text": "No conclusive provenance, and the voice model could not judge the recording "
                f"({verdict['reason']}), so the verdict is unknown.",
            }
        indicators = sorted(
            {str(r.get("model")) for r in _all_results(body) if _is_indicator(r) and not r.get("unknown")}
        )
        if indicators:
            return {
                "kind": "none",
                "text": "No conclusive provenance and no voting model, so the verdict is unknown. "
                f"The indicator{'s' if len(indicators) > 1 else ''} {', '.join(indicators)} "
                "below gave a score, but does not vote: its accuracy is not yet good enough to decide.",
            }
        return {"kind": "none", "text": "No detector could judge this file, so the verdict is unknown."}
    models = ", ".join(verdict.get("models") or [])
    heuristic = verdict.get("heuristic", "")
    if isinstance(body.get("results"), dict):  # a video: the rule over the frames' verdicts
        return {
            "kind": "statistical",
            "text": f"From the sampled frames ({heuristic}, {models}): {verdict.get('reason', '')}",
        }
    judged = "the voice" if "chunk_details" in body else "the pixel"  # a recording, or an image
    return {
        "kind": "statistical",
        "text": f"No conclusive provenance; the {heuristic} heuristic over {judged} models ({models}) decided.",
    }


def _is_indicator(result: dict[str, Any]) -> bool:
    """A statistical model shown without a vote (``votes: false``)."""
    return result.get("kind") == "statistical" and result.get("votes") is False


def model_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each model's artificial score for a bar, or ``None`` with its reason when it could not judge."""
    rows = []
    for result in results:
        details = result.get("classification_details") or {}
        unknown = bool(result.get("unknown"))
        score = next((c["score"] for c in result.get("classification", []) if c.get("label") == "artificial"), None)
        rows.append(
            {
                "model": result.get("model"),
                "kind": "indicator, does not vote" if _is_indicator(result) else result.get("kind", ""),
                "unknown": unknown,
                "score": None if unknown else score,
                "reason": details.get("reason", ""),
                "version": result.get("version", ""),
            }
        )
    return rows


def _actions(manifest: dict[str, Any]) -> list[str]:
    found = []
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions") or []:
                name = str(action.get("action", "")).removeprefix("c2pa.")
                source = str(action.get("digitalSourceType") or "").rsplit("/", 1)[-1]
                found.append(f"{name} ({source})" if source else name)
    return found


def c2pa_summary(body: dict[str, Any]) -> dict[str, Any] | None:
    """The C2PA manifest in plain words: signer, generator, actions, validation, trust."""
    c2pa = body.get("c2pa")
    if not c2pa:
        return None
    result = next((r for r in _all_results(body) if r.get("model") == "c2pa"), {})
    details = result.get("classification_details") or {}
    active = (c2pa.get("manifests") or {}).get(c2pa.get("active_manifest") or "", {})
    generator_info = active.get("claim_generator_info") or []
    generator = details.get("claim_generator") or ", ".join(
        str(g.get("name", "")) + (f" {g['version']}" if g.get("version") else "") for g in generator_info
    )
    signature = active.get("signature_info") or {}
    state = c2pa.get("validation_state") or details.get("validation_state") or "Unknown"
    trusted = bool(c2pa.get("trusted", details.get("trusted", False)))
    return {
        "signer": details.get("signer") or signature.get("issuer") or signature.get("common_name") or "not stated",
        "generator": generator or "not stated",
        "title": active.get("title") or "",
        "actions": _actions(active),
        "source_types": details.get("digital_source_types") or [],
        "state": state,
        "state_raw": c2pa.get("validation_state_raw") or details.get("validation_state_raw") or state,
        "trusted": trusted,
        "failures": details.get("failure_codes") or [],
        "ai_assertion": details.get("ai_assertion"),
        "reason": details.get("reason") or "",
        "manifests": len(c2pa.get("manifests") or {}),
    }


def metadata_summary(body: dict[str, Any]) -> dict[str, Any] | None:
    """Generator or camera metadata found by the ``metadata`` detector, when there is any."""
    result = next((r for r in _all_results(body) if r.get("model") == "metadata"), None)
    if result is None:
        return None
    details = result.get("classification_details") or {}
    if not any(details.get(k) for k in ("generator", "camera", "digital_source_type", "parameters")):
        return None
    return {
        "generator": details.get("generator"),
        "source": details.get("source"),
        "parameters": details.get("parameters") or {},
        "camera": details.get("camera") or {},
        "digital_source_type": details.get("digital_source_type"),
        "reason": details.get("reason", ""),
    }


def audio_metadata_summary(body: dict[str, Any]) -> dict[str, Any] | None:
    """The synthesis tool a recording's tags name (``audio-metadata``), when they name one."""
    result = next((r for r in _all_results(body) if r.get("model") == "audio-metadata"), None)
    if result is None or result.get("unknown"):
        return None
    details = result.get("classification_details") or {}
    if not details.get("tool"):
        return None
    return {
        "tool": details["tool"],
        "source": details.get("source", ""),
        "value": details.get("value", ""),
        "others": [f for f in details.get("found") or [] if f.get("tool") != details["tool"]][:5],
        "reason": details.get("reason", ""),
    }


# --------------------------------------------------------------------------- a recording


WAVE_WIDTH = 1000
WAVE_HEIGHT = 120
QUIETEST_SCALE = 0.05
"""The waveform is scaled to its loudest peak, but never magnified more than 20 times: near
silence stays flat instead of looking like speech."""


def clock(seconds: float) -> str:
    """A time in a recording as people write it: ``0:05``, ``1:02.5``, ``1:00:00``."""
    tenths = round(seconds * 10)
    whole, tenth = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{tenth}" if tenth else text


def chunk_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Each chunk of a recording for its table row and waveform segment: when, the verdict, the
    speech model's score, and why it is unknown when it is."""
    rows = []
    for chunk in body.get("chunk_details") or []:
        verdict = chunk.get("verdict") or {}
        label = verdict_label({**chunk, "status": "done"})
        speech = next((r for r in chunk.get("results") or [] if r.get("model") == "speech"), None)
        speech_row = model_rows([speech])[0] if speech else None
        reason = ""
        if label == "unknown":
            reason = verdict.get("reason") or (speech_row or {}).get("reason") or "no model could judge this stretch"
        elif verdict.get("evidence") == "override":
            reason = "your override of the whole recording"
        elif verdict.get("evidence") == "provenance":
            reason = f"decided for the whole file: {verdict.get('reason', verdict.get('forced_by', 'provenance'))}"
        rows.append(
            {
                "index": chunk["index"],
                "start": float(chunk["start"]),
                "end": float(chunk["end"]),
                "start_clock": clock(float(chunk["start"])),
                "span": f"{clock(float(chunk['start']))}\u2013{clock(float(chunk['end']))}",
                "label": label,
                "confidence": verdict.get("confidence") if label in ("human", "artificial") else None,
                "speech_score": None if speech_row is None else speech_row["score"],
                "speech_model": speech is not None,
                "reason": reason,
            }
        )
    return rows


def waveform_picture(
    envelope: list[float] | None, duration: float | None, rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """What the result page's SVG draws: the waveform (peak envelope, mirrored about the middle)
    over one band per chunk, in ``WAVE_WIDTH`` x ``WAVE_HEIGHT`` units; ``None`` when the
    recording has no stored envelope or length."""
    if not envelope or not duration or duration <= 0:
        return None
    middle = WAVE_HEIGHT / 2
    scale = (middle - 4) / max(max(envelope), QUIETEST_SCALE)
    step = WAVE_WIDTH / len(envelope)
    top = [f"{(i + 0.5) * step:.1f},{middle - peak * scale - 0.5:.1f}" for i, peak in enumerate(envelope)]
    bottom = [f"{(i + 0.5) * step:.1f},{middle + peak * scale + 0.5:.1f}" for i, peak in enumerate(envelope)]
    path = f"M0,{middle:.1f} L" + " L".join(top) + f" L{WAVE_WIDTH},{middle:.1f} L" + " L".join(reversed(bottom)) + " Z"
    segments = [
        {
            **row,
            "x": round(row["start"] / duration * WAVE_WIDTH, 2),
            "width": round(max(0.0, min(row["end"], duration) - row["start"]) / duration * WAVE_WIDTH, 2),
        }
        for row in rows
    ]
    counts = {label: sum(1 for r in rows if r["label"] == label) for label in ("artificial", "human", "unknown")}
    described = ", ".join(f"{n} {label}" for label, n in counts.items() if n)
    summary = f"Waveform of the recording, {clock(duration)} long, in {len(rows)} chunk(s): {described or 'none'}."
    return {"width": WAVE_WIDTH, "height": WAVE_HEIGHT, "path": path, "segments": segments, "summary": summary}


def _all_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    results = body.get("results")
    if isinstance(results, list):
        return results
    frames = (results or {}).get("images") or []  # a video: the container's C2PA is on the body
    return [r for frame in frames[:1] for r in frame.get("results", [])]


def finding(body: dict[str, Any], model: str) -> dict[str, Any] | None:
    """An auxiliary model's result (``nsfw``, ``tampering``, ``morphing``) for the findings panel."""
    return next((r for r in _all_results(body) if r.get("model") == model), None)


def faces(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Face boxes with their verdicts, from ``details[0].detections`` (a recording's ``details`` holds clips)."""
    out: list[dict[str, Any]] = []
    groups = body.get("details")
    for group in groups if isinstance(groups, list) else []:
        for detection in group.get("detections") or []:
            box = detection.get("box") or {}
            verdict = detection.get("verdict") or {}
            label = "unknown" if verdict.get("unknown") or not verdict else verdict.get("classification", "unknown")
            confidence = verdict.get("confidence")
            indicator = next(
                (r for r in detection.get("results") or [] if _is_indicator(r) and not r.get("unknown")), None
            )
            indicator_score = None
            if indicator is not None:
                indicator_score = next(
                    (c["score"] for c in indicator.get("classification", []) if c.get("label") == "artificial"), None
                )
            out.append(
                {
                    "box": box,
                    "label": label,
                    "confidence": confidence,
                    "score": detection.get("score"),
                    "indicator": indicator.get("model") if indicator else None,
                    "indicator_score": indicator_score,
                }
            )
    return out


# ------------------------------------------------------------------------------------- media


def original_image(blobs: BlobStore, analysis: Analysis) -> tuple[bytes, str] | None:
    """The stored upload, upright (EXIF orientation applied, so face boxes line up), or ``None``
    when the file was not kept. Converted to PNG only when the browser could not show the original."""
    if not analysis.blob_key:
        return None
    try:
        data = blobs.get(analysis.blob_key)
    except BlobNotFoundError:
        return None
    if analysis.mime_type in ("image/jpeg", "image/png", "image/gif", "image/webp"):
        try:
            with Image.open(io.BytesIO(data)) as probe:
                orientation = probe.getexif().get(0x0112, 1)
        except Exception:
            orientation = 1
        if orientation in (None, 1):
            return data, analysis.mime_type
    try:
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
            out = io.BytesIO()
            upright.save(out, "PNG")
            return out.getvalue(), "image/png"
    except Exception:
        return None


def image_size(blobs: BlobStore, analysis: Analysis) -> tuple[int, int] | None:
    """Width and height of the upright stored image (for scaling face boxes), if kept."""
    shown = original_image(blobs, analysis)
    if shown is None:
        return None
    with Image.open(io.BytesIO(shown[0])) as image:
        return image.size


def thumbnail_key(analysis: Analysis, frame_index: int) -> str:
    return f"thumbnails/{analysis.sha256[:2]}/{analysis.id}-{frame_index}.jpg"


def thumbnail_keys(analysis: Analysis) -> list[str]:
    """Every thumbnail the dashboard may have cached for this analysis (to delete with it)."""
    if analysis.media_type != "video":
        return []
    return [thumbnail_key(analysis, int(frame["frame_index"])) for frame in analysis.results or []]


def video_thumbnail(blobs: BlobStore, analysis: Analysis, frame_index: int, timestamp: float) -> bytes | None:
    """A small JPEG of the frame at ``timestamp``, decoded from the stored video on first request
    and cached under ``thumbnails/``; ``None`` when the video is gone or cannot be decoded."""
    key = thumbnail_key(analysis, frame_index)
    try:
        return blobs.get(key)
    except BlobNotFoundError:
        pass
    if not analysis.blob_key:
        return None
    from originlens.services.dashboard_media import frame_at

    try:
        with blobs.local_path(analysis.blob_key) as path:
            image = frame_at(path, timestamp)
    except BlobNotFoundError:
        return None
    except Exception:
        return None
    if image is None:
        return None
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=80)
    data = out.getvalue()
    blobs.put(key, data)
    return data
