"""Noise-residual inconsistency: regions whose noise level does not match the rest.

A camera image carries sensor noise of a level set by brightness and processing; a pasted
region from another photo, a blurred (smoothed) region or a synthetic fill carries another.
The residual is Immerkaer's 3x3 high-pass (second derivatives cancel linear shading), the
per-cell noise level is its median absolute value (robust to the few edge pixels), and the
level is regressed on texture and brightness so that only the unexplained part is scored.
The score is two-sided: too clean (blur) and too noisy (splice) are both suspicious.
"""

from __future__ import annotations

import numpy as np

from originlens.detectors.forensics.common import CueResult, cell_mean, cell_median, robust_residual, robust_z

_NOISE_SCALE = float(np.sqrt(np.pi / 2) / 6)


def highpass(y: np.ndarray) -> np.ndarray:
    """Immerkaer's kernel [[1,-2,1],[-2,4,-2],[1,-2,1]] (valid part, padded back by edge)."""
    c = y[1:-1, 1:-1]
    r = (
        4 * c
        - 2 * (y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:])
        + (y[:-2, :-2] + y[:-2, 2:] + y[2:, :-2] + y[2:, 2:])
    )
    return np.pad(r, 1, mode="edge")


def noise_cue(y: np.ndarray, texture: np.ndarray, cell: int, valid: np.ndarray) -> CueResult:
    """Per-cell noise level, normalised by texture and brightness; |z| = suspicion."""
    r = np.abs(highpass(y))
    level = cell_median(r, cell) * _NOISE_SCALE * 1.4826 / 1.2533
    bright = cell_mean(y, cell) / 255.0
    saturated = cell_mean(((y <= 3) | (y >= 252)).astype(np.float32), cell) > 0.3
    ok = valid & ~saturated
    resid = robust_residual(np.log(level + 0.1), [np.log(texture + 0.5), bright, bright**2], ok)
    z = np.abs(robust_z(resid))
    return CueResult(
        evidence="noise",
        stat=None,
        zmap=z,
        cell=float(cell),
        info={"median_noise_level": round(float(np.median(level)), 3)},
    )
