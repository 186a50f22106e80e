"""Speech features (issue 15): decoding with PyAV, feature shapes, the energy VAD, determinism."""

from __future__ import annotations

from pathlib import Path

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
    energy_only = SpeechHead.load(use_silero=False)  # tone bursts pass the energy VAD, not Silero
    scored = energy_only.score(_tone_bursts(2.0, 16_000))
    assert scored.vad == "energy"
    assert scored.verdict in {"synthetic", "human", "unknown"}
    assert scored.p_synthetic is not None
    assert 0.0 <= scored.p_synthetic <= 1.0
    assert len(scored.window_p) == 3


def test_feature_sets_split_all_into_spectral_and_vocoder_blocks() -> None:
    spectral, vocoder = F.FEATURE_SETS["spectral"], F.FEATURE_SETS["vocoder"]
    assert set(spectral).isdisjoint(vocoder)
    assert (*spectral, *vocoder) == F.FEATURE_SETS["all"] == tuple(F.BLOCKS)
    assert len(F.feature_names("spectral")) == 360  # speech-features-1
    cols = np.concatenate([F.block_columns("spectral"), F.block_columns("vocoder")])
    np.testing.assert_array_equal(cols, np.arange(sum(F.BLOCKS.values())))


def test_vocoder_frame_features_are_aligned_and_finite() -> None:
    x = _tone_bursts(2.0, 16_000)
    frames = F.frame_features(x)
    n = frames.log_mel.shape[0]
    for name in ("phase_if", "phase_gd", "depth", "band_energy", "hd_peak", "hd_valley", "periodicity"):
        values = getattr(frames, name)
        assert values.shape[0] == n, name
        assert np.all(np.isfinite(values)), name
    # a harmonic signal is periodic in its lowest band; white noise is not
    assert frames.periodicity[frames.log_energy > -30, 0].mean() > 0.6
    noise = F.frame_features(np.random.default_rng(2).normal(0, 0.1, 32_000))
    assert noise.periodicity[:, 0].mean() < 0.4


@pytest.mark.parametrize("n", [100, 399, 400, 700, 1_500])
def test_very_short_signals_give_finite_features(n: int) -> None:
    x = np.random.default_rng(n).normal(0, 0.1, n).astype(np.float32)
    wins, _ = F.window_features(x)
    assert wins.shape == (1, sum(F.BLOCKS.values()))
    assert np.all(np.isfinite(wins))


def test_long_term_spectrum_lines_see_a_fixed_tone_under_speech_like_sound() -> None:
    x = _tone_bursts(2.0, 16_000).astype(np.float64)
    t = np.arange(x.size) / 16_000
    with_line = x + 0.01 * np.sin(2 * np.pi * 5_500 * t)  # a steady line in the 5-6 kHz band
    a = F.pooled_features(x)
    b = F.pooled_features(with_line)
    names = F.feature_names("all")
    band5_max = names.index("ltas_lines_05")
    assert b[band5_max] > a[band5_max] + 1.0


def _music(seconds: float = 3.0) -> np.ndarray:
    """Plucked notes with harmonics on a 4 Hz beat plus noise-burst drums: a speech-like energy
    envelope (the energy VAD takes it for speech) that is no voice."""
    rate = 16_000
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(3)
    out = np.zeros_like(t)
    notes = (220.0, 262.0, 330.0, 392.0, 440.0, 523.0)
    for k in range(int(seconds * 4)):
        s, e = int(k * 0.25 * rate), int((k * 0.25 + 0.2) * rate)
        f = notes[k % len(notes)]
        decay = np.exp(-np.arange(e - s) / (0.08 * rate))
        out[s:e] += sum(np.sin(2 * np.pi * f * h * t[s:e]) / h for h in range(1, 6)) * decay
        out[s : s + 800] += rng.normal(0, 0.3, 800) * np.exp(-np.arange(800) / 200)
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def test_silero_gate_says_no_speech_for_music_the_energy_vad_lets_through() -> None:
    from originlens.audio import vad
    from originlens.audio.head import SpeechHead

    if not vad.silero_available():
        pytest.skip("silero-vad is not installed (pip install --no-deps silero-vad==6.2.3)")
    music = _music()
    assert F.voice_activity(music).verdict() == "speech"  # why the second gate exists
    scored = SpeechHead.load().score(music)
    assert scored.verdict == "no_speech"
    assert scored.vad == "silero"
    assert scored.speech_seconds == 0.0
    assert scored.p_synthetic is None
    probs = vad.default_vad().probabilities(music)  # type: ignore[union-attr]
    assert probs.shape == (-(-music.size // vad.CHUNK),)
    assert float(probs.max()) < vad.SPEECH_PROBABILITY


def test_silero_file_is_checked_by_sha256(tmp_path: Path) -> None:
    from originlens.audio import vad
    from originlens.detectors.weights import ModelFileError, verified

    bad = tmp_path / "silero_vad_16k_op15.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="SHA-256"):
        verified(bad, vad.SILERO_SHA256, "silero-vad model")
