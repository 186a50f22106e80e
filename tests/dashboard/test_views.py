"""The plain-words summaries the result page is built from (pure functions over API responses)."""

from __future__ import annotations

from typing import Any

from originlens.services import dashboard_results as view


def _result(model: str, artificial: float, unknown: bool = False, **details: Any) -> dict[str, Any]:
    return {
        "model": model,
        "kind": "statistical",
        "unknown": unknown,
        "classification": [{"label": "human", "score": 1 - artificial}, {"label": "artificial", "score": artificial}],
        "classification_details": details,
    }


def test_unknown_models_have_no_score_but_their_reason() -> None:
    rows = view.model_rows([_result("a", 0.8), _result("b", 0.5, unknown=True, reason="image too small")])
    assert rows[0]["score"] == 0.8 and not rows[0]["unknown"]
    assert rows[1]["score"] is None and rows[1]["unknown"] and rows[1]["reason"] == "image too small"


def test_labels_and_what_decided() -> None:
    forced = {"classification": "artificial", "confidence": 1.0, "evidence": "provenance", "forced_by": "metadata",
              "reason": "PNG parameters written by ComfyUI"}  # fmt: skip
    statistical = {"classification": "human", "confidence": 0.7, "evidence": "statistical", "heuristic": "Average",
                   "models": ["clip-probe"]}  # fmt: skip
    unknown = {"classification": "human", "confidence": 0.5, "unknown": True, "evidence": "none"}
    assert view.verdict_label({"status": "new"}) == "pending"
    assert view.verdict_label({"status": "errored"}) == "errored"
    assert view.verdict_label({"status": "done", "verdict": unknown}) == "unknown"
    assert view.verdict_label({"status": "done", "verdict": forced}) == "artificial"
    assert view.decided_by({"verdict": forced}) == {
        "kind": "provenance: metadata",
        "text": "Decided by generator metadata: PNG parameters written by ComfyUI",
    }
    assert view.decided_by({"verdict": statistical, "results": []})["kind"] == "statistical"
    assert "clip-probe" in view.decided_by({"verdict": statistical, "results": []})["text"]
    assert view.decided_by({"verdict": unknown})["kind"] == "none"
    assert view.artificial_probability(statistical) is not None
    assert abs((view.artificial_probability(statistical) or 0) - 0.3) < 1e-9
    assert view.artificial_probability(unknown) is None


def test_an_indicator_is_shown_as_not_voting_and_named_when_the_verdict_is_unknown() -> None:
    indicator = {**_result("pixel", 0.3), "votes": False}
    provenance = {**_result("c2pa", 0.5, unknown=True), "kind": "provenance", "votes": False}
    rows = view.model_rows([indicator, provenance])
    assert rows[0]["kind"] == "indicator, does not vote" and rows[0]["score"] == 0.3
    assert rows[1]["kind"] == "provenance"
    unknown = {"classification": "human", "confidence": 0.5, "unknown": True, "evidence": "none"}
    text = view.decided_by({"verdict": unknown, "results": [indicator, provenance]})["text"]
    assert "pixel" in text and "does not vote" in text and "c2pa" not in text


def test_c2pa_summary_in_plain_words() -> None:
    body = {
        "c2pa": {
            "active_manifest": "urn:1",
            "manifests": {
                "urn:1": {
                    "title": "render.png",
                    "claim_generator_info": [{"name": "Firefly", "version": "3"}],
                    "assertions": [
                        {"label": "c2pa.actions.v2", "data": {"actions": [
                            {"action": "c2pa.created",
                             "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"},
                            {"action": "c2pa.resized"},
                        ]}},
                    ],
                }
            },
            "validation_state": "Valid",
            "validation_state_raw": "Trusted",
            "trusted": True,
        },
        "results": [_result("c2pa", 0.99, signer="Adobe Inc.", ai_assertion=True,
                            digital_source_types=["trainedAlgorithmicMedia"])],
    }  # fmt: skip
    summary = view.c2pa_summary(body)
    assert summary is not None
    assert summary["signer"] == "Adobe Inc." and summary["generator"] == "Firefly 3"
    assert summary["actions"] == ["created (trainedAlgorithmicMedia)", "resized"]
    assert summary["trusted"] is True and summary["state_raw"] == "Trusted" and summary["ai_assertion"] is True
    assert view.c2pa_summary({"c2pa": None, "results": []}) is None


def test_session_cookie_is_secure_on_https_and_tamper_proof() -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    from originlens.dashboard.security import COOKIE_NAME, SessionCodec

    def request(cookie: str = "") -> Request:
        headers = [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())] if cookie else []
        return Request({"type": "http", "method": "GET", "path": "/dashboard", "headers": headers, "query_string": b""})

    codec = SessionCodec("service secret", secure=True)
    first = request()
    codec.load(first).sign_in(7, 3)
    response = Response()
    codec.save(first, response)
    header = response.headers["set-cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=lax" in header
    value = header.split(";")[0].split("=", 1)[1]
    loaded = codec.load(request(value))
    assert (loaded.user_id, loaded.version) == (7, 3)
    forged = codec.load(request(value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]))
    assert forged.user_id is None  # a changed cookie is a fresh, anonymous session
    other_secret = SessionCodec("another secret", secure=False).load(request(value))
    assert other_secret.user_id is None


def test_a_face_judged_only_by_an_indicator_shows_its_score() -> None:
    indicator = {**_result("pixel", 0.25), "votes": False}
    unknown = {"classification": "human", "confidence": 0.5, "unknown": True}
    body = {"details": [{"detections": [{"box": {"x1": 1, "y1": 2, "x2": 3, "y2": 4}, "verdict": unknown,
                                          "results": [indicator]}]}]}  # fmt: skip
    (face,) = view.faces(body)
    assert face["label"] == "unknown"
    assert face["indicator"] == "pixel" and face["indicator_score"] == 0.25
