"""Provenance of recordings: C2PA manifests in audio containers, and synthesis tools named in tags.

Files are made here: tones encoded with PyAV (the same FFmpeg that reads uploads), tags written
the way each container stores them, and C2PA manifests signed with a throw-away certificate
authority (``tests/support/c2pa_pki.py``), as the image C2PA tests do. Expectations are what a
user reads in ``results`` and ``verdict``, never the detector's own output copied back.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from originlens.container import build_registry
from originlens.detectors.audio_metadata import AudioMetadataDetector, match_tool
from originlens.detectors.base import MediaInput
from originlens.detectors.c2pa_reader import AI_SCORE, C2PADetector
from originlens.detectors.registry import DetectorRegistry
from originlens.detectors.speech import SpeechDetector
from originlens.media.audio import read_audio, sniff_audio_type
from originlens.pipeline import analyse_audio
from originlens.settings import Settings
from originlens.verdicts.heuristics import HEURISTICS
from tests.support.c2pa_pki import Pki, make_pki

AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

# ------------------------------------------------------------------------------- making files


def _encode(
    fmt: str,
    codec: str,
    *,
    container_tags: dict[str, str] | None = None,
    stream_tags: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    rate: int = 16_000,
) -> bytes:
    """Two seconds of a 220 Hz tone in ``fmt``/``codec``, with the given tags written by FFmpeg."""
    out = io.BytesIO()
    container = av.open(out, mode="w", format=fmt, options=options or {})
    try:
        for key, value in (container_tags or {}).items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.audio.stream.AudioStream)
        stream.layout = "mono"
        for key, value in (stream_tags or {}).items():
            stream.metadata[key] = value
        resampler = av.AudioResampler(
            format=stream.format.name, layout="mono", rate=rate, frame_size=stream.codec_context.frame_size or None
        )
        t = np.arange(32_000) / 16_000
        pcm = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
        frame.sample_rate = 16_000
        for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    return out.getvalue()


def _id3v24(frames: dict[str, str]) -> bytes:
    """An ID3v2.4 tag of UTF-8 text frames (``TSSE``, ``TENC``, ``TXXX:desc``, ``COMM``), the way
    tagging libraries write them. FFmpeg's muxer always writes its own TSSE (``Lavf...``), so a
    tool's TSSE has to be written by hand."""

    def syncsafe(n: int) -> bytes:
        return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])

    body = b""
    for name, value in frames.items():
        frame_id, _, desc = name.partition(":")
        if frame_id == "TXXX":
            payload = b"\x03" + desc.encode() + b"\x00" + value.encode()
        elif frame_id == "COMM":
            payload = b"\x03eng" + b"\x00" + value.encode()
        else:
            payload = b"\x03" + value.encode()
        body += frame_id.encode() + syncsafe(len(payload)) + b"\x00\x00" + payload
    return b"ID3\x04\x00\x00" + syncsafe(len(body)) + body


def _mp3_with_id3(frames: dict[str, str]) -> bytes:
    """A LAME MP3 whose only ID3 tag is ``frames``."""
    return _id3v24(frames) + _encode("mp3", "libmp3lame", options={"id3v2_version": "0"})


def _set_mp4_tool(data: bytes, value: str) -> bytes:
    """Rewrite the ``©too`` atom (moov/udta/meta/ilst) to ``value`` and fix the parents' sizes.

    FFmpeg writes its own name there; an app that made the file writes its own. The ``moov`` box
    must come after ``mdat`` (FFmpeg's default), so no chunk offset moves.
    """
    path = [b"moov", b"udta", b"meta", b"ilst", b"\xa9too"]
    starts: list[int] = []
    pos, end = 0, len(data)
    for depth, name in enumerate(path):
        while pos < end:
            size, kind = struct.unpack(">I4s", data[pos : pos + 8])
            if kind == name:
                break
            pos += size
        else:
            raise AssertionError(f"no {name!r} atom")
        if name == b"moov":
            assert data.find(b"mdat") < pos, "moov before mdat: offsets would move"
        starts.append(pos)
        inner = pos + 8 + (4 if name == b"meta" else 0)  # meta is a full box (version, flags)
        pos, end = (inner, pos + size) if depth < len(path) - 1 else (pos, pos + size)
    old_start, old_end = starts[-1], end
    payload = b"\x00\x00\x00\x01\x00\x00\x00\x00" + value.encode()
    data_atom = struct.pack(">I4s", 8 + len(payload), b"data") + payload
    new_atom = struct.pack(">I4s", 8 + len(data_atom), b"\xa9too") + data_atom
    delta = len(new_atom) - (old_end - old_start)
    out = bytearray(data[:old_start] + new_atom + data[old_end:])
    for start in starts[:-1]:
        (size,) = struct.unpack(">I", out[start : start + 4])
        out[start : start + 4] = struct.pack(">I", size + delta)
    return bytes(out)


