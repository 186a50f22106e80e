"""Speech features (issue 15): decoding with PyAV, feature shapes, the energy VAD, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from originlens.audio import features as F


def _tone_bursts(seconds: float = 2.0, rate: int = 22_050) -> np.ndarray:
    """A speech-like test signal: noisy harmonic bursts at a syllable rate (4 Hz) with pauses."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
    envelope = (np.sin(2 * np.pi * 4 * t) > 0.2).astype(float)
    x = 0.2 * envelope * (voiced + 0.1 * rng.normal(size=t.size))
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)


def test_decode_wav_made_with_pyav_resamples_to_16k_mono() -> None:
    x = _tone_bursts(2.0, rate=22_050)
    wav = F.encode_audio(x, "wav", sample_rate=22_050)
    assert wav[:4] == b"RIFF"
    y = F.decode_audio(wav)
    assert y.dtype == np.float32
    assert y.ndim == 1
    assert abs(y.size - 32_000) <= 64
    assert 0.3 < float(np.max(np.abs(y))) <= 1.0


def test_decode_rejects_non_audio() -> None:
    with pytest.raises(F.AudioDecodeError):
        F.decode_audio(b"this is not audio at all" * 10)


@pytest.mark.parametrize("codec", ["mp3", "opus", "aac"])
def test_lossy_round_trip_keeps_length(codec: str) -> None:
    x = _tone_bursts(1.5, rate=16_000)
    y = F.decode_audio(F.encode_audio(x, codec, bitrate=64_000))
    assert abs(y.size - x.size) < 3_000


def test_feature_shapes() -> None:
    x = F.decode_audio(F.encode_audio(_tone_bursts(2.0, 16_000), "wav"))
    frames = F.frame_features(x)
    n = 1 + (x.size - F.FRAME_LENGTH) // F.HOP_LENGTH
    assert frames.log_mel.shape == (n, F.N_MELS)
    assert frames.lfcc.shape == (n, 3 * F.N_LFCC)
    for name in F.FEATURE_SETS:
        assert F.pooled_features(x, name).shape == (len(F.feature_names(name)),)
    wins, speech = F.window_features(x)
    assert wins.shape == (3, sum(F.BLOCKS.values()))  # 1 s windows at 0, 0.5, 1.0 s
    assert speech.shape == (3,)
    assert np.all(np.isfinite(wins))


def test_short_signal_gives_one_window() -> None:
    wins, _ = F.window_features(np.zeros(8_000, dtype=np.float32))
    assert wins.shape[0] == 1
    assert np.all(np.isfinite(wins))


def test_vad_silence_and_steady_sounds_are_no_speech() -> None:
    assert F.voice_activity(np.zeros(16_000, dtype=np.float32)).verdict() == "no_speech"
    noise = np.random.default_rng(1).normal(0, 0.05, 32_000).astype(np.float32)
    assert F.voice_activity(noise).verdict() == "no_speech"
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(32_000) / 16_000)
    assert F.voice_activity(tone).verdict() == "no_speech"


def test_vad_finds_bursts_and_says_too_little_for_a_short_one() -> None:
    x = F.resample(_tone_bursts(2.0, 16_000), 16_000, 16_000)
    vad = F.voice_activity(x)
    assert vad.verdict() == "speech"
    assert 0.6 < vad.speech_seconds < 2.0
    short = np.concatenate([np.zeros(8_000), x[:6_000], np.zeros(8_000)]).astype(np.float32)
    assert F.voice_activity(short).verdict() == "too_little_speech"


def test_gain_does_not_change_pooled_features_much() -> None:
    x = _tone_bursts(2.0, 16_000)
    a = F.pooled_features(x)
    b = F.pooled_features(0.25 * x)
    np.testing.assert_allclose(a, b, atol=1e-2)


def test_deterministic() -> None:
    x = F.decode_audio(F.encode_audio(_tone_bursts(2.0, 16_000), "mp3", bitrate=64_000))
    y = F.decode_audio(F.encode_audio(_tone_bursts(2.0, 16_000), "mp3", bitrate=64_000))
    np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(F.pooled_features(x), F.pooled_features(y))


def test_shipped_head_loads_and_scores() -> None:
    from originlens.audio.head import SpeechHead

    head = SpeechHead.load()
    assert head.weights.shape == (len(F.feature_names(head.feature_set)),)
    assert head.abstain_low <= head.threshold <= head.abstain_high
    silent = head.score(np.zeros(16_000, dtype=np.float32))
    assert silent.verdict == "no_speech"
    assert silent.p_synthetic is None
    scored = head.score(_tone_bursts(2.0, 16_000))
    assert scored.verdict in {"synthetic", "human", "unknown"}
    assert scored.p_synthetic is not None
    assert 0.0 <= scored.p_synthetic <= 1.0
    assert len(scored.window_p) == 3
