"""Audio decoding and ASVspoof-style speech features, numpy only (PyAV decodes and encodes).

* :func:`decode_audio` turns any audio (or audio-in-video) bytes FFmpeg reads into mono 16 kHz
  float32 in [-1, 1].
* :func:`encode_audio` does the reverse for one codec (WAV, FLAC, MP3, Opus, AAC); training uses it
  to push clips through lossy codecs, tests use it to make WAV files.
* Frame features (25 ms Hamming windows, 10 ms hop, 512-point FFT): 64 log-mel bands and
  20 LFCC (linear-frequency cepstral coefficients, c1..c20 of 40 linear triangular filters) with
  deltas and delta-deltas, as in the ASVspoof LFCC baseline.
* :func:`voice_activity`: an energy-based check, frames above an adaptive threshold, so the
  detector can say "no speech" or "too little speech" (silero-vad is the long-term plan).
* :func:`pooled_features`: per clip or per window, mean and standard deviation of the frame
  features over the speech frames. The overall level is taken out (log-mel and cepstra are
  relative to the clip's mean log energy; c0 is not used), so gain is no cue.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from originlens.media.audio import AudioError, read_audio

SAMPLE_RATE = 16_000
FRAME_LENGTH = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
N_FFT = 512
N_MELS = 64
N_LINEAR_FILTERS = 40
N_LFCC = 20
FEATURE_SPEC_VERSION = "speech-features-2"
_EPS = 1e-10


AudioDecodeError = AudioError
"""The data holds no decodable audio (the media layer's error; kept under this name for the scripts)."""


def decode_audio(data: bytes) -> np.ndarray:
    """Mono float32 samples at 16 kHz, decoded exactly as the service decodes an upload
    (:func:`originlens.media.audio.read_audio`): training, evaluation and serving share one decoder."""
    return read_audio(data).samples


_CONTAINERS = {
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "mp3": ("mp3", "libmp3lame"),
    "opus": ("ogg", "libopus"),
    "aac": ("adts", "aac"),
}
AUDIO_CODECS: tuple[str, ...] = tuple(_CONTAINERS)


def through_codec(samples: np.ndarray, codec: str, bitrate: int) -> np.ndarray:
    """``samples`` encoded with ``codec`` and decoded again, at the same length (codecs add
    priming delay): what a re-encoded recording sounds like, for augmentation and evaluation."""
    n = samples.size
    out = decode_audio(encode_audio(samples, codec, bitrate=bitrate))
    return np.pad(out, (0, max(0, n - out.size)))[: max(n, 1)]


def encode_audio(
    samples: np.ndarray,
    codec: str = "wav",
    sample_rate: int = SAMPLE_RATE,
    bitrate: int | None = None,
    codec_rate: int | None = None,
) -> bytes:
    """Encode mono float samples at ``sample_rate`` with ``codec`` (one of :data:`AUDIO_CODECS`);
    ``codec_rate`` is the rate inside the file (Opus: 48 kHz unless given)."""
    if codec not in _CONTAINERS:
        raise ValueError(f"unknown codec {codec!r}; use one of {AUDIO_CODECS}")
    fmt, codec_name = _CONTAINERS[codec]
    rate = codec_rate or (48_000 if codec == "opus" else sample_rate)
    buf = io.BytesIO()
    container = av.open(buf, mode="w", format=fmt)
    try:
        stream = container.add_stream(codec_name, rate=rate)
        if not isinstance(stream, av.audio.stream.AudioStream):
            raise TypeError(f"{codec_name} is not an audio encoder")
        stream.layout = "mono"
        if bitrate is not None:
            stream.bit_rate = bitrate
        frame_size = stream.codec_context.frame_size or None
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate, frame_size=frame_size)
        pcm = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm), format="flt", layout="mono")
        frame.sample_rate = sample_rate
        frames = [*resampler.resample(frame), *resampler.resample(None)]
        for out in frames:
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        container.close()
    return buf.getvalue()


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample mono float samples with FFmpeg's resampler."""
    if rate_in == rate_out:
        return np.asarray(samples, dtype=np.float32)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_out)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(1, -1)), format="flt", layout="mono"
    )
    frame.sample_rate = rate_in
    outs = [*resampler.resample(frame), *resampler.resample(None)]
    if not outs:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([o.to_ndarray().reshape(-1) for o in outs]).astype(np.float32)