def _decoded(data: bytes) -> MediaInput:
    mime = sniff_audio_type(data[:512])
    assert mime is not None
    return MediaInput(data=b"", mime_type=mime, decoded=read_audio(data, mime))


# ------------------------------------------------------------------ synthesis tools in the tags


METADATA = AudioMetadataDetector()


def test_an_id3_tsse_naming_elevenlabs_decides() -> None:
    media = _decoded(_mp3_with_id3({"TSSE": "ElevenLabs", "TIT2": "Welcome message"}))
    p = METADATA.predict(media)
    assert p.forces is None and p.artificial == 0.99 and not p.unknown
    assert p.details["tool"] == "ElevenLabs"
    assert p.details["tag"] == "encoder" and p.details["value"] == "ElevenLabs"
    assert p.details["source"] == "ID3 TSSE (encoder)"
    assert "ElevenLabs" in p.details["reason"]


def test_an_id3_txxx_software_frame_naming_a_tool_decides() -> None:
    p = METADATA.predict(_decoded(_mp3_with_id3({"TXXX:software": "PlayHT 2.0 (play.ht)"})))
    assert p.forces is None and p.artificial == 0.99
    assert (p.details["tool"], p.details["source"]) == ("PlayHT", "ID3 TXXX 'software'")


def test_an_id3_comment_is_only_a_hint() -> None:
    """A comment mentioning a tool is shown, but free text does not decide: it could be a podcast about it."""
    p = METADATA.predict(_decoded(_mp3_with_id3({"COMM": "Narration generated with ElevenLabs Multilingual v2"})))
    assert p.forces is None and not p.unknown and p.artificial == 0.8
    assert (p.details["tool"], p.details["source"]) == ("ElevenLabs", "ID3 COMM (comment)")
    assert "only a hint" in p.details["reason"]


def test_a_vorbis_encoder_comment_in_ogg_decides() -> None:
    data = _encode("ogg", "libopus", stream_tags={"ENCODER": "Coqui XTTS v2"}, rate=48_000)
    p = METADATA.predict(_decoded(data))
    assert p.forces is None and p.artificial == 0.99
    assert (p.details["tool"], p.details["source"]) == ("Coqui TTS / XTTS", "Vorbis comment ENCODER")


def test_a_bare_tool_name_counts_only_in_a_software_field_of_a_flac() -> None:
    named = METADATA.predict(_decoded(_encode("flac", "flac", container_tags={"SOFTWARE": "piper 1.2.0"})))
    assert named.artificial == 0.99 and named.details["tool"] == "Piper TTS"
    assert named.details["source"] == "Vorbis comment SOFTWARE"
    song = METADATA.predict(
        _decoded(_encode("flac", "flac", container_tags={"TITLE": "Piper at the Gates of Dawn", "ARTIST": "Bark"}))
    )
    assert song.unknown and song.forces is None


def test_an_mp4_too_atom_naming_a_tool_decides() -> None:
    data = _set_mp4_tool(_encode("ipod", "aac"), "ElevenLabs Studio")
    media = _decoded(data)
    assert media.mime_type == "audio/mp4"
    p = METADATA.predict(media)
    assert p.forces is None and p.artificial == 0.99
    assert (p.details["tool"], p.details["source"], p.details["value"]) == (
        "ElevenLabs",
        "MP4 ©too (encoder)",
        "ElevenLabs Studio",
    )


def test_an_ai_digital_source_type_tag_decides_and_an_aigc_maybe_label_does_not() -> None:
    declared = METADATA.predict(_decoded(_mp3_with_id3({"TXXX:DigitalSourceType": AI})))
    assert declared.forces is None and declared.artificial == 0.99
    assert declared.details["tool"] == "generative AI (trainedAlgorithmicMedia)"
    label = json.dumps({"Label": "2", "ContentProducer": "example-voice-platform"})
    maybe = METADATA.predict(_decoded(_mp3_with_id3({"TXXX:AIGC": label})))
    assert maybe.forces is None and maybe.artificial == 0.8
    assert maybe.details["tool"] == "example-voice-platform"


