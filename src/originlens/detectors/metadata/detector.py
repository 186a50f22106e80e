"""Generator-metadata provenance detector: reads what generators and cameras write into files.

It does not judge pixels. It reads PNG text chunks, EXIF, XMP and IPTC (and, for lossless
images with no other generator metadata, the "stealth" LSB payload) and reports:

* conclusive generator metadata (AUTOMATIC1111/Forge/Fooocus parameters, ComfyUI graphs,
  InvokeAI and NovelAI metadata, Midjourney job descriptions, IPTC DigitalSourceType
  ``trainedAlgorithmicMedia`` / ``compositeWithTrainedAlgorithmicMedia``, GB 45438-2025
  AIGC Label 1, a generator named in a software field): artificial 0.99, forcing the verdict;
* an AIGC label that only says "possibly" or "suspected" (Label 2 or 3): 0.8, not forced;
* camera EXIF or a capture DigitalSourceType alone: 0.3, weak evidence of a photograph,
  never forced;
* nothing: ``unknown``; metadata is easily stripped, so its absence proves nothing.

Hostile input is bounded everywhere (see ``containers``, ``xmp``, ``parsers``, ``stealth``);
``_predict`` never raises. See ``docs/metadata.md``.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.metadata.containers import Field, RawMetadata, read_containers, read_iim
from originlens.detectors.metadata.exif import format_exposure, parse_exif
from originlens.detectors.metadata.parsers import (
    RANK_PARAMETERS,
    RANK_SOURCE_TYPE,
    Finding,
    Scan,
    clean_parameters,
    find_generators,
    load_json,
)
from originlens.detectors.metadata.stealth import MAX_PIXELS, read_stealth
from originlens.detectors.metadata.xmp import parse_xmp

log = logging.getLogger(__name__)

AI_SCORE = 0.99
POSSIBLE_AI_SCORE = 0.8
CAMERA_SCORE = 0.3

AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "trainedAlgorithmicData"}
)
"""IPTC digital source types that declare generative AI (``algorithmicMedia`` is procedural, not AI)."""
HUMAN_SOURCE_TYPES = frozenset(
    {
        "digitalCapture",
        "computationalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "compositeCapture",
        "digitalArt",
        "digitalCreation",
    }
)
"""IPTC digital source types that claim a capture or a person's own work (weak human evidence)."""
_AI_LOWER = {t.lower(): t for t in AI_SOURCE_TYPES}
_HUMAN_LOWER = {t.lower(): t for t in HUMAN_SOURCE_TYPES}

_SUMMARY_KEYS = (
    ("steps", "Steps"),
    ("sampler", "Sampler"),
    ("model", "Model"),
    ("label", None),
    ("job_id", "Job ID"),
)


