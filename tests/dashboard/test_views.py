"""The plain-words summaries the result page is built from (pure functions over API responses)."""

from __future__ import annotations

from typing import Any

import pytest

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


# ------------------------------------------------------------------------------ recordings


def _chunk(index: int, start: float, end: float, verdict: dict[str, Any], speech: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "start": start, "end": end, "results": [speech], "verdict": verdict, "verdicts": [verdict]}


def test_times_in_a_recording_are_written_as_people_write_them() -> None:
    assert [view.clock(s) for s in (0, 5, 7.34, 62.5, 599.96, 3600)] == [
        "0:00", "0:05", "0:07.3", "1:02.5", "10:00", "1:00:00",
    ]  # fmt: skip


def test_each_chunk_row_says_when_what_and_why() -> None:
    no_speech = "no speech found: the model judges voices only, not music, noise or silence"
    body = {
        "chunk_details": [
            _chunk(0, 0.0, 5.0, {"classification": "artificial", "confidence": 0.9, "evidence": "statistical"},
                   _result("speech", 0.9)),
            _chunk(1, 5.0, 10.0, {"classification": "human", "confidence": 0.5, "unknown": True, "reason": no_speech},
                   _result("speech", 0.5, unknown=True, reason=no_speech)),
            _chunk(2, 10.0, 12.4, {"classification": "human", "confidence": 1.0, "evidence": "override"},
                   _result("speech", 0.2)),
        ]
    }  # fmt: skip
    rows = view.chunk_rows(body)
    assert [r["span"] for r in rows] == ["0:00\u20130:05", "0:05\u20130:10", "0:10\u20130:12.4"]
    assert [r["label"] for r in rows] == ["artificial", "unknown", "human"]
    assert rows[0]["speech_score"] == 0.9 and rows[0]["confidence"] == 0.9 and rows[0]["reason"] == ""
    assert rows[1]["speech_score"] is None and rows[1]["confidence"] is None and rows[1]["reason"] == no_speech
    assert rows[2]["reason"] == "your override of the whole recording"


def test_the_waveform_bands_cover_the_recording_chunk_by_chunk() -> None:
    rows = [
        {"index": 0, "start": 0.0, "end": 5.0, "label": "human", "span": "0:00\u20130:05"},
        {"index": 1, "start": 5.0, "end": 8.0, "label": "unknown", "span": "0:05\u20130:08"},
    ]
    envelope = [0.0, 0.5, 0.25, 0.0]
    picture = view.waveform_picture(envelope, 8.0, rows)
    assert picture is not None
    bands = [(s["x"], s["width"]) for s in picture["segments"]]
    assert bands == [(0.0, 625.0), (625.0, 375.0)]  # 5 s and 3 s of 8 s, in 1000 units
    ys = [float(p.split(",")[1]) for p in picture["path"].replace("M", "").replace("Z", "").split(" L")]
    assert min(ys) == 60 - 56 - 0.5 and max(ys) == 60 + 56 + 0.5  # the loudest peak fills the height
    assert "1 human, 1 unknown" in picture["summary"]
    assert view.waveform_picture([], 8.0, rows) is None and view.waveform_picture(envelope, None, rows) is None


def test_the_audio_metadata_tool_is_summarised_only_when_named() -> None:
    details = {"tool": "ElevenLabs", "source": "ID3 TSSE (encoder)", "value": "ElevenLabs v2", "reason": "named"}
    named = {**_result("audio-metadata", 0.99, **details), "kind": "provenance"}
    summary = view.audio_metadata_summary({"results": [named]})
    assert summary is not None and summary["tool"] == "ElevenLabs" and summary["source"] == "ID3 TSSE (encoder)"
    nothing = _result("audio-metadata", 0.5, unknown=True, reason="the recording carries no metadata tags")
    assert view.audio_metadata_summary({"results": [nothing]}) is None


def test_byte_ranges_for_the_player() -> None:
    from originlens.services.dashboard_media import MAX_RANGE_BYTES, RangeNotSatisfiableError, byte_range

    assert byte_range(None, 100) is None and byte_range("bytes=0-1,5-6", 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9) and byte_range("bytes=90-200", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99) and byte_range("bytes=50-", 100) == (50, 99)
    assert byte_range("bytes=0-", 10 * MAX_RANGE_BYTES) == (0, MAX_RANGE_BYTES - 1)  # an open end is capped
    assert byte_range("bytes=9-3", 100) is None and byte_range("bytes=x-", 100) is None  # invalid: ignored
    for unsatisfiable in ("bytes=100-", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiableError):
            byte_range(unsatisfiable, 100)


def test_uploads_are_told_apart_by_their_first_bytes() -> None:
    from originlens.media.kinds import sniff_kind as upload_kind

    def ftyp(brand: bytes) -> bytes:
        return b"\x00\x00\x00\x1cftyp" + brand + b"\x00\x00\x02\x00" + bytes(16)

    assert upload_kind(b"\x89PNG\r\n\x1a\n" + bytes(24)) == ("image", "image/png")
    assert upload_kind(b"RIFF\x24\x00\x00\x00WAVEfmt ") == ("audio", "audio/wav")
    assert upload_kind(b"ID3\x04\x00\x00\x00\x00\x00\x23") == ("audio", "audio/mpeg")
    assert upload_kind(ftyp(b"M4A ")) == ("audio", "audio/mp4")
    assert upload_kind(ftyp(b"isom")) == ("either", "video/mp4")  # its tracks decide, once stored
    assert upload_kind(b"OggS\x00\x02" + bytes(26)) == ("either", "audio/ogg")
    assert upload_kind(b"RIFF\x24\x00\x00\x00AVI LIST") == ("video", "video/x-msvideo")
    assert upload_kind(ftyp(b"heic")) is None and upload_kind(b"plain words") is None
