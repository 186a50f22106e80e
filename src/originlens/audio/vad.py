"""Silero VAD (MIT) as the speech gate of the speech head: is there any speech at all?

The ONNX model ``silero_vad/data/silero_vad_16k_op15.onnx`` ships inside the ``silero-vad``
wheel (6.2.3, MIT, "Silero Team"). That package declares torch, so it is installed alone
(``pip install --no-deps silero-vad==6.2.3``, as scripts/test, scripts/serve and the Dockerfile
do); the file is found without importing the package, SHA-256 checked, and run with onnxruntime.

The energy VAD in :mod:`originlens.audio.features` still picks the frames the features are pooled
over (the head was trained that way); Silero only decides whether the clip holds speech, so music,
tones, hum and noise with a speech-like energy envelope answer "no speech". When the package is
absent, :func:`silero_available` is false and the head falls back to the energy VAD alone.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from originlens.detectors.weights import ModelFileError, package_file, verified

SILERO_DIST = "silero-vad==6.2.3"
SILERO_FILE = ("data", "silero_vad_16k_op15.onnx")
SILERO_SHA256 = "7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49"
CHUNK = 512  # 32 ms at 16 kHz
CONTEXT = 64
SPEECH_PROBABILITY = 0.5  # Silero's default threshold
CHUNK_SECONDS = CHUNK / 16_000


def silero_path() -> Path:
    return package_file("silero_vad", *SILERO_FILE, dist=SILERO_DIST, what="silero-vad")


class SileroVAD:
    """One onnxruntime session; :meth:`probabilities` runs a signal chunk by chunk."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])

    def probabilities(self, samples: np.ndarray, stop_after: float | None = None) -> np.ndarray:
        """Speech probability of each 32 ms chunk of mono 16 kHz ``samples`` (the last chunk is
        zero padded), with the model's recurrent state and 64-sample context carried along.
        ``stop_after`` (seconds of speech) ends early once that much speech was found."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        n = max(1, -(-x.size // CHUNK))
        x = np.pad(x, (0, n * CHUNK - x.size))
        state = np.zeros((2, 1, 128), dtype=np.float32)
        context = np.zeros((1, CONTEXT), dtype=np.float32)
        sr = np.array(16_000, dtype=np.int64)
        out = np.empty(n, dtype=np.float32)
        found = 0
        for k in range(n):
            chunk = np.concatenate([context, x[None, k * CHUNK : (k + 1) * CHUNK]], axis=1)
            prob, state = self.session.run(None, {"input": chunk, "state": state, "sr": sr})
            out[k] = float(prob[0, 0])
            context = chunk[:, -CONTEXT:]
            if out[k] >= SPEECH_PROBABILITY:
                found += 1
                if stop_after is not None and found * CHUNK_SECONDS >= stop_after:
                    return out[: k + 1]
        return out

    def speech_seconds(self, samples: np.ndarray, stop_after: float | None = None) -> float:
        """Seconds of 32 ms chunks with speech probability >= 0.5 (at most about ``stop_after``)."""
        return float((self.probabilities(samples, stop_after) >= SPEECH_PROBABILITY).sum() * CHUNK_SECONDS)


@lru_cache(maxsize=1)
def _load() -> SileroVAD | None:
    try:
        return SileroVAD(verified(silero_path(), SILERO_SHA256, "silero-vad model"))
    except (ModelFileError, ImportError) as exc:
        logging.getLogger(__name__).warning(
            "Silero VAD is unavailable (%s); speech is found by the energy check alone, so music may be "
            "judged as speech. Install it with: pip install --no-deps silero-vad==6.2.3",
            exc,
        )
        return None


def default_vad() -> SileroVAD | None:
    """The Silero VAD, loaded once per process; ``None`` when silero-vad is not installed."""
    return _load()


def silero_available() -> bool:
    return _load() is not None