class MetadataDetector(Detector):
    """Reads generator and camera metadata; forces ``artificial`` on conclusive generator metadata."""

    name = "metadata"
    kind = "provenance"
    version = "1.0"
    relevance = 0.9
    media_types = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/tiff")

    def _predict(self, media: MediaInput) -> Prediction:
        try:
            return self._judge(media)
        except Exception as exc:  # a shape nobody expected: never fail the job
            log.exception("metadata could not be read")
            return self.unknown_because("metadata could not be read", exc)

    # ------------------------------------------------------------------ reading

    def _judge(self, media: MediaInput) -> Prediction:
        if not media.data:
            return self.unknown("empty input")
        raw = read_containers(media.data)
        notes: list[str] = []
        fields: list[Field] = list(raw.fields)
        camera: dict[str, Any] = {}
        source_types: list[tuple[str, str]] = []

        xmp_blobs = list(raw.xmp)
        iptc_blobs = list(raw.iptc)
        for source, blob in raw.exif:
            try:
                info = parse_exif(blob, source)
            except Exception:
                notes.append(f"{source}: EXIF could not be read (damaged)")
                continue
            for src, key, text in info.fields:
                _add(raw, fields, src, key, text)
            for key, value in info.camera.items():
                camera.setdefault(key, value)
            if info.xmp:
                xmp_blobs.append((f"{source} XMP tag", info.xmp))
            if info.iptc:
                iptc_blobs.append((f"{source} IPTC tag", info.iptc))
        for _source, blob in iptc_blobs:
            for key, text in read_iim(blob):
                _add(raw, fields, f"IPTC {key}", key, text)
        xmp_camera: dict[str, str] = {}
        for source, blob in xmp_blobs[:4]:
            xmp = parse_xmp(blob, source)
            if xmp.error:
                notes.append(xmp.error)
            for src, key, text in xmp.fields:
                _add(raw, fields, src, key, text)
            source_types.extend(xmp.digital_source_types)
            for key, value in xmp.camera.items():
                xmp_camera.setdefault(key, value)
        if not camera.get("make") and not camera.get("model") and (xmp_camera.get("make") or xmp_camera.get("model")):
            camera = {**xmp_camera, "from": "XMP"}

        scan = find_generators(fields)
        self._source_types(scan, source_types)
        if not any(f.conclusive for f in scan.findings):
            self._stealth(media, raw, scan, notes)
        return self._result(scan, camera, source_types, [*raw.notes, *notes, *scan.notes])

    @staticmethod
    def _source_types(scan: Scan, source_types: list[tuple[str, str]]) -> None:
        for source, value in source_types:
            short = _short_type(value)
            canonical = _AI_LOWER.get(short.lower())
            if canonical:
                scan.findings.append(Finding(f"generative AI ({canonical})", source, RANK_SOURCE_TYPE, what="declares"))
        scan.findings.sort(key=lambda f: f.rank)

    def _stealth(self, media: MediaInput, raw: RawMetadata, scan: Scan, notes: list[str]) -> None:
        """Look for a stealth LSB payload in lossless images that can carry one."""
        modes: tuple[str, ...]
        if raw.container == "png" or (raw.container == "webp" and raw.webp_lossless):
            modes = ("alpha", "rgb")
        elif raw.container == "webp" and raw.webp_alpha:
            modes = ("alpha",)  # lossy colour, but the alpha plane may be lossless
        else:
            return
        try:
            image = media.decoded
            if image is None:
                from PIL import Image

                with Image.open(io.BytesIO(media.data)) as probe:
                    width, height = probe.size
                    bands = probe.getbands()
                if width * height > MAX_PIXELS:
                    notes.append(f"image above {MAX_PIXELS} pixels: stealth LSB payload not searched")
                    return
                if "A" not in bands and bands[:3] != ("R", "G", "B"):
                    return
                image = media.image()
            payload = read_stealth(image, modes)
        except Exception:
            notes.append("stealth LSB payload not searched: the pixels could not be read")
            return
        if payload is None:
            return
        where = "alpha" if payload.mode == "alpha" else "RGB"
        source = f"{where}-channel LSB payload ({payload.magic})"
        if payload.truncated:
            notes.append(f"{source} cut at the size cap")
        fields: list[Field] = []
        obj = None
        try:
            obj = load_json(payload.text)
        except ValueError:
            notes.append(f"{source}: JSON nested too deep; read as text")
        if isinstance(obj, dict):
            for key, value in list(obj.items())[:64]:
                text = value if isinstance(value, str) else None
                if isinstance(value, dict | list):
                    text = _dump(value)
                if text:
                    fields.append(Field(f"{source} '{key}'", str(key), text, payload.truncated))
        else:
            fields.append(Field(source, "parameters", payload.text, payload.truncated))
        hidden = find_generators(fields)
        scan.notes.extend(hidden.notes)
        if hidden.findings:
            scan.findings[:0] = hidden.findings
        else:
            # The magic itself is written only by these generators' stealth savers.
            scan.findings.insert(0, Finding("NovelAI or AUTOMATIC1111 stealth-pnginfo", source, RANK_PARAMETERS))
        scan.findings.sort(key=lambda f: f.rank)

    # ------------------------------------------------------------------ judging

    def _result(
        self,
        scan: Scan,
        camera: dict[str, Any],
        source_types: list[tuple[str, str]],
        notes: list[str],
    ) -> Prediction:
        details: dict[str, Any] = {}
        dst_values = _unique([_short_type(v) for _, v in source_types])
        if dst_values:
            details["digital_source_type"] = dst_values[0] if len(dst_values) == 1 else dst_values
        camera_info = _camera(camera)
        if camera_info:
            details["camera"] = camera_info
        if notes:
            details["notes"] = _unique(notes)[:20]

        conclusive = [f for f in scan.findings if f.conclusive]
        possible = [f for f in scan.findings if not f.conclusive]
        if conclusive or possible:
            best = (conclusive or possible)[0]
            details["generator"] = best.generator
            details["source"] = best.source
            params = _best_parameters(best, scan.findings)
            if params:
                details["parameters"] = params
            signals = _unique_signals(scan.findings)
            if len(signals) > 1:
                details["signals"] = signals
            reason = f"{best.source} {best.what} {best.generator}{_summary(params)}"
            if best.rank == RANK_SOURCE_TYPE:
                # A bare "generative AI" claim: name the generator when another field does.
                named = next((f for f in scan.findings if f.rank > RANK_SOURCE_TYPE and f.conclusive), None)
                if named is not None:
                    details["generator"] = named.generator
                    reason += f"; {named.source} {named.what} {named.generator}"
            if camera_info:
                reason += f"; camera EXIF ({camera_info['name']}) is also present"
            details["reason"] = reason
            if conclusive:
                return Prediction(model=self.name, artificial=AI_SCORE, details=details, forces="artificial")
            return Prediction(model=self.name, artificial=POSSIBLE_AI_SCORE, details=details)

        human_types = [_HUMAN_LOWER[t.lower()] for t in dst_values if t.lower() in _HUMAN_LOWER]
        if camera_info and human_types:
            details["reason"] = (
                f"camera EXIF ({camera_info['name']}) and XMP DigitalSourceType {human_types[0]} "
                "are weak evidence of a photograph"
            )
        elif camera_info:
            details["reason"] = f"camera EXIF ({camera_info['name']}) is weak evidence of a photograph"
        elif human_types:
            details["reason"] = f"XMP DigitalSourceType {human_types[0]} is weak evidence of a human origin"
        if camera_info or human_types:
            return Prediction(model=self.name, artificial=CAMERA_SCORE, details=details)

        if dst_values:
            return self.unknown(
                f"XMP DigitalSourceType {dst_values[0]} declares neither generative AI nor a capture",
                **details,
            )
        return self.unknown("no generator or camera metadata", **details)


