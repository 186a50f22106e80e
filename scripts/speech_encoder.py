"""EXPERIMENT (not shipped): Resemblyzer's pretrained GE2E speaker encoder, run in numpy.

Leave-source-out it did not help (docs/models/speech.md, "Pretrained encoders"), so the product
does not use it and its weights are not committed. To rerun the experiment:

    pip download --no-deps resemblyzer==0.1.4 -d /tmp/rz && unzip /tmp/rz/*.whl -d /tmp/rz
    python scripts/speech_encoder.py --export /tmp/rz/resemblyzer/pretrained.pt  # needs torch
    python scripts/speech_encoder.py --features   # per-window embeddings of the train windows

The weights are those of ``resemblyzer/pretrained.pt`` in the ``resemblyzer`` 0.1.4 wheel
(Apache-2.0, Resemble AI; a 3-layer LSTM, 256 hidden units, over 40-band mel power spectra of
25 ms / 10 ms frames, then a linear layer, ReLU and L2 normalisation to a 256-d embedding).
``--export`` converts them (torch) to ``/tmp/speech_encoder.npz`` in float16 (2.6 MB); the
numpy LSTM below matches torch's to 3e-7 (float32 weights) / 2.4e-4 (float16).

The front end follows ``resemblyzer.audio.wav_to_mel_spectrogram`` (librosa's Slaney mel
filters, Hann window, centred frames with zero padding, power spectrum, no log), with the level
set to -30 dBFS RMS over the whole signal first (resemblyzer only raises quiet audio; setting it
both ways keeps gain out of the features).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 40
HIDDEN = 256
TARGET_DBFS = -30.0
DEFAULT_ENCODER_PATH = Path("/tmp/speech_encoder.npz")


def _hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mel = hz / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def slaney_mel_filters(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)`` (Slaney scale and norm)."""
    fft_freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    mel_f = _mel_to_hz_slaney(np.linspace(_hz_to_mel_slaney(0.0), _hz_to_mel_slaney(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, fft_freqs.size))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


_MEL = slaney_mel_filters()
_HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic, as librosa's


def normalise_level(x: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    rms = float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    if rms < 1e-6:
        return x
    return x * (10 ** (target_dbfs / 20) / rms)


def mel_power(x: np.ndarray) -> np.ndarray:
    """Mel power spectrogram (n_frames, 40), frame ``k`` centred on sample ``160 k``."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2))
    n = 1 + (padded.size - N_FFT) // HOP
    if n < 1:
        return np.zeros((0, N_MELS), dtype=np.float32)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(padded[idx] * _HANN, n=N_FFT)) ** 2
    return (spec @ _MEL.T).astype(np.float32)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


@dataclass(frozen=True)
class EncoderOutput:
    embedding: np.ndarray  # (batch, 256): ReLU(linear(h_T of layer 3)), L2-normalised
    hidden_mean: np.ndarray  # (batch, 256): mean over time of the last layer's outputs
    hidden_std: np.ndarray  # (batch, 256): their standard deviation over time


class SpeakerEncoder:
    """The numpy LSTM; ``embed(mels)`` for a batch of equal-length mel sequences."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.layers = []
        for k in range(3):
            w_ih = np.asarray(weights[f"lstm_weight_ih_l{k}"], dtype=np.float32)
            w_hh = np.asarray(weights[f"lstm_weight_hh_l{k}"], dtype=np.float32)
            bias = np.asarray(weights[f"lstm_bias_ih_l{k}"], dtype=np.float32) + np.asarray(
                weights[f"lstm_bias_hh_l{k}"], dtype=np.float32
            )
            self.layers.append((w_ih.T.copy(), w_hh.T.copy(), bias))
        self.lin_w = np.asarray(weights["linear_weight"], dtype=np.float32).T.copy()
        self.lin_b = np.asarray(weights["linear_bias"], dtype=np.float32)

    @classmethod
    def load(cls, path: Path = DEFAULT_ENCODER_PATH) -> SpeakerEncoder:
        with np.load(path) as data:
            return cls({k: data[k] for k in data.files})

    def embed(self, mels: np.ndarray) -> EncoderOutput:
        """``mels``: (batch, n_frames, 40) mel power (see :func:`mel_power`)."""
        seq = np.asarray(mels, dtype=np.float32)
        batch, steps, _ = seq.shape
        for w_ih, w_hh, bias in self.layers:
            gates_x = seq @ w_ih + bias  # (batch, steps, 1024)
            h = np.zeros((batch, HIDDEN), dtype=np.float32)
            c = np.zeros((batch, HIDDEN), dtype=np.float32)
            outs = np.empty((batch, steps, HIDDEN), dtype=np.float32)
            for t in range(steps):
                g = gates_x[:, t] + h @ w_hh
                i = _sigmoid(g[:, :HIDDEN])
                f = _sigmoid(g[:, HIDDEN : 2 * HIDDEN])
                cell = np.tanh(g[:, 2 * HIDDEN : 3 * HIDDEN])
                o = _sigmoid(g[:, 3 * HIDDEN :])
                c = f * c + i * cell
                h = o * np.tanh(c)
                outs[:, t] = h
            seq = outs
        raw = np.maximum(seq[:, -1] @ self.lin_w + self.lin_b, 0.0)
        emb = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-9)
        return EncoderOutput(embedding=emb, hidden_mean=seq.mean(axis=1), hidden_std=seq.std(axis=1))


@lru_cache(maxsize=1)
def default_encoder() -> SpeakerEncoder:
    """The shipped encoder, loaded once per process."""
    return SpeakerEncoder.load()


def window_mels(x: np.ndarray, starts: list[int], window: int) -> np.ndarray:
    """Mel power of the whole level-normalised signal, cut into the frames of each window
    ``[start, start + window)``: (n_windows, window // 160, 40)."""
    mel = mel_power(normalise_level(x))
    n = window // HOP
    if mel.shape[0] < n:
        mel = np.pad(mel, ((0, n - mel.shape[0]), (0, 0)))
    out = []
    for s in starts:
        f0 = min(s // HOP, mel.shape[0] - n)
        out.append(mel[f0 : f0 + n])
    return np.stack(out)


def _export(pt: Path) -> None:
    import torch  # build time only

    state = torch.load(pt, map_location="cpu")["model_state"]
    keep = [k for k in state if k.startswith(("lstm", "linear"))]
    weights = {k.replace(".", "_"): state[k].numpy().astype(np.float16) for k in keep}
    np.savez_compressed(DEFAULT_ENCODER_PATH, **weights)


def _features() -> None:
    """Embedding, mean and std of the last LSTM layer for every 1 s window of the train table
    (same windows and order as ``train_speech.build_table``) -> /tmp/speech_encoder_windows.npy."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import speech_audio_cache as cache

    from originlens.audio import features as F

    xs, _, _ = cache.load(4)
    mels = np.concatenate([window_mels(x, F.window_starts(x.size, 1.0, 0.5), SAMPLE_RATE) for x in xs])
    enc = SpeakerEncoder.load()
    outs = []
    for s in range(0, len(mels), 512):
        o = enc.embed(mels[s : s + 512])
        outs.append(np.concatenate([o.embedding, o.hidden_mean, o.hidden_std], axis=1))
    np.save("/tmp/speech_encoder_windows.npy", np.concatenate(outs))


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--export", type=Path)
    ap.add_argument("--features", action="store_true")
    a = ap.parse_args()
    if a.export:
        _export(a.export)
    if a.features:
        _features()
