"""Low-level pixel statistics for the pixel detector's second branch: what CLIP features miss.

Semantic features judge *what* is shown; these judge *how the pixels were made*. Up-sampling
layers of GAN and latent-diffusion decoders leave correlations between neighbouring pixels
(NPR, Tan et al. CVPR 2024) and periodic structure in the noise residual. Everything here is
numpy only, computed on a square patch at native resolution, and cheap (a few ms a patch).
"""

from __future__ import annotations

import numpy as np

from originlens.detectors.spectral import N_FEATURES as SPECTRAL_FEATURES
from originlens.detectors.spectral import patch_features as spectral_features

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
LAGS = (1, 2, 3, 4, 8)


def _npr(grey: np.ndarray, factor: int) -> np.ndarray:
    """``x`` minus its nearest-neighbour up-sampled down-sampling (the NPR residual)."""
    h, w = (grey.shape[0] // factor) * factor, (grey.shape[1] // factor) * factor
    x = grey[:h, :w]
    down = x[::factor, ::factor]
    up = np.repeat(np.repeat(down, factor, axis=0), factor, axis=1)
    return x - up


def _stats(residual: np.ndarray) -> list[float]:
    centred = residual - residual.mean()
    var = float(centred.var()) + 1e-6
    kurt = float((centred**4).mean() / var**2)
    return [float(np.log(var)), float(np.log(kurt + 1e-6)), float(np.log(np.abs(centred).mean() + 1e-6))]


def _autocorr(residual: np.ndarray) -> list[float]:
    """Normalised autocorrelation of a residual at a few lags, horizontal and vertical."""
    r = residual - residual.mean()
    denom = float((r * r).mean()) + 1e-9
    out = []
    for lag in LAGS:
        out.append(float((r[:, lag:] * r[:, :-lag]).mean() / denom))
        out.append(float((r[lag:, :] * r[:-lag, :]).mean() / denom))
    return out


def _grid_energy(residual: np.ndarray, period: int) -> list[float]:
    """Share of residual energy per phase of a ``period`` grid, sorted (phase-free)."""
    h, w = (residual.shape[0] // period) * period, (residual.shape[1] // period) * period
    e = (residual[:h, :w] ** 2).reshape(h // period, period, w // period, period)
    rows = e.mean(axis=(0, 2, 3))
    cols = e.mean(axis=(0, 1, 2))
    total = float(e.mean()) + 1e-9
    return [*np.sort(rows / total).tolist(), *np.sort(cols / total).tolist()]


def residual_features(patch: np.ndarray) -> np.ndarray:
    """Feature vector of one square ``(N, N, 3)`` patch in 0..255 (N >= 64)."""
    rgb = patch.astype(np.float32)
    grey = rgb @ _LUMA
    feats: list[float] = []
    for factor in (2, 4):
        npr = _npr(grey, factor)
        feats += _stats(npr) + _autocorr(npr)
    lap = grey[1:-1, 1:-1] - 0.25 * (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:])
    feats += _stats(lap) + _autocorr(lap) + _grid_energy(lap, 2) + _grid_energy(lap, 8)
    chroma = rgb[:, :, 0] - rgb[:, :, 1], rgb[:, :, 2] - rgb[:, :, 1]
    for c in chroma:
        feats += _stats(_npr(c, 2))
    return np.concatenate([np.asarray(feats, dtype=np.float64), spectral_features(rgb)])


N_RESIDUAL_FEATURES = 2 * (3 + 2 * len(LAGS)) + 3 + 2 * len(LAGS) + 4 + 16 + 2 * 3 + SPECTRAL_FEATURES
