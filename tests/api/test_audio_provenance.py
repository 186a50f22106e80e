"""Provenance of recordings through the real app: a valid signed AI assertion (C2PA) decides the
verdict of the recording and of every chunk unless ``prevent_c2pa_forces``; tags naming a
synthesis tool are shown as evidence and never decide (issue 15's policy)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_audio import submitted, wait_audio
from tests.conftest import RunningServer, make_user
from tests.support.c2pa_pki import Pki, make_pki
from tests.support.speech import needs_speech, speech_recording
from tests.unit.test_audio_provenance import _id3v24, _sign

pytestmark = needs_speech


@pytest.fixture(scope="module")
def pki() -> Pki:
    pytest.importorskip("cryptography")
    return make_pki()


@pytest.fixture(scope="module")
def human_wav() -> bytes:
    """8 s of recorded human speech as WAV (a format C2PA is read from)."""
    return speech_recording("human", 8.0, codec="wav")


def _without_id3(data: bytes) -> bytes:
    """The MP3 without FFmpeg's own leading ID3v2 tag (its size is four 7-bit bytes)."""
    if data[:3] != b"ID3":
        return data
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    return data[10 + size :]


def _model(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in body["results"] if r["model"] == name)


def test_a_signed_ai_recording_is_artificial_whole_and_in_every_chunk(
    server: RunningServer, pki: Pki, human_wav: bytes
) -> None:
    """Human speech signed as AI-made: the signature decides, whatever the speech model hears."""
    _, key = make_user(server)
    with server.client(key) as client:
        body = wait_audio(client, submitted(client, _sign(pki, human_wav, "audio/wav"), "voice.wav"))
    assert body["status"] == "done", body["errors"]
    assert body["c2pa"] is not None and body["c2pa"]["validation_state"] == "Valid"
    assert body["verdict"]["classification"] == "artificial" and body["verdict"]["forced_by"] == "c2pa"
    assert all(v["classification"] == "artificial" for v in body["verdicts"])
    assert body["chunk_details"] and all(c["verdict"]["classification"] == "artificial" for c in body["chunk_details"])
    assert _model(body, "c2pa")["classification_details"]["digital_source_types"] == ["trainedAlgorithmicMedia"]


def test_prevent_c2pa_forces_lets_the_speech_model_decide(server: RunningServer, pki: Pki, human_wav: bytes) -> None:
    signed = _sign(pki, human_wav, "audio/wav")
    _, key = make_user(server)
    with server.client(key) as client:
        body = wait_audio(client, submitted(client, signed, "voice.wav", prevent_c2pa_forces=True))
    assert body["status"] == "done", body["errors"]
    assert body["c2pa"] is not None  # still shown
    assert "forced_by" not in body["verdict"]
    assert body["verdict"]["models"] == ["speech"]
    speech = _model(body, "speech")
    expected = "artificial" if speech["classification"][1]["score"] > 0.5 else "human"
    assert body["verdict"]["classification"] == expected


def test_a_tool_named_in_the_tags_is_shown_but_does_not_decide(server: RunningServer) -> None:
    mp3 = _id3v24({"TSSE": "ElevenLabs"}) + _without_id3(speech_recording("human", 6.0, codec="mp3"))
    _, key = make_user(server)
    with server.client(key) as client:
        body = wait_audio(client, submitted(client, mp3, "voice.mp3"))
    assert body["status"] == "done", body["errors"]
    tags = _model(body, "audio-metadata")
    assert tags["classification_details"]["tool"] == "ElevenLabs" and not tags["votes"]
    assert "forced_by" not in body["verdict"]
    assert body["verdict"]["models"] == ["speech"]
