"""The C2PA provenance detector against the real C2PA files of the shared evaluation set.

Expectations come from ``shared/eval/MANIFEST.csv`` (the ``c2pa=...`` note of each file), not
from the detector, so a change in behaviour makes these tests fail. A few signed files are
also made on the fly with a throw-away certificate authority, to exercise ``Trusted`` and
provenance chains that the shared set does not contain.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from originlens.detectors.base import MediaInput, Prediction
from originlens.detectors.c2pa_reader import (
    _MANIFEST_SHAPE,
    AI_SCORE,
    HUMAN_SCORE,
    C2PADetector,
    _conform,
    build_evidence,
)
from tests.support.c2pa_pki import Pki, make_pki
from tests.support.schema import assert_valid
from tests.support.shared_data import EVAL, REPO, SHARED, SPEC, TRUST_LIST
from tests.support.shared_data import MIME_BY_EXT as SHARED_MIME_BY_EXT

MODULE = REPO / "src" / "originlens" / "detectors" / "c2pa_reader.py"

pytestmark = pytest.mark.skipif(
    not (EVAL / "MANIFEST.csv").is_file() or not SPEC.is_file() or not TRUST_LIST.is_file(),
    reason=f"shared evaluation data not found beside the repository ({SHARED})",
)

MIME_BY_EXT = {**SHARED_MIME_BY_EXT, ".mp4": "video/mp4"}


@dataclass(frozen=True)
class Case:
    file: str
    label: str
    expect: str
    """The manifest note after ``c2pa=``: ``Valid``, ``Valid AI-assertion``, ``Invalid [codes]``,
    ``error:Remote``, ``error:Other`` or ``none``."""

    @property
    def path(self) -> Path:
        return EVAL / self.file

    @property
    def kind(self) -> str:
        return self.expect.split(" ", 1)[0].split(":", 1)[0] if not self.expect.startswith("Valid AI") else "AI"

    @property
    def failure_codes(self) -> list[str]:
        match = re.search(r"\[([^\]]*)\]", self.expect)
        return [code.strip() for code in match.group(1).split(",") if code.strip()] if match else []


def _cases() -> list[Case]:
    manifest = EVAL / "MANIFEST.csv"
    if not manifest.is_file():
        return []
    cases = []
    with manifest.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if not row["file"].startswith("c2pa/"):
                continue
            match = re.search(r"c2pa=([^;]*)$", row["notes"].strip())
            assert match, f"no c2pa= note for {row['file']}"
            cases.append(Case(row["file"], row["label"], match.group(1).strip()))
    return cases


CASES = _cases()


def _media(path: Path) -> MediaInput:
    return MediaInput(path.read_bytes(), MIME_BY_EXT[path.suffix.lower()], path.name)


@pytest.fixture(scope="module")
def detector() -> C2PADetector:
    d = C2PADetector(TRUST_LIST)
    d.load()
    return d


@pytest.fixture(scope="module")
def results(detector: C2PADetector) -> dict[str, Prediction]:
    return {case.file: detector.predict(_media(case.path)) for case in CASES}


def _check_evidence(prediction: Prediction) -> dict[str, Any]:
    evidence = prediction.evidence
    assert evidence is not None
    json.dumps(evidence)  # plain JSON data
    assert_valid(SPEC, "C2PA", evidence)
    assert isinstance(evidence["manifests"], dict) and evidence["manifests"]
    assert evidence["validation_state"] == prediction.details["validation_state"]
    return evidence


# ---------------------------------------------------------------------------- the shared set


def test_manifest_lists_every_kind() -> None:
    kinds = [case.kind for case in CASES]
    assert kinds.count("AI") == 2, "expected the two AI-asserting files"
    assert kinds.count("Valid") >= 10
    assert kinds.count("Invalid") >= 10
    assert kinds.count("error") >= 3
    assert kinds.count("none") >= 1
    assert all(case.path.is_file() for case in CASES)


def test_loads_the_official_trust_list(detector: C2PADetector) -> None:
    assert detector.trust_error is None
    assert detector.trust_anchor_count == 10
    assert detector.version.startswith("1.0+c2pa-python-0.")
    assert detector.relevance == 1.0


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "AI"], ids=lambda c: c.file)
def test_ai_assertion_forces_artificial(case: Case, results: dict[str, Prediction]) -> None:
    p = results[case.file]
    assert case.label == "artificial"
    assert p.unknown is False
    assert p.forces == "artificial"
    assert p.artificial == AI_SCORE and p.label == "artificial"
    assert p.details["ai_assertion"] is True
    assert p.details["validation_state"] == "Valid"
    assert set(p.details["digital_source_types"]) & {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
    }
    assert _check_evidence(p)["validation_state"] == "Valid"


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "Valid"], ids=lambda c: c.file)
def test_valid_human_file_is_not_forced(case: Case, results: dict[str, Prediction]) -> None:
    p = results[case.file]
    assert case.label == "human"
    assert p.forces is None
    assert p.unknown or p.artificial < 0.5
    assert p.label == "human"
    assert p.details["ai_assertion"] is False
    assert p.details["validation_state"] == "Valid"
    evidence = _check_evidence(p)
    assert evidence["active_manifest"] in evidence["manifests"]
    # The official list does not hold these test and Adobe signers: valid, not trusted.
    assert evidence["trusted"] is False and evidence["validation_state_raw"] == "Valid"


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "Invalid"], ids=lambda c: c.file)
def test_invalid_manifest_is_unknown_with_its_failure_codes(case: Case, results: dict[str, Prediction]) -> None:
    p = results[case.file]
    assert p.unknown is True
    assert p.forces is None
    assert p.details["validation_state"] == "Invalid"
    assert case.failure_codes, f"no failure code listed for {case.file}"
    for code in case.failure_codes:
        assert code in p.details["failure_codes"], (code, p.details)
        assert code in p.details["reason"]
    evidence = _check_evidence(p)
    assert evidence["validation_state"] == "Invalid"


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "error"], ids=lambda c: c.file)
def test_unreadable_manifest_is_unknown_and_fast(case: Case, detector: C2PADetector) -> None:
    started = time.perf_counter()
    p = detector.predict(_media(case.path))
    assert time.perf_counter() - started < 1.5
    assert p.unknown is True and p.forces is None and p.evidence is None
    if case.expect == "error:Remote":
        assert p.details["error"] == "remote_manifest"
        assert "remote" in p.details["reason"].lower()
        assert p.details["remote_manifest_url"].startswith("http")
    else:
        assert p.details["reason"].startswith("C2PA data could not be read")


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "none"], ids=lambda c: c.file)
def test_file_without_c2pa_is_unknown(case: Case, results: dict[str, Prediction]) -> None:
    p = results[case.file]
    assert p.unknown is True and p.evidence is None and p.forces is None
    assert p.details == {"reason": "no C2PA manifest"}


def test_digital_capture_claim_is_human_evidence(results: dict[str, Prediction]) -> None:
    p = results["c2pa/c2pa-rs/C_with_CAWG_data.jpg"]
    assert p.unknown is False and p.forces is None
    assert p.artificial == HUMAN_SCORE
    assert p.details["digital_source_types"] == ["digitalCapture"]


def test_algorithmic_media_is_not_an_ai_assertion(results: dict[str, Prediction]) -> None:
    # IPTC algorithmicMedia = made by an algorithm without training data (the test gradient).
    p = results["c2pa/c2pa-rs/C.jpg"]
    assert p.details["digital_source_types"] == ["algorithmicMedia"]
    assert p.unknown is True and p.forces is None and p.details["ai_assertion"] is False


def test_vendor_parameter_source_type_is_read(results: dict[str, Prediction]) -> None:
    # Firefly's third-party model files carry the type only as com.adobe.digitalSourceType.
    p = results["c2pa/c2pa-js/firefly_thirdparty_gemini.png"]
    assert p.details["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert p.details["ai_assertion_source"] == "active_manifest"


def test_details_are_small(results: dict[str, Prediction]) -> None:
    for file, p in results.items():
        assert len(json.dumps(p.details)) < 1500, file


def test_plain_images_have_no_c2pa(detector: C2PADetector) -> None:
    real = sorted(p for p in (EVAL / "real").rglob("*") if p.suffix.lower() in MIME_BY_EXT)[:5]
    assert real, "no plain image in shared/eval/real"
    media = [_media(p) for p in real]
    for fmt, mime in [("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp"), ("TIFF", "image/tiff")]:
        out = io.BytesIO()
        Image.new("RGB", (16, 12), (30, 60, 90)).save(out, format=fmt)
        media.append(MediaInput(out.getvalue(), mime, f"plain.{fmt.lower()}"))
    for m in media:
        p = detector.predict(m)
        assert p.unknown is True and p.evidence is None and p.forces is None, m.name
        assert p.details["reason"] == "no C2PA manifest", m.name


def test_broken_input_never_raises(detector: C2PADetector) -> None:
    signed = (EVAL / "c2pa/c2pa-rs/C.jpg").read_bytes()
    for data, mime in [
        (signed[: len(signed) // 3], "image/jpeg"),
        (b"\xff\xd8\xff" + b"x" * 64, "image/jpeg"),
        (b"", "image/png"),
        (b"\x00" * 32, "video/mp4"),
    ]:
        p = detector.predict(MediaInput(data, mime))
        assert p.unknown is True and p.evidence is None and p.forces is None
        assert p.details["reason"]


def test_unjudged_media_type() -> None:
    d = C2PADetector()
    for mime in ("image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/x-adobe-dng", "video/mp4"):
        assert d.accepts(MediaInput(b"", mime))
    p = d.predict(MediaInput(b"\x1a\x45\xdf\xa3", "video/webm"))
    assert p.unknown is True and not d.loaded
    # recordings are judged (tests/unit/test_audio_provenance.py); one it cannot read says which format
    p = d.predict(MediaInput(b"OggS", "audio/ogg"))
    assert p.unknown is True and p.details["reason"].startswith("C2PA is not read from OGG files")


def test_settings_are_offline() -> None:
    settings = C2PADetector.offline_settings("PEM")
    assert settings["verify"]["remote_manifest_fetch"] is False
    assert settings["verify"]["ocsp_fetch"] is False
    assert settings["core"]["allowed_network_hosts"] == []
    assert settings["trust"]["trust_anchors"] == "PEM"


def test_concurrent_predictions_match_sequential(detector: C2PADetector, results: dict[str, Prediction]) -> None:
    files = [c.file for c in CASES] * 3
    media = {c.file: _media(c.path) for c in CASES}
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda f: (f, detector.predict(media[f])), files))
    for file, p in got:
        want = results[file]
        assert (p.unknown, p.forces, p.artificial, p.details) == (
            want.unknown,
            want.forces,
            want.artificial,
            want.details,
        ), file
        assert p.evidence == want.evidence, file


def test_bad_trust_anchors_do_not_break_reading(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    for path in (bad, tmp_path / "missing.pem"):
        d = C2PADetector(path)
        p = d.predict(_media(EVAL / "c2pa/c2pa-rs/ocsp.jpg"))
        assert d.trust_error and d.trust_anchor_count == 0
        assert p.forces == "artificial"


# ---------------------------------------------------------------------------- evidence shaping


def test_evidence_drops_nulls_and_wraps_non_objects() -> None:
    store = {
        "active_manifest": "urn:a",
        "manifests": {
            "urn:a": {
                "title": None,
                "instance_id": 7,
                "assertions": [{"label": "x.cbor", "data": [1, 2]}, {"label": "x.null", "data": None}],
                "ingredients": [{"title": None, "relationship": "parentOf", "validation_results": None}],
                "signature_info": {"alg": "Es256", "issuer": None, "cert_serial_number": 12345},
                "claim_generator_info": [{"name": "tool", "version": None}],
            }
        },
        "validation_status": [{"code": "x", "url": None, "explanation": None}],
        "validation_results": {"activeManifest": {"failure": [], "success": None}},
        "validation_state": "Trusted",
    }
    evidence = build_evidence(store, state="Valid", raw_state="Trusted", trusted=True)
    assert_valid(SPEC, "C2PA", evidence)
    manifest = evidence["manifests"]["urn:a"]
    assert "title" not in manifest and manifest["label"] == "urn:a" and manifest["instance_id"] == "7"
    assert manifest["assertions"][0]["data"] == {"value": [1, 2]}
    assert manifest["signature_info"] == {"alg": "Es256", "cert_serial_number": "12345"}
    assert evidence["validation_state"] == "Valid" and evidence["validation_state_raw"] == "Trusted"
    assert _conform({"title": None}, _MANIFEST_SHAPE) == {}


def test_module_is_a_pure_detector() -> None:
    tree = ast.parse(MODULE.read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    internal = {name for name in imported if name.startswith("originlens")}
    assert internal == {"originlens.detectors.base"}


# ---------------------------------------------------------------------------- files signed here


@pytest.fixture(scope="module")
def pki() -> Pki:
    """A throw-away root CA and a C2PA-conformant signing certificate (ES256)."""
    pytest.importorskip("cryptography")
    return make_pki()


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (seed * 40 % 256, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _sign(pki: Pki, source: bytes, actions: list[dict[str, Any]], parent: bytes | None = None) -> bytes:
    import c2pa

    settings = C2PADetector.offline_settings()
    settings["builder"] = {"thumbnail": {"enabled": False}}
    manifest = {
        "claim_generator_info": [{"name": "originlens-tests", "version": "1"}],
        "title": "signed.jpg",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
    }
    with c2pa.Context.from_json(json.dumps(settings)) as context:
        builder = c2pa.Builder(manifest, context)
        if parent is not None:
            builder.add_ingredient(
                {"title": "parent.jpg", "relationship": "parentOf", "label": "parent"}, "image/jpeg", io.BytesIO(parent)
            )
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.chain_pem, pki.key_pem, None))
        out = io.BytesIO()
        builder.sign(signer, "image/jpeg", io.BytesIO(source), out)
        return out.getvalue()


def _iptc(short: str) -> str:
    return f"http://cv.iptc.org/newscodes/digitalsourcetype/{short}"


@pytest.fixture(scope="module")
def signed(pki: Pki) -> dict[str, bytes]:
    ai = _sign(pki, _jpeg(1), [{"action": "c2pa.created", "digitalSourceType": _iptc("trainedAlgorithmicMedia")}])
    return {
        "ai": ai,
        "camera": _sign(pki, _jpeg(2), [{"action": "c2pa.created", "digitalSourceType": _iptc("digitalCapture")}]),
        "edited_ai": _sign(
            pki,
            ai,
            [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}, {"action": "c2pa.cropped"}],
            parent=ai,
        ),
        "tampered": ai[:-40] + bytes(b ^ 0xFF for b in ai[-40:-2]) + ai[-2:],
    }


@pytest.fixture(scope="module")
def trusting(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> C2PADetector:
    anchors = tmp_path_factory.mktemp("anchors") / "anchors.pem"
    anchors.write_text(TRUST_LIST.read_text() + pki.root_pem)
    return C2PADetector(anchors)


def test_trusted_ai_assertion(trusting: C2PADetector, signed: dict[str, bytes]) -> None:
    p = trusting.predict(MediaInput(signed["ai"], "image/jpeg"))
    assert trusting.trust_anchor_count == 11
    assert p.forces == "artificial" and p.artificial == AI_SCORE
    assert p.details["validation_state"] == "Valid"
    assert p.details["validation_state_raw"] == "Trusted" and p.details["trusted"] is True
    evidence = _check_evidence(p)
    assert evidence["validation_state"] == "Valid" and evidence["trusted"] is True


def test_untrusted_ai_assertion_forces_unless_trust_is_required(signed: dict[str, bytes]) -> None:
    media = MediaInput(signed["ai"], "image/jpeg")
    p = C2PADetector(TRUST_LIST).predict(media)
    assert p.forces == "artificial" and p.details["trusted"] is False
    strict = C2PADetector(TRUST_LIST, require_trusted_to_force=True).predict(media)
    assert strict.forces is None and strict.artificial == AI_SCORE and not strict.unknown


def test_trusted_camera_claim(trusting: C2PADetector, signed: dict[str, bytes]) -> None:
    p = trusting.predict(MediaInput(signed["camera"], "image/jpeg"))
    assert p.unknown is False and p.forces is None and p.artificial == HUMAN_SCORE
    assert p.details["trusted"] is True
    _check_evidence(p)


def test_ai_parent_ingredient_makes_the_edit_ai(trusting: C2PADetector, signed: dict[str, bytes]) -> None:
    p = trusting.predict(MediaInput(signed["edited_ai"], "image/jpeg"))
    assert p.forces == "artificial"
    assert p.details["digital_source_types"] == []
    assert p.details["ingredient_digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert p.details["ai_assertion_source"] == "ingredient"
    assert len(_check_evidence(p)["manifests"]) == 2


def test_tampered_ai_file_is_not_forced(trusting: C2PADetector, signed: dict[str, bytes]) -> None:
    p = trusting.predict(MediaInput(signed["tampered"], "image/jpeg"))
    assert p.forces is None and p.unknown is True
    if p.evidence is not None:  # a readable manifest whose hash no longer matches
        assert p.details["validation_state"] == "Invalid"
        assert "assertion.dataHash.mismatch" in p.details["failure_codes"]
        _check_evidence(p)


@pytest.mark.parametrize("path", sorted((EVAL / "c2pa").rglob("*.*")), ids=lambda p: p.name)
def test_fast_precheck_never_skips_a_file_the_library_reads(path: Path) -> None:
    """The byte pre-check may only skip files in which the library finds no C2PA at all."""
    from originlens.detectors.c2pa_reader import might_carry_c2pa

    if path.suffix.lower() not in MIME_BY_EXT:
        pytest.skip("not a media file")
    data = path.read_bytes()
    if not might_carry_c2pa(data):
        detector = C2PADetector(TRUST_LIST)
        detector.load()
        full = detector._read(MediaInput(data=data, mime_type=MIME_BY_EXT[path.suffix.lower()]))
        assert full is None, f"{path.name}: the pre-check skipped a file that has C2PA data"