# ---------------------------------------------------------------------- helpers


def _add(raw: RawMetadata, fields: list[Field], source: str, key: str, text: str) -> None:
    taken = raw.budget.take(text)
    if taken is None:
        raw.note("text budget spent; later fields were not read")
        return
    value, cut = taken
    fields.append(Field(source, key, value, cut))


def _short_type(value: str) -> str:
    return value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1][:100]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _dump(value: Any) -> str | None:
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return None


def _camera(camera: dict[str, Any]) -> dict[str, Any]:
    make = str(camera.get("make") or "").strip()
    model = str(camera.get("model") or "").strip()
    if not make and not model:
        return {}
    # "Canon" + "Canon EOS 5D" reads better as "Canon EOS 5D".
    repeats_make = bool(make) and model.lower().startswith(make.split()[0].lower())
    name = model if repeats_make else f"{make} {model}".strip()
    info: dict[str, Any] = {"name": name}
    for key in ("make", "model", "lens_model", "datetime_original", "f_number", "iso", "focal_length", "from"):
        value = camera.get(key)
        if value not in (None, ""):
            info[key] = value
    exposure = camera.get("exposure_time")
    if isinstance(exposure, int | float) and exposure > 0:
        info["exposure_time"] = format_exposure(float(exposure))
    elif isinstance(exposure, str) and exposure:
        info["exposure_time"] = exposure
    return clean_parameters(info)


def _best_parameters(best: Finding, findings: list[Finding]) -> dict[str, Any]:
    """The headline finding's parameters, completed from others by the same generator."""
    params = dict(best.parameters)
    for other in findings:
        if other is not best and other.generator == best.generator:
            for key, value in other.parameters.items():
                params.setdefault(key, value)
    return params


def _unique_signals(findings: list[Finding]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        seen.setdefault((f.generator, f.source), {"generator": f.generator, "source": f.source})
        if len(seen) >= 10:
            break
    return list(seen.values())


def _summary(params: dict[str, Any]) -> str:
    parts = []
    for key, label in _SUMMARY_KEYS:
        value = params.get(key)
        if value in (None, "") or label is None:
            continue
        text = str(value)
        parts.append(f"{label} {text[:60] + '…' if len(text) > 60 else text}")
    return f" ({', '.join(parts)})" if parts else ""
