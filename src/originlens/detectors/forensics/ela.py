"""Error level analysis: how much a region changes when the image is JPEG-saved again.

Re-saving at a fixed quality moves pixels that were already quantised on this grid at this
quality little, and pixels with another history (pasted from an uncompressed or differently
compressed source) more. The raw error follows texture, so the per-cell error is regressed on
texture (log-log, robust) and only the unexplained part is scored: high = suspicious.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from originlens.detectors.forensics.common import CueResult, cell_mean, robust_residual, robust_z

ELA_QUALITY = 90
"""Fixed re-save quality; grey-level only (the grid and the cue live in luma)."""
ENERGY_OFFSET = 0.5
LOG_SPREAD_FLOOR = 0.25
"""Floor of the robust spread of log error: an image saved at ``ELA_QUALITY`` barely changes
when re-saved, and a near-zero spread would turn any small difference into a huge z."""


def ela_cue(y: np.ndarray, texture: np.ndarray, cell: int, valid: np.ndarray) -> CueResult:
    """Per-cell ELA energy, normalised by texture; ``y`` must start on the JPEG grid."""
    y8 = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(y8, mode="L").save(buf, "JPEG", quality=ELA_QUALITY)
    again = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32)
    diff = np.abs(y8.astype(np.float32) - again)
    energy = cell_mean(diff, cell)
    resid = robust_residual(np.log(energy + ENERGY_OFFSET), [np.log(texture + 0.5)], valid)
    z = robust_z(resid, floor=LOG_SPREAD_FLOOR)
    return CueResult(
        evidence="ela",
        stat=None,
        zmap=z,
        cell=float(cell),
        info={"quality": ELA_QUALITY, "mean_error": round(float(diff.mean()), 4)},
    )