# --- frame features ---------------------------------------------------------------------------


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def _triangular_filters(edges_hz: np.ndarray) -> np.ndarray:
    """Triangular filters over the rfft bins with the given band edges (n + 2 of them)."""
    bins = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    n = edges_hz.size - 2
    bank = np.zeros((n, bins.size))
    for i in range(n):
        lo, mid, hi = edges_hz[i], edges_hz[i + 1], edges_hz[i + 2]
        up = (bins - lo) / max(mid - lo, _EPS)
        down = (hi - bins) / max(hi - mid, _EPS)
        bank[i] = np.maximum(0.0, np.minimum(up, down))
    return bank


_MEL_BANK = _triangular_filters(
    _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(8000.0)), N_MELS + 2))
)
_LIN_BANK = _triangular_filters(np.linspace(0.0, SAMPLE_RATE / 2, N_LINEAR_FILTERS + 2))
_WINDOW = np.hamming(FRAME_LENGTH)


def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II rows 0..n_out-1."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    mat = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    mat[0] /= np.sqrt(2.0)
    return mat


_DCT = _dct_matrix(N_LINEAR_FILTERS, N_LFCC + 1)


def frame_signal(x: np.ndarray) -> np.ndarray:
    """Frames (n_frames, FRAME_LENGTH); signals shorter than one frame are zero-padded to one."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size < FRAME_LENGTH:
        x = np.pad(x, (0, FRAME_LENGTH - x.size))
    n = 1 + (x.size - FRAME_LENGTH) // HOP_LENGTH
    idx = np.arange(FRAME_LENGTH)[None, :] + HOP_LENGTH * np.arange(n)[:, None]
    return x[idx]


def power_spectrum(x: np.ndarray) -> np.ndarray:
    """|rfft|^2 of the Hamming-windowed frames, (n_frames, N_FFT // 2 + 1)."""
    frames = frame_signal(x)
    frames = frames - frames.mean(axis=1, keepdims=True)
    return np.abs(np.fft.rfft(frames * _WINDOW, n=N_FFT)) ** 2


def _deltas(feat: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over +-width frames (edges repeated)."""
    padded = np.pad(feat, ((width, width), (0, 0)), mode="edge")
    n = feat.shape[0]
    num = sum(k * (padded[width + k : width + k + n] - padded[width - k : width - k + n]) for k in range(1, width + 1))
    return num / (2.0 * sum(k * k for k in range(1, width + 1)))


N_FINE_BANDS = 16
N_FLAT_BANDS = 8


def _smooth_bins(logspec: np.ndarray, width: int = 9) -> np.ndarray:
    kernel = np.ones(width) / width
    padded = np.pad(logspec, ((0, 0), (width // 2, width // 2)), mode="edge")
    out = np.empty_like(logspec)
    csum = np.cumsum(np.pad(padded, ((0, 0), (1, 0))), axis=1)
    out[:] = (csum[:, width:] - csum[:, :-width]) * kernel[0]
    return out


@dataclass(frozen=True)
class FrameFeatures:
    log_mel: np.ndarray  # (n_frames, N_MELS), natural log
    lfcc: np.ndarray  # (n_frames, 3 * N_LFCC): c1..c20, deltas, delta-deltas
    log_energy: np.ndarray  # (n_frames,), dB relative to full scale
    mel_delta: np.ndarray  # (n_frames, N_MELS): deltas of the log-mel bands
    fine: np.ndarray  # (n_frames, N_FINE_BANDS): mean |log spectrum - its 9-bin smoothing| per linear band
    flatness: np.ndarray  # (n_frames, N_FLAT_BANDS): log spectral flatness per linear band
    # vocoder features (speech-features-2), see :func:`_vocoder_frames`
    phase_if: np.ndarray  # (n_frames, N_PHASE_BANDS): |2nd time difference of STFT phase|, power-weighted
    phase_gd: np.ndarray  # (n_frames, N_PHASE_BANDS): |2nd frequency difference of STFT phase|, power-weighted
    depth: np.ndarray  # (n_frames, N_FINE_BANDS): 90th - 10th percentile of the log spectrum per band
    band_energy: np.ndarray  # (n_frames, N_PHASE_BANDS): log band energy (for the modulation spectrum)
    hd_peak: np.ndarray  # (n_frames, N_FINE_BANDS): 64 ms frames, log-spectrum p90 - p50 per band
    hd_valley: np.ndarray  # (n_frames, N_FINE_BANDS): 64 ms frames, log-spectrum p50 - p10 per band
    periodicity: np.ndarray  # (n_frames, len(PERIODICITY_BANDS)): band-limited autocorrelation peak


def frame_features(x: np.ndarray) -> FrameFeatures:
    spec = power_spectrum(x)
    # a floor 80 dB under the loudest frame's mean bin power: gain moves every log feature alike
    floor = 1e-8 * float(spec.mean(axis=1).max()) + _EPS
    log_mel = np.log(spec @ _MEL_BANK.T + floor)
    log_lin = np.log(spec @ _LIN_BANK.T + floor)
    cep = (log_lin @ _DCT.T)[:, 1:]
    d1 = _deltas(cep)
    d2 = _deltas(d1)
    frames = frame_signal(x)
    energy_db = 10.0 * np.log10(np.mean(frames**2, axis=1) + _EPS)
    logspec = np.log(spec[:, 1:] + floor)  # 256 bins above DC
    resid = np.abs(logspec - _smooth_bins(logspec))
    fine = resid.reshape(resid.shape[0], N_FINE_BANDS, -1).mean(axis=2)
    bands = logspec.reshape(logspec.shape[0], N_FLAT_BANDS, -1)
    flat = bands.mean(axis=2) - np.log(np.exp(bands).mean(axis=2) + _EPS)
    spectrum = np.fft.rfft((frames - frames.mean(axis=1, keepdims=True)) * _WINDOW, n=N_FFT)[:, 1:]
    return FrameFeatures(
        log_mel=log_mel,
        lfcc=np.concatenate([cep, d1, d2], axis=1),
        log_energy=energy_db,
        mel_delta=_deltas(log_mel),
        fine=fine,
        flatness=flat,
        **_vocoder_frames(x, spectrum, floor),
    )


# --- vocoder features (speech-features-2) -------------------------------------------------------
# Neural vocoders (GAN / flow / diffusion) rebuild phase and the noise between harmonics; these
# frame features look at exactly that: phase coherence over time and frequency, how deep the
# valleys between harmonics are (at 32 ms and 64 ms resolution), how periodic each band is, the
# modulation spectrum of band energies, and fixed-frequency lines in the long-term spectrum.

N_PHASE_BANDS = 8
PERIODICITY_BANDS: tuple[tuple[float, float], ...] = ((0, 1000), (1000, 2000), (2000, 4000), (4000, 6000), (6000, 8000))
MODULATION_BANDS: tuple[tuple[float, float], ...] = ((0.5, 4.0), (4.0, 16.0), (16.0, 50.1))
_HANN_1024 = np.hanning(1024)
_HANN_640 = np.hanning(640)


def _principal(a: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * a))


def _long_frames(x: np.ndarray, n: int) -> np.ndarray:
    """Frames of ``n`` samples centred like the 25 ms frames, one per 10 ms hop (zero padded)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    count = 1 + (max(x.size, FRAME_LENGTH) - FRAME_LENGTH) // HOP_LENGTH
    xp = np.pad(x, (0, n))
    idx = np.arange(n)[None] + HOP_LENGTH * np.arange(count)[:, None] - (n - FRAME_LENGTH) // 2
    return xp[np.clip(idx, 0, xp.size - 1)]


def _vocoder_frames(x: np.ndarray, spectrum: np.ndarray, floor: float) -> dict[str, np.ndarray]:
    """Per 10 ms frame: phase, harmonic-valley and periodicity features (gain-free)."""
    n = spectrum.shape[0]
    power = np.abs(spectrum) ** 2
    phi = np.angle(spectrum)
    d2 = np.zeros_like(phi)
    d2[2:] = np.abs(_principal(phi[2:] - 2 * phi[1:-1] + phi[:-2]))
    g2 = np.zeros_like(phi)
    g2[:, 2:] = np.abs(_principal(phi[:, 2:] - 2 * phi[:, 1:-1] + phi[:, :-2]))
    weight = power.reshape(n, N_PHASE_BANDS, -1) + floor
    phase_if = (d2.reshape(n, N_PHASE_BANDS, -1) * weight).sum(2) / weight.sum(2)
    phase_gd = (g2.reshape(n, N_PHASE_BANDS, -1) * weight).sum(2) / weight.sum(2)
    logspec = np.log(power + floor).reshape(n, N_FINE_BANDS, -1)
    depth = np.percentile(logspec, 90, axis=2) - np.percentile(logspec, 10, axis=2)
    band_energy = np.log(power.reshape(n, N_PHASE_BANDS, -1).sum(2) + floor)
    # 64 ms frames: peaks and valleys of the harmonic structure
    long = _long_frames(x, 1024)
    long = long - long.mean(axis=1, keepdims=True)
    p_long = np.abs(np.fft.rfft(long * _HANN_1024, axis=1))[:, 1:513] ** 2
    floor_long = 1e-8 * float(p_long.mean(axis=1).max()) + 1e-12
    log_long = np.log(p_long + floor_long).reshape(n, N_FINE_BANDS, -1)
    p10, p50, p90 = np.percentile(log_long, [10, 50, 90], axis=2)
    # band-limited periodicity: normalised autocorrelation peak at lags 2.5-16 ms on 40 ms frames
    mid = _long_frames(x, 640)
    mid = mid - mid.mean(axis=1, keepdims=True)
    s_mid = np.abs(np.fft.rfft(mid * _HANN_640, n=1280, axis=1)) ** 2
    freqs = np.fft.rfftfreq(1280, 1 / SAMPLE_RATE)
    per = []
    for lo, hi in PERIODICITY_BANDS:
        ac = np.fft.irfft(s_mid * ((freqs >= lo) & (freqs < hi)), n=1280, axis=1)
        per.append(ac[:, 40:257].max(axis=1) / (ac[:, 0] + floor_long))
    return {
        "phase_if": phase_if,
        "phase_gd": phase_gd,
        "depth": depth,
        "band_energy": band_energy,
        "hd_peak": p90 - p50,
        "hd_valley": p50 - p10,
        "periodicity": np.stack(per, axis=1),
    }


def _modulation(band_energy: np.ndarray) -> np.ndarray:
    """Log share of each band's energy-trajectory spectrum in 0.5-4, 4-16 and 16-50 Hz."""
    e = band_energy - band_energy.mean(axis=0)
    spec = np.abs(np.fft.rfft(e * np.hanning(len(e))[:, None], axis=0)) ** 2
    f = np.fft.rfftfreq(len(e), HOP_LENGTH / SAMPLE_RATE)
    total = spec.sum(axis=0) + 1e-10
    shares = [spec[(f >= lo) & (f < hi)].sum(axis=0) / total for lo, hi in MODULATION_BANDS]
    return np.log(np.concatenate(shares) + 1e-6)


def _ltas_lines(x: np.ndarray) -> np.ndarray:
    """Long-term spectrum (64 ms frames) minus its 15-bin smoothing, max and std per linear band:
    fixed-frequency lines (upsampling artefacts) stand out, pitch harmonics average away."""
    n, hop = 1024, 256
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    idx = np.arange(n)[None] + hop * np.arange(1 + (x.size - n) // hop)[:, None]
    p = (np.abs(np.fft.rfft(x[idx] * _HANN_1024, axis=1)) ** 2).mean(axis=0)[1:513]
    log_p = np.log(p + 1e-8 * p.max() + 1e-12)
    k = 15
    smooth = np.convolve(np.pad(log_p, (k // 2, k // 2), mode="edge"), np.ones(k) / k, mode="valid")
    resid = (log_p - smooth).reshape(N_PHASE_BANDS, -1)
    return np.concatenate([resid.max(axis=1), resid.std(axis=1)])


# --- voice activity ----------------------------------------------------------------------------

VAD_ABSOLUTE_FLOOR_DB = -55.0
"""Frames quieter than this (dB full scale) are never speech."""
VAD_MIN_DYNAMIC_RANGE_DB = 10.0
"""Speech rises and falls with syllables; a frame-energy spread (95th - 5th percentile) below
this is stationary sound (hum, tone, steady noise) and counts as no speech."""


@dataclass(frozen=True)
class VoiceActivity:
    speech: np.ndarray  # bool per 10 ms frame
    speech_seconds: float
    speech_ratio: float
    threshold_db: float

    def verdict(self, min_speech_seconds: float = 1.0) -> str:
        """``"speech"``, ``"too_little_speech"`` or ``"no_speech"``."""
        if self.speech_seconds < 0.2:
            return "no_speech"
        if self.speech_seconds < min_speech_seconds:
            return "too_little_speech"
        return "speech"


def voice_activity(x: np.ndarray, energy_db: np.ndarray | None = None) -> VoiceActivity:
    """Energy VAD: a frame is speech when it is louder than an adaptive threshold,
    ``max(5th percentile + max(6 dB, 30 % of the 5th-95th spread), 95th percentile - 35 dB, -55 dBFS)``,
    and the clip's energy is not stationary (spread >= 10 dB). Isolated single frames are dropped."""
    if energy_db is None:
        energy_db = 10.0 * np.log10(np.mean(frame_signal(x) ** 2, axis=1) + _EPS)
    p5, p95 = np.percentile(energy_db, [5, 95])
    spread = float(p95 - p5)
    threshold = float(max(p5 + max(6.0, 0.3 * spread), p95 - 35.0, VAD_ABSOLUTE_FLOOR_DB))
    if spread < VAD_MIN_DYNAMIC_RANGE_DB:
        speech = np.zeros(energy_db.shape, dtype=bool)
    else:
        speech = energy_db > threshold
        # drop isolated single frames (clicks)
        if speech.size >= 3:
            left = np.concatenate([[False], speech[:-1]])
            right = np.concatenate([speech[1:], [False]])
            speech = speech & (left | right)
    seconds = float(speech.sum() * HOP_LENGTH / SAMPLE_RATE)
    ratio = float(speech.mean()) if speech.size else 0.0
    return VoiceActivity(speech=speech, speech_seconds=seconds, speech_ratio=ratio, threshold_db=threshold)


# --- pooled features ---------------------------------------------------------------------------

_SPECTRAL_BLOCKS = (
    "mel_mean", "mel_std", "lfcc_mean", "lfcc_std", "mel_delta_std", "fine_mean", "fine_std", "flat_mean", "flat_std",
)  # fmt: skip
"""The blocks of speech-features-1 (the first baseline's "all")."""
BLOCKS: dict[str, int] = {
    "mel_mean": N_MELS,
    "mel_std": N_MELS,
    "lfcc_mean": 3 * N_LFCC,
    "lfcc_std": 3 * N_LFCC,
    "mel_delta_std": N_MELS,
    "fine_mean": N_FINE_BANDS,
    "fine_std": N_FINE_BANDS,
    "flat_mean": N_FLAT_BANDS,
    "flat_std": N_FLAT_BANDS,
    "phase_if_mean": N_PHASE_BANDS,
    "phase_if_std": N_PHASE_BANDS,
    "phase_gd_mean": N_PHASE_BANDS,
    "phase_gd_std": N_PHASE_BANDS,
    "depth_mean": N_FINE_BANDS,
    "depth_std": N_FINE_BANDS,
    "modulation": N_PHASE_BANDS * len(MODULATION_BANDS),
    "ltas_lines": 2 * N_PHASE_BANDS,
    "hd_peak_mean": N_FINE_BANDS,
    "hd_peak_std": N_FINE_BANDS,
    "hd_valley_mean": N_FINE_BANDS,
    "hd_valley_std": N_FINE_BANDS,
    "periodicity_mean": len(PERIODICITY_BANDS),
    "periodicity_std": len(PERIODICITY_BANDS),
    "periodicity_voiced": len(PERIODICITY_BANDS),
}
"""Every pooled block and its size, in the order :func:`pool` writes them."""
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "logmel": ("mel_mean", "mel_std"),
    "lfcc": ("lfcc_mean", "lfcc_std"),
    "combined": ("mel_mean", "mel_std", "lfcc_mean", "lfcc_std"),
    "dynamics": ("lfcc_std", "mel_delta_std"),
    "fine": ("fine_mean", "fine_std", "flat_mean", "flat_std"),
    "lfcc+fine": ("lfcc_mean", "lfcc_std", "fine_mean", "fine_std", "flat_mean", "flat_std"),
    "spectral": _SPECTRAL_BLOCKS,
    "vocoder": tuple(b for b in BLOCKS if b not in _SPECTRAL_BLOCKS),
    "all": tuple(BLOCKS),
}
"""Feature sets compared in training: names -> blocks."""


def feature_names(feature_set: str = "all") -> list[str]:
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}")
    return [f"{block}_{i:02d}" for block in FEATURE_SETS[feature_set] for i in range(BLOCKS[block])]


def block_columns(feature_set: str) -> np.ndarray:
    """Columns of ``feature_set`` in the full vector of :func:`pool`."""
    offsets, at = {}, 0
    for block, size in BLOCKS.items():
        offsets[block] = np.arange(at, at + size)
        at += size
    return np.concatenate([offsets[b] for b in FEATURE_SETS[feature_set]])


def pool(
    frames: FrameFeatures, speech: np.ndarray | None, feature_set: str = "all", samples: np.ndarray | None = None
) -> np.ndarray:
    """Mean and std over the speech frames (all frames when fewer than 10 are speech), all blocks
    of :data:`BLOCKS`, then the columns of ``feature_set``. Log-mel means are relative to the mean
    log-mel level, so an overall gain changes nothing. ``samples`` (the signal these frames cover)
    feed the long-term-spectrum block; without them it is zero."""
    mask = speech if speech is not None and int(speech.sum()) >= 10 else np.ones(frames.log_mel.shape[0], dtype=bool)
    mel = frames.log_mel[mask]
    mel_mean = mel.mean(axis=0)
    lf = frames.lfcc[mask]
    parts = [
        mel_mean - mel_mean.mean(),
        mel.std(axis=0),
        lf.mean(axis=0),
        lf.std(axis=0),
        frames.mel_delta[mask].std(axis=0),
        frames.fine[mask].mean(axis=0),
        frames.fine[mask].std(axis=0),
        frames.flatness[mask].mean(axis=0),
        frames.flatness[mask].std(axis=0),
    ]
    for name in ("phase_if", "phase_gd", "depth"):
        values = getattr(frames, name)[mask]
        parts += [values.mean(axis=0), values.std(axis=0)]
    parts.append(_modulation(frames.band_energy))
    parts.append(_ltas_lines(samples) if samples is not None else np.zeros(BLOCKS["ltas_lines"]))
    for name in ("hd_peak", "hd_valley"):
        values = getattr(frames, name)[mask]
        parts += [values.mean(axis=0), values.std(axis=0)]
    per = frames.periodicity[mask]
    voiced = per[:, 0] > np.median(per[:, 0])
    parts += [per.mean(axis=0), per.std(axis=0), per[voiced].mean(axis=0) if voiced.any() else per.mean(axis=0)]
    full = np.concatenate(parts).astype(np.float64)
    return full if feature_set == "all" else full[block_columns(feature_set)]


def pooled_features(x: np.ndarray, feature_set: str = "all") -> np.ndarray:
    """One feature vector for the whole signal (speech frames only)."""
    frames = frame_features(x)
    vad = voice_activity(x, frames.log_energy)
    return pool(frames, vad.speech, feature_set, samples=x)


def window_starts(n_samples: int, window_s: float = 1.0, hop_s: float = 0.5) -> list[int]:
    """Start samples of the ``window_s`` windows every ``hop_s``; one window when the signal is
    shorter, and the last window ends at the signal's end."""
    win = int(window_s * SAMPLE_RATE)
    hop = int(hop_s * SAMPLE_RATE)
    if n_samples <= win:
        return [0]
    starts = list(range(0, n_samples - win + 1, hop))
    if starts[-1] + win < n_samples:
        starts.append(n_samples - win)
    return starts


def window_features(
    x: np.ndarray, feature_set: str = "all", window_s: float = 1.0, hop_s: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Feature vectors of the 1 s windows (frame features computed once over the whole signal)
    and each window's speech seconds: ``(features (n_windows, dim), speech_seconds (n_windows,))``."""
    frames = frame_features(x)
    vad = voice_activity(x, frames.log_energy)
    n_frames = frames.log_mel.shape[0]
    win = int(window_s * SAMPLE_RATE)
    win_frames = max(1, int(window_s * SAMPLE_RATE) // HOP_LENGTH - (FRAME_LENGTH // HOP_LENGTH) + 1)
    feats, speech_s = [], []
    for start in window_starts(x.size, window_s, hop_s):
        f0 = min(start // HOP_LENGTH, max(0, n_frames - win_frames))
        sl = slice(f0, f0 + win_frames)
        sub = FrameFeatures(*(getattr(frames, f)[sl] for f in FrameFeatures.__dataclass_fields__))
        feats.append(pool(sub, vad.speech[sl], feature_set, samples=x[start : start + win]))
        speech_s.append(float(vad.speech[sl].sum() * HOP_LENGTH / SAMPLE_RATE))
    return np.stack(feats), np.asarray(speech_s)
