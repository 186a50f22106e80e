"""C2PA provenance detector: reads and validates Content Credentials with c2pa-python.

It does not look at pixels. It reads the C2PA manifest store embedded in the file, lets the
c2pa library validate it (signatures, hashes, trust anchors), and reads the IPTC
``digitalSourceType`` that the manifest declares:

* a valid manifest that declares generative AI (``trainedAlgorithmicMedia``,
  ``compositeWithTrainedAlgorithmicMedia``) scores 0.99 artificial and *forces* the verdict;
* a valid manifest that declares a capture (``digitalCapture`` and its relatives) scores
  0.05 artificial, as human evidence that never forces;
* everything else (no manifest, a valid manifest with no origin claim, an invalid manifest,
  an unreadable or remote-only manifest) is ``unknown``.

Reading is strictly offline: remote manifests, OCSP and every other fetch are disabled, and
the library's network allow-list is empty. See ``docs/c2pa.md``.

Recordings are judged too (WAV, MP3, FLAC, M4A/MP4: the audio containers c2pa-rs reads), from the
file on disk (``MediaInput.path``) so that a long recording is streamed, never held in memory.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from originlens.detectors.base import Detector, MediaInput, Prediction

log = logging.getLogger(__name__)

try:
    _C2PA_PYTHON_VERSION = metadata.version("c2pa-python")
except metadata.PackageNotFoundError:  # pragma: no cover - c2pa-python is a hard dependency
    _C2PA_PYTHON_VERSION = "unknown"

IPTC_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"

AI_SOURCE_TYPES = frozenset(
    {
        "trainedAlgorithmicMedia",  # made by a trained model (text-to-image, ...)
        "compositeWithTrainedAlgorithmicMedia",  # a composite with generative-AI elements (generative fill)
        "trainedAlgorithmicData",  # c2pa.org vocabulary: data made by a trained model
    }
)
"""Digital source types that declare generative AI. ``algorithmicMedia`` is deliberately NOT
here: IPTC defines it as "created purely by an algorithm not based on any sampled training
data" (procedural graphics, fractals); the c2pa-rs test gradients use it and are not AI."""

HUMAN_SOURCE_TYPES = frozenset(
    {
        "digitalCapture",  # camera
        "computationalCapture",  # camera with computational photography (phones)
        "negativeFilm",
        "positiveFilm",
        "print",
        "compositeCapture",  # composite of captured elements only
        "digitalArt",  # made by a person with digital tools
        "digitalCreation",  # older name of digitalArt
    }
)
"""Digital source types that claim a human origin (a capture or a person's own work)."""

AI_SCORE = 0.99
HUMAN_SCORE = 0.05

_TRUST_ONLY_CODES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})
"""Failure codes that only say "not on the trust list"; they do not make a manifest invalid."""

_MAX_INGREDIENT_DEPTH = 16
_URL_RE = re.compile(r"https?://[^\s\"'<>]+")


_C2PA_MARKERS = (b"jumb", b"c2pa", b"provenance")
"""Embedded manifests live in a JUMBF box (``jumb``) labelled ``c2pa``; a remote manifest is
linked from XMP ``dcterms:provenance``. A file with none of these bytes has no C2PA to read."""


AUDIO_MEDIA_TYPES = ("audio/mpeg", "audio/wav", "audio/flac", "audio/mp4")
"""Audio types (as ``media.audio.sniff_audio_type`` names them) whose C2PA c2pa-rs reads: MP3
(ID3 GEOB frame), WAV (RIFF ``C2PA`` chunk), FLAC and M4A (BMFF ``uuid`` box). Checked by signing
and reading each one in ``tests/unit/test_audio_provenance.py``."""

UNREAD_AUDIO_FORMATS = {
    "audio/ogg": "OGG",
    "audio/aac": "AAC (ADTS)",
    "audio/webm": "WebM",
    "audio/aiff": "AIFF",
    "audio/amr": "AMR",
    "audio/3gpp": "3GP",
}
"""Audio containers c2pa-rs 0.91 cannot read (``NotSupported``): named in the ``unknown`` reason."""


