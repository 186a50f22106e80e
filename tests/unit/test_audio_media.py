"""Audio input: recognised by content, decoded to mono 16 kHz, cut into chunks, judged."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from originlens.audio.features import encode_audio
from originlens.detectors.base import MediaInput
from originlens.detectors.registry import DetectorRegistry
from originlens.detectors.speech import SpeechDetector
from originlens.media.audio import (
    AudioError,
    AudioLimits,
    AudioTooLongError,
    NoAudioStreamError,
    read_audio,
    sniff_audio_type,
    waveform_envelope,
)
from originlens.pipeline import analyse_audio, chunk_bounds

SPEECH = Path(__file__).resolve().parents[2].parent / "shared" / "speech" / "eval"


def _voice_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A crude voiced signal: a 120 Hz harmonic series with syllable-like amplitude bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16_000)) / 16_000
    tone = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 20))
    envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)
    return (0.2 * tone * envelope + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize(
    ("codec", "mime"),
    [("wav", "audio/wav"), ("flac", "audio/flac"), ("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("aac", "audio/aac")],
)
def test_each_format_is_recognised_by_content_and_decoded(codec: str, mime: str) -> None:
    data = encode_audio(_voice_like(2.0), codec, bitrate=64_000 if codec in ("mp3", "opus", "aac") else None)
    assert sniff_audio_type(data[:512]) == mime
    decoded = read_audio(data)
    assert decoded.sample_rate == 16_000
    assert 1.9 <= decoded.duration_s <= 2.2


def test_non_audio_is_not_recognised() -> None:
    assert sniff_audio_type(b"\x89PNG\r\n\x1a\n" + b"\0" * 100) is None
    assert sniff_audio_type(b"%PDF-1.7\n") is None
    assert sniff_audio_type(b"\0\0\0\x18ftypheic") is None
    with pytest.raises(AudioError, match="not in an audio format"):
        read_audio(b"hello, this is text and not a recording")


def test_damaged_audio_is_a_sentence_not_a_traceback() -> None:
    data = encode_audio(_voice_like(1.0), "wav")
    with pytest.raises(AudioError) as caught:
        read_audio(data[:44] + b"\xff" * 10, mime="audio/flac")
    assert "Error" not in str(caught.value) and "0x" not in str(caught.value)


def test_a_recording_longer_than_the_limit_is_refused_with_its_length() -> None:
    data = encode_audio(_voice_like(6.0), "wav")
    with pytest.raises(AudioTooLongError, match=r"limit|at most"):
        read_audio(data, limits=AudioLimits(max_duration_s=3.0))


def test_a_video_without_sound_has_no_audio_track(tmp_path: Path) -> None:
    import av

    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height = 64, 64
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(NoAudioStreamError):
        read_audio(path)


def test_chunks_cover_the_recording_and_a_short_tail_is_merged() -> None:
    assert chunk_bounds(12.0) == [(0.0, 5.0), (5.0, 10.0), (10.0, 12.0)]
    assert chunk_bounds(10.5) == [(0.0, 5.0), (5.0, 10.5)]
    assert chunk_bounds(3.0) == [(0.0, 3.0)]
    long = chunk_bounds(3600.0)
    assert len(long) <= 120 and long[-1][1] == 3600.0
    assert all(b[0] == a[1] for a, b in itertools.pairwise(long))


def test_waveform_envelope_has_the_asked_number_of_points() -> None:
    env = waveform_envelope(np.linspace(-1, 1, 16_000, dtype=np.float32), points=100)
    assert len(env) == 100 and max(env) == pytest.approx(1.0, abs=1e-3)


def test_silence_and_tones_are_unknown_with_a_reason() -> None:
    detector = SpeechDetector()
    t = np.arange(3 * 16_000) / 16_000
    for signal in (np.zeros(3 * 16_000, np.float32), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)):
        decoded = read_audio(encode_audio(signal, "wav"))
        prediction = detector.predict(MediaInput(b"", "audio/wav", decoded=decoded))
        assert prediction.unknown
        assert "no speech" in prediction.details["reason"]


@pytest.mark.skipif(not SPEECH.exists(), reason="needs ../shared/speech")
def test_a_recording_is_judged_whole_and_per_chunk() -> None:
    files = sorted((SPEECH / "human").glob("*/*.flac"))[:6]
    samples = np.concatenate([read_audio(f).samples for f in files])
    decoded = read_audio(encode_audio(samples, "mp3", bitrate=64_000))
    outcome = analyse_audio(DetectorRegistry([SpeechDetector()]), decoded, "audio/mpeg")
    assert [r["model"] for r in outcome.results] == ["speech"]
    assert not outcome.results[0]["unknown"]
    assert len(outcome.chunks) == len(chunk_bounds(decoded.duration_s))
    assert outcome.chunks[-1]["end"] == pytest.approx(decoded.duration_s, abs=1e-3)
    assert all(c["results"][0]["model"] == "speech" and c["verdicts"] for c in outcome.chunks)
    assert {v["heuristic"] for v in outcome.verdicts} >= {"Majority", "AverageExcludeObsolete"}


@pytest.mark.skipif(not SPEECH.exists(), reason="needs ../shared/speech")
def test_the_speech_model_reads_the_whole_and_each_chunk_from_one_pass() -> None:
    """The whole recording scores as it does alone; a silent stretch is its own unknown chunk."""
    from originlens.audio.head import SpeechHead

    speech = np.concatenate([read_audio(f).samples for f in sorted((SPEECH / "human").glob("*/*.flac"))[:4]])
    samples = np.concatenate([speech[: 6 * 16_000], np.zeros(5 * 16_000, np.float32)])
    head = SpeechHead.load()
    duration = samples.size / 16_000
    whole, first, silent = head.score_parts(samples, [(0.0, duration), (0.0, 5.0), (6.0, duration)])
    alone = head.score(samples)
    assert whole.p_synthetic == pytest.approx(alone.p_synthetic)
    assert first.p_synthetic is not None and len(first.window_p) == 9  # centres 0.5 .. 4.5 s
    assert silent.verdict == "no_speech" and silent.p_synthetic is None


def test_a_detector_without_a_shared_pass_judges_each_part_alone() -> None:
    """The default ``predict_parts`` cuts the recording and judges each part on its own samples."""
    from originlens.detectors.base import Detector, Prediction

    class Loudness(Detector):
        name, version, modalities, media_types = "loudness", "test", ("audio",), ("audio/",)

        def _predict(self, media: MediaInput) -> Prediction:
            return Prediction(model=self.name, artificial=float(np.abs(media.decoded.samples).max()))

    decoded = read_audio(encode_audio(np.concatenate([np.full(16_000, 0.1), np.full(16_000, 0.6)]), "wav"))
    whole, quiet, loud = Loudness().predict_parts(
        MediaInput(b"", "audio/wav", decoded=decoded), [(0, 2), (0, 1), (1, 2)]
    )
    assert quiet.artificial == pytest.approx(0.1, abs=0.01) and loud.artificial == pytest.approx(0.6, abs=0.01)
    assert whole.artificial == pytest.approx(0.6, abs=0.01)