@pytest.mark.parametrize(
    ("fmt", "codec", "tags"),
    [
        ("mp3", "libmp3lame", {}),  # FFmpeg's own ID3: TSSE Lavf...
        ("mp3", "libmp3lame", {"encoded_by": "LAME 3.100", "comment": "Recorded in Audacity 3.4.2"}),
        ("flac", "flac", {"SOFTWARE": "Adobe Audition", "COMMENT": "Bark park interview, Google Recorder"}),
        ("ipod", "aac", {"comment": "iTunes 12.9", "title": "Microsoft Teams call"}),
        ("wav", "pcm_s16le", {"comment": "FFmpeg capture", "encoded_by": "Tortoise Shell Studio"}),
    ],
    ids=["lavf-mp3", "lame-audacity", "flac-audition", "itunes-m4a", "wav-info"],
)
def test_ordinary_encoders_and_editors_are_not_synthesis_tools(fmt: str, codec: str, tags: dict[str, str]) -> None:
    media = _decoded(_encode(fmt, codec, container_tags=tags))
    assert media.decoded.tags, "the file should carry tags to look at"
    p = METADATA.predict(media)
    assert p.unknown and p.forces is None and p.artificial == 0.5
    assert p.details["reason"] == "no synthesis tool or AI label in the recording's metadata"


@pytest.mark.parametrize(
    ("value", "software", "tool"),
    [
        ("ElevenLabs", False, "ElevenLabs"),
        ("elevenlabs.io API", False, "ElevenLabs"),
        ("Play.ht", True, "PlayHT"),
        ("Resemble.ai", False, "Resemble AI"),
        ("resemble", True, "Resemble AI"),
        ("Murf AI studio", False, "Murf AI"),
        ("WellSaid Labs", False, "WellSaid Labs"),
        ("Speechify", False, "Speechify"),
        ("Descript Overdub", False, "Descript Overdub"),
        ("suno-bark", False, "Bark (Suno)"),
        ("tortoise-tts", False, "Tortoise TTS"),
        ("VALL-E X", False, "VALL-E"),
        ("gpt-4o-mini-tts", False, "OpenAI TTS"),
        ("Microsoft Azure Neural Voices", False, "Microsoft Azure TTS"),
        ("edge-tts 6.1", False, "edge-tts (Microsoft Edge read-aloud)"),
        ("Google Cloud Text-to-Speech WaveNet", False, "Google Cloud TTS"),
        ("Amazon Polly", False, "Amazon Polly"),
        ("ESPnet2", False, "ESPnet"),
        ("RVC v2", False, "RVC voice conversion"),
        ("so-vits-svc 4.1", False, "so-vits-svc"),
        ("made with Suno", False, "Suno"),
        ("udio.com", False, "Udio"),
        ("suno", True, "Suno"),
    ],
)
def test_tools_are_recognised_by_their_own_spellings(value: str, software: bool, tool: str) -> None:
    assert match_tool(value, software=software) == tool


@pytest.mark.parametrize(
    "value",
    [
        "Lavf61.7.100",
        "LAME3.100",
        "iTunes 12.9.0.164",
        "Audacity 3.4",
        "FFmpeg",
        "Adobe Audition 2024",
        "Descript",  # the editor; only its Overdub voice is synthesis
        "Google Recorder",
        "Microsoft Voice Recorder",
        "Valle Recording Studio",
        "GarageBand 10.4",
        "Logic Pro X",
        "audio",
        "overdub session 3",
    ],
)
def test_ordinary_software_never_matches(value: str) -> None:
    assert match_tool(value, software=True) is None


def test_ambiguous_words_match_only_as_a_software_field_value() -> None:
    assert match_tool("Bark", software=True) == "Bark (Suno)"
    assert match_tool("Bark", software=False) is None
    assert match_tool("The dog would bark at piper and polly", software=True) is None


def test_a_recording_that_was_not_decoded_is_unknown_not_an_error() -> None:
    p = METADATA.predict(MediaInput(data=b"", mime_type="audio/wav"))
    assert p.unknown and "not read" in p.details["reason"]


# ----------------------------------------------------------------------------- C2PA in audio

SIGNABLE = {
    "wav": ("wav", "pcm_s16le", "audio/wav"),
    "mp3": ("mp3", "libmp3lame", "audio/mpeg"),
    "flac": ("flac", "flac", "audio/flac"),
    "m4a": ("ipod", "aac", "audio/mp4"),
}