def unread_audio_reason(mime_type: str) -> str | None:
    """Why C2PA is not read from this audio type, or None when it is read."""
    if not mime_type.startswith("audio/") or mime_type in AUDIO_MEDIA_TYPES:
        return None
    label = UNREAD_AUDIO_FORMATS.get(mime_type, mime_type)
    return f"C2PA is not read from {label} files: the C2PA library does not support that format"


def might_carry_c2pa(data: bytes) -> bool:
    """Cheap pre-check (a few byte searches) that spares the library call on ordinary files."""
    return any(marker in data for marker in _C2PA_MARKERS)


class C2PADetector(Detector):
    """Reads C2PA manifests; forces ``artificial`` on a valid generative-AI assertion."""

    name = "c2pa"
    kind = "provenance"
    version = f"1.0+c2pa-python-{_C2PA_PYTHON_VERSION}"
    relevance = 1.0
    modalities = ("image", "audio")
    media_types = (
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/tiff",
        "image/x-adobe-dng",
        "image/dng",
        "image/heic",
        "image/heif",
        "image/avif",
        "image/jxl",
        "video/mp4",
        *AUDIO_MEDIA_TYPES,
    )

    def __init__(
        self,
        trust_anchors_pem_path: str | Path | None = None,
        *,
        require_trusted_to_force: bool = False,
    ) -> None:
        """``trust_anchors_pem_path``: PEM bundle of trusted root certificates (e.g. the official
        C2PA trust list). Without it every signature is at best ``Valid``, never ``Trusted``.

        ``require_trusted_to_force``: when true, a generative-AI assertion forces the verdict
        only if the signer chains to a trust anchor (``Trusted``); otherwise ``Valid`` suffices.
        """
        super().__init__()
        self._trust_anchors_path = Path(trust_anchors_pem_path) if trust_anchors_pem_path else None
        self._require_trusted = require_trusted_to_force
        self._settings_json = ""
        self._trust_anchor_count = 0
        self._trust_error: str | None = None
        self._supported: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ loading

    @staticmethod
    def offline_settings(trust_anchors_pem: str | None = None) -> dict[str, Any]:
        """c2pa-rs settings for reading: verify everything, fetch nothing."""
        settings: dict[str, Any] = {
            "version": 1,
            "verify": {
                "verify_after_reading": True,
                "verify_trust": True,
                "verify_timestamp_trust": True,
                "remote_manifest_fetch": False,
                "ocsp_fetch": False,
            },
            # An empty allow-list refuses every outbound request the library might still try
            # (remote manifests, OCSP, DID resolution for identity assertions).
            "core": {"allowed_network_hosts": []},
        }
        if trust_anchors_pem:
            settings["trust"] = {"trust_anchors": trust_anchors_pem}
        return settings

    @property
    def trust_anchor_count(self) -> int:
        """How many certificates were loaded as trust anchors (0 before loading or on error)."""
        return self._trust_anchor_count

    @property
    def trust_error(self) -> str | None:
        """Why the configured trust anchors could not be used, if they could not."""
        return self._trust_error

    def _load(self) -> None:
        import c2pa

        pem: str | None = None
        if self._trust_anchors_path is not None:
            try:
                pem = self._trust_anchors_path.read_text(encoding="utf-8")
                count = pem.count("-----BEGIN CERTIFICATE-----")
                if count == 0:
                    raise ValueError("no PEM certificate found")
                # Building a Context parses the anchors: a bad bundle fails here, not per request.
                c2pa.Context.from_json(json.dumps(self.offline_settings(pem))).close()
                self._trust_anchor_count = count
            except Exception as exc:
                self._trust_error = f"{self._trust_anchors_path}: {exc}"
                log.error("C2PA trust anchors unusable, reading without them: %s", self._trust_error)
                pem = None
        self._settings_json = json.dumps(self.offline_settings(pem))
        try:
            self._supported = frozenset(c2pa.Reader.get_supported_mime_types())
        except Exception:  # pragma: no cover - only a broken native library gets here
            self._supported = frozenset()

    # ------------------------------------------------------------------ predicting

    def accepts(self, media: MediaInput) -> bool:
        """Every audio type is taken in, so that an unreadable one is named in the reason."""
        return super().accepts(media) or media.mime_type.startswith("audio/")

    def _predict(self, media: MediaInput) -> Prediction:
        unread = unread_audio_reason(media.mime_type)
        if unread:
            return self.unknown(unread)
        if not media.data and media.path:  # recordings: streamed from disk, never read whole
            return self._predict_path(Path(media.path), media.mime_type)
        if not media.data and media.mime_type.startswith("audio/"):
            return self.unknown("C2PA not read: the recording's file was not available")
        if not might_carry_c2pa(media.data):
            return self.unknown("no C2PA manifest")
        try:
            store = self._read(media)
        except Exception as exc:
            return self._read_error(exc)
        if store is None:
            return self.unknown("no C2PA manifest")
        try:
            return self._judge(store)
        except Exception as exc:  # a manifest shape we did not expect: never fail the request
            log.exception("C2PA manifest could not be interpreted")
            return self.unknown_because("C2PA manifest could not be interpreted", exc)

    def predict_file(self, path: Path, mime_type: str) -> Prediction:
        """Judge a file on disk by streaming it to the library (videos: never read into memory)."""
        started = time.perf_counter()
        unread = unread_audio_reason(mime_type)
        if unread:
            return self.unknown(unread)
        if not mime_type.startswith(self.media_types):
            return self.unknown(f"c2pa does not read {mime_type}")
        self.load()
        prediction = self._predict_path(Path(path), mime_type)
        return replace(prediction, elapsed_time=round(time.perf_counter() - started, 6))

    def _predict_path(self, path: Path, mime_type: str) -> Prediction:
        try:
            with path.open("rb") as handle:
                store = self._read_stream(handle, mime_type)
        except Exception as exc:
            return self._read_error(exc)
        if store is None:
            return self.unknown("no C2PA manifest")
        try:
            return self._judge(store)
        except Exception as exc:
            log.exception("C2PA manifest could not be interpreted")
            return self.unknown_because("C2PA manifest could not be interpreted", exc)

    def _read(self, media: MediaInput) -> dict[str, Any] | None:
        if not media.data:
            raise ValueError("empty input")
        return self._read_stream(io.BytesIO(media.data), media.mime_type)

    def _read_stream(self, stream: Any, mime_type: str) -> dict[str, Any] | None:
        """The manifest store as c2pa's JSON, or None when the file carries no C2PA data.

        Every c2pa object (Context, Reader, stream) is created and closed here, per call, so
        concurrent predictions share nothing native.
        """
        import c2pa

        fmt = mime_type if mime_type in self._supported else None
        with c2pa.Context.from_json(self._settings_json) as context:
            reader = c2pa.Reader.try_create(fmt, stream, None, context)
            if reader is None:
                return None
            with reader:
                store = json.loads(reader.json())
                if not isinstance(store, dict):
                    raise ValueError("C2PA reader returned no JSON object")
                if not store.get("validation_state"):
                    store["validation_state"] = reader.get_validation_state()
        return store

    def _read_error(self, exc: Exception) -> Prediction:
        message = str(exc).strip() or type(exc).__name__
        kind = type(exc).__name__.lstrip("_").removeprefix("C2pa")
        # The native library reports remote manifests as "Remote: ..." which c2pa-python 0.38 does
        # not map to C2paError.RemoteManifest, so look at both the class and the message.
        if kind == "RemoteManifest" or message.startswith(("Remote:", "RemoteManifest")):
            url = _URL_RE.search(message)
            details: dict[str, Any] = {"error": "remote_manifest"}
            if url:
                details["remote_manifest_url"] = url.group(0).rstrip(".,;)\"'")
            return self.unknown(
                "C2PA manifest is remote (not embedded) and is not fetched: remote fetching is disabled",
                **details,
            )
        if kind == "ManifestNotFound":
            return self.unknown("no C2PA manifest")
        return self.unknown(f"C2PA data could not be read: {message[:300]}", error=kind or "error")

    def _judge(self, store: dict[str, Any]) -> Prediction:
        raw_state = str(store.get("validation_state") or "Unknown")
        state = {"Trusted": "Valid", "Valid": "Valid", "Invalid": "Invalid"}.get(raw_state, "Unknown")
        trusted = raw_state == "Trusted"
        evidence = build_evidence(store, state=state, raw_state=raw_state, trusted=trusted)

        raw_manifests = store.get("manifests")
        manifests: dict[str, Any] = raw_manifests if isinstance(raw_manifests, dict) else {}
        active_label = store.get("active_manifest")
        found = manifests.get(active_label) if isinstance(active_label, str) else None
        active: dict[str, Any] | None = found if isinstance(found, dict) else None

        own_types = _unique(declared_source_types(active)) if active else []
        ingredient_types = _unique(self._ingredient_source_types(active, manifests)) if active else []
        failure_codes = collect_failure_codes(store)

        ai_own = [t for t in own_types if t in AI_SOURCE_TYPES]
        ai_ingredients = [t for t in ingredient_types if t in AI_SOURCE_TYPES]
        ai_assertion = bool(ai_own or ai_ingredients)
        human_claim = any(t in HUMAN_SOURCE_TYPES for t in own_types)

        details: dict[str, Any] = {
            "validation_state": state,
            "validation_state_raw": raw_state,
            "trusted": trusted,
            "ai_assertion": ai_assertion,
            "digital_source_types": own_types,
        }
        if ingredient_types:
            details["ingredient_digital_source_types"] = ingredient_types
        generator = claim_generator_name(active)
        if generator:
            details["claim_generator"] = generator
        signer = _signer_name(active)
        if signer:
            details["signer"] = signer
        if failure_codes:
            details["failure_codes"] = failure_codes
        if active is None:
            details["active_manifest_missing"] = True

        def result(artificial: float, reason: str, *, unknown: bool = False, forces: bool = False) -> Prediction:
            details["reason"] = reason
            return Prediction(
                model=self.name,
                artificial=artificial,
                unknown=unknown,
                details=details,
                forces="artificial" if forces else None,
                evidence=evidence,
            )

        if state == "Invalid":
            codes = [c for c in failure_codes if c not in _TRUST_ONLY_CODES] or failure_codes
            return result(
                0.5,
                "C2PA manifest is invalid (" + (", ".join(codes) or "no failure code") + "); it is not used",
                unknown=True,
            )
        if state != "Valid":
            return result(0.5, f"C2PA validation state is {raw_state}; the manifest is not used", unknown=True)
        if active is None:
            return result(0.5, "C2PA active manifest is missing from the store", unknown=True)

        if ai_assertion:
            where = "the active manifest" if ai_own else "an ingredient's manifest"
            types = ", ".join(ai_own or ai_ingredients)
            if self._require_trusted and not trusted:
                return result(
                    AI_SCORE,
                    f"valid but untrusted C2PA manifest: {where} declares generative AI ({types}); "
                    "not forced because the signer is not on the trust list",
                )
            details["ai_assertion_source"] = "active_manifest" if ai_own else "ingredient"
            return result(
                AI_SCORE, f"{raw_state.lower()} C2PA manifest: {where} declares generative AI ({types})", forces=True
            )
        if human_claim:
            types = ", ".join(t for t in own_types if t in HUMAN_SOURCE_TYPES)
            return result(HUMAN_SCORE, f"{raw_state.lower()} C2PA manifest declares a human origin ({types})")
        if own_types:
            return result(
                0.5,
                "C2PA manifest declares neither generative AI nor a capture (" + ", ".join(own_types) + ")",
                unknown=True,
            )
        return result(0.5, "C2PA manifest is valid but declares no digital source type", unknown=True)

    @staticmethod
    def _ingredient_source_types(active: dict[str, Any], manifests: dict[str, Any]) -> list[str]:
        """Source types declared by the manifests of parent and component ingredients, recursively.

        An asset edited from, or composited with, an AI-made ingredient is itself partly AI-made
        even when the editor's own actions do not repeat the claim. Ingredients whose own
        validation failed (beyond trust) are skipped.
        """
        found: list[str] = []
        seen: set[str] = set()
        stack: list[tuple[dict[str, Any], int]] = [(active, 0)]
        while stack:
            manifest, depth = stack.pop()
            if depth >= _MAX_INGREDIENT_DEPTH:
                continue
            for ingredient in _dicts(manifest.get("ingredients")):
                if ingredient.get("relationship") not in ("parentOf", "componentOf"):
                    continue
                label = ingredient.get("active_manifest")
                if not isinstance(label, str) or label in seen:
                    continue
                seen.add(label)
                if _ingredient_failed(ingredient):
                    continue
                child = manifests.get(label)
                if isinstance(child, dict):
                    found.extend(declared_source_types(child))
                    stack.append((child, depth + 1))
        return found


# ---------------------------------------------------------------------- manifest reading helpers


def short_source_type(value: str) -> str:
    """``http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture`` → ``digitalCapture``."""
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def declared_source_types(manifest: dict[str, Any] | None) -> list[str]:
    """Every digital source type a manifest's assertions declare, as short IPTC names.

    Looks at any key named ``digitalSourceType`` (any prefix or case, e.g. the action field,
    Adobe's ``com.adobe.digitalSourceType`` action parameter, or ``Iptc4xmpExt:DigitalSourceType``
    in an IPTC metadata assertion) anywhere inside the assertion data.
    """
    if not manifest:
        return []
    found: list[str] = []
    for assertion in _dicts(manifest.get("assertions")):
        _walk_source_types(assertion.get("data"), found, 0)
    return found


def _walk_source_types(node: Any, found: list[str], depth: int) -> None:
    if depth > 32:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and re.split(r"[.:]", key)[-1].lower() == "digitalsourcetype":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item.strip():
                        found.append(short_source_type(item))
                    elif isinstance(item, dict):  # XMP-style {"@id": uri}
                        uri = item.get("@id") or item.get("id")
                        if isinstance(uri, str) and uri.strip():
                            found.append(short_source_type(uri))
            else:
                _walk_source_types(value, found, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _walk_source_types(item, found, depth + 1)


def collect_failure_codes(store: dict[str, Any]) -> list[str]:
    """Failure codes of the whole store: active manifest, ingredient deltas and status list."""
    codes: list[str] = []
    results = store.get("validation_results")
    if isinstance(results, dict):
        active = results.get("activeManifest")
        if isinstance(active, dict):
            codes.extend(_codes(active.get("failure")))
        for delta in _dicts(results.get("ingredientDeltas")):
            deltas = delta.get("validationDeltas")
            if isinstance(deltas, dict):
                codes.extend(_codes(deltas.get("failure")))
    codes.extend(_codes(store.get("validation_status")))
    return _unique(codes)


def claim_generator_name(manifest: dict[str, Any] | None) -> str | None:
    if not manifest:
        return None
    for info in _dicts(manifest.get("claim_generator_info")):
        name = info.get("name")
        if isinstance(name, str) and name:
            version = info.get("version")
            return f"{name} {version}" if isinstance(version, str | int | float) and version != "" else name
    generator = manifest.get("claim_generator")
    return generator if isinstance(generator, str) and generator else None


def _signer_name(manifest: dict[str, Any] | None) -> str | None:
    if not manifest or not isinstance(manifest.get("signature_info"), dict):
        return None
    info = manifest["signature_info"]
    parts = [info.get("common_name"), info.get("issuer")]
    names = [p for p in parts if isinstance(p, str) and p]
    return " / ".join(_unique(names)) or None


def _ingredient_failed(ingredient: dict[str, Any]) -> bool:
    codes = _codes(ingredient.get("validation_status"))
    results = ingredient.get("validation_results")
    if isinstance(results, dict) and isinstance(results.get("activeManifest"), dict):
        codes.extend(_codes(results["activeManifest"].get("failure")))
    return any(code not in _TRUST_ONLY_CODES for code in codes)


def _codes(items: Any) -> list[str]:
    return [str(item["code"]) for item in _dicts(items) if item.get("code")]


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------- evidence (schema shaping)

_STR = "string"
_OBJ = "object"
_DROP = object()
_MANIFEST_SHAPE: dict[str, Any] = {
    "label": _STR,
    "title": _STR,
    "instance_id": _STR,
    "assertions": [{"label": _STR, "data": _OBJ}],
    "ingredients": [
        {
            "label": _STR,
            "title": _STR,
            "format": _STR,
            "relationship": _STR,
            "active_manifest": _STR,
            "validation_results": _OBJ,
        }
    ],
    "signature_info": {"alg": _STR, "issuer": _STR, "common_name": _STR, "cert_serial_number": _STR},
    "claim_generator_info": [{"name": _STR}],
}
_STATUS_SHAPE: list[Any] = [{"url": _STR, "code": _STR, "explanation": _STR}]
_RESULTS_SHAPE: dict[str, Any] = {
    "activeManifest": {"failure": [_OBJ], "success": [_OBJ], "informational": [_OBJ]},
    "ingredientDeltas": [_OBJ],
}


def _conform(value: Any, shape: Any) -> Any:
    """Coerce ``value`` to the typed keys of ``shape``; returns ``_DROP`` to leave it out.

    Strings: None is dropped, numbers and booleans become strings. Objects: a non-object
    becomes ``{"value": ...}``. Arrays: a non-array is dropped, items are conformed one by
    one. Keys the shape does not name are kept as they are (extra keys are allowed).
    """
    if value is None:
        return _DROP
    if shape == _STR:
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return str(value)
        return _DROP
    if shape == _OBJ:
        return value if isinstance(value, dict) else {"value": value}
    if isinstance(shape, list):
        if not isinstance(value, list):
            return _DROP
        items = [_conform(item, shape[0]) for item in value]
        return [item for item in items if item is not _DROP]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return _DROP
        out: dict[str, Any] = {}
        for key, item in value.items():
            conformed = _conform(item, shape[key]) if key in shape else item
            if conformed is not _DROP:
                out[key] = conformed
        return out
    return value  # pragma: no cover - shapes are only the ones above


def build_evidence(store: dict[str, Any], *, state: str, raw_state: str, trusted: bool) -> dict[str, Any]:
    """The ``c2pa`` object of the response, shaped like the vendor's ``C2PA`` schema."""
    manifests: dict[str, Any] = {}
    raw_manifests = store.get("manifests")
    if isinstance(raw_manifests, dict):
        for label, manifest in raw_manifests.items():
            conformed = _conform(manifest, _MANIFEST_SHAPE)
            if conformed is _DROP:
                continue
            conformed.setdefault("label", str(label))
            manifests[str(label)] = conformed

    evidence: dict[str, Any] = {"manifests": manifests}
    active = store.get("active_manifest")
    if isinstance(active, str) and active:
        evidence["active_manifest"] = active
    evidence["validation_state"] = state
    evidence["validation_state_raw"] = raw_state
    evidence["trusted"] = trusted
    status = _conform(store.get("validation_status"), _STATUS_SHAPE)
    evidence["validation_status"] = [] if status is _DROP else status
    results = _conform(store.get("validation_results"), _RESULTS_SHAPE)
    if results is not _DROP:
        evidence["validation_results"] = results
    # Round-trip through JSON: guarantees the evidence is plain, serialisable data.
    loaded: dict[str, Any] = json.loads(json.dumps(evidence, default=str))
    return loaded