@pytest.fixture(scope="module")
def pki() -> Pki:
    pytest.importorskip("cryptography")
    return make_pki()


def _sign(pki: Pki, data: bytes, mime: str, source_type: str = AI) -> bytes:
    import c2pa

    settings = C2PADetector.offline_settings()
    settings["builder"] = {"thumbnail": {"enabled": False}}
    manifest = {
        "claim_generator_info": [{"name": "originlens-tests", "version": "1"}],
        "title": "voice",
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": source_type}]},
            }
        ],
    }
    with c2pa.Context.from_json(json.dumps(settings)) as context:
        builder = c2pa.Builder(manifest, context)
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.chain_pem, pki.key_pem, None))
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
        return out.getvalue()


def _on_disk(tmp_path: Path, data: bytes, name: str) -> MediaInput:
    """What the worker hands the detectors: the decoded recording and its file, not its bytes."""
    path = tmp_path / name
    path.write_bytes(data)
    mime = sniff_audio_type(data[:512])
    assert mime is not None
    return MediaInput(data=b"", mime_type=mime, decoded=read_audio(path, mime), path=str(path))


def _tamper(data: bytes) -> bytes:
    """Flip bytes in the middle of the file, inside the sound, where the manifest's hash covers them."""
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 40]) + data[mid + 40 :]


@pytest.mark.parametrize("fmt", list(SIGNABLE))
def test_a_signed_ai_recording_is_read_and_forces(pki: Pki, tmp_path: Path, fmt: str) -> None:
    muxer, codec, mime = SIGNABLE[fmt]
    signed = _sign(pki, _encode(muxer, codec), mime)
    media = _on_disk(tmp_path, signed, f"voice.{fmt}")
    assert media.decoded.container.startswith(muxer if muxer != "ipod" else "mov")  # still a recording
    assert media.decoded.duration_s > 1.5
    p = C2PADetector().predict(media)
    assert p.forces == "artificial" and p.artificial == AI_SCORE and not p.unknown
    assert p.details["digital_source_types"] == ["trainedAlgorithmicMedia"]
    assert p.evidence is not None and p.evidence["validation_state"] == "Valid" and p.evidence["manifests"]
    from_file = C2PADetector().predict_file(Path(media.path or ""), mime)
    assert from_file.forces == "artificial"


def test_a_signed_flac_is_still_decoded_as_flac(pki: Pki, tmp_path: Path) -> None:
    """c2pa-rs puts a FLAC's manifest in an ID3 tag in front of ``fLaC``: the first bytes say MP3."""
    signed = _sign(pki, _encode("flac", "flac"), "audio/flac")
    assert signed[:3] == b"ID3" and sniff_audio_type(signed[:512]) == "audio/mpeg"
    media = _on_disk(tmp_path, signed, "voice.flac")
    assert media.decoded.container == "flac" and media.decoded.codec == "flac"
    assert abs(media.decoded.duration_s - 2.0) < 0.05
    assert C2PADetector().predict(media).forces == "artificial"  # read whichever type it was given


@pytest.mark.parametrize("fmt", list(SIGNABLE))
def test_an_unsigned_recording_has_no_manifest(tmp_path: Path, fmt: str) -> None:
    muxer, codec, _ = SIGNABLE[fmt]
    p = C2PADetector().predict(_on_disk(tmp_path, _encode(muxer, codec), f"plain.{fmt}"))
    assert p.unknown and p.forces is None and p.evidence is None
    assert p.details["reason"] == "no C2PA manifest"


@pytest.mark.parametrize("fmt", list(SIGNABLE))
def test_a_tampered_signed_recording_is_invalid_and_does_not_force(pki: Pki, tmp_path: Path, fmt: str) -> None:
    muxer, codec, mime = SIGNABLE[fmt]
    tampered = _tamper(_sign(pki, _encode(muxer, codec), mime))
    path = tmp_path / f"tampered.{fmt}"
    path.write_bytes(tampered)
    p = C2PADetector().predict(MediaInput(data=b"", mime_type=mime, path=str(path)))
    assert p.unknown and p.forces is None
    assert p.details["validation_state"] == "Invalid"
    assert any(code.endswith("Hash.mismatch") for code in p.details["failure_codes"]), p.details


@pytest.mark.parametrize(
    ("muxer", "codec", "label"),
    [("ogg", "libopus", "OGG"), ("adts", "aac", "AAC (ADTS)"), ("webm", "libopus", "WebM")],
)
def test_formats_the_library_cannot_read_say_so(tmp_path: Path, muxer: str, codec: str, label: str) -> None:
    data = _encode(muxer, codec, rate=48_000 if codec == "libopus" else 16_000)
    media = _on_disk(tmp_path, data, f"voice.{muxer}")
    expected = f"C2PA is not read from {label} files: the C2PA library does not support that format"
    p = C2PADetector().predict(media)
    assert p.unknown and p.details["reason"] == expected
    assert C2PADetector().predict_file(Path(media.path or ""), media.mime_type).details["reason"] == expected


def test_a_recording_without_its_file_is_not_read() -> None:
    p = C2PADetector().predict(MediaInput(data=b"", mime_type="audio/wav"))
    assert p.unknown and "not available" in p.details["reason"]


# -------------------------------------------------------------------------------- the pipeline


def _registry() -> DetectorRegistry:
    return DetectorRegistry([C2PADetector(), AudioMetadataDetector(), SpeechDetector()])


def _analyse(media: MediaInput) -> Any:
    return analyse_audio(_registry(), media.decoded, media.mime_type, name="voice", path=media.path)


def test_the_service_runs_both_provenance_readers_on_recordings() -> None:
    registry = build_registry(Settings())
    audio = {d.name for d in registry if "audio" in d.modalities}
    assert {"c2pa", "audio-metadata", "speech"} <= audio
    assert "audio-metadata" not in {d.name for d in registry if "image" in d.modalities}


def test_a_signed_ai_wav_is_forced_artificial_unless_c2pa_forcing_is_prevented(pki: Pki, tmp_path: Path) -> None:
    media = _on_disk(tmp_path, _sign(pki, _encode("wav", "pcm_s16le"), "audio/wav"), "voice.wav")
    outcome = _analyse(media)
    assert outcome.c2pa is not None and outcome.c2pa["validation_state"] == "Valid"
    assert [f["by"] for f in outcome.forcing] == ["c2pa"]
    for heuristic in HEURISTICS:
        verdict = outcome.verdict(heuristic)
        assert verdict is not None and verdict["classification"] == "artificial"
        assert verdict["forced_by"] == "c2pa" and verdict["confidence"] == 1.0
        prevented = outcome.verdict(heuristic, prevent_c2pa_forces=True)
        assert prevented is not None and "forced_by" not in prevented
        assert prevented["evidence"] in ("statistical", "none")
    by_model = {r["model"]: r for r in outcome.results}
    assert by_model["c2pa"]["kind"] == "provenance" and not by_model["c2pa"]["unknown"]
    assert by_model["audio-metadata"]["unknown"]
    assert all("c2pa" not in {r["model"] for r in chunk["results"]} for chunk in outcome.chunks)


def test_only_the_signed_assertion_decides_a_tool_named_in_the_tags_is_evidence(pki: Pki, tmp_path: Path) -> None:
    """Issue 15: a valid AI assertion forces the verdict; nothing else does (tags are unsigned)."""
    mp3 = _sign(pki, _mp3_with_id3({"TSSE": "ElevenLabs"}), "audio/mpeg")
    media = _on_disk(tmp_path, mp3, "voice.mp3")
    outcome = _analyse(media)
    assert [f["by"] for f in outcome.forcing] == ["c2pa"]
    heuristic = HEURISTICS[0]
    assert outcome.verdict(heuristic)["forced_by"] == "c2pa"
    prevented = outcome.verdict(heuristic, prevent_c2pa_forces=True)
    assert "forced_by" not in prevented
    tags = next(r for r in outcome.results if r["model"] == "audio-metadata")
    assert tags["classification_details"]["tool"] == "ElevenLabs" and not tags["votes"]


def test_an_ordinary_recording_is_decided_by_nothing_but_the_speech_model(tmp_path: Path) -> None:
    outcome = _analyse(_on_disk(tmp_path, _encode("mp3", "libmp3lame"), "plain.mp3"))
    assert outcome.forcing == [] and outcome.c2pa is None
    by_model = {r["model"]: r for r in outcome.results}
    assert by_model["c2pa"]["unknown"] and by_model["audio-metadata"]["unknown"]
    verdict = outcome.verdict(HEURISTICS[0])
    assert verdict is not None and "forced_by" not in verdict
